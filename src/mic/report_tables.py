"""The report's tables: the paper's printed numbers beside ours, built from the pipeline's tidy tables.

Everything here is pure pandas over the tables that `collect_results` writes to results/tables/
(and the paper's numbers in config/paper_results.yaml), so notebooks/report.ipynb only calls and shows.
Conventions: noise levels are strings as in result paths ("0", "0.1", "0.0001"); class "all" is the
overall accuracy; "ours" is the mean over replicates; difference = ours - paper.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mic import stats
from mic.stats import noise_label

ALL = "all"  # the class label of overall rows in summary tables
VALUES = ["paper", "ours", "difference"]
PAPER_DATASETS = {"mnist": "mnist", "character_trajectories": "characters"}  # data source -> paper's data set
DISPLAY = {"mnist": "MNIST", "characters": "Characters"}
CONFIG_KEYS = ["dataset", "subset", "noise_in", "noise_out"]
STRING_COLUMNS = [
    "dataset",
    "subset",
    "noise_in",
    "noise_out",
    "class",
    "true_class",
    "predicted_class",
    "split",
    "module",
    "target_class",
    "training_set",
    "metric",
]
TABLE_FILES = {
    "mic_accuracy": "mic_accuracy.tsv",
    "confusion": "confusion.tsv",
    "heatmaps": "heatmaps.tsv",
    "training": "training.tsv",
    "loss_curves": "loss_curves.tsv",
    "baselines": "baselines.tsv",
    "baseline_history": "baseline_history.tsv",
    "nearest_prototype": "nearest_prototype.tsv",
    "classes": "classes.tsv",
}


# ---------------------------------------------------------------------------------------------
# Reading and writing tidy tables


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a tidy TSV, keeping names and noise labels as strings ("0" stays a class, "0.0001" a label)."""
    header = pd.read_csv(path, sep="\t", nrows=0).columns
    dtype = {column: str for column in STRING_COLUMNS if column in header}
    return pd.read_csv(path, sep="\t", dtype=dtype, keep_default_na=False, na_values=[""])


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


