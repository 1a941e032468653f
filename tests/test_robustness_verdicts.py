"""mic.evidence.robustness on synthetic robustness tables whose truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mic import layout
from mic.evidence import claims, rerun
from mic.evidence import robustness as r
from mic.evidence import verdicts as v
from mic.evidence.collect import TABLE_FILES
from mic.evidence.intervals import t_interval
from test_rerun import CLEAR, write_run

SAMPLES = 200
# The replicates' deviations from the true difference, times a spread s: mean 0, so the estimate is the truth, and
# the 95 % t-interval's half-width is t(0.975, 4)·s·√2.5/√5 ≈ 1.96·s.
WOBBLE = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
KINDS = {
    "characters": {"gaussian": [0.1, 0.3, 0.5], "time_shift": [0.05, 0.1], "speed": [0.8, 1.25]},
    "mnist": {"gaussian": [0.1, 0.3, 0.5], "occlusion": [0.1, 0.3]},
}
FRACTIONS = (0.0, 0.25, 0.5, 1.0)  # the middle nonzero one is 0.5
OUTLIER_SETS = ("noise", "reversed")
FORWARD_DROP = 0.2  # the forward model's mean accuracy drop under corruption
OFF_MIDDLE = 0.3  # MIC − forward under attack at the fractions other than the middle one


def _drop_shape(levels: list[float]) -> np.ndarray:
    """Per-level weights with mean 1 over a kind's levels: the drop grows with the level, its mean is the drop."""
    ranks = np.arange(1, len(levels) + 1, dtype=float)
    return ranks / ranks.mean()


