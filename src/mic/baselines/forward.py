"""Forward baseline (paper 3.5.4, Table 5): one LSTM sequence classifier for all classes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

Init = Literal["pytorch", "keras", "chrono"]
Schedule = Literal["constant", "cosine"]


@dataclass(frozen=True)
class ForwardSettings:
    """Every knob of the forward classifier and its training."""

    # As many cells as all MIC modules together (20 x 10 characters, 10 x 20 MNIST).
    hidden_size: int = 200
    epochs: int = 3
    batch_size: int = 128
    learning_rate: float = 3e-3
    # "cosine": anneal the learning rate to 0 over all planned epochs, per batch; it
    # settles the weights at the end of a short budget. "constant": plain Adam.
    lr_schedule: Schedule = "cosine"
    # Weight initialisation. "pytorch": PyTorch's defaults; "keras": Keras' LSTM
    # defaults (the authors' baseline was a Keras LSTM): Glorot input weights,
    # orthogonal recurrent weights; "chrono": Keras weights with chrono gate biases,
    # which lets the last state see the start of 205-step sequences from epoch 1.
    init: Init = "chrono"
    # Initial forget-gate bias for "pytorch" and "keras" (Keras' unit_forget_bias = 1).
    forget_gate_bias: float = 1.0
    # Long sequences (205 steps) can spike gradients; clipping keeps Adam stable.
    grad_clip_norm: float | None = 1.0
    # Stratified share of the TRAINING data held out to pick the best epoch; 0 = none.
    validation_fraction: float = 0.0
    # Epochs without validation improvement before stopping; None = run all epochs.
    patience: int | None = None
    predict_batch_size: int = 1024

    def __post_init__(self) -> None:
        """Reject settings that cannot train."""
        for name in ("hidden_size", "epochs", "batch_size", "predict_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
        if self.init not in ("pytorch", "keras", "chrono"):
            raise ValueError(f"init must be 'pytorch', 'keras' or 'chrono', got {self.init!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {self.patience}")


def settings_for(baseline: dict[str, Any], training_set: str, where: str = "baseline") -> ForwardSettings:
    """A data set's `baseline` config block as the settings of one training set.

    Shared keys sit at the block's top level; `full` holds those of the full training split, `prototypes`
    those of the 4-per-class subsets (clustered, random), which are too small to carve a validation split from.
    """
    from mic.settings import from_config

    shared = {key: value for key, value in baseline.items() if key not in ("full", "prototypes")}
    per_set = baseline["full" if training_set == "full" else "prototypes"]
    return from_config(ForwardSettings, {**shared, **per_set}, where)


class ForwardClassifier(nn.Module):
    """1-layer LSTM; a linear layer maps the last hidden state to class logits."""

    def __init__(self, input_size: int, hidden_size: int, n_classes: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=1, batch_first=True)
        self.readout = nn.Linear(hidden_size, n_classes)

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        """Logits [B, n_classes] for sequences [B, T, C]."""
        _, (last_hidden, _) = self.lstm(sequences)
        return self.readout(last_hidden[-1])


def _gate(tensor: torch.Tensor, index: int) -> torch.Tensor:
    """View of one gate's rows; PyTorch stacks the gates as input, forget, cell, output."""
    size = tensor.shape[0] // 4
    return tensor[index * size : (index + 1) * size]


def initialise_lstm(lstm: nn.LSTM, settings: ForwardSettings, sequence_length: int) -> None:
    """Apply the settings' weight initialisation to a fresh 1-layer LSTM, in place."""
    with torch.no_grad():
        if settings.init in ("keras", "chrono"):
            # Keras draws a kernel [C, 4H] and a recurrent matrix [H, 4H]; PyTorch
            # stores their transposes, so initialise transposed views.
            nn.init.xavier_uniform_(lstm.weight_ih_l0.T)
            nn.init.orthogonal_(lstm.weight_hh_l0.T)
            lstm.bias_ih_l0.zero_()
            lstm.bias_hh_l0.zero_()
        if settings.init == "chrono":
            # Chrono initialisation (Tallec & Ollivier 2018): forget-gate biases spread
            # memory time scales up to the sequence length, input gates start closed.
            longest = max(sequence_length - 1.0, 2.0)
            forget = torch.log(torch.empty(lstm.hidden_size).uniform_(1.0, longest))
            _gate(lstm.bias_ih_l0, 1).copy_(forget)
            _gate(lstm.bias_ih_l0, 0).copy_(-forget)
        else:
            _gate(lstm.bias_ih_l0, 1).fill_(settings.forget_gate_bias)
            _gate(lstm.bias_hh_l0, 1).zero_()


