"""bench/equivalence.py: two runs' cells paired by replicate, and the two criteria of equivalence."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import equivalence  # noqa: E402

NOISE = [("0", "0"), ("0.1", "0")]
REPS = range(5)


def tables(shift: dict[tuple[str, str], float], best: tuple[str, str] = ("0.1", "0")) -> dict:
    """One data set, two subsets, two noise settings, K = 0 and 50, five replicates; `best` validates best.

    shift[(subset, noise_in)] is added to that setting's test accuracy (the "new arithmetic").
    """
    test, validation = [], []
    for subset in ("clustered", "random"):
        for noise in NOISE:
            for k in (0, 50):
                for rep in REPS:
                    row = {"dataset": "d", "subset": subset, "rep": rep, "noise_in": noise[0], "noise_out": noise[1]}
                    row |= {"iterations": k, "class": "all", "n": 100, "correct": 0, "mse": 0.1}
                    accuracy = 0.7 + 0.01 * rep + shift.get((subset, noise[0]), 0.0)
                    test.append(row | {"accuracy": accuracy})
                    validation.append(row | {"accuracy": 0.8 if noise == best else 0.6})
    baselines = pd.DataFrame(
        [
            {"dataset": "d", "training_set": t, "rep": r, "class": "all", "accuracy": 0.5}
            for t in ("clustered", "full")
            for r in REPS
        ]
    )
    return {
        "mic_accuracy": pd.DataFrame(test),
        "mic_validation": pd.DataFrame(validation),
        "baselines": baselines,
        "mic_extended": pd.DataFrame(),
    }


def test_identical_runs_are_equivalent_and_unchanged_baselines_are_left_out() -> None:
    table = equivalence.compare(tables({}), tables({}))
    assert len(table) == 2 * 2 * 2  # subsets x (base, best) x K; the two unchanged baselines are left out
    assert (table["difference"] == 0).all() and not table["excludes 0"].any()
    assert equivalence.verdict(table)[1]


def test_a_shift_in_one_setting_shows_in_its_cells_only() -> None:
    table = equivalence.compare(tables({}), tables({("random", "0.1"): 0.04}))
    moved = table[table["difference"] != 0]
    assert set(zip(moved["subset"], moved["variant"])) == {("random", "best")}
    assert np.allclose(moved["difference"], 0.04) and moved["excludes 0"].all()
    lines, equivalent = equivalence.verdict(table)
    assert lines[0].endswith("within ±0.005: no")  # the mean: 2 x 0.04 / 8 = 0.01
    assert lines[1] == "cells whose interval excludes 0: 2 of 8 (chance allows 2)" and not equivalent


def test_the_best_setting_is_the_run_befores_choice_in_both_runs() -> None:
    table = equivalence.compare(tables({}), tables({("clustered", "0"): 0.05}, best=("0", "0")))
    best = table[(table["variant"] == "best") & (table["subset"] == "clustered")]
    assert (best["difference"] == 0).all()  # the run before chose noise 0.1, unshifted in both runs
    assert best["setting"].str.contains("after would choose in 0, out 0").all()


def test_chance_allows_three_of_twenty_eight() -> None:
    assert equivalence.allowed_exclusions(28) == 3
    assert equivalence.allowed_exclusions(8) == 2  # P(X <= 1) = 0.943, P(X <= 2) = 0.994


def test_the_page_holds_the_label_every_cell_and_the_verdict() -> None:
    cells, lines = equivalence.report(equivalence.compare(tables({}), tables({("random", "0.1"): 0.04})))
    text = equivalence.page(cells, lines, "L")
    assert text.startswith("# The arithmetic's equivalence\n\nL\n\n") and text.count("\n| MIC |") == 8
    assert "| +0.0400 [+0.0400, +0.0400] |" in text and text.endswith("- equivalent: no\n")
