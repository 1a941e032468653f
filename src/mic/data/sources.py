"""Data sources: how each kind of raw file is read, and the one raw -> model transform.

A `Source` reads its raw files into a `RawDataset` of raw values (MNIST pixels 0..255, pen velocities,
a user's own numbers). A `Transform` turns raw sequences into model inputs: the source's scaling, the
cumulative sums, the kept channels, padding with the last value, standardisation with the training
statistics. `mic.data.preprocess` builds the transform of a data set and applies it to the whole source;
`mic classify` and `MICClassifier` apply the same transform, stored with a trained model, to new inputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mic.data import datasets
from mic.data.labels import DataFormatError, npz_labels

Reader = Callable[[Sequence[Path], bool], datasets.RawDataset]


@dataclass(frozen=True)
class Source:
    """One kind of raw data: its files, classes, raw channels, value scale and reader."""

    name: str
    description: str  # what one raw time step holds, for error messages and help texts
    read_raw: Reader  # (files, allow_pickle) -> RawDataset of raw values
    classes: tuple[str, ...] | None = None  # None: named by the user's own file
    channels: int | None = None  # raw channels per time step; None: as in the user's own file
    scale: float | None = None  # raw values are divided by this (in float32) before anything else

    def read(self, files: Sequence[str | os.PathLike], allow_pickle: bool = False) -> datasets.RawDataset:
        """The source's labelled sequences, scaled as every model input of this source is."""
        raw = self.read_raw([Path(f) for f in files], allow_pickle)
        return datasets.RawDataset(scaled(raw.sequences, self.scale), raw.labels, raw.class_names, raw.is_test)


def scaled(sequences: Sequence[np.ndarray], scale: float | None) -> list[np.ndarray]:
    """Raw values divided by `scale` in float32 (casting first, so the pipeline and new inputs match bit for bit)."""
    if scale is None:
        return list(sequences)
    return [np.asarray(s, dtype=np.float32) / np.float32(scale) for s in sequences]


SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        Source(
            "character_trajectories",
            "x velocity, y velocity, pen-tip force",
            lambda files, _: datasets.load_character_trajectories(files[0]),
            classes=datasets.CHARACTER_CLASSES,
            channels=3,
        ),
        Source(
            "mnist",
            "one image row: 28 pixels, 0..255",
            lambda files, _: datasets.load_mnist(files[0].parent),
            classes=datasets.MNIST_CLASSES,
            channels=28,
            scale=255.0,
        ),
        Source(
            "npz",
            "values as in the data set's own .npz",
            lambda files, allow_pickle: datasets.load_npz(files[0], allow_pickle),
        ),
    )
}


def source(name: str) -> Source:
    """The source called `name`; an unknown name is a ValueError listing the known ones."""
    if name not in SOURCES:
        raise ValueError(f"unknown data source {name!r}; known: {', '.join(SOURCES)}")
    return SOURCES[name]


def configured_classes(dataset: Mapping[str, Any]) -> list[str]:
    """The classes of one configured data set (config["datasets"][name]), known before any job runs."""
    chosen = (dataset.get("preprocess") or {}).get("classes")
    if chosen:
        return list(chosen)
    known = source(dataset["source"]).classes
    if known is not None:
        return list(known)
    return npz_labels(dataset["path"], bool(dataset.get("allow_pickle", False)))[1]


def transform_channels(seq: np.ndarray, cumulative_sum: Sequence[int], keep: Sequence[int] | None) -> np.ndarray:
    """Cumulative sum of the delta channels, then keep the selected channels (float64)."""
    seq = np.array(seq, dtype=np.float64)
    for channel in cumulative_sum:
        seq[:, channel] = np.cumsum(seq[:, channel])
    if keep is not None:
        seq = seq[:, list(keep)]
    return seq


def pad_with_last(sequences: Sequence[np.ndarray], length: int) -> np.ndarray:
    """Stack [T_i, C] sequences into [N, length, C], repeating each one's last value."""
    channels = sequences[0].shape[1]
    out = np.empty((len(sequences), length, channels), dtype=np.float64)
    for i, seq in enumerate(sequences):
        if len(seq) > length:
            raise ValueError(f"sequence {i} has {len(seq)} steps, longer than the pad length {length}")
        out[i, : len(seq)] = seq
        out[i, len(seq) :] = seq[-1]
    return out


