"""Every per-configuration result table of the run -> tidy tables under results/tables/ (see mic.evidence.collect)."""

from mic.evidence import collect
from mic.logs import log_to

log = log_to(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params
tables = collect.collect_results(
    params.mic_runs,
    {name: inputs[name] for name in ("summary", "validation", "training", "loss_curves", "predictions")},
    params.subset_keys,
    inputs.heatmap,
    params.baseline_runs,
    {"summary": inputs.baseline_summary, "history": inputs.baseline_history},
    params.nearest_runs,
    inputs.nearest,
    params.extended_runs,
    inputs.extended,
)
for name, table in tables.items():
    log.info("%s: %d rows", name, len(table))
collect.write_tables(
    tables, {name: snakemake.output[name] for name in collect.TABLE_FILES}, params.config, snakemake.output.config
)
