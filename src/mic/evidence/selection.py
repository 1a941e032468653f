"""Which MIC models the tables compare: the base (no noise) and the best noise setting of each data set and subset.

Model choice is used by compute rules (module_losses) as well as by the report, so it lives here, not in
report code. "Ours" is the mean over replicates of the test-set rows; the per-replicate values behind every
mean (`*_reps`) are what the intervals and verdicts (mic.evidence.intervals, mic.evidence.verdicts) use.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mic.evidence.intervals import Interval, t_interval
from mic.layout import ALL

CONFIG_KEYS = ["dataset", "subset", "noise_in", "noise_out"]
SPLIT = "split"  # optional column of mic_accuracy: which samples a row was scored on
TEST, VALIDATION = "test", "validation"
CHOSEN_ON = {
    TEST: "test set (the paper's way: optimistic, the same samples choose and score the model)",
    VALIDATION: "validation split (scored on the test set)",
}


def split_rows(mic: pd.DataFrame, split: str = TEST) -> pd.DataFrame:
    """Rows scored on `split`; a table without a split column holds test rows only (rows with none are test)."""
    if SPLIT not in mic.columns:
        return mic if split == TEST else mic.iloc[0:0]
    return mic[mic[SPLIT].fillna(TEST) == split]


def with_validation(mic: pd.DataFrame, validation: pd.DataFrame | None) -> pd.DataFrame:
    """mic_accuracy (test rows) and its validation table in one frame, told apart by a `split` column."""
    if validation is None or validation.empty:
        return mic
    return pd.concat([mic.assign(**{SPLIT: TEST}), validation.assign(**{SPLIT: VALIDATION})], ignore_index=True)


def mic_means(mic: pd.DataFrame, split: str = TEST) -> pd.DataFrame:
    """Per (dataset, subset, noise_in, noise_out, iterations, class): mean accuracy and MSE over
    replicates, summed counts, and the number of replicates (rows of `split` only)."""
    keys = CONFIG_KEYS + ["iterations", "class"]
    grouped = split_rows(mic, split).groupby(keys, sort=False)
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


def overall_grid(
    mic: pd.DataFrame, dataset: str, subset: str, iterations: int | None = None, split: str = TEST
) -> pd.DataFrame:
    """Overall accuracy per noise configuration (mean over replicates) at `iterations` (default K)."""
    iterations = final_iterations(mic, dataset) if iterations is None else iterations
    means = mic_means(mic, split)
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
    chosen_on: str = TEST  # the split whose accuracy picked `best` (a key of CHOSEN_ON)

    @property
    def how(self) -> str:
        """How `best` was chosen, in words."""
        return CHOSEN_ON[self.chosen_on]


def choose_models(mic: pd.DataFrame, dataset: str, subset: str, by: str = "auto") -> Choice | None:
    """Base = the lowest-noise configuration (0/0); best = highest accuracy after K (ties: least noise).

    by: "test" picks best on the test set (the paper's way, optimistic), "validation" on the validation rows
    of a `split` column, "auto" on validation rows where the table has them and on the test set otherwise.
    """
    if by not in ("auto", TEST, VALIDATION):
        raise ValueError(f"by must be 'auto', {TEST!r} or {VALIDATION!r}, got {by!r}")
    if not ((mic["dataset"] == dataset) & (mic["subset"] == subset)).any():
        return None
    on = by
    if by == "auto":
        on = VALIDATION if len(overall_grid(mic, dataset, subset, split=VALIDATION)) else TEST
    grid = _noise_order(overall_grid(mic, dataset, subset, split=on)).sort_values(["_in", "_out"], kind="stable")
    if grid.empty:
        raise ValueError(f"{dataset} {subset}: no {on} rows to choose the best noise setting by")
    base = _noise_order(overall_grid(mic, dataset, subset)).sort_values(["_in", "_out"], kind="stable").iloc[0]
    best = grid.loc[grid["accuracy"].idxmax()]
    return Choice(
        dataset,
        subset,
        final_iterations(mic, dataset),
        (base["noise_in"], base["noise_out"]),
        (best["noise_in"], best["noise_out"]),
        on,
    )


def choices(mic: pd.DataFrame, by: str = "auto") -> dict[tuple[str, str], Choice]:
    """choose_models for every (dataset, subset) in the results."""
    pairs = mic[["dataset", "subset"]].drop_duplicates().itertuples(index=False)
    return {(d, s): choose_models(mic, d, s, by) for d, s in pairs}


def rows_where(frame: pd.DataFrame, **equal) -> pd.DataFrame:
    """Rows of `frame` whose columns equal the given values."""
    mask = pd.Series(True, index=frame.index)
    for column, value in equal.items():
        mask &= frame[column] == value
    return frame[mask]


def per_replicate(rows: pd.DataFrame, column: str = "accuracy") -> pd.Series:
    """`column` per replicate (index named "rep"); a table without replicates gives its one value, index unnamed.

    An unnamed index marks a value that does not vary between replicates (1-NN needs no training):
    mic.evidence.verdicts pairs it with every replicate of the other side.
    """
    if "rep" in rows.columns:
        return rows.groupby("rep")[column].mean().rename(column)
    return pd.Series([rows[column].mean()] if len(rows) else [], dtype=float, name=column)


def mic_reps(
    mic: pd.DataFrame,
    dataset: str,
    subset: str,
    noise: tuple[str, str],
    iterations: int,
    column: str = "accuracy",
    cls: str = ALL,
) -> pd.Series:
    """One number of one configuration per replicate (test rows), indexed by rep."""
    rows = rows_where(
        split_rows(mic),
        dataset=dataset,
        subset=subset,
        noise_in=noise[0],
        noise_out=noise[1],
        iterations=iterations,
        **{"class": cls},
    )
    return per_replicate(rows, column)


def mic_interval(mic: pd.DataFrame, *where: object, **options: object) -> Interval:
    """One number of one configuration (mic_reps' arguments): mean over replicates with its 95 % t-interval."""
    return t_interval(mic_reps(mic, *where, **options))


def baseline_reps(baselines: pd.DataFrame, dataset: str, training_set: str) -> pd.Series:
    """Forward baseline's overall test accuracy per replicate."""
    rows = baselines[
        (baselines["dataset"] == dataset) & (baselines["training_set"] == training_set) & (baselines["class"] == ALL)
    ]
    return per_replicate(rows)


def baseline_accuracy(baselines: pd.DataFrame, dataset: str, training_set: str) -> float:
    """Forward baseline's overall test accuracy (mean over replicates); NaN when absent."""
    return baseline_interval(baselines, dataset, training_set).mean


def baseline_interval(baselines: pd.DataFrame, dataset: str, training_set: str) -> Interval:
    """Forward baseline's overall test accuracy: mean over replicates with its 95 % t-interval."""
    return t_interval(baseline_reps(baselines, dataset, training_set))


def nearest_reps(nearest: pd.DataFrame, dataset: str, subset: str, metric: str) -> pd.Series:
    """Nearest-prototype 1-NN overall accuracy per replicate (one unnamed value when not replicated)."""
    rows = nearest[
        (nearest["dataset"] == dataset)
        & (nearest["subset"] == subset)
        & (nearest["metric"] == metric)
        & (nearest["class"] == ALL)
    ]
    return per_replicate(rows)


def nearest_accuracy(nearest: pd.DataFrame, dataset: str, subset: str, metric: str) -> float:
    """Nearest-prototype 1-NN overall accuracy; NaN when that metric was not run."""
    return nearest_interval(nearest, dataset, subset, metric).mean


def nearest_interval(nearest: pd.DataFrame, dataset: str, subset: str, metric: str) -> Interval:
    """1-NN overall accuracy with its 95 % t-interval; without replicates it cannot vary (no training): ± 0."""
    values = nearest_reps(nearest, dataset, subset, metric)
    if values.index.name == "rep" or values.empty:
        return t_interval(values)
    return Interval(float(values.iloc[0]), 0.0, 1, "no training: the same in every replicate")


def extended_reps(
    extended: pd.DataFrame, dataset: str, subset: str, variant: str, model: str = "best", split: str = TEST
) -> pd.Series:
    """An inversion variant's overall accuracy per replicate, on the base or best model's generators."""
    rows = rows_where(extended, dataset=dataset, subset=subset, variant=variant, model=model, split=split)
    return per_replicate(rows[rows["class"] == ALL])


def best_variant(extended: pd.DataFrame, dataset: str, subset: str, model: str = "best") -> str | None:
    """The variant with the highest mean validation accuracy (never the test split); None where none ran."""
    rows = rows_where(extended, dataset=dataset, subset=subset) if len(extended) else extended
    means = {
        v: extended_reps(extended, dataset, subset, v, model, "validation").mean() for v in set(rows.get("variant", []))
    }
    means = {v: m for v, m in means.items() if pd.notna(m)}
    return max(sorted(means), key=means.get) if means else None
