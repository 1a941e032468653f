"""A user's own .npz data set goes through preprocessing and prototype selection with no code change."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mic import layout
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes
from workflow_runner import load_test_config, snakemake, write_config

pytestmark = pytest.mark.integration
DATA = layout.fill(layout.DATA, dataset="gestures")


def gestures(path, broken: bool = False, as_objects: bool = False, drop: str | None = None) -> None:
    """Three classes of 3-channel sequences of varying length, labelled by name.

    Stored pickle-free (padded `sequences` plus `lengths`), or as an object array with as_objects.
    """
    rng = np.random.default_rng(0)
    sequences, labels = [], []
    for k, name in enumerate(["circle", "swipe", "tap"]):
        for _ in range(10):
            length = int(rng.integers(15, 30))
            t = np.linspace(0, 1, length)[:, None]
            sequences.append(np.hstack([np.sin((k + 1) * 3 * t), np.cos(3 * t) * k, rng.normal(size=(length, 1))]))
            labels.append(name)
    if broken:
        sequences[7][3, 1] = np.nan
    lengths = np.array([len(s) for s in sequences])
    if as_objects:
        array = np.empty(len(sequences), dtype=object)
        array[:] = sequences
        arrays = {"sequences": array, "labels": np.array(labels)}
    else:
        padded = np.zeros((len(sequences), lengths.max(), 3))
        for i, sequence in enumerate(sequences):
            padded[i, : len(sequence)] = sequence
        arrays = {"sequences": padded, "lengths": lengths, "labels": np.array(labels)}
    arrays.pop(drop, None)
    np.savez(path, **arrays)


def config_for(npz, **extra) -> dict:
    spec = copy.deepcopy(load_test_config()["datasets"]["characters"])
    spec.update(source="npz", path=str(npz), plot_style="lines", **extra)
    spec["preprocess"] = {"standardize": True, "split": "stratified", "test_fraction": 0.2, "split_seed": 1}
    return {**load_test_config(), "datasets": {"gestures": spec}}


def test_own_npz_is_preprocessed_and_gets_prototypes(tmp_path) -> None:
    gestures(tmp_path / "gestures.npz")
    targets = [
        layout.fill(pattern, dataset="gestures", subset=subset, rep=0)
        for subset in ("clustered", "random")
        for pattern in (layout.PROTOTYPES, layout.PROTOTYPE_FIGURE)
    ]
    result = snakemake(
        tmp_path, write_config(tmp_path, config_for(tmp_path / "gestures.npz")), "--cores", "2", *targets
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data = PreparedData.load(tmp_path / DATA)
    assert data.class_names == ["circle", "swipe", "tap"] and data.sequences.shape == (30, 29, 3)
    assert len(data.test_index) == 6
    prototypes = Prototypes.load(tmp_path / targets[0])
    assert prototypes.sequences.shape == (3, 4, 29, 3)


def test_broken_npz_stops_preprocess_with_a_named_error(tmp_path) -> None:
    gestures(tmp_path / "gestures.npz", broken=True)
    config = write_config(tmp_path, config_for(tmp_path / "gestures.npz"))
    result = snakemake(tmp_path, config, "--cores", "1", DATA)
    assert result.returncode != 0
    log = (tmp_path / "logs/preprocess/gestures.log").read_text()
    assert "gestures.npz: sequences[7] contains NaN" in log
    assert not (tmp_path / DATA).exists()


def test_object_arrays_need_allow_pickle(tmp_path) -> None:
    gestures(tmp_path / "gestures.npz", as_objects=True)
    refused = snakemake(
        tmp_path,
        write_config(tmp_path, config_for(tmp_path / "gestures.npz")),
        "--cores",
        "1",
        DATA,
    )
    assert refused.returncode != 0
    log = (tmp_path / "logs/preprocess/gestures.log").read_text()
    assert "gestures.npz: 'sequences' is an object array" in log and "allow_pickle: true" in log
    assert not (tmp_path / DATA).exists()
    allowed = config_for(tmp_path / "gestures.npz", allow_pickle=True)
    result = snakemake(tmp_path, write_config(tmp_path, allowed), "--cores", "1", DATA)
    assert result.returncode == 0, result.stderr[-3000:]
    assert PreparedData.load(tmp_path / DATA).sequences.shape == (30, 29, 3)


@pytest.mark.parametrize(("drop", "message"), [("labels", "missing key 'labels'"), (None, "file not found")])
def test_bad_npz_is_named_when_the_workflow_is_parsed(tmp_path, drop, message) -> None:
    """Class names are read before any job runs: a missing key or file is a clear error there, not a traceback."""
    npz = tmp_path / "gestures.npz"
    if drop:
        gestures(npz, drop=drop)
    result = snakemake(tmp_path, write_config(tmp_path, config_for(npz)), "-n")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"{npz}: {message}" in output and "KeyError" not in output
