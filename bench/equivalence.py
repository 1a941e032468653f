"""Equivalence of two runs that differ only in their arithmetic: same config, same seeds, new kernels.

A change to the kernels' arithmetic (cheaper activations, noise drawn in the kernel, other multiply-add
fusion) must leave the paper's results the same, judged on all cells together. Given the `results/tables`
folders of the run before and the run after, every cell of the paper's numbers is compared replicate by
replicate:

- MIC's base (no noise) and validation-best setting, after every recorded iteration count, per data set and
  subset: the setting the run before chose on its validation samples, in both runs, so that a cell compares
  the same models (where the run after would choose another, the table says so);
- every forward baseline (per data set and training set) whose accuracy changed in some replicate (torch
  trains them, so a kernel change leaves them bit for bit the same: such cells would only dilute the mean);
- the extended inversion's variants on the validation-best setting (per data set, subset and variant).

Each cell gets the differences after − before per replicate, their mean and 95 % t-interval over
replicates. The runs are equivalent when the mean of the cells' mean differences lies within ±TOLERANCE, and
no more cells have an interval that excludes 0 than chance allows at 95 % (the 95th percentile of
Binomial(cells, 0.05): 3 of 28).

Prints the table of every cell as Markdown, then the two criteria; last line `equivalent: yes|no`. With
`--page FILE` it also writes them as a documentation page, headed by `--label` (what the two runs were).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd
from scipy import stats

from mic.evidence.collect import read_tables
from mic.evidence.intervals import LEVEL, t_interval
from mic.evidence.selection import (
    Choice,
    baseline_reps,
    choices,
    extended_reps,
    mic_reps,
    split_rows,
    with_validation,
)
from mic.io import write_atomic
from mic.summary import markdown_table

TOLERANCE = 0.005  # the largest mean difference over the cells that still counts as the same results
CHANCE = 1 - LEVEL  # the share of cells whose interval excludes 0 when nothing changed


Cells = dict[tuple, pd.Series]  # (model, dataset, subset, variant, iterations) -> accuracy per replicate


def _mic(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return with_validation(tables["mic_accuracy"], tables.get("mic_validation"))


def _noise(noise: tuple[str, str]) -> str:
    return f"in {noise[0]}, out {noise[1]}"


def mic_cells(tables: dict[str, pd.DataFrame], chosen: dict[tuple[str, str], Choice]) -> Cells:
    """MIC's base and best accuracy per replicate, the best being the setting of `chosen`, at every K."""
    mic, cells = _mic(tables), {}
    for (dataset, subset), choice in chosen.items():
        iterations = sorted(split_rows(mic).query("dataset == @dataset")["iterations"].unique())
        for model in ("base", "best"):
            for k in iterations:
                reps = mic_reps(mic, dataset, subset, getattr(choice, model), int(k))
                cells[("MIC", dataset, subset, model, f"K={k}")] = reps
    return cells


def baseline_cells(tables: dict[str, pd.DataFrame]) -> Cells:
    """Every forward baseline's accuracy per replicate."""
    baselines = tables["baselines"]
    pairs = baselines[["dataset", "training_set"]].drop_duplicates().itertuples(index=False)
    return {("forward LSTM", d, t, "", ""): baseline_reps(baselines, d, t) for d, t in pairs}


def extended_cells(tables: dict[str, pd.DataFrame]) -> Cells:
    """Every extended variant's accuracy per replicate (on the validation-best setting, as the runs made it)."""
    extended = tables.get("mic_extended", pd.DataFrame())
    if extended.empty:
        return {}
    triples = extended[["dataset", "subset", "variant"]].drop_duplicates().itertuples(index=False)
    return {("MIC extended", d, s, v, ""): extended_reps(extended, d, s, v) for d, s, v in triples}


def allowed_exclusions(n_cells: int) -> int:
    """How many of n cells may have an interval excluding 0 by chance: Binomial(n, 0.05)'s 95th percentile."""
    return int(stats.binom.ppf(LEVEL, n_cells, CHANCE))


