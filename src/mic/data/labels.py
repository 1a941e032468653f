"""Class names and labels: the one home of which classes a data set has and how labels become indices.

The workflow needs the class names before any job runs (they name the generator checkpoints), the readers
need the same names and the same encoding, so both call `class_names` and `encode_labels` here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

# The built-in sources' classes, in label order (UCI `consts.key`; MNIST digits).
SOURCE_CLASSES: dict[str, list[str]] = {
    "character_trajectories": list("abcdeghlmnopqrsuvwyz"),
    "mnist": [str(d) for d in range(10)],
}
# Keys of an own data set's .npz file (README, "Your own data set").
NPZ_SEQUENCES, NPZ_LABELS, NPZ_CLASS_NAMES, NPZ_LENGTHS = "sequences", "labels", "class_names", "lengths"


class DataFormatError(ValueError):
    """A raw data file does not have the documented layout; the message names the file and the problem."""


def open_npz(path: str | os.PathLike, allow_pickle: bool = False) -> np.lib.npyio.NpzFile:
    """np.load of a user's .npz; a missing or unreadable file is a DataFormatError naming it."""
    if not os.path.isfile(path):
        raise DataFormatError(f"{path}: file not found (datasets.<name>.path in the config)")
    try:
        return np.load(path, allow_pickle=allow_pickle)
    except (OSError, ValueError) as error:
        raise DataFormatError(f"{path}: not a readable .npz file ({error})") from error


def read_array(archive: np.lib.npyio.NpzFile, path: str | os.PathLike, key: str) -> np.ndarray:
    """One array of a user's .npz; a missing key, or an object array that needs pickle, is a DataFormatError."""
    if key not in archive.files:
        raise DataFormatError(f"{path}: missing key '{key}' (found: {', '.join(archive.files) or 'none'})")
    try:
        return archive[key]
    except ValueError as error:  # numpy refuses object arrays without allow_pickle
        raise DataFormatError(
            f"{path}: '{key}' is an object array, which can only be read with pickle, and unpickling a file can run "
            f"code stored in it. Store variable-length sequences as padded '{NPZ_SEQUENCES}' [N, T, C] plus "
            f"'{NPZ_LENGTHS}' [N] (and labels as strings or integers), or set allow_pickle: true for this data set "
            "if you trust the file"
        ) from error


def encode_labels(path: str | os.PathLike, raw: np.ndarray, names: list[str] | None) -> tuple[np.ndarray, list[str]]:
    """Labels as indices 0..K-1 and the class names: integer labels index `names`, strings are names."""
    raw = np.asarray(raw).ravel()
    if raw.dtype.kind in "iu":
        if names is None:
            names = [str(v) for v in range(int(raw.max()) + 1)] if raw.size else []
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


def npz_labels(path: str | os.PathLike, allow_pickle: bool = False) -> tuple[np.ndarray, list[str]]:
    """The encoded labels and class names of a user's .npz data set."""
    with open_npz(path, allow_pickle) as archive:
        raw = read_array(archive, path, NPZ_LABELS)
        names = [str(n) for n in read_array(archive, path, NPZ_CLASS_NAMES)] if NPZ_CLASS_NAMES in archive else None
    return encode_labels(path, raw, names)


def class_names(dataset: Mapping[str, Any]) -> list[str]:
    """The classes of one configured data set (config["datasets"][name]), known before any job runs."""
    chosen = (dataset.get("preprocess") or {}).get("classes")
    if chosen:
        return list(chosen)
    if dataset["source"] in SOURCE_CLASSES:
        return list(SOURCE_CLASSES[dataset["source"]])
    return npz_labels(dataset["path"], bool(dataset.get("allow_pickle", False)))[1]
