"""The shape every report table shares: the paper's printed value, ours, its interval and the difference.

"Ours" is the mean over replicates, "± 95 %" the half-width of its t-interval over replicates
(mic.evidence.intervals: training variance; NaN with one replicate); difference = ours - paper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from mic.evidence.intervals import Interval
from mic.evidence.selection import Choice, choices
from mic.report.paper import paper_runs

HALF_WIDTH = "± 95 %"  # half-width of the t-interval over replicates, beside "ours"
NOISE_COLUMNS = ("noise_in", "noise_out")


def side_by_side(
    paper: pd.DataFrame, ours: pd.DataFrame, axis: str = "columns", spread: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Interleave paper, ours (± `spread`, the half-width of its interval) and ours - paper per column or row.

    All frames are aligned on the union of paper's and ours' rows and columns, paper's order first.
    """
    index = paper.index.append(ours.index.difference(paper.index, sort=False))
    columns = paper.columns.append(ours.columns.difference(paper.columns, sort=False))
    paper = paper.reindex(index=index, columns=columns).astype(float)
    ours = ours.reindex(index=index, columns=columns).astype(float)
    parts = {"paper": paper, "ours": ours}
    if spread is not None:
        parts[HALF_WIDTH] = spread.reindex(index=index, columns=columns).astype(float)
    parts["difference"] = ours - paper
    names = list(parts)
    if axis == "columns":
        frame = pd.concat(parts, axis=1).swaplevel(0, 1, axis=1)
        return frame.reindex(columns=pd.MultiIndex.from_product([columns, names]))
    if axis != "rows":
        raise ValueError(f"axis must be 'columns' or 'rows', got {axis!r}")
    values = {name: part.to_numpy() for name, part in parts.items()}
    keys = [key if isinstance(key, tuple) else (key,) for key in index]
    rows = [values[name][i] for i in range(len(keys)) for name in names]
    tuples = [(*key, name) for key in keys for name in names]
    row_index = pd.MultiIndex.from_tuples(tuples, names=[*index.names, "value"])
    return pd.DataFrame(rows, index=row_index, columns=columns)


def interval_frames(cells: Mapping, columns: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(means, half-widths) from {row: {column: Interval}}, rows in `cells`' order."""
    means = pd.DataFrame({row: {c: i.mean for c, i in v.items()} for row, v in cells.items()}).T
    halves = pd.DataFrame({row: {c: i.half_width for c, i in v.items()} for row, v in cells.items()}).T
    return means.reindex(columns=list(columns)).astype(float), halves.reindex(columns=list(columns)).astype(float)


def gap_interval(record: Mapping) -> Interval:
    """The replicate-paired difference of one verdict record (mic.evidence.verdicts) as an Interval."""
    return Interval(record["estimate"], (record["high"] - record["low"]) / 2, record["reps"])


def mean_and_half_width(cells: Mapping, columns: Sequence[str], index_names: Sequence[str]) -> pd.DataFrame:
    """{(row keys): {column: Interval}} as columns (column, mean | ± 95 %), rows indexed by `index_names`."""
    means, halves = interval_frames(cells, columns)
    frame = pd.concat({"mean": means, HALF_WIDTH: halves}, axis=1).swaplevel(0, 1, axis=1)
    frame = frame.reindex(columns=pd.MultiIndex.from_product([list(columns), ["mean", HALF_WIDTH]]))
    frame.index = pd.MultiIndex.from_tuples(list(cells), names=list(index_names))
    return frame


def by_noise(frame: pd.DataFrame, first: Sequence[str] = (), noise: Sequence[str] = NOISE_COLUMNS) -> pd.DataFrame:
    """`frame` sorted stably by the columns `first`, then by the noise levels as numbers ('0.0001' < '0.1')."""
    numeric = set(noise)
    return frame.sort_values(
        [*first, *noise], key=lambda column: column.astype(float) if column.name in numeric else column, kind="stable"
    )


def choices_in_paper_order(mic: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]) -> list[Choice]:
    """The base and best model of every data set and subset, in the order of the paper's blocks."""
    chosen = choices(mic)
    return [chosen[run] for run in paper_runs(paper, names, list(chosen))]