def synthetic(
    effects: dict[str, float],
    spreads: dict[str, float] | None = None,
    kinds: dict[str, dict[str, list[float]]] | None = None,
    n_reps: int = 5,
) -> dict[str, pd.DataFrame]:
    """The five robustness tables (short names) with true per-replicate differences effect + spread·WOBBLE[rep].

    effects/spreads keys: corruptions (forward drop − MIC drop), outliers (MIC − forward AUROC) and attacks (MIC −
    forward white-box L2 accuracy at the middle fraction).
    """
    spreads = spreads or dict.fromkeys(effects, 0.002)
    kinds = KINDS if kinds is None else kinds
    methods = list(layout.ROBUSTNESS_METHODS)
    rows: dict[str, list] = {name: [] for name in layout.ROBUSTNESS_TABLES}
    for dataset, settings in kinds.items():
        for subset in ("clustered", "random"):
            for rep in range(n_reps):
                key = (dataset, subset, rep)
                wobble = {name: spreads[name] * WOBBLE[rep % len(WOBBLE)] for name in effects}
                for m, method in enumerate(methods):
                    clean = 0.9 - 0.05 * m
                    drop = {
                        r.MIC: FORWARD_DROP - effects["corruptions"] + wobble["corruptions"],
                        r.FORWARD_PROTOTYPES: FORWARD_DROP,
                    }.get(method, 0.1 + 0.02 * m)
                    rows["corruptions"].append((*key, method, layout.CLEAN, 0.0, clean))
                    for kind, levels in settings.items():
                        for level, weight in zip(levels, _drop_shape(levels)):
                            rows["corruptions"].append((*key, method, kind, level, clean - drop * weight))
                for o, outlier_set in enumerate(OUTLIER_SETS):
                    forward = 0.7 + 0.1 * o
                    # the sets differ by ±0.05 around the effect, which their mean cancels
                    ours = forward + effects["outliers"] + wobble["outliers"] + (0.05 if o else -0.05)
                    scores = [
                        (r.MIC, r.MIN_LOSS, ours),
                        (r.MIC_EXTENDED, r.MIN_SCORE, 0.6),
                        (r.FORWARD_PROTOTYPES, r.MAX_SOFTMAX, forward),
                        (r.FORWARD_PROTOTYPES, r.ENERGY, forward - 0.1),
                        (r.FORWARD_FULL, r.MAX_SOFTMAX, 0.95),
                        (r.FORWARD_FULL, r.ENERGY, 0.93),
                        (r.NEAREST_EUCLIDEAN, r.DISTANCE, 0.8),
                    ]
                    for method, score, auroc in scores:
                        rows["outliers"].append((*key, method, score, outlier_set, auroc, 0.5 - auroc / 2))
                        fpr = np.linspace(0, 1, 21)
                        exponent = (1 - auroc) / auroc  # ∫ fpr^k dfpr = 1 / (k + 1) = auroc
                        rows["roc"] += [(*key, method, score, outlier_set, x, x**exponent) for x in fpr]
                for norm in ("l2", "linf"):
                    for fraction in FRACTIONS:
                        forward = 0.8 * (1 - 0.6 * fraction)
                        gap = effects["attacks"] + wobble["attacks"] if fraction == 0.5 else OFF_MIDDLE
                        ours = forward + (gap if fraction and norm == "l2" else 0.0)
                        rows["attacks"] += [
                            (*key, r.MIC, r.WHITE_BOX, r.MIC, norm, fraction, ours),
                            (*key, r.FORWARD_PROTOTYPES, r.WHITE_BOX, r.FORWARD_PROTOTYPES, norm, fraction, forward),
                            (*key, r.FORWARD_FULL, r.WHITE_BOX, r.FORWARD_FULL, norm, fraction, 0.9 - 0.5 * fraction),
                            (*key, r.MIC, r.TRANSFER, r.FORWARD_PROTOTYPES, norm, fraction, 0.85 - 0.2 * fraction),
                            (
                                *key,
                                r.NEAREST_EUCLIDEAN,
                                r.TRANSFER,
                                r.FORWARD_FULL,
                                norm,
                                fraction,
                                0.8 - 0.1 * fraction,
                            ),
                        ]
                        if norm == "l2":
                            rows["attacks"].append(
                                (*key, r.NEAREST_EUCLIDEAN, r.MINIMAL, "", norm, fraction, 0.8 - 0.7 * fraction)
                            )
                for iterations in (5, 20):
                    for target in range(3):
                        rows["gradients"].append(
                            (*key, target, "a", iterations, 0.99 - 0.01 * target, 0.01 * (target + 1))
                        )
    lead = ["dataset", "subset", "rep"]
    corruptions = pd.DataFrame(rows["corruptions"], columns=[*lead, "method", "kind", "level", "accuracy"])
    corruptions.insert(6, "samples", SAMPLES)
    corruptions.insert(7, "correct", (corruptions["accuracy"] * SAMPLES).round().astype(int))
    outliers = pd.DataFrame(
        rows["outliers"], columns=[*lead, "method", "score", "outlier_set", "auroc", "accepted_at_95"]
    )
    outliers.insert(6, "inliers", 180)
    outliers.insert(7, "outliers", 150)
    outliers["threshold"] = 1.0
    attacks = pd.DataFrame(
        rows["attacks"], columns=[*lead, "method", "attack", "source", "norm", "fraction", "accuracy"]
    )
    attacks["source"] = attacks["source"].replace("", np.nan)  # as read_table reads an empty cell
    attacks.insert(8, "epsilon", attacks["fraction"] * 2.5)
    attacks.insert(9, "samples", SAMPLES)
    attacks.insert(10, "correct", (attacks["accuracy"] * SAMPLES).round().astype(int))
    return {
        "corruptions": corruptions,
        "outliers": outliers,
        "roc": pd.DataFrame(rows["roc"], columns=[*lead, "method", "score", "outlier_set", "fpr", "tpr"]),
        "attacks": attacks,
        "gradients": pd.DataFrame(
            rows["gradients"], columns=[*lead, "target", "module", "iterations", "cosine", "relative_error"]
        ),
    }


