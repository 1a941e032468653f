"""Binomial GLMs of accuracy on dummy-coded noise levels (paper 3.5.2, Tables 3, 10, 11, 12).

Three fits of the same model, logit(accuracy) ~ input-noise level + output-noise level:
- `fit_grid_glm`, the paper's: each grid point's accuracy is one observation with one trial, so
  the deviance is near 0 and the standard errors say nothing about the test set's size;
- `fit_count_glm`: correct answers out of n test samples per grid point (per replicate), i.e. the same
  likelihood as one Bernoulli outcome per test sample. Its standard errors cover test sampling only;
- `fit_replicate_glm`, the one the verdicts can lean on: the counts fit, quasi-binomial, with the
  dispersion estimated from the Pearson chi2, so the run-to-run (training) variance between replicates
  widens the standard errors.
All return statsmodels GLM results; terms are named like the paper's (in_01, out_025, out_00001).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm

from mic.layout import noise_label

INTERCEPT = "Intercept"
COEFFICIENT_COLUMNS = ["coef", "std err", "z", "P>|z|", "[0.025", "0.975]"]
FIT_STATISTICS = [
    "No. Observations",
    "Df Residuals",
    "Df Model",
    "Scale",
    "Log-Likelihood",
    "Deviance",
    "Pearson chi2",
]


def term_name(factor: str, level: float | str) -> str:
    """The paper's dummy name of a noise level: ('in', 0.1) -> in_01, ('out', 0.0001) -> out_00001."""
    return f"{factor}_{noise_label(level).replace('.', '')}"


def _levels(values: pd.Series) -> list[str]:
    """Distinct noise labels, numerically sorted; the first (0 where present) is the reference."""
    return sorted({noise_label(v) for v in values}, key=float)


def noise_design(noise_in: Sequence, noise_out: Sequence) -> pd.DataFrame:
    """Intercept plus 0/1 dummies per non-reference input and output noise level (reference: lowest, i.e. 0)."""
    noise_in = pd.Series([noise_label(v) for v in noise_in])
    noise_out = pd.Series([noise_label(v) for v in noise_out])
    columns = {INTERCEPT: np.ones(len(noise_in))}
    for factor, values in (("in", noise_in), ("out", noise_out)):
        for level in _levels(values)[1:]:
            columns[term_name(factor, level)] = (values == level).to_numpy(dtype=float)
    return pd.DataFrame(columns)


