"""Dynamic time warping: tslearn's unconstrained DTW and DTW barycenter steps, bit for bit, from a C kernel (dtw.c).

tslearn costs a job about 7 s to import (it imports torch) and 12 s to compile its numba kernels on their
first call, in every process; the C kernel is built once per machine and takes eight pairs of series at a time.
Where no C compiler is found, tslearn computes the same numbers (with a RuntimeWarning).
"""

from __future__ import annotations

import ctypes
import functools
import warnings

import numpy as np

from mic import native

_DOUBLES = ctypes.POINTER(ctypes.c_double)


@functools.cache
def _kernel() -> ctypes.CDLL | None:
    """The loaded dtw kernel, or None (after a warning) where it cannot be built."""
    try:
        lib = native.load("dtw", native.variant())
    except native.NativeUnavailable as err:
        warnings.warn(f"DTW on tslearn (slower to start): {err}", RuntimeWarning, stacklevel=3)
        return None
    lib.mic_cdist_dtw.restype = lib.mic_paired_dtw.restype = ctypes.c_int
    long = ctypes.c_long
    lib.mic_cdist_dtw.argtypes = [_DOUBLES, long, long, _DOUBLES, long, long, long, _DOUBLES]
    lib.mic_paired_dtw.argtypes = [_DOUBLES, _DOUBLES, long, long, long, long, _DOUBLES]
    lib.mic_dba_sums.restype = ctypes.c_int
    lib.mic_dba_sums.argtypes = [_DOUBLES, long, _DOUBLES, long, long, long, _DOUBLES, _DOUBLES]
    return lib


def _series(name: str, array: np.ndarray, channels: int | None = None) -> np.ndarray:
    """[N, T, C] C-contiguous float64 copy of array, checked."""
    array = np.ascontiguousarray(array, dtype=np.float64)
    if array.ndim != 3 or array.shape[1] == 0:
        raise ValueError(f"{name} must be series of shape [N, T, C] with T >= 1, got shape {array.shape}")
    if channels is not None and array.shape[2] != channels:
        raise ValueError(f"{name} have {array.shape[2]} channels, expected {channels}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or infinite values; DTW here compares series of full length")
    return array


def _pointer(array: np.ndarray) -> ctypes.POINTER(ctypes.c_double):
    return array.ctypes.data_as(_DOUBLES)


def cdist_dtw(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[Na, Nb] DTW distance of every series of a [Na, Ta, C] to every series of b [Nb, Tb, C]."""
    a = _series("a", a)
    b = _series("b", b, a.shape[2])
    lib = _kernel()
    if lib is None:
        from tslearn.metrics import cdist_dtw as tslearn_cdist_dtw

        return tslearn_cdist_dtw(a, b, be="numpy")
    out = np.empty((len(a), len(b)))
    if lib.mic_cdist_dtw(_pointer(a), len(a), a.shape[1], _pointer(b), len(b), b.shape[1], a.shape[2], _pointer(out)):
        raise MemoryError("DTW: no memory for the kernel's working rows")
    return out


def paired_dtw(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[N] DTW distance of a[i] [Ta, C] to b[i] [Tb, C] for every i."""
    a = _series("a", a)
    b = _series("b", b, a.shape[2])
    if len(a) != len(b):
        raise ValueError(f"paired_dtw needs as many series in a as in b, got {len(a)} and {len(b)}")
    lib = _kernel()
    if lib is None:
        from tslearn.metrics import dtw

        return np.array([dtw(x, y, be="numpy") for x, y in zip(a, b)], dtype=np.float64)
    out = np.empty(len(a))
    if lib.mic_paired_dtw(_pointer(a), _pointer(b), len(a), a.shape[1], b.shape[1], a.shape[2], _pointer(out)):
        raise MemoryError("DTW: no memory for the kernel's working rows")
    return out


def dba_sums(barycenter: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step of DTW barycenter averaging: [T, C] sums of the member steps each barycenter step is
    warped to (tslearn's dtw_path of barycenter [T, C] to each member of [M, T', C]) and their [T] counts."""
    bary = _series("barycenter", np.asarray(barycenter)[None])
    members = _series("members", members, bary.shape[2])
    sums, counts = np.zeros(bary.shape[1:]), np.zeros(bary.shape[1])
    lib = _kernel()
    if lib is None:
        from tslearn.metrics import dtw_path

        for member in members:
            path = np.asarray(dtw_path(bary[0], member, be="numpy")[0])
            np.add.at(sums, path[:, 0], member[path[:, 1]])
            np.add.at(counts, path[:, 0], 1.0)
        return sums, counts
    steps, channels = bary.shape[1:]
    if lib.mic_dba_sums(
        _pointer(bary), steps, _pointer(members), len(members), members.shape[1], channels, _pointer(sums),
        _pointer(counts),
    ):  # fmt: skip
        raise MemoryError("DTW: no memory for the kernel's working table")
    return sums, counts
