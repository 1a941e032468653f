"""Prototype selection: 4 real training members per class, deterministic, DTW where asked."""

from __future__ import annotations

import numpy as np
import pytest

from mic.data import prototypes as proto
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes, PrototypeSettings, select_prototypes


def bump(center: int, length: int = 40, width: float = 2.0) -> np.ndarray:
    t = np.arange(length)
    return np.exp(-0.5 * ((t - center) / width) ** 2)[:, None]


def prepared(sequences: np.ndarray, labels: np.ndarray) -> PreparedData:
    n = len(labels)
    rows = np.arange(n)
    return PreparedData(
        sequences.astype(np.float32),
        labels,
        [f"c{k}" for k in range(labels.max() + 1)],
        rows[: n - 2],
        rows[n - 2 :],
        np.zeros(1),
        np.ones(1),
        rows,
    )


def toy_data() -> PreparedData:
    rng = np.random.default_rng(1)
    sequences = np.stack([bump(c) + 0.01 * rng.normal(size=(40, 1)) for c in rng.integers(5, 35, size=30)])
    return prepared(sequences, np.repeat([0, 1], 15))


@pytest.mark.parametrize("subset", ["clustered", "random"])
@pytest.mark.parametrize("metric", ["euclidean", "dtw"])
def test_four_real_training_members_per_class(subset: str, metric: str) -> None:
    data = toy_data()
    result = select_prototypes(data, subset, PrototypeSettings(metric=metric))
    assert result.sequences.shape == (2, 4, 40, 1) and result.sample_index.shape == (2, 4)
    for label, rows in enumerate(result.sample_index):
        assert len(set(rows)) == 4
        assert set(rows) <= set(data.train_index)
        assert (data.labels[rows] == label).all()
    np.testing.assert_array_equal(result.sequences, data.sequences[result.sample_index])


@pytest.mark.parametrize("subset", ["clustered", "random"])
def test_deterministic_for_a_seed(subset: str) -> None:
    data = toy_data()
    a = select_prototypes(data, subset, PrototypeSettings(metric="dtw", seed=5))
    b = select_prototypes(data, subset, PrototypeSettings(metric="dtw", seed=5))
    np.testing.assert_array_equal(a.sample_index, b.sample_index)


def test_random_subset_changes_with_seed() -> None:
    data = toy_data()
    a = select_prototypes(data, "random", PrototypeSettings(seed=42))
    b = select_prototypes(data, "random", PrototypeSettings(seed=43))
    assert not np.array_equal(a.sample_index, b.sample_index)


def test_dtw_is_really_used_for_clustering(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two shapes (one bump, two bumps) at many time shifts: DTW groups by shape, Euclidean by position.
    shifts = [6, 10, 14, 18, 22, 26]
    one = [bump(s, 60) for s in shifts]
    two = [bump(s, 60) + bump(s + 25, 60) for s in shifts]
    series = np.stack(one + two)
    calls = []
    real = proto.dtw_barycenter
    monkeypatch.setattr(proto, "dtw_barycenter", lambda *a, **k: calls.append(1) or real(*a, **k))
    centers = proto.dtw_kmeans(series, 2, PrototypeSettings(metric="dtw", seed=0))
    assert calls, "DTW barycenters were not computed"
    groups = proto.distances(series, centers, "dtw").argmin(axis=1)
    assert len(set(groups[:6])) == 1 and len(set(groups[6:])) == 1 and groups[0] != groups[6]


def test_nearest_members_are_distinct() -> None:
    dist = np.array([[0.0, 0.1], [5.0, 5.0], [1.0, 2.0]])
    assert proto.nearest_distinct_members(dist).tolist() == [0, 2]


def test_unknown_subset_and_metric() -> None:
    with pytest.raises(ValueError, match="subset must be one of"):
        select_prototypes(toy_data(), "best", PrototypeSettings())
    with pytest.raises(ValueError, match="metric must be"):
        proto.distances(np.zeros((2, 3, 1)), np.zeros((1, 3, 1)), "cosine")


def test_save_load_round_trip(tmp_path) -> None:
    result = select_prototypes(toy_data(), "random", PrototypeSettings())
    result.save(tmp_path / "p.npz")
    back = Prototypes.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(back.sample_index, result.sample_index)
    assert back.subset == "random" and back.class_names == result.class_names
