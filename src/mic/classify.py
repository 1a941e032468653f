"""Classify new raw sequences with the trained class modules of one run (`mic classify`, `mic.Classifier`).

A model is one setting folder of a run, results/<dataset>/<subset>/rep<r>/in<σin>_out<σout>/. Everything
else is read from the results root above it: the data set's stored preprocessing (results/<dataset>/data.npz)
and the run's config (results/tables/config.yaml: seed, generator and inverse settings, data source).

Inputs are RAW sequences as the data source delivers them (RAW_FORMATS); they get the data set's stored
preprocessing (cumulative sums, kept channels, padding with the last value to the trained length,
standardisation with the training statistics) and are then inverted by every class module.

Reproducibility: the start vectors of the inversion are drawn once for the whole input from the seed
(mic.model.inverse.initial_vectors over all N rows), so they depend on the seed AND on the number and order
of the rows. With the pipeline's seed (the default), classifying a run's test split in its order
reproduces that run's predictions.tsv.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from mic import layout
from mic.data.datasets import sequence_list
from mic.data.labels import (
    NPZ_CLASS_NAMES,
    NPZ_LABELS,
    NPZ_LENGTHS,
    NPZ_SEQUENCES,
    DataFormatError,
    encode_labels,
    open_npz,
    read_array,
)
from mic.data.preprocess import PreprocessSettings, pad_with_last, transform_channels
from mic.device import resolve_device
from mic.evidence.collect import stack_tables
from mic.evidence.scores import prediction_table
from mic.evidence.selection import choose_models, with_validation
from mic.model import generator as gen
from mic.model import inverse
from mic.model.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from mic.model.inverse import InverseSettings, initial_vectors
from mic.model.training import TrainSettings
from mic.seeding import derive_seed
from mic.settings import from_config

DEFAULT_CHUNK = 2048  # sequences preprocessed and inverted at a time: bounds memory, one progress line each
CONFIG_FILE = "config.yaml"  # the run's effective config, written by collect_results into results/tables/
_SETTING_NAME = re.compile(r"in(?P<noise_in>[^_]+)_out(?P<noise_out>[^_]+)")
_REP_NAME = re.compile(r"rep(?P<rep>\d+)")

Progress = Callable[[int, int], None]  # (sequences done, total)


class ClassifyError(ValueError):
    """Unusable input or model for classification; the message names the file, the field and what was expected."""


@dataclass(frozen=True)
class RawFormat:
    """What a data source's reader in mic.data.datasets does to the raw values before preprocessing."""

    channels: int | None  # channels of a raw sequence; None: as in the user's own .npz
    scale: float | None  # the reader divides the raw values by this (as float32); None: values kept as read
    description: str


# One place for what each reader does to raw values (mic.data.datasets): inputs to `mic classify` are raw.
RAW_FORMATS = {
    "character_trajectories": RawFormat(3, None, "x velocity, y velocity, pen-tip force"),
    "mnist": RawFormat(28, 255.0, "one image row: 28 pixels, 0..255"),  # load_mnist: / 255
    "npz": RawFormat(None, None, "values as in the data set's own .npz"),
}


@dataclass(frozen=True)
class Setting:
    """Where one trained model (a setting folder) sits in a results tree, parsed from its path."""

    root: Path  # the results folder
    dataset: str
    subset: str
    rep: str
    noise_in: str
    noise_out: str

    @property
    def folder(self) -> Path:
        """The setting folder."""
        return layout.under(self.root, layout.SETTING, **self.wildcards)

    @property
    def wildcards(self) -> dict[str, str]:
        """The pipeline's wildcards of this setting."""
        return {
            "dataset": self.dataset,
            "subset": self.subset,
            "rep": self.rep,
            "noise_in": self.noise_in,
            "noise_out": self.noise_out,
        }

    @classmethod
    def parse(cls, folder: str | os.PathLike) -> Setting:
        """Read dataset, subset, replicate and noise from <root>/<dataset>/<subset>/rep<r>/in<a>_out<b>."""
        folder = Path(folder).resolve()
        noise, rep = _SETTING_NAME.fullmatch(folder.name), _REP_NAME.fullmatch(folder.parent.name)
        if noise is None or rep is None or len(folder.parents) < 4:
            raise ClassifyError(
                f"{folder}: not a setting folder; expected results/<dataset>/<subset>/rep<r>/in<noise>_out<noise>"
            )
        up = folder.parents
        return cls(up[3], up[2].name, up[1].name, rep["rep"], noise["noise_in"], noise["noise_out"])


