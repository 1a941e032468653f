"""Choose 4 prototype ("type") sequences per class from the training split (paper 3.5.1)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from mic.data.preprocess import PreparedData
from mic.dtw import cdist_dtw, dba_sums
from mic.io import save_npz
from mic.method import METRICS, PROTOTYPES_PER_CLASS, REPRESENTATIONS, SELECTIONS


@dataclass(frozen=True)
class PrototypeSettings:
    """How prototypes are chosen; the defaults are the paper's."""

    metric: str = "euclidean"  # clustering distance: "euclidean" or "dtw"
    # What stands for a cluster: "mean" of its members (the authors'), "dba" (DTW barycenter; dtw only) or
    # "medoid" (the member nearest the centre).
    representation: str = "mean"
    seed: int = 42
    max_iter: int = 20  # k-means iterations under DTW with DBA centres ("dba" and "medoid")
    barycenter_iter: int = 5  # DTW barycenter averaging refinements per k-means step
    mean_iter: int = 10  # k-means iterations under DTW with the mean update ("mean"; the authors' Kmeans_dtw: 10)

    def __post_init__(self) -> None:
        """Refuse combinations that name no method."""
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}")
        if self.representation not in REPRESENTATIONS:
            raise ValueError(f"representation must be one of {REPRESENTATIONS}, got {self.representation!r}")
        if self.representation == "dba" and self.metric != "dtw":
            raise ValueError(
                f"representation 'dba' (DTW barycenters) needs metric 'dtw', got {self.metric!r}; "
                "under the Euclidean metric the barycenter is the mean: use representation 'mean'"
            )
        if self.mean_iter < 1:
            raise ValueError(f"mean_iter must be >= 1, got {self.mean_iter}")


@dataclass
class Prototypes:
    """K classes x 4 prototypes, as stored in results/<dataset>/prototypes/<subset>.npz."""

    sequences: np.ndarray  # [K, 4, T, C]
    sample_index: np.ndarray  # [K, 4] rows of PreparedData.sequences; -1 where a prototype is no training sample
    class_names: list[str]
    subset: str
    representation: str  # "mean", "dba", "medoid" or "random"
    members: np.ndarray  # [K, 4, M] rows of the training samples each prototype stands for (its cluster), -1 pads

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically as .npz."""
        save_npz(
            path,
            sequences=self.sequences,
            sample_index=self.sample_index,
            class_names=np.array(self.class_names),
            subset=np.array(self.subset),
            representation=np.array(self.representation),
            members=self.members,
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
                str(archive["representation"]),
                archive["members"],
            )


def distances(series: np.ndarray, centers: np.ndarray, metric: str) -> np.ndarray:
    """[N, K] distances between sequences [N, T, C] and centers [K, T, C]."""
    if metric == "dtw":
        return cdist_dtw(series, centers)
    if metric == "euclidean":
        diff = series.reshape(len(series), 1, -1) - centers.reshape(1, len(centers), -1)
        return np.sqrt((diff**2).sum(axis=2))
    raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")


def dtw_barycenter(series: np.ndarray, start: np.ndarray, iterations: int) -> np.ndarray:
    """DTW barycenter averaging (Petitjean 2011): each step averages the points aligned to each index."""
    barycenter = start.astype(np.float64)
    for _ in range(iterations):
        sums, counts = dba_sums(barycenter, series)
        barycenter = sums / counts[:, None]
    return barycenter


def dtw_kmeans_plus_plus(series: np.ndarray, k: int, seed: int) -> np.ndarray:
    """[k, T, C] k-means++ seeds under DTW: each next seed drawn with probability ~ squared distance."""
    rng = np.random.default_rng(seed)
    centers = [series[rng.integers(len(series))]]
    for _ in range(1, k):
        nearest = distances(series, np.stack(centers), "dtw").min(axis=1) ** 2
        centers.append(series[rng.choice(len(series), p=nearest / nearest.sum())])
    return np.stack(centers)


def cluster_means(series: np.ndarray, assignment: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """[k, T, C] element-wise mean of each cluster's members; an emptied cluster keeps its previous centre."""
    means = previous.astype(np.float64)
    for c in range(len(means)):
        members = series[assignment == c]
        if len(members):
            means[c] = members.mean(axis=0, dtype=np.float64)
    return means


def dtw_kmeans(series: np.ndarray, k: int, settings: PrototypeSettings) -> np.ndarray:
    """K-means under DTW with DBA centroids and k-means++ seeding; returns the [k, T, C] centroids."""
    series = series.astype(np.float64)
    centers = dtw_kmeans_plus_plus(series, k, settings.seed)
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


def dtw_mean_kmeans(series: np.ndarray, k: int, settings: PrototypeSettings) -> tuple[np.ndarray, np.ndarray]:
    """The authors' Kmeans_dtw: DTW assignment, element-wise mean update; [k, T, C] means and the [N] clusters."""
    series = series.astype(np.float64)
    centers = dtw_kmeans_plus_plus(series, k, settings.seed)
    for _ in range(settings.mean_iter):
        assignment = distances(series, centers, "dtw").argmin(axis=1)
        means = cluster_means(series, assignment, centers)
        moved = not np.array_equal(means, centers)
        centers = means  # always the means of `assignment`, also when the iterations run out
        if not moved:
            break
    return centers, assignment


