"""Per-job score tables: accuracy overall ("all") and per class, MIC predictions and summaries, Figure 7 losses."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mic.layout import ALL


def accuracy_table(true: np.ndarray, predicted: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """Rows class ('all' first), n, correct, accuracy from class indices."""
    correct = np.asarray(true) == np.asarray(predicted)
    rows = [(ALL, len(correct), int(correct.sum()))]
    for k, name in enumerate(class_names):
        members = np.asarray(true) == k
        rows.append((name, int(members.sum()), int(correct[members].sum())))
    table = pd.DataFrame(rows, columns=["class", "n", "correct"])
    table["accuracy"] = table["correct"] / table["n"].where(table["n"] > 0)
    return table


def prediction_table(
    losses: np.ndarray,
    mixtures: dict[int, np.ndarray],
    labels: np.ndarray,
    samples: np.ndarray,
    class_names: list[str],
) -> pd.DataFrame:
    """One row per (sample, reported iteration): prediction, every module's loss, winner's mixture.

    losses: [K+1, N, G]; mixtures: iteration -> [N, G, 4] for each reported iteration.
    """
    names = np.array(class_names)
    frames = []
    for iteration, mixture in mixtures.items():
        loss = losses[iteration]
        winner = loss.argmin(axis=1)
        frame = pd.DataFrame(
            {
                "sample": samples,
                "true_class": names[labels],
                "iterations": iteration,
                "predicted_class": names[winner],
                "correct": (winner == labels).astype(int),
            }
        )
        frame = frame.join(pd.DataFrame(loss, columns=[f"loss_{c}" for c in class_names]))
        chosen = mixture[np.arange(len(winner)), winner]
        frame = frame.join(pd.DataFrame(chosen, columns=[f"mixture_{i + 1}" for i in range(chosen.shape[1])]))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def overall_and_per_class_mean(values: np.ndarray, labels: np.ndarray, n_classes: int) -> list[float]:
    """Mean over all samples, then over each class's samples (NaN for an empty class): accuracy_table's row order."""
    return [values.mean()] + [values[labels == k].mean() if (labels == k).any() else np.nan for k in range(n_classes)]


def summary_table(
    losses: np.ndarray, iterations: list[int], labels: np.ndarray, class_names: list[str]
) -> pd.DataFrame:
    """Accuracy and MSE (winning module's and true module's loss) overall and per class, per iteration."""
    frames = []
    rows = np.arange(len(labels))
    for iteration in iterations:
        loss = losses[iteration]
        table = accuracy_table(labels, loss.argmin(axis=1), class_names)
        table["mse"] = overall_and_per_class_mean(loss.min(axis=1), labels, len(class_names))
        table["mse_true"] = overall_and_per_class_mean(loss[rows, labels], labels, len(class_names))
        table.insert(0, "iterations", iteration)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def heatmap_table(final_losses: np.ndarray, labels: np.ndarray, class_names: list[str], split: str) -> pd.DataFrame:
    """Figure 7: mean final loss of each module on the samples of each true class."""
    rows = []
    for k, target in enumerate(class_names):
        members = labels == k
        for g, module in enumerate(class_names):
            rows.append((split, module, target, float(final_losses[members, g].mean()), int(members.sum())))
    return pd.DataFrame(rows, columns=["split", "module", "target_class", "mean_loss", "n"])


def per_class_sample(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Positions of up to `per_class` samples of each class, seeded, in ascending order."""
    rng = np.random.default_rng(seed)
    picks = []
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        picks.append(members if len(members) <= per_class else rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(picks))
