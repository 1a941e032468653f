"""Labels of an own data set's .npz: its keys, how labels become indices, and the errors naming the file."""

from __future__ import annotations

import os
import zipfile

import numpy as np

# Keys of an own data set's .npz file (docs/own-data.md).
NPZ_SEQUENCES, NPZ_LABELS, NPZ_CLASS_NAMES, NPZ_LENGTHS = "sequences", "labels", "class_names", "lengths"


class DataFormatError(ValueError):
    """A raw data file does not have the documented layout; the message names the file and the problem."""


def open_npz(path: str | os.PathLike, allow_pickle: bool = False) -> np.lib.npyio.NpzFile:
    """np.load of a user's .npz; a missing, empty or unreadable file is a DataFormatError naming it."""
    if not os.path.isfile(path):
        raise DataFormatError(f"{path}: file not found (datasets.<name>.path in the config)")
    if os.path.getsize(path) == 0:
        raise DataFormatError(f"{path}: the file is empty; expected an .npz archive with '{NPZ_SEQUENCES}'")
    try:
        archive = np.load(path, allow_pickle=allow_pickle)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataFormatError(f"{path}: not a readable .npz file ({type(error).__name__}: {error})") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):  # np.load of a .npy gives a bare array
        raise DataFormatError(f"{path}: a single .npy array, expected an .npz archive with '{NPZ_SEQUENCES}'")
    return archive


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
