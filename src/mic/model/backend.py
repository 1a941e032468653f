"""Choosing between a C CPU kernel (mic.native) and the torch engine: backend "auto", "native" or "torch"."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from mic import native

BACKENDS = ("auto", "native", "torch")


def use_native(kernel: Callable[[], object], device: torch.device, dtype: torch.dtype, backend: str, what: str) -> bool:
    """Whether to run the C kernel that `kernel()` loads, for work on device in dtype.

    The kernel runs float32 on the CPU: "native" insists on it (ValueError elsewhere,
    native.NativeUnavailable where it cannot be built), "auto" uses it where it applies and builds
    and otherwise falls back to torch, warning "<what> on the (slower) torch engine" when it does not build.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    cpu32 = torch.device(device).type == "cpu" and dtype == torch.float32
    if backend == "native" and not cpu32:
        raise ValueError("the native backend needs a float32 bank on the CPU")
    if backend == "torch" or not cpu32:
        return False
    try:
        kernel()
    except native.NativeUnavailable as err:
        if backend == "native":
            raise
        # stacklevel 3: the caller of the public function (train_generators, inverse_classify) that asked
        warnings.warn(f"{what} on the (slower) torch engine: {err}", RuntimeWarning, stacklevel=3)
        return False
    return True
