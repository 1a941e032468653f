"""Every per-job result file of the run -> tidy tables under results/tables/ (see mic.evidence.collect)."""

from mic.evidence import collect
from mic.logs import log_to

log = log_to(snakemake.log[0])
tables = collect.collect_results({name: snakemake.input[name] for name in collect.COLLECTED})
for name, table in tables.items():
    log.info("%s: %d rows", name, len(table))
collect.write_tables(
    tables,
    {name: snakemake.output[name] for name in collect.TABLE_FILES},
    snakemake.params.config,
    snakemake.output.config,
)
