"""Do the verdicts survive a rerun? Every claim of several runs (e.g. two base seeds) side by side.

Each run is a results/tables folder written by `collect_results`; its claims are decided exactly as the
report decides them (mic.evidence.verdicts.claim_table: best settings chosen on validation, 95 % interval of
the replicate-paired difference against the claim's registered margin, four outcomes). Cells are matched on
(claim, dataset, subset, model), not on the scope text, which names the run's own choices (its best noise
setting, its best inversion variant). A run with robustness tables adds the robustness claims
(mic.evidence.robustness); a folder written before those tables existed is read without them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from mic.evidence.collect import TABLE_FILES, read_tables
from mic.evidence.robustness import robustness_claim_table, robustness_tables, stacked
from mic.evidence.selection import with_validation
from mic.evidence.verdicts import KEY_COLUMNS, claim_table

CELL = ["claim", *KEY_COLUMNS]
# the columns each run contributes, suffixed by its label
PER_RUN = ("verdict", "estimate", "low", "high", "reps", "same_on_rerun")
REQUIRED = ("mic_accuracy", "baselines", "nearest_prototype")  # the tables every claim needs


class RunTablesError(ValueError):
    """A run's tables folder lacks a table the claims need."""


def run_claims(tables_dir: str | os.PathLike) -> pd.DataFrame:
    """The claim table (VERDICT_COLUMNS + KEY_COLUMNS) of one run's results/tables folder."""
    tables_dir = Path(tables_dir)
    for name in REQUIRED:
        if not (tables_dir / TABLE_FILES[name]).is_file():
            raise RunTablesError(
                f"{tables_dir / TABLE_FILES[name]}: missing; expected a results/tables folder written by the "
                "pipeline's collect_results rule"
            )
    tables = read_tables(tables_dir)
    mic = with_validation(tables["mic_accuracy"], tables.get("mic_validation"))
    table = claim_table(mic, tables["baselines"], tables["nearest_prototype"], extended=tables.get("mic_extended"))
    robust = robustness_tables(tables)
    return stacked(table, robustness_claim_table(robust["corruptions"], robust["outliers"], robust["attacks"]))


def compare_runs(runs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per cell: each run's verdict, estimate, interval and replicates, and whether all verdicts agree.

    A cell that one run lacks (a data set it did not run) shows that run's verdict as "missing" and never
    counts as agreeing.
    """
    if not runs:
        raise ValueError("no runs to compare")
    merged = None
    for label, table in runs.items():
        part = table[[*CELL, *PER_RUN]].rename(columns={c: f"{c} {label}" for c in PER_RUN})
        merged = part if merged is None else merged.merge(part, on=CELL, how="outer", sort=False)
    verdicts = merged[[f"verdict {label}" for label in runs]].fillna("missing")
    merged[verdicts.columns] = verdicts
    merged["same"] = verdicts.nunique(axis=1).eq(1) & ~verdicts.eq("missing").any(axis=1)
    return merged.reset_index(drop=True)


def agreement_line(comparison: pd.DataFrame) -> str:
    """`verdicts agree: <same> of <cells> cells (expected from each run's replicates: <label> <sum> of <n>, ...)`.

    The expectation sums a run's `same_on_rerun` (the chance of the same one of the four outcomes) over the <n>
    cells that have it: how many of them a rerun would keep, judged from that run alone, to set the observed
    count against.
    """
    line = f"verdicts agree: {int(comparison['same'].sum())} of {len(comparison)} cells"
    prefix = "same_on_rerun "
    chances = {c.removeprefix(prefix): comparison[c].dropna() for c in comparison if c.startswith(prefix)}
    expected = ", ".join(f"{label} {p.sum():.1f} of {len(p)}" for label, p in chances.items())
    return f"{line} (expected from each run's replicates: {expected})" if expected else line
