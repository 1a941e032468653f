"""mic.evidence.stability: the chance that a rerun keeps a verdict, against exact cases and a simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mic.evidence import stability
from mic.evidence import verdicts as v


def q(reps: int) -> float:
    return float(stats.t.ppf(0.975, reps - 1))


def test_the_chances_of_the_three_verdicts_add_up_to_one() -> None:
    for t_statistic, reps in [(0.0, 3), (1.7, 5), (-6.0, 5), (2.5, 10)]:
        chances = stability.verdict_chances(t_statistic, reps)
        assert sum(chances) == pytest.approx(1.0) and all(0 <= c <= 1 for c in chances)


def test_a_verdict_on_the_edge_of_its_interval_is_a_coin_flip() -> None:
    # At T = q the rerun's mean and spread are exchangeable with the observed ones: exactly one half.
    for reps in (3, 5, 10):
        supported, _, _ = stability.verdict_chances(q(reps), reps)
        assert supported == pytest.approx(0.5, abs=1e-4)


def test_a_reversed_difference_mirrors_the_chances() -> None:
    supported, contradicted, inconclusive = stability.verdict_chances(4.0, 5)
    mirrored = stability.verdict_chances(-4.0, 5)
    assert mirrored == pytest.approx((contradicted, supported, inconclusive))


@pytest.mark.parametrize("t_statistic, reps", [(4.5, 5), (0.0, 5), (-3.2, 3), (2.0, 10)])
def test_the_quadrature_matches_a_simulation_of_the_model(t_statistic: float, reps: int) -> None:
    """Draw (σ, μ) from the posterior of normal differences with mean T·s/√r and SD s, then r new
    differences, and decide them by the 95 % t-interval: the rates of each verdict match the quadrature."""
    rng = np.random.default_rng(7)
    draws, s = 200_000, 1.0
    mean = t_statistic * s / np.sqrt(reps)
    sigma = s * np.sqrt((reps - 1) / rng.chisquare(reps - 1, draws))
    mu = mean + sigma / np.sqrt(reps) * rng.standard_normal(draws)
    rerun = mu[:, None] + sigma[:, None] * rng.standard_normal((draws, reps))
    half = q(reps) * rerun.std(axis=1, ddof=1) / np.sqrt(reps)
    low, high = rerun.mean(axis=1) - half, rerun.mean(axis=1) + half
    simulated = ((low > 0).mean(), (high < 0).mean())
    supported, contradicted, _ = stability.verdict_chances(t_statistic, reps)
    assert (supported, contradicted) == pytest.approx(simulated, abs=0.006)


def test_clear_and_borderline_verdicts() -> None:
    clear = v.decide(pd.Series([0.20, 0.21, 0.19, 0.205, 0.195]))
    assert clear["verdict"] == v.SUPPORTED and clear["same_on_rerun"] > 0.999
    edge = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])  # shifted so that its interval's low end sits at 0
    edge = edge + q(5) * edge.std(ddof=1) / np.sqrt(5) + 1e-9
    borderline = v.decide(pd.Series(edge))
    assert borderline["verdict"] == v.SUPPORTED and borderline["same_on_rerun"] == pytest.approx(0.5, abs=1e-3)
    zero = v.decide(pd.Series([0.01, -0.02, 0.015, -0.005, 0.0]))
    assert zero["verdict"] == v.INCONCLUSIVE and 0.5 < zero["same_on_rerun"] < 0.95


def test_no_chance_where_the_numbers_do_not_decide() -> None:
    assert np.isnan(v.decide(pd.Series([0.30, 0.31]))["same_on_rerun"])  # fewer than MIN_REPS replicates
    assert np.isnan(v.decide(pd.Series([0.0, 0.0, 0.0]))["same_on_rerun"])  # no spread
    assert np.isnan(stability.rerun_chances(np.array([0.1]))).all()
