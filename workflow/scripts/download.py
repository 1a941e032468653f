"""Copy the raw files of one data source from the mirror, or download them, verifying SHA-256."""

from pathlib import Path

from mic.data.download import fetch_source, resolve_mirror
from mic.io import save_json
from mic.logs import log_to

log = log_to(snakemake.log[0])
mirror = resolve_mirror(snakemake.params.mirror)
log.info("source %s, mirror %s", snakemake.params.source, mirror or "none (download)")
record = fetch_source(snakemake.params.source, Path(snakemake.output[0]).parent, mirror)
log.info("verified %s", record)
save_json(snakemake.output.provenance, record)
