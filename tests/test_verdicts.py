"""mic.evidence.verdicts on synthetic replicate data whose truth is known."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd
import pytest

from mic.evidence import claims
from mic.evidence import verdicts as v
from mic.layout import ALL

N = 1000  # test samples per replicate
K = 5
DELTA = claims.margin(v.FORWARD)


def reps(values) -> pd.Series:
    return pd.Series(values, index=pd.Index(range(len(values)), name="rep"), dtype=float)


def synthetic(
    effects: dict[str, float], n_reps: int = 5, sd: float = 0.01, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """mic_accuracy, baselines and nearest tables of one data set whose true differences are `effects`.

    Keys of `effects`: forward (MIC best − forward), iterations (K − 0), clustered (clustered − random),
    noise (noise 0.1 − none), nearest (MIC best − 1-NN). Each replicate adds its own N(0, sd) to every value.
    """
    rng = np.random.default_rng(seed)
    base = 0.7
    mic_rows, baseline_rows, nearest_rows = [], [], []
    for rep in range(n_reps):
        for subset in ("clustered", "random"):
            at_k = base + (effects["clustered"] if subset == "clustered" else 0.0)
            accuracies = {
                (("0", "0"), K): at_k,
                (("0", "0"), 0): at_k - effects["iterations"],
                (("0.1", "0"), K): at_k + effects["noise"],
                (("0.1", "0"), 0): at_k + effects["noise"] - effects["iterations"],
            }
            for ((noise_in, noise_out), iterations), accuracy in accuracies.items():
                accuracy += rng.normal(0, sd)
                correct = round(accuracy * N)
                mic_rows.append(("d", subset, rep, noise_in, noise_out, iterations, ALL, N, correct, correct / N, 0.1))
            best = at_k + max(effects["noise"], 0.0)
            forward = best - effects["forward"] + rng.normal(0, sd)  # against MIC best (base when noise hurts)
            baseline_rows.append(("d", subset, rep, ALL, N, round(forward * N), round(forward * N) / N))
            nearest = best - effects["nearest"] + rng.normal(0, sd)
            nearest_rows.append(("d", subset, rep, "euclidean", ALL, N, round(nearest * N), round(nearest * N) / N))
    mic = pd.DataFrame(
        mic_rows,
        columns=["dataset", "subset", "rep", "noise_in", "noise_out", "iterations", "class", "n", "correct"]
        + ["accuracy", "mse"],
    )
    baselines = pd.DataFrame(
        baseline_rows, columns=["dataset", "training_set", "rep", "class", "n", "correct", "accuracy"]
    )
    nearest = pd.DataFrame(
        nearest_rows, columns=["dataset", "subset", "rep", "metric", "class", "n", "correct", "accuracy"]
    )
    return mic, baselines, nearest


def test_the_registry_holds_every_claim_with_its_margin_and_date() -> None:
    assert set(claims.REGISTRY) == {*v.CLAIMS, v.EXTENDED, *claims.ROBUSTNESS_CLAIMS}
    for claim in claims.REGISTRY.values():
        assert claim.margin == 0.01 and claim.declared == date(2026, 12, 7)
        assert claim.measure == ("AUROC" if claim.label == claims.OUTLIERS else "accuracy")
    paper = {c.label for c in claims.REGISTRY.values() if c.of_the_paper}
    assert paper == {v.FORWARD, v.ITERATIONS, v.CLUSTERED, v.NOISE, *claims.ROBUSTNESS_CLAIMS}
    table = claims.registry_table()
    assert list(table["claim"]) == list(claims.REGISTRY) and set(table["declared"]) == {"2026-12-07"}


@pytest.mark.parametrize("bad", [None, float("nan"), 0.0, -0.01])
def test_a_claim_without_a_margin_is_refused(bad) -> None:
    with pytest.raises(ValueError, match="margin"):
        claims.Claim("a claim", "a − b", "accuracy", True, bad, claims.DECLARED)


def test_an_unregistered_claim_is_not_decided() -> None:
    with pytest.raises(KeyError, match="not a registered claim"):
        v.claim_record("a claim nobody declared", "s", ("d", "s", "best"), reps([0.2, 0.21, 0.19]))


@pytest.mark.parametrize(
    ("mean", "sd", "verdict"),
    [(0.0, 0.002, v.EQUIVALENT), (0.2, 0.01, v.SUPPORTED), (-0.2, 0.01, v.CONTRADICTED), (0.0, 0.02, v.INCONCLUSIVE)],
)
def test_the_four_outcomes_on_replicates_of_a_known_truth(mean: float, sd: float, verdict: str) -> None:
    """Five replicates of N(mean, sd): no effect and a small spread is equivalent, a clear effect supported, a
    reversed one contradicted, no effect with a spread wider than the margin inconclusive."""
    record = v.decide(reps(np.random.default_rng(3).normal(mean, sd, 5)), DELTA)
    assert record["verdict"] == verdict and record["margin"] == DELTA, record


def test_the_rule_at_its_edges() -> None:
    """Equivalence is tested first: an interval above 0 but inside the margin is equivalent."""
    lows = [0.001, 0.001, -0.009, -0.02, -0.02, -0.005]
    highs = [0.009, 0.02, 0.009, -0.001, 0.005, 0.02]
    expected = [v.EQUIVALENT, v.SUPPORTED, v.EQUIVALENT, v.CONTRADICTED, v.INCONCLUSIVE, v.INCONCLUSIVE]
    assert v.outcomes(lows, highs, 0.01).tolist() == expected
    assert (
        v.outcomes(lows, highs, 0.0).tolist()
        == [v.SUPPORTED] * 2 + [v.INCONCLUSIVE, v.CONTRADICTED] + [v.INCONCLUSIVE] * 2
    )  # without a margin: today's three outcomes
    with pytest.raises(ValueError, match="margin"):
        v.decide(reps([0.2, 0.21, 0.19]), float("nan"))


def test_a_clear_effect_is_supported() -> None:
    record = v.decide(reps([0.20, 0.21, 0.19, 0.205, 0.195]), DELTA)
    assert record["verdict"] == v.SUPPORTED and record["low"] > 0 and record["reps"] == 5


def test_a_zero_effect_with_noise_is_inconclusive() -> None:
    record = v.decide(reps([0.01, -0.02, 0.015, -0.005, 0.0]), DELTA)
    assert record["verdict"] == v.INCONCLUSIVE and record["low"] < -DELTA < 0 < DELTA < record["high"]
    assert "contains 0" in record["reason"]


def test_a_zero_effect_with_little_noise_is_equivalent() -> None:
    record = v.decide(reps([0.001, -0.002, 0.0015, -0.0005, 0.0]), DELTA)
    assert record["verdict"] == v.EQUIVALENT and -DELTA < record["low"] < 0 < record["high"] < DELTA
    assert record["reason"] == "95 % interval inside ±0.01"


def test_a_reversed_effect_is_contradicted() -> None:
    record = v.decide(reps([-0.10, -0.12, -0.09]), DELTA)
    assert record["verdict"] == v.CONTRADICTED and record["high"] < 0


def test_two_replicates_are_inconclusive_whatever_the_numbers() -> None:
    record = v.decide(reps([0.30, 0.31]), DELTA)
    assert record["verdict"] == v.INCONCLUSIVE and record["reason"].startswith("fewer than 3 replicates")
    assert record["estimate"] == pytest.approx(0.305)  # reported, but it does not decide


def test_pairing_by_replicate_removes_the_shared_run_to_run_variance() -> None:
    """Each replicate moves both sides together: the paired difference is tight although the sides overlap."""
    shared = np.array([0.0, 0.1, -0.1, 0.05])
    a, b = reps(0.72 + shared + [0.0, 0.002, -0.001, 0.001]), reps(0.70 + shared)
    assert v.decide(v.paired_difference(a, b), DELTA)["verdict"] == v.SUPPORTED
    unpaired = v.decide(reps(a.to_numpy() - b.sample(frac=1, random_state=1).to_numpy()), DELTA)
    assert unpaired["verdict"] == v.INCONCLUSIVE


def test_a_side_without_replicates_is_subtracted_from_every_replicate() -> None:
    constant = pd.Series([0.5])  # e.g. 1-NN, no `rep` column: no training, the same in every replicate
    difference = v.paired_difference(reps([0.6, 0.61, 0.59]), constant)
    assert difference.tolist() == pytest.approx([0.1, 0.11, 0.09])
    assert v.paired_difference(reps([0.6, 0.7]), reps([0.5, 0.5, 0.5])).index.tolist() == [0, 1]  # common reps


@pytest.mark.parametrize(
    ("effect", "sd", "verdict"),
    [(0.2, 0.01, v.SUPPORTED), (0.0, 0.001, v.EQUIVALENT), (0.0, 0.01, v.INCONCLUSIVE), (-0.2, 0.01, v.CONTRADICTED)],
)
def test_claim_table_recovers_the_truth(effect: float, sd: float, verdict: str) -> None:
    """Every claim at once: a true +0.2 is supported, a true 0 equivalent when the replicates agree to well
    within the margin and inconclusive when they spread past it, a true −0.2 contradicted.

    Noise hurts clearly here, so best = base for sure and MIC base and best carry the same truth.
    """
    effects = dict.fromkeys(["forward", "iterations", "clustered", "nearest"], effect)
    mic, baselines, nearest = synthetic({**effects, "noise": -0.2}, sd=sd)
    table = v.claim_table(mic, baselines, nearest)
    assert list(table.columns[: len(v.VERDICT_COLUMNS)]) == v.VERDICT_COLUMNS
    assert set(table["claim"]) == set(v.CLAIMS)
    assert (table["margin"] == [claims.margin(c) for c in table["claim"]]).all()
    others = table[table["claim"] != v.NOISE]
    assert (others["verdict"] == verdict).all(), others[["scope", "estimate", "low", "high", "verdict"]]
    assert (others["estimate"] - effect).abs().max() < 0.02
    noise = table[table["claim"] == v.NOISE]  # the best setting is no noise: a difference of exactly 0
    assert (noise["verdict"] == v.EQUIVALENT).all() and noise["reason"].str.contains("is no noise").all()
    assert noise["same_on_rerun"].isna().all()  # no spread to judge a rerun by
    summary = v.claim_summary(table).set_index("claim")
    assert summary.loc[v.FORWARD, "summary"] == f"{verdict} in 4 of 4 cells"
    assert summary.loc[v.FORWARD, verdict] == summary.loc[v.FORWARD, "cells"] == 4


def test_the_margin_is_read_from_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the forward claim's registered margin past its true +0.2: its cells, and only they, turn equivalent."""
    wide = dataclasses.replace(claims.REGISTRY[v.FORWARD], margin=0.5)
    monkeypatch.setitem(claims.REGISTRY, v.FORWARD, wide)
    effects = dict.fromkeys(["forward", "iterations", "clustered", "nearest"], 0.2)
    table = v.claim_table(*synthetic({**effects, "noise": -0.2}))
    forward, others = table[table["claim"] == v.FORWARD], table[~table["claim"].isin([v.FORWARD, v.NOISE])]
    assert (forward["verdict"] == v.EQUIVALENT).all() and (forward["margin"] == 0.5).all()
    assert (others["verdict"] == v.SUPPORTED).all() and (others["margin"] == DELTA).all()