@dataclass
class ForwardResult:
    """A trained forward classifier: weights, what is needed to rebuild it, and its history."""

    state_dict: dict[str, torch.Tensor]
    input_size: int
    n_classes: int
    settings: ForwardSettings
    seed: int
    # Per epoch: train_loss, train_accuracy (running, over the epoch's batches) and,
    # with a validation split, val_loss and val_accuracy.
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0  # 1-based epoch whose weights are kept
    epochs_run: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for torch.save (settings as a dict, so no pickled classes)."""
        return {**asdict(self), "settings": asdict(self.settings)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForwardResult:
        """Inverse of to_dict."""
        return cls(**{**data, "settings": ForwardSettings(**data["settings"])})


def build_model(result: ForwardResult, device: str | torch.device = "cpu") -> ForwardClassifier:
    """The trained network of a result, in eval mode on `device`."""
    model = ForwardClassifier(result.input_size, result.settings.hidden_size, result.n_classes)
    # No initialise_lstm: the trained state dict overwrites every parameter.
    model.load_state_dict(result.state_dict)
    return model.to(device).eval()


def _check_sequences(sequences: np.ndarray) -> np.ndarray:
    """Sequences [N, T, C] checked and as float32."""
    sequences = np.asarray(sequences)
    if sequences.ndim != 3 or min(sequences.shape) == 0:
        raise ValueError(f"sequences must have shape [N, T, C] with N, T, C >= 1, got {sequences.shape}")
    if not np.issubdtype(sequences.dtype, np.number) or not np.all(np.isfinite(sequences)):
        raise ValueError("sequences must be finite numbers")
    # Contiguous: torch.from_numpy rejects reversed or strided views.
    return np.ascontiguousarray(sequences, dtype=np.float32)


def _check_labels(labels: np.ndarray, n_samples: int, n_classes: int) -> np.ndarray:
    """Validated int64 labels [N] in [0, n_classes)."""
    labels = np.asarray(labels)
    if labels.shape != (n_samples,):
        raise ValueError(f"labels must have shape ({n_samples},), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    bad = labels[(labels < 0) | (labels >= n_classes)]
    if bad.size:
        raise ValueError(f"label {bad[0]} is out of range [0, {n_classes - 1}]")
    return labels.astype(np.int64)


def _split_validation(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/validation indices carved from the training data."""
    from sklearn.model_selection import train_test_split  # here: sklearn costs every job a second to import

    indices = np.arange(len(labels))
    if fraction == 0.0:
        return indices, indices[:0]
    return train_test_split(indices, test_size=fraction, stratify=labels, random_state=seed)


