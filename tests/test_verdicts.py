"""mic.evidence.verdicts on synthetic replicate data whose truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mic.evidence import verdicts as v
from mic.layout import ALL

N = 1000  # test samples per replicate
K = 5


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


def test_a_clear_effect_is_supported() -> None:
    record = v.decide(reps([0.20, 0.21, 0.19, 0.205, 0.195]))
    assert record["verdict"] == v.SUPPORTED and record["low"] > 0 and record["reps"] == 5


def test_a_zero_effect_with_noise_is_inconclusive() -> None:
    record = v.decide(reps([0.01, -0.02, 0.015, -0.005, 0.0]))
    assert record["verdict"] == v.INCONCLUSIVE and record["low"] < 0 < record["high"]
    assert "contains 0" in record["reason"]


def test_a_reversed_effect_is_contradicted() -> None:
    record = v.decide(reps([-0.10, -0.12, -0.09]))
    assert record["verdict"] == v.CONTRADICTED and record["high"] < 0


def test_two_replicates_are_inconclusive_whatever_the_numbers() -> None:
    record = v.decide(reps([0.30, 0.31]))
    assert record["verdict"] == v.INCONCLUSIVE and record["reason"].startswith("fewer than 3 replicates")
    assert record["estimate"] == pytest.approx(0.305)  # reported, but it does not decide


def test_pairing_by_replicate_removes_the_shared_run_to_run_variance() -> None:
    """Each replicate moves both sides together: the paired difference is tight although the sides overlap."""
    shared = np.array([0.0, 0.1, -0.1, 0.05])
    a, b = reps(0.72 + shared + [0.0, 0.002, -0.001, 0.001]), reps(0.70 + shared)
    assert v.decide(v.paired_difference(a, b))["verdict"] == v.SUPPORTED
    unpaired = v.decide(reps(a.to_numpy() - b.sample(frac=1, random_state=1).to_numpy()))
    assert unpaired["verdict"] == v.INCONCLUSIVE


def test_a_side_without_replicates_is_subtracted_from_every_replicate() -> None:
    constant = pd.Series([0.5])  # e.g. 1-NN, no `rep` column: no training, the same in every replicate
    difference = v.paired_difference(reps([0.6, 0.61, 0.59]), constant)
    assert difference.tolist() == pytest.approx([0.1, 0.11, 0.09])
    assert v.paired_difference(reps([0.6, 0.7]), reps([0.5, 0.5, 0.5])).index.tolist() == [0, 1]  # common reps


@pytest.mark.parametrize(("effect", "verdict"), [(0.2, v.SUPPORTED), (0.0, v.INCONCLUSIVE), (-0.2, v.CONTRADICTED)])
def test_claim_table_recovers_the_truth(effect: float, verdict: str) -> None:
    """Every claim at once: a true +0.2 is supported, a true 0 inconclusive, a true −0.2 contradicted.

    Noise hurts clearly here, so best = base for sure and MIC base and best carry the same truth.
    """
    effects = dict.fromkeys(["forward", "iterations", "clustered", "nearest"], effect)
    mic, baselines, nearest = synthetic({**effects, "noise": -0.2}, sd=0.01)
    table = v.claim_table(mic, baselines, nearest)
    assert list(table.columns[: len(v.VERDICT_COLUMNS)]) == v.VERDICT_COLUMNS
    assert set(table["claim"]) == set(v.CLAIMS)
    others = table[table["claim"] != v.NOISE]
    assert (others["verdict"] == verdict).all(), others[["scope", "estimate", "low", "high", "verdict"]]
    assert (others["estimate"] - effect).abs().max() < 0.02
    noise = table[table["claim"] == v.NOISE]  # the best setting is no noise: a difference of exactly 0
    assert (noise["verdict"] == v.INCONCLUSIVE).all() and noise["reason"].str.contains("is no noise").all()
    summary = v.claim_summary(table).set_index("claim")["verdict"]
    assert summary[v.FORWARD] == verdict


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


def test_overall_verdict() -> None:
    assert v.overall_verdict(pd.Series([v.SUPPORTED, v.SUPPORTED])) == v.SUPPORTED
    assert v.overall_verdict(pd.Series([v.SUPPORTED, v.INCONCLUSIVE])) == v.INCONCLUSIVE
    assert v.overall_verdict(pd.Series([v.SUPPORTED, v.CONTRADICTED])) == v.CONTRADICTED
    assert v.overall_verdict(pd.Series([], dtype=str)) == v.INCONCLUSIVE


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
    summary = v.claim_summary(table).set_index("claim")["verdict"]
    assert summary[v.FORWARD] == v.SUPPORTED and summary[v.NOISE] == v.SUPPORTED
