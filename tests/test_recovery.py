"""A run killed with kill -9 is recovered by `snakemake --unlock` and the same command again (docs/running.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from mic import layout
from workflow_runner import TEST_CONFIG, snakemake, snakemake_command, snakemake_env

pytestmark = pytest.mark.integration


def test_killed_run_recovers_with_unlock_and_the_same_command(tmp_path) -> None:
    """Killed between the two outputs of a job: its lock and a half-finished job's first output stay behind."""
    wildcards = {"dataset": "characters", "subset": "clustered", "rep": 0}
    target = layout.fill(layout.PROTOTYPE_FIGURE, **wildcards)
    first, second = tmp_path / layout.fill(layout.PROTOTYPES, **wildcards), tmp_path / target
    job = subprocess.Popen(
        snakemake_command(TEST_CONFIG, "--cores", "1", target),
        cwd=tmp_path,
        env=snakemake_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # kill -9 hits Snakemake and the job it runs, as a killed terminal would
    )
    deadline = time.monotonic() + 300
    while not first.exists():  # select_prototypes wrote its .npz and now draws the figure
        assert job.poll() is None and time.monotonic() < deadline, "the job never got that far"
        time.sleep(0.01)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait(timeout=60)
    assert not second.exists(), "the job finished before it was killed; nothing to recover"

    locked = snakemake(tmp_path, TEST_CONFIG, "--cores", "1", target)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    assert snakemake(tmp_path, TEST_CONFIG, "--unlock").returncode == 0
    resumed = snakemake(tmp_path, TEST_CONFIG, "--cores", "1", target)
    assert resumed.returncode == 0, resumed.stderr[-3000:]  # without rerun-incomplete: IncompleteFilesException
    assert first.is_file() and second.is_file()
