"""Verdicts on the paper's claims, generated from the tidy tables and set beside the paper's numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mic.evidence import glm as stats
from mic.evidence.selection import baseline_accuracy, choices, mic_means, mic_value
from mic.layout import ALL
from mic.report.paper import display_name, paper_frame, paper_glm, paper_iterations
from mic.report.tables import glm_comparison


def _verdict(flags: Sequence[bool | None]) -> str:
    tested = [f for f in flags if f is not None]
    if not tested:
        return "not tested"
    if all(tested):
        return "supported"
    if not any(tested):
        return "not supported"
    return f"partly supported ({sum(tested)} of {len(tested)})"


def _fmt(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3f}"


def _flag(condition: bool, *values: float) -> bool | None:
    return None if any(v is None or not np.isfinite(v) for v in values) else bool(condition)


def verdicts(
    mic: pd.DataFrame, baselines: pd.DataFrame, nearest: pd.DataFrame, paper: Mapping, names: Mapping[str, str | None]
) -> pd.DataFrame:
    """Each paper claim per data set/subset: the paper's numbers, ours, and whether ours support it."""
    records = []
    chosen = choices(mic)
    t1 = paper_frame(paper, "table1").set_index("dataset")
    t5 = paper_frame(paper, "table5").set_index("dataset")
    t6 = paper_frame(paper, "table6").set_index("row")
    t13 = paper_iterations(paper)

    def paper_value(frame, row, column):
        try:
            value = frame.loc[row, column]
        except KeyError:
            return float("nan")
        return float("nan") if value is None else float(value)

    claim = "MIC beats the forward model on all four subsets"
    for (dataset, subset), c in chosen.items():
        key = names.get(dataset)
        base = mic_value(mic, dataset, subset, c.base, c.iterations)
        best = mic_value(mic, dataset, subset, c.best, c.iterations)
        forward = baseline_accuracy(baselines, dataset, subset)
        p_base, p_best, p_fwd = (
            paper_value(t1, key, subset),
            paper_value(t6, f"{subset} (MIC best)", key),
            paper_value(t5, key, subset),
        )
        records.append(
            {
                "claim": claim,
                "scope": f"{display_name(dataset, names)} {subset}",
                "paper": f"MIC base {_fmt(p_base)} / best {_fmt(p_best)} vs forward {_fmt(p_fwd)}",
                "ours": f"MIC base {_fmt(base)} / best {_fmt(best)} vs forward {_fmt(forward)}",
                "holds": _flag(base > forward and best > forward, base, best, forward),
            }
        )

    claim = "50 iterations beat 0"
    means = mic_means(mic)
    for (dataset, subset), c in chosen.items():
        rows = means[(means["dataset"] == dataset) & (means["subset"] == subset) & (means["class"] == ALL)]
        wide = rows.pivot_table(index=["noise_in", "noise_out"], columns="iterations", values="accuracy")
        if 0 in wide.columns and c.iterations in wide.columns and c.iterations != 0:
            gain = wide[c.iterations] - wide[0]
            wins = f"{int((gain > 0).sum())} of {len(gain)} configurations"
            ours = f"{c.iterations} > 0 iterations in {wins} (mean gain {gain.mean():+.3f})"
            holds = bool((gain > 0).all())
        else:
            ours, holds = "no 0-iteration results", None
        printed = t13[(t13["dataset"] == names.get(dataset)) & (t13["subset"] == subset)]
        p_gain = printed["accuracy_K"] - printed["accuracy_0"]
        paper_text = (
            f"50 > 0 in {int((p_gain > 0).sum())} of {len(p_gain)} configurations (mean gain {p_gain.mean():+.3f})"
            if len(printed)
            else "n/a"
        )
        records.append(
            {
                "claim": claim,
                "scope": f"{display_name(dataset, names)} {subset}",
                "paper": paper_text,
                "ours": ours,
                "holds": holds,
            }
        )

    claim = "clustered beats random"
    for dataset in dict.fromkeys(mic["dataset"]):
        c, r = chosen.get((dataset, "clustered")), chosen.get((dataset, "random"))
        key = names.get(dataset)
        if c is None or r is None:
            records.append(
                {
                    "claim": claim,
                    "scope": display_name(dataset, names),
                    "paper": "",
                    "ours": "needs both subsets",
                    "holds": None,
                }
            )
            continue
        cb = mic_value(mic, dataset, "clustered", c.base, c.iterations)
        rb = mic_value(mic, dataset, "random", r.base, r.iterations)
        cbest = mic_value(mic, dataset, "clustered", c.best, c.iterations)
        rbest = mic_value(mic, dataset, "random", r.best, r.iterations)
        p_base = f"{_fmt(paper_value(t1, key, 'clustered'))} vs {_fmt(paper_value(t1, key, 'random'))}"
        p_best = (
            f"{_fmt(paper_value(t6, 'clustered (MIC best)', key))} vs {_fmt(paper_value(t6, 'random (MIC best)', key))}"
        )
        records.append(
            {
                "claim": claim,
                "scope": display_name(dataset, names),
                "paper": f"base {p_base}; best {p_best}",
                "ours": f"base {_fmt(cb)} vs {_fmt(rb)}; best {_fmt(cbest)} vs {_fmt(rbest)}",
                "holds": _flag(cb > rb, cb, rb),
            }
        )

    claim = "input noise helps"
    for dataset, subset in chosen:
        comparison = glm_comparison(mic, paper, dataset, subset, names)
        table = stats.coefficient_table(comparison.count_fit)
        terms = [t for t in table.index if t.startswith("in_")]
        _, _, printed = paper_glm(paper, names.get(dataset), subset)
        p_terms = [t for t in printed.index if t.startswith("in_")]
        paper_text = (
            ", ".join(f"{t} {printed.loc[t, 'coef']:+.3f} (p={printed.loc[t, 'P>|z|']:.2f})" for t in p_terms) or "n/a"
        )
        if terms:
            ours = (
                ", ".join(f"{t} {table.loc[t, 'coef']:+.3f} (p={table.loc[t, 'P>|z|']:.2g})" for t in terms)
                + " [counts GLM]"
            )
            holds = bool((table.loc[terms, "coef"] > 0).all())
        else:
            ours, holds = "no input-noise levels in the grid", None
        records.append(
            {
                "claim": claim,
                "scope": f"{display_name(dataset, names)} {subset}",
                "paper": paper_text,
                "ours": ours,
                "holds": holds,
            }
        )

    claim = "MIC beats 1-NN on the same prototypes (not a claim of the paper)"
    for (dataset, subset), c in chosen.items():
        rows = nearest[(nearest["dataset"] == dataset) & (nearest["subset"] == subset) & (nearest["class"] == ALL)]
        best_nn = float(rows["accuracy"].max()) if len(rows) else float("nan")
        metric = rows.loc[rows["accuracy"].idxmax(), "metric"] if len(rows) else "n/a"
        best = mic_value(mic, dataset, subset, c.best, c.iterations)
        records.append(
            {
                "claim": claim,
                "scope": f"{display_name(dataset, names)} {subset}",
                "paper": "not reported",
                "ours": f"MIC best {_fmt(best)} vs 1-NN ({metric}) {_fmt(best_nn)}",
                "holds": _flag(best > best_nn, best, best_nn),
            }
        )
    frame = pd.DataFrame(records)
    frame["holds"] = frame["holds"].map({True: "yes", False: "no", None: "n/a"}).fillna("n/a")
    return frame


def verdict_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One line per claim: supported / partly / not supported / not tested."""
    flags = table["holds"].map({"yes": True, "no": False, "n/a": None})
    summary = flags.groupby(table["claim"], sort=False).agg(lambda f: _verdict(list(f)))
    return summary.rename("verdict").reset_index()


def verdict_markdown(table: pd.DataFrame) -> str:
    """The verdict section as Markdown, generated from `verdicts`."""
    lines = []
    for claim, verdict in verdict_summary(table).itertuples(index=False):
        lines.append(f"- **{claim}**: {verdict}.")
        for row in table[table["claim"] == claim].itertuples(index=False):
            mark = {"yes": "holds", "no": "fails", "n/a": "not tested"}[row.holds]
            lines.append(f"    - {row.scope}: {mark}; ours {row.ours}; paper {row.paper}.")
    return "\n".join(lines)
