"""mic.report: collecting the per-job tables, and the paper's tables rebuilt beside ours.

Most tests feed the paper's own numbers in as "ours": every difference must then be 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from mic import layout
from mic.evidence import collect, selection
from mic.evidence import glm as stats
from mic.evidence import verdicts as claims
from mic.report import (
    accuracy,
    baseline_tables,
    compare,
    diagnostics,
    headline,
    iterations,
    noise_glm,
    paper,
    printing,
)
from mic.report import verdicts as rv

PAPER = paper.load_paper(REPO / "config/paper_results.yaml")
NAMES = {"mnist": "mnist", "characters": "characters"}
N = 1000  # test samples per configuration in the made-up "ours"


MIC_COLUMNS = [
    "dataset",
    "subset",
    "rep",
    "noise_in",
    "noise_out",
    "iterations",
    "class",
    "n",
    "correct",
    "accuracy",
    "mse",
]


def paper_as_ours() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """mic_accuracy, baselines and nearest_prototype tables holding the paper's numbers (K = 50)."""
    rows = []
    t13 = paper.paper_iterations(PAPER)
    for dataset, subset in [
        ("mnist", "clustered"),
        ("mnist", "random"),
        ("characters", "clustered"),
        ("characters", "random"),
    ]:
        _, grid = paper.paper_grid(PAPER, dataset, subset)
        for record in grid.dropna(subset=["accuracy"]).itertuples():
            cls = layout.ALL if record.column == "overall" else record.column
            n = N if cls == layout.ALL else 50
            rows.append(
                (
                    dataset,
                    subset,
                    0,
                    record.noise_in,
                    record.noise_out,
                    50,
                    cls,
                    n,
                    round(record.accuracy * n),
                    record.accuracy,
                    np.nan,
                )
            )
        block = t13[(t13["dataset"] == dataset) & (t13["subset"] == subset)]
        for record in block.itertuples():
            rows.append(
                (
                    dataset,
                    subset,
                    0,
                    record.noise_in,
                    record.noise_out,
                    0,
                    layout.ALL,
                    N,
                    round(record.accuracy_0 * N),
                    record.accuracy_0,
                    record.mse_0,
                )
            )
    mic = pd.DataFrame(
        rows,
        columns=MIC_COLUMNS,
    )
    mse_k = t13.set_index(["dataset", "subset", "noise_in", "noise_out"])["mse_K"]
    at_k = (mic["iterations"] == 50) & (mic["class"] == layout.ALL)
    mic.loc[at_k, "mse"] = [
        mse_k[key] for key in mic.loc[at_k, ["dataset", "subset", "noise_in", "noise_out"]].itertuples(index=False)
    ]
    t5 = paper.paper_frame(PAPER, "table5").set_index("dataset")
    baselines = pd.DataFrame(
        [(d, t, 0, layout.ALL, N, round(t5.loc[d, t] * N), t5.loc[d, t]) for d in t5.index for t in t5.columns],
        columns=["dataset", "training_set", "rep", "class", "n", "correct", "accuracy"],
    )
    nearest = pd.DataFrame(
        [(d, s, "euclidean", layout.ALL, N, 500, 0.5) for d in NAMES for s in ("clustered", "random")],
        columns=["dataset", "subset", "metric", "class", "n", "correct", "accuracy"],
    )
    return mic, baselines, nearest


@pytest.fixture(scope="module")
def ours():
    return paper_as_ours()


def differences(table: pd.DataFrame) -> pd.DataFrame:
    if "difference" in table.columns.get_level_values(-1):
        return table.xs("difference", axis=1, level=-1)
    return table.xs("difference", level="value")


def test_read_table_keeps_labels_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text(
        "dataset\tclass\tnoise_in\tnoise_out\tn\taccuracy\nmnist\t0\t0.0001\t0\t5\t0.5\nmnist\tNA\t0.1\t0\t5\t\n"
    )
    table = collect.read_table(path)
    assert table["class"].tolist() == ["0", "NA"] and table["noise_in"].tolist() == ["0.0001", "0.1"]
    assert table["n"].dtype.kind == "i" and np.isnan(table["accuracy"].iloc[1])


