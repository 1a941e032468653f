"""Per-generator checkpoints (mic.checkpoint): round trip and strict validation."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mic.model import checkpoint as ck
from mic.model import generator as gen
from mic.model import training

SETTINGS = training.TrainSettings(episodes=8, log_every=2)


@pytest.fixture(scope="module")
def result():
    """A (barely) trained bank of two generators."""
    protos = torch.randn(2, 4, 12, 2).cumsum(2) * 0.1
    return training.train_generators(protos, SETTINGS, [5, 6])


def written(tmp_path, result, index=1, name="gen.pt"):
    path = tmp_path / name
    ck.save_checkpoint(path, ck.from_result(result, index, extra={"class": "b", "noise_in": 0.1}))
    return path


def test_round_trip(tmp_path, result):
    path = written(tmp_path, result)
    loaded = ck.load_checkpoint(path, expected_settings=SETTINGS, output_size=2)
    for name in gen.PARAM_NAMES:
        assert torch.equal(loaded.state[name], gen.extract_state(result.bank, 1)[name])
    assert torch.equal(loaded.loss_curve, result.loss_curve[1])
    assert loaded.best_loss == pytest.approx(float(result.best_loss[1]))
    assert loaded.best_step == int(result.best_step[1])
    assert loaded.settings == SETTINGS and loaded.seed == 6
    assert loaded.extra == {"class": "b", "noise_in": 0.1}
    assert loaded.torch_version == torch.__version__ and loaded.device == "cpu"
    assert [p.name for p in tmp_path.iterdir()] == ["gen.pt"]  # no temp file left behind


def test_bank_from_checkpoints(tmp_path, result):
    paths = [written(tmp_path, result, i, f"g{i}.pt") for i in (1, 0)]
    bank = ck.load_bank(paths, SETTINGS)
    assert torch.equal(bank.w_hh[0], result.bank.w_hh[1]) and torch.equal(bank.w_hh[1], result.bank.w_hh[0])


def test_truncated_file_raises_naming_the_file(tmp_path, result):
    path = written(tmp_path, result)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ck.CheckpointError, match=r"gen\.pt.*(unreadable|truncated)"):
        ck.load_checkpoint(path)


def test_garbage_and_missing_files_raise(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_text("not a checkpoint")
    with pytest.raises(ck.CheckpointError, match="junk.pt"):
        ck.load_checkpoint(path)
    with pytest.raises(ck.CheckpointError, match="does not exist"):
        ck.load_checkpoint(tmp_path / "nope.pt")


def _tamper(path, fn):
    payload = torch.load(path, weights_only=True)
    fn(payload)
    torch.save(payload, path)


def test_missing_key_raises(tmp_path, result):
    path = written(tmp_path, result)
    _tamper(path, lambda p: p.pop("best_step"))
    with pytest.raises(ck.CheckpointError, match="missing keys.*best_step"):
        ck.load_checkpoint(path)


def test_wrong_shape_raises(tmp_path, result):
    path = written(tmp_path, result)
    _tamper(path, lambda p: p["state"].__setitem__("lstm.weight_hh_l0", torch.zeros(40, 11)))
    with pytest.raises(ck.CheckpointError, match=r"gen\.pt: lstm\.weight_hh_l0 has shape \(40, 11\)"):
        ck.load_checkpoint(path)
    with pytest.raises(ck.CheckpointError, match="output size 2, expected 28"):
        ck.load_checkpoint(written(tmp_path, result, name="other.pt"), output_size=28)


def test_non_finite_weights_raise(tmp_path, result):
    path = written(tmp_path, result)
    _tamper(path, lambda p: p["state"]["readout.bias"].fill_(float("nan")))
    with pytest.raises(ck.CheckpointError, match="readout.bias is not a finite"):
        ck.load_checkpoint(path)


def test_settings_mismatch_raises(tmp_path, result):
    path = written(tmp_path, result)
    other = dataclasses.replace(SETTINGS, noise_out=0.0002)
    with pytest.raises(ck.CheckpointError, match=r"gen\.pt: settings differ.*noise_out"):
        ck.load_checkpoint(path, expected_settings=other)
    with pytest.raises(ck.CheckpointError, match="gen.pt"):
        ck.load_bank([path], expected_settings=other)