def claim_rows(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return r.robustness_claim_table(tables["corruptions"], tables["outliers"], tables["attacks"])


NAMES = {"corruptions": claims.CORRUPTIONS, "outliers": claims.OUTLIERS, "attacks": claims.ATTACKS}
CASES = {  # (true difference, spread) -> the outcome the rule must give with 5 replicates
    v.EQUIVALENT: (0.0, 0.002),  # interval ±0.004 around 0, inside ±0.01
    v.SUPPORTED: (0.1, 0.01),  # 0.1 ± 0.02
    v.CONTRADICTED: (-0.1, 0.01),
    v.INCONCLUSIVE: (0.01, 0.05),  # 0.01 ± 0.1
}


@pytest.mark.parametrize("outcome", list(CASES))
@pytest.mark.parametrize("name", list(NAMES))
def test_each_claim_gives_the_outcome_of_its_truth(name: str, outcome: str) -> None:
    effect, spread = CASES[outcome]
    effects, spreads = dict.fromkeys(NAMES, 0.0), dict.fromkeys(NAMES, 0.002)
    effects[name], spreads[name] = effect, spread
    table = claim_rows(synthetic(effects, spreads))
    rows = table[table["claim"] == NAMES[name]]
    assert len(rows) == 4  # two data sets × two subsets
    assert (rows["verdict"] == outcome).all(), rows[["scope", "estimate", "low", "high", "verdict"]]
    assert np.allclose(rows["estimate"], effect) and (rows["reps"] == 5).all()
    expected = t_interval(effect + spread * WOBBLE)
    assert np.allclose(rows["low"], expected.low) and np.allclose(rows["high"], expected.high)
    others = table[table["claim"] != NAMES[name]]
    assert (others["verdict"] == v.EQUIVALENT).all()


def test_the_table_has_the_verdict_and_key_columns_and_the_registry_margin() -> None:
    table = claim_rows(synthetic(dict.fromkeys(NAMES, 0.1), dict.fromkeys(NAMES, 0.01)))
    assert list(table.columns) == [*v.VERDICT_COLUMNS, *v.KEY_COLUMNS]
    assert list(dict.fromkeys(table["claim"])) == claims.ROBUSTNESS_CLAIMS
    assert (table["model"] == "best").all() and (table["margin"] == claims.MARGIN).all()
    cells = table[["dataset", "subset"]].drop_duplicates().itertuples(index=False, name=None)
    assert list(cells) == [(d, s) for d in KINDS for s in ("clustered", "random")]
    assert v.claim_summary(table).set_index("claim").loc[claims.ATTACKS, "summary"] == "supported in 4 of 4 cells"
    labelled = r.robustness_claim_table(*(synthetic(dict.fromkeys(NAMES, 0.1))[n] for n in NAMES), label=str.upper)
    assert labelled["scope"].str.startswith(("CHARACTERS ", "MNIST ")).all()


def test_the_corruption_drop_by_hand() -> None:
    """drop = clean − mean over every corrupted (kind, level); the difference is forward's drop − MIC's."""
    tables = synthetic({"corruptions": 0.05, "outliers": 0.0, "attacks": 0.0}, dict.fromkeys(NAMES, 0.01))
    corruptions = tables["corruptions"]
    rows = corruptions[(corruptions["dataset"] == "mnist") & (corruptions["subset"] == "random")]
    rows = rows[rows["rep"] == 0]
    by_hand = {}
    for method in (r.MIC, r.FORWARD_PROTOTYPES):
        own = rows[rows["method"] == method]
        clean = own.loc[own["kind"] == layout.CLEAN, "accuracy"].item()
        by_hand[method] = clean - own.loc[own["kind"] != layout.CLEAN, "accuracy"].mean()
    drops = r.corruption_drops(corruptions).set_index(["dataset", "subset", "method", "rep"])
    assert drops.loc[("mnist", "random", r.MIC, 0), "drop"] == pytest.approx(by_hand[r.MIC])
    assert drops.loc[("mnist", "random", r.MIC, 0), "settings"] == 5  # 3 gaussian + 2 occlusion levels
    assert by_hand[r.FORWARD_PROTOTYPES] == pytest.approx(FORWARD_DROP)
    difference = r.corruption_difference(corruptions, "mnist", "random")
    assert difference.index.name == "rep" and list(difference.index) == list(range(5))
    assert difference[0] == pytest.approx(by_hand[r.FORWARD_PROTOTYPES] - by_hand[r.MIC])
    assert np.allclose(difference, 0.05 - 0.01 * WOBBLE)  # MIC's drop carries the wobble


def test_the_middle_fraction() -> None:
    assert r.middle_fraction([0.0, 1.0, 0.25, 0.5, 0.5, 0.25]) == 0.5
    assert r.middle_fraction([0.4, 0.1, 0.3, 0.2]) == 0.2  # the lower middle of an even count
    assert r.middle_fraction([0.0, 0.3]) == 0.3
    assert np.isnan(r.middle_fraction([0.0])) and np.isnan(r.middle_fraction([]))


def test_the_attack_difference_is_taken_at_the_middle_fraction_and_l2() -> None:
    """Off the middle fraction MIC leads by OFF_MIDDLE, under L∞ not at all: only L2 at 0.5 gives the effect."""
    tables = synthetic({"corruptions": 0.0, "outliers": 0.0, "attacks": -0.04}, dict.fromkeys(NAMES, 0.01))
    difference = r.attack_difference(tables["attacks"], "characters", "clustered")
    assert np.allclose(difference, -0.04 + 0.01 * WOBBLE)
    scope = claim_rows(tables).set_index("claim").loc[claims.ATTACKS, "scope"].iloc[0]
    assert "ε = 0.5 of the scale" in scope
    # with the fractions 0, 0.25 and 1 alone the middle is 0.25, where MIC leads by OFF_MIDDLE
    attacks = tables["attacks"][tables["attacks"]["fraction"] != 0.5]
    assert np.allclose(r.attack_difference(attacks, "characters", "clustered"), OFF_MIDDLE)


def test_the_outlier_difference_is_the_mean_over_the_sets_both_sides_have() -> None:
    tables = synthetic({"corruptions": 0.0, "outliers": 0.03, "attacks": 0.0}, dict.fromkeys(NAMES, 0.01))
    outliers = tables["outliers"]
    assert np.allclose(r.outlier_difference(outliers, "mnist", "clustered"), 0.03 + 0.01 * WOBBLE)
    # without the forward model's "reversed" rows only the "noise" set pairs: its offset −0.05 is no longer cancelled
    lacking = outliers[~((outliers["method"] == r.FORWARD_PROTOTYPES) & (outliers["outlier_set"] == "reversed"))]
    assert np.allclose(r.outlier_difference(lacking, "mnist", "clustered"), 0.03 - 0.05 + 0.01 * WOBBLE)


def test_a_cell_without_a_paired_replicate_is_left_out() -> None:
    tables = synthetic(dict.fromkeys(NAMES, 0.1), dict.fromkeys(NAMES, 0.01))
    corruptions = tables["corruptions"]
    # the forward model did not run in MNIST random: the corruption claim has no pair there
    corruptions = corruptions[
        ~(
            (corruptions["dataset"] == "mnist")
            & (corruptions["subset"] == "random")
            & (corruptions["method"] == r.FORWARD_PROTOTYPES)
        )
    ]
    table = r.robustness_claim_table(corruptions, tables["outliers"], tables["attacks"])
    cells = table[table["claim"] == claims.CORRUPTIONS][["dataset", "subset"]].itertuples(index=False, name=None)
    assert ("mnist", "random") not in set(cells) and len(table) == 11


def test_too_few_replicates_are_inconclusive() -> None:
    tables = synthetic(dict.fromkeys(NAMES, 0.1), dict.fromkeys(NAMES, 0.01), n_reps=2)
    table = claim_rows(tables)
    assert len(table) == 12 and (table["verdict"] == v.INCONCLUSIVE).all() and (table["reps"] == 2).all()


def test_empty_tables_give_empty_results_with_their_columns() -> None:
    empty = pd.DataFrame()
    table = r.robustness_claim_table(empty, empty, empty)
    assert table.empty and list(table.columns) == [*v.VERDICT_COLUMNS, *v.KEY_COLUMNS]
    for summary in (r.corruption_summary, r.drop_summary, r.outlier_summary, r.attack_summary, r.corruption_drops):
        assert summary(empty).empty and len(summary(empty).columns)
    # one table present, the others empty: only its claim
    tables = synthetic(dict.fromkeys(NAMES, 0.1), dict.fromkeys(NAMES, 0.01))
    only = r.robustness_claim_table(empty, tables["outliers"], empty)
    assert set(only["claim"]) == {claims.OUTLIERS} and len(only) == 4
    assert set(r.robustness_tables({})) == set(layout.ROBUSTNESS_TABLES)
    assert all(t.empty for t in r.robustness_tables({}).values())


def test_the_summaries_by_hand() -> None:
    tables = synthetic(dict.fromkeys(NAMES, 0.1), dict.fromkeys(NAMES, 0.01))
    corruptions, outliers, attacks = tables["corruptions"], tables["outliers"], tables["attacks"]
    key = ("characters", "clustered")

    def pick(frame: pd.DataFrame, **values) -> pd.DataFrame:
        mask = (frame["dataset"] == key[0]) & (frame["subset"] == key[1])
        for column, value in values.items():
            mask &= frame[column] == value
        return frame[mask]

    summary = pick(r.corruption_summary(corruptions), method=r.MIC, kind="speed", level=1.25)
    expected = t_interval(pick(corruptions, method=r.MIC, kind="speed", level=1.25)["accuracy"])
    assert summary["mean"].item() == pytest.approx(expected.mean)
    assert summary["half_width"].item() == pytest.approx(expected.half_width)
    assert summary["reps"].item() == 5 and summary["samples"].item() == SAMPLES
    drops = pick(r.drop_summary(corruptions), method=r.FORWARD_PROTOTYPES)
    assert drops["mean"].item() == pytest.approx(FORWARD_DROP) and drops["settings"].item() == 7

    auroc = pick(r.outlier_summary(outliers), method=r.MIC, score=r.MIN_LOSS, outlier_set="noise")
    values = pick(outliers, method=r.MIC, score=r.MIN_LOSS, outlier_set="noise")
    assert auroc["auroc_mean"].item() == pytest.approx(t_interval(values["auroc"]).mean)
    assert auroc["accepted_at_95_half_width"].item() == pytest.approx(t_interval(values["accepted_at_95"]).half_width)
    assert (auroc["inliers"].item(), auroc["outliers"].item(), auroc["reps"].item()) == (180, 150, 5)

    summary = r.attack_summary(attacks)
    assert set(summary.loc[summary["attack"] == r.MINIMAL, "source"]) == {""}  # no row lost to a missing source
    minimal = pick(summary, method=r.NEAREST_EUCLIDEAN, attack=r.MINIMAL, fraction=1.0)
    assert minimal["mean"].item() == pytest.approx(0.1) and minimal["epsilon"].item() == pytest.approx(2.5)
    assert minimal["samples"].item() == SAMPLES and minimal["reps"].item() == 5
    rows_per_curve = summary.groupby(["dataset", "subset", "method", "attack", "source", "norm"]).size()
    assert (rows_per_curve == len(FRACTIONS)).all()


def test_run_claims_adds_the_robustness_claims_and_reads_older_folders(tmp_path) -> None:
    """A tables folder with robustness tables gets their verdicts; one written before they existed still reads."""
    with_robustness = write_run(tmp_path / "new", CLEAR, seed=1)
    for name, table in synthetic(dict.fromkeys(NAMES, 0.1), dict.fromkeys(NAMES, 0.01)).items():
        table.to_csv(with_robustness / TABLE_FILES[f"robustness_{name}"], sep="\t", index=False)
    claims_new = rerun.run_claims(with_robustness)
    robust = claims_new[claims_new["claim"].isin(claims.ROBUSTNESS_CLAIMS)]
    assert len(robust) == 12 and (robust["verdict"] == v.SUPPORTED).all()

    older = write_run(tmp_path / "old", CLEAR, seed=1)
    for name in layout.ROBUSTNESS_TABLES:
        (older / TABLE_FILES[f"robustness_{name}"]).unlink()
    claims_old = rerun.run_claims(older)
    assert len(claims_old) == len(claims_new) - 12 and not claims_old["claim"].isin(claims.ROBUSTNESS_CLAIMS).any()
    empty = rerun.run_claims(write_run(tmp_path / "empty", CLEAR, seed=1))  # empty robustness files: no such jobs
    pd.testing.assert_frame_equal(empty, claims_old)
    comparison = rerun.compare_runs({"new": claims_new, "old": claims_old})
    assert (comparison.loc[comparison["claim"].isin(claims.ROBUSTNESS_CLAIMS), "verdict old"] == "missing").all()
