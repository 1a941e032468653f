"""The verdicts on the paper's claims set beside the paper's own numbers.

mic.evidence.verdicts decides every cell (a claim in one data set, subset and model) in one of four outcomes:
equivalent, supported, contradicted or inconclusive; a claim is summed up by counting its cells' outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mic.evidence import verdicts as claims
from mic.evidence.selection import choices
from mic.report.paper import display_name, paper_frame, paper_runs

REPORT_COLUMNS = [
    "claim",
    "scope",
    "paper",
    "estimate",
    "low",
    "high",
    "reps",
    "margin",
    "verdict",
    "same_on_rerun",
    "reason",
]


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
    the margin δ, the verdict (one of four outcomes), the chance a rerun keeps it, and its reason
    (see mic.evidence.verdicts)."""
    chosen = choices(mic)
    ordered = {run: chosen[run] for run in paper_runs(paper, names, list(chosen))}
    table = claims.claim_table(mic, baselines, nearest, lambda dataset: display_name(dataset, names), ordered, extended)
    printed = _Printed(paper)
    table["paper"] = [
        "not reported"
        if row["claim"] in (claims.NEAREST, claims.EXTENDED)
        else _fmt(printed.difference(row, names.get(row["dataset"])))
        for _, row in table.iterrows()
    ]
    return table[REPORT_COLUMNS]


def verdict_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim (the index, in the table's order): its cells, how many got each of the four outcomes,
    and that count in words (mic.evidence.verdicts.claim_summary, the count `mic verdicts` prints)."""
    return claims.claim_summary(table).set_index("claim")


def verdict_counts(table: pd.DataFrame) -> pd.DataFrame:
    """verdict_summary's numbers alone: per claim, its cells and the count of each of the four outcomes."""
    return verdict_summary(table).drop(columns="summary")


def count_sentence(counts: pd.Series) -> str:
    """One claim's row of verdict_counts in words: 'supported in 7 of 8 cells, inconclusive in 1' (count_line)."""
    found = counts.reindex(claims.OUTCOMES).fillna(0).astype(int)
    return claims.count_line(pd.Series(np.repeat(found.index, found.to_numpy())))


def outcome_legend(table: pd.DataFrame) -> str:
    """The rule that gives each cell one of the four outcomes, in words, with the margins `table` was decided with."""
    margins = sorted(set(table["margin"].dropna())) if "margin" in table else []
    delta = " or ".join(f"{m:g}" for m in margins) or "the claim's margin"
    return (
        f"*{claims.EQUIVALENT}*: the 95 % interval of the difference lies within ±δ (δ = {delta}: a difference "
        f"that small is no difference); otherwise *{claims.SUPPORTED}*: it lies above 0; "
        f"*{claims.CONTRADICTED}*: below 0; *{claims.INCONCLUSIVE}*: it contains 0 and reaches past ±δ, or the "
        f"cell has fewer than {claims.MIN_REPS} replicates."
    )


def verdict_markdown(table: pd.DataFrame) -> str:
    """The verdict section as Markdown, generated from `verdicts`."""
    lines = []
    for claim, sentence in verdict_summary(table)["summary"].items():
        lines.append(f"- **{claim}**: {sentence}.")
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
