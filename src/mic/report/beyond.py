"""Beyond the paper: the best inversion variant (mic.model.extended) beside the paper's MIC, 1-NN and forward."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mic.evidence import verdicts as claims
from mic.evidence.intervals import t_interval
from mic.evidence.selection import (
    baseline_interval,
    best_variant,
    choices,
    extended_reps,
    mic_interval,
    nearest_interval,
)
from mic.report.compare import gap_interval, mean_and_half_width
from mic.report.paper import display_name, paper_runs


def beyond_the_paper_table(
    mic: pd.DataFrame,
    extended: pd.DataFrame,
    baselines: pd.DataFrame,
    nearest: pd.DataFrame,
    names: Mapping[str, str | None],
    paper: Mapping | None = None,
) -> pd.DataFrame:
    """The paper's MIC (best model), the best inversion variant, 1-NN and the forward model: mean and ± 95 %.

    The variant is chosen per data set and subset by its mean validation accuracy on the best model's
    generators (mic.evidence.selection.best_variant); its column names it. The last column pair is the
    replicate-paired difference extended MIC − the better 1-NN metric (mic.evidence.verdicts.extended_vs_nearest).
    """
    metrics = sorted(nearest["metric"].unique()) if len(nearest) else []
    chosen = choices(mic)
    runs = paper_runs(paper, names, list(chosen)) if paper is not None else list(chosen)
    cells, variants = {}, []
    for dataset, subset in runs:
        choice = chosen[(dataset, subset)]
        variant = best_variant(extended, dataset, subset) if len(extended) else None
        variants.append(variant or "–")
        row = {"MIC (paper's procedure)": mic_interval(mic, dataset, subset, choice.best, choice.iterations)}
        row["extended MIC"] = (
            t_interval(extended_reps(extended, dataset, subset, variant)) if variant else t_interval([])
        )
        row.update({f"1-NN {m}": nearest_interval(nearest, dataset, subset, m) for m in metrics})
        row["forward"] = baseline_interval(baselines, dataset, subset)
        gap = claims.extended_vs_nearest(extended, nearest, choice, display_name(dataset, names))
        row["extended − best 1-NN"] = gap_interval(gap)
        cells[(display_name(dataset, names), subset)] = row
    columns = ["MIC (paper's procedure)", "extended MIC", *(f"1-NN {m}" for m in metrics), "forward"]
    columns.append("extended − best 1-NN")
    frame = mean_and_half_width(cells, columns, ["dataset", "subset"])
    frame.insert(0, ("variant", "chosen on validation"), variants)
    return frame