def read_tables(tables_dir: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """All tidy tables `collect_results` writes, by name (see TABLE_FILES)."""
    tables_dir = Path(tables_dir)
    return {name: read_table(tables_dir / file) for name, file in TABLE_FILES.items()}


def _with_keys(table: pd.DataFrame, key: Mapping) -> pd.DataFrame:
    """`table` with the job's wildcards (dataset, subset, rep, ...) as leading columns; rep as an integer."""
    for position, (name, value) in enumerate(key.items()):
        table.insert(position, name, int(value) if name == "rep" else str(value))
    return table


def stack_tables(keys: Sequence[Mapping], paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate per-job tables, each prefixed with its key columns (dataset, subset, ...)."""
    if len(keys) != len(paths):
        raise ValueError(f"{len(keys)} keys for {len(paths)} files")
    frames = [_with_keys(read_table(path), key) for key, path in zip(keys, paths)]
    if not frames:
        return pd.DataFrame(columns=list(keys[0]) if keys else [])
    return pd.concat(frames, ignore_index=True)


def module_names(predictions: pd.DataFrame) -> list[str]:
    """Class modules in the order of the loss_<class> columns of a predictions table."""
    return [column[len("loss_") :] for column in predictions.columns if column.startswith("loss_")]


def _class_names(values: pd.Series, classes: Sequence[str]) -> pd.Series:
    """Class labels as names; integer indices into `classes` are translated."""
    values = values.astype(str)
    if set(values) <= set(classes):
        return values
    if all(v.isdigit() and int(v) < len(classes) for v in set(values)):
        return values.map(lambda v: classes[int(v)])
    raise ValueError(f"class labels {sorted(set(values))[:5]} are neither names nor indices of {classes}")


def confusion_counts(predictions: pd.DataFrame) -> pd.DataFrame:
    """Counts per (iterations, true_class, predicted_class) from one predictions table."""
    classes = module_names(predictions)
    table = pd.DataFrame(
        {
            "iterations": predictions["iterations"].astype(int),
            "true_class": _class_names(predictions["true_class"], classes),
            "predicted_class": _class_names(predictions["predicted_class"], classes),
        }
    )
    return table.groupby(["iterations", "true_class", "predicted_class"]).size().rename("count").reset_index()


def collect_results(
    mic_runs: Sequence[Mapping],
    mic_files: Mapping[str, Sequence[str]],
    heatmap_runs: Sequence[Mapping],
    heatmap_files: Sequence[str],
    baseline_runs: Sequence[Mapping],
    baseline_files: Mapping[str, Sequence[str]],
    nearest_runs: Sequence[Mapping],
    nearest_files: Sequence[str],
) -> dict[str, pd.DataFrame]:
    """Gather every per-job table into the tidy tables of TABLE_FILES.

    mic_runs: one dict per MIC configuration (dataset, subset, rep, noise_in, noise_out), in the order of
    each list in mic_files (keys summary, training, loss_curves, predictions). heatmap_runs: (dataset,
    subset) for heatmap_files, Figure 7's losses of the best model (module_losses). baseline_runs:
    (dataset, training_set, rep) for baseline_files' summary and history. nearest_runs: (dataset, subset).
    """
    confusion, classes = [], {}
    for key, path in zip(mic_runs, mic_files["predictions"], strict=True):
        predictions = read_table(path)
        confusion.append(_with_keys(confusion_counts(predictions), key))
        classes.setdefault(str(key["dataset"]), module_names(predictions))
    class_table = pd.DataFrame(
        [(d, i, c) for d, names in classes.items() for i, c in enumerate(names)],
        columns=["dataset", "position", "class"],
    )
    mic_accuracy = stack_tables(mic_runs, mic_files["summary"])
    return {
        "mic_accuracy": mic_accuracy,
        "confusion": pd.concat(confusion, ignore_index=True) if confusion else pd.DataFrame(),
        "heatmaps": stack_tables(heatmap_runs, heatmap_files),
        "training": stack_tables(mic_runs, mic_files["training"]),
        "loss_curves": stack_tables(mic_runs, mic_files["loss_curves"]),
        "baselines": stack_tables(baseline_runs, baseline_files["summary"]),
        "baseline_history": stack_tables(baseline_runs, baseline_files["history"]),
        "nearest_prototype": stack_tables(nearest_runs, nearest_files),
        "classes": class_table,
    }


# ---------------------------------------------------------------------------------------------
# The paper's numbers


def load_paper(path: str | os.PathLike) -> dict:
    """config/paper_results.yaml as a dict (tables under "tables")."""
    with open(path) as handle:
        return yaml.safe_load(handle)


def paper_frame(paper: Mapping, table: str) -> pd.DataFrame:
    """One transcribed table as printed: its columns and rows (null -> NaN)."""
    spec = paper["tables"][table]
    return pd.DataFrame(spec["rows"], columns=spec["columns"])


def paper_table_id(paper: Mapping, kind: str, dataset: str | None, subset: str | None = None) -> str | None:
    """The table of `kind` (noise_grid, glm) for a paper data set and subset, e.g. 'table2'."""
    for name, spec in paper["tables"].items():
        if spec["kind"] == kind and spec.get("dataset") == dataset and spec.get("subset") == subset:
            return name
    return None


def table_title(table: str | None) -> str:
    """'table2' -> 'Table 2'."""
    return f"Table {table[len('table'):]}" if table else "no paper table"


def paper_grid(paper: Mapping, dataset: str | None, subset: str) -> tuple[str | None, pd.DataFrame]:
    """The paper's noise-grid table for (dataset, subset) in tidy form.

    Columns: row (printed order), noise_in, noise_out (labels, printed labels fixed by label_fixes),
    column ("overall" or a class) and accuracy.
    """
    table = paper_table_id(paper, "noise_grid", dataset, subset)
    columns = ["row", "noise_in", "noise_out", "column", "accuracy"]
    if table is None:
        return None, pd.DataFrame(columns=columns)
    spec = paper["tables"][table]
    fixes = {int(k): v for k, v in (spec.get("label_fixes") or {}).items()}
    records = []
    for i, row in enumerate(spec["rows"]):
        noise_in, noise_out = fixes.get(i, row[:2])
        for column, value in zip(spec["columns"][2:], row[2:]):
            records.append((i, noise_label(noise_in), noise_label(noise_out), column, value))
    frame = pd.DataFrame(records, columns=columns)
    frame["accuracy"] = frame["accuracy"].astype(float)
    return table, frame


def paper_glm(paper: Mapping, dataset: str | None, subset: str) -> tuple[str | None, dict, pd.DataFrame]:
    """The paper's GLM for (dataset, subset): table id, header numbers and coefficient block (index term)."""
    table = paper_table_id(paper, "glm", dataset, subset)
    if table is None:
        return None, {}, pd.DataFrame(columns=stats.COEFFICIENT_COLUMNS)
    spec = paper["tables"][table]
    coefficients = pd.DataFrame(spec["rows"], columns=spec["columns"]).set_index("term").astype(float)
    return table, dict(spec["header"]), coefficients


def paper_iterations(paper: Mapping) -> pd.DataFrame:
    """Table 13 in tidy columns: dataset, subset, noise_in, noise_out, accuracy_0, accuracy_K, mse_0, mse_K."""
    spec = paper["tables"]["table13"]
    frame = pd.DataFrame(
        spec["rows"],
        columns=["dataset", "subset", "noise_in", "noise_out", "accuracy_0", "accuracy_K", "mse_0", "mse_K"],
    )
    frame["noise_in"] = frame["noise_in"].map(noise_label)
    frame["noise_out"] = frame["noise_out"].map(noise_label)
    return frame


def paper_names(config: Mapping) -> dict[str, str | None]:
    """Our data set names -> the paper's ('mnist', 'characters'), by data source; None if not in the paper."""
    return {name: PAPER_DATASETS.get(spec.get("source")) for name, spec in config["datasets"].items()}


def display_name(dataset: str, names: Mapping[str, str | None]) -> str:
    """How a data set is called in table rows: the paper's name where it has one."""
    key = names.get(dataset)
    return DISPLAY.get(key, dataset) if key else dataset


# ---------------------------------------------------------------------------------------------
# Our numbers


def mic_means(mic: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, subset, noise_in, noise_out, iterations, class): mean accuracy and MSE over
    replicates, summed counts, and the number of replicates."""
    keys = CONFIG_KEYS + ["iterations", "class"]
    grouped = mic.groupby(keys, sort=False)
    out = grouped.agg(
        accuracy=("accuracy", "mean"),
        mse=("mse", "mean"),
        correct=("correct", "sum"),
        n=("n", "sum"),
        reps=("rep", "nunique"),
    )
    return out.reset_index()


def final_iterations(mic: pd.DataFrame, dataset: str) -> int:
    """K, the inverse-classification iteration count of a data set (the largest in its results)."""
    return int(mic.loc[mic["dataset"] == dataset, "iterations"].max())


def _noise_order(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(_in=frame["noise_in"].astype(float), _out=frame["noise_out"].astype(float))


def overall_grid(mic: pd.DataFrame, dataset: str, subset: str, iterations: int | None = None) -> pd.DataFrame:
    """Overall accuracy per noise configuration (mean over replicates) at `iterations` (default K)."""
    iterations = final_iterations(mic, dataset) if iterations is None else iterations
    means = mic_means(mic)
    rows = means[
        (means["dataset"] == dataset)
        & (means["subset"] == subset)
        & (means["iterations"] == iterations)
        & (means["class"] == ALL)
    ]
    return rows.reset_index(drop=True)


@dataclass(frozen=True)
class Choice:
    """The base (no noise) and best (highest overall accuracy after K iterations) MIC configurations."""

    dataset: str
    subset: str
    iterations: int
    base: tuple[str, str]
    best: tuple[str, str]


def choose_models(mic: pd.DataFrame, dataset: str, subset: str) -> Choice | None:
    """Base = the lowest-noise configuration (0/0); best = highest accuracy after K (ties: least noise)."""
    if not ((mic["dataset"] == dataset) & (mic["subset"] == subset)).any():
        return None
    grid = _noise_order(overall_grid(mic, dataset, subset)).sort_values(["_in", "_out"], kind="stable")
    base = grid.iloc[0]
    best = grid.loc[grid["accuracy"].idxmax()]
    return Choice(
        dataset,
        subset,
        final_iterations(mic, dataset),
        (base["noise_in"], base["noise_out"]),
        (best["noise_in"], best["noise_out"]),
    )


def choices(mic: pd.DataFrame) -> dict[tuple[str, str], Choice]:
    """choose_models for every (dataset, subset) in the results."""
    pairs = mic[["dataset", "subset"]].drop_duplicates().itertuples(index=False)
    return {(d, s): choose_models(mic, d, s) for d, s in pairs}


def rows_where(frame: pd.DataFrame, **equal) -> pd.DataFrame:
    """Rows of `frame` whose columns equal the given values."""
    mask = pd.Series(True, index=frame.index)
    for column, value in equal.items():
        mask &= frame[column] == value
    return frame[mask]


def mic_value(
    mic: pd.DataFrame,
    dataset: str,
    subset: str,
    noise: tuple[str, str],
    iterations: int,
    column: str = "accuracy",
    cls: str = ALL,
) -> float:
    """One number of one configuration (mean over replicates); NaN when absent."""
    rows = rows_where(
        mic_means(mic),
        dataset=dataset, subset=subset, noise_in=noise[0], noise_out=noise[1], iterations=iterations, **{"class": cls},
    )
    return float(rows[column].iloc[0]) if len(rows) else float("nan")


def baseline_accuracy(baselines: pd.DataFrame, dataset: str, training_set: str) -> float:
    """Forward baseline's overall test accuracy (mean over replicates); NaN when absent."""
    rows = baselines[
        (baselines["dataset"] == dataset) & (baselines["training_set"] == training_set) & (baselines["class"] == ALL)
    ]
    return float(rows["accuracy"].mean()) if len(rows) else float("nan")


def nearest_accuracy(nearest: pd.DataFrame, dataset: str, subset: str, metric: str) -> float:
    """Nearest-prototype 1-NN overall accuracy; NaN when that metric was not run."""
    rows = nearest[
        (nearest["dataset"] == dataset)
        & (nearest["subset"] == subset)
        & (nearest["metric"] == metric)
        & (nearest["class"] == ALL)
    ]
    return float(rows["accuracy"].mean()) if len(rows) else float("nan")


# ---------------------------------------------------------------------------------------------
# Paper beside ours


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


# ---------------------------------------------------------------------------------------------
# Figures' data


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


# ---------------------------------------------------------------------------------------------
# Verdicts on the paper's claims


def _verdict(flags: Sequence[bool | None]) -> str:
    tested = [f for f in flags if f is not None]
    if not tested:
        return "not tested"
    if all(tested):
        return "supported"
    if not any(tested):
        return "not supported"
    return f"partly supported ({sum(tested)} of {len(tested)})"


def _fmt(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3f}"


def _flag(condition: bool, *values: float) -> bool | None:
    return None if any(v is None or not np.isfinite(v) for v in values) else bool(condition)


def verdicts(
    mic: pd.DataFrame, baselines: pd.DataFrame, nearest: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]
) -> pd.DataFrame:
    """Each paper claim per data set/subset: the paper's numbers, ours, and whether ours support it."""
    records = []
    chosen = choices(mic)
    t1 = paper_frame(paper, "table1").set_index("dataset")
    t5 = paper_frame(paper, "table5").set_index("dataset")
    t6 = paper_frame(paper, "table6").set_index("row")
    t13 = paper_iterations(paper)

    def paper_value(frame, row, column):
        try:
            value = frame.loc[row, column]
        except KeyError:
            return float("nan")
        return float("nan") if value is None else float(value)

    claim = "MIC beats the forward model on all four subsets"
    for (dataset, subset), c in chosen.items():
        key = names.get(dataset)
        base = mic_value(mic, dataset, subset, c.base, c.iterations)
        best = mic_value(mic, dataset, subset, c.best, c.iterations)
        forward = baseline_accuracy(baselines, dataset, subset)
        p_base, p_best, p_fwd = (
            paper_value(t1, key, subset),
            paper_value(t6, f"{subset} (MIC best)", key),
            paper_value(t5, key, subset),
        )
        records.append(
            {
                "claim": claim,
                "scope": f"{display_name(dataset, names)} {subset}",
                "paper": f"MIC base {_fmt(p_base)} / best {_fmt(p_best)} vs forward {_fmt(p_fwd)}",
                "ours": f"MIC base {_fmt(base)} / best {_fmt(best)} vs forward {_fmt(forward)}",
                "holds": _flag(base > forward and best > forward, base, best, forward),
            }
        )

    claim = "50 iterations beat 0"
    means = mic_means(mic)
    for (dataset, subset), c in chosen.items():
        rows = means[(means["dataset"] == dataset) & (means["subset"] == subset) & (means["class"] == ALL)]
        wide = rows.pivot_table(index=["noise_in", "noise_out"], columns="iterations", values="accuracy")
        if 0 in wide.columns and c.iterations in wide.columns and c.iterations != 0:
            gain = wide[c.iterations] - wide[0]
            wins = f"{int((gain > 0).sum())} of {len(gain)} configurations"
            ours = f"{c.iterations} > 0 iterations in {wins} (mean gain {gain.mean():+.3f})"
            holds = bool((gain > 0).all())
        else:
            ours, holds = "no 0-iteration results", None
        printed = t13[(t13["dataset"] == names.get(dataset)) & (t13["subset"] == subset)]
        p_gain = printed["accuracy_K"] - printed["accuracy_0"]
        paper_text = (
            f"50 > 0 in {int((p_gain > 0).sum())} of {len(p_gain)} configurations (mean gain {p_gain.mean():+.3f})"
            if len(printed)
            else "n/a"
        )
        records.append(
            {
                "claim": claim,
                "scope": f"{display_name(dataset, names)} {subset}",
                "paper": paper_text,
                "ours": ours,
                "holds": holds,
            }
        )

    claim = "clustered beats random"
    for dataset in dict.fromkeys(mic["dataset"]):
        c, r = chosen.get((dataset, "clustered")), chosen.get((dataset, "random"))
        key = names.get(dataset)
        if c is None or r is None:
            records.append(
                {
                    "claim": claim,
                    "scope": display_name(dataset, names),
                    "paper": "",
                    "ours": "needs both subsets",
                    "holds": None,
                }
            )
            continue
        cb = mic_value(mic, dataset, "clustered", c.base, c.iterations)
        rb = mic_value(mic, dataset, "random", r.base, r.iterations)
        cbest = mic_value(mic, dataset, "clustered", c.best, c.iterations)
        rbest = mic_value(mic, dataset, "random", r.best, r.iterations)
        p_base = f"{_fmt(paper_value(t1, key, 'clustered'))} vs {_fmt(paper_value(t1, key, 'random'))}"
        p_best = (
            f"{_fmt(paper_value(t6, 'clustered (MIC best)', key))} vs {_fmt(paper_value(t6, 'random (MIC best)', key))}"
        )
        records.append(
            {
                "claim": claim,
                "scope": display_name(dataset, names),
                "paper": f"base {p_base}; best {p_best}",
                "ours": f"base {_fmt(cb)} vs {_fmt(rb)}; best {_fmt(cbest)} vs {_fmt(rbest)}",
                "holds": _flag(cb > rb, cb, rb),
            }
        )

    claim = "input noise helps"
    for (dataset, subset), c in chosen.items():
        comparison = glm_comparison(mic, paper, dataset, subset, names)
        table = stats.coefficient_table(comparison.count_fit)
        terms = [t for t in table.index if t.startswith("in_")]
        _, _, printed = paper_glm(paper, names.get(dataset), subset)
        p_terms = [t for t in printed.index if t.startswith("in_")]
        paper_text = (
            ", ".join(f"{t} {printed.loc[t, 'coef']:+.3f} (p={printed.loc[t, 'P>|z|']:.2f})" for t in p_terms) or "n/a"
        )
        if terms:
            ours = (
                ", ".join(f"{t} {table.loc[t, 'coef']:+.3f} (p={table.loc[t, 'P>|z|']:.2g})" for t in terms)
                + " [counts GLM]"
            )
            holds = bool((table.loc[terms, "coef"] > 0).all())
        else:
            ours, holds = "no input-noise levels in the grid", None
        records.append(
            {
                "claim": claim,
                "scope": f"{display_name(dataset, names)} {subset}",
                "paper": paper_text,
                "ours": ours,
                "holds": holds,
            }
        )

    claim = "MIC beats 1-NN on the same prototypes (not a claim of the paper)"
    for (dataset, subset), c in chosen.items():
        rows = nearest[(nearest["dataset"] == dataset) & (nearest["subset"] == subset) & (nearest["class"] == ALL)]
        best_nn = float(rows["accuracy"].max()) if len(rows) else float("nan")
        metric = rows.loc[rows["accuracy"].idxmax(), "metric"] if len(rows) else "n/a"
        best = mic_value(mic, dataset, subset, c.best, c.iterations)
        records.append(
            {
                "claim": claim,
                "scope": f"{display_name(dataset, names)} {subset}",
                "paper": "not reported",
                "ours": f"MIC best {_fmt(best)} vs 1-NN ({metric}) {_fmt(best_nn)}",
                "holds": _flag(best > best_nn, best, best_nn),
            }
        )
    frame = pd.DataFrame(records)
    frame["holds"] = frame["holds"].map({True: "yes", False: "no", None: "n/a"}).fillna("n/a")
    return frame


def verdict_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One line per claim: supported / partly / not supported / not tested."""
    flags = table["holds"].map({"yes": True, "no": False, "n/a": None})
    summary = flags.groupby(table["claim"], sort=False).agg(lambda f: _verdict(list(f)))
    return summary.rename("verdict").reset_index()


def verdict_markdown(table: pd.DataFrame) -> str:
    """The verdict section as Markdown, generated from `verdicts`."""
    lines = []
    for claim, verdict in verdict_summary(table).itertuples(index=False):
        lines.append(f"- **{claim}**: {verdict}.")
        for row in table[table["claim"] == claim].itertuples(index=False):
            mark = {"yes": "holds", "no": "fails", "n/a": "not tested"}[row.holds]
            lines.append(f"    - {row.scope}: {mark}; ours {row.ours}; paper {row.paper}.")
    return "\n".join(lines)


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    paths: Mapping[str, str | os.PathLike],
    config: Mapping,
    config_path: str | os.PathLike,
) -> None:
    """Write collect_results' tables (atomically, TSV) and the run's effective config (YAML)."""
    from mic.io import save_table, write_atomic

    for name, path in paths.items():
        save_table(path, tables[name])
    write_atomic(
        config_path, lambda tmp: tmp.write_text(yaml.safe_dump(json.loads(json.dumps(config)), sort_keys=False))
    )


def run_path(
    results_dir: str | os.PathLike, dataset: str, subset: str, rep: int, noise: tuple[str, str], name: str
) -> Path:
    """A per-configuration result file: results/{dataset}/{subset}/rep{rep}/in{noise_in}_out{noise_out}/{name}."""
    return Path(results_dir) / dataset / subset / f"rep{rep}" / f"in{noise[0]}_out{noise[1]}" / name


def paper_notes(paper: Mapping) -> pd.DataFrame:
    """Every transcription note of config/paper_results.yaml, by table."""
    rows = [(table_title(name), note) for name, spec in paper["tables"].items() for note in spec.get("notes") or []]
    return pd.DataFrame(rows, columns=["table", "note"])
