"""Tests for the forward LSTM classifier baseline."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from conftest import REPO
from mic.baselines.forward import (
    ForwardResult,
    ForwardSettings,
    build_model,
    initialise_lstm,
    predict_forward,
    predict_logits,
    settings_for,
    train_forward_classifier,
)

# Small enough to train in about a second; the defaults are for the real data.
TINY = ForwardSettings(hidden_size=16, epochs=40, batch_size=8, learning_rate=0.01)


def _separable(n_per_class: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """3 classes of noisy 10-step, 2-channel sequences: rising, falling, flat."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(-1.0, 1.0, 10)[:, None]
    shapes = [ramp * [1.0, 0.5], -ramp * [1.0, 0.5], np.zeros((10, 2))]
    sequences = np.concatenate([shape + 0.1 * rng.normal(size=(n_per_class, 10, 2)) for shape in shapes]).astype(
        np.float32
    )
    labels = np.repeat(np.arange(3), n_per_class)
    return sequences, labels


@pytest.fixture(scope="module")
def trained() -> tuple[ForwardResult, np.ndarray, np.ndarray]:
    """One classifier trained on the separable problem, shared by the read-only tests."""
    sequences, labels = _separable()
    torch.set_num_threads(1)
    return train_forward_classifier(sequences, labels, 3, TINY, seed=0), sequences, labels


def test_learns_separable_problem_to_full_train_accuracy(trained) -> None:
    result, sequences, labels = trained
    np.testing.assert_array_equal(predict_forward(result, sequences), labels)
    assert result.history["train_accuracy"][-1] == 1.0
    assert len(result.history["train_loss"]) == TINY.epochs == result.epochs_run
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]
    assert result.best_epoch == TINY.epochs  # no validation split: keep the last epoch


def test_generalises_to_fresh_samples(trained) -> None:
    result = trained[0]
    sequences, labels = _separable(seed=1)
    assert (predict_forward(result, sequences) == labels).mean() == 1.0


def test_same_seed_same_result_other_seed_differs() -> None:
    sequences, labels = _separable()
    settings = replace(TINY, epochs=3)
    first = train_forward_classifier(sequences, labels, 3, settings, seed=5)
    second = train_forward_classifier(sequences, labels, 3, settings, seed=5)
    other = train_forward_classifier(sequences, labels, 3, settings, seed=6)
    assert first.history == second.history
    for name, tensor in first.state_dict.items():
        torch.testing.assert_close(tensor, second.state_dict[name], rtol=0, atol=0)
    assert not torch.equal(first.state_dict["readout.weight"], other.state_dict["readout.weight"])


def test_training_leaves_global_rng_alone() -> None:
    sequences, labels = _separable(n_per_class=2)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_forward_classifier(sequences, labels, 3, replace(TINY, epochs=1), seed=0)
    torch.testing.assert_close(torch.rand(3), expected)


def test_validation_split_keeps_best_epoch() -> None:
    sequences, labels = _separable(n_per_class=10)
    settings = replace(TINY, epochs=6, validation_fraction=0.3)
    result = train_forward_classifier(sequences, labels, 3, settings, seed=0)
    val_loss = result.history["val_loss"]
    assert len(val_loss) == len(result.history["val_accuracy"]) == 6
    assert result.best_epoch == int(np.argmin(val_loss)) + 1


def test_patience_stops_early() -> None:
    sequences, labels = _separable(n_per_class=10)
    # A learning rate this small cannot improve the validation loss for long.
    settings = replace(TINY, epochs=50, validation_fraction=0.3, patience=1, learning_rate=1e-9)
    result = train_forward_classifier(sequences, labels, 3, settings, seed=0)
    assert result.epochs_run < 50
    assert result.epochs_run == result.best_epoch + 1


def test_prediction_is_batch_size_invariant(trained) -> None:
    result, sequences, _ = trained
    np.testing.assert_allclose(
        predict_logits(result, sequences, batch_size=1),
        predict_logits(result, sequences, batch_size=100),
        rtol=1e-5,
        atol=1e-6,
    )
    assert predict_logits(result, sequences).shape == (len(sequences), 3)
    assert predict_forward(result, sequences).dtype == np.int64


def test_result_round_trips_through_torch_save(trained, tmp_path: Path) -> None:
    result, sequences, _ = trained
    torch.save(result.to_dict(), tmp_path / "forward.pt")
    loaded = ForwardResult.from_dict(torch.load(tmp_path / "forward.pt", weights_only=True))
    assert loaded.settings == result.settings
    np.testing.assert_array_equal(predict_logits(loaded, sequences), predict_logits(result, sequences))


