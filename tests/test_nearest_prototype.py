"""Tests for the nearest-prototype 1-NN baseline."""

from __future__ import annotations

import numpy as np
import pytest

from mic.baselines.nearest_prototype import nearest_prototype_predict, pairwise_distances


@pytest.fixture
def prototypes() -> np.ndarray:
    """3 classes x 4 prototypes of 12 steps and 2 channels, classes well apart."""
    rng = np.random.default_rng(0)
    offsets = np.arange(3)[:, None, None, None] * 5.0
    return offsets + rng.normal(size=(3, 4, 12, 2))


def _bump(length: int, start: int, width: int = 3) -> np.ndarray:
    """A flat sequence [length, 1] with a unit plateau at start..start+width."""
    sequence = np.zeros((length, 1))
    sequence[start : start + width] = 1.0
    return sequence


@pytest.mark.parametrize("metric", ["euclidean", "dtw"])
def test_targets_equal_to_prototypes_get_their_class(prototypes: np.ndarray, metric: str) -> None:
    targets = prototypes.reshape(-1, 12, 2)
    predicted, distances = nearest_prototype_predict(prototypes, targets, metric)
    np.testing.assert_array_equal(predicted, np.repeat(np.arange(3), 4))
    assert distances.shape == (12, 3)
    np.testing.assert_allclose(distances[np.arange(12), predicted], 0.0, atol=1e-12)


def test_euclidean_matches_brute_force_loop(prototypes: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    targets = rng.normal(size=(7, 12, 2)) * 4.0
    predicted, distances = nearest_prototype_predict(prototypes, targets, "euclidean")
    expected = np.empty((7, 3))
    for n in range(7):
        for k in range(3):
            expected[n, k] = min(np.sqrt(np.sum((targets[n] - p) ** 2)) for p in prototypes[k])
    np.testing.assert_allclose(distances, expected, rtol=1e-10)
    np.testing.assert_array_equal(predicted, expected.argmin(axis=1))


def test_dtw_matches_pairwise_tslearn_and_never_exceeds_euclidean(prototypes: np.ndarray) -> None:
    from tslearn.metrics import dtw

    rng = np.random.default_rng(2)
    targets = rng.normal(size=(4, 12, 2)) * 4.0
    dtw_distances = pairwise_distances(prototypes, targets, "dtw")
    euclidean = pairwise_distances(prototypes, targets, "euclidean")
    assert dtw_distances.shape == (4, 3, 4)
    for n in range(4):
        for k in range(3):
            for p in range(4):
                assert dtw_distances[n, k, p] == pytest.approx(dtw(targets[n], prototypes[k, p]))
    # The diagonal is one admissible DTW path, so DTW <= Euclidean.
    assert np.all(dtw_distances <= euclidean + 1e-12)


def test_time_shift_is_near_under_dtw_but_not_under_euclidean() -> None:
    # Class 0: a bump at step 2. Class 1: flat. The target: the same bump at step 10.
    prototypes = np.stack([np.stack([_bump(16, 2)] * 4), np.zeros((4, 16, 1))])
    target = _bump(16, 10)[None]
    euclidean_class, _ = nearest_prototype_predict(prototypes, target, "euclidean")
    dtw_class, dtw_distances = nearest_prototype_predict(prototypes, target, "dtw")
    assert euclidean_class[0] == 1
    assert dtw_class[0] == 0
    assert dtw_distances[0, 0] == pytest.approx(0.0)


def test_dtw_accepts_other_lengths_and_per_class_counts() -> None:
    prototypes = np.stack([np.stack([_bump(10, 1), _bump(10, 5)]), np.zeros((2, 10, 1))])
    targets = np.stack([_bump(14, 8), np.zeros((14, 1))])
    predicted, distances = nearest_prototype_predict(prototypes, targets, "dtw")
    np.testing.assert_array_equal(predicted, [0, 1])
    assert distances.shape == (2, 2)


def test_no_targets_give_empty_results(prototypes: np.ndarray) -> None:
    predicted, distances = nearest_prototype_predict(prototypes, np.empty((0, 12, 2)), "dtw")
    assert predicted.shape == (0,)
    assert distances.shape == (0, 3)


@pytest.mark.parametrize(
    ("prototype_shape", "target_shape", "metric", "message"),
    [
        ((3, 4, 12, 2), (5, 12, 2), "manhattan", "metric must be one of"),
        ((3, 12, 2), (5, 12, 2), "euclidean", r"prototypes must have shape \[K, P, T, C\]"),
        ((3, 4, 12, 2), (12, 2), "euclidean", r"targets must have shape \[N, T, C\]"),
        ((3, 4, 12, 2), (5, 12, 3), "dtw", "2 channels but targets have 3"),
        ((3, 4, 12, 2), (5, 10, 2), "euclidean", "euclidean needs equal lengths"),
        ((3, 0, 12, 2), (5, 12, 2), "euclidean", "must not be empty"),
    ],
)
def test_invalid_inputs_raise(
    prototype_shape: tuple[int, ...], target_shape: tuple[int, ...], metric: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        nearest_prototype_predict(np.zeros(prototype_shape), np.zeros(target_shape), metric)


def test_nan_targets_raise(prototypes: np.ndarray) -> None:
    targets = np.zeros((2, 12, 2))
    targets[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match="targets contain NaN"):
        nearest_prototype_predict(prototypes, targets)
