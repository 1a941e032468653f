"""Prototype selection: 4 per class (means, barycenters or real members), deterministic, DTW where asked."""

from __future__ import annotations

import numpy as np
import pytest

from mic.data import prototypes as proto
from mic.data.preprocess import PreparedData, PreprocessSettings, preprocess
from mic.data.prototypes import Prototypes, PrototypeSettings, select_prototypes, validation_rows


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
    result = select_prototypes(data, subset, PrototypeSettings(metric=metric, representation="medoid"))
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
    with pytest.raises(ValueError, match="metric must be"):
        PrototypeSettings(metric="cosine")
    with pytest.raises(ValueError, match="representation must be"):
        PrototypeSettings(representation="median")


KINDS = [
    ("random", "euclidean", "medoid"),
    ("clustered", "euclidean", "medoid"),
    ("clustered", "euclidean", "mean"),
    ("clustered", "dtw", "mean"),
    ("clustered", "dtw", "dba"),
]


@pytest.mark.parametrize(("subset", "metric", "representation"), KINDS)
def test_save_load_round_trip(tmp_path, subset: str, metric: str, representation: str) -> None:
    result = select_prototypes(toy_data(), subset, PrototypeSettings(metric=metric, representation=representation))
    result.save(tmp_path / "p.npz")
    back = Prototypes.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(back.sequences, result.sequences)
    np.testing.assert_array_equal(back.sample_index, result.sample_index)
    np.testing.assert_array_equal(back.members, result.members)
    assert back.subset == subset and back.class_names == result.class_names
    assert back.representation == ("random" if subset == "random" else representation)


def members_mean(data: PreparedData, members: np.ndarray) -> np.ndarray:
    """[T, C] element-wise mean of the rows in `members` (-1 pads dropped)."""
    return data.sequences[members[members >= 0]].mean(axis=0, dtype=np.float64)


def test_euclidean_mean_is_the_mean_of_its_final_cluster() -> None:
    data = toy_data()
    result = select_prototypes(data, "clustered", PrototypeSettings(representation="mean"))
    assert result.representation == "mean" and (result.sample_index == -1).all()
    for label in range(2):
        rows = result.members[label][result.members[label] >= 0]
        # the clusters partition the class's training samples
        assert sorted(rows) == sorted(data.train_index[data.labels[data.train_index] == label])
        for j in range(4):
            np.testing.assert_allclose(
                result.sequences[label, j], members_mean(data, result.members[label, j]), 1e-6, 1e-7
            )


def four_amplitudes() -> PreparedData:
    # Four obvious clusters: bump heights 1, 3, -1, -3, each at five small time shifts.
    series = np.stack([h * bump(30 + s, 60) for h in (1, 3, -1, -3) for s in (-2, -1, 0, 1, 2)])
    return prepared(np.concatenate([series, series[:2]]), np.zeros(22, dtype=np.int64))


def test_dtw_mean_is_the_mean_of_its_dtw_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    data = four_amplitudes()
    metrics = []
    real = proto.distances
    monkeypatch.setattr(proto, "distances", lambda a, b, metric: metrics.append(metric) or real(a, b, metric))
    result = select_prototypes(data, "clustered", PrototypeSettings(metric="dtw", representation="mean"))
    assert set(metrics) == {"dtw"}
    assert len(metrics) <= 3 + PrototypeSettings().mean_iter  # k-means++ seeding, then at most mean_iter steps
    clusters = sorted(sorted(m[m >= 0].tolist()) for m in result.members[0])
    assert clusters == [list(range(g, g + 5)) for g in (0, 5, 10, 15)]
    for j in range(4):
        np.testing.assert_allclose(result.sequences[0, j], members_mean(data, result.members[0, j]), 1e-6, 1e-7)


def test_dtw_mean_stops_after_mean_iter(monkeypatch: pytest.MonkeyPatch) -> None:
    series = four_amplitudes().sequences[:20].astype(np.float64)
    calls = []
    real = proto.distances
    monkeypatch.setattr(proto, "distances", lambda *a: calls.append(1) or real(*a))
    centers, assignment = proto.dtw_mean_kmeans(series, 4, PrototypeSettings(metric="dtw", mean_iter=1))
    assert len(calls) == 3 + 1
    for c in range(4):
        np.testing.assert_array_equal(centers[c], series[assignment == c].mean(axis=0))


def test_dba_is_refused_for_euclidean() -> None:
    with pytest.raises(ValueError, match="'dba' .* needs metric 'dtw'"):
        PrototypeSettings(metric="euclidean", representation="dba")


def test_dba_prototypes_are_the_barycenters() -> None:
    data = toy_data()
    settings = PrototypeSettings(metric="dtw", representation="dba")
    result = select_prototypes(data, "clustered", settings)
    assert (result.sample_index == -1).all()
    series = data.split("train")[0][:15]
    np.testing.assert_allclose(result.sequences[0], proto.dtw_kmeans(series, 4, settings), 1e-6)