def _fit(endog: pd.Series | pd.DataFrame, exog: pd.DataFrame, scale: str | float | None = None):
    """Fit a binomial/logit GLM by IRLS (`scale` as statsmodels' fit); warnings that matter go to `.fit_warnings`.

    A saturated fit (as many terms as grid points) reproduces every proportion exactly: statsmodels
    then divides by zero residual degrees of freedom and reports "perfect prediction", which is
    harmless unless a fitted probability is 0 or 1 (true separation). Those artefacts are dropped.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sm.GLM(endog, exog, family=sm.families.Binomial()).fit(scale=scale)
    inside = bool(np.all((result.mu > 1e-6) & (result.mu < 1 - 1e-6)))
    kept = []
    for w in caught:
        if result.df_resid == 0 and issubclass(w.category, RuntimeWarning):
            continue
        if w.category.__name__ == "PerfectSeparationWarning" and inside:
            continue
        kept.append(f"{w.category.__name__}: {w.message}")
    result.fit_warnings = list(dict.fromkeys(kept))
    return result


def fit_grid_glm(grid: pd.DataFrame, response: str = "accuracy"):
    """The paper's fit: one observation per grid point, its accuracy as a proportion of one trial.

    `grid` has columns noise_in, noise_out and `response` (one row per grid point).
    """
    exog = noise_design(grid["noise_in"], grid["noise_out"])
    endog = pd.Series(grid[response].to_numpy(dtype=float), name="Accuracy")
    return _fit(endog, exog)


def _counts(counts: pd.DataFrame, correct: str, trials: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    exog = noise_design(counts["noise_in"], counts["noise_out"])
    successes = counts[correct].to_numpy(dtype=float)
    failures = counts[trials].to_numpy(dtype=float) - successes
    return pd.DataFrame({"correct": successes, "wrong": failures}), exog


def fit_count_glm(counts: pd.DataFrame, correct: str = "correct", trials: str = "n"):
    """Counts as trials: `correct` successes out of `trials` test samples per row (test sampling only).

    `counts` has columns noise_in, noise_out, correct, n (one row per grid point and replicate). The
    coefficients and standard errors equal those of a logistic regression on per-sample outcomes.
    """
    return _fit(*_counts(counts, correct, trials))


def fit_replicate_glm(counts: pd.DataFrame, correct: str = "correct", trials: str = "n"):
    """Quasi-binomial counts fit: fit_count_glm's coefficients, standard errors × √φ, φ = Pearson chi2 / df_resid.

    One row per (grid point, replicate). Replicates retrain every generator, so their accuracies at one grid
    point scatter more than test sampling alone allows (extra-binomial variance); φ measures that excess and
    widens every standard error with it (z statistics shrink by √φ, p-values still from the normal).
    Chosen over standard errors clustered by replicate because the paper's setup has only 3 replicates: a
    cluster-robust covariance from 3 clusters is itself too noisy and biased low, while φ is estimated from
    every row's residual (df = rows − terms, 22 for a 3 × 3 grid with 3 replicates). φ also absorbs lack of
    fit of the additive model, which only makes the standard errors more cautious. φ < 1 (less scatter than
    binomial) is kept as estimated; with no residual degrees of freedom φ is NaN.
    """
    endog, exog = _counts(counts, correct, trials)
    # statsmodels' own scale="X2" divides by the trials once more for a (successes, failures) response, so
    # φ is taken from the binomial fit's Pearson chi2 and passed as a fixed scale.
    plain = _fit(endog, exog)
    if plain.df_resid <= 0:
        plain.fit_warnings.append("no residual degrees of freedom: φ is not estimable, binomial standard errors kept")
        plain.dispersion = float("nan")
        return plain
    result = _fit(endog, exog, scale=plain.pearson_chi2 / plain.df_resid)
    result.dispersion = float(result.scale)
    return result


def dispersion(result) -> float:
    """φ of a fit: 1 for the binomial fits, Pearson chi2 / df_resid for the quasi fit (NaN where not estimable)."""
    return float(getattr(result, "dispersion", result.scale))


def coefficient_table(result) -> pd.DataFrame:
    """Coefficient block of a statsmodels summary: coef, std err, z, P>|z|, [0.025, 0.975] per term."""
    ci = np.asarray(result.conf_int(alpha=0.05))
    table = pd.DataFrame(
        {
            "coef": np.asarray(result.params),
            "std err": np.asarray(result.bse),
            "z": np.asarray(result.tvalues),
            "P>|z|": np.asarray(result.pvalues),
            "[0.025": ci[:, 0],
            "0.975]": ci[:, 1],
        },
        index=pd.Index(result.model.exog_names, name="term"),
    )
    return table


def fit_statistics(result) -> pd.Series:
    """Header numbers of a statsmodels GLM summary (observations, df, scale, log-likelihood, deviance, Pearson chi2)."""
    return pd.Series(
        {
            "No. Observations": float(result.nobs),
            "Df Residuals": float(result.df_resid),
            "Df Model": float(result.df_model),
            "Scale": float(result.scale),
            "Log-Likelihood": float(result.llf),
            "Deviance": float(result.deviance),
            "Pearson chi2": float(result.pearson_chi2),
        }
    )


def odds_ratios(result) -> pd.DataFrame:
    """exp(coef) with its 95 % interval, per term: the multiplicative change in the odds of a correct answer."""
    table = coefficient_table(result)
    return pd.DataFrame(
        {
            "odds ratio": np.exp(table["coef"]),
            "[0.025": np.exp(table["[0.025"]),
            "0.975]": np.exp(table["0.975]"]),
            "P>|z|": table["P>|z|"],
        }
    )


def summary_text(result, title: str | None = None) -> str:
    """statsmodels' text summary (the paper prints this), computed with numerical warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(result.summary(title=title))
