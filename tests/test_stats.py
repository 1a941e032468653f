"""The GLMs of mic.stats against cases with known answers, including the paper's own Tables 3, 10, 11, 12."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml

from conftest import REPO
from mic.evidence import glm as stats

PAPER = yaml.safe_load((REPO / "config/paper_results.yaml").read_text())


def logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_noise_design_is_dummy_coded_against_zero_noise() -> None:
    design = stats.noise_design([0.1, 0, 0.2, 0], ["0.25", "0", "0", "0.0001"])
    assert list(design.columns) == ["Intercept", "in_01", "in_02", "out_00001", "out_025"]
    assert design.to_numpy().tolist() == [[1, 1, 0, 0, 1], [1, 0, 0, 0, 0], [1, 0, 1, 0, 0], [1, 0, 0, 1, 0]]


def test_a_factor_with_one_level_gets_no_dummy() -> None:
    assert list(stats.noise_design([0, 0.1], [0, 0]).columns) == ["Intercept", "in_01"]
    assert stats.term_name("out", 0.0002) == "out_00002" and stats.term_name("in", "0.1") == "in_01"


def test_count_glm_coefficient_is_the_log_odds_ratio() -> None:
    """Two noise levels: intercept = logit(p0), coefficient = log odds ratio, SE = sqrt(1/a + 1/b + 1/c + 1/d)."""
    a, b, c, d = 70, 30, 85, 15  # correct/wrong without noise, correct/wrong with input noise 0.1
    counts = pd.DataFrame({"noise_in": ["0", "0.1"], "noise_out": ["0", "0"], "correct": [a, c], "n": [a + b, c + d]})
    result = stats.fit_count_glm(counts)
    table = stats.coefficient_table(result)
    assert table.loc["Intercept", "coef"] == pytest.approx(np.log(a / b), abs=1e-10)
    assert table.loc["in_01", "coef"] == pytest.approx(np.log((c / d) / (a / b)), abs=1e-10)
    assert table.loc["in_01", "std err"] == pytest.approx(np.sqrt(1 / a + 1 / b + 1 / c + 1 / d), rel=1e-8)
    assert stats.odds_ratios(result).loc["in_01", "odds ratio"] == pytest.approx((c / d) / (a / b))
    assert result.deviance == pytest.approx(0, abs=1e-9)  # saturated
    assert result.fit_warnings == []


def test_count_glm_equals_logistic_regression_on_per_sample_outcomes() -> None:
    rng = np.random.default_rng(3)
    grid = [(i, o) for i in ("0", "0.1", "0.2") for o in ("0", "0.0001")]
    n = 40
    samples = pd.DataFrame(
        [(i, o, int(rng.random() < 0.6 + 0.1 * float(i))) for i, o in grid for _ in range(n)],
        columns=["noise_in", "noise_out", "correct"],
    )
    counts = samples.groupby(["noise_in", "noise_out"], as_index=False)["correct"].sum().assign(n=n)
    by_counts = stats.fit_count_glm(counts)
    per_sample = sm.GLM(
        samples["correct"], stats.noise_design(samples["noise_in"], samples["noise_out"]), family=sm.families.Binomial()
    ).fit()
    np.testing.assert_allclose(by_counts.params, per_sample.params, rtol=1e-7)
    np.testing.assert_allclose(by_counts.bse, per_sample.bse, rtol=1e-6)


def test_grid_glm_recovers_an_exact_additive_logit_model() -> None:
    """Accuracies generated from known coefficients are fitted exactly (deviance 0)."""
    truth = {"Intercept": 1.2, "in_01": 0.3, "in_02": 0.5, "out_01": -0.2, "out_025": 0.1}
    rows = []
    for noise_in, a in (("0", 0.0), ("0.1", truth["in_01"]), ("0.2", truth["in_02"])):
        for noise_out, b in (("0", 0.0), ("0.1", truth["out_01"]), ("0.25", truth["out_025"])):
            eta = truth["Intercept"] + a + b
            rows.append((noise_in, noise_out, 1 / (1 + np.exp(-eta))))
    result = stats.fit_grid_glm(pd.DataFrame(rows, columns=["noise_in", "noise_out", "accuracy"]))
    assert dict(result.params.round(8)) == pytest.approx(truth)
    assert result.deviance == pytest.approx(0, abs=1e-10)
    assert stats.fit_statistics(result)["No. Observations"] == 9


def paper_grid(table: str, fixes: bool = True) -> pd.DataFrame:
    spec = PAPER["tables"][table]
    labels = {int(k): v for k, v in (spec.get("label_fixes") or {}).items()} if fixes else {}
    rows = [(*labels.get(i, row[:2]), row[2]) for i, row in enumerate(spec["rows"])]
    return pd.DataFrame(rows, columns=["noise_in", "noise_out", "accuracy"])


@pytest.mark.parametrize(
    ("glm", "grid"), [("table3", "table2"), ("table10", "table7"), ("table11", "table8"), ("table12", "table9")]
)
def test_the_paper_style_fit_reproduces_the_papers_glm_tables(glm: str, grid: str) -> None:
    """Refitting on the paper's own grid accuracies gives its printed GLMs: the paper's method, pinned down."""
    result = stats.fit_grid_glm(paper_grid(grid))
    spec = PAPER["tables"][glm]
    printed = pd.DataFrame(spec["rows"], columns=spec["columns"]).set_index("term").astype(float)
    ours = stats.coefficient_table(result).loc[printed.index]
    known = printed["coef"].notna()
    np.testing.assert_allclose(ours.loc[known, "coef"], printed.loc[known, "coef"], atol=6e-4)
    np.testing.assert_allclose(ours.loc[known, "std err"], printed.loc[known, "std err"], atol=6e-3)
    np.testing.assert_allclose(ours.loc[known, "P>|z|"], printed.loc[known, "P>|z|"], atol=6e-3)
    header = spec["header"]
    assert result.llf == pytest.approx(header["Log-Likelihood"], abs=6e-4)
    assert result.deviance == pytest.approx(header["Deviance"], rel=2e-3)
    assert result.pearson_chi2 == pytest.approx(header["Pearson chi2"], rel=6e-3)


def test_table8_label_fix_is_what_table11_was_fitted_on() -> None:
    """With Table 13's assignment of the two relabelled rows instead, Table 11 is not reproduced."""
    grid = paper_grid("table8")
    swapped = grid.copy()
    swapped.loc[[6, 7], "accuracy"] = swapped.loc[[7, 6], "accuracy"].to_numpy()
    assert stats.fit_grid_glm(grid).params["in_01"] == pytest.approx(0.5443, abs=6e-4)
    assert stats.fit_grid_glm(swapped).params["in_01"] != pytest.approx(0.5443, abs=0.01)