def best_setting(subset_folder: str | os.PathLike) -> tuple[Setting, str]:
    """The report's best model of <root>/<dataset>/<subset> (mic.evidence.selection.choose_models), replicate 0."""
    folder = Path(subset_folder).resolve()
    summaries = sorted(folder.glob("rep*/in*_out*/summary.tsv"))
    settings = [Setting.parse(path.parent) for path in summaries]
    if not settings:
        raise ClassifyError(
            f"{folder}: no setting summaries (rep<r>/in<noise>_out<noise>/summary.tsv); give a setting folder "
            "or a <dataset>/<subset> folder of a finished run"
        )
    runs = [s.wildcards for s in settings]
    # As the report: chosen on the validation summaries where the run has them, else on the test summaries.
    validation = [layout.under(s.root, layout.VALIDATION_SUMMARY, **s.wildcards) for s in settings]
    scores = with_validation(
        stack_tables(runs, summaries), stack_tables(runs, validation) if all(p.is_file() for p in validation) else None
    )
    choice = choose_models(scores, settings[0].dataset, settings[0].subset)
    noise_in, noise_out = choice.best
    best = replace(settings[0], rep="0", noise_in=str(noise_in), noise_out=str(noise_out))
    if not best.folder.is_dir():
        raise ClassifyError(f"{best.folder}: the best model's replicate 0 is missing")
    return best, (
        f"best model of {best.dataset}/{best.subset}: noise in {noise_in}, out {noise_out}, replicate 0; "
        f"chosen on the {choice.how}"
    )


def resolve_model(folder: str | os.PathLike) -> tuple[Setting, str | None]:
    """A setting folder as it is, or a <dataset>/<subset> folder's best model; with a note saying which."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ClassifyError(f"{folder}: no such model folder")
    if (folder / "generators").exists():
        return Setting.parse(folder), None
    return best_setting(folder)


def _read_config(path: Path, dataset: str) -> dict:
    """The run's config; fails naming the file and the missing key."""
    if not path.is_file():
        raise ClassifyError(
            f"{path}: the run's config is missing (collect_results writes it at the end of a run); "
            "finish the run or pass the config the run used (--config)"
        )
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ClassifyError(f"{path}: unreadable YAML ({exc})") from exc
    if not isinstance(config, dict) or "seed" not in config or dataset not in (config.get("datasets") or {}):
        raise ClassifyError(f"{path}: expected keys 'seed' and 'datasets.{dataset}' (the run's config)")
    for key in ("source", "generator"):
        if key not in config["datasets"][dataset]:
            raise ClassifyError(f"{path}: missing key 'datasets.{dataset}.{key}'")
    return config


