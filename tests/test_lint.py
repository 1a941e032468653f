"""The workflow passes Snakemake's linter and snakefmt, the Python code ruff's linter and formatter, and the
package's layers (pyproject.toml's import-linter contract) run one way."""

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


def test_ruff_lint_is_clean() -> None:
    """With the repository's default paths, as a contributor runs it (Markdown code blocks included)."""
    result = subprocess.run(["ruff", "check", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = subprocess.run(["ruff", "format", "--check", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_layers_run_one_way() -> None:
    """Nothing low imports anything high: the layers contract in pyproject.toml."""
    result = subprocess.run(["lint-imports"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "0 broken" in result.stdout, result.stdout[-3000:] + result.stderr
