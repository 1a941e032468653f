"""Verdicts on the paper's robustness claims, and the per-replicate numbers behind them.

The robustness jobs evaluate, per data set, subset and replicate, MIC's validation-best setting beside the
forward LSTM on the same prototypes (and further models) under corruptions, outliers and attacks
(mic.layout.ROBUSTNESS_METHODS). Each claim of mic.evidence.claims.ROBUSTNESS_CLAIMS is a per-replicate
difference, decided by mic.evidence.verdicts with its registered margin exactly as the other claims:

- CORRUPTIONS: drop(m) = accuracy(m, clean) − mean accuracy(m) over every corrupted (kind, level);
  difference = drop(forward on the same prototypes) − drop(MIC), positive when MIC keeps more.
- OUTLIERS: AUROC(MIC, lowest final loss) − AUROC(forward, maximum softmax), averaged over the outlier sets.
- ATTACKS: accuracy(MIC) − accuracy(forward) under each model's own L2 white-box attack at the middle ε
  fraction (the middle of the sorted distinct nonzero fractions; the lower middle of an even count).

The summaries (corruption_summary, drop_summary, outlier_summary, attack_summary) are the tidy means with 95 %
t-intervals over replicates (mic.evidence.intervals) that the report's tables and figures show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from mic import layout
from mic.evidence.claims import ATTACKS, CORRUPTIONS, OUTLIERS
from mic.evidence.intervals import INTERVAL_COLUMNS, replicate_intervals
from mic.evidence.verdicts import KEY_COLUMNS, VERDICT_COLUMNS, claim_record, paired_difference

MIC, MIC_EXTENDED, FORWARD_PROTOTYPES, FORWARD_FULL, NEAREST_EUCLIDEAN = layout.ROBUSTNESS_METHODS
MIN_LOSS, MIN_SCORE, MAX_SOFTMAX, ENERGY, DISTANCE = layout.ROBUSTNESS_SCORES
WHITE_BOX, TRANSFER, MINIMAL = layout.ROBUSTNESS_ATTACKS
CLAIM_NORM = "l2"  # the attack norm the ATTACKS claim is decided on (the registry's "L2 white-box PGD")
PER_CELL = ["dataset", "subset"]  # one verdict per claim and (data set, subset) cell
MODEL = "best"  # the KEY_COLUMNS model of every robustness verdict: the jobs run on the validation-best setting
SAMPLES = "samples"  # per-replicate sample counts in the summaries: the fewest of any replicate


def robustness_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The robustness tables of read_tables' result by short name (layout.ROBUSTNESS_TABLES), empty where absent."""
    return {name: tables.get(f"robustness_{name}", pd.DataFrame()) for name in layout.ROBUSTNESS_TABLES}


def _cells(*frames: pd.DataFrame) -> list[tuple[str, str]]:
    """The (dataset, subset) cells of the non-empty frames, in the order they first appear."""
    found = [tuple(key) for frame in frames if len(frame) for key in frame[PER_CELL].itertuples(index=False)]
    return list(dict.fromkeys(found))


def _in_cell(frame: pd.DataFrame, dataset: str, subset: str) -> pd.DataFrame:
    return frame[(frame["dataset"] == dataset) & (frame["subset"] == subset)] if len(frame) else frame


def _by_rep(values: pd.Series) -> pd.Series:
    """A per-replicate series indexed by "rep", as verdicts.paired_difference pairs them."""
    values = values.astype(float)
    values.index = values.index.astype(int).rename("rep")
    return values


# ------------------------------------------------------------------------------------------------ corruptions


