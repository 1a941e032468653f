"""Choose 4 prototype ("type") sequences per class from the training split (paper 3.5.1)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from mic.data.preprocess import PROTOTYPES_PER_CLASS, PreparedData
from mic.io import save_npz

SUBSETS = ("clustered", "random")


@dataclass(frozen=True)
class PrototypeSettings:
    """How prototypes are chosen; the defaults are the paper's."""

    metric: str = "euclidean"  # clustering distance: "euclidean" or "dtw"
    seed: int = 42
    max_iter: int = 20  # k-means iterations
    barycenter_iter: int = 5  # DTW barycenter averaging refinements per k-means step


@dataclass
class Prototypes:
    """K classes x 4 prototypes, as stored in results/<dataset>/prototypes/<subset>.npz."""

    sequences: np.ndarray  # [K, 4, T, C]
    sample_index: np.ndarray  # [K, 4] rows of PreparedData.sequences
    class_names: list[str]
    subset: str

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically as .npz."""
        save_npz(
            path,
            sequences=self.sequences,
            sample_index=self.sample_index,
            class_names=np.array(self.class_names),
            subset=np.array(self.subset),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> Prototypes:
        """Read a file written by `save`."""
        with np.load(path) as archive:
            return cls(
                archive["sequences"],
                archive["sample_index"],
                [str(n) for n in archive["class_names"]],
                str(archive["subset"]),
            )


def distances(series: np.ndarray, centers: np.ndarray, metric: str) -> np.ndarray:
    """[N, K] distances between sequences [N, T, C] and centers [K, T, C]."""
    if metric == "dtw":
        from tslearn.metrics import cdist_dtw  # imported here: tslearn pulls in torch, slow to start

        # be="numpy" matters: without it tslearn formats each array as a string to pick a backend.
        return cdist_dtw(series.astype(np.float64), centers.astype(np.float64), be="numpy")
    if metric == "euclidean":
        diff = series.reshape(len(series), 1, -1) - centers.reshape(1, len(centers), -1)
        return np.sqrt((diff**2).sum(axis=2))
    raise ValueError(f"metric must be 'euclidean' or 'dtw', got {metric!r}")


def dtw_barycenter(series: np.ndarray, start: np.ndarray, iterations: int) -> np.ndarray:
    """DTW barycenter averaging (Petitjean 2011): each step averages the points aligned to each index."""
    from tslearn.metrics import dtw_path

    barycenter = start.astype(np.float64)
    for _ in range(iterations):
        sums = np.zeros_like(barycenter)
        counts = np.zeros(len(barycenter))
        for member in series:
            path = np.asarray(dtw_path(barycenter, member, be="numpy")[0])
            np.add.at(sums, path[:, 0], member[path[:, 1]])
            np.add.at(counts, path[:, 0], 1.0)
        barycenter = sums / counts[:, None]
    return barycenter


def dtw_kmeans(series: np.ndarray, k: int, settings: PrototypeSettings) -> np.ndarray:
    """K-means under DTW with DBA centroids and k-means++ seeding; returns the [k, T, C] centroids."""
    series = series.astype(np.float64)
    rng = np.random.default_rng(settings.seed)
    centers = [series[rng.integers(len(series))]]
    for _ in range(1, k):
        nearest = distances(series, np.stack(centers), "dtw").min(axis=1) ** 2
        centers.append(series[rng.choice(len(series), p=nearest / nearest.sum())])
    centers = np.stack(centers)
    assignment = None
    for _ in range(settings.max_iter):
        new_assignment = distances(series, centers, "dtw").argmin(axis=1)
        if assignment is not None and np.array_equal(new_assignment, assignment):
            break
        assignment = new_assignment
        for c in range(k):
            members = series[assignment == c]
            if len(members):  # an emptied cluster keeps its old centre
                centers[c] = dtw_barycenter(members, centers[c], settings.barycenter_iter)
    return centers


def cluster_centers(series: np.ndarray, settings: PrototypeSettings) -> np.ndarray:
    """[4, T, C] cluster centres of one class's training sequences."""
    k = PROTOTYPES_PER_CLASS
    if settings.metric == "dtw":
        return dtw_kmeans(series, k, settings)
    from sklearn.cluster import KMeans  # here: every inverse job imports this module for Prototypes.load

    flat = series.reshape(len(series), -1)
    model = KMeans(n_clusters=k, random_state=settings.seed, n_init="auto").fit(flat)
    return model.cluster_centers_.reshape(k, *series.shape[1:])


def nearest_distinct_members(dist: np.ndarray) -> np.ndarray:
    """For each centre (column) the nearest member (row), never the same member twice."""
    chosen: list[int] = []
    for c in range(dist.shape[1]):
        order = np.argsort(dist[:, c], kind="stable")
        chosen.append(int(next(i for i in order if i not in chosen)))
    return np.array(chosen)


def select_prototypes(data: PreparedData, subset: str, settings: PrototypeSettings) -> Prototypes:
    """4 real training samples per class: nearest to the k-means centres ('clustered') or random ('random')."""
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    train_x, train_y = data.split("train")
    rng = np.random.default_rng(settings.seed)
    picks = []
    for label in range(len(data.class_names)):
        members = np.flatnonzero(train_y == label)
        if subset == "random":
            local = rng.choice(len(members), PROTOTYPES_PER_CLASS, replace=False)
        else:
            series = train_x[members]
            centers = cluster_centers(series, settings)
            local = nearest_distinct_members(distances(series, centers, settings.metric))
        picks.append(data.train_index[members[local]])
    sample_index = np.stack(picks)
    return Prototypes(data.sequences[sample_index], sample_index, data.class_names, subset)