@dataclass(frozen=True)
class Transform:
    """Raw sequences -> model inputs [N, pad_length, C'] float32; stored with every trained model."""

    pad_length: int
    cumulative_sum: tuple[int, ...] = ()
    keep_channels: tuple[int, ...] | None = None
    scale: float | None = None
    raw_channels: int | None = None  # channels a raw input must have; None: at least what the choices use
    source: str = "npz"  # the raw format's name (SOURCES), for messages
    # Per-channel training statistics; zeros and ones when not standardised (x - 0) / 1 == x exactly.
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    std: np.ndarray = field(default_factory=lambda: np.ones(0))

    def features(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """Scaled raw sequences -> [N, pad_length, C'] float64 before standardisation."""
        kept = [transform_channels(s, self.cumulative_sum, self.keep_channels) for s in sequences]
        return pad_with_last(kept, self.pad_length)

    def standardise(self, features: np.ndarray) -> np.ndarray:
        """[N, T, C'] float64 -> standardised float32."""
        return ((features - self.mean) / self.std).astype(np.float32)

    def apply(self, sequences: Sequence[np.ndarray], where: str = "X") -> np.ndarray:
        """Raw [T_i, C] sequences -> [N, pad_length, C'] float32 model inputs, checked first."""
        self.check(sequences, where)
        return self.standardise(self.features(scaled(sequences, self.scale)))

    def check(self, sequences: Sequence[np.ndarray], where: str) -> None:
        """Raw inputs need the source's channels and at most the trained length; a DataFormatError says which."""
        channels = sequences[0].shape[1]
        if self.raw_channels is not None and channels != self.raw_channels:
            raise DataFormatError(
                f"{where}: 'sequences' has {channels} channels per step, expected {self.raw_channels} "
                f"({source_description(self.source)}; raw values, before preprocessing)"
            )
        if self.raw_channels is None:
            used = [*self.cumulative_sum, *(self.keep_channels or ())]
            need = max(used) + 1 if self.keep_channels is not None else len(self.mean)
            if channels < need or (self.keep_channels is None and channels != need):
                raise DataFormatError(f"{where}: 'sequences' has {channels} channels per step, expected {need} (raw)")
        for i, seq in enumerate(sequences):
            if len(seq) > self.pad_length:
                raise DataFormatError(
                    f"{where}: sequences[{i}] has {len(seq)} time steps, but the modules were trained on "
                    f"{self.pad_length} steps; cut or resample it to at most {self.pad_length} steps"
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (lists, not arrays or tuples)."""
        return {
            "pad_length": int(self.pad_length),
            "cumulative_sum": list(self.cumulative_sum),
            "keep_channels": None if self.keep_channels is None else list(self.keep_channels),
            "scale": self.scale,
            "raw_channels": self.raw_channels,
            "source": self.source,
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transform:
        """Inverse of to_dict; floats round-trip exactly through JSON."""
        keep = data["keep_channels"]
        return cls(
            pad_length=int(data["pad_length"]),
            cumulative_sum=tuple(int(c) for c in data["cumulative_sum"]),
            keep_channels=None if keep is None else tuple(int(c) for c in keep),
            scale=None if data["scale"] is None else float(data["scale"]),
            raw_channels=None if data["raw_channels"] is None else int(data["raw_channels"]),
            source=str(data["source"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            std=np.asarray(data["std"], dtype=np.float64),
        )

    def fitted(self, train_features: np.ndarray, standardize: bool = True) -> Transform:
        """This transform with per-channel statistics fitted on [N, T, C'] training features (standardize=False:
        zeros and ones, which leave the features as they are)."""
        width = train_features.shape[-1]
        if not standardize:
            return replace(self, mean=np.zeros(width), std=np.ones(width))
        flat = train_features.reshape(-1, width)
        mean, std = flat.mean(axis=0), flat.std(axis=0)
        std[std == 0] = 1.0  # a constant channel stays constant instead of becoming NaN
        return replace(self, mean=mean, std=std)


def source_description(name: str) -> str:
    """What one raw time step of source `name` holds."""
    return SOURCES[name].description if name in SOURCES else "raw values"
