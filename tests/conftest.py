"""Shared fixtures: where the repository and the real data mirror are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MIC_DATA_MIRROR", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The local mirror of the raw data (../shared/data). Tests that need it fail without it rather than skip,
    so that a run without the data cannot pass."""
    missing = [name for name in ("mnist", "character_trajectories") if not (SHARED_DATA / name).is_dir()]
    if missing:
        pytest.fail(
            f"data mirror incomplete: {', '.join(missing)} not found in {SHARED_DATA}. Put the mirror beside the "
            "checkout (../shared/data with mnist/ and character_trajectories/) or set MIC_DATA_MIRROR to its folder; "
            "docs/running.md says where the files come from."
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def run(tmp_path_factory, shared_data) -> Path:
    """The whole test configuration run once through the real Snakefile, report included (read-only for tests)."""
    from workflow_runner import TEST_CONFIG, snakemake

    workdir = tmp_path_factory.mktemp("workflow")
    result = snakemake(workdir, TEST_CONFIG, "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir
