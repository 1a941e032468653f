"""The report's tables: the paper's printed numbers beside ours, built from the pipeline's tidy tables.

Everything here is pure pandas over the tables that `collect_results` writes to results/tables/ (and the
paper's numbers in config/paper_results.yaml), so notebooks/report.ipynb only calls and shows.
Conventions: "ours" is the mean over replicates; difference = ours - paper.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mic.evidence import glm as stats
from mic.evidence.selection import (
    CONFIG_KEYS,
    _noise_order,
    baseline_accuracy,
    choices,
    choose_models,
    final_iterations,
    mic_means,
    mic_value,
    nearest_accuracy,
    overall_grid,
    rows_where,
)
from mic.layout import ALL
from mic.report.paper import display_name, paper_frame, paper_glm, paper_grid, paper_iterations

VALUES = ["paper", "ours", "difference"]


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


def side_by_side(paper: pd.DataFrame, ours: pd.DataFrame, axis: str = "columns") -> pd.DataFrame:
    """Interleave paper, ours and ours - paper for every column (axis='columns') or row (axis='rows').

    Both frames are aligned on their union of rows and columns, paper's order first.
    """
    index = paper.index.append(ours.index.difference(paper.index, sort=False))
    columns = paper.columns.append(ours.columns.difference(paper.columns, sort=False))
    paper = paper.reindex(index=index, columns=columns).astype(float)
    ours = ours.reindex(index=index, columns=columns).astype(float)
    parts = {"paper": paper, "ours": ours, "difference": ours - paper}
    if axis == "columns":
        frame = pd.concat(parts, axis=1).swaplevel(0, 1, axis=1)
        return frame.reindex(columns=pd.MultiIndex.from_product([columns, VALUES]))
    if axis != "rows":
        raise ValueError(f"axis must be 'columns' or 'rows', got {axis!r}")
    values = {name: part.to_numpy() for name, part in parts.items()}
    keys = [key if isinstance(key, tuple) else (key,) for key in index]
    rows = [values[name][i] for i in range(len(keys)) for name in VALUES]
    tuples = [(*key, name) for key in keys for name in VALUES]
    row_index = pd.MultiIndex.from_tuples(tuples, names=[*index.names, "value"])
    return pd.DataFrame(rows, index=row_index, columns=columns)


def table1(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Table 1: base accuracy (no noise, K iterations), random and clustered, per data set."""
    printed = paper_frame(paper, "table1").set_index("dataset")
    paper_rows, our_rows = {}, {}
    for dataset in names:
        label = display_name(dataset, names)
        key = names[dataset]
        paper_rows[label] = printed.loc[key] if key in printed.index else pd.Series(dtype=float)
        ours = {}
        for subset in ("random", "clustered"):
            choice = choose_models(mic, dataset, subset)
            if choice:
                ours[subset] = mic_value(mic, dataset, subset, choice.base, choice.iterations)
        our_rows[label] = pd.Series(ours, dtype=float)
    paper_df = pd.DataFrame(paper_rows).T.reindex(columns=["random", "clustered"])
    ours_df = pd.DataFrame(our_rows).T.reindex(columns=["random", "clustered"])
    paper_df.index.name = ours_df.index.name = "dataset"
    return side_by_side(paper_df, ours_df)


def noise_grid_table(
    mic: pd.DataFrame, paper: Mapping, dataset: str, subset: str, names: Mapping[str, str | None]
) -> tuple[str | None, pd.DataFrame]:
    """Tables 2, 7, 8, 9: overall and per-class accuracy after K iterations over the noise grid.

    Rows (noise in, noise out, paper|ours|difference) in the paper's row order; columns overall + classes.
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
    means = mic_means(mic)
    rows = means[(means["dataset"] == dataset) & (means["subset"] == subset) & (means["iterations"] == k)]
    rows = _noise_order(rows).sort_values(["_in", "_out"], kind="stable")
    ours = rows.pivot_table(index=["noise_in", "noise_out"], columns="class", values="accuracy", sort=False)
    ours = ours.rename(columns={ALL: "overall"})
    ours = ours.reindex(columns=["overall"] + [c for c in ours.columns if c != "overall"])
    paper_wide.index.names = ours.index.names = index_names
    paper_wide.columns.name = ours.columns.name = None
    return table, side_by_side(paper_wide, ours, axis="rows")


@dataclass
class GlmComparison:
    """The paper's GLM, our paper-style fit and our count fit for one (dataset, subset)."""

    dataset: str
    subset: str
    table: str | None
    grid: pd.DataFrame
    counts: pd.DataFrame
    grid_fit: object
    count_fit: object
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

    def fit_statistics(self) -> pd.DataFrame:
        """Summary-header numbers: paper, ours (paper-style), difference, ours (counts as trials)."""
        paper = pd.Series({k: self.paper_header.get(k, np.nan) for k in stats.FIT_STATISTICS}, dtype=float)
        ours = stats.fit_statistics(self.grid_fit)
        return pd.DataFrame(
            {
                "paper": paper,
                "ours (paper's fit)": ours,
                "difference": ours - paper,
                "ours (counts as trials)": stats.fit_statistics(self.count_fit),
            }
        )

    def change_sentence(self) -> str:
        """One sentence, from the numbers, on what counting test samples as trials changes."""
        grid = stats.coefficient_table(self.grid_fit).drop(index=stats.INTERCEPT)
        count = stats.coefficient_table(self.count_fit).drop(index=stats.INTERCEPT)
        trials = int(self.counts["n"].median()) if len(self.counts) else 0
        if grid.empty:
            return (
                f"With a single noise configuration there is no noise effect to estimate; counting the {trials} "
                "test samples as trials only narrows the intercept's interval."
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
        return (
            f"Counting the {trials} test samples per grid point as binomial trials leaves the coefficients where they "
            f"were (largest change {shift:.2g}) but shrinks the median standard error from {se_grid:.2f} to "
            f"{se_count:.3f}, so {effects}, and the deviance ({fit['Deviance']:.2f} on {fit['Df Residuals']:.0f} df) "
            "becomes a test of fit instead of a number near 0."
        )


def glm_comparison(
    mic: pd.DataFrame, paper: Mapping, dataset: str, subset: str, names: Mapping[str, str | None]
) -> GlmComparison:
    """Fit both GLMs on our accuracies after K iterations and pair them with the paper's Tables 3, 10, 11, 12."""
    k = final_iterations(mic, dataset)
    grid = overall_grid(mic, dataset, subset, k)[["noise_in", "noise_out", "accuracy", "correct", "n"]]
    grid = (
        _noise_order(grid)
        .sort_values(["_out", "_in"], kind="stable")
        .drop(columns=["_in", "_out"])
        .reset_index(drop=True)
    )
    counts = mic[
        (mic["dataset"] == dataset) & (mic["subset"] == subset) & (mic["iterations"] == k) & (mic["class"] == ALL)
    ]
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
        header,
        coefficients,
    )


def iterations_table(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Table 4: accuracy and MSE after 0 and K iterations, for the base and the best model."""
    printed = paper_frame(paper, "table4")
    paper_rows, our_rows = {}, {}
    columns = ["accuracy", "accuracy best", "MSE", "MSE best"]
    for (dataset, subset), choice in choices(mic).items():
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
            our_rows[label] = pd.Series(
                [
                    mic_value(mic, dataset, subset, choice.base, it),
                    mic_value(mic, dataset, subset, choice.best, it),
                    mic_value(mic, dataset, subset, choice.base, it, "mse"),
                    mic_value(mic, dataset, subset, choice.best, it, "mse"),
                ],
                index=columns,
            )
    index = pd.MultiIndex.from_tuples(list(our_rows), names=["model", "iterations"])
    paper_df = pd.DataFrame([paper_rows[i].reindex(columns) for i in our_rows], index=index)
    ours_df = pd.DataFrame([our_rows[i] for i in our_rows], index=index)
    return side_by_side(paper_df, ours_df)


def iterations_grid_table(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Table 13: accuracy and MSE after 0 and K iterations for every noise configuration."""
    printed = paper_iterations(paper)
    labels = {"accuracy_0": "Accuracy (0)", "accuracy_K": "Accuracy (K)", "mse_0": "MSE (0)", "mse_K": "MSE (K)"}
    means = mic_means(mic)
    paper_parts, our_parts = [], []
    for dataset, subset in mic[["dataset", "subset"]].drop_duplicates().itertuples(index=False):
        k = final_iterations(mic, dataset)
        label = f"{display_name(dataset, names)} {subset}"
        ours = means[(means["dataset"] == dataset) & (means["subset"] == subset) & (means["class"] == ALL)]
        ours = ours.pivot_table(
            index=["noise_in", "noise_out"], columns="iterations", values=["accuracy", "mse"], sort=False
        )
        ours = pd.DataFrame(
            {
                "accuracy_0": ours.get(("accuracy", 0)),
                "accuracy_K": ours.get(("accuracy", k)),
                "mse_0": ours.get(("mse", 0)),
                "mse_K": ours.get(("mse", k)),
            },
            index=ours.index,
        )
        ours = (
            _noise_order(ours.reset_index()).sort_values(["_in", "_out"], kind="stable").drop(columns=["_in", "_out"])
        )
        match = printed[(printed["dataset"] == names.get(dataset)) & (printed["subset"] == subset)]
        paper_parts.append(match.assign(dataset=label).drop(columns="subset"))
        our_parts.append(ours.assign(dataset=label))
    index = ["dataset", "noise_in", "noise_out"]
    paper_df = pd.concat(paper_parts).set_index(index) if paper_parts else pd.DataFrame()
    ours_df = pd.concat(our_parts).set_index(index) if our_parts else pd.DataFrame()
    paper_df, ours_df = paper_df.rename(columns=labels), ours_df.rename(columns=labels)
    frame = side_by_side(paper_df, ours_df)
    order = ours_df.index.append(paper_df.index.difference(ours_df.index, sort=False))
    return frame.reindex(order)


def forward_table(baselines: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Table 5: forward LSTM accuracy trained on the clustered, random and full training sets."""
    printed = paper_frame(paper, "table5").set_index("dataset")
    columns = ["clustered", "random", "full"]
    paper_rows, our_rows = {}, {}
    for dataset in names:
        label = display_name(dataset, names)
        key = names[dataset]
        paper_rows[label] = printed.loc[key, columns] if key in printed.index else pd.Series(dtype=float)
        our_rows[label] = pd.Series({c: baseline_accuracy(baselines, dataset, c) for c in columns})
    return side_by_side(
        pd.DataFrame(paper_rows).T.reindex(columns=columns), pd.DataFrame(our_rows).T.reindex(columns=columns)
    )


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
    paper_cols, our_cols = {}, {}
    for dataset in names:
        label = display_name(dataset, names)
        key = names[dataset]
        paper_cols[label] = printed[key] if key in printed.columns else pd.Series(np.nan, index=printed.index)
        ours = {}
        for row, subset, what in SUMMARY_ROWS:
            if what == "forward":
                ours[row] = baseline_accuracy(baselines, dataset, subset)
            elif (choice := chosen.get((dataset, subset))) is not None:
                ours[row] = mic_value(mic, dataset, subset, getattr(choice, what), choice.iterations)
        our_cols[label] = pd.Series(ours, dtype=float)
    rows = [r for r, _, _ in SUMMARY_ROWS]
    return side_by_side(pd.DataFrame(paper_cols).reindex(rows), pd.DataFrame(our_cols).reindex(rows))


def nearest_prototype_table(
    mic: pd.DataFrame, baselines: pd.DataFrame, nearest: pd.DataFrame, names: Mapping[str, str | None]
) -> pd.DataFrame:
    """Overall accuracy of 1-NN on the same 4 prototypes per class beside MIC (base, best) and the forward model."""
    records = []
    metrics = sorted(nearest["metric"].unique()) if len(nearest) else []
    for (dataset, subset), choice in choices(mic).items():
        record = {"dataset": display_name(dataset, names), "subset": subset}
        for metric in metrics:
            record[f"1-NN {metric}"] = nearest_accuracy(nearest, dataset, subset, metric)
        record["MIC base"] = mic_value(mic, dataset, subset, choice.base, choice.iterations)
        record["MIC best"] = mic_value(mic, dataset, subset, choice.best, choice.iterations)
        record["forward"] = baseline_accuracy(baselines, dataset, subset)
        best_nn = max((record[f"1-NN {m}"] for m in metrics), default=float("nan"))
        record["MIC best - best 1-NN"] = record["MIC best"] - best_nn
        records.append(record)
    return pd.DataFrame(records).set_index(["dataset", "subset"])


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
    """A per-configuration result file: results/{dataset}/{subset}/rep{rep}/in{noise_in}_out{noise_out}/{name}."""
    return Path(results_dir) / dataset / subset / f"rep{rep}" / f"in{noise[0]}_out{noise[1]}" / name