def corruption_drops(corruptions: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, subset, method, rep): clean accuracy, mean corrupted accuracy and drop = clean − corrupted."""
    columns = [*PER_CELL, "method", "rep", "clean", "corrupted", "settings", "drop"]
    if not len(corruptions):
        return pd.DataFrame(columns=columns)
    keys = [*PER_CELL, "method", "rep"]
    is_clean = corruptions["kind"] == layout.CLEAN
    clean = corruptions[is_clean].groupby(keys, sort=False)["accuracy"].mean().rename("clean")
    corrupted = corruptions[~is_clean].groupby(keys, sort=False)["accuracy"].agg(["mean", "size"])
    corrupted = corrupted.rename(columns={"mean": "corrupted", "size": "settings"})
    table = pd.concat([clean, corrupted], axis=1, join="inner").reset_index()
    table["drop"] = table["clean"] - table["corrupted"]
    return table[columns]


def corruption_difference(corruptions: pd.DataFrame, dataset: str, subset: str) -> pd.Series:
    """drop(forward on the same prototypes) − drop(MIC) per replicate of one cell."""
    drops = corruption_drops(_in_cell(corruptions, dataset, subset))

    def drop(method: str) -> pd.Series:
        rows = drops[drops["method"] == method]
        return _by_rep(rows.set_index("rep")["drop"])

    return paired_difference(drop(FORWARD_PROTOTYPES), drop(MIC))


def corruption_verdict(corruptions: pd.DataFrame, dataset: str, subset: str, label: str) -> dict:
    """The CORRUPTIONS claim in one cell."""
    rows = _in_cell(corruptions, dataset, subset)
    settings = rows.loc[rows["kind"] != layout.CLEAN, ["kind", "level"]].drop_duplicates().shape[0]
    scope = f"{label} {subset} (accuracy drop, forward − MIC, mean over {settings} corruption settings)"
    differences = corruption_difference(corruptions, dataset, subset)
    return claim_record(CORRUPTIONS, scope, (dataset, subset, MODEL), differences)


def corruption_summary(corruptions: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per (dataset, subset, method, kind, level) over replicates: INTERVAL_COLUMNS and samples."""
    keys = [*PER_CELL, "method", "kind", "level"]
    if not len(corruptions):
        return pd.DataFrame(columns=[*keys, *INTERVAL_COLUMNS, SAMPLES])
    summary = replicate_intervals(corruptions, keys, "accuracy")
    samples = corruptions.groupby(keys, sort=False)["samples"].min().rename(SAMPLES).reset_index()
    return summary.merge(samples, on=keys, how="left")


def drop_summary(corruptions: pd.DataFrame) -> pd.DataFrame:
    """The drop from clean per (dataset, subset, method) over replicates (INTERVAL_COLUMNS) and its settings."""
    drops = corruption_drops(corruptions)
    keys = [*PER_CELL, "method"]
    if not len(drops):
        return pd.DataFrame(columns=[*keys, *INTERVAL_COLUMNS, "settings"])
    settings = drops.groupby(keys, sort=False)["settings"].min().reset_index()
    return replicate_intervals(drops, keys, "drop").merge(settings, on=keys, how="left")


# ------------------------------------------------------------------------------------------------ outliers


def outlier_difference(outliers: pd.DataFrame, dataset: str, subset: str) -> pd.Series:
    """Mean over the outlier sets of AUROC(MIC, lowest loss) − AUROC(forward, max softmax), per replicate."""
    rows = _in_cell(outliers, dataset, subset)

    if not len(rows):
        return pd.Series(dtype=float)

    def auroc(method: str, score: str) -> pd.Series:
        chosen = rows[(rows["method"] == method) & (rows["score"] == score)]
        return chosen.set_index(["rep", "outlier_set"])["auroc"].astype(float)

    # paired per replicate and outlier set, so that a set one side lacks does not enter the other's mean
    paired = (auroc(MIC, MIN_LOSS) - auroc(FORWARD_PROTOTYPES, MAX_SOFTMAX)).dropna()
    if not len(paired):
        return pd.Series(dtype=float)
    return _by_rep(paired.groupby(level="rep").mean())


def outlier_verdict(outliers: pd.DataFrame, dataset: str, subset: str, label: str) -> dict:
    """The OUTLIERS claim in one cell."""
    sets = sorted(set(_in_cell(outliers, dataset, subset)["outlier_set"]))
    scope = f"{label} {subset} (AUROC, MIC lowest loss − forward max softmax, mean over {', '.join(sets)})"
    return claim_record(OUTLIERS, scope, (dataset, subset, MODEL), outlier_difference(outliers, dataset, subset))


def outlier_summary(outliers: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, subset, method, score, outlier_set): AUROC and the share of outliers accepted at the 95 %
    validation threshold, each as mean, half_width, low, high over replicates; reps, inliers and outliers."""
    keys = [*PER_CELL, "method", "score", "outlier_set"]
    measured = [f"{value}_{column}" for value in ("auroc", "accepted_at_95") for column in INTERVAL_COLUMNS[:-1]]
    if not len(outliers):
        return pd.DataFrame(columns=[*keys, *measured, "reps", "inliers", "outliers"])
    auroc = replicate_intervals(outliers, keys, "auroc")
    accepted = replicate_intervals(outliers, keys, "accepted_at_95").drop(columns="reps")
    table = auroc.merge(accepted, on=keys, suffixes=("", "_accepted"))
    table = table.rename(columns={c: f"auroc_{c}" for c in INTERVAL_COLUMNS[:-1]})
    table = table.rename(columns={f"{c}_accepted": f"accepted_at_95_{c}" for c in INTERVAL_COLUMNS[:-1]})
    counts = outliers.groupby(keys, sort=False)[["inliers", "outliers"]].min().reset_index()
    return table.merge(counts, on=keys, how="left")[[*keys, *measured, "reps", "inliers", "outliers"]]


# ------------------------------------------------------------------------------------------------ attacks


def middle_fraction(fractions: Sequence[float]) -> float:
    """The middle of the sorted distinct nonzero ε fractions (the lower middle of an even count); NaN if none."""
    distinct = sorted({float(f) for f in fractions if float(f) != 0})
    return distinct[(len(distinct) - 1) // 2] if distinct else float("nan")


def _white_box(attacks: pd.DataFrame, dataset: str, subset: str) -> pd.DataFrame:
    rows = _in_cell(attacks, dataset, subset)
    return rows[(rows["attack"] == WHITE_BOX) & (rows["norm"] == CLAIM_NORM)] if len(rows) else rows


def attack_difference(attacks: pd.DataFrame, dataset: str, subset: str) -> pd.Series:
    """accuracy(MIC) − accuracy(forward) under their own L2 white-box attacks at the middle fraction, per replicate."""
    rows = _white_box(attacks, dataset, subset)
    if not len(rows):
        return pd.Series(dtype=float)
    at = rows[rows["fraction"].astype(float) == middle_fraction(rows["fraction"])]

    def accuracy(method: str) -> pd.Series:
        return _by_rep(at[at["method"] == method].groupby("rep")["accuracy"].mean())

    return paired_difference(accuracy(MIC), accuracy(FORWARD_PROTOTYPES))


def attack_verdict(attacks: pd.DataFrame, dataset: str, subset: str, label: str) -> dict:
    """The ATTACKS claim in one cell."""
    rows = _white_box(attacks, dataset, subset)
    fraction = middle_fraction(rows["fraction"]) if len(rows) else float("nan")
    scope = f"{label} {subset} (accuracy under own L2 white-box PGD at ε = {fraction:g} of the scale, MIC − forward)"
    return claim_record(ATTACKS, scope, (dataset, subset, MODEL), attack_difference(attacks, dataset, subset))


def attack_summary(attacks: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per (dataset, subset, method, attack, source, norm, fraction) over replicates (INTERVAL_COLUMNS),
    with the absolute ε (mean over replicates) and the samples; source is "" where the attack has none."""
    keys = [*PER_CELL, "method", "attack", "source", "norm", "fraction"]
    if not len(attacks):
        return pd.DataFrame(columns=[*keys, "epsilon", *INTERVAL_COLUMNS, SAMPLES])
    # a missing source is NaN, which groupby would drop
    attacks = attacks.assign(
        source=attacks["source"].fillna("").astype(str), fraction=attacks["fraction"].astype(float)
    )
    summary = replicate_intervals(attacks, keys, "accuracy")
    extra = attacks.groupby(keys, sort=False).agg(epsilon=("epsilon", "mean"), samples=("samples", "min"))
    table = summary.merge(extra.reset_index().rename(columns={"samples": SAMPLES}), on=keys, how="left")
    return table[[*keys, "epsilon", *INTERVAL_COLUMNS, SAMPLES]]


# ------------------------------------------------------------------------------------------------ the claims


def robustness_claim_table(
    corruptions: pd.DataFrame,
    outliers: pd.DataFrame,
    attacks: pd.DataFrame,
    label: Callable[[str], str] = str,
) -> pd.DataFrame:
    """Every robustness claim per (dataset, subset): VERDICT_COLUMNS + KEY_COLUMNS (model "best").

    `label` names a data set in the scope column. A cell without a paired replicate is left out, as
    verdicts.claim_table leaves out what the config does not run.
    """
    deciders = (
        (corruption_verdict, corruptions),
        (outlier_verdict, outliers),
        (attack_verdict, attacks),
    )
    records = [
        decider(table, dataset, subset, label(dataset))
        for decider, table in deciders
        for dataset, subset in _cells(table)
    ]
    run = [record for record in records if record["reps"] > 0]
    return pd.DataFrame(run, columns=[*VERDICT_COLUMNS, *KEY_COLUMNS])


def stacked(*tables: pd.DataFrame) -> pd.DataFrame:
    """Claim tables one below the other; empty ones are skipped (pandas warns of them in a concat)."""
    found = [table for table in tables if len(table)]
    if len(found) < 2:
        return found[0] if found else tables[0]
    return pd.concat(found, ignore_index=True)
