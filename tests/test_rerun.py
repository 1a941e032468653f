"""mic.evidence.rerun and `mic verdicts`: the verdicts of two runs side by side, from their tables folders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mic import cli
from mic.evidence import rerun
from mic.evidence import verdicts as v
from mic.evidence.collect import TABLE_FILES
from test_verdicts import synthetic


def write_run(folder: Path, effects: dict[str, float], seed: int, sd: float = 0.01) -> Path:
    """A results/tables folder with the synthetic run's three tables; the others empty, as a run without them."""
    mic, baselines, nearest = synthetic(effects, seed=seed, sd=sd)
    folder.mkdir(parents=True)
    for file in TABLE_FILES.values():
        (folder / file).write_text("")
    for name, table in {"mic_accuracy": mic, "baselines": baselines, "nearest_prototype": nearest}.items():
        table.to_csv(folder / TABLE_FILES[name], sep="\t", index=False)
    return folder


CLEAR = {"forward": 0.2, "iterations": 0.2, "clustered": 0.2, "nearest": 0.2, "noise": 0.1}


def test_two_seeds_of_a_clear_truth_agree_on_every_cell(tmp_path: Path) -> None:
    """Different replicate noise (two base seeds), the same clear effects: every verdict is the same."""
    a, b = (rerun.run_claims(write_run(tmp_path / f"run{s}", CLEAR, seed=s)) for s in (1, 2))
    assert not a["estimate"].equals(b["estimate"])  # the runs differ in their numbers ...
    comparison = rerun.compare_runs({"seed1": a, "seed2": b})
    assert len(comparison) == len(a) and comparison["same"].all()  # ... not in their verdicts
    assert (comparison["verdict seed1"] == v.SUPPORTED).all()
    line = rerun.agreement_line(comparison)
    assert line.startswith(f"verdicts agree: {len(a)} of {len(a)} cells (expected from each run's replicates: seed1 ")
    assert (comparison[["same_on_rerun seed1", "same_on_rerun seed2"]] > 0.95).all().all()  # clear effects


def test_equivalent_cells_are_compared_like_the_other_outcomes(tmp_path: Path) -> None:
    """A true zero that the replicates pin down within the margin is equivalent in both runs; the agreement line
    counts it as it counts the other outcomes."""
    zero = {**dict.fromkeys(["forward", "iterations", "clustered", "nearest"], 0.0), "noise": -0.2}  # best = base
    a, b = (rerun.run_claims(write_run(tmp_path / f"run{s}", zero, seed=s, sd=0.001)) for s in (1, 2))
    comparison = rerun.compare_runs({"a": a, "b": b})
    assert (comparison["verdict a"] == v.EQUIVALENT).all() and comparison["same"].all()
    decided = comparison[comparison["claim"] != v.NOISE]  # best = base: no spread, no chance
    assert (decided[["same_on_rerun a", "same_on_rerun b"]] > 0.9).all().all()
    cells, n = len(comparison), len(decided)
    line = rerun.agreement_line(comparison)
    assert line.startswith(f"verdicts agree: {cells} of {cells} cells (expected from each run's replicates: a ")
    assert line.endswith(f" of {n})") and f" of {n}, b " in line


def test_a_flipped_and_a_missing_cell_do_not_agree(tmp_path: Path) -> None:
    a = rerun.run_claims(write_run(tmp_path / "a", CLEAR, seed=1))
    b = rerun.run_claims(write_run(tmp_path / "b", {**CLEAR, "forward": -0.2}, seed=2))  # forward now wins
    b = b[~((b["claim"] == v.NEAREST) & (b["subset"] == "random"))]  # a cell run b lacks
    comparison = rerun.compare_runs({"a": a, "b": b}).set_index(rerun.CELL)
    flipped = comparison.xs(v.FORWARD, level="claim")
    assert (flipped["verdict b"] == v.CONTRADICTED).all() and not flipped["same"].any()
    missing = comparison.loc[(v.NEAREST, "d", "random", "best")]
    assert missing["verdict b"] == "missing" and not missing["same"]
    others = comparison.drop(index=[v.FORWARD, v.NEAREST], level="claim")
    assert others["same"].all()


def test_the_cli_prints_both_runs_and_the_agreement(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = [str(write_run(tmp_path / f"run{s}", CLEAR, seed=s)) for s in (1, 2)]
    out = tmp_path / "verdicts.tsv"
    assert cli.main(["verdicts", *runs, "--label", "seed1", "--label", "seed2", "-o", str(out)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    table = pd.read_csv(out, sep="\t")
    assert {"verdict seed1", "verdict seed2", "same"} <= set(table.columns) and table["same"].all()
    assert printed[-1].startswith(f"verdicts agree: {len(table)} of {len(table)} cells (expected")


def test_a_folder_without_tables_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["verdicts", str(tmp_path)]) == cli.EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert str(tmp_path / TABLE_FILES["mic_accuracy"]) in error and "collect_results" in error


def test_labels_must_match_the_folders(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["verdicts", str(tmp_path), str(tmp_path), "--label", "only-one"])
    assert exit_info.value.code == cli.EXIT_BAD_INPUT and "1 --label for 2 TABLES" in capsys.readouterr().err