def test_side_by_side_aligns_and_subtracts() -> None:
    printed = pd.DataFrame({"x": [0.5, 0.6]}, index=["a", "b"])
    ours = pd.DataFrame({"x": [0.7, 0.1], "y": [1.0, 2.0]}, index=["b", "c"])
    wide = compare.side_by_side(printed, ours)
    assert list(wide.index) == ["a", "b", "c"]
    assert wide.loc["b", ("x", "difference")] == pytest.approx(0.1)
    assert np.isnan(wide.loc["a", ("x", "ours")]) and wide.loc["c", ("y", "ours")] == 2.0
    long = compare.side_by_side(printed, ours, axis="rows")
    assert long.loc[("b", "difference"), "x"] == pytest.approx(0.1) and len(long) == 9


def test_choose_models_base_is_no_noise_and_best_breaks_ties_by_less_noise() -> None:
    mic = pd.DataFrame(
        [
            ("d", "clustered", 0, i, o, 5, layout.ALL, 10, c, c / 10, 0.1)
            for i, o, c in [("0", "0", 6), ("0.1", "0", 8), ("0", "0.1", 8), ("0.2", "0", 7)]
        ],
        columns=MIC_COLUMNS,
    )
    choice = selection.choose_models(mic, "d", "clustered")
    assert choice.base == ("0", "0") and choice.best == ("0", "0.1") and choice.iterations == 5
    assert selection.choose_models(mic, "d", "random") is None


def test_replicates_are_averaged() -> None:
    mic = pd.DataFrame(
        [("d", "s", rep, "0", "0", 5, layout.ALL, 10, c, c / 10, 0.1) for rep, c in [(0, 6), (1, 8)]],
        columns=MIC_COLUMNS,
    )
    means = selection.mic_means(mic)
    assert (
        means["accuracy"].item() == pytest.approx(0.7) and means["correct"].item() == 14 and means["reps"].item() == 2
    )


def test_paper_numbers_as_ours_give_zero_differences(ours) -> None:
    mic, baselines, nearest = ours
    assert differences(accuracy.table1(mic, PAPER, NAMES)).abs().max().max() == pytest.approx(0, abs=1e-12)
    for dataset, subset in [
        ("mnist", "clustered"),
        ("mnist", "random"),
        ("characters", "clustered"),
        ("characters", "random"),
    ]:
        table, grid = accuracy.noise_grid_table(mic, PAPER, dataset, subset, NAMES)
        assert (
            table
            == {
                "mnist": {"clustered": "table2", "random": "table7"},
                "characters": {"clustered": "table8", "random": "table9"},
            }[dataset][subset]
        )
        assert grid.shape == (36, 1 + len(PAPER["classes"][dataset]))  # 9 rows x paper, ours, ± 95 %, difference
        assert grid.xs(compare.HALF_WIDTH, level="value").isna().all().all()  # one replicate: no interval
        assert differences(grid).abs().max().max() == pytest.approx(0, abs=1e-12)
    assert differences(baseline_tables.forward_table(baselines, PAPER, NAMES)).abs().max().max() == pytest.approx(
        0, abs=1e-12
    )
    assert differences(accuracy.summary_table(mic, baselines, PAPER, NAMES)).abs().max().max() == pytest.approx(
        0, abs=1e-12
    )
    table13 = iterations.iterations_grid_table(mic, PAPER, NAMES)
    assert table13.shape == (36, 16)
    diff13 = differences(table13)
    assert diff13[["Accuracy (0)", "MSE (0)", "MSE (K)"]].abs().max().max() == pytest.approx(0, abs=1e-12)
    assert (diff13["Accuracy (K)"].abs() > 1e-9).sum() == 4  # the two swaps Table 13 has against Tables 2 and 8