def test_noise_that_helps_is_supported_and_its_choice_on_the_test_set_is_flagged() -> None:
    effects = dict.fromkeys(["forward", "iterations", "clustered", "nearest"], 0.2)
    table = v.claim_table(*synthetic({**effects, "noise": 0.1}))
    noise = table[table["claim"] == v.NOISE]
    assert (noise["verdict"] == v.SUPPORTED).all() and (noise["estimate"] - 0.1).abs().max() < 0.02
    assert noise["reason"].str.contains("optimistic").all()


def test_claim_table_with_two_replicates_is_inconclusive() -> None:
    effects = dict.fromkeys(["forward", "iterations", "clustered", "nearest"], 0.2)
    table = v.claim_table(*synthetic({**effects, "noise": -0.2}, n_reps=2))
    table = table[table["claim"] != v.NOISE]
    assert (table["verdict"] == v.INCONCLUSIVE).all() and (table["reps"] == 2).all()
    assert table["reason"].str.startswith("fewer than 3 replicates").all()
    assert (table["estimate"] > 0.15).all()


def test_a_claim_is_summed_up_by_counting_its_cells() -> None:
    """No cell stands for its claim: the line counts every outcome, most frequent first, ties in the rule's order."""
    assert v.count_line(pd.Series([v.SUPPORTED] * 7 + [v.EQUIVALENT])) == "supported in 7 of 8 cells, equivalent in 1"
    mixed = pd.Series([v.INCONCLUSIVE, v.CONTRADICTED, v.SUPPORTED, v.EQUIVALENT, v.SUPPORTED])
    assert v.count_line(mixed) == "supported in 2 of 5 cells, equivalent in 1, contradicted in 1, inconclusive in 1"
    assert v.count_line(mixed[::-1]) == v.count_line(mixed)
    assert v.count_line(pd.Series([v.CONTRADICTED])) == "contradicted in 1 of 1 cell"
    assert v.count_line(pd.Series([], dtype=str)) == "no cells"
    table = pd.DataFrame({"claim": ["a"] * 8 + ["b"], "verdict": [v.SUPPORTED] * 7 + [v.EQUIVALENT, v.CONTRADICTED]})
    summary = v.claim_summary(table)
    assert list(summary.columns) == ["claim", "cells", *v.OUTCOMES, "summary"]
    assert summary.iloc[0].to_dict() == {
        "claim": "a",
        "cells": 8,
        v.EQUIVALENT: 1,
        v.SUPPORTED: 7,
        v.CONTRADICTED: 0,
        v.INCONCLUSIVE: 0,
        "summary": "supported in 7 of 8 cells, equivalent in 1",
    }


def test_cells_the_config_does_not_run_are_left_out() -> None:
    """A subset run without noise and without a forward model (as clustered_medoid): no noise or forward cell,
    so those claims are decided by the cells that ran; its iteration cells stay."""
    effects = {"forward": 0.2, "iterations": 0.2, "clustered": 0.2, "nearest": 0.2, "noise": 0.1}
    mic, baselines, nearest = synthetic(effects)
    medoid = mic[(mic["subset"] == "clustered") & (mic["noise_in"] == "0")].assign(subset="clustered_medoid")
    table = v.claim_table(pd.concat([mic, medoid], ignore_index=True), baselines, nearest)
    cells = set(zip(table["claim"], table["subset"]))
    assert (v.ITERATIONS, "clustered_medoid") in cells
    assert (v.FORWARD, "clustered_medoid") not in cells and (v.NOISE, "clustered_medoid") not in cells
    assert (table["reps"] > 0).all()
    summary = v.claim_summary(table).set_index("claim")
    for claim in (v.FORWARD, v.NOISE):
        assert summary.loc[claim, v.SUPPORTED] == summary.loc[claim, "cells"] > 0
