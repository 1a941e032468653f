"""One checkpoint file per trained generator: written atomically, validated strictly on load.

A checkpoint holds one generator's weights (nn.LSTM / nn.Linear names, see
mic.model.generator.PARAM_NAMES), its training loss curve, best loss and step, the clean loss on
its prototypes, the full TrainSettings, its seed, the torch version and the device it was
trained on, plus free-form metadata (`extra`, e.g. dataset / class / noise labels).

Loading never retrains or patches anything: a truncated or unreadable file, a missing key, a
wrong shape or non-finite weights, or settings that differ from the expected ones raise
CheckpointError naming the file and the problem.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from mic.model import generator as gen
from mic.model.training import TrainResult, TrainSettings

FORMAT = "mic-generator-checkpoint"
VERSION = 1
_REQUIRED = (
    "format",
    "version",
    "state",
    "loss_curve",
    "best_loss",
    "best_step",
    "clean_loss",
    "settings",
    "seed",
    "torch_version",
    "device",
    "extra",
)


class CheckpointError(Exception):
    """A checkpoint file is unusable; the message names the file and what is wrong."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        super().__init__(f"{os.fspath(path)}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


@dataclass
class Checkpoint:
    """Contents of one generator checkpoint."""

    state: dict[str, Tensor]
    loss_curve: Tensor
    best_loss: float
    best_step: int
    clean_loss: float
    settings: TrainSettings
    seed: int
    torch_version: str
    device: str
    extra: dict = field(default_factory=dict)


def from_result(result: TrainResult, index: int, extra: dict | None = None) -> Checkpoint:
    """Checkpoint of generator `index` of a training result."""
    return Checkpoint(
        state=gen.extract_state(result.bank, index),
        loss_curve=result.loss_curve[index].clone(),
        best_loss=float(result.best_loss[index]),
        best_step=int(result.best_step[index]),
        clean_loss=float(result.clean_loss[index]),
        settings=result.settings,
        seed=int(result.seeds[index]),
        torch_version=str(torch.__version__),
        device=result.device,
        extra=dict(extra or {}),
    )


def save_checkpoint(path: str | os.PathLike, ckpt: Checkpoint) -> None:
    """Write atomically: a temp file in the same directory, fsync, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "state": {k: v.detach().cpu().contiguous() for k, v in ckpt.state.items()},
        "loss_curve": ckpt.loss_curve.detach().cpu(),
        "best_loss": float(ckpt.best_loss),
        "best_step": int(ckpt.best_step),
        "clean_loss": float(ckpt.clean_loss),
        "settings": ckpt.settings.to_dict(),
        "seed": int(ckpt.seed),
        "torch_version": ckpt.torch_version,
        "device": ckpt.device,
        "extra": dict(ckpt.extra),
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> dict:
    """torch.load with weights_only (plain data only); any failure becomes a CheckpointError."""
    if not path.is_file():
        raise CheckpointError(path, "file does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every reader failure means the same thing here
        raise CheckpointError(path, f"unreadable or truncated ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict):
        raise CheckpointError(path, f"not a checkpoint (top level is {type(payload).__name__})")
    missing = [k for k in _REQUIRED if k not in payload]
    if missing:
        raise CheckpointError(path, f"missing keys {missing}")
    if payload["format"] != FORMAT or payload["version"] != VERSION:
        raise CheckpointError(
            path, f"format {payload['format']!r} v{payload['version']}, expected {FORMAT!r} v{VERSION}"
        )
    return payload


def _settings(path: Path, payload: dict, expected: TrainSettings | None) -> TrainSettings:
    """Parse the stored settings and compare them field by field with the expected ones."""
    try:
        settings = TrainSettings.from_dict(payload["settings"])
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(path, f"invalid settings ({exc})") from exc
    if expected is not None and settings != expected:
        stored, want = settings.to_dict(), expected.to_dict()
        diff = {k: (stored[k], want[k]) for k in want if stored.get(k) != want[k]}
        raise CheckpointError(path, f"settings differ from the expected ones (stored, expected): {diff}")
    return settings


def _state(path: Path, payload: dict, settings: TrainSettings, output_size: int | None) -> dict[str, Tensor]:
    """Check names, shapes, dtype and finiteness of the weights."""
    state = payload["state"]
    if not isinstance(state, dict) or set(state) != set(gen.PARAM_NAMES):
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(path, f"state must hold exactly {list(gen.PARAM_NAMES)}, got {got}")
    if not isinstance(state["readout.weight"], Tensor) or state["readout.weight"].dim() != 2:
        raise CheckpointError(path, "readout.weight is not a 2-d tensor")
    out = int(state["readout.weight"].shape[0])
    if output_size is not None and out != output_size:
        raise CheckpointError(path, f"output size {out}, expected {output_size}")
    for name, shape in gen.param_shapes(settings.hidden_size, out).items():
        t = state[name]
        if not isinstance(t, Tensor) or tuple(t.shape) != shape:
            got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise CheckpointError(
                path, f"{name} has shape {got}, expected {shape} (hidden_size {settings.hidden_size})"
            )
        if not t.is_floating_point() or not bool(torch.isfinite(t).all()):
            raise CheckpointError(path, f"{name} is not a finite floating-point tensor")
    return {name: state[name].float() for name in gen.PARAM_NAMES}


def load_checkpoint(
    path: str | os.PathLike, expected_settings: TrainSettings | None = None, output_size: int | None = None
) -> Checkpoint:
    """Read and validate one checkpoint; raise CheckpointError on any problem."""
    path = Path(path)
    payload = _read(path)
    settings = _settings(path, payload, expected_settings)
    state = _state(path, payload, settings, output_size)
    try:
        ckpt = Checkpoint(
            state=state,
            loss_curve=torch.as_tensor(payload["loss_curve"]).float(),
            best_loss=float(payload["best_loss"]),
            best_step=int(payload["best_step"]),
            clean_loss=float(payload["clean_loss"]),
            settings=settings,
            seed=int(payload["seed"]),
            torch_version=str(payload["torch_version"]),
            device=str(payload["device"]),
            extra=dict(payload["extra"]),
        )
    except (TypeError, ValueError) as exc:
        raise CheckpointError(path, f"malformed metadata ({exc})") from exc
    if not math.isfinite(ckpt.best_loss):
        raise CheckpointError(path, f"best_loss is {ckpt.best_loss}")
    return ckpt


def load_bank(
    paths: Sequence[str | os.PathLike],
    expected_settings: TrainSettings | None = None,
    output_size: int | None = None,
    device: str | torch.device = "cpu",
) -> gen.GeneratorBank:
    """Stack several checkpoints (e.g. one per class, in class order) into one bank."""
    ckpts = [load_checkpoint(p, expected_settings, output_size) for p in paths]
    sizes = {(c.settings.hidden_size, int(c.state["readout.weight"].shape[0])) for c in ckpts}
    if len(sizes) > 1:
        raise CheckpointError(paths[0], f"checkpoints disagree on (hidden, output) sizes: {sorted(sizes)}")
    return gen.stack_states([c.state for c in ckpts], device=device)
