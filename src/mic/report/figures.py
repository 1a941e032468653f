"""The report's figures: functions that take tables and arrays and return matplotlib figures."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # the report runs headless under papermill
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from mic.method import PROTOTYPES_PER_CLASS
from mic.plotting import draw_sequence
from mic.report.compare import HALF_WIDTH
from mic.report.diagnostics import diagonal_wins


def png_bytes(fig: plt.Figure, dpi: int = 110) -> bytes:
    """A figure as PNG bytes for showing without a file, trimmed to its drawn area; frees the figure.

    Files are saved with mic.plotting.save_figure; this is for a figure the report shows but does not keep.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def headline_figure(summary: pd.DataFrame) -> plt.Figure:
    """Table 6 (accuracy.summary_table) drawn: per data set, ours (mean ± 95 % over replicates) beside the paper."""
    datasets = list(dict.fromkeys(summary.columns.get_level_values(0)))
    rows = list(summary.index)
    fig, axes = plt.subplots(
        1, len(datasets), figsize=(4.2 * len(datasets) + 1.5, 0.42 * len(rows) + 1.4), sharey=True, squeeze=False
    )
    y = np.arange(len(rows))
    for ax, dataset in zip(axes[0], datasets):
        block = summary[dataset]
        ax.errorbar(
            block["ours"], y, xerr=block[HALF_WIDTH].fillna(0), fmt="o", color="C0", capsize=3, label="ours ± 95 %"
        )
        ax.scatter(block["paper"], y, marker="x", s=50, color="C3", zorder=3, label="paper (one run)")
        ax.set_title(dataset)
        ax.set_xlabel("test accuracy")
        ax.set_xlim(0, 1.02)
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_yticks(y, rows)
    axes[0, 0].invert_yaxis()
    # Above the panels, where no data point can be: inside, any corner may hold a row's interval.
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return fig


def prototypes_figure(subsets: Mapping[str, np.ndarray], classes: Sequence[str], style: str, title: str) -> plt.Figure:
    """Prototypes per class: a column per class, a row per prototype and subset; `subsets`: subset -> [K, P, T, C]."""
    n_rows = PROTOTYPES_PER_CLASS * len(subsets)
    fig, axes = plt.subplots(n_rows, len(classes), figsize=(1.1 * len(classes) + 1, 1.1 * n_rows), squeeze=False)
    for s, (subset, sequences) in enumerate(subsets.items()):
        for p in range(PROTOTYPES_PER_CLASS):
            row = PROTOTYPES_PER_CLASS * s + p
            for k, name in enumerate(classes):
                draw_sequence(axes[row, k], sequences[k, p], style, color=f"C{s}")
                if row == 0:
                    axes[row, k].set_title(name)
            axes[row, 0].set_ylabel(f"{subset} {p + 1}", rotation=0, ha="right", va="center")
    fig.suptitle(f"{title}: {PROTOTYPES_PER_CLASS} prototypes per class (columns: classes; rows: subset and prototype)")
    return fig


