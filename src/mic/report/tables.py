"""The report's tables: the paper's printed numbers beside ours, built from the pipeline's tidy tables.

Everything here is pure pandas over the tables that `collect_results` writes to results/tables/ (and the
paper's numbers in config/paper_results.yaml), so notebooks/report.ipynb only calls and shows.
Conventions: "ours" is the mean over replicates, "± 95 %" its t-interval's half-width over replicates
(mic.evidence.intervals: training variance; NaN with one replicate); difference = ours - paper.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mic import layout
from mic.evidence import glm as stats
from mic.evidence import verdicts as claims
from mic.evidence.intervals import Interval, replicate_intervals, t_interval, wilson_interval
from mic.evidence.selection import (
    CONFIG_KEYS,
    Choice,
    _noise_order,
    baseline_interval,
    best_variant,
    choices,
    choose_models,
    extended_reps,
    final_iterations,
    mic_interval,
    mic_means,
    mic_reps,
    nearest_interval,
    overall_grid,
    rows_where,
    split_rows,
)
from mic.layout import ALL
from mic.report.paper import (
    display_name,
    in_paper_order,
    paper_frame,
    paper_glm,
    paper_grid,
    paper_iterations,
    paper_runs,
)

VALUES = ["paper", "ours", "difference"]
HALF_WIDTH = "± 95 %"  # half-width of the t-interval over replicates, beside "ours"
VALUES_WITH_INTERVAL = ["paper", "ours", HALF_WIDTH, "difference"]


def locate(path: str | os.PathLike) -> Path:
    """`path` as given, or below the nearest parent folder holding its first component.

    A notebook opened by hand runs in notebooks/; its default paths (results/..., config/...) then
    resolve against the repository root.
    """
    path = Path(path)
    if path.is_absolute() or not path.parts:
        return path
    for base in (Path.cwd(), *Path.cwd().parents):
        if (base / path.parts[0]).exists():
            return path if base == Path.cwd() else base / path
    return path


def side_by_side(
    paper: pd.DataFrame, ours: pd.DataFrame, axis: str = "columns", spread: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Interleave paper, ours (± `spread`, the half-width of its interval) and ours - paper per column or row.

    All frames are aligned on the union of paper's and ours' rows and columns, paper's order first.
    """
    index = paper.index.append(ours.index.difference(paper.index, sort=False))
    columns = paper.columns.append(ours.columns.difference(paper.columns, sort=False))
    paper = paper.reindex(index=index, columns=columns).astype(float)
    ours = ours.reindex(index=index, columns=columns).astype(float)
    parts = {"paper": paper, "ours": ours}
    if spread is not None:
        parts[HALF_WIDTH] = spread.reindex(index=index, columns=columns).astype(float)
    parts["difference"] = ours - paper
    names = list(parts)
    if axis == "columns":
        frame = pd.concat(parts, axis=1).swaplevel(0, 1, axis=1)
        return frame.reindex(columns=pd.MultiIndex.from_product([columns, names]))
    if axis != "rows":
        raise ValueError(f"axis must be 'columns' or 'rows', got {axis!r}")
    values = {name: part.to_numpy() for name, part in parts.items()}
    keys = [key if isinstance(key, tuple) else (key,) for key in index]
    rows = [values[name][i] for i in range(len(keys)) for name in names]
    tuples = [(*key, name) for key in keys for name in names]
    row_index = pd.MultiIndex.from_tuples(tuples, names=[*index.names, "value"])
    return pd.DataFrame(rows, index=row_index, columns=columns)


