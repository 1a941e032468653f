"""The report's first screen: the paper's Table 6 beside ours, each of our accuracies with its 95 % interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mic.report.compare import HALF_WIDTH

INTERVAL = "95 % interval"


def interval_text(mean: float, half_width: float) -> str:
    """'[0.812, 0.846]', or '–' where the interval is undefined (one replicate, or nothing run).

    Bracketed rather than joined by a dash, so that a low end below 0 reads as a number.
    """
    if not (np.isfinite(mean) and np.isfinite(half_width)):
        return "–"
    return f"[{mean - half_width:.3f}, {mean + half_width:.3f}]"


def headline_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 6 (accuracy.summary_table) as paper | ours | 95 % interval per data set, one row per printed row."""
    parts = {}
    for dataset in dict.fromkeys(summary.columns.get_level_values(0)):
        block = summary[dataset]
        parts[dataset] = pd.DataFrame(
            {
                "paper": block["paper"],
                "ours": block["ours"],
                INTERVAL: [interval_text(m, h) for m, h in zip(block["ours"], block[HALF_WIDTH])],
            },
            index=summary.index,
        )
    frame = pd.concat(parts, axis=1)
    frame.index.name = "Table 6"
    return frame