def test_table4_rows_follow_the_paper(ours) -> None:
    mic, _, _ = ours
    table4 = iterations.iterations_table(mic, PAPER, NAMES)
    assert table4.shape == (8, 16)
    assert [m for m, _ in table4.index[::2]] == [
        "clustered MNIST",
        "random MNIST",
        "clustered Characters",
        "random Characters",
    ]
    base = table4.xs("accuracy", axis=1, level=0)
    assert base.loc[("clustered MNIST", "50"), "ours"] == pytest.approx(0.83)
    best = table4.xs("accuracy best", axis=1, level=0)
    assert best.loc[("clustered MNIST", "50"), "ours"] == pytest.approx(0.873)
    assert best.loc[("clustered MNIST", "0"), "ours"] == pytest.approx(
        0.686
    )  # Table 13's 0-iteration accuracy of that model


def test_glm_comparison_on_the_papers_numbers_reproduces_table3(ours) -> None:
    mic, _, _ = ours
    comparison = noise_glm.glm_comparison(mic, PAPER, "mnist", "clustered", NAMES)
    assert comparison.table == "table3"
    coefficients = comparison.coefficients()
    assert coefficients.xs("difference", axis=1, level=1)["coef"].abs().max() < 6e-4
    statistics = comparison.fit_statistics()
    assert statistics.loc["Deviance", "ours (paper's fit)"] == pytest.approx(0.0034124, rel=1e-3)
    count = comparison.count_coefficients()
    # Equal trials everywhere: same point estimates, standard errors about sqrt(N) times smaller.
    np.testing.assert_allclose(count["coef"], coefficients.xs("ours", axis=1, level=1)["coef"], atol=0.02)
    assert (count["std err"] < 0.1).all()
    sentence = comparison.change_sentence()
    assert f"{N} test samples" in sentence and "standard error" in sentence


def test_verdicts_on_the_papers_numbers_with_one_replicate_are_inconclusive(ours) -> None:
    """One run (the paper's, or ours with replicates: 1) decides nothing, however large the differences."""
    mic, baselines, nearest = ours
    table = rv.verdicts(mic, baselines, nearest, PAPER, NAMES)
    columns = ["claim", "scope", "paper", "estimate", "low", "high", "reps", "margin", "verdict", "same_on_rerun"]
    assert list(table.columns) == [*columns, "reason"]
    assert table["same_on_rerun"].isna().all()  # nothing decided, nothing to keep
    assert (table["verdict"] == claims.INCONCLUSIVE).all() and (table["reps"] == 1).all()
    assert table["reason"].str.startswith("fewer than 3 replicates (1)").all()
    assert table["low"].isna().all() and table["high"].isna().all()
    summary = rv.verdict_summary(table)
    assert list(summary.index) == claims.CLAIMS and (summary[claims.INCONCLUSIVE] == summary["cells"]).all()
    assert list(summary.columns) == ["cells", *claims.OUTCOMES, "summary"]
    # Ours are the paper's numbers, so our estimate is the paper's difference wherever the paper has one.
    printed = table[~table["paper"].isin(["n/a", "not reported"])]
    assert len(printed) >= 12
    mismatch = (printed["paper"].astype(float) - printed["estimate"]).abs()
    assert (mismatch < 6e-4).sum() >= len(printed) - 2, printed[mismatch >= 6e-4]  # Table 4 against Table 13
    forward = table[(table["claim"] == claims.FORWARD) & (table["scope"] == "MNIST clustered (MIC best − forward)")]
    assert forward["paper"].item() == "+0.240" and forward["estimate"].item() == pytest.approx(0.873 - 0.633)
    markdown = rv.verdict_markdown(table)
    assert markdown.count("- **") == 5 and "+0.240" in markdown and "inconclusive" in markdown


def test_tables_put_mnist_first_whatever_the_config_order(ours) -> None:
    """Tables 1, 5 and 6 list the data sets in the paper's order, not the config's."""
    mic, baselines, _ = ours
    config_order = {"characters": "characters", "mnist": "mnist"}
    assert list(accuracy.table1(mic, PAPER, config_order).index) == ["MNIST", "Characters"]
    assert list(baseline_tables.forward_table(baselines, PAPER, config_order).index) == ["MNIST", "Characters"]
    summary = accuracy.summary_table(mic, baselines, PAPER, config_order)
    assert list(dict.fromkeys(summary.columns.get_level_values(0))) == ["MNIST", "Characters"]


