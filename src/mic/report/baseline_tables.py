"""Table 5 (the forward LSTM) and the nearest-prototype baseline, each beside MIC."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mic.evidence import verdicts as claims
from mic.evidence.selection import (
    baseline_interval,
    choices,
    choose_models,
    mic_interval,
    mic_means,
    nearest_interval,
)
from mic.layout import ALL
from mic.report.compare import gap_interval, interval_frames, mean_and_half_width, side_by_side
from mic.report.paper import display_name, in_paper_order, paper_frame, paper_runs


def forward_table(baselines: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Table 5: forward LSTM accuracy trained on the clustered, random and full training sets."""
    printed = paper_frame(paper, "table5").set_index("dataset")
    columns = ["clustered", "random", "full"]
    paper_rows, cells = {}, {}
    for dataset in in_paper_order(names, printed.index):
        label = display_name(dataset, names)
        key = names[dataset]
        paper_rows[label] = printed.loc[key, columns] if key in printed.index else pd.Series(dtype=float)
        cells[label] = {c: baseline_interval(baselines, dataset, c) for c in columns}
    ours_df, spread = interval_frames(cells, columns)
    return side_by_side(pd.DataFrame(paper_rows).T.reindex(index=list(cells), columns=columns), ours_df, spread=spread)


def nearest_prototype_table(
    mic: pd.DataFrame,
    baselines: pd.DataFrame,
    nearest: pd.DataFrame,
    names: Mapping[str, str | None],
    paper: Mapping | None = None,
) -> pd.DataFrame:
    """1-NN on the same 4 prototypes per class beside MIC (base, best) and the forward model: mean and ± 95 %.

    The last column pair is the replicate-paired difference MIC best − the better 1-NN metric with its
    interval (mic.evidence.verdicts.mic_vs_nearest). Rows in the paper's data set order when `paper` is given.
    """
    metrics = sorted(nearest["metric"].unique()) if len(nearest) else []
    chosen = choices(mic)
    runs = paper_runs(paper, names, list(chosen)) if paper is not None else list(chosen)
    cells = {}
    for dataset, subset in runs:
        choice = chosen[(dataset, subset)]
        row = {f"1-NN {m}": nearest_interval(nearest, dataset, subset, m) for m in metrics}
        row["MIC base"] = mic_interval(mic, dataset, subset, choice.base, choice.iterations)
        row["MIC best"] = mic_interval(mic, dataset, subset, choice.best, choice.iterations)
        row["forward"] = baseline_interval(baselines, dataset, subset)
        gap = claims.mic_vs_nearest(mic, nearest, choice, display_name(dataset, names))
        row["MIC best − best 1-NN"] = gap_interval(gap)
        cells[(display_name(dataset, names), subset)] = row
    columns = [*(f"1-NN {m}" for m in metrics), "MIC base", "MIC best", "forward", "MIC best − best 1-NN"]
    return mean_and_half_width(cells, columns, ["dataset", "subset"])


def per_class_nearest(mic: pd.DataFrame, nearest: pd.DataFrame, dataset: str, subset: str) -> pd.DataFrame:
    """Per-class accuracy: 1-NN per metric beside the best MIC model (classes as rows)."""
    choice = choose_models(mic, dataset, subset)
    rows = nearest[(nearest["dataset"] == dataset) & (nearest["subset"] == subset)]
    table = rows.pivot_table(index="class", columns="metric", values="accuracy", sort=False)
    table.columns = [f"1-NN {c}" for c in table.columns]
    means = mic_means(mic)
    mine = means[
        (means["dataset"] == dataset)
        & (means["subset"] == subset)
        & (means["noise_in"] == choice.best[0])
        & (means["noise_out"] == choice.best[1])
        & (means["iterations"] == choice.iterations)
    ].set_index("class")["accuracy"]
    table["MIC best"] = mine
    order = [ALL] + [c for c in table.index if c != ALL]
    return table.reindex(order)
