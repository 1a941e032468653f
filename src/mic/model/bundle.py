"""The self-describing trained model: a folder with a manifest (model.json) and one checkpoint per class.

A model folder holds

    model.json                    the manifest (ModelManifest): classes in module order, the relative
                                  checkpoint paths, the generator, transform, inverse and start settings,
                                  where the model comes from (the pipeline's wildcards, its source and the
                                  hash of its config; empty for a model fitted with MICClassifier)
    generators/<class>.pt         one checkpoint per class (mic.model.checkpoint's format)
    prototypes.npz                optional: the prototypes the generators were trained on
    estimator.json                optional: a fitted MICClassifier's parameters (mic.estimator)

The pipeline writes model.json into every setting folder, and best_model.json (which setting folder is the
subset's best model, and on what it was chosen) into every subset folder; MICClassifier.save writes a whole
folder. Everything that uses a model (`mic classify`, mic.Classifier, MICClassifier.load) reads the manifest
and nothing else: no path is parsed and no config is re-read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import torch

from mic import layout
from mic.data.sources import Transform
from mic.io import save_json
from mic.model import generator as gen
from mic.model.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from mic.model.extended import StartSettings
from mic.model.inverse import InverseSettings
from mic.model.training import TrainSettings
from mic.settings import from_config

FORMAT = "mic-model"
VERSION = 1
BEST_FORMAT = "mic-best-model"
MANIFEST = layout.MANIFEST_FILE
BEST = layout.BEST_MODEL_FILE
GENERATORS = layout.GENERATORS_FOLDER
PROTOTYPES = "prototypes.npz"
IDENTITY_KEYS = ("dataset", "subset", "rep", "noise_in", "noise_out")  # the pipeline's wildcards of a setting


class ModelError(ValueError):
    """An unusable model folder, manifest or best-model record; the message names the file and the field."""


def checkpoint_name(class_name: str) -> str:
    """A class's checkpoint, relative to its model folder (as layout.CHECKPOINT names it)."""
    return f"{GENERATORS}/{layout.file_name(class_name)}.pt"


