"""Turn raw labelled sequences into padded, standardised, split arrays (paper 3.1)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from mic.data.datasets import DataFormatError, RawDataset
from mic.data.sources import Transform, source
from mic.io import mapped_npz_array, save_npz
from mic.method import PROTOTYPES_PER_CLASS


@dataclass(frozen=True)
class PreprocessSettings:
    """How raw sequences become model input; every field comes from the data set's config."""

    cumulative_sum: tuple[int, ...] = ()  # channels turned from deltas into positions
    keep_channels: tuple[int, ...] | None = None  # None keeps all
    standardize: bool = False  # per channel, statistics fitted on the training split only
    split: str = "stratified"  # "stratified" (seeded) or "official" (the source's own split)
    test_fraction: float = 0.2
    split_seed: int = 42
    classes: tuple[str, ...] | None = None  # restrict to these class names
    train_per_class: int | None = None  # subsample after the split (small test runs)
    test_per_class: int | None = None


@dataclass
class PreparedData:
    """A preprocessed data set as stored in results/<dataset>/data.npz."""

    sequences: np.ndarray  # [N, T, C] float32
    labels: np.ndarray  # [N] int64, index into class_names
    class_names: list[str]
    train_index: np.ndarray  # rows of `sequences` in the training split
    test_index: np.ndarray
    channel_mean: np.ndarray  # [C]; zeros when not standardised
    channel_std: np.ndarray  # [C]; ones when not standardised
    source_index: np.ndarray  # [N] row of each sequence in the raw source file
    params: dict = field(default_factory=dict)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Sequences and labels of the 'train' or 'test' split."""
        index = {"train": self.train_index, "test": self.test_index}[name]
        return self.sequences[index], self.labels[index]

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically as .npz (params as a JSON string)."""
        save_npz(
            path,
            compress=False,  # read by many jobs; decompressing 70000 MNIST images costs more than disk
            sequences=self.sequences,
            labels=self.labels,
            class_names=np.array(self.class_names),
            train_index=self.train_index,
            test_index=self.test_index,
            channel_mean=self.channel_mean,
            channel_std=self.channel_std,
            source_index=self.source_index,
            params=np.array(json.dumps(self.params, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> PreparedData:
        """Read a file written by `save`; the sequences are memory-mapped (a job reads only the rows it uses)."""
        with np.load(path) as archive:
            return cls(
                sequences=mapped_npz_array(path, "sequences"),
                labels=archive["labels"],
                class_names=[str(n) for n in archive["class_names"]],
                train_index=archive["train_index"],
                test_index=archive["test_index"],
                channel_mean=archive["channel_mean"],
                channel_std=archive["channel_std"],
                source_index=archive["source_index"],
                params=json.loads(str(archive["params"])),
            )


def split_indices(labels: np.ndarray, raw: RawDataset, settings: PreprocessSettings) -> tuple[np.ndarray, np.ndarray]:
    """Training and test rows: the source's official split or a seeded stratified one."""
    rows = np.arange(len(labels))
    if settings.split == "official":
        if raw.is_test is None:
            raise ValueError("split 'official' needs a data source that defines one (MNIST does)")
        return rows[~raw.is_test], rows[raw.is_test]
    if settings.split != "stratified":
        raise ValueError(f"split must be 'stratified' or 'official', got {settings.split!r}")
    # Imported here: every inverse and baseline job imports this module, and sklearn takes ~2 s to import.
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        rows, test_size=settings.test_fraction, stratify=labels, random_state=settings.split_seed
    )
    return np.sort(train), np.sort(test)


def subsample_per_class(rows: np.ndarray, labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """At most `limit` rows per class, chosen with a seeded generator (None keeps all)."""
    if limit is None:
        return rows
    rng = np.random.default_rng(seed)
    kept = []
    for label in np.unique(labels[rows]):
        members = rows[labels[rows] == label]
        kept.append(members if len(members) <= limit else rng.choice(members, limit, replace=False))
    return np.sort(np.concatenate(kept))


def select_classes(raw: RawDataset, classes: tuple[str, ...] | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows to keep, their relabelled classes and the kept class names."""
    if classes is None:
        return np.arange(len(raw.labels)), raw.labels, list(raw.class_names)
    unknown = [c for c in classes if c not in raw.class_names]
    if unknown:
        raise ValueError(f"classes: {unknown[0]!r} is not a class of this data set ({', '.join(raw.class_names)})")
    old = [raw.class_names.index(c) for c in classes]
    keep = np.flatnonzero(np.isin(raw.labels, old))
    remap = {o: n for n, o in enumerate(old)}
    return keep, np.array([remap[int(v)] for v in raw.labels[keep]], dtype=np.int64), list(classes)


def check_enough_training(labels: np.ndarray, train: np.ndarray, class_names: list[str], source: str) -> None:
    """Every class needs at least 4 training samples to give 4 prototypes."""
    counts = np.bincount(labels[train], minlength=len(class_names))
    for name, count in zip(class_names, counts):
        if count < PROTOTYPES_PER_CLASS:
            raise DataFormatError(
                f"{source}: class {name!r} has {count} training samples, needs at least {PROTOTYPES_PER_CLASS}"
            )


def training_counts(raw: RawDataset, settings: PreprocessSettings) -> dict[str, int]:
    """Training samples per class after the configured classes, split and subsampling (labels alone suffice)."""
    rows, labels, class_names = select_classes(raw, settings.classes)
    sub_raw = RawDataset([], labels, class_names, None if raw.is_test is None else raw.is_test[rows])
    train, _ = split_indices(labels, sub_raw, settings)
    train = subsample_per_class(train, labels, settings.train_per_class, settings.split_seed)
    counts = np.bincount(labels[train], minlength=len(class_names))
    return dict(zip(class_names, counts.tolist()))


def preprocess(
    raw: RawDataset, settings: PreprocessSettings, source_name: str = "npz", origin: str = "data"
) -> PreparedData:
    """Channels, padding to the longest sequence of the whole source, split, standardisation.

    `raw` holds the source's scaled values (`Source.read`); `origin` names the raw file in messages.
    """
    # Pad length from the whole source so the raw per-class padded lengths never reach a model.
    pad_length = max(len(s) for s in raw.sequences)
    transform = raw_transform(settings, pad_length, source_name)
    rows, labels, class_names = select_classes(raw, settings.classes)
    features = transform.features([raw.sequences[i] for i in rows])
    sub_raw = RawDataset([], labels, class_names, None if raw.is_test is None else raw.is_test[rows])
    train, test = split_indices(labels, sub_raw, settings)
    train = subsample_per_class(train, labels, settings.train_per_class, settings.split_seed)
    test = subsample_per_class(test, labels, settings.test_per_class, settings.split_seed + 1)
    check_enough_training(labels, train, class_names, origin)
    # Keep only the rows a split uses (subsampling may leave most of a large source unused).
    used = np.concatenate([train, test])
    features, labels, source_index = features[used], labels[used], rows[used]
    train, test = np.arange(len(train)), np.arange(len(train), len(used))

    transform = transform.fitted(features[train], settings.standardize)
    params = {  # JSON-shaped (lists, not tuples) so it reads back equal from data.npz
        "source": origin,
        "settings": asdict(settings),
        "pad_length": pad_length,
        "standardization_fitted_on": "train" if settings.standardize else None,
        "n_train": int(len(train)),
        "n_test": int(len(test)),
    }
    params = json.loads(json.dumps(params))
    sequences = transform.standardise(features)
    return PreparedData(
        sequences, labels, class_names, train, test, transform.mean, transform.std, source_index, params
    )


def raw_transform(settings: PreprocessSettings, pad_length: int, source_name: str) -> Transform:
    """The raw -> model transform of these settings, before its statistics are fitted."""
    raw = source(source_name)
    return Transform(
        pad_length=pad_length,
        cumulative_sum=tuple(settings.cumulative_sum),
        keep_channels=None if settings.keep_channels is None else tuple(settings.keep_channels),
        scale=raw.scale,
        raw_channels=raw.channels,
        source=raw.name,
    )


def stored_transform(data: PreparedData, source_name: str) -> Transform:
    """The transform that made a stored data set, with its fitted statistics (for a trained model's manifest)."""
    settings = PreprocessSettings(**data.params["settings"])
    fitted = raw_transform(settings, int(data.params["pad_length"]), source_name)
    return replace(fitted, mean=np.asarray(data.channel_mean), std=np.asarray(data.channel_std))
