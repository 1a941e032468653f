"""Readers for the raw data sets: UCI Character Trajectories, MNIST (IDX) and user .npz files."""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DataFormatError(ValueError):
    """A raw data file does not have the documented layout."""


@dataclass
class RawDataset:
    """Labelled sequences as read from disk, before any preprocessing."""

    sequences: list[np.ndarray]  # each [T_i, C]
    labels: np.ndarray  # [N] class index 0..K-1
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
    """Official 60000/10000 split; each image becomes a sequence of its 28 rows, pixels in [0, 1]."""
    folder = Path(folder)
    parts = []
    for prefix in ("train", "t10k"):
        images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
        labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
        if len(images) != len(labels):
            raise DataFormatError(f"{folder}: {prefix} has {len(images)} images but {len(labels)} labels")
        parts.append((images, labels))
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    is_test = np.repeat([False, True], [len(parts[0][1]), len(parts[1][1])])
    return RawDataset(list(images), labels, [str(d) for d in range(10)], is_test)


def load_npz(path: str | os.PathLike) -> RawDataset:
    """Read a user data set: `sequences` ([N,T,C] or N arrays [T_i,C]), `labels` [N], optional `class_names`."""
    try:
        archive = np.load(path, allow_pickle=True)
    except (OSError, ValueError) as error:
        raise DataFormatError(f"{path}: not a readable .npz file ({error})") from error
    with archive:
        for key in ("sequences", "labels"):
            if key not in archive.files:
                raise DataFormatError(f"{path}: missing key '{key}' (found: {', '.join(archive.files) or 'none'})")
        raw_sequences = archive["sequences"]
        raw_labels = np.asarray(archive["labels"]).ravel()
        names = [str(n) for n in archive["class_names"]] if "class_names" in archive.files else None
    sequences = _as_sequence_list(path, raw_sequences)
    if len(sequences) != len(raw_labels):
        raise DataFormatError(f"{path}: 'sequences' has {len(sequences)} entries but 'labels' has {len(raw_labels)}")
    labels, class_names = _encode_labels(path, raw_labels, names)
    return RawDataset(sequences, labels, class_names)


def _as_sequence_list(path: str | os.PathLike, raw: np.ndarray) -> list[np.ndarray]:
    if raw.dtype != object:
        if raw.ndim != 3:
            raise DataFormatError(
                f"{path}: 'sequences' must be [N, T, C] or a list of [T, C] arrays, got shape {raw.shape}"
            )
        raw = list(raw)
    sequences = []
    channels = None
    for i, item in enumerate(raw):
        array = np.asarray(item, dtype=np.float64)
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


def _encode_labels(path: str | os.PathLike, raw: np.ndarray, names: list[str] | None) -> tuple[np.ndarray, list[str]]:
    if raw.dtype.kind in "iu":
        if names is None:
            names = [str(v) for v in range(int(raw.max()) + 1)]
        bad = raw[(raw < 0) | (raw >= len(names))]
        if bad.size:
            raise DataFormatError(
                f"{path}: label {int(bad[0])} outside 0..{len(names) - 1} ('class_names' has {len(names)})"
            )
        return raw.astype(np.int64), names
    if raw.dtype.kind in "USO":
        values = [str(v) for v in raw]
        names = names or sorted(set(values))
        index = {name: i for i, name in enumerate(names)}
        unknown = sorted(set(values) - set(index))
        if unknown:
            raise DataFormatError(f"{path}: label {unknown[0]!r} is not in 'class_names'")
        return np.array([index[v] for v in values], dtype=np.int64), names
    raise DataFormatError(f"{path}: 'labels' must be integers or strings, got dtype {raw.dtype}")
