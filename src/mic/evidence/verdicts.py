"""Four-valued verdicts on the claims, decided by 95 % t-intervals of replicate-paired differences and a margin.

Every claim (mic.evidence.claims.REGISTRY) compares two numbers that each replicate measures once (MIC −
forward, K − 0 iterations, clustered − random, best noise − no noise, MIC − 1-NN). The difference is taken
per replicate (paired by `rep`), and its 95 % t-interval over replicates (mic.evidence.intervals.t_interval)
is set against the claim's registered margin δ: inside (−δ, +δ) -> "equivalent"; otherwise entirely above 0
-> "supported", entirely below 0 -> "contradicted", else "inconclusive". With fewer than MIN_REPS replicates
the verdict is "inconclusive" whatever the numbers: a point estimate never decides. A side measured without
replicates (1-NN needs no training, so its table may have no `rep`) is the same in every replicate and is
subtracted from each. Each verdict carries `same_on_rerun`, the chance that a rerun with new seeds and as
many replicates gives the same one of the four (mic.evidence.stability; NaN where the verdict does not come
from the numbers' spread). A cell the config does not run (no forward model on the clustered_medoid
prototypes, no noise grid for a subset run without noise, no inversion variants) has no paired replicate:
claim_table leaves it out, so that it does not count as "inconclusive" against its claim. A claim is summed up
by counting its cells' verdicts (count_line), never by one cell standing for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from mic.evidence import claims as registry
from mic.evidence.claims import (
    CLUSTERED,
    CONTRADICTED,
    EQUIVALENT,
    EXTENDED,
    FORWARD,
    INCONCLUSIVE,
    ITERATIONS,
    NEAREST,
    NOISE,
    OUTCOMES,
    SUPPORTED,
)
from mic.evidence.intervals import t_interval
from mic.evidence.selection import (
    TEST,
    Choice,
    baseline_reps,
    best_variant,
    choices,
    extended_reps,
    mic_reps,
    nearest_reps,
)
from mic.evidence.stability import rerun_chances

CLAIMS = registry.CLAIMS  # the report reads the labels, outcomes and claims from this module too
MIN_REPS = 3
VERDICT_COLUMNS = ["claim", "scope", "estimate", "low", "high", "reps", "margin", "verdict", "same_on_rerun", "reason"]
KEY_COLUMNS = ["dataset", "subset", "model"]  # what the report joins the paper's numbers on
MODELS = ("base", "best")
_REASONS = {
    EQUIVALENT: "95 % interval inside ±{margin:g}",
    SUPPORTED: "95 % interval above 0",
    CONTRADICTED: "95 % interval below 0",
    INCONCLUSIVE: "95 % interval contains 0 and reaches past ±{margin:g}",
}


def outcomes(low: ArrayLike, high: ArrayLike, margin: float) -> np.ndarray:
    """The four-valued rule on 95 % intervals [low, high] with margin δ, elementwise (see the module docstring)."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    tests = [(low > -margin) & (high < margin), low > 0, high < 0]
    return np.select(tests, [EQUIVALENT, SUPPORTED, CONTRADICTED], INCONCLUSIVE)


def paired_difference(a: pd.Series, b: pd.Series) -> pd.Series:
    """a − b per replicate both have (index "rep"); a side with an unnamed index is one value for every replicate."""
    if a.index.name != "rep" and b.index.name != "rep":
        return pd.Series(a.to_numpy()[:1] - b.to_numpy()[:1], dtype=float)
    if a.index.name != "rep":
        return (a.iloc[0] - b).dropna() if len(a) else pd.Series(dtype=float)
    if b.index.name != "rep":
        return (a - b.iloc[0]).dropna() if len(b) else pd.Series(dtype=float)
    return (a - b).dropna()


def decide(differences: pd.Series, margin: float, note: str = "") -> dict:
    """estimate, low, high, reps, margin, verdict, same_on_rerun and reason from per-replicate differences."""
    if not np.isfinite(margin) or margin < 0:
        raise ValueError(f"margin must be a number >= 0, got {margin!r}")
    interval = t_interval(differences)
    record = {
        "estimate": interval.mean,
        "low": interval.low,
        "high": interval.high,
        "reps": interval.reps,
        "margin": margin,
    }
    if interval.reps == 0:
        verdict, reason = INCONCLUSIVE, "not run: no paired values"
    elif interval.reps < MIN_REPS:
        verdict, reason = INCONCLUSIVE, f"fewer than {MIN_REPS} replicates ({interval.reps})"
    else:
        verdict = str(outcomes(interval.low, interval.high, margin))
        reason = _REASONS[verdict].format(margin=margin)
    chances = rerun_chances(differences, margin) if interval.reps >= MIN_REPS else {verdict: float("nan")}
    record.update(
        verdict=verdict,
        same_on_rerun=chances[verdict],
        reason=f"{reason}; {note}" if note else reason,
    )
    return record


