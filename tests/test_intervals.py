"""mic.evidence.intervals against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from mic.evidence.intervals import binomial_intervals, replicate_intervals, t_interval, wilson_interval


def test_t_interval_by_hand() -> None:
    """0.80, 0.82, 0.84: mean 0.82, s = 0.02, t(0.975, 2) = 4.302653, half-width 4.302653 * 0.02 / sqrt(3)."""
    interval = t_interval([0.80, 0.82, 0.84])
    assert interval.mean == pytest.approx(0.82)
    assert interval.half_width == pytest.approx(4.302653 * 0.02 / np.sqrt(3), rel=1e-6)
    assert interval.half_width == pytest.approx(0.049683, abs=1e-6)
    assert (interval.low, interval.high) == pytest.approx((0.82 - 0.049683, 0.82 + 0.049683), abs=1e-6)
    assert interval.reps == 3 and interval.defined and interval.text() == "0.820 ± 0.050"


def test_one_replicate_has_no_interval_and_says_so() -> None:
    interval = t_interval(pd.Series([0.7], index=pd.Index([0], name="rep")))
    assert interval.mean == 0.7 and interval.reps == 1 and not interval.defined
    assert np.isnan(interval.low) and np.isnan(interval.high)
    assert "1 replicate" in interval.note and "1 replicate" in interval.text()
    empty = t_interval([])
    assert empty.reps == 0 and np.isnan(empty.mean) and empty.text() == "n/a"


def test_wilson_interval_by_hand() -> None:
    """80 of 100: centre (0.8 + z²/200) / (1 + z²/100), half z·sqrt(0.0016 + z²/40000) / (1 + z²/100)."""
    z = 1.959964
    denominator = 1 + z**2 / 100
    centre = (0.8 + z**2 / 200) / denominator
    half = z * np.sqrt(0.8 * 0.2 / 100 + z**2 / 40000) / denominator
    low, high = wilson_interval(80, 100)
    assert (low, high) == pytest.approx((centre - half, centre + half), abs=1e-6)
    assert (low, high) == pytest.approx((0.7112, 0.8666), abs=1e-4)
    assert (low, high) == pytest.approx(proportion_confint(80, 100, method="wilson"), abs=1e-9)
    assert wilson_interval(0, 20)[0] == pytest.approx(0, abs=1e-12) and wilson_interval(20, 20)[1] == pytest.approx(1)
    assert all(np.isnan(wilson_interval(0, 0)))


def test_intervals_per_group() -> None:
    frame = pd.DataFrame({"k": ["a", "a", "a", "b"], "rep": [0, 1, 2, 0], "accuracy": [0.80, 0.82, 0.84, 0.5]})
    table = replicate_intervals(frame, ["k"], "accuracy").set_index("k")
    assert table.loc["a", "half_width"] == pytest.approx(0.049683, abs=1e-6) and table.loc["a", "reps"] == 3
    assert np.isnan(table.loc["b", "half_width"]) and table.loc["b", "mean"] == 0.5
    pooled = binomial_intervals(pd.DataFrame({"correct": [80], "n": [100]}))
    assert pooled.loc[0, "binomial_low"] == pytest.approx(0.7112, abs=1e-4)
