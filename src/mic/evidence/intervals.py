"""95 % intervals of the report's numbers: over replicates (training variance) and over test samples (binomial).

Two different uncertainties, kept apart on purpose:
- `t_interval`: replicates are the unit of evidence. Each replicate retrains every generator (and baseline)
  with its own seed, so the spread of a per-replicate statistic (accuracy, MSE, a paired difference) is the
  run-to-run (training) variance. The interval is mean ± t(0.975, r-1) * s / sqrt(r) over the r replicates;
  with one replicate it is undefined (NaN) and says so.
- `wilson_interval`: the test-sampling uncertainty of one accuracy, correct out of n test samples (one
  replicate's, or counts pooled over replicates), as a binomial proportion (Wilson score interval). It
  says nothing about how a retrained model would do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95
INTERVAL_COLUMNS = ["mean", "half_width", "low", "high", "reps"]


@dataclass(frozen=True)
class Interval:
    """A 95 % interval around an estimate; `note` says why it is undefined (NaN) when it is."""

    mean: float
    half_width: float
    reps: int
    note: str = ""

    @property
    def low(self) -> float:
        """Lower end (NaN when undefined)."""
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        """Upper end (NaN when undefined)."""
        return self.mean + self.half_width

    @property
    def defined(self) -> bool:
        """Whether both ends are numbers."""
        return bool(np.isfinite(self.half_width))

    def text(self, digits: int = 3) -> str:
        """'0.836 ± 0.012', or '0.836 (1 replicate: no interval)'; 'n/a' without any value."""
        if not np.isfinite(self.mean):
            return "n/a"
        if not self.defined:
            return f"{self.mean:.{digits}f} ({self.note or 'no interval'})"
        return f"{self.mean:.{digits}f} ± {self.half_width:.{digits}f}"


def t_interval(values: Sequence[float] | pd.Series, level: float = LEVEL) -> Interval:
    """Student-t interval of the mean of per-replicate values: mean ± t(1-α/2, r-1)·s/√r (s: sample SD)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    r = len(x)
    if r == 0:
        return Interval(float("nan"), float("nan"), 0, "no replicates")
    mean = float(x.mean())
    if r == 1:
        return Interval(mean, float("nan"), 1, "1 replicate: no interval")
    half = float(stats.t.ppf(0.5 + level / 2, r - 1) * x.std(ddof=1) / np.sqrt(r))
    return Interval(mean, half, r)


def wilson_interval(correct: float, n: float, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval (low, high) of a binomial proportion correct/n; (NaN, NaN) when n is 0.

    centre = (p + z²/2n) / (1 + z²/n), half-width = z·√(p(1-p)/n + z²/4n²) / (1 + z²/n), z = Φ⁻¹(1-α/2).
    Unlike p ± z·√(p(1-p)/n) it stays inside [0, 1] and keeps its coverage near 0 and 1.
    """
    if not n:
        return float("nan"), float("nan")
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = correct / n
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return float(centre - half), float(centre + half)


def replicate_intervals(frame: pd.DataFrame, keys: Sequence[str], value: str) -> pd.DataFrame:
    """Per group of `keys`: t_interval over the rows' `value` (one row per replicate) as INTERVAL_COLUMNS."""
    records = []
    for key, rows in frame.groupby(list(keys), sort=False):
        interval = t_interval(rows[value])
        key = key if isinstance(key, tuple) else (key,)
        records.append((*key, interval.mean, interval.half_width, interval.low, interval.high, interval.reps))
    return pd.DataFrame(records, columns=[*keys, *INTERVAL_COLUMNS])


def binomial_intervals(frame: pd.DataFrame, correct: str = "correct", n: str = "n") -> pd.DataFrame:
    """`frame` with Wilson columns binomial_low and binomial_high of `correct` out of `n` per row."""
    ends = [wilson_interval(c, t) for c, t in zip(frame[correct], frame[n])]
    out = frame.copy()
    out["binomial_low"] = [low for low, _ in ends]
    out["binomial_high"] = [high for _, high in ends]
    return out
