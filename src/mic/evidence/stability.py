"""How likely a rerun with new seeds keeps a verdict: the posterior-predictive chance of each of the four outcomes.

A verdict (mic.evidence.verdicts.decide) comes from r per-replicate differences with mean m and SD s, their
95 % t-interval m ± h (h = q·s/√r, q = t(0.975, r-1)) and the claim's margin δ: inside (−δ, δ) equivalent,
else above 0 supported, below 0 contradicted, else inconclusive. A rerun of the same config with another
base seed draws r new differences from the same distribution. Model the differences as independent
N(μ, σ²) with the reference prior on (μ, σ): σ² = s²(r-1)/X, X ~ χ²(r-1), μ | σ ~ N(m, σ²/r). The rerun's
mean is m' | σ ~ N(m, 2σ²/r), its variance s'² = σ²Y/(r-1) with Y ~ χ²(r-1), and h' = q·s'/√r. Given σ and
h', each outcome is an interval of m':

    equivalent    |m'| < δ − h'
    supported     m' > max(h', δ − h')
    contradicted  m' < −max(h', δ − h')

Two exact steps reduce the double expectation over (X, Y) to one dimension. W = Y/X = s'²/s² does not
involve σ, and given W, X(1+W) ~ χ²(2(r-1)); so, σ integrated out, m' | W = m + s·√((1+W)/r)·t with t
Student-t on 2(r-1) degrees of freedom. With X/(X+Y) = sin²θ, θ ∈ (0, π/2) has density ∝ (sin θ cos θ)^(r-2),
and every bound above, divided by the scale s·√((1+W)/r) of m', is linear in (sin θ, cos θ):

    m' scale units: m -> T sin θ,  h' -> q cos θ,  δ -> D sin θ,  T = m√r/s,  D = δ√r/s.

Each chance is then ∫ (a difference of Student-t CDFs) over θ. The integrand is analytic except where h' = δ
(tan θ = q/D, equivalence becomes possible) and h' = δ/2 (tan θ = 2q/D, the bound max(h', δ − h') switches),
and steepest where a CDF's argument crosses 0; Gauss–Legendre on each piece between these points converges
geometrically. With QUADRATURE_NODES per piece the chances agree with four times as many nodes to 1e-8 (2 to
100 replicates, |T| up to 100, D up to 200), with the same expectation taken over both χ² variables directly
to 1e-4, and with a Monte-Carlo simulation of the model within its sampling error (0.0013 at 200 000 draws;
tests/test_stability.py). With δ = 0 there is one piece and the chances are those of the three-outcome rule
(the rerun's t statistic as noncentral t). A verdict whose chance is near 0.5 sits on the edge of its rule and
is as likely to change as to stay; the replicates, not the method, decide it.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special, stats

from mic.evidence.claims import CONTRADICTED, EQUIVALENT, INCONCLUSIVE, OUTCOMES, SUPPORTED
from mic.evidence.intervals import LEVEL

QUADRATURE_NODES = 48  # per piece
_NAN = dict.fromkeys(OUTCOMES, float("nan"))


@functools.cache
def _legendre() -> tuple[np.ndarray, np.ndarray]:
    return special.roots_legendre(QUADRATURE_NODES)


def _nodes(reps: int, q: float, t_statistic: float, margin_se: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes θ and weights (density of θ included, summing to 1) on the smooth pieces of (0, π/2)."""
    x, w = _legendre()
    # The pieces end where a bound switches (h' = δ, h' = δ/2) and where a CDF's argument crosses 0: there the
    # integrand is steepest, and a steep point at a piece's end costs Gauss–Legendre far less than inside it.
    cuts = (margin_se, margin_se / 2, abs(t_statistic), margin_se - t_statistic, margin_se + t_statistic)
    edges = sorted({0.0, math.pi / 2, *(math.atan2(q, c) for c in cuts if c > 0)})
    theta = np.concatenate([(a + b) / 2 + (b - a) / 2 * x for a, b in zip(edges[:-1], edges[1:])])
    weight = np.concatenate([(b - a) / 2 * w for a, b in zip(edges[:-1], edges[1:])])
    dof = reps - 1
    # density of θ: 2 (sin θ cos θ)^(dof-1) / B(dof/2, dof/2), in logs so that many replicates do not underflow
    log_density = (dof - 1) * np.log(np.sin(theta) * np.cos(theta)) + math.log(2) - special.betaln(dof / 2, dof / 2)
    return theta, weight * np.exp(log_density)


def outcome_chances(t_statistic: float, margin_se: float, reps: int, level: float = LEVEL) -> dict[str, float]:
    """Each outcome's chance on a rerun with `reps` replicates, {outcome: chance} in OUTCOMES order.

    `t_statistic` is the observed mean difference over its standard error (m√r/s), `margin_se` the margin in
    the same units (δ√r/s, 0 for the three-outcome rule); see the module docstring.
    """
    if reps < 2 or not np.isfinite(t_statistic) or not np.isfinite(margin_se) or margin_se < 0:
        return dict(_NAN)
    q = float(stats.t.ppf(0.5 + level / 2, reps - 1))
    theta, weight = _nodes(reps, q, t_statistic, margin_se)
    mean, half, margin = t_statistic * np.sin(theta), q * np.cos(theta), margin_se * np.sin(theta)
    cdf = functools.partial(stats.t.cdf, df=2 * (reps - 1))
    bound = np.maximum(half, margin - half)
    supported = float(weight @ cdf(mean - bound))  # P(m' > bound)
    contradicted = float(weight @ cdf(-mean - bound))  # P(m' < −bound)
    inside = np.maximum(margin - half, 0.0)  # the half-width of the equivalence window of m'
    equivalent = float(weight @ (cdf(inside - mean) - cdf(-inside - mean)))
    chances = {EQUIVALENT: equivalent, SUPPORTED: supported, CONTRADICTED: contradicted}
    # the weights sum to 1 up to the quadrature's error; the rest is inconclusive, so the four sum to 1 exactly
    chances[INCONCLUSIVE] = 1.0 - equivalent - supported - contradicted
    return {outcome: chances[outcome] for outcome in OUTCOMES}


def rerun_chances(differences: np.ndarray, margin: float, level: float = LEVEL) -> dict[str, float]:
    """outcome_chances of these per-replicate differences decided with this margin: {outcome: chance}.

    NaN where the differences cannot carry it: fewer than 2 finite values, or no spread at all (every
    replicate the same difference, e.g. a best setting that is the base setting in every replicate).
    """
    x = np.asarray(differences, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2 or x.std(ddof=1) == 0:
        return dict(_NAN)
    standard_error = x.std(ddof=1) / math.sqrt(len(x))
    return outcome_chances(x.mean() / standard_error, margin / standard_error, len(x), level)
