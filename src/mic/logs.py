"""Send a rule script's messages and tracebacks to its Snakemake log file."""

from __future__ import annotations

import logging
import sys


def log_to(path: str) -> logging.Logger:
    """Log to `path` (and keep uncaught tracebacks there too); return the script's logger."""
    handle = open(path, "a", buffering=1)
    sys.stderr = handle
    logging.basicConfig(stream=handle, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
    return logging.getLogger("mic")
