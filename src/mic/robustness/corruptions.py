"""Corruptions of sequences [N, T, C] in the models' input space, one strength knob `level` each.

gaussian    additive noise, level = sigma in multiples of `scale` (the caller passes the training values' std)
occlusion   a band of round(level * T) consecutive steps (rows of an MNIST image) set to `fill`, per sample
time_shift  delayed by round(level * T) steps, the first value held
speed       written level times as fast (linear interpolation in time), the last value held

Steps from a share of T are rounded half up. Every random draw comes from the passed generator, and the
draws do not depend on the level, so a level sweep on one seed corrupts the same positions.
"""

from __future__ import annotations

import math

import numpy as np

from mic.robustness.settings import CORRUPTION_KINDS


def _steps(level: float, length: int) -> int:
    """round(level * length), half up."""
    return int(math.floor(level * length + 0.5))


def _check(kind: str, level: float) -> None:
    """Raise ValueError for an unknown kind or a level outside its range."""
    if kind not in CORRUPTION_KINDS:
        raise ValueError(f"corruption kind must be one of {CORRUPTION_KINDS}, got {kind!r}")
    if not math.isfinite(level):
        raise ValueError(f"{kind} level must be finite, got {level}")
    ok = {
        "gaussian": level >= 0.0,
        "occlusion": 0.0 <= level <= 1.0,
        "time_shift": 0.0 <= level < 1.0,
        "speed": level > 0.0,
    }[kind]
    if not ok:
        ranges = {"gaussian": ">= 0", "occlusion": "in [0, 1]", "time_shift": "in [0, 1)", "speed": "> 0"}
        raise ValueError(f"{kind} level must be {ranges[kind]}, got {level}")


def corrupt(
    x: np.ndarray, kind: str, level: float, rng: np.random.Generator, scale: float = 1.0, fill: float = 0.0
) -> np.ndarray:
    """A corrupted float32 copy of sequences x [N, T, C]; see the module docstring for the kinds."""
    _check(kind, float(level))
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"x must be [N, T, C], got shape {x.shape}")
    n, length, _ = x.shape
    if kind == "gaussian":
        noise = rng.standard_normal(x.shape)
        return (x + level * scale * noise).astype(np.float32)
    if kind == "occlusion":
        band = _steps(level, length)
        starts = rng.integers(0, length - band + 1, size=n)
        rows = np.arange(length)
        hidden = (rows >= starts[:, None]) & (rows < starts[:, None] + band)  # [N, T]
        out = x.copy()
        out[hidden] = fill
        return out
    if kind == "time_shift":
        shift = _steps(level, length)
        return x[:, np.maximum(np.arange(length) - shift, 0)].copy()
    if level == 1.0:
        return x.copy()
    position = np.minimum(np.arange(length) * float(level), length - 1)
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, length - 1)
    weight = (position - lo)[None, :, None]
    out = (1.0 - weight) * x[:, lo].astype(np.float64) + weight * x[:, hi]
    return out.astype(np.float32)
