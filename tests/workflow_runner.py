"""Run the real Snakefile in a scratch directory, the way a user would from the command line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from conftest import REPO, SHARED_DATA

TEST_CONFIG = REPO / "tests" / "config" / "config.yaml"


def load_test_config() -> dict:
    return yaml.safe_load(TEST_CONFIG.read_text())


def write_config(directory: Path, config: dict) -> Path:
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake_command(config: Path, *args: str) -> list[str]:
    """`snakemake --snakefile <repo>/Snakefile --configfile <config> ARGS`."""
    return ["snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", str(config), *args]


def snakemake_env() -> dict[str, str]:
    """The environment of a test run: the real data mirror."""
    return {**os.environ, "MIC_DATA_MIRROR": str(SHARED_DATA)}


def snakemake(directory: Path, config: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """snakemake_command run inside `directory`, waited for."""
    command = snakemake_command(config, *args)
    return subprocess.run(command, cwd=directory, env=snakemake_env(), capture_output=True, text=True, timeout=timeout)
