"""The verdicts on the paper's claims (mic.evidence.verdicts) set beside the paper's own numbers."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mic.evidence import verdicts as claims
from mic.evidence.selection import choices
from mic.evidence.verdicts import claim_summary, claim_table
from mic.report.paper import display_name, paper_frame, paper_runs

REPORT_COLUMNS = ["claim", "scope", "paper", "estimate", "low", "high", "reps", "verdict", "same_on_rerun", "reason"]


def _fmt(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:+.3f}"


class _Printed:
    """The paper's Tables 1, 4, 5 and 6 as lookups (NaN where a cell is not printed)."""

    def __init__(self, paper: Mapping) -> None:
        self.t1 = paper_frame(paper, "table1").set_index("dataset")
        self.t4 = paper_frame(paper, "table4").set_index(["dataset", "subset", "iterations"])
        self.t5 = paper_frame(paper, "table5").set_index("dataset")
        self.t6 = paper_frame(paper, "table6").set_index("row")

    @staticmethod
    def _get(frame: pd.DataFrame, row, column) -> float:
        try:
            value = frame.loc[row, column]
        except KeyError:
            return float("nan")
        return float("nan") if value is None else float(value)

    def mic(self, key: str | None, subset: str, model: str) -> float:
        """MIC base (Table 1) or best (Table 6) accuracy after 50 iterations."""
        if model == "base":
            return self._get(self.t1, key, subset)
        return self._get(self.t6, f"{subset} (MIC best)", key)

    def difference(self, row: pd.Series, key: str | None) -> float:
        """The paper's value of the difference a verdict row tests (one run, so no interval)."""
        subset, model = row["subset"], row["model"]
        if row["claim"] == claims.FORWARD:
            return self.mic(key, subset, model) - self._get(self.t5, key, subset)
        if row["claim"] == claims.ITERATIONS:
            column = "accuracy" if model == "base" else "accuracy best"
            return self._get(self.t4, (key, subset, 50), column) - self._get(self.t4, (key, subset, 0), column)
        if row["claim"] == claims.CLUSTERED:
            return self.mic(key, "clustered", model) - self.mic(key, "random", model)
        if row["claim"] == claims.NOISE:
            return self.mic(key, subset, "best") - self.mic(key, subset, "base")
        return float("nan")


def verdicts(
    mic: pd.DataFrame,
    baselines: pd.DataFrame,
    nearest: pd.DataFrame,
    paper: Mapping,
    names: Mapping[str, str | None],
    extended: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each claim per data set/subset: the paper's difference beside ours (estimate, 95 % interval, replicates),
    the three-valued verdict, the chance a rerun keeps it, and its reason (see mic.evidence.verdicts)."""
    chosen = choices(mic)
    ordered = {run: chosen[run] for run in paper_runs(paper, names, list(chosen))}
    table = claim_table(mic, baselines, nearest, lambda dataset: display_name(dataset, names), ordered, extended)
    printed = _Printed(paper)
    table["paper"] = [
        "not reported"
        if row["claim"] in (claims.NEAREST, claims.EXTENDED)
        else _fmt(printed.difference(row, names.get(row["dataset"])))
        for _, row in table.iterrows()
    ]
    return table[REPORT_COLUMNS]


def verdict_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One line per claim: supported / contradicted / inconclusive, and the count of each over its cells."""
    return claim_summary(table)


def verdict_markdown(table: pd.DataFrame) -> str:
    """The verdict section as Markdown, generated from `verdicts`."""
    lines = []
    for claim, verdict, cells in verdict_summary(table).itertuples(index=False):
        lines.append(f"- **{claim}**: {verdict} ({cells}).")
        for row in table[table["claim"] == claim].itertuples(index=False):
            interval = (
                f"[{row.low:+.3f}, {row.high:+.3f}]"
                if np.isfinite(row.low) and np.isfinite(row.high)
                else "no interval"
            )
            rerun = f"; a rerun keeps it with chance {row.same_on_rerun:.2f}" if np.isfinite(row.same_on_rerun) else ""
            lines.append(
                f"    - {row.scope}: *{row.verdict}*{rerun}; ours {_fmt(row.estimate)} {interval} over {row.reps} "
                f"replicate(s); paper {row.paper}; {row.reason}."
            )
    return "\n".join(lines)