def test_separation_is_reported_not_raised() -> None:
    counts = pd.DataFrame({"noise_in": ["0", "0.1"], "noise_out": ["0", "0"], "correct": [10, 10], "n": [10, 10]})
    result = stats.fit_count_glm(counts)
    assert any("PerfectSeparation" in w for w in result.fit_warnings)
    assert len(result.fit_warnings) == len(set(result.fit_warnings))
    assert "Generalized Linear Model" in stats.summary_text(result)


def replicate_counts(extra_sd: float, reps: int = 5, n: int = 1000, seed: int = 7) -> pd.DataFrame:
    """Correct answers per (grid point, replicate); each replicate's accuracy is off by its own N(0, extra_sd)."""
    rng = np.random.default_rng(seed)
    rows = []
    for noise_in, p in (("0", 0.70), ("0.1", 0.75), ("0.2", 0.72)):
        for rep in range(reps):
            p_rep = float(np.clip(p + rng.normal(0, extra_sd), 0.01, 0.99))
            rows.append((rep, noise_in, "0", int(rng.binomial(n, p_rep)), n))
    return pd.DataFrame(rows, columns=["rep", "noise_in", "noise_out", "correct", "n"])


def test_replicate_glm_widens_standard_errors_by_the_replicates_extra_variance() -> None:
    """Replicates scattering more than binomial: same coefficients, standard errors × sqrt(Pearson chi2 / df)."""
    counts = replicate_counts(extra_sd=0.03)
    plain, quasi = stats.fit_count_glm(counts), stats.fit_replicate_glm(counts)
    phi = plain.pearson_chi2 / plain.df_resid
    assert stats.dispersion(quasi) == pytest.approx(phi) and stats.dispersion(plain) == 1.0
    assert phi > 2  # binomial sd of one accuracy is 0.014, the replicates add 0.03
    np.testing.assert_allclose(quasi.params, plain.params, rtol=1e-10)
    np.testing.assert_allclose(quasi.bse, plain.bse * np.sqrt(phi), rtol=1e-8)
    assert (quasi.bse > 1.4 * plain.bse).all()
    assert stats.fit_statistics(quasi)["Scale"] == pytest.approx(phi)


def test_replicate_glm_on_binomial_replicates_keeps_dispersion_near_one() -> None:
    """Without extra variance between replicates the quasi fit is the counts fit, up to chance in φ."""
    counts = replicate_counts(extra_sd=0.0)
    phi = stats.dispersion(stats.fit_replicate_glm(counts))
    assert 0.3 < phi < 2.5


def test_replicate_glm_without_residual_df_says_dispersion_is_not_estimable() -> None:
    counts = pd.DataFrame({"noise_in": ["0"], "noise_out": ["0"], "correct": [7], "n": [10]})
    result = stats.fit_replicate_glm(counts)
    assert np.isnan(stats.dispersion(result)) and "not estimable" in result.fit_warnings[-1]
    assert result.bse.iloc[0] == pytest.approx(stats.fit_count_glm(counts).bse.iloc[0])