def _interval_frames(cells: Mapping, columns: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(means, half-widths) from {row: {column: Interval}}, rows in `cells`' order."""
    means = pd.DataFrame({row: {c: i.mean for c, i in v.items()} for row, v in cells.items()}).T
    halves = pd.DataFrame({row: {c: i.half_width for c, i in v.items()} for row, v in cells.items()}).T
    return means.reindex(columns=list(columns)).astype(float), halves.reindex(columns=list(columns)).astype(float)


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
    ours_df, spread = _interval_frames(cells, columns)
    paper_df.index.name = ours_df.index.name = spread.index.name = "dataset"
    return side_by_side(paper_df, ours_df, spread=spread)


def _config_intervals(mic: pd.DataFrame, column: str) -> pd.DataFrame:
    """t-interval over replicates of `column` per configuration, iteration count and class (test rows)."""
    return replicate_intervals(split_rows(mic), CONFIG_KEYS + ["iterations", "class"], column)


def noise_grid_table(
    mic: pd.DataFrame, paper: Mapping, dataset: str, subset: str, names: Mapping[str, str | None]
) -> tuple[str | None, pd.DataFrame]:
    """Tables 2, 7, 8, 9: overall and per-class accuracy after K iterations over the noise grid.

    Rows (noise in, noise out, paper|ours|± 95 %|difference) in the paper's row order; columns overall + classes.
    """
    table, printed = paper_grid(paper, names.get(dataset), subset)
    index_names = ["noise in", "noise out"]
    if len(printed):
        paper_wide = printed.pivot_table(
            index=["noise_in", "noise_out"], columns="column", values="accuracy", sort=False, dropna=False
        )
        paper_wide = paper_wide.reindex(columns=[c for c in printed["column"].drop_duplicates()])
        row_order = printed.drop_duplicates("row")[["noise_in", "noise_out"]].apply(tuple, axis=1).tolist()
        paper_wide = paper_wide.reindex(pd.MultiIndex.from_tuples(row_order))
    else:
        paper_wide = pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=index_names))
    k = final_iterations(mic, dataset)
    intervals = _config_intervals(mic, "accuracy")
    rows = intervals[
        (intervals["dataset"] == dataset) & (intervals["subset"] == subset) & (intervals["iterations"] == k)
    ]
    rows = _noise_order(rows).sort_values(["_in", "_out"], kind="stable")
    wide = {
        part: rows.pivot_table(index=["noise_in", "noise_out"], columns="class", values=part, sort=False, dropna=False)
        for part in ("mean", "half_width")
    }
    for part, frame in wide.items():
        frame = frame.rename(columns={ALL: "overall"})
        frame = frame.reindex(columns=["overall"] + [c for c in frame.columns if c != "overall"])
        frame.index.names = index_names
        frame.columns.name = None
        wide[part] = frame
    paper_wide.index.names = index_names
    paper_wide.columns.name = None
    return table, side_by_side(paper_wide, wide["mean"], axis="rows", spread=wide["half_width"])


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
    grid = (
        _noise_order(grid)
        .sort_values(["_out", "_in"], kind="stable")
        .drop(columns=["_in", "_out"])
        .reset_index(drop=True)
    )
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


