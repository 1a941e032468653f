"""Tables 4 and 13: accuracy and reconstruction MSE after 0 and K inverse-classification iterations."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mic.evidence.selection import final_iterations, mic_interval
from mic.layout import ALL
from mic.report.accuracy import config_intervals
from mic.report.compare import by_noise, choices_in_paper_order, interval_frames, side_by_side
from mic.report.paper import display_name, paper_frame, paper_iterations, paper_runs

ITERATION_COLUMNS = {"accuracy_0": "Accuracy (0)", "accuracy_K": "Accuracy (K)", "mse_0": "MSE (0)", "mse_K": "MSE (K)"}


def iterations_table(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Table 4: accuracy and MSE after 0 and K iterations, for the base and the best model, in the paper's order."""
    printed = paper_frame(paper, "table4")
    paper_rows, cells = {}, {}
    columns = ["accuracy", "accuracy best", "MSE", "MSE best"]
    for choice in choices_in_paper_order(mic, paper, names):
        dataset, subset = choice.dataset, choice.subset
        key = names.get(dataset)
        for paper_it, it in ((0, 0), (50, choice.iterations)):
            label = (
                f"{subset} {display_name(dataset, names)}",
                str(it) if it == paper_it else f"{paper_it} (ours {it})",
            )
            match = printed[
                (printed["dataset"] == key) & (printed["subset"] == subset) & (printed["iterations"] == paper_it)
            ]
            paper_rows[label] = match[columns].iloc[0] if len(match) else pd.Series(dtype=float)
            cells[label] = {
                "accuracy": mic_interval(mic, dataset, subset, choice.base, it),
                "accuracy best": mic_interval(mic, dataset, subset, choice.best, it),
                "MSE": mic_interval(mic, dataset, subset, choice.base, it, "mse"),
                "MSE best": mic_interval(mic, dataset, subset, choice.best, it, "mse"),
            }
    index = pd.MultiIndex.from_tuples(list(cells), names=["model", "iterations"])
    paper_df = pd.DataFrame([paper_rows[i].reindex(columns) for i in cells], index=index)
    ours_df, spread = interval_frames(cells, columns)
    ours_df.index = spread.index = index
    return side_by_side(paper_df, ours_df, spread=spread)


def iterations_grid_table(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Table 13: accuracy and MSE after 0 and K iterations for every noise configuration, in the paper's row order."""
    printed = paper_iterations(paper)
    intervals = {column: config_intervals(mic, column) for column in ("accuracy", "mse")}
    pairs = list(mic[["dataset", "subset"]].drop_duplicates().itertuples(index=False, name=None))
    paper_parts, mean_parts, half_parts = [], [], []
    for dataset, subset in paper_runs(paper, names, pairs):
        k = final_iterations(mic, dataset)
        label = f"{display_name(dataset, names)} {subset}"
        wide = {}
        for part in ("mean", "half_width"):
            columns = {}
            for column, its in (("accuracy", 0), ("accuracy", k), ("mse", 0), ("mse", k)):
                rows = intervals[column]
                rows = rows[
                    (rows["dataset"] == dataset)
                    & (rows["subset"] == subset)
                    & (rows["class"] == ALL)
                    & (rows["iterations"] == its)
                ]
                name = f"{column}_{'0' if its == 0 else 'K'}"
                columns[name] = rows.set_index(["noise_in", "noise_out"])[part]
            frame = pd.DataFrame(columns)
            frame.index.names = ["noise_in", "noise_out"]
            wide[part] = by_noise(frame.reset_index()).assign(dataset=label)
        match = printed[(printed["dataset"] == names.get(dataset)) & (printed["subset"] == subset)]
        paper_parts.append(match.assign(dataset=label).drop(columns="subset"))
        mean_parts.append(wide["mean"])
        half_parts.append(wide["half_width"])
    index = ["dataset", "noise_in", "noise_out"]

    def stacked(parts: list[pd.DataFrame]) -> pd.DataFrame:
        return pd.concat(parts).set_index(index).rename(columns=ITERATION_COLUMNS) if parts else pd.DataFrame()

    paper_df, ours_df, spread = stacked(paper_parts), stacked(mean_parts), stacked(half_parts)
    frame = side_by_side(paper_df, ours_df, spread=spread)
    # Within each block the paper's printed rows first, then any of ours the paper does not have.
    order = [
        key
        for label in dict.fromkeys(k[0] for k in frame.index)
        for key in [*paper_df.index, *ours_df.index.difference(paper_df.index, sort=False)]
        if key[0] == label
    ]
    return frame.reindex(list(dict.fromkeys(order)))
