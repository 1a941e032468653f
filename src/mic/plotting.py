"""Figures of sequences: characters as pen paths, MNIST rows as images, anything else as channel traces."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # rules run headless
import matplotlib.pyplot as plt
import numpy as np

from mic.io import write_atomic

STYLES = ("path", "image", "lines")


def draw_sequence(ax: plt.Axes, sequence: np.ndarray, style: str, **kwargs) -> None:
    """Draw one [T, C] sequence on `ax` in the data set's style."""
    if style == "path":
        ax.plot(sequence[:, 0], sequence[:, 1], **kwargs)
        ax.set_aspect("equal", adjustable="datalim")
    elif style == "image":
        ax.imshow(sequence, cmap="gray_r", vmin=0.0, vmax=1.0)
    elif style == "lines":
        ax.plot(sequence, **kwargs)
    else:
        raise ValueError(f"plot style must be one of {STYLES}, got {style!r}")
    ax.set_xticks([])
    ax.set_yticks([])


def prototype_grid(sequences: np.ndarray, class_names: list[str], style: str, title: str) -> plt.Figure:
    """One row per class, one column per prototype, from [K, P, T, C] sequences."""
    n_classes, n_protos = sequences.shape[:2]
    fig, axes = plt.subplots(
        n_classes, n_protos, figsize=(1.6 * n_protos, 1.4 * n_classes), squeeze=False, constrained_layout=True
    )
    for k in range(n_classes):
        for p in range(n_protos):
            draw_sequence(axes[k, p], sequences[k, p], style)
        axes[k, 0].set_ylabel(class_names[k], rotation=0, ha="right", va="center", fontsize=12)
    for p in range(n_protos):
        axes[0, p].set_title(f"prototype {p + 1}", fontsize=9)
    fig.suptitle(title)
    return fig


def save_figure(fig: plt.Figure, path: str | os.PathLike, dpi: int = 110) -> None:
    """Save a figure atomically as PNG and free it."""
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))
    plt.close(fig)