def reconstructions_figure(found: Mapping[str, np.ndarray], style: str, title: str) -> plt.Figure:
    """Figures 5/6: one module's prototypes, unseen targets and their reconstructions with mixture weights.

    `found` holds a reconstructions.npz: prototypes [P, T, C], targets and reconstructions [n, T, C], mixtures [n, P]
    (P = PROTOTYPES_PER_CLASS).
    """
    prototypes, targets, recons, mixtures = (found[k] for k in ("prototypes", "targets", "reconstructions", "mixtures"))
    columns = max(PROTOTYPES_PER_CLASS, len(targets))
    fig, axes = plt.subplots(3, columns, figsize=(1.8 * columns, 5.8), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for p in range(len(prototypes)):
        axes[0, p].set_axis_on()
        draw_sequence(axes[0, p], prototypes[p], style, color="C0")
        axes[0, p].set_title(f"type {p}")
    for i in range(len(targets)):
        for row, sequence, color in ((1, targets[i], "C1"), (2, recons[i], "C2")):
            axes[row, i].set_axis_on()
            draw_sequence(axes[row, i], sequence, style, color=color)
        axes[1, i].set_title(f"target {i}")
        axes[2, i].set_title("/".join(f"{w:.2f}" for w in mixtures[i]), fontsize=9)
    for row, label in enumerate(("prototypes", "targets", "reconstructions")):
        axes[row, 0].set_ylabel(label)
    types = f"0-{PROTOTYPES_PER_CLASS - 1}"
    fig.suptitle(f"{title}: module '{found['module']}'; bottom titles: mixture weights of types {types}")
    return fig


def heatmap_figure(rows: Mapping[str, Mapping[str, pd.DataFrame]], title: str) -> plt.Figure:
    """Figure 7: module x target class mean loss, one row per data set (`rows`: label -> split -> matrix).

    The splits of a row share one colour scale (data sets' losses differ by an order of magnitude); dark is
    low loss, so a good model has a dark diagonal. Each panel's title gives diagonal_wins.
    """
    splits = list(dict.fromkeys(split for matrices in rows.values() for split in matrices))
    size = max(0.4 * max(len(m) for matrices in rows.values() for m in matrices.values()) + 2, 3.0)
    fig, axes = plt.subplots(
        len(rows),
        len(splits),
        figsize=(len(splits) * size + 1, len(rows) * size),
        squeeze=False,
        constrained_layout=True,
    )
    for i, (label, matrices) in enumerate(rows.items()):
        low = min(m.min().min() for m in matrices.values())
        high = max(m.max().max() for m in matrices.values())
        for j, split in enumerate(splits):
            ax, matrix = axes[i, j], matrices.get(split)
            if matrix is None:
                ax.set_axis_off()
                continue
            sns.heatmap(
                matrix,
                ax=ax,
                vmin=low,
                vmax=high,
                cmap="rocket",
                square=True,
                annot=len(matrix) <= 10,
                fmt=".2f",
                xticklabels=True,
                yticklabels=True,
                cbar=j == len(splits) - 1,
                cbar_kws={"label": "mean reconstruction loss (MSE)"},
            )
            wins = diagonal_wins(matrix)
            ax.set_title(f"{label}, {split} data\nown module lowest for {wins:.0%} of classes", fontsize=11)
            ax.set_xlabel("target class")
            ax.set_ylabel("module (generator)")
    fig.suptitle(title)
    return fig


def confusion_figure(counts: pd.DataFrame, title: str) -> plt.Figure:
    """True x predicted counts, coloured by the share of each true class, with the overall accuracy."""
    shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)
    size = 0.4 * len(counts) + 2.5
    fig, ax = plt.subplots(figsize=(size + 1, size), constrained_layout=True)
    sns.heatmap(
        shares,
        ax=ax,
        vmin=0,
        vmax=1,
        cmap="Blues",
        square=True,
        annot=counts if len(counts) <= 10 else False,
        fmt="d",
        xticklabels=True,
        yticklabels=True,
        cbar_kws={"label": "share of the true class"},
    )
    total = counts.to_numpy().sum()
    accuracy = np.trace(counts.to_numpy()) / total if total else float("nan")
    ax.set_title(f"{title}: accuracy {accuracy:.3f}")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return fig


def training_loss_figure(curves: pd.DataFrame, panels: Sequence[Sequence[tuple[str, str, str]]]) -> plt.Figure:
    """Training loss over steps (loss_curve_summary): median line and 10-90 % band per noise setting.

    `panels`: rows of (dataset, subset, title) cells, one axis each.
    """
    n_rows, n_cols = len(panels), max(len(row) for row in panels)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(5.5 * n_cols, 3.8 * n_rows), squeeze=False, constrained_layout=True
    )
    for i, row in enumerate(panels):
        for j, (dataset, subset, title) in enumerate(row):
            ax = axes[i, j]
            part = curves[(curves["dataset"] == dataset) & (curves["subset"] == subset)]
            for c, ((noise_in, noise_out), line) in enumerate(part.groupby(["noise_in", "noise_out"], sort=False)):
                ax.plot(line["step"], line["median"], color=f"C{c % 10}", label=f"in {noise_in} / out {noise_out}")
                ax.fill_between(line["step"], line["q10"], line["q90"], color=f"C{c % 10}", alpha=0.15)
            ax.set_yscale("log")
            ax.set_xlabel("training step")
            ax.set_ylabel("training loss (MSE)")
            ax.set_title(title)
            if len(part):
                ax.legend(fontsize=7, title="noise", title_fontsize=7)
    return fig