def test_table13_follows_the_papers_row_order(ours) -> None:
    mic, _, _ = ours
    shuffled = mic.sample(frac=1, random_state=3)
    table13 = iterations.iterations_grid_table(shuffled, PAPER, NAMES)
    printed = paper.paper_iterations(PAPER)
    labels = {"mnist": "MNIST", "characters": "Characters"}
    expected = [(f"{labels[r.dataset]} {r.subset}", r.noise_in, r.noise_out) for r in printed.itertuples()]
    assert list(table13.index) == expected


def test_intervals_over_replicates_are_shown_beside_ours(ours) -> None:
    """Three replicates at 0.82 ± 0.02: ours is their mean and ± 95 % the t half-width."""
    mic, baselines, _ = ours
    base = mic[(mic["noise_in"] == "0") & (mic["noise_out"] == "0")]
    offsets = {0: -0.02, 1: 0.0, 2: 0.02}
    tripled = pd.concat([base.assign(rep=r, accuracy=base["accuracy"] + d) for r, d in offsets.items()])
    table = accuracy.table1(tripled, PAPER, NAMES)
    assert table.loc["MNIST", ("clustered", "ours")] == pytest.approx(0.83)
    assert table.loc["MNIST", ("clustered", compare.HALF_WIDTH)] == pytest.approx(
        4.302653 * 0.02 / np.sqrt(3), rel=1e-6
    )
    uncertainty = accuracy.uncertainty_table(tripled, PAPER, NAMES)
    assert (uncertainty["reps"] == 3).all()
    assert (uncertainty["Wilson low (pooled)"] < uncertainty["accuracy"]).all()


def test_choose_models_by_validation_split_when_the_table_has_one() -> None:
    """Best by validation rows where there are some; else the test set (the paper's way), said so."""
    rows = [
        ("d", "s", 0, i, "0", 5, layout.ALL, 10, c, c / 10, 0.1, split)
        for i, c, split in [("0", 6, "test"), ("0.1", 9, "test"), ("0", 6, "validation"), ("0.1", 5, "validation")]
    ]
    mic = pd.DataFrame(rows, columns=[*MIC_COLUMNS, "split"])
    choice = selection.choose_models(mic, "d", "s")
    assert choice.best == ("0", "0") and choice.chosen_on == "validation" and "validation" in choice.how
    on_test = selection.choose_models(mic, "d", "s", by="test")
    assert on_test.best == ("0.1", "0") and "optimistic" in on_test.how
    assert selection.mic_interval(mic, "d", "s", ("0.1", "0"), 5).mean == pytest.approx(0.9)  # ours: test rows only
    plain = mic[mic["split"] == "test"].drop(columns="split")
    assert selection.choose_models(plain, "d", "s").chosen_on == "test"
    validation = mic[mic["split"] == "validation"].drop(columns="split")
    joined = selection.with_validation(plain, validation)  # mic_accuracy and mic_validation, as the notebook reads them
    assert selection.choose_models(joined, "d", "s") == choice and selection.with_validation(plain, None) is plain
    with pytest.raises(ValueError):
        selection.choose_models(plain, "d", "s", by="validation")


def test_verdicts_are_counted_over_a_claims_cells() -> None:
    """Each claim's cells counted in all four outcomes, in words as `mic verdicts` says them; no cell stands alone."""
    verdicts = pd.DataFrame(
        {
            "claim": ["a"] * 8 + ["b", "b", "c"],
            "verdict": ["supported"] * 7 + ["inconclusive"] + ["contradicted", "equivalent", "supported"],
            "margin": 0.01,
        }
    )
    counts = rv.verdict_counts(verdicts)
    assert list(counts.index) == ["a", "b", "c"]
    assert list(counts.columns) == ["cells", "equivalent", "supported", "contradicted", "inconclusive"]
    assert list(counts.columns[1:]) == list(claims.OUTCOMES)
    assert counts.loc["a"].to_dict() == {
        "cells": 8,
        "equivalent": 0,
        "supported": 7,
        "contradicted": 0,
        "inconclusive": 1,
    }
    words = rv.verdict_summary(verdicts)["summary"]
    assert words["a"] == "supported in 7 of 8 cells, inconclusive in 1"
    assert words["b"] == "equivalent in 1 of 2 cells, contradicted in 1"  # a tie: in the rule's order
    assert words["c"] == "supported in 1 of 1 cell"
    assert [rv.count_sentence(row) for _, row in counts.iterrows()] == list(words)
    for claim, rows in verdicts.groupby("claim"):
        assert words[claim] == claims.count_line(rows["verdict"])
    legend = rv.outcome_legend(verdicts)
    assert all(f"*{outcome}*" in legend for outcome in claims.OUTCOMES) and "δ = 0.01" in legend
    markdown = rv.verdict_markdown(
        verdicts.assign(scope="s", estimate=0.1, low=0.0, high=0.2, reps=3, same_on_rerun=0.9, paper="n/a", reason="r")
    )
    assert "- **a**: supported in 7 of 8 cells, inconclusive in 1." in markdown


