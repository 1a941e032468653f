"""Raw sequences as MIC takes them: arrays, lists, padded arrays with lengths, or an input .npz file.

Every reader returns float64 [T_i, C] sequences, checked (numbers, no NaN, at least one step, the same
channels everywhere); bad input is a ClassifyError (a ValueError) naming the file or argument, the field and
what was expected. Values stay raw: a model's stored transform turns them into its inputs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mic.data.datasets import load_npz, sequence_list
from mic.data.labels import NPZ_SEQUENCES, DataFormatError


class ClassifyError(ValueError):
    """Unusable input or model for classification; the message names the file, the field and what was expected."""


def as_sequences(x: np.ndarray | Sequence, lengths: np.ndarray | None, where: str) -> list[np.ndarray]:
    """[N, T, C] array (cut to `lengths` when given) or N arrays [T_i, C] -> checked float64 [T_i, C] list."""
    if isinstance(x, (list, tuple)):
        items = x
        x = np.empty(len(items), dtype=object)  # element by element: equal-length items must stay [T, C] arrays
        for i, item in enumerate(items):
            x[i] = item
    try:
        return sequence_list(where, np.asarray(x), lengths)
    except DataFormatError as exc:
        raise ClassifyError(str(exc)) from exc
    except (TypeError, ValueError) as exc:  # e.g. strings where numbers belong
        raise ClassifyError(f"{where}: '{NPZ_SEQUENCES}' must hold numbers ({exc})") from exc


@dataclass
class RawInput:
    """An input .npz: raw sequences and, optionally, the class names of their labels."""

    sequences: list[np.ndarray]
    labels: list[str] | None


def read_input(path: str | os.PathLike, allow_pickle: bool = False) -> RawInput:
    """Read sequences to classify in the own-data-set format (mic.data.datasets.load_npz); labels optional."""
    if not Path(path).is_file():
        raise ClassifyError(f"{path}: no such file")
    try:
        raw = load_npz(path, allow_pickle, labelled=False)
    except DataFormatError as exc:
        # The reader's advice names the pipeline's config key; say what the same choice is called here.
        hint = " (here: --allow-pickle, or allow_pickle=True)" if "pickle" in str(exc) and not allow_pickle else ""
        raise ClassifyError(f"{exc}{hint}") from exc
    labels = None if raw.labels is None else [raw.class_names[i] for i in raw.labels]
    return RawInput(raw.sequences, labels)


def raw_sequences(X: Any, lengths: Any = None, where: str = "X") -> list[np.ndarray]:
    """X as checked float64 [T_i, C] sequences: [N, T, C] or [N, T] arrays (cut to `lengths`), or a list."""
    from scipy import sparse  # here: `mic classify` reads files with read_input and needs neither
    from sklearn.utils.validation import check_array

    if sparse.issparse(X):
        raise TypeError(f"{where}: sparse input is not supported; expected an [N, T, C] array or a list of [T_i, C]")
    if _is_ragged(X):
        if lengths is not None:
            raise ClassifyError(f"{where}: lengths go with a padded [N, T, C] array, not with a list of sequences")
        items = []
        for i, item in enumerate(X):
            try:
                array = np.asarray(item, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ClassifyError(f"{where}: sequences[{i}] must be a [T, C] array of numbers ({exc})") from exc
            items.append(array[:, None] if array.ndim == 1 else array)
        try:
            return as_sequences(items, None, where)
        except ClassifyError as exc:
            if "NaN" not in str(exc):
                raise
            raise ClassifyError(f"{exc}; expected finite numbers: end each sequence at its last valid step") from exc
    try:
        array = check_array(X, allow_nd=True, ensure_all_finite=lengths is None, dtype="numeric", input_name=where)
    except ValueError as exc:
        if "NaN" not in str(exc) and "infinity" not in str(exc):
            raise
        raise ClassifyError(
            f"{exc} MICClassifier takes no missing values: pass sequences of different lengths as a list of "
            "[T_i, C] arrays, or as a padded [N, T, C] array with lengths=[T_1, ..., T_N]"
        ) from exc
    if array.ndim == 2:
        array = array[:, :, None]  # [N, T]: one channel
    if array.ndim != 3:
        raise ClassifyError(
            f"{where}: expected an [N, T, C] array or a list of [T_i, C] arrays, got shape {array.shape}"
        )
    return as_sequences(array, None if lengths is None else np.asarray(lengths), where)


def _is_ragged(X: Any) -> bool:
    """A list (or 1-d object array) of sequences that do not stack into one array."""
    if not isinstance(X, (list, tuple)) and not (isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1):
        return False
    try:
        return np.asarray(X, dtype=np.float64).ndim not in (2, 3)
    except (TypeError, ValueError):
        return True
