"""Which MIC models the tables compare: the base (no noise) and the best noise setting of each data set and subset.

Model choice is used by compute rules (module_losses) as well as by the report, so it lives here, not in
report code. "Ours" is always the mean over replicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mic.layout import ALL

CONFIG_KEYS = ["dataset", "subset", "noise_in", "noise_out"]


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
        dataset=dataset,
        subset=subset,
        noise_in=noise[0],
        noise_out=noise[1],
        iterations=iterations,
        **{"class": cls},
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
