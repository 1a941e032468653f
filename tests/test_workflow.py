"""The real rules, run by Snakemake on slices of the real data (tests/config/config.yaml)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mic.preprocess import PreparedData
from mic.prototypes import Prototypes
from workflow_runner import TEST_CONFIG, snakemake

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """Run the whole test configuration once; the tests below read its outputs."""
    workdir = tmp_path_factory.mktemp("workflow")
    result = snakemake(workdir, TEST_CONFIG, "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


def test_preprocessed_splits(run: Path) -> None:
    chars = PreparedData.load(run / "results/characters/data.npz")
    assert chars.class_names == ["a", "b", "c"] and chars.sequences.shape[1:] == (205, 2)
    assert np.bincount(chars.labels[chars.train_index]).tolist() == [12, 12, 12]
    mnist = PreparedData.load(run / "results/mnist/data.npz")
    assert mnist.sequences.shape[1:] == (28, 28) and mnist.sequences.max() <= 1.0
    assert (run / "resources/mnist/provenance.json").is_file()


@pytest.mark.parametrize("dataset", ["characters", "mnist"])
@pytest.mark.parametrize("subset", ["clustered", "random"])
def test_prototypes_and_figures(run: Path, dataset: str, subset: str) -> None:
    prototypes = Prototypes.load(run / f"results/{dataset}/prototypes/{subset}.npz")
    assert prototypes.sequences.shape[1] == 4
    assert (run / f"results/{dataset}/prototypes/{subset}.png").stat().st_size > 1000


def test_rerun_has_nothing_to_do(run: Path) -> None:
    result = snakemake(run, TEST_CONFIG, "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr
