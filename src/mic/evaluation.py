"""Accuracy tables shared by MIC and the baselines: overall ("all") and per class."""

from __future__ import annotations

import numpy as np
import pandas as pd

ALL = "all"


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
