"""Nearest-prototype 1-NN baseline on the same prototypes the MIC generators learn."""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.spatial.distance import cdist

from mic.dtw import cdist_dtw
from mic.method import METRICS

Metric = Literal["euclidean", "dtw"]


def _check_inputs(prototypes: np.ndarray, targets: np.ndarray, metric: str) -> None:
    """Raise ValueError for shapes or metrics the baseline cannot compare."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if prototypes.ndim != 4:
        raise ValueError(f"prototypes must have shape [K, P, T, C], got shape {prototypes.shape}")
    if targets.ndim != 3:
        raise ValueError(f"targets must have shape [N, T, C], got shape {targets.shape}")
    if min(prototypes.shape) == 0:
        raise ValueError(f"prototypes must not be empty, got shape {prototypes.shape}")
    if prototypes.shape[3] != targets.shape[2]:
        raise ValueError(f"prototypes have {prototypes.shape[3]} channels but targets have {targets.shape[2]}")
    # DTW can align different lengths; the Euclidean distance cannot.
    if metric == "euclidean" and prototypes.shape[2] != targets.shape[1]:
        raise ValueError(
            f"euclidean needs equal lengths: prototypes T={prototypes.shape[2]}, targets T={targets.shape[1]}"
        )
    for name, array in (("prototypes", prototypes), ("targets", targets)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contain NaN or infinite values")


def pairwise_distances(
    prototypes: np.ndarray,
    targets: np.ndarray,
    metric: Metric = "euclidean",
) -> np.ndarray:
    """Distance of every target to every prototype, shape [N, K, P]."""
    prototypes = np.asarray(prototypes, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    _check_inputs(prototypes, targets, metric)
    n_classes, per_class = prototypes.shape[:2]
    flat_prototypes = prototypes.reshape(n_classes * per_class, *prototypes.shape[2:])
    if metric == "euclidean":
        # Whole sequences as one vector: the same distance tslearn's DTW reduces to
        # on the diagonal path, so the two metrics are on one scale.
        distances = cdist(targets.reshape(len(targets), -1), flat_prototypes.reshape(len(flat_prototypes), -1))
    else:
        # Unconstrained DTW, as in the authors' DTW k-means prototype selection.
        distances = cdist_dtw(targets, flat_prototypes)
    return distances.reshape(len(targets), n_classes, per_class)


def nearest_prototype_predict(
    prototypes: np.ndarray,
    targets: np.ndarray,
    metric: Metric = "euclidean",
) -> tuple[np.ndarray, np.ndarray]:
    """Class of each target's nearest prototype [N] and its distance to each class [N, K]."""
    class_distances = pairwise_distances(prototypes, targets, metric).min(axis=2)
    # argmin breaks ties towards the lower class index, deterministically.
    predicted = np.argmin(class_distances, axis=1) if class_distances.size else np.empty(0, int)
    return predicted.astype(np.int64), class_distances