def claim_record(claim: str, scope: str, keys: tuple, differences: pd.Series, note: str = "") -> dict:
    """A verdict table's row: the claim, its scope and keys, and the decision on its replicate differences.

    The margin comes from the claims registry alone: an unregistered claim raises here instead of being decided.
    """
    record = decide(differences, registry.margin(claim), note)
    return {"claim": claim, "scope": scope, **dict(zip(KEY_COLUMNS, keys)), **record}


def _model(choice: Choice, model: str) -> tuple[str, str]:
    return getattr(choice, model)


def _chosen_note(choice: Choice, model: str) -> str:
    # Choosing and scoring on the same test samples favours `best`; the verdict on it says so.
    return "best chosen on the test set (optimistic)" if model == "best" and choice.chosen_on == TEST else ""


def mic_vs_forward(mic: pd.DataFrame, baselines: pd.DataFrame, choice: Choice, model: str, label: str) -> dict:
    """MIC (base or best, after K) − the forward model trained on the same subset."""
    ours = mic_reps(mic, choice.dataset, choice.subset, _model(choice, model), choice.iterations)
    forward = baseline_reps(baselines, choice.dataset, choice.subset)
    scope = f"{label} {choice.subset} (MIC {model} − forward)"
    keys = (choice.dataset, choice.subset, model)
    return claim_record(FORWARD, scope, keys, paired_difference(ours, forward), _chosen_note(choice, model))


def iterations_gain(mic: pd.DataFrame, choice: Choice, model: str, label: str) -> dict:
    """Accuracy after K − after 0 iterations of the same model (base or best)."""
    noise = _model(choice, model)
    after = mic_reps(mic, choice.dataset, choice.subset, noise, choice.iterations)
    before = mic_reps(mic, choice.dataset, choice.subset, noise, 0)
    scope = f"{label} {choice.subset} ({model}: {choice.iterations} − 0 iterations)"
    keys = (choice.dataset, choice.subset, model)
    differences = paired_difference(after, before) if choice.iterations else pd.Series(dtype=float)
    return claim_record(ITERATIONS, scope, keys, differences, _chosen_note(choice, model))


def clustered_vs_random(mic: pd.DataFrame, clustered: Choice, random: Choice, model: str, label: str) -> dict:
    """MIC accuracy after K on the clustered − on the random prototypes (base or best model of each)."""
    a = mic_reps(mic, clustered.dataset, "clustered", _model(clustered, model), clustered.iterations)
    b = mic_reps(mic, random.dataset, "random", _model(random, model), random.iterations)
    scope = f"{label} (MIC {model}: clustered − random)"
    keys = (clustered.dataset, "", model)
    return claim_record(CLUSTERED, scope, keys, paired_difference(a, b), _chosen_note(clustered, model))


def noise_gain(mic: pd.DataFrame, choice: Choice, label: str) -> dict:
    """Accuracy after K of the best noise setting − of the base (no noise)."""
    best = mic_reps(mic, choice.dataset, choice.subset, choice.best, choice.iterations)
    base = mic_reps(mic, choice.dataset, choice.subset, choice.base, choice.iterations)
    scope = f"{label} {choice.subset} (best in/out {choice.best[0]}/{choice.best[1]} − no noise)"
    notes = [_chosen_note(choice, "best")] + (["the best setting is no noise"] if choice.best == choice.base else [])
    keys = (choice.dataset, choice.subset, "best")
    runs = mic[(mic["dataset"] == choice.dataset) & (mic["subset"] == choice.subset)]
    # labels as numbers: "0" and "0.0" name the same setting
    gridded = runs[["noise_in", "noise_out"]].astype(float).drop_duplicates().shape[0] > 1
    differences = paired_difference(best, base) if gridded else pd.Series(dtype=float)
    return claim_record(NOISE, scope, keys, differences, "; ".join(n for n in notes if n))


def mic_vs_nearest(mic: pd.DataFrame, nearest: pd.DataFrame, choice: Choice, label: str) -> dict:
    """MIC best after K − the better 1-NN metric (by mean) on the same prototypes."""
    ours = mic_reps(mic, choice.dataset, choice.subset, choice.best, choice.iterations)
    metric, other = better_nearest(nearest, choice.dataset, choice.subset)
    scope = f"{label} {choice.subset} (MIC best − 1-NN {metric or 'n/a'})"
    keys = (choice.dataset, choice.subset, "best")
    return claim_record(NEAREST, scope, keys, paired_difference(ours, other), _chosen_note(choice, "best"))


