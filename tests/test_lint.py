"""The workflow passes Snakemake's linter and snakefmt, and the Python code ruff's linter and formatter."""

from __future__ import annotations

import subprocess

from conftest import REPO


def test_snakemake_lint_is_clean() -> None:
    result = subprocess.run(["snakemake", "--lint"], cwd=REPO, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Lints for" not in output, output[-3000:]


def test_snakefmt_is_clean() -> None:
    result = subprocess.run(
        ["snakefmt", "--check", "Snakefile", "workflow/rules"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


RUFF_PATHS = ["src", "workflow/scripts", "tests", "bench", "notebooks"]


def test_ruff_lint_is_clean() -> None:
    result = subprocess.run(["ruff", "check", *RUFF_PATHS], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = subprocess.run(
        ["ruff", "format", "--check", *RUFF_PATHS], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