def test_headline_is_table6_with_intervals(ours) -> None:
    """The first screen's table: paper, ours and ours' 95 % interval per data set, Table 6's rows."""
    mic, baselines, _ = ours
    base = mic[(mic["noise_in"] == "0") & (mic["noise_out"] == "0")]
    tripled = pd.concat([base.assign(rep=r, accuracy=base["accuracy"] + d) for r, d in enumerate((-0.02, 0, 0.02))])
    summary = accuracy.summary_table(tripled, baselines, PAPER, NAMES)
    table = headline.headline_table(summary)
    assert list(table.columns) == [
        (d, v) for d in ("MNIST", "Characters") for v in ("paper", "ours", headline.INTERVAL)
    ]
    assert list(table.index) == [row for row, _, _ in accuracy.SUMMARY_ROWS]
    half = 4.302653 * 0.02 / np.sqrt(3)
    assert table.loc["clustered (MIC base)", ("MNIST", "ours")] == pytest.approx(0.83)
    assert table.loc["clustered (MIC base)", ("MNIST", headline.INTERVAL)] == f"[{0.83 - half:.3f}, {0.83 + half:.3f}]"
    assert table.loc["clustered (forward)", ("MNIST", headline.INTERVAL)] == "–"  # one replicate: no interval
    assert table.loc["clustered (forward)", ("MNIST", "paper")] == pytest.approx(0.633)


def test_wide_tables_print_as_blocks_of_whole_groups() -> None:
    """A wide table becomes blocks of at most MAX_COLUMNS columns; paper | ours | ± | difference stay together."""
    flat = pd.DataFrame(np.zeros((2, 21)), columns=["overall", *"abcdeghlmnopqrsuvwyz"])
    blocks = printing.column_blocks(flat)
    assert [b.shape[1] for b in blocks] == [7, 7, 7]
    assert [c for b in blocks for c in b.columns] == list(flat.columns)
    grouped = pd.DataFrame(
        np.zeros((2, 16)), columns=pd.MultiIndex.from_product([list("wxyz"), ["paper", "ours", "±", "difference"]])
    )
    assert [list(dict.fromkeys(b.columns.get_level_values(0))) for b in printing.column_blocks(grouped)] == [
        ["w", "x"],
        ["y", "z"],
    ]
    assert [b.shape[1] for b in printing.column_blocks(grouped, max_columns=3)] == [3, 1, 3, 1, 3, 1, 3, 1]
    narrow = flat.iloc[:, :8]
    assert printing.column_blocks(narrow)[0] is narrow
    captions = [s.caption for s in printing.styled_blocks(flat)]
    assert captions == ["part 1 of 3", "part 2 of 3", "part 3 of 3"]


def test_noise_levels_sort_as_numbers() -> None:
    frame = pd.DataFrame({"dataset": ["b", "a", "a"], "noise_in": ["0.1", "0.2", "0.0001"], "noise_out": "0"})
    assert compare.by_noise(frame)["noise_in"].tolist() == ["0.0001", "0.1", "0.2"]
    assert compare.by_noise(frame, first=["dataset"])["dataset"].tolist() == ["a", "a", "b"]