def _evaluate(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the model on a data set already on its device."""
    loss_sum, correct = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            logits = model(inputs[start : start + batch_size])
            batch_targets = targets[start : start + batch_size]
            loss_sum += nn.functional.cross_entropy(logits, batch_targets, reduction="sum").item()
            correct += (logits.argmax(1) == batch_targets).sum().item()
    return loss_sum / len(inputs), correct / len(inputs)


def _make_scheduler(
    optimizer: torch.optim.Optimizer, settings: ForwardSettings, n_samples: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """Per-batch learning-rate schedule over all planned epochs."""
    if settings.lr_schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    steps = settings.epochs * -(-n_samples // settings.batch_size)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)


def _train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    settings: ForwardSettings,
    generator: torch.Generator,
) -> tuple[float, float]:
    """One shuffled pass over the data; mean loss and running accuracy."""
    model.train()
    # Shuffle on the CPU generator so the order does not depend on the device.
    order = torch.randperm(len(inputs), generator=generator).to(inputs.device)
    loss_sum, correct = 0.0, 0
    for start in range(0, len(inputs), settings.batch_size):
        batch = order[start : start + settings.batch_size]
        logits = model(inputs[batch])
        loss = nn.functional.cross_entropy(logits, targets[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if settings.grad_clip_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip_norm)
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item() * len(batch)
        correct += (logits.argmax(1) == targets[batch]).sum().item()
    return loss_sum / len(inputs), correct / len(inputs)


def train_forward_classifier(
    sequences: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    settings: ForwardSettings | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> ForwardResult:
    """Train the LSTM classifier with cross-entropy and Adam; seeded, device-agnostic.

    `on_epoch(epoch, metrics)` is called after every epoch, e.g. to log progress.
    """
    settings = settings or ForwardSettings()
    sequences = _check_sequences(sequences)
    labels = _check_labels(labels, len(sequences), n_classes)
    train_idx, val_idx = _split_validation(labels, settings.validation_fraction, seed)

    generator = torch.Generator().manual_seed(seed)
    # Initialise on the CPU under a forked RNG: same weights on every device, and
    # the caller's global RNG state is left alone.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ForwardClassifier(sequences.shape[2], settings.hidden_size, n_classes)
        initialise_lstm(model.lstm, settings, sequences.shape[1])
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    scheduler = _make_scheduler(optimizer, settings, len(train_idx))

    inputs = torch.from_numpy(sequences).to(device)
    targets = torch.from_numpy(labels).to(device)
    train_x, train_y = inputs[train_idx], targets[train_idx]
    val_x, val_y = inputs[val_idx], targets[val_idx]

    history: dict[str, list[float]] = {"train_loss": [], "train_accuracy": []}
    if len(val_idx):
        history.update(val_loss=[], val_accuracy=[])
    best_val_loss, best_epoch, best_state = float("inf"), 0, None
    for epoch in range(1, settings.epochs + 1):
        metrics = _train_epoch(model, optimizer, scheduler, train_x, train_y, settings, generator)
        history["train_loss"].append(metrics[0])
        history["train_accuracy"].append(metrics[1])
        keep = True  # without a validation split the last epoch is kept
        if len(val_idx):
            val_loss, val_accuracy = _evaluate(model, val_x, val_y, settings.predict_batch_size)
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_accuracy)
            keep = val_loss < best_val_loss
            best_val_loss = min(best_val_loss, val_loss)
        if keep:
            best_epoch = epoch
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if on_epoch is not None:
            on_epoch(epoch, {name: values[-1] for name, values in history.items()})
        if settings.patience is not None and epoch - best_epoch >= settings.patience:
            break

    assert best_state is not None  # epochs >= 1 is enforced by ForwardSettings
    return ForwardResult(
        state_dict=best_state,
        input_size=sequences.shape[2],
        n_classes=n_classes,
        settings=settings,
        seed=seed,
        history=history,
        best_epoch=best_epoch,
        epochs_run=len(history["train_loss"]),
    )


def predict_logits(
    result: ForwardResult,
    sequences: np.ndarray,
    device: str | torch.device = "cpu",
    batch_size: int | None = None,
) -> np.ndarray:
    """Class logits [N, n_classes] of a trained classifier, batched and without gradients."""
    sequences = _check_sequences(sequences)
    if sequences.shape[2] != result.input_size:
        raise ValueError(f"sequences have {sequences.shape[2]} channels, the model expects {result.input_size}")
    batch_size = batch_size or result.settings.predict_batch_size
    model = build_model(result, device)
    outputs = []
    with torch.no_grad():
        for start in range(0, len(sequences), batch_size):
            batch = torch.from_numpy(sequences[start : start + batch_size]).to(device)
            outputs.append(model(batch).cpu().numpy())
    return np.concatenate(outputs)


def predict_forward(
    result: ForwardResult,
    sequences: np.ndarray,
    device: str | torch.device = "cpu",
    batch_size: int | None = None,
) -> np.ndarray:
    """Predicted class index [N] of each sequence."""
    return predict_logits(result, sequences, device, batch_size).argmax(axis=1).astype(np.int64)
