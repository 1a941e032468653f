"""Tables that fit a printed page: a wide table is shown as blocks of columns, each with all its row labels.

A browser prints what is wider than the page cut off at its edge (the columns of MNIST's classes 7-9, the
characters past h). Blocks of at most MAX_COLUMNS value columns, printed in PRINT_STYLE's smaller type, fit a
portrait page beside three levels of row labels.
"""

from __future__ import annotations

import math

import pandas as pd
from pandas.io.formats.style import Styler

MAX_COLUMNS = 8
# Shown once in the notebook (an output, so the rendered HTML keeps it); it changes nothing on screen.
PRINT_STYLE = """<style>
@media print {
  table { font-size: 10px !important; }
  th, td { padding: 0.3em 0.45em !important; }
}
</style>"""


def column_groups(columns: pd.Index) -> list[list[int]]:
    """Positions of consecutive columns sharing their first label (paper | ours | ± | difference of one column)."""
    firsts = [c[0] if isinstance(c, tuple) else c for c in columns]
    groups: list[list[int]] = []
    for position, first in enumerate(firsts):
        if groups and firsts[groups[-1][-1]] == first:
            groups[-1].append(position)
        else:
            groups.append([position])
    return groups


def column_blocks(frame: pd.DataFrame, max_columns: int = MAX_COLUMNS) -> list[pd.DataFrame]:
    """`frame` as blocks of at most `max_columns` columns, of even width where whole groups allow."""
    total = frame.shape[1]
    if total <= max_columns:
        return [frame]
    width = math.ceil(total / math.ceil(total / max_columns))
    pieces = [g[i : i + max_columns] for g in column_groups(frame.columns) for i in range(0, len(g), max_columns)]
    blocks: list[list[int]] = [[]]
    for piece in pieces:
        if blocks[-1] and len(blocks[-1]) + len(piece) > width:
            blocks.append([])
        blocks[-1].extend(piece)
    return [frame.iloc[:, block] for block in blocks]


def styled_blocks(frame: pd.DataFrame, precision: int = 3) -> list[Styler]:
    """column_blocks with `precision` decimals and a dash for empty cells, captioned 'part i of n' when split."""
    blocks = column_blocks(frame)
    styled = [block.style.format(precision=precision, na_rep="–") for block in blocks]
    if len(styled) > 1:
        styled = [s.set_caption(f"part {i} of {len(styled)}") for i, s in enumerate(styled, 1)]
    return styled
