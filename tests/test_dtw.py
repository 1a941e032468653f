"""The C DTW kernel (mic.dtw) against tslearn's own DTW: the same numbers bit for bit, in every build variant."""

from __future__ import annotations

import numpy as np
import pytest
from tslearn.metrics import cdist_dtw as tslearn_cdist_dtw
from tslearn.metrics import dtw as tslearn_dtw
from tslearn.metrics import dtw_path as tslearn_dtw_path

from mic import dtw, native


@pytest.fixture(params=sorted(native.VARIANTS))
def variant(request, monkeypatch) -> str:
    """Each build variant the machine can build, as the models would load it."""
    if not native.available("dtw", request.param):
        pytest.skip(f"the {request.param} build of dtw.c does not build here")
    monkeypatch.setenv("MIC_NATIVE_VARIANT", request.param)
    dtw._kernel.cache_clear()
    yield request.param
    dtw._kernel.cache_clear()


def _series(seed: int, n: int, steps: int, channels: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, steps, channels))


@pytest.mark.parametrize(
    "shape_a, shape_b", [((11, 30, 2), (9, 41, 2)), ((3, 1, 1), (5, 17, 1)), ((17, 25, 3), (1, 25, 3))]
)
def test_cdist_is_tslearns_bit_for_bit(variant, shape_a, shape_b) -> None:
    a, b = _series(0, *shape_a), _series(1, *shape_b)
    np.testing.assert_array_equal(dtw.cdist_dtw(a, b), tslearn_cdist_dtw(a, b, be="numpy"))


def test_paired_is_tslearns_bit_for_bit(variant) -> None:
    a, b = _series(2, 13, 28, 2), _series(3, 13, 35, 2)  # 13: one full group of 8 lanes and a part one
    expected = np.array([tslearn_dtw(x, y, be="numpy") for x, y in zip(a, b)])
    np.testing.assert_array_equal(dtw.paired_dtw(a, b), expected)


def _tslearn_dba_sums(barycenter: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The DBA step as mic.data.prototypes computed it before the kernel: tslearn's paths and numpy's add.at."""
    sums, counts = np.zeros(barycenter.shape), np.zeros(len(barycenter))
    for member in members:
        path = np.asarray(tslearn_dtw_path(barycenter, member, be="numpy")[0])
        np.add.at(sums, path[:, 0], member[path[:, 1]])
        np.add.at(counts, path[:, 0], 1.0)
    return sums, counts


def test_dba_step_is_tslearns_paths_bit_for_bit(variant) -> None:
    barycenter = _series(6, 1, 30, 2)[0]
    members = _series(7, 11, 26, 2).astype(np.float32)  # as the data come; 11: a full and a part group of lanes
    members[3] = members[2]  # equal members: ties in the table
    sums, counts = dtw.dba_sums(barycenter, members)
    expected_sums, expected_counts = _tslearn_dba_sums(barycenter, members)
    np.testing.assert_array_equal(sums, expected_sums)
    np.testing.assert_array_equal(counts, expected_counts)
    assert counts.min() >= 1  # every barycenter step is on every path


def test_real_character_prototypes_against_tslearn(variant, shared_data) -> None:
    from mic.data.datasets import load_character_trajectories
    from mic.data.preprocess import PreprocessSettings, preprocess

    raw = load_character_trajectories(shared_data / "character_trajectories" / "mixout_mirror_labeled.mat")
    settings = PreprocessSettings(
        cumulative_sum=(0, 1), keep_channels=(0, 1), standardize=True, classes=("a", "b", "c"), train_per_class=8
    )
    data = preprocess(raw, settings)
    test_x, _ = data.split("test")
    train_x, _ = data.split("train")
    np.testing.assert_array_equal(
        dtw.cdist_dtw(test_x[:20], train_x), tslearn_cdist_dtw(test_x[:20], train_x, be="numpy")
    )


def test_identical_series_are_at_distance_zero_and_a_shift_costs_less_than_euclidean() -> None:
    bump = np.zeros((1, 20, 1))
    bump[0, 5:8] = 1.0
    shifted = np.roll(bump, 3, axis=1)
    assert dtw.cdist_dtw(bump, bump)[0, 0] == 0.0
    assert dtw.paired_dtw(bump, shifted)[0] == 0.0 < np.linalg.norm(bump - shifted)


def test_without_a_compiler_tslearn_computes_the_same_numbers(monkeypatch) -> None:
    def unavailable(*args, **kwargs):
        raise native.NativeUnavailable("no C compiler (test)")

    monkeypatch.setattr(native, "load", unavailable)
    dtw._kernel.cache_clear()
    a, b = _series(4, 5, 12, 2), _series(5, 4, 15, 2)
    try:
        with pytest.warns(RuntimeWarning, match="DTW on tslearn"):
            fallback = dtw.cdist_dtw(a, b)
        paired = dtw.paired_dtw(a[:4], b)
        dba = dtw.dba_sums(a[0], b)
    finally:
        dtw._kernel.cache_clear()
    np.testing.assert_array_equal(fallback, tslearn_cdist_dtw(a, b, be="numpy"))
    np.testing.assert_array_equal(paired, [tslearn_dtw(x, y, be="numpy") for x, y in zip(a[:4], b)])
    for got, expected in zip(dba, _tslearn_dba_sums(a[0], b)):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((2, 5)), np.zeros((2, 5, 1)), r"a must be series of shape \[N, T, C\]"),
        (np.zeros((2, 0, 1)), np.zeros((2, 5, 1)), "T >= 1"),
        (np.zeros((2, 5, 2)), np.zeros((2, 5, 1)), "b have 1 channels, expected 2"),
        (np.full((2, 5, 1), np.nan), np.zeros((2, 5, 1)), "a contain NaN"),
    ],
)
def test_bad_series_are_refused(a, b, message) -> None:
    with pytest.raises(ValueError, match=message):
        dtw.cdist_dtw(a, b)


def test_paired_needs_as_many_series_on_each_side() -> None:
    with pytest.raises(ValueError, match="as many series in a as in b, got 3 and 2"):
        dtw.paired_dtw(np.zeros((3, 4, 1)), np.zeros((2, 4, 1)))