def test_confusion_counts_translates_class_indices() -> None:
    predictions = pd.DataFrame(
        {
            "sample": [1, 2, 3],
            "true_class": [0, 1, 1],
            "iterations": [5, 5, 5],
            "predicted_class": [0, 0, 1],
            "correct": [1, 0, 1],
            "loss_a": 0.1,
            "loss_b": 0.2,
        }
    )
    counts = collect.confusion_counts(predictions)
    assert set(map(tuple, counts[["true_class", "predicted_class", "count"]].to_numpy().tolist())) == {
        ("a", "a", 1),
        ("b", "a", 1),
        ("b", "b", 1),
    }


def test_collect_results_on_fake_run(tmp_path: Path) -> None:
    from test_report_notebook import FAKE_CONFIG, mic_runs, write_fake_tables

    out = write_fake_tables(tmp_path)
    tables = collect.read_tables(out)
    mic = tables["mic_accuracy"]
    assert len(mic) == len(mic_runs(FAKE_CONFIG)) * 2 * 4  # 2 iteration counts x (3 classes + all)
    assert set(mic["noise_out"]) == {"0", "0.0001", "0.0002", "0.1"}
    confusion = (
        tables["confusion"].groupby(["dataset", "subset", "rep", "noise_in", "noise_out", "iterations"])["count"].sum()
    )
    assert (confusion == 18).all()
    assert diagnostics.class_order(tables["classes"], "mnist") == ["0", "1", "7"]
    choice = selection.choose_models(
        selection.with_validation(mic, tables["mic_validation"]), "characters", "clustered"
    )
    assert choice.chosen_on == "validation" and choice.best == ("0.1", "0")
    heat = diagnostics.heatmap_matrix(
        tables["heatmaps"], "characters", "clustered", choice.best, "test", ["a", "b", "c"]
    )
    assert heat.shape == (3, 3) and heat.notna().all().all()
    curves = diagnostics.loss_curve_summary(tables["loss_curves"])
    assert (curves["q10"] <= curves["median"]).all() and (curves["median"] <= curves["q90"]).all()
    assert set(tables["baselines"]["training_set"]) == {"clustered", "random", "full"}


def test_diagonal_wins() -> None:
    matrix = pd.DataFrame([[0.1, 0.9], [0.5, 0.4]], index=["a", "b"], columns=["a", "b"])
    assert diagnostics.diagonal_wins(matrix) == 1.0
    assert diagnostics.diagonal_wins(matrix.T.rename(index={"a": "b", "b": "a"})) == 0.0


def test_locate_finds_repository_paths_from_a_subfolder(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "results/tables").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert layout.locate("results/tables") == tmp_path / "results/tables"
    assert layout.locate("results/report/figures") == tmp_path / "results/report/figures"
    monkeypatch.chdir(tmp_path)
    assert layout.locate("results/tables") == Path("results/tables")


def test_term_names_match_the_papers() -> None:
    assert [stats.term_name("out", v) for v in (0.1, 0.25, 0.0001, 0.2)] == ["out_01", "out_025", "out_00001", "out_02"]


def test_the_rules_write_the_tables_the_notebook_reads() -> None:
    """collect_results writes mic.layout's TABLE_NAMES, which are the tables the report reads (TABLE_FILES)."""
    assert list(collect.TABLE_FILES) == list(layout.TABLE_NAMES)
    assert all(file == f"{name}.tsv" for name, file in collect.TABLE_FILES.items())
    assert "layout.TABLE_NAMES" in (REPO / "workflow/rules/report.smk").read_text()


def test_figure7_is_the_papers_two_by_two() -> None:
    """heatmap_figure: a row per data set, a column per split, each panel titled with its diagonal wins."""
    from mic.report import figures

    matrix = pd.DataFrame([[0.1, 0.9], [0.5, 0.4]], index=["a", "b"], columns=["a", "b"])
    rows = {label: {split: matrix for split in paper.FIGURE7["splits"]} for label in ("Characters", "MNIST")}
    fig = figures.heatmap_figure(rows, "Figure 7")
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titled) == 4 and titled[0].startswith("Characters, train") and titled[3].startswith("MNIST, test")
    assert all("100%" in t for t in titled)
    assert paper.FIGURE7["subset"] == "clustered" and paper.FIGURE7["datasets"] == ["characters", "mnist"]
    figures.plt.close(fig)