def better_nearest(nearest: pd.DataFrame, dataset: str, subset: str) -> tuple[str | None, pd.Series]:
    """The 1-NN metric with the higher mean accuracy on these prototypes, and its accuracy per replicate."""
    rows = nearest[(nearest["dataset"] == dataset) & (nearest["subset"] == subset)]
    means = {m: nearest_reps(nearest, dataset, subset, m).mean() for m in sorted(set(rows["metric"]))}
    means = {m: v for m, v in means.items() if not np.isnan(v)}
    metric = max(means, key=means.get) if means else None
    return metric, nearest_reps(nearest, dataset, subset, metric) if metric else pd.Series(dtype=float)


def extended_vs_nearest(extended: pd.DataFrame, nearest: pd.DataFrame, choice: Choice, label: str) -> dict:
    """The validation-chosen inversion variant on the best model − the better 1-NN on the same prototypes."""
    variant = best_variant(extended, choice.dataset, choice.subset)
    ours = extended_reps(extended, choice.dataset, choice.subset, variant) if variant else pd.Series(dtype=float)
    metric, other = better_nearest(nearest, choice.dataset, choice.subset)
    scope = f"{label} {choice.subset} (extended MIC {variant or 'n/a'} − 1-NN {metric or 'n/a'})"
    return claim_record(EXTENDED, scope, (choice.dataset, choice.subset, "best"), paired_difference(ours, other))


def claim_table(
    mic: pd.DataFrame,
    baselines: pd.DataFrame,
    nearest: pd.DataFrame,
    label: Callable[[str], str] = str,
    chosen: Mapping[tuple[str, str], Choice] | None = None,
    extended: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every claim per data set and subset: VERDICT_COLUMNS plus the keys (dataset, subset, model) of each row.

    `label` names a data set in the scope column; `chosen` defaults to choices(mic); `extended` (the
    mic_extended table) adds the claim beyond the paper.
    """
    chosen = choices(mic) if chosen is None else chosen
    records = [mic_vs_forward(mic, baselines, c, model, label(c.dataset)) for c in chosen.values() for model in MODELS]
    records += [iterations_gain(mic, c, model, label(c.dataset)) for c in chosen.values() for model in MODELS]
    for dataset in dict.fromkeys(d for d, _ in chosen):
        clustered, random = chosen.get((dataset, "clustered")), chosen.get((dataset, "random"))
        if clustered is not None and random is not None:
            records += [clustered_vs_random(mic, clustered, random, model, label(dataset)) for model in MODELS]
    records += [noise_gain(mic, c, label(c.dataset)) for c in chosen.values()]
    records += [mic_vs_nearest(mic, nearest, c, label(c.dataset)) for c in chosen.values()]
    if extended is not None and len(extended):
        records += [extended_vs_nearest(extended, nearest, c, label(c.dataset)) for c in chosen.values()]
    run = [record for record in records if record["reps"] > 0]  # see the module docstring
    return pd.DataFrame(run, columns=[*VERDICT_COLUMNS, *KEY_COLUMNS])


def count_line(verdicts: pd.Series) -> str:
    """One claim's cells counted: 'supported in 7 of 8 cells, equivalent in 1'; most frequent outcome first."""
    counts = pd.Series(verdicts).value_counts()
    # ties in the rule's order, so that the line does not depend on the order of the cells
    found = sorted(counts.items(), key=lambda item: (-item[1], _rank(item[0])))
    if not found:
        return "no cells"
    cells = int(counts.sum())
    parts = [f"{verdict} in {int(n)}" for verdict, n in found]
    parts[0] += f" of {cells} {'cell' if cells == 1 else 'cells'}"
    return ", ".join(parts)


def _rank(verdict: str) -> int:
    return OUTCOMES.index(verdict) if verdict in OUTCOMES else len(OUTCOMES)


def claim_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim, in the table's order: its cells, how many got each outcome, and count_line of them."""
    records = []
    for claim, rows in table.groupby("claim", sort=False):
        counts = rows["verdict"].value_counts()
        record = {"claim": claim, "cells": len(rows), **{v: int(counts.get(v, 0)) for v in OUTCOMES}}
        records.append({**record, "summary": count_line(rows["verdict"])})
    return pd.DataFrame(records, columns=["claim", "cells", *OUTCOMES, "summary"])
