"""Outlier sets and outlier scores: does a classifier tell real sequences from sequences of no class?

Scores are "higher = more outlying"; a sample is accepted as real when its score is at most a threshold.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp
from scipy.stats import rankdata

from mic.robustness.settings import OUTLIER_KINDS


def outlier_set(kind: str, reference: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n float32 outliers [n, T, C] built from real sequences `reference` [N, T, C].

    noise: i.i.d. Gaussian per (t, c) with the mean and std of `reference` there (matched in mean and spread,
    nothing else). reversed: n real samples drawn without replacement (all if n >= N), time-reversed (an MNIST
    image flipped upside down, a character written backwards).
    """
    if kind not in OUTLIER_KINDS:
        raise ValueError(f"outlier set must be one of {OUTLIER_KINDS}, got {kind!r}")
    reference = np.asarray(reference)
    if reference.ndim != 3 or len(reference) == 0:
        raise ValueError(f"reference must be [N >= 1, T, C], got shape {reference.shape}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if kind == "noise":
        ref = reference.astype(np.float64)
        noise = rng.standard_normal((n, *reference.shape[1:]))
        return (ref.mean(0) + ref.std(0) * noise).astype(np.float32)
    rows = rng.choice(len(reference), size=min(n, len(reference)), replace=False)
    return np.ascontiguousarray(reference[rows, ::-1], dtype=np.float32)


def _logits(logits: np.ndarray) -> np.ndarray:
    """Logits as float64 [N, K], K >= 1."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] == 0:
        raise ValueError(f"logits must be [N, K >= 1], got shape {logits.shape}")
    return logits


def softmax_score(logits: np.ndarray) -> np.ndarray:
    """[N] minus the largest softmax probability (Hendrycks & Gimpel's baseline)."""
    logits = _logits(logits)
    # max_k softmax = exp(max - logsumexp), computed without overflow
    return -np.exp(logits.max(1) - logsumexp(logits, axis=1))


def energy_score(logits: np.ndarray) -> np.ndarray:
    """[N] minus logsumexp of the logits, i.e. the free energy (Liu et al. 2020)."""
    return -logsumexp(_logits(logits), axis=1)


def _scores(scores: np.ndarray, name: str) -> np.ndarray:
    """Scores as a float64 vector without NaN."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if np.isnan(scores).any():
        raise ValueError(f"{name} contain NaN")
    return scores


def auroc(inliers: np.ndarray, outliers: np.ndarray) -> float:
    """P(outlier score > inlier score) + 0.5 P(tie): the exact Mann-Whitney statistic; NaN if either is empty."""
    inliers, outliers = _scores(inliers, "inliers"), _scores(outliers, "outliers")
    if len(inliers) == 0 or len(outliers) == 0:
        return math.nan
    ranks = rankdata(np.concatenate([inliers, outliers]))  # ties get the average rank: half a win each
    wins = ranks[len(inliers) :].sum() - len(outliers) * (len(outliers) + 1) / 2.0
    return float(wins / (len(inliers) * len(outliers)))


def threshold_keeping(validation_scores: np.ndarray, keep: float = 0.95) -> float:
    """The smallest score t with at least `keep` of the validation scores <= t (accept as real: score <= t)."""
    scores = np.sort(_scores(validation_scores, "validation scores"))
    if len(scores) == 0:
        raise ValueError("threshold_keeping needs at least one validation score")
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    # at least ceil(keep * n) scores at or below t; rounding first so that 0.95 * 20 counts as 19, not 19.000...1
    count = max(1, math.ceil(round(keep * len(scores), 9)))
    return float(scores[count - 1])


def accepted_share(outlier_scores: np.ndarray, threshold: float) -> float:
    """Share of outliers with score <= threshold (accepted as real: the false-positive rate); NaN if none."""
    scores = _scores(outlier_scores, "outlier scores")
    return float(np.mean(scores <= threshold)) if len(scores) else math.nan


def roc_points(inliers: np.ndarray, outliers: np.ndarray, points: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rate, true-positive rate), each [points], of flagging score > t.

    The full curve has one point per distinct score plus one: thresholds from the largest score (nothing
    flagged, (0, 0)) down to below the smallest (everything, (1, 1)). `points` of them are taken evenly along
    it, ends included, so with points > number of distinct scores every corner is there (some repeated) and the
    trapezoid area equals auroc; ties between inliers and outliers make diagonal segments, the half counts.
    """
    inliers, outliers = np.sort(_scores(inliers, "inliers")), np.sort(_scores(outliers, "outliers"))
    if len(inliers) == 0 or len(outliers) == 0:
        raise ValueError("roc_points needs at least one inlier and one outlier score")
    if points < 2:
        raise ValueError(f"points must be >= 2, got {points}")
    thresholds = np.append(np.unique(np.concatenate([inliers, outliers]))[::-1], -np.inf)
    chosen = thresholds[np.round(np.linspace(0, len(thresholds) - 1, points)).astype(np.int64)]
    fpr = 1.0 - np.searchsorted(inliers, chosen, side="right") / len(inliers)
    tpr = 1.0 - np.searchsorted(outliers, chosen, side="right") / len(outliers)
    return fpr, tpr
