"""User .npz data sets: the documented format is accepted, every mistake is named."""

from __future__ import annotations

import numpy as np
import pytest

from mic.data.datasets import DataFormatError, load_npz, read_idx


def write(tmp_path, **arrays):
    path = tmp_path / "mine.npz"
    np.savez(path, **arrays)
    return path


def test_variable_length_string_labels(tmp_path) -> None:
    """Variable lengths pickle-free: padded sequences plus lengths."""
    padded = np.zeros((3, 7, 3))
    padded[1], padded[2, :2] = 1.0, 1.0
    data = load_npz(
        write(tmp_path, sequences=padded, lengths=np.array([5, 7, 2]), labels=np.array(["up", "down", "up"]))
    )
    assert data.class_names == ["down", "up"] and data.labels.tolist() == [1, 0, 1]
    assert [s.shape for s in data.sequences] == [(5, 3), (7, 3), (2, 3)]
    assert data.sequences[2].tolist() == [[1.0] * 3] * 2


def test_object_arrays_only_with_allow_pickle(tmp_path) -> None:
    sequences = np.empty(3, dtype=object)
    sequences[:] = [np.zeros((5, 3)), np.ones((7, 3)), np.ones((2, 3))]
    path = write(tmp_path, sequences=sequences, labels=np.array(["up", "down", "up"]))
    with pytest.raises(DataFormatError, match=r"'sequences' is an object array.*allow_pickle: true"):
        load_npz(path)
    assert [s.shape for s in load_npz(path, allow_pickle=True).sequences] == [(5, 3), (7, 3), (2, 3)]


@pytest.mark.parametrize(
    ("lengths", "message"),
    [(np.array([5, 8]), r"lengths\[1\] = 8 is outside 1..7"), (np.array([5.0, 2.0]), "must be 2 integers")],
)
def test_bad_lengths_are_named(tmp_path, lengths, message) -> None:
    path = write(tmp_path, sequences=np.zeros((2, 7, 1)), lengths=lengths, labels=np.array([0, 1]))
    with pytest.raises(DataFormatError, match=message):
        load_npz(path)


def test_missing_file_is_named(tmp_path) -> None:
    with pytest.raises(DataFormatError, match="missing.npz: file not found"):
        load_npz(tmp_path / "missing.npz")


def test_fixed_length_with_class_names(tmp_path) -> None:
    data = load_npz(
        write(
            tmp_path,
            sequences=np.zeros((4, 6, 2)),
            labels=np.array([0, 1, 2, 1]),
            class_names=np.array(["a", "b", "c"]),
        )
    )
    assert data.class_names == ["a", "b", "c"] and len(data.sequences) == 4


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"labels": np.zeros(2, int)}, "missing key 'sequences'"),
        ({"sequences": np.zeros((2, 3, 1))}, "missing key 'labels'"),
        ({"sequences": np.zeros((2, 3)), "labels": np.zeros(2, int)}, r"must be \[N, T, C\]"),
        ({"sequences": np.full((2, 3, 1), np.nan), "labels": np.zeros(2, int)}, r"sequences\[0\] contains NaN"),
        ({"sequences": np.zeros((2, 3, 1)), "labels": np.zeros(3, int)}, "has 2 entries but 'labels' has 3"),
        (
            {"sequences": np.zeros((2, 3, 1)), "labels": np.array([0, 5]), "class_names": np.array(["a", "b"])},
            "label 5 outside 0..1",
        ),
    ],
)
def test_mistakes_are_named(tmp_path, arrays, message) -> None:
    with pytest.raises(DataFormatError, match=message) as error:
        load_npz(write(tmp_path, **arrays))
    assert "mine.npz" in str(error.value)


def test_mixed_channel_counts_are_named(tmp_path) -> None:
    sequences = np.empty(2, dtype=object)
    sequences[:] = [np.zeros((5, 3)), np.zeros((5, 2))]
    with pytest.raises(DataFormatError, match=r"sequences\[1\] has 2 channels"):
        load_npz(write(tmp_path, sequences=sequences, labels=np.array([0, 1])), allow_pickle=True)


def test_truncated_idx_is_rejected(tmp_path) -> None:
    path = tmp_path / "x.idx"
    path.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")
    with pytest.raises(DataFormatError, match="promises 13 bytes, file has 11"):
        read_idx(path)
