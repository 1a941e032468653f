"""Tables 3, 10, 11, 12: the paper's binomial GLM of accuracy on the noise levels beside our three fits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mic.evidence import glm as stats
from mic.evidence.selection import final_iterations, overall_grid, rows_where, split_rows
from mic.layout import ALL
from mic.report.compare import by_noise, side_by_side
from mic.report.paper import paper_glm


@dataclass
class GlmComparison:
    """The paper's GLM, our paper-style fit, our count fit and our quasi-binomial replicate fit for one subset."""

    dataset: str
    subset: str
    table: str | None
    grid: pd.DataFrame
    counts: pd.DataFrame
    grid_fit: object
    count_fit: object
    replicate_fit: object = None
    paper_header: dict = field(default_factory=dict)
    paper_coefficients: pd.DataFrame = field(default_factory=pd.DataFrame)

    def coefficients(self) -> pd.DataFrame:
        """Paper-style coefficient block, paper beside ours (term x statistic x paper|ours|difference)."""
        return side_by_side(
            self.paper_coefficients.reindex(columns=stats.COEFFICIENT_COLUMNS), stats.coefficient_table(self.grid_fit)
        )

    def count_coefficients(self) -> pd.DataFrame:
        """Count fit's coefficient block with odds ratios."""
        table = stats.coefficient_table(self.count_fit)
        table["odds ratio"] = np.exp(table["coef"])
        return table

    def replicate_coefficients(self) -> pd.DataFrame:
        """Quasi-binomial fit's coefficient block with odds ratios (standard errors include replicate variance)."""
        table = stats.coefficient_table(self.replicate_fit)
        table["odds ratio"] = np.exp(table["coef"])
        return table

    def fit_statistics(self) -> pd.DataFrame:
        """Summary-header numbers: paper, ours (paper-style), difference, ours (counts), ours (quasi-binomial)."""
        paper = pd.Series({k: self.paper_header.get(k, np.nan) for k in stats.FIT_STATISTICS}, dtype=float)
        ours = stats.fit_statistics(self.grid_fit)
        return pd.DataFrame(
            {
                "paper": paper,
                "ours (paper's fit)": ours,
                "difference": ours - paper,
                "ours (counts as trials)": stats.fit_statistics(self.count_fit),
                "ours (quasi-binomial, replicates)": stats.fit_statistics(self.replicate_fit),
            }
        )

    def change_sentence(self) -> str:
        """Sentences, from the numbers, on what counting test samples as trials and replicate variance change."""
        grid = stats.coefficient_table(self.grid_fit).drop(index=stats.INTERCEPT)
        count = stats.coefficient_table(self.count_fit).drop(index=stats.INTERCEPT)
        trials = int(self.counts["n"].median()) if len(self.counts) else 0
        phi = stats.dispersion(self.replicate_fit)
        quasi = (
            f" With the replicates' own scatter (quasi-binomial, dispersion φ = {phi:.2f}), every standard error is "
            f"multiplied by √φ = {np.sqrt(phi):.2f}."
            if np.isfinite(phi)
            else " The quasi-binomial dispersion is undefined (no residual degrees of freedom)."
        )
        if grid.empty:
            return (
                f"With a single noise configuration there is no noise effect to estimate; counting the {trials} "
                "test samples as trials only narrows the intercept's interval." + quasi
            )
        shift = float((count["coef"] - grid["coef"]).abs().max())
        se_grid, se_count = float(grid["std err"].median()), float(count["std err"].median())
        significant = count.index[count["P>|z|"] < 0.05].tolist()
        named = ", ".join(f"{t} ({count.loc[t, 'coef']:+.2f}, p={count.loc[t, 'P>|z|']:.2g})" for t in significant)
        fit = stats.fit_statistics(self.count_fit)
        effects = (
            f"{len(significant)} of {len(count)} noise effects become significant at the 5 % level ({named})"
            if significant
            else f"none of the {len(count)} noise effects is significant at the 5 % level"
        )
        quasi_table = stats.coefficient_table(self.replicate_fit).drop(index=stats.INTERCEPT)
        remaining = quasi_table.index[quasi_table["P>|z|"] < 0.05].tolist()
        kept = f"{len(remaining)} of {len(quasi_table)} stay significant" if np.isfinite(phi) else ""
        return (
            f"Counting the {trials} test samples per grid point as binomial trials leaves the coefficients where they "
            f"were (largest change {shift:.2g}) but shrinks the median standard error from {se_grid:.2f} to "
            f"{se_count:.3f}, so {effects}, and the deviance ({fit['Deviance']:.2f} on {fit['Df Residuals']:.0f} df) "
            "becomes a test of fit instead of a number near 0." + quasi + (f" Then {kept}." if kept else "")
        )


def glm_comparison(
    mic: pd.DataFrame, paper: Mapping, dataset: str, subset: str, names: Mapping[str, str | None]
) -> GlmComparison:
    """Fit the three GLMs on our accuracies after K iterations and pair them with the paper's Tables 3, 10, 11, 12."""
    k = final_iterations(mic, dataset)
    grid = overall_grid(mic, dataset, subset, k)[["noise_in", "noise_out", "accuracy", "correct", "n"]]
    grid = by_noise(grid, noise=("noise_out", "noise_in")).reset_index(drop=True)
    counts = rows_where(split_rows(mic), dataset=dataset, subset=subset, iterations=k, **{"class": ALL})
    counts = counts[["rep", "noise_in", "noise_out", "correct", "n"]].reset_index(drop=True)
    table, header, coefficients = paper_glm(paper, names.get(dataset), subset)
    return GlmComparison(
        dataset,
        subset,
        table,
        grid,
        counts,
        stats.fit_grid_glm(grid),
        stats.fit_count_glm(counts),
        stats.fit_replicate_glm(counts),
        header,
        coefficients,
    )