@dataclass(frozen=True)
class ModelManifest:
    """What model.json says: everything needed to use the model, and where it comes from."""

    classes: tuple[str, ...]  # module order: column k of every loss table is classes[k]
    generator: TrainSettings
    transform: Transform  # raw inputs -> model inputs
    inverse: InverseSettings  # seed included: the start vectors of the inversion
    identity: Mapping[str, str] = field(default_factory=dict)  # the pipeline's wildcards; {} for a fitted model
    source: Mapping[str, str] | None = None  # {"dataset", "source", "path"} of the pipeline's data set
    config_sha256: str | None = None  # hash of the config that made the model
    starts: StartSettings | None = None  # None: the paper's single uniform start, decided by MSE
    checkpoints: tuple[str, ...] = ()  # relative to the folder; () means checkpoint_name of every class
    prototypes: str | None = None  # relative path of the prototypes .npz, if the folder keeps them

    def __post_init__(self) -> None:
        classes = tuple(str(c) for c in self.classes)
        checkpoints = tuple(str(p) for p in self.checkpoints) or tuple(checkpoint_name(c) for c in classes)
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "checkpoints", checkpoints)
        object.__setattr__(self, "identity", {str(k): str(v) for k, v in dict(self.identity).items()})
        if self.source is not None:
            object.__setattr__(self, "source", {str(k): None if v is None else str(v) for k, v in self.source.items()})
        if not classes or len(set(classes)) != len(classes):
            raise ValueError(f"classes must be distinct names, at least one, got {list(classes)}")
        if len(checkpoints) != len(classes) or len(set(checkpoints)) != len(checkpoints):
            raise ValueError(f"need one distinct checkpoint per class, got {list(checkpoints)} for {list(classes)}")
        for path in (*checkpoints, *([self.prototypes] if self.prototypes else [])):
            relative_path(path, "checkpoints")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "classes": list(self.classes),
            "checkpoints": list(self.checkpoints),
            "generator": self.generator.to_dict(),
            "transform": self.transform.to_dict(),
            "inverse": settings_dict(self.inverse),
            "identity": dict(self.identity),
            "source": None if self.source is None else dict(self.source),
            "config_sha256": self.config_sha256,
            "starts": None if self.starts is None else settings_dict(self.starts),
            "prototypes": self.prototypes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = MANIFEST) -> ModelManifest:
        """Inverse of to_dict; a missing or malformed field is a ModelError naming `where` and the field."""
        if not isinstance(data, Mapping):
            raise ModelError(f"{where}: expected a JSON object, got {type(data).__name__}")
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ModelError(
                f"{where}: field 'format'/'version' is {data.get('format')!r} v{data.get('version')}, "
                f"expected {FORMAT!r} v{VERSION}"
            )
        missing = [k for k in ("classes", "generator", "transform", "inverse") if k not in data]
        if missing:
            raise ModelError(f"{where}: missing field(s) {', '.join(repr(k) for k in missing)}")
        parsers = {
            "generator": lambda v: TrainSettings.from_dict(v),
            "transform": lambda v: Transform.from_dict(v),
            "inverse": lambda v: from_config(InverseSettings, v, f"{where}: field 'inverse'"),
            "starts": lambda v: None if v is None else from_config(StartSettings, v, f"{where}: field 'starts'"),
        }
        parsed = {}
        for key, parse in parsers.items():
            try:
                parsed[key] = parse(data.get(key))
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                raise ModelError(f"{where}: field {key!r} is invalid ({type(exc).__name__}: {exc})") from exc
        try:
            return cls(
                classes=tuple(_strings(data["classes"], "classes")),
                checkpoints=tuple(_strings(data.get("checkpoints") or [], "checkpoints")),
                identity=dict(data.get("identity") or {}),
                source=data.get("source"),
                config_sha256=data.get("config_sha256"),
                prototypes=data.get("prototypes"),
                **parsed,
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{where}: {exc}") from exc

    def describe(self) -> str:
        """One line naming the model: its setting for a pipeline model, else its classes."""
        i = self.identity
        if all(k in i for k in IDENTITY_KEYS):
            return f"{i['dataset']}/{i['subset']}: noise in {i['noise_in']}, out {i['noise_out']}, replicate {i['rep']}"
        return f"fitted model of {len(self.classes)} classes"


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"field {name!r} must be a list of strings")
    return value


def relative_path(path: str, name: str) -> PurePosixPath:
    """A path inside the model folder (relative, no '..'); anything else is a ValueError naming the field."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise ValueError(f"field {name!r}: {path!r} must be a relative path inside the model folder")
    return pure


def settings_dict(settings: Any) -> dict[str, Any]:
    """A settings dataclass as plain JSON data (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(settings)))


def config_sha256(config: Mapping[str, Any]) -> str:
    """The hash of a config as canonical JSON (sorted keys), for the manifest's config_sha256."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def write_manifest(path: str | os.PathLike, manifest: ModelManifest) -> None:
    """Write model.json atomically."""
    save_json(path, manifest.to_dict())


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable JSON ({type(exc).__name__}: {exc})") from exc


def read_manifest(path: str | os.PathLike) -> ModelManifest:
    """Read model.json (or the model.json of a folder); a ModelError names the file and the field."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    return ModelManifest.from_dict(_read_json(path), str(path))


def load_checkpoints(folder: str | os.PathLike, manifest: ModelManifest | None = None) -> list[Checkpoint]:
    """Every class's checkpoint, validated against the manifest: training settings, output size, identity."""
    folder = Path(folder)
    manifest = read_manifest(folder) if manifest is None else manifest
    outputs = len(manifest.transform.mean) or None
    # What a checkpoint records about itself (its `extra`) must agree with the manifest wherever both say.
    identity = {"dataset": "dataset", "subset": "subset", "replicate": "rep"}
    expected = {key: manifest.identity.get(field) for key, field in identity.items()}
    checkpoints = []
    for name, relative in zip(manifest.classes, manifest.checkpoints):
        path = folder / relative
        try:
            ckpt = load_checkpoint(path, manifest.generator, output_size=outputs)
        except CheckpointError as exc:
            raise ModelError(f"model {folder}, class {name!r}: {exc}") from exc
        diff = {
            key: (ckpt.extra[key], value)
            for key, value in {**expected, "class": name}.items()
            if value is not None and key in ckpt.extra and str(ckpt.extra[key]) != str(value)
        }
        if diff:
            raise ModelError(
                f"{path}: checkpoint belongs to another setting; extra (stored, expected from {MANIFEST}): {diff}"
            )
        checkpoints.append(ckpt)
    return checkpoints


