"""What happens inside the models: generator training, Figure 7's module x class losses, confusion matrices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mic.evidence.selection import CONFIG_KEYS, rows_where
from mic.report.compare import by_noise
from mic.report.paper import display_name


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
    out = by_noise(out, first=["dataset", "subset"])
    return out.set_index(CONFIG_KEYS)