def compare(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per cell both runs have: the mean difference after − before, its interval, replicates."""
    chosen, rechosen = choices(_mic(before)), choices(_mic(after))
    old = {**mic_cells(before, chosen), **baseline_cells(before), **extended_cells(before)}
    new = {**mic_cells(after, chosen), **baseline_cells(after), **extended_cells(after)}
    rows = []
    for key in [k for k in old if k in new]:
        interval = t_interval((new[key] - old[key]).dropna())
        setting = ""
        if key[0] == "MIC":
            setting = _noise(getattr(chosen[key[1:3]], key[3]))
            if key[3] == "best" and key[1:3] in rechosen and rechosen[key[1:3]].best != chosen[key[1:3]].best:
                setting += f" (after would choose {_noise(rechosen[key[1:3]].best)})"
        if key[0] == "forward LSTM" and (new[key] - old[key]).eq(0).all():
            continue
        rows.append((*key, setting, interval.mean, interval.low, interval.high, interval.reps))
    columns = ["model", "dataset", "subset", "variant", "iterations", "setting", "difference", "low", "high", "reps"]
    table = pd.DataFrame(rows, columns=columns)
    table["excludes 0"] = (table["low"] > 0) | (table["high"] < 0)
    return table


def verdict(table: pd.DataFrame) -> tuple[list[str], bool]:
    """The two criteria in words, and whether both hold."""
    overall = t_interval(table["difference"])
    within = abs(overall.mean) <= TOLERANCE
    excluded, allowed = int(table["excludes 0"].sum()), allowed_exclusions(len(table))
    lines = [
        f"mean difference over the {len(table)} cells: {overall.mean:+.4f} "
        f"[{overall.low:+.4f}, {overall.high:+.4f}] (95 % t-interval over the cells); within ±{TOLERANCE}: "
        f"{'yes' if within else 'no'}",
        f"cells whose interval excludes 0: {excluded} of {len(table)} (chance allows {allowed})",
    ]
    return lines, within and excluded <= allowed and not math.isnan(overall.mean)


def report(table: pd.DataFrame) -> tuple[str, list[str]]:
    """The table of every cell as Markdown; the two criteria and the verdict line."""
    intervals = zip(table["difference"], table["low"], table["high"])
    shown = table.assign(difference=[f"{d:+.4f} [{lo:+.4f}, {hi:+.4f}]" for d, lo, hi in intervals])
    lines, equivalent = verdict(table)
    return markdown_table(shown.drop(columns=["low", "high"])), [*lines, f"equivalent: {'yes' if equivalent else 'no'}"]


def page(cells: str, lines: list[str], label: str) -> str:
    """report() as a documentation page: what it compares and how, then the table and the verdict."""
    how = (
        "Every cell of the paper's numbers, paired replicate by replicate (after − before, mean [95 % t-interval "
        "over the replicates]); the runs count as equivalent when the mean over the cells lies within "
        f"±{TOLERANCE} and no more cells exclude 0 than chance allows. Written by `python bench/equivalence.py "
        "BEFORE AFTER --page`; the method: [performance.md](performance.md)."
    )
    items = "\n".join(f"- {line}" for line in lines)
    return f"# The arithmetic's equivalence\n\n{label}\n\n{how}\n\n{cells}\n\n{items}\n"


def main() -> None:
    """Compare two runs' tables and print the table, the criteria and the verdict (and write them as a page)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path, help="results/tables of the run with the old arithmetic")
    parser.add_argument("after", type=Path, help="results/tables of the run with the new arithmetic")
    parser.add_argument("--page", type=Path, help="also write the comparison as this Markdown page")
    parser.add_argument("--label", default="", help="the page's first paragraph: the two runs' code and machine")
    args = parser.parse_args()
    table = compare(read_tables(args.before), read_tables(args.after))
    if table.empty:
        raise SystemExit(f"{args.before} and {args.after} share no cell: not runs of the same config")
    cells, lines = report(table)
    print("\n".join([cells, "", *lines]))
    if args.page:
        write_atomic(args.page, lambda tmp: tmp.write_text(page(cells, lines, args.label)))


if __name__ == "__main__":
    main()