def euclidean_kmeans(series: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Scikit-learn's k-means on the flattened sequences: [k, T, C] centres and the [N] final clusters."""
    from sklearn.cluster import KMeans  # here: every inverse job imports this module for Prototypes.load

    model = KMeans(n_clusters=k, random_state=seed, n_init="auto").fit(series.reshape(len(series), -1))
    return model.cluster_centers_.reshape(k, *series.shape[1:]), model.labels_


def class_prototypes(series: np.ndarray, settings: PrototypeSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One class's [4, T, C] prototypes, their rows in `series` (-1: no sample) and each row's cluster."""
    k = PROTOTYPES_PER_CLASS
    if settings.metric == "dtw" and settings.representation == "mean":
        centers, assignment = dtw_mean_kmeans(series, k, settings)
    elif settings.metric == "dtw":
        centers = dtw_kmeans(series, k, settings)
        assignment = distances(series, centers, "dtw").argmin(axis=1)
    else:
        centers, assignment = euclidean_kmeans(series, k, settings.seed)
        if settings.representation == "mean":
            # computed here, not taken from sklearn: its centres need not be exactly the final clusters' means
            centers = cluster_means(series, assignment, centers)
    if settings.representation == "mean":
        # the mean of a single member is that training sample: name it, so validation can leave it out
        sizes = np.bincount(assignment, minlength=k)
        local = np.array([np.flatnonzero(assignment == c)[0] if sizes[c] == 1 else -1 for c in range(k)])
        return centers, local, assignment
    if settings.representation == "dba":
        return centers, np.full(k, -1), assignment
    local = nearest_distinct_members(distances(series, centers, settings.metric))
    return series[local], local, assignment


def nearest_distinct_members(dist: np.ndarray) -> np.ndarray:
    """For each centre (column) the nearest member (row), never the same member twice."""
    chosen: list[int] = []
    for c in range(dist.shape[1]):
        order = np.argsort(dist[:, c], kind="stable")
        chosen.append(int(next(i for i in order if i not in chosen)))
    return np.array(chosen)


def padded(groups: list[list[np.ndarray]]) -> np.ndarray:
    """[K, 4, M] int64 array of K x 4 row lists, padded with -1 to the longest."""
    longest = max(len(rows) for per_class in groups for rows in per_class)
    out = np.full((len(groups), len(groups[0]), longest), -1, dtype=np.int64)
    for k, per_class in enumerate(groups):
        for j, rows in enumerate(per_class):
            out[k, j, : len(rows)] = rows
    return out


def select_prototypes(
    data: PreparedData, subset: str, settings: PrototypeSettings, seed: int | None = None
) -> Prototypes:
    """4 prototypes per class of the training split, clustered or random; `seed` (a replicate's) beats settings'."""
    if subset not in SELECTIONS:
        raise ValueError(f"subset must be one of {SELECTIONS}, got {subset!r}")
    if seed is not None:
        settings = replace(settings, seed=seed)
    train_x, train_y = data.split("train")
    rng = np.random.default_rng(settings.seed)
    sequences, picks, members = [], [], []
    for label in range(len(data.class_names)):
        rows = data.train_index[np.flatnonzero(train_y == label)]
        if subset == "random":
            local = rng.choice(len(rows), PROTOTYPES_PER_CLASS, replace=False)
            sequences.append(data.sequences[rows[local]])
            picks.append(rows[local])
            members.append([rows[[i]] for i in local])
            continue
        centers, local, assignment = class_prototypes(data.sequences[rows], settings)
        sequences.append(centers.astype(data.sequences.dtype))
        picks.append(np.where(local >= 0, rows[local], -1))
        members.append([rows[assignment == c] for c in range(PROTOTYPES_PER_CLASS)])
    representation = "random" if subset == "random" else settings.representation
    return Prototypes(np.stack(sequences), np.stack(picks), data.class_names, subset, representation, padded(members))


def validation_rows(data: PreparedData, prototypes: Prototypes, per_class: int, seed: int) -> np.ndarray:
    """Sorted rows of up to `per_class` training samples per class that are no prototype, drawn with `seed`."""
    if per_class < 0:
        raise ValueError(f"per_class must be >= 0, got {per_class}")
    # Barycenters and means of several members are no training sample (sample_index -1): nothing to exclude.
    taken = prototypes.sample_index[prototypes.sample_index >= 0]
    rng = np.random.default_rng(seed)
    train_y = data.labels[data.train_index]
    picks = []
    for label in range(len(data.class_names)):
        candidates = np.setdiff1d(data.train_index[train_y == label], taken)
        picks.append(rng.choice(candidates, min(per_class, len(candidates)), replace=False))
    return np.sort(np.concatenate(picks)).astype(np.int64)