def _paper_ordered_choices(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> list[Choice]:
    chosen = choices(mic)
    return [chosen[run] for run in paper_runs(paper, names, list(chosen))]


def iterations_table(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Table 4: accuracy and MSE after 0 and K iterations, for the base and the best model, in the paper's order."""
    printed = paper_frame(paper, "table4")
    paper_rows, cells = {}, {}
    columns = ["accuracy", "accuracy best", "MSE", "MSE best"]
    for choice in _paper_ordered_choices(mic, paper, names):
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
    ours_df, spread = _interval_frames(cells, columns)
    ours_df.index = spread.index = index
    return side_by_side(paper_df, ours_df, spread=spread)


ITERATION_COLUMNS = {"accuracy_0": "Accuracy (0)", "accuracy_K": "Accuracy (K)", "mse_0": "MSE (0)", "mse_K": "MSE (K)"}


def iterations_grid_table(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Table 13: accuracy and MSE after 0 and K iterations for every noise configuration, in the paper's row order."""
    printed = paper_iterations(paper)
    intervals = {column: _config_intervals(mic, column) for column in ("accuracy", "mse")}
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
            frame = _noise_order(frame.reset_index()).sort_values(["_in", "_out"], kind="stable")
            wide[part] = frame.drop(columns=["_in", "_out"]).assign(dataset=label)
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
    ours_df, spread = _interval_frames(cells, columns)
    return side_by_side(pd.DataFrame(paper_rows).T.reindex(index=list(cells), columns=columns), ours_df, spread=spread)


SUMMARY_ROWS = [
    ("clustered (MIC base)", "clustered", "base"),
    ("clustered (MIC best)", "clustered", "best"),
    ("clustered (forward)", "clustered", "forward"),
    ("random (MIC base)", "random", "base"),
    ("random (MIC best)", "random", "best"),
    ("random (forward)", "random", "forward"),
    ("full dataset", "full", "forward"),
]


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
    ours_df, spread = _interval_frames(cells, list(paper_cols))
    return side_by_side(pd.DataFrame(paper_cols).reindex(rows), ours_df.reindex(rows), spread=spread.reindex(rows))


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
        row["MIC best − best 1-NN"] = Interval(gap["estimate"], (gap["high"] - gap["low"]) / 2, gap["reps"])
        cells[(display_name(dataset, names), subset)] = row
    columns = [*(f"1-NN {m}" for m in metrics), "MIC base", "MIC best", "forward", "MIC best − best 1-NN"]
    means, halves = _interval_frames(cells, columns)
    frame = pd.concat({"mean": means, HALF_WIDTH: halves}, axis=1).swaplevel(0, 1, axis=1)
    frame = frame.reindex(columns=pd.MultiIndex.from_product([columns, ["mean", HALF_WIDTH]]))
    frame.index = pd.MultiIndex.from_tuples(list(cells), names=["dataset", "subset"])
    return frame


def uncertainty_table(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """The two uncertainties of each base and best accuracy: over replicates (t) and over test samples (Wilson).

    t low/high: 95 % t-interval of the mean over replicates (training variance). Wilson low/high: 95 % Wilson
    interval of the counts pooled over replicates (test sampling only); Wilson ± per rep: the median half-width
    of each replicate's own Wilson interval, to set beside the replicates' spread.
    """
    records = []
    for choice in _paper_ordered_choices(mic, paper, names):
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


def class_order(classes: pd.DataFrame, dataset: str) -> list[str]:
    """The data set's classes in module order."""
    rows = classes[classes["dataset"] == dataset].sort_values("position")
    return rows["class"].tolist()


def confusion_matrix(
    confusion: pd.DataFrame, dataset: str, subset: str, noise: tuple[str, str], iterations: int, classes: Sequence[str]
) -> pd.DataFrame:
    """True x predicted counts (summed over replicates) of one MIC configuration."""
    rows = rows_where(
        confusion, dataset=dataset, subset=subset, noise_in=noise[0], noise_out=noise[1], iterations=iterations
    )
    table = rows.pivot_table(index="true_class", columns="predicted_class", values="count", aggfunc="sum", fill_value=0)
    table = table.reindex(index=list(classes), columns=list(classes), fill_value=0)
    table.index.name, table.columns.name = "true class", "predicted class"
    return table


def heatmap_matrix(
    heatmaps: pd.DataFrame, dataset: str, subset: str, noise: tuple[str, str], split: str, classes: Sequence[str]
) -> pd.DataFrame:
    """Figure 7: module x target class mean reconstruction loss (mean over replicates) on one split."""
    rows = rows_where(heatmaps, dataset=dataset, subset=subset, noise_in=noise[0], noise_out=noise[1], split=split)
    table = rows.pivot_table(index="module", columns="target_class", values="mean_loss", aggfunc="mean")
    table = table.reindex(index=list(classes), columns=list(classes))
    table.index.name, table.columns.name = "module (generator)", "target class"
    return table


def diagonal_wins(matrix: pd.DataFrame) -> float:
    """Share of target classes (columns) whose lowest loss is their own module's."""
    present = matrix.dropna(axis=1, how="all")
    if present.empty:
        return float("nan")
    return float(np.mean([present[c].idxmin() == c for c in present.columns]))


def loss_curve_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Training loss per step across class generators and replicates: median and 10/90 % quantiles."""
    keys = CONFIG_KEYS + ["step"]
    grouped = curves.groupby(keys, sort=False)["loss"]
    out = pd.DataFrame({"median": grouped.median(), "q10": grouped.quantile(0.1), "q90": grouped.quantile(0.9)})
    return out.reset_index()


def training_summary(training: pd.DataFrame, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Per configuration: how well the generators fit their prototypes (best/final loss) and how long they took."""
    grouped = training.groupby(CONFIG_KEYS, sort=False)
    out = grouped.agg(
        generators=("class", "size"),
        best_loss_median=("best_loss", "median"),
        best_loss_max=("best_loss", "max"),
        final_loss_median=("final_loss", "median"),
        best_step_median=("best_step", "median"),
        episodes=("episodes", "max"),
        seconds=("seconds", "sum"),
    ).reset_index()
    out["dataset"] = out["dataset"].map(lambda d: display_name(d, names))
    out = (
        _noise_order(out).sort_values(["dataset", "subset", "_in", "_out"], kind="stable").drop(columns=["_in", "_out"])
    )
    return out.set_index(CONFIG_KEYS)


def run_path(
    results_dir: str | os.PathLike, dataset: str, subset: str, rep: int, noise: tuple[str, str], name: str
) -> Path:
    """A per-configuration result file: mic.layout.SETTING under `results_dir`, then `name`."""
    setting = {"dataset": dataset, "subset": subset, "rep": rep, "noise_in": noise[0], "noise_out": noise[1]}
    return layout.under(results_dir, layout.SETTING, **setting) / name


def prototypes_path(results_dir: str | os.PathLike, dataset: str, subset: str, rep: int = 0) -> Path:
    """One replicate's prototypes file (mic.layout.PROTOTYPES) under `results_dir`."""
    return layout.under(results_dir, layout.PROTOTYPES, dataset=dataset, subset=subset, rep=rep)


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
        row["extended − best 1-NN"] = Interval(gap["estimate"], (gap["high"] - gap["low"]) / 2, gap["reps"])
        cells[(display_name(dataset, names), subset)] = row
    columns = ["MIC (paper's procedure)", "extended MIC", *(f"1-NN {m}" for m in metrics), "forward"]
    columns.append("extended − best 1-NN")
    means, halves = _interval_frames(cells, columns)
    frame = pd.concat({"mean": means, HALF_WIDTH: halves}, axis=1).swaplevel(0, 1, axis=1)
    frame = frame.reindex(columns=pd.MultiIndex.from_product([columns, ["mean", HALF_WIDTH]]))
    frame.index = pd.MultiIndex.from_tuples(list(cells), names=["dataset", "subset"])
    frame.insert(0, ("variant", "chosen on validation"), variants)
    return frame
