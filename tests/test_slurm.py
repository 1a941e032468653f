"""The SLURM profile (profiles/slurm): checked against the rules here, proven on a real SLURM cluster."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from conftest import REPO

PROFILE = REPO / "profiles" / "slurm" / "config.v8+.yaml"
RUN_SH = REPO / "tests" / "slurm" / "run.sh"


def profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def workflow_rules() -> set[str]:
    """Rule names of the paper config (the per-data-set rules are named after its data sets)."""
    result = subprocess.run(
        ["snakemake", "--list-rules", "--configfile", "config/config.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {line.split()[0] for line in result.stdout.splitlines() if line.strip()}


def test_profile_names_only_existing_rules() -> None:
    """A renamed rule would silently lose its cluster resources or its group."""
    settings = profile()
    named = set(settings["set-resources"]) | set(settings["groups"])
    assert named <= workflow_rules(), sorted(named - workflow_rules())


def test_profile_leaves_cluster_choices_to_the_user() -> None:
    """No partition, account or GPU is set: those are the user's (and the config's device)."""
    settings = profile()
    assert settings["executor"] == "slurm"
    per_rule = list(settings["set-resources"].values())
    for resources in [settings["default-resources"], *per_rule]:
        assert not {"slurm_partition", "slurm_account", "gpu", "gpu_model", "gres"} & set(resources)
    assert "slurm-status-command" not in settings  # sacct on real clusters; the test layer sets squeue


@pytest.mark.slurm
def test_workflow_runs_on_a_real_slurm_cluster() -> None:
    """tests/slurm/run.sh: one-node SLURM on localhost, the test config through the profile."""
    if os.environ.get("MIC_SLURM_TEST") != "1":
        pytest.skip("set MIC_SLURM_TEST=1 to run (needs root: installs slurm-wlm and munge, starts SLURM)")
    with subprocess.Popen(["bash", str(RUN_SH)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as run:
        try:
            output, _ = run.communicate(timeout=1200)
        except subprocess.TimeoutExpired:
            run.terminate()  # run.sh's trap stops snakemake and the daemons it started
            output, _ = run.communicate(timeout=120)
            pytest.fail(f"tests/slurm/run.sh took over 20 minutes:\n{output[-6000:]}")
    assert run.returncode == 0, output[-6000:]
