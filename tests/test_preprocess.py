"""Preprocessing on hand-made inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from mic.data.datasets import DataFormatError, RawDataset
from mic.data.preprocess import PreparedData, PreprocessSettings, preprocess
from mic.data.sources import pad_with_last


def toy(n_per_class: int = 10, classes: int = 2) -> RawDataset:
    rng = np.random.default_rng(0)
    sequences, labels = [], []
    for label in range(classes):
        for i in range(n_per_class):
            length = 3 + (i % 3)
            sequences.append(np.column_stack([np.ones(length), np.full(length, label), rng.normal(size=length)]))
            labels.append(label)
    return RawDataset(sequences, np.array(labels), [f"c{k}" for k in range(classes)])


def test_cumsum_drop_channel_and_pad_with_last_value() -> None:
    raw = RawDataset(
        [np.array([[1.0, 2.0, 9.0], [1.0, -1.0, 9.0]]), np.ones((4, 3))] * 6, np.array([0, 1] * 6), ["x", "y"]
    )
    data = preprocess(raw, PreprocessSettings(cumulative_sum=(0, 1), keep_channels=(0, 1), test_fraction=0.25))
    first = data.sequences[0]
    assert data.sequences.shape == (12, 4, 2)  # padded to the longest sequence, force dropped
    np.testing.assert_allclose(first, [[1, 2], [2, 1], [2, 1], [2, 1]])


def test_pad_length_comes_from_the_whole_source_not_the_kept_classes() -> None:
    raw = toy()
    raw.sequences[-1] = np.ones((9, 3))  # the longest sequence belongs to class c1
    data = preprocess(raw, PreprocessSettings(classes=("c0",) * 1 + ("c1",), test_fraction=0.2))
    assert data.sequences.shape[1] == 9
    only_c0 = RawDataset(raw.sequences, raw.labels, ["c0", "c1"])
    data = preprocess(only_c0, PreprocessSettings(classes=("c1", "c0"), test_fraction=0.2))
    assert data.class_names == ["c1", "c0"] and data.sequences.shape[1] == 9


def test_standardisation_uses_training_split_only() -> None:
    raw = toy(n_per_class=20)
    data = preprocess(raw, PreprocessSettings(standardize=True, test_fraction=0.25, split_seed=3))
    train = data.sequences[data.train_index].reshape(-1, 3)
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(train[:, 2].std(), 1, atol=1e-5)
    test = data.sequences[data.test_index].reshape(-1, 3)
    assert abs(test[:, 2].mean()) > 1e-3  # test statistics were not used for fitting
    assert data.channel_std[0] == 1.0  # a constant channel is left alone, not divided by 0
    assert data.params["standardization_fitted_on"] == "train"


def test_split_is_stratified_and_reproducible() -> None:
    raw = toy(n_per_class=20, classes=3)
    settings = PreprocessSettings(test_fraction=0.25, split_seed=7)
    a, b = preprocess(raw, settings), preprocess(raw, settings)
    np.testing.assert_array_equal(a.source_index[a.test_index], b.source_index[b.test_index])
    assert np.bincount(a.labels[a.test_index]).tolist() == [5, 5, 5]
    assert not set(a.source_index[a.train_index]) & set(a.source_index[a.test_index])
    c = preprocess(raw, PreprocessSettings(test_fraction=0.25, split_seed=8))
    assert not np.array_equal(a.source_index[a.test_index], c.source_index[c.test_index])


def test_too_few_training_samples_names_the_class() -> None:
    raw = toy(n_per_class=20)
    raw.labels[:16] = 1  # class c0 keeps only 4 samples, 3 of them in training at most
    with pytest.raises(DataFormatError, match="class 'c0' has . training samples, needs at least 4"):
        preprocess(raw, PreprocessSettings(test_fraction=0.25), origin="toy.npz")


def test_unknown_class_is_named() -> None:
    with pytest.raises(ValueError, match="'zz' is not a class"):
        preprocess(toy(), PreprocessSettings(classes=("c0", "zz")))


def test_pad_rejects_too_long() -> None:
    with pytest.raises(ValueError, match="longer than the pad length"):
        pad_with_last([np.ones((5, 1))], 3)


def test_save_load_round_trip(tmp_path) -> None:
    data = preprocess(toy(), PreprocessSettings(standardize=True))
    data.save(tmp_path / "data.npz")
    back = PreparedData.load(tmp_path / "data.npz")
    np.testing.assert_array_equal(back.sequences, data.sequences)
    assert back.class_names == data.class_names and back.params == data.params
    assert isinstance(back.sequences, np.memmap)  # stored uncompressed: the rows are read as used


def test_mapped_arrays_are_the_stored_arrays_and_writes_never_reach_the_file(tmp_path) -> None:
    from mic.io import mapped_npz_array, save_npz

    rng = np.random.default_rng(0)
    arrays = {
        "c_order": rng.normal(size=(5, 3, 2)).astype(np.float32),
        "fortran": np.asfortranarray(rng.normal(size=(4, 6))),
    }
    arrays["empty"], arrays["names"] = np.zeros((0, 3)), np.array(["a", "bb"])
    for compress in (False, True):
        path = tmp_path / f"arrays_{compress}.npz"
        save_npz(path, compress=compress, **arrays)
        for name, expected in arrays.items():
            got = mapped_npz_array(path, name)
            np.testing.assert_array_equal(got, expected)
            assert got.dtype == expected.dtype and got.shape == expected.shape
        mapped = mapped_npz_array(path, "c_order")
        assert isinstance(mapped, np.memmap) != compress
        mapped[0] = 7.0
        np.testing.assert_array_equal(np.load(path)["c_order"], arrays["c_order"])


def test_real_characters_padded_to_205(shared_data) -> None:
    from mic.data.datasets import load_character_trajectories

    raw = load_character_trajectories(shared_data / "character_trajectories" / "mixout_mirror_labeled.mat")
    data = preprocess(raw, PreprocessSettings(cumulative_sum=(0, 1), keep_channels=(0, 1), standardize=True))
    assert data.sequences.shape == (2858, 205, 2)
    assert len(data.test_index) == 572
    # after padding, the last step equals the last real pen position: the raw length leaks nothing
    lengths = np.array([len(s) for s in raw.sequences])
    assert len(set(lengths)) > 1 and data.sequences.shape[1] == lengths.max()