@dataclass(frozen=True)
class Preprocessing:
    """A data set's stored preprocessing (from its data.npz) and its source's raw format."""

    settings: PreprocessSettings
    pad_length: int
    mean: np.ndarray  # [C'] training statistics
    std: np.ndarray
    raw: RawFormat

    @classmethod
    def load(cls, path: Path, source: str) -> tuple[Preprocessing, list[str]]:
        """The preprocessing and the class names (module order) stored in results/<dataset>/data.npz."""
        if not path.is_file():
            raise ClassifyError(f"{path}: the data set's preprocessed data (data.npz) is missing")
        if source not in RAW_FORMATS:
            raise ClassifyError(f"{path}: unknown data source {source!r}; known: {', '.join(RAW_FORMATS)}")
        try:
            # Only the small fields: the stored sequences are not needed (MNIST's are ~200 MB).
            with np.load(path) as archive:
                params = json.loads(str(archive["params"]))
                mean, std = archive["channel_mean"], archive["channel_std"]
                classes = [str(n) for n in archive["class_names"]]
            settings = from_config(PreprocessSettings, params["settings"], f"{path}: params.settings")
            pad_length = int(params["pad_length"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ClassifyError(f"{path}: unreadable data.npz ({type(exc).__name__}: {exc})") from exc
        return cls(settings, pad_length, mean, std, RAW_FORMATS[source]), classes

    def check_channels(self, channels: int, where: str) -> None:
        """Raw inputs must have the channels the source's reader delivers."""
        if self.raw.channels is not None:
            if channels != self.raw.channels:
                raise ClassifyError(
                    f"{where}: 'sequences' has {channels} channels per step, expected {self.raw.channels} "
                    f"({self.raw.description}; raw values, before preprocessing)"
                )
            return
        used = [*self.settings.cumulative_sum, *(self.settings.keep_channels or [])]
        need = max(used) + 1 if self.settings.keep_channels is not None else len(self.mean)
        if channels < need or (self.settings.keep_channels is None and channels != need):
            raise ClassifyError(f"{where}: 'sequences' has {channels} channels per step, expected {need} (raw)")

    def check_lengths(self, sequences: Sequence[np.ndarray], where: str) -> None:
        """No sequence may be longer than the trained length (padding can only lengthen)."""
        for i, seq in enumerate(sequences):
            if len(seq) > self.pad_length:
                raise ClassifyError(
                    f"{where}: sequences[{i}] has {len(seq)} time steps, but the modules were trained on "
                    f"{self.pad_length} steps; cut or resample it to at most {self.pad_length} steps "
                    "(or add such sequences to the data set and rerun the pipeline)"
                )

    def apply(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """Raw [T_i, C] sequences -> [N, pad_length, C'] float32 model targets, as mic.data.preprocess does."""
        if self.raw.scale is not None:
            # Cast first, then divide, in float32, exactly as the reader does, so values match bit for bit.
            sequences = [np.asarray(s, dtype=np.float32) / np.float32(self.raw.scale) for s in sequences]
        x = pad_with_last([transform_channels(s, self.settings) for s in sequences], self.pad_length)
        if self.settings.standardize:
            x = (x - self.mean) / self.std
        return x.astype(np.float32)


def as_sequences(x: np.ndarray | Sequence, lengths: np.ndarray | None, where: str) -> list[np.ndarray]:
    """[N, T, C] array (cut to `lengths` when given) or N arrays [T_i, C] -> checked float64 [T_i, C] list."""
    if isinstance(x, (list, tuple)):
        items = x
        x = np.empty(len(items), dtype=object)  # element by element: equal-length items must stay [T, C] arrays
        for i, item in enumerate(items):
            x[i] = item
    try:
        return sequence_list(where, np.asarray(x), lengths)
    except DataFormatError as exc:
        raise ClassifyError(str(exc)) from exc
    except (TypeError, ValueError) as exc:  # e.g. strings where numbers belong
        raise ClassifyError(f"{where}: '{NPZ_SEQUENCES}' must hold numbers ({exc})") from exc


@dataclass
class RawInput:
    """An input .npz: raw sequences and, optionally, the class names of their labels."""

    sequences: list[np.ndarray]
    labels: list[str] | None


def read_input(path: str | os.PathLike, allow_pickle: bool = False) -> RawInput:
    """Read the own-data-set format (mic.data.labels: sequences, lengths, labels, class_names); labels optional."""
    path = Path(path)
    if not path.is_file():
        raise ClassifyError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ClassifyError(f"{path}: the file is empty; expected an .npz with '{NPZ_SEQUENCES}' (and optional labels)")
    try:
        archive = open_npz(path, allow_pickle)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # np.load of a .npy gives a bare array
            raise DataFormatError(f"{path}: a single .npy array, expected an .npz archive with '{NPZ_SEQUENCES}'")
        with archive:
            fields = {key: read_array(archive, path, key) for key in archive.files}
        if NPZ_SEQUENCES not in fields:
            raise DataFormatError(f"{path}: missing key '{NPZ_SEQUENCES}' (found: {', '.join(fields) or 'none'})")
    except DataFormatError as exc:
        # The reader's advice names the pipeline's config key; say what the same choice is called here.
        hint = " (here: --allow-pickle, or allow_pickle=True)" if "pickle" in str(exc) and not allow_pickle else ""
        raise ClassifyError(f"{exc}{hint}") from exc
    except Exception as exc:  # noqa: BLE001 - zip, pickle and format errors inside members all mean "unreadable"
        raise ClassifyError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from exc
    sequences = as_sequences(fields[NPZ_SEQUENCES], fields.get(NPZ_LENGTHS), str(path))
    if NPZ_LABELS not in fields:
        return RawInput(sequences, None)
    raw = np.asarray(fields[NPZ_LABELS]).ravel()
    if len(raw) != len(sequences):
        raise ClassifyError(f"{path}: '{NPZ_LABELS}' has {len(raw)} entries, '{NPZ_SEQUENCES}' has {len(sequences)}")
    names = [str(n) for n in fields[NPZ_CLASS_NAMES]] if NPZ_CLASS_NAMES in fields else None
    try:
        index, names = encode_labels(path, raw, names)
    except DataFormatError as exc:
        raise ClassifyError(str(exc)) from exc
    return RawInput(sequences, [names[i] for i in index])


@dataclass
class ClassifyResult:
    """Final losses and mixtures of every (sequence, module), optionally the reconstructions."""

    classes: list[str]
    losses: np.ndarray  # [N, K] final MSE of each class module
    mixtures: np.ndarray  # [N, K, 4] final (clipped, normalised) input vectors
    reconstructions: np.ndarray | None  # [N, K, T, O] in the model's (preprocessed) space
    targets: np.ndarray | None  # [N, T, O] the preprocessed inputs, when reconstructions are kept

    @property
    def predicted_index(self) -> np.ndarray:
        """[N] index of the module with the lowest final loss."""
        return self.losses.argmin(axis=1)

    @property
    def predicted(self) -> np.ndarray:
        """[N] predicted class names."""
        return np.array(self.classes, dtype=object)[self.predicted_index]

    def table(self, iterations: int, labels: Sequence[str] | None = None) -> pd.DataFrame:
        """predictions.tsv layout (mic.evidence.scores.prediction_table) at the final iteration, one row per input."""
        index = {name: k for k, name in enumerate(self.classes)}
        truth = np.array([index[c] for c in labels]) if labels is not None else np.zeros(len(self.losses), int)
        frame = prediction_table(
            self.losses[np.newaxis], {0: self.mixtures}, truth, np.arange(len(truth)), self.classes
        )
        frame["iterations"] = iterations
        return frame if labels is not None else frame.drop(columns=["true_class", "correct"])


def _invert(
    bank: gen.GeneratorBank,
    targets: torch.Tensor,
    start: torch.Tensor,
    settings: InverseSettings,
    keep: bool,
    backend: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """inverse_classify on one chunk from given start vectors: final losses, mixtures, reconstructions [B, G, T, O]."""
    result = inverse.inverse_classify(
        bank, targets, settings, keep=range(len(targets)) if keep else (), backend=backend, start=start
    )
    return result.final_losses, result.mixtures, result.reconstructions


class Classifier:
    """Trained class modules of one run as a classifier of raw sequences (scikit-learn style; no fit).

    X is raw: an [N, T, C] array or a list of [T_i, C] arrays, as the data source delivers them.
    Every call inverts all of X; start vectors depend on the seed and on the rows of X (module docstring).
    """

    def __init__(
        self,
        bank: gen.GeneratorBank,
        classes: Sequence[str],
        preprocessing: Preprocessing,
        settings: InverseSettings,
        setting: Setting,
        chunk_size: int = DEFAULT_CHUNK,
        backend: str = "auto",
    ) -> None:
        self.bank = bank
        self.classes_ = np.array(classes, dtype=object)
        self.preprocessing = preprocessing
        self.settings = settings
        self.setting = setting
        self.chunk_size = int(chunk_size)
        self.backend = backend  # mic.model.inverse: "auto" (C kernel on the CPU), "native" or "torch"

    @classmethod
    def load(
        cls,
        folder: str | os.PathLike,
        *,
        iterations: int | None = None,
        seed: int | None = None,
        device: str | None = None,
        config: str | os.PathLike | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        backend: str = "auto",
    ) -> Classifier:
        """Load a setting folder (or a <dataset>/<subset> folder: its best model, replicate 0).

        iterations, seed: override the run's inverse settings (seed default: the pipeline's rule).
        device: cpu, cuda or auto (default: the run's config). config: the run's config file
        (default <results>/tables/config.yaml). backend: as mic.model.inverse.inverse_classify's.
        """
        setting = resolve_model(folder)[0]
        config_path = Path(config) if config is not None else layout.under(setting.root, layout.TABLES) / CONFIG_FILE
        cfg = _read_config(config_path, setting.dataset)
        dataset_cfg = cfg["datasets"][setting.dataset]
        data_path = layout.under(setting.root, layout.DATA, dataset=setting.dataset)
        prep, classes = Preprocessing.load(data_path, dataset_cfg["source"])
        try:
            expected = from_config(
                TrainSettings,
                {
                    **dataset_cfg["generator"],
                    "noise_in": float(setting.noise_in),
                    "noise_out": float(setting.noise_out),
                },
                f"{config_path}: datasets.{setting.dataset}.generator",
            )
            if seed is None:  # the pipeline's rule (workflow/scripts/inverse_classify.py)
                s = setting
                seed = derive_seed(cfg["seed"], "inverse", s.dataset, s.subset, s.rep, s.noise_in, s.noise_out)
            overrides = {"seed": int(seed)} | ({"iterations": int(iterations)} if iterations is not None else {})
            settings = from_config(
                InverseSettings,
                {**(dataset_cfg.get("inverse") or {}), **overrides},
                f"{config_path}: datasets.{setting.dataset}.inverse",
            )
            torch_device = resolve_device(device or cfg.get("device", "cpu"))
        except (ValueError, RuntimeError, TypeError) as exc:
            hint = (
                f" (the run's config says device {cfg.get('device')!r}; choose one with --device)"
                if device is None
                else ""
            )
            raise ClassifyError(f"{exc}{hint}") from exc
        if chunk_size < 1:
            raise ClassifyError(f"chunk_size must be >= 1, got {chunk_size}")
        checkpoints = load_modules(setting, classes, expected, len(prep.mean))
        bank = gen.stack_states([c.state for c in checkpoints], device=torch_device)
        return cls(bank, classes, prep, settings, setting, chunk_size, backend)

    @property
    def n_classes_(self) -> int:
        """Number of class modules."""
        return len(self.classes_)

    def invert(
        self,
        X: np.ndarray | Sequence[np.ndarray],
        lengths: np.ndarray | None = None,
        reconstructions: bool = False,
        progress: Progress | None = None,
        where: str = "X",
    ) -> ClassifyResult:
        """Preprocess and invert X chunk by chunk; every module's final loss and mixture (and reconstructions)."""
        sequences = as_sequences(X, lengths, where)
        self.preprocessing.check_channels(sequences[0].shape[1], where)
        self.preprocessing.check_lengths(sequences, where)
        n, g = len(sequences), self.n_classes_
        start = initial_vectors(n, g, self.settings)  # all rows at once: the pipeline's draw (module docstring)
        losses, mixtures, outputs, targets = [], [], [], []
        for lo in range(0, n, self.chunk_size):
            hi = min(n, lo + self.chunk_size)
            chunk = torch.from_numpy(self.preprocessing.apply(sequences[lo:hi]))
            loss, mixture, y = _invert(self.bank, chunk, start[lo:hi], self.settings, reconstructions, self.backend)
            losses.append(loss.numpy())
            mixtures.append(mixture.numpy())
            if reconstructions:
                outputs.append(y.numpy())
                targets.append(chunk.numpy())
            if progress is not None:
                progress(hi, n)
        return ClassifyResult(
            list(self.classes_),
            np.concatenate(losses),
            np.concatenate(mixtures),
            np.concatenate(outputs) if reconstructions else None,
            np.concatenate(targets) if reconstructions else None,
        )

    def predict(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """[N] predicted class names."""
        return self.invert(X).predicted

    def losses(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """[N, K] final reconstruction loss of every class module (columns in classes_ order)."""
        return self.invert(X).losses

    def mixtures(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """[N, K, 4] final mixture of every class module over its 4 prototypes."""
        return self.invert(X).mixtures

    def reconstruct(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """[N, K, T, O] every module's final reconstruction, in the model's (preprocessed, standardised) space."""
        return self.invert(X, reconstructions=True).reconstructions

    def score(self, X: np.ndarray | Sequence[np.ndarray], y: Sequence[str]) -> float:
        """Accuracy against class names y."""
        self.check_labels(y, "y")
        return float(np.mean(self.predict(X) == np.asarray(y, dtype=object)))

    def check_labels(self, labels: Sequence[str], where: str) -> None:
        """Every label must name a class module."""
        unknown = sorted(set(map(str, labels)) - set(self.classes_))
        if unknown:
            raise ClassifyError(
                f"{where}: 'labels' name classes the modules do not know: {', '.join(unknown[:5])} "
                f"(known: {', '.join(self.classes_)})"
            )


def load_modules(setting: Setting, classes: Sequence[str], expected: TrainSettings, outputs: int) -> list[Checkpoint]:
    """One checkpoint per class; all from this setting (extra) and with the run's training settings."""
    checkpoints = []
    for name in classes:
        path = layout.under(setting.root, layout.CHECKPOINT, cls=layout.file_name(name), **setting.wildcards)
        try:
            ckpt = load_checkpoint(path, expected, output_size=outputs)
        except CheckpointError as exc:
            raise ClassifyError(f"model {setting.folder}, class {name!r}: {exc}") from exc
        identity = {"dataset": setting.dataset, "subset": setting.subset, "replicate": int(setting.rep), "class": name}
        stored = {key: ckpt.extra.get(key) for key in identity}
        if stored != identity:
            diff = {k: (stored[k], identity[k]) for k in identity if stored[k] != identity[k]}
            raise ClassifyError(
                f"{path}: checkpoint belongs to another setting; extra (stored, expected from the folder): {diff}"
            )
        checkpoints.append(ckpt)
    return checkpoints


def classify_file(
    model: str | os.PathLike,
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    reconstructions: str | os.PathLike | None = None,
    allow_pickle: bool = False,
    progress: Progress | None = None,
    log: Callable[[str], None] = lambda message: None,
    **load_options: object,
) -> tuple[pd.DataFrame, float | None]:
    """`mic classify`: predictions table (and reconstructions) written atomically; returns it and the accuracy."""
    from mic.io import save_npz, save_table

    if reconstructions is not None and Path(reconstructions).resolve() == Path(output).resolve():
        raise ClassifyError(f"{output}: the predictions and the reconstructions need different files")
    setting, note = resolve_model(model)
    if note is not None:
        log(note)
    classifier = Classifier.load(setting.folder, **load_options)
    raw = read_input(input_path, allow_pickle)
    if raw.labels is not None:
        classifier.check_labels(raw.labels, str(input_path))
    s = classifier.settings
    log(
        f"model {classifier.setting.folder}: {classifier.n_classes_} classes, {s.iterations} iterations, "
        f"seed {s.seed}, {len(raw.sequences)} sequences"
    )
    result = classifier.invert(
        raw.sequences, reconstructions=reconstructions is not None, progress=progress, where=str(input_path)
    )
    table = result.table(s.iterations, raw.labels)
    accuracy = float(table["correct"].mean()) if raw.labels is not None else None
    written = []
    try:
        if reconstructions is not None:
            save_npz(
                reconstructions,
                reconstructions=result.reconstructions,
                targets=result.targets,
                class_names=np.array(result.classes),
                channel_mean=classifier.preprocessing.mean,
                channel_std=classifier.preprocessing.std,
            )
            written.append(Path(reconstructions))
        save_table(output, table)
    except BaseException:
        for path in written:  # all or nothing: no reconstructions without their predictions
            path.unlink(missing_ok=True)
        raise
    return table, accuracy


def progress_printer(stream, started: float | None = None) -> Progress:  # noqa: ANN001 - any text stream
    """A progress line per chunk ("classified 2048/10000 sequences, 12.3 s"), rewritten in place on a TTY."""
    started = time.monotonic() if started is None else started
    tty = stream.isatty()

    def report(done: int, total: int) -> None:
        line = f"classified {done}/{total} sequences, {time.monotonic() - started:.1f} s"
        stream.write(f"\r{line}" + ("\n" if done == total else "") if tty else f"{line}\n")
        stream.flush()

    return report