def load_bank_of(
    folder: str | os.PathLike, device: str | torch.device = "cpu", manifest: ModelManifest | None = None
) -> gen.GeneratorBank:
    """The model's generators as one bank in module order, every checkpoint validated (load_checkpoints)."""
    checkpoints = load_checkpoints(folder, manifest)
    sizes = {(c.settings.hidden_size, int(c.state["readout.weight"].shape[0])) for c in checkpoints}
    if len(sizes) > 1:
        raise ModelError(f"model {folder}: checkpoints disagree on (hidden, output) sizes: {sorted(sizes)}")
    return gen.stack_states([c.state for c in checkpoints], device=device)


def save_model(
    folder: str | os.PathLike,
    manifest: ModelManifest,
    checkpoints: Sequence[Checkpoint],
    prototypes: Any = None,
) -> Path:
    """Write a whole model folder: checkpoints, optional prototypes (anything with .save(path)), model.json last."""
    folder = Path(folder)
    if len(checkpoints) != len(manifest.classes):
        raise ValueError(f"{len(checkpoints)} checkpoints for {len(manifest.classes)} classes")
    if (prototypes is None) != (manifest.prototypes is None):
        raise ValueError("prototypes and manifest.prototypes go together")
    folder.mkdir(parents=True, exist_ok=True)
    for relative, ckpt in zip(manifest.checkpoints, checkpoints):
        save_checkpoint(folder / relative, ckpt)
    if prototypes is not None:
        prototypes.save(folder / manifest.prototypes)
    write_manifest(folder / MANIFEST, manifest)  # last: a folder with model.json is complete
    return folder


def write_best(path: str | os.PathLike, setting_folder_relative: str, chosen_on: str) -> None:
    """Write best_model.json: the best model's setting folder, relative to the file's folder, and how it was chosen."""
    relative_path(setting_folder_relative, "model")
    save_json(
        path, {"format": BEST_FORMAT, "version": VERSION, "model": setting_folder_relative, "chosen_on": chosen_on}
    )


def read_best(path: str | os.PathLike) -> tuple[str, str]:
    """(setting folder relative to the file's folder, chosen on) of a best_model.json."""
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, Mapping) or data.get("format") != BEST_FORMAT or data.get("version") != VERSION:
        raise ModelError(f"{path}: field 'format'/'version': expected {BEST_FORMAT!r} v{VERSION}")
    for key in ("model", "chosen_on"):
        if not isinstance(data.get(key), str):
            raise ModelError(f"{path}: field {key!r} must be a string")
    try:
        relative_path(data["model"], "model")
    except ValueError as exc:
        raise ModelError(f"{path}: {exc}") from exc
    return data["model"], data["chosen_on"]


def resolve_model_folder(folder: str | os.PathLike) -> tuple[Path, str | None]:
    """A model folder (has model.json) as it is, or a subset folder's best model (best_model.json), with a note."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such model folder")
    if (folder / MANIFEST).is_file():
        return folder, None
    if not (folder / BEST).is_file():
        raise ModelError(
            f"{folder}: neither {MANIFEST} nor {BEST}; give a model folder (a setting folder "
            "results/<dataset>/<subset>/rep<r>/in<noise>_out<noise>/ of a finished run, or a folder written by "
            "MICClassifier.save) or a subset folder results/<dataset>/<subset>/ (its best model)"
        )
    relative, chosen_on = read_best(folder / BEST)
    target = folder / relative
    if not (target / MANIFEST).is_file():
        raise ModelError(f"{folder / BEST}: field 'model' names {target}, which has no {MANIFEST}")
    return target, f"best model of {read_manifest(target).describe()}; chosen on {chosen_on}"