# The medoids chosen on fixed data: a change of the selection's numbers shows here.
TOY_MEDOIDS = {"euclidean": [[5, 10, 0, 12], [18, 24, 15, 17]], "dtw": [[1, 6, 13, 9], [16, 19, 26, 23]]}
REAL_MEDOIDS = {
    "euclidean": [[18, 33, 0, 34], [10, 15, 3, 27], [14, 11, 5, 17]],
    "dtw": [[33, 22, 29, 13], [6, 9, 27, 23], [14, 11, 20, 17]],
}


@pytest.mark.parametrize("metric", ["euclidean", "dtw"])
def test_medoids_unchanged_on_toy_data(metric: str) -> None:
    data = toy_data()
    result = select_prototypes(data, "clustered", PrototypeSettings(metric=metric, representation="medoid"))
    assert result.sample_index.tolist() == TOY_MEDOIDS[metric] and result.representation == "medoid"
    np.testing.assert_array_equal(result.sequences, data.sequences[result.sample_index])


@pytest.mark.parametrize("metric", ["euclidean", "dtw"])
def test_medoids_unchanged_on_real_characters(shared_data, metric: str) -> None:
    from mic.data.datasets import load_character_trajectories

    raw = load_character_trajectories(shared_data / "character_trajectories" / "mixout_mirror_labeled.mat")
    settings = PreprocessSettings(
        cumulative_sum=(0, 1), keep_channels=(0, 1), standardize=True, classes=("a", "b", "c"), train_per_class=12
    )
    data = preprocess(raw, settings)
    result = select_prototypes(data, "clustered", PrototypeSettings(metric=metric, representation="medoid"))
    assert result.sample_index.tolist() == REAL_MEDOIDS[metric]
    np.testing.assert_array_equal(result.sequences, data.sequences[result.sample_index])
    # each cluster's members are training samples of its class
    for label, per_class in enumerate(result.members):
        rows = per_class[per_class >= 0]
        assert set(rows) <= set(data.train_index) and (data.labels[rows] == label).all()


def test_seed_argument_is_the_replicates_seed() -> None:
    data = toy_data()
    default = select_prototypes(data, "random", PrototypeSettings())
    np.testing.assert_array_equal(
        select_prototypes(data, "random", PrototypeSettings(), seed=42).sample_index, default.sample_index
    )
    other = select_prototypes(data, "random", PrototypeSettings(), seed=43)
    np.testing.assert_array_equal(
        other.sample_index, select_prototypes(data, "random", PrototypeSettings(seed=43)).sample_index
    )
    assert not np.array_equal(other.sample_index, default.sample_index)


@pytest.mark.parametrize("subset", ["clustered", "random"])
def test_validation_rows_are_no_prototypes(subset: str) -> None:
    data = toy_data()
    prototypes = select_prototypes(data, subset, PrototypeSettings(representation="medoid"))
    rows = validation_rows(data, prototypes, per_class=5, seed=0)
    assert rows.dtype == np.int64 and rows.tolist() == sorted(rows.tolist())
    assert not set(rows) & set(prototypes.sample_index.ravel())
    assert set(rows) <= set(data.train_index)
    assert np.bincount(data.labels[rows]).tolist() == [5, 5]
    # asking for more than there is gives every training sample that is no prototype
    everything = validation_rows(data, prototypes, per_class=100, seed=0)
    assert len(everything) == len(data.train_index) - 8


def test_validation_rows_are_seeded() -> None:
    data = toy_data()
    prototypes = select_prototypes(data, "clustered", PrototypeSettings())
    a = validation_rows(data, prototypes, per_class=3, seed=1)
    np.testing.assert_array_equal(a, validation_rows(data, prototypes, per_class=3, seed=1))
    assert not np.array_equal(a, validation_rows(data, prototypes, per_class=3, seed=2))


def test_validation_rows_for_means_exclude_nothing() -> None:
    data = toy_data()
    prototypes = select_prototypes(data, "clustered", PrototypeSettings(representation="mean"))
    rows = validation_rows(data, prototypes, per_class=100, seed=0)
    np.testing.assert_array_equal(rows, np.sort(data.train_index))


def test_a_single_member_mean_is_that_sample_and_no_validation_row() -> None:
    # Three clusters of five and one lone sequence: its cluster's mean is that very training sample.
    series = np.stack([h * bump(30 + s, 60) for h in (1, 3, -1) for s in (-2, -1, 0, 1, 2)] + [-3 * bump(30, 60)])
    data = prepared(np.concatenate([series, series[:2]]), np.zeros(18, dtype=np.int64))
    result = select_prototypes(data, "clustered", PrototypeSettings(metric="dtw", representation="mean"))
    lone = int(np.flatnonzero(result.sample_index[0] >= 0)[0])
    assert result.sample_index[0].tolist().count(-1) == 3 and result.sample_index[0, lone] == 15
    np.testing.assert_array_equal(result.sequences[0, lone], data.sequences[15])
    assert 15 not in validation_rows(data, result, per_class=100, seed=0)
