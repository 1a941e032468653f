"""The paper's accuracy tables beside ours: Table 1 (base), Tables 2, 7, 8, 9 (noise grid), Table 6 (summary),
and the two uncertainties of every base and best accuracy."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mic.evidence.intervals import replicate_intervals, t_interval, wilson_interval
from mic.evidence.selection import (
    CONFIG_KEYS,
    baseline_interval,
    choices,
    choose_models,
    final_iterations,
    mic_interval,
    mic_reps,
    rows_where,
    split_rows,
)
from mic.layout import ALL
from mic.report.compare import by_noise, choices_in_paper_order, interval_frames, side_by_side
from mic.report.paper import display_name, in_paper_order, paper_frame, paper_grid

NOISE_INDEX = ["noise in", "noise out"]
SUMMARY_ROWS = [  # Table 6: (printed row, training set, model)
    ("clustered (MIC base)", "clustered", "base"),
    ("clustered (MIC best)", "clustered", "best"),
    ("clustered (forward)", "clustered", "forward"),
    ("random (MIC base)", "random", "base"),
    ("random (MIC best)", "random", "best"),
    ("random (forward)", "random", "forward"),
    ("full dataset", "full", "forward"),
]


def table1(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Table 1: base accuracy (no noise, K iterations), random and clustered, per data set in the paper's order."""
    printed = paper_frame(paper, "table1").set_index("dataset")
    columns = ["random", "clustered"]
    paper_rows, cells = {}, {}
    for dataset in in_paper_order(names, printed.index):
        label = display_name(dataset, names)
        key = names[dataset]
        paper_rows[label] = printed.loc[key] if key in printed.index else pd.Series(dtype=float)
        cells[label] = {}
        for subset in columns:
            choice = choose_models(mic, dataset, subset)
            if choice:
                cells[label][subset] = mic_interval(mic, dataset, subset, choice.base, choice.iterations)
    paper_df = pd.DataFrame(paper_rows).T.reindex(index=list(cells), columns=columns)
    ours_df, spread = interval_frames(cells, columns)
    paper_df.index.name = ours_df.index.name = spread.index.name = "dataset"
    return side_by_side(paper_df, ours_df, spread=spread)


def config_intervals(mic: pd.DataFrame, column: str) -> pd.DataFrame:
    """t-interval over replicates of `column` per configuration, iteration count and class (test rows)."""
    return replicate_intervals(split_rows(mic), CONFIG_KEYS + ["iterations", "class"], column)


def _paper_grid_wide(printed: pd.DataFrame) -> pd.DataFrame:
    """The paper's tidy noise-grid table as rows (noise in, noise out) x columns (overall, classes), as printed."""
    if not len(printed):
        return pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=NOISE_INDEX))
    wide = printed.pivot_table(
        index=["noise_in", "noise_out"], columns="column", values="accuracy", sort=False, dropna=False
    )
    wide = wide.reindex(columns=list(printed["column"].drop_duplicates()))
    row_order = printed.drop_duplicates("row")[["noise_in", "noise_out"]].apply(tuple, axis=1).tolist()
    return wide.reindex(pd.MultiIndex.from_tuples(row_order))


def noise_grid_table(
    mic: pd.DataFrame, paper: Mapping, dataset: str, subset: str, names: Mapping[str, str | None]
) -> tuple[str | None, pd.DataFrame]:
    """Tables 2, 7, 8, 9: overall and per-class accuracy after K iterations over the noise grid.

    Rows (noise in, noise out, paper|ours|± 95 %|difference) in the paper's row order; columns overall + classes.
    """
    table, printed = paper_grid(paper, names.get(dataset), subset)
    paper_wide = _paper_grid_wide(printed)
    k = final_iterations(mic, dataset)
    intervals = config_intervals(mic, "accuracy")
    rows = by_noise(
        intervals[(intervals["dataset"] == dataset) & (intervals["subset"] == subset) & (intervals["iterations"] == k)]
    )
    wide = {}
    for part in ("mean", "half_width"):
        frame = rows.pivot_table(
            index=["noise_in", "noise_out"], columns="class", values=part, sort=False, dropna=False
        ).rename(columns={ALL: "overall"})
        frame = frame.reindex(columns=["overall"] + [c for c in frame.columns if c != "overall"])
        frame.index.names = NOISE_INDEX
        frame.columns.name = None
        wide[part] = frame
    paper_wide.index.names = NOISE_INDEX
    paper_wide.columns.name = None
    return table, side_by_side(paper_wide, wide["mean"], axis="rows", spread=wide["half_width"])


def summary_table(
    mic: pd.DataFrame, baselines: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]
) -> pd.DataFrame:
    """Table 6: MIC base and best, and the forward model, per subset and data set; forward on all data."""
    printed = paper_frame(paper, "table6").set_index("row")
    chosen = choices(mic)
    paper_cols, cells = {}, {}
    for dataset in in_paper_order(names, printed.columns):
        label = display_name(dataset, names)
        key = names[dataset]
        paper_cols[label] = printed[key] if key in printed.columns else pd.Series(np.nan, index=printed.index)
        for row, subset, what in SUMMARY_ROWS:
            if what == "forward":
                cells.setdefault(row, {})[label] = baseline_interval(baselines, dataset, subset)
            elif (choice := chosen.get((dataset, subset))) is not None:
                interval = mic_interval(mic, dataset, subset, getattr(choice, what), choice.iterations)
                cells.setdefault(row, {})[label] = interval
    rows = [r for r, _, _ in SUMMARY_ROWS]
    ours_df, spread = interval_frames(cells, list(paper_cols))
    return side_by_side(pd.DataFrame(paper_cols).reindex(rows), ours_df.reindex(rows), spread=spread.reindex(rows))


def uncertainty_table(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """The two uncertainties of each base and best accuracy: over replicates (t) and over test samples (Wilson).

    t low/high: 95 % t-interval of the mean over replicates (training variance). Wilson low/high: 95 % Wilson
    interval of the counts pooled over replicates (test sampling only); Wilson ± per rep: the median half-width
    of each replicate's own Wilson interval, to set beside the replicates' spread.
    """
    records = []
    for choice in choices_in_paper_order(mic, paper, names):
        for model in ("base", "best"):
            noise = getattr(choice, model)
            rows = rows_where(
                split_rows(mic),
                dataset=choice.dataset,
                subset=choice.subset,
                noise_in=noise[0],
                noise_out=noise[1],
                iterations=choice.iterations,
                **{"class": ALL},
            )
            interval = t_interval(mic_reps(mic, choice.dataset, choice.subset, noise, choice.iterations))
            pooled = wilson_interval(rows["correct"].sum(), rows["n"].sum())
            per_rep = [np.diff(wilson_interval(c, n))[0] / 2 for c, n in zip(rows["correct"], rows["n"])]
            records.append(
                {
                    "dataset": display_name(choice.dataset, names),
                    "subset": choice.subset,
                    "model": f"{model} (in {noise[0]} / out {noise[1]})",
                    "reps": interval.reps,
                    "test samples per rep": int(rows["n"].median()) if len(rows) else 0,
                    "accuracy": interval.mean,
                    "t low": interval.low,
                    "t high": interval.high,
                    "Wilson low (pooled)": pooled[0],
                    "Wilson high (pooled)": pooled[1],
                    "Wilson ± per rep": float(np.median(per_rep)) if per_rep else float("nan"),
                }
            )
    return pd.DataFrame(records).set_index(["dataset", "subset", "model"])
