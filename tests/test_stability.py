"""mic.evidence.stability: the chance that a rerun gives the same one of the four outcomes, against exact cases,
an independent quadrature, the three-outcome chances it reduces to, and a Monte-Carlo simulation of the model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from mic.evidence import stability
from mic.evidence import verdicts as v
from mic.evidence.claims import CONTRADICTED, EQUIVALENT, INCONCLUSIVE, OUTCOMES, SUPPORTED

DELTA = 0.01


def q(reps: int) -> float:
    return float(stats.t.ppf(0.975, reps - 1))


def three_outcome_chances(t_statistic: float, reps: int) -> tuple[float, float, float]:
    """(supported, contradicted, inconclusive) without a margin: the rerun's t statistic as noncentral t,
    Gauss–Laguerre over χ² and Hermite over the normal, 48 nodes each (accurate to 1e-4 at 3 replicates)."""
    dof = reps - 1
    u, wu = special.roots_genlaguerre(48, dof / 2 - 1)
    z, wz = special.roots_hermitenorm(48)
    scaled_chi, w_chi, w_z = 2 * u / dof, wu / math.gamma(dof / 2), wz / math.sqrt(2 * math.pi)
    delta = np.clip(t_statistic * np.sqrt(scaled_chi)[:, None] + z[None, :], -30, 30)
    weights = w_chi[:, None] * w_z[None, :]
    supported = float(np.sum(weights * stats.nct.sf(q(reps), dof, delta)))
    contradicted = float(np.sum(weights * stats.nct.sf(q(reps), dof, -delta)))
    return supported, contradicted, 1.0 - supported - contradicted


def two_chi_square_chances(t_statistic: float, margin_se: float, reps: int, nodes: int = 300) -> dict[str, float]:
    """The model as stated, without the reduction to one dimension: normal CDFs of m' given σ and s',
    Gauss–Laguerre over both χ²(r-1) variables (σ² = s²(r-1)/X, s'² = σ²Y/(r-1)), s = 1."""
    dof = reps - 1
    u, w = special.roots_genlaguerre(nodes, dof / 2 - 1)
    x, w = 2 * u, w / math.gamma(dof / 2)
    sigma = np.sqrt(dof / x)[:, None]
    half = q(reps) * sigma * np.sqrt(x[None, :] / dof) / math.sqrt(reps)
    scale, mean, margin = sigma * math.sqrt(2 / reps), t_statistic / math.sqrt(reps), margin_se / math.sqrt(reps)
    weights, cdf = w[:, None] * w[None, :], stats.norm.cdf
    bound, inside = np.maximum(half, margin - half), np.maximum(margin - half, 0)
    return {
        EQUIVALENT: float(np.sum(weights * (cdf((inside - mean) / scale) - cdf((-inside - mean) / scale)))),
        SUPPORTED: float(np.sum(weights * cdf((mean - bound) / scale))),
        CONTRADICTED: float(np.sum(weights * cdf((-mean - bound) / scale))),
    }


CASES = [(0.0, 3.0, 5), (4.5, 1.0, 5), (0.0, 0.0, 5), (-3.2, 2.0, 3), (2.0, 6.0, 10), (1.0, 10.0, 4), (3.0, 4.0, 3)]


def test_the_chances_of_the_four_outcomes_add_up_to_one() -> None:
    for t_statistic, margin_se, reps in [*CASES, (0.0, 0.0, 3), (-6.0, 0.5, 5), (2.5, 30.0, 20), (80.0, 5.0, 5)]:
        chances = stability.outcome_chances(t_statistic, margin_se, reps)
        assert tuple(chances) == OUTCOMES
        assert sum(chances.values()) == pytest.approx(1.0, abs=1e-12)
        assert all(-1e-12 <= c <= 1 + 1e-12 for c in chances.values()), chances


def test_a_verdict_on_the_edge_of_its_interval_is_a_coin_flip() -> None:
    # At T = q the rerun's mean and spread are exchangeable with the observed ones: exactly one half.
    for reps in (3, 5, 10):
        assert stability.outcome_chances(q(reps), 0.0, reps)[SUPPORTED] == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("t_statistic, margin_se, reps", CASES)
def test_a_reversed_difference_mirrors_the_chances(t_statistic: float, margin_se: float, reps: int) -> None:
    chances = stability.outcome_chances(t_statistic, margin_se, reps)
    mirrored = stability.outcome_chances(-t_statistic, margin_se, reps)
    swapped = {**chances, SUPPORTED: chances[CONTRADICTED], CONTRADICTED: chances[SUPPORTED]}
    assert mirrored == pytest.approx(swapped, abs=1e-12)


@pytest.mark.parametrize("t_statistic, reps", [(0.0, 3), (1.7, 5), (-6.0, 5), (2.5, 10), (4.5, 3), (3.0, 20)])
def test_without_a_margin_the_chances_are_the_three_outcome_ones(t_statistic: float, reps: int) -> None:
    """δ = 0 (and δ → 0) never gives "equivalent" and gives the noncentral-t chances of the three-outcome rule."""
    supported, contradicted, inconclusive = three_outcome_chances(t_statistic, reps)
    for margin_se in (0.0, 1e-7):
        chances = stability.outcome_chances(t_statistic, margin_se, reps)
        assert chances[EQUIVALENT] == pytest.approx(0.0, abs=1e-6)
        three = (chances[SUPPORTED], chances[CONTRADICTED], chances[INCONCLUSIVE])
        assert three == pytest.approx((supported, contradicted, inconclusive), abs=2e-4)


@pytest.mark.parametrize("t_statistic, margin_se, reps", CASES)
def test_the_one_dimensional_reduction_matches_the_two_chi_square_quadrature(
    t_statistic: float, margin_se: float, reps: int
) -> None:
    """σ integrated out exactly (Student-t) agrees with the expectation over both χ² variables taken directly."""
    chances = stability.outcome_chances(t_statistic, margin_se, reps)
    direct = two_chi_square_chances(t_statistic, margin_se, reps)
    assert {k: chances[k] for k in direct} == pytest.approx(direct, abs=2e-4)


def test_the_quadrature_has_converged(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [(t, d, r) for t in (-5.0, 0.0, 2.0, 40.0) for d in (0.0, 1.0, 8.0, 100.0) for r in (3, 5, 10, 50)]
    chosen = [stability.outcome_chances(*case) for case in cases]
    monkeypatch.setattr(stability, "QUADRATURE_NODES", 4 * stability.QUADRATURE_NODES)
    stability._legendre.cache_clear()
    try:
        finer = [stability.outcome_chances(*case) for case in cases]
    finally:
        stability._legendre.cache_clear()
    worst = max(abs(a[k] - b[k]) for a, b in zip(chosen, finer) for k in OUTCOMES)
    assert worst < 1e-7


@pytest.mark.parametrize("t_statistic, margin_se, reps", CASES)
def test_the_quadrature_matches_a_simulation_of_the_model(t_statistic: float, margin_se: float, reps: int) -> None:
    """Draw (σ, μ) from the posterior of normal differences with mean T·s/√r and SD s, then r new
    differences, and decide them by the four-valued rule: the rate of each outcome matches the quadrature."""
    rng = np.random.default_rng(7)
    draws, s = 200_000, 1.0
    mean, margin = t_statistic * s / np.sqrt(reps), margin_se * s / np.sqrt(reps)
    sigma = s * np.sqrt((reps - 1) / rng.chisquare(reps - 1, draws))
    mu = mean + sigma / np.sqrt(reps) * rng.standard_normal(draws)
    rerun = mu[:, None] + sigma[:, None] * rng.standard_normal((draws, reps))
    half = q(reps) * rerun.std(axis=1, ddof=1) / np.sqrt(reps)
    decided = v.outcomes(rerun.mean(axis=1) - half, rerun.mean(axis=1) + half, margin)
    simulated = {outcome: float((decided == outcome).mean()) for outcome in OUTCOMES}
    assert stability.outcome_chances(t_statistic, margin_se, reps) == pytest.approx(simulated, abs=0.006)


def test_clear_and_borderline_verdicts() -> None:
    clear = v.decide(pd.Series([0.20, 0.21, 0.19, 0.205, 0.195]), DELTA)
    assert clear["verdict"] == v.SUPPORTED and clear["same_on_rerun"] > 0.999
    edge = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])  # shifted so that its interval's low end sits at 0
    edge = edge + q(5) * edge.std(ddof=1) / np.sqrt(5) + 1e-9
    borderline = v.decide(pd.Series(edge), 0.0)
    assert borderline["verdict"] == v.SUPPORTED and borderline["same_on_rerun"] == pytest.approx(0.5, abs=1e-6)
    zero = v.decide(pd.Series([0.01, -0.02, 0.015, -0.005, 0.0]), DELTA)
    assert zero["verdict"] == v.INCONCLUSIVE and 0.5 < zero["same_on_rerun"] < 0.95
    tight = v.decide(pd.Series([0.001, -0.002, 0.0015, -0.0005, 0.0]), DELTA)
    assert tight["verdict"] == v.EQUIVALENT and tight["same_on_rerun"] > 0.95


def test_no_chance_where_the_numbers_do_not_decide() -> None:
    assert np.isnan(v.decide(pd.Series([0.30, 0.31]), DELTA)["same_on_rerun"])  # fewer than MIN_REPS replicates
    assert np.isnan(v.decide(pd.Series([0.0, 0.0, 0.0]), DELTA)["same_on_rerun"])  # no spread
    assert np.isnan(list(stability.rerun_chances(np.array([0.1]), DELTA).values())).all()
    assert np.isnan(list(stability.outcome_chances(1.0, -1.0, 5).values())).all()
