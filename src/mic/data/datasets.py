"""Readers for the raw data sets: UCI Character Trajectories, MNIST (IDX) and user .npz files."""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mic.data.labels import (
    NPZ_CLASS_NAMES,
    NPZ_LABELS,
    NPZ_LENGTHS,
    NPZ_SEQUENCES,
    DataFormatError,
    encode_labels,
    open_npz,
    read_array,
)

__all__ = [
    "DataFormatError",
    "RawDataset",
    "load_character_trajectories",
    "load_mnist",
    "load_npz",
    "read_idx",
    "sequence_list",
]

# The built-in sources' classes, in label order (UCI `consts.key`; MNIST digits).
CHARACTER_CLASSES = tuple("abcdeghlmnopqrsuvwyz")
MNIST_CLASSES = tuple(str(d) for d in range(10))


@dataclass
class RawDataset:
    """Labelled sequences as read from disk, before any preprocessing."""

    sequences: list[np.ndarray]  # each [T_i, C]
    labels: np.ndarray | None  # [N] class index 0..K-1; None for unlabelled sequences to classify
    class_names: list[str]
    is_test: np.ndarray | None = None  # [N] bool, where the source defines an official split


def load_character_trajectories(path: str | os.PathLike) -> RawDataset:
    """Read `mixout` (3 x T per sample: x velocity, y velocity, pen force) and the 1-based labels."""
    import scipy.io  # here: the modules importing this one run in every job; scipy.io is only read once

    mat = scipy.io.loadmat(path)
    try:
        cells = mat["mixout"][0]
        labels = np.asarray(mat["consts"]["charlabels"][0, 0]).ravel().astype(np.int64) - 1
        key = [str(np.asarray(k).ravel()[0]) for k in mat["consts"]["key"][0, 0][0]]
    except (KeyError, IndexError, ValueError) as error:
        raise DataFormatError(f"{path}: expected 'mixout', 'consts.charlabels' and 'consts.key' ({error})") from error
    sequences = [np.asarray(cell, dtype=np.float64).T for cell in cells]
    if len(sequences) != len(labels):
        raise DataFormatError(f"{path}: {len(sequences)} sequences but {len(labels)} labels")
    return RawDataset(sequences, labels, key)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a (gzipped) IDX file of unsigned bytes, as MNIST ships them."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise DataFormatError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = 4 + 4 * ndim + int(np.prod(shape))
    if len(data) != expected:
        raise DataFormatError(f"{path}: IDX header promises {expected} bytes, file has {len(data)}")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(folder: str | os.PathLike) -> RawDataset:
    """Official 60000/10000 split; each image becomes a sequence of its 28 rows of raw pixels (0..255)."""
    folder = Path(folder)
    parts = []
    for prefix in ("train", "t10k"):
        images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
        if len(images) != len(labels):
            raise DataFormatError(f"{folder}: {prefix} has {len(images)} images but {len(labels)} labels")
        parts.append((images, labels))
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    is_test = np.repeat([False, True], [len(parts[0][1]), len(parts[1][1])])
    return RawDataset(list(images), labels, list(MNIST_CLASSES), is_test)


def load_npz(path: str | os.PathLike, allow_pickle: bool = False, labelled: bool = True) -> RawDataset:
    """Read the own-data-set format: `sequences` [N, T, C] (with `lengths` [N] for variable lengths), `labels` [N],
    optional `class_names`. Object arrays need allow_pickle (unpickling a file can run code stored in it).
    labelled=False (sequences to classify): `labels` may be absent, and then the result's labels are None."""
    with open_npz(path, allow_pickle) as archive:
        raw_sequences = read_array(archive, path, NPZ_SEQUENCES)
        has_labels = labelled or NPZ_LABELS in archive.files
        raw_labels = np.asarray(read_array(archive, path, NPZ_LABELS)).ravel() if has_labels else None
        lengths = read_array(archive, path, NPZ_LENGTHS) if NPZ_LENGTHS in archive.files else None
        names = (
            [str(n) for n in read_array(archive, path, NPZ_CLASS_NAMES)] if NPZ_CLASS_NAMES in archive.files else None
        )
    sequences = sequence_list(path, raw_sequences, lengths)
    if raw_labels is None:
        return RawDataset(sequences, None, [])
    if len(sequences) != len(raw_labels):
        raise DataFormatError(f"{path}: 'sequences' has {len(sequences)} entries but 'labels' has {len(raw_labels)}")
    labels, class_names = encode_labels(path, raw_labels, names)
    return RawDataset(sequences, labels, class_names)


def sequence_list(path: str | os.PathLike, raw: np.ndarray, lengths: np.ndarray | None) -> list[np.ndarray]:
    """Checked [T_i, C] float64 sequences from [N, T, C] (cut to `lengths` where given) or an object array."""
    if raw.dtype != object:
        if raw.ndim != 3:
            raise DataFormatError(
                f"{path}: 'sequences' must be [N, T, C] or a list of [T, C] arrays, got shape {raw.shape}"
            )
        raw = list(raw) if lengths is None else _unpad(path, raw, lengths)
    elif lengths is not None:
        raise DataFormatError(f"{path}: '{NPZ_LENGTHS}' belongs with padded [N, T, C] 'sequences', not an object array")
    sequences = []
    channels = None
    for i, item in enumerate(raw):
        try:
            array = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError) as error:  # e.g. strings where numbers belong
            raise DataFormatError(f"{path}: sequences[{i}] must hold numbers ({error})") from error
        if array.ndim != 2 or array.shape[0] < 1:
            raise DataFormatError(f"{path}: sequences[{i}] must be a [T, C] array, got shape {array.shape}")
        if channels is not None and array.shape[1] != channels:
            raise DataFormatError(f"{path}: sequences[{i}] has {array.shape[1]} channels, sequences[0] has {channels}")
        if not np.all(np.isfinite(array)):
            raise DataFormatError(f"{path}: sequences[{i}] contains NaN or infinite values")
        channels = array.shape[1]
        sequences.append(array)
    if not sequences:
        raise DataFormatError(f"{path}: 'sequences' is empty")
    return sequences


def _unpad(path: str | os.PathLike, padded: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Padded [N, T, C] sequences cut to their `lengths` [N]."""
    lengths = np.asarray(lengths).ravel()
    if lengths.shape != (len(padded),) or lengths.dtype.kind not in "iu":
        raise DataFormatError(
            f"{path}: '{NPZ_LENGTHS}' must be {len(padded)} integers (one per sequence), got {lengths.dtype} "
            f"of shape {lengths.shape}"
        )
    bad = np.flatnonzero((lengths < 1) | (lengths > padded.shape[1]))
    if bad.size:
        raise DataFormatError(
            f"{path}: {NPZ_LENGTHS}[{bad[0]}] = {lengths[bad[0]]} is outside 1..{padded.shape[1]} (the padded length)"
        )
    return [sequence[:length] for sequence, length in zip(padded, lengths)]