def test_model_has_paper_shape() -> None:
    sequences, labels = _separable(n_per_class=2)
    result = train_forward_classifier(sequences, labels, 3, ForwardSettings(epochs=1), seed=0)
    model = build_model(result)
    assert model.lstm.hidden_size == 200 and model.lstm.num_layers == 1
    assert model.readout.out_features == 3 and not model.training


def _fresh_lstm(init: str, **settings) -> nn.LSTM:
    """A 2-input, 8-cell LSTM initialised as `init` for 50-step sequences."""
    lstm = nn.LSTM(2, 8, batch_first=True)
    initialise_lstm(lstm, ForwardSettings(init=init, **settings), sequence_length=50)
    return lstm


def test_chrono_init_opens_forget_and_closes_input_gates() -> None:
    lstm = _fresh_lstm("chrono")
    forget = lstm.bias_ih_l0[8:16] + lstm.bias_hh_l0[8:16]
    assert torch.all(forget >= 0.0) and torch.all(forget <= np.log(49.0))
    torch.testing.assert_close(lstm.bias_ih_l0[:8] + lstm.bias_hh_l0[:8], -forget)
    torch.testing.assert_close(lstm.bias_ih_l0[16:], torch.zeros(16))
    # Orthogonal recurrent weights, as in Keras: W_hh^T W_hh = I.
    recurrent = lstm.weight_hh_l0.detach()
    torch.testing.assert_close(recurrent.T @ recurrent, torch.eye(8), atol=1e-5, rtol=0)


@pytest.mark.parametrize("init", ["pytorch", "keras"])
def test_forget_gate_bias_sets_the_total_forget_bias(init: str) -> None:
    lstm = _fresh_lstm(init, forget_gate_bias=2.5)
    torch.testing.assert_close(lstm.bias_ih_l0[8:16] + lstm.bias_hh_l0[8:16], torch.full((8,), 2.5))


@pytest.mark.parametrize(("init", "schedule"), [("pytorch", "constant"), ("keras", "cosine")])
def test_other_inits_and_schedules_learn(init: str, schedule: str) -> None:
    sequences, labels = _separable()
    settings = replace(TINY, init=init, lr_schedule=schedule)
    result = train_forward_classifier(sequences, labels, 3, settings, seed=0)
    assert (predict_forward(result, sequences) == labels).mean() >= 0.9


@pytest.mark.parametrize(
    ("labels", "n_classes", "message"),
    [
        (np.array([0, 1, 3, 2]), 3, "label 3 is out of range"),
        (np.array([0, -1, 1, 2]), 3, "label -1 is out of range"),
        (np.array([0, 1, 1]), 3, r"labels must have shape \(4,\)"),
        (np.array([0.0, 1.0, 1.0, 0.0]), 3, "labels must be integers"),
        (np.array([0, 0, 0, 0]), 1, "n_classes must be >= 2"),
    ],
)
def test_bad_labels_raise(labels: np.ndarray, n_classes: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train_forward_classifier(np.zeros((4, 5, 2), np.float32), labels, n_classes, TINY)


@pytest.mark.parametrize(
    ("sequences", "message"),
    [
        (np.zeros((4, 5)), r"shape \[N, T, C\]"),
        (np.full((4, 5, 2), np.nan), "finite"),
    ],
)
def test_bad_sequences_raise(sequences: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train_forward_classifier(sequences, np.zeros(4, int), 2, TINY)


def test_predict_rejects_wrong_channel_count(trained) -> None:
    with pytest.raises(ValueError, match="3 channels, the model expects 2"):
        predict_forward(trained[0], np.zeros((2, 10, 3), np.float32))


@pytest.mark.parametrize(
    "overrides",
    [
        {"epochs": 0},
        {"hidden_size": 0},
        {"learning_rate": 0.0},
        {"validation_fraction": 1.0},
        {"patience": 0},
        {"init": "xavier"},
        {"lr_schedule": "step"},
    ],
)
def test_invalid_settings_raise(overrides: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(overrides))):
        ForwardSettings(**overrides)


def test_paper_config_gives_every_pipeline_job_its_settings() -> None:
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for name, spec in config["datasets"].items():
        for training_set in ("clustered", "random", "full"):
            settings = settings_for(spec["baseline"], training_set, name)
            assert settings.hidden_size == 200
            # The 4-per-class sets are too small to carve a validation split from.
            assert (settings.validation_fraction > 0) == (training_set == "full")
    with pytest.raises(ValueError, match="epoch"):
        settings_for({"hidden_size": 8, "full": {"epoch": 1, "batch_size": 2}, "prototypes": {}}, "full")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_predictions(trained) -> None:
    result, sequences, labels = trained
    np.testing.assert_array_equal(predict_forward(result, sequences, device="cuda"), labels)
    on_gpu = train_forward_classifier(sequences, labels, 3, TINY, seed=0, device="cuda")
    assert on_gpu.history["train_accuracy"][-1] == 1.0
