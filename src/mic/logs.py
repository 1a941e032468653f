"""Send a rule script's messages and tracebacks to its Snakemake log file."""

from __future__ import annotations

import logging
import os
import sys


def log_to(path: str) -> logging.Logger:
    """Log to `path` (and keep uncaught tracebacks there too); return the script's logger."""
    handle = open(path, "a", buffering=1)
    sys.stderr = handle
    logging.basicConfig(stream=handle, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
    return logging.getLogger("mic")


def process_age() -> float:
    """Seconds since this process started (from /proc; 0 where there is none): how long a job took to get going."""
    try:
        with open(f"/proc/{os.getpid()}/stat") as handle:
            start_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
