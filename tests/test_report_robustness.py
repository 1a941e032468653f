"""mic.report.robustness: the robustness section's words, verdicts, figures and tables on synthetic tables."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mic import layout
from mic.evidence import claims
from mic.evidence import robustness as ev
from mic.evidence.intervals import t_interval
from mic.report import figures
from mic.report import robustness as rr
from mic.report import verdicts as rv
from mic.report.compare import HALF_WIDTH
from test_robustness_verdicts import NAMES, SAMPLES, synthetic

PAPER_NAMES = {"characters": "characters", "mnist": "mnist"}  # shown as "Characters" and "MNIST"
MIC, FORWARD = layout.ROBUSTNESS_METHODS[ev.MIC], layout.ROBUSTNESS_METHODS[ev.FORWARD_PROTOTYPES]


@pytest.fixture(scope="module")
def robust() -> dict[str, pd.DataFrame]:
    return synthetic(dict.fromkeys(NAMES, 0.1), dict.fromkeys(NAMES, 0.01))


def _png(fig) -> bytes:
    data = figures.png_bytes(fig)
    assert data.startswith(b"\x89PNG") and len(data) > 10_000
    return data


def test_the_figures_render_one_panel_per_cell(robust: dict[str, pd.DataFrame]) -> None:
    fig = rr.corruption_figure(ev.corruption_summary(robust["corruptions"]), PAPER_NAMES)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == [
        "Characters: gaussian",
        "Characters: time_shift",
        "Characters: speed",
        "MNIST: gaussian",
        "MNIST: occlusion",
    ]
    # clean, then the levels; one line per method and subset
    assert [t.get_text() for t in shown[0].get_xticklabels()] == ["clean", "0.1", "0.3", "0.5"]
    assert len(shown[0].get_lines()) == 5 * 2
    mic_line = shown[4].get_lines()[0]  # MIC, clustered, MNIST occlusion
    assert np.allclose(mic_line.get_ydata(), [0.9, 0.9 - 0.1 * 2 / 3, 0.9 - 0.1 * 4 / 3])
    _png(fig)

    fig = rr.roc_figure(robust["roc"], PAPER_NAMES)
    assert len(fig.axes) == 4 * 2 and fig.axes[1].get_title() == "Characters clustered: reversed"
    assert len(fig.axes[0].get_lines()) == 7 + 1  # every (method, score) and the diagonal
    _png(fig)

    fig = rr.attack_figure(ev.attack_summary(robust["attacks"]), PAPER_NAMES)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["Characters clustered: l2", "Characters clustered: linf"]
    styles = {line.get_linestyle() for line in fig.axes[0].get_lines()}
    assert styles == {"-", "--", "-."}  # white-box, transfer, minimal
    assert len(fig.axes[1].get_lines()) == 5  # no minimal attack under L∞
    _png(fig)


def test_the_mean_roc_averages_the_replicates_at_common_false_positive_rates() -> None:
    roc = pd.DataFrame(
        [("d", "s", 0, "mic", "min_loss", "noise", x, y) for x, y in [(0, 0), (0.5, 0.8), (1, 1)]]
        + [("d", "s", 1, "mic", "min_loss", "noise", x, y) for x, y in [(0, 0), (0.25, 0.5), (1, 1)]],
        columns=["dataset", "subset", "rep", "method", "score", "outlier_set", "fpr", "tpr"],
    )
    curve = rr.mean_roc(roc).set_index("fpr")
    assert len(curve) == len(rr.ROC_GRID) and (curve["reps"] == 2).all()
    at_half = (0.8 + (0.5 + 0.25 / 0.75 * 0.5)) / 2  # rep 1 interpolated between (0.25, 0.5) and (1, 1)
    assert curve.loc[0.5, "tpr"] == pytest.approx(at_half) and curve.loc[1.0, "tpr"] == 1.0


def test_the_corruption_table_has_intervals_and_sample_sizes(robust: dict[str, pd.DataFrame]) -> None:
    table = rr.corruption_table(ev.corruption_summary(robust["corruptions"]), PAPER_NAMES)
    assert table.index.names == ["data set", "subset", "corruption", "level"]
    first = table.loc[("MNIST", "random")]
    assert list(first.index) == [
        ("clean", "0"),
        ("gaussian", "0.1"),
        ("gaussian", "0.3"),
        ("gaussian", "0.5"),
        ("occlusion", "0.1"),
        ("occlusion", "0.3"),
    ]
    corruptions = robust["corruptions"]
    rows = corruptions[
        (corruptions["dataset"] == "mnist")
        & (corruptions["subset"] == "random")
        & (corruptions["method"] == ev.MIC)
        & (corruptions["kind"] == "gaussian")
        & (corruptions["level"] == 0.5)
    ]
    expected = t_interval(rows["accuracy"])
    cell = first.loc[("gaussian", "0.5")]
    assert cell[(MIC, "accuracy")] == pytest.approx(expected.mean)
    assert cell[(MIC, HALF_WIDTH)] == pytest.approx(expected.half_width) and expected.half_width > 0
    assert (table[(rr.N, "samples per replicate")] == SAMPLES).all() and (table[(rr.N, "replicates")] == 5).all()
    assert [c[0] for c in table.columns[::2][:5]] == list(layout.ROBUSTNESS_METHODS.values())

    drops = rr.drop_table(ev.drop_summary(corruptions), PAPER_NAMES)
    assert drops.loc[("MNIST", "random"), (FORWARD, "drop")] == pytest.approx(0.2)
    assert drops.loc[("MNIST", "random"), (rr.N, "corruption settings")] == 5
    assert drops.loc[("Characters", "random"), (rr.N, "corruption settings")] == 7


def test_the_outlier_and_attack_tables_have_intervals_and_sample_sizes(robust: dict[str, pd.DataFrame]) -> None:
    outliers = rr.outlier_table(ev.outlier_summary(robust["outliers"]), PAPER_NAMES)
    assert outliers.index.names == ["data set", "subset", "outlier set", "method", "score"]
    row = outliers.loc[("Characters", "clustered", "reversed", MIC, ev.MIN_LOSS)]
    assert row[("AUROC", "mean")] == pytest.approx(0.95) and row[("AUROC", HALF_WIDTH)] > 0
    assert row[("accepted at 95 %", "mean")] == pytest.approx(0.025)
    assert (row[(rr.N, "inliers")], row[(rr.N, "outliers")], row[(rr.N, "replicates")]) == (180, 150, 5)
    methods = list(dict.fromkeys(outliers.loc[("Characters", "clustered", "noise")].index.get_level_values(0)))
    assert methods == list(layout.ROBUSTNESS_METHODS.values())

    attacks = rr.attack_table(ev.attack_summary(robust["attacks"]), PAPER_NAMES)
    assert attacks.index.names == ["data set", "subset", "norm", "attack", "ε fraction"]
    kinds = list(dict.fromkeys(attacks.loc[("MNIST", "clustered", "l2")].index.get_level_values(0)))
    assert kinds == [
        ev.WHITE_BOX,
        f"{ev.TRANSFER} from {ev.FORWARD_PROTOTYPES}",
        f"{ev.TRANSFER} from {ev.FORWARD_FULL}",
        ev.MINIMAL,
    ]
    attacks = attacks.sort_index()
    white = attacks.loc[("MNIST", "clustered", "l2", ev.WHITE_BOX)]
    assert list(white.index) == [0.0, 0.25, 0.5, 1.0]
    assert white.loc[0.5, ("ε", "absolute")] == pytest.approx(1.25)
    assert white.loc[0.5, (MIC, "accuracy")] - white.loc[0.5, (FORWARD, "accuracy")] == pytest.approx(0.1)
    assert white.loc[0.5, (MIC, HALF_WIDTH)] == pytest.approx(t_interval(0.01 * np.arange(-2, 3)).half_width)
    assert (attacks[(rr.N, "samples per replicate")] == SAMPLES).all() and (attacks[(rr.N, "replicates")] == 5).all()
    minimal = attacks.loc[("MNIST", "clustered", "l2", ev.MINIMAL)]
    assert minimal[(MIC, "accuracy")].isna().all()  # a method an attack does not meet is empty, not 0
    assert minimal.loc[1.0, (layout.ROBUSTNESS_METHODS[ev.NEAREST_EUCLIDEAN], "accuracy")] == pytest.approx(0.1)


def test_the_gradient_table(robust: dict[str, pd.DataFrame]) -> None:
    table = rr.gradient_table(robust["gradients"], PAPER_NAMES)
    row = table.loc[("MNIST", "random", 20)]
    assert row["checks"] == 3 * 5  # targets × replicates
    assert row["median cosine"] == pytest.approx(0.98) and row["smallest cosine"] == pytest.approx(0.97)
    assert row["median relative error"] == pytest.approx(0.02) and row["largest relative error"] == pytest.approx(0.03)
    assert rr.gradient_table(pd.DataFrame(), PAPER_NAMES).empty


def test_the_words_name_what_was_tested_and_the_sample_sizes(robust: dict[str, pd.DataFrame]) -> None:
    text = rr.scope_markdown(robust, PAPER_NAMES)
    assert rr.QUOTE in text and "What was not tested" in text and "certified" in text
    assert f"same {SAMPLES} test samples per replicate" in text and "150 per set" in text and "180 real" in text
    assert "occlusion of 0.1, 0.3 of the rows" in text and "5 replicates per cell" in text
    assert "ε = 0.25, 0.5, 1 of each data set's ε scale" in text and "δ = 0.01" in text
    assert all(claims.claim(label).compares in text for label in claims.ROBUSTNESS_CLAIMS)
    outliers_only = rr.scope_markdown({"outliers": robust["outliers"]}, PAPER_NAMES)
    assert "Outliers" in outliers_only and "Corruptions" not in outliers_only and "Attacks" not in outliers_only


def test_the_verdicts_join_the_first_screen_counts(robust: dict[str, pd.DataFrame]) -> None:
    table = rr.verdicts(robust, PAPER_NAMES)
    assert list(table.columns) == rv.REPORT_COLUMNS and (table["paper"] == rr.NOT_IN_THE_PAPER).all()
    assert table["scope"].str.startswith(("Characters ", "MNIST ")).all() and len(table) == 12
    assert "*supported*" in rv.verdict_markdown(table) and "paper not tested" in rv.verdict_markdown(table)
    paper_claims = pd.DataFrame(
        [[claims.FORWARD, "MNIST clustered", "+0.010", 0.02, 0.01, 0.03, 5, 0.01, "supported", 0.9, "above 0"]],
        columns=rv.REPORT_COLUMNS,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the notebook must not write warnings
        counts = rv.verdict_counts(rr.with_robustness(paper_claims, table))
        unchanged = rr.with_robustness(paper_claims, rr.verdicts({}, PAPER_NAMES))
    assert list(counts.index) == [claims.FORWARD, *claims.ROBUSTNESS_CLAIMS]
    assert counts.loc[claims.ATTACKS, "cells"] == 4 and counts.loc[claims.ATTACKS, "supported"] == 4
    pd.testing.assert_frame_equal(unchanged, paper_claims)


def test_without_robustness_jobs_the_section_is_one_sentence() -> None:
    empty = ev.robustness_tables({name: pd.DataFrame() for name in layout.TABLE_NAMES})
    assert not rr.has_jobs(empty) and not rr.has_jobs({})
    assert "`robustness:`" in rr.NO_JOBS and rr.NO_JOBS.count(".") == 1
    table = rr.verdicts(empty, PAPER_NAMES)
    assert table.empty and list(table.columns) == rv.REPORT_COLUMNS
    assert rr.has_jobs({**empty, "attacks": synthetic(dict.fromkeys(NAMES, 0.0))["attacks"]})
