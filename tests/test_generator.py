"""Generator bank, its hand-written forward/backward, and training (mic.generator, mic.training)."""

from __future__ import annotations

import pytest
import torch

from mic.model import generator as gen
from mic.model import training
from synthetic import wave_prototypes
from tolerances import FLOAT32_REORDERED

H, O = 10, 2


def torch_reference(state: dict[str, torch.Tensor], x0: torch.Tensor, steps: int, dtype=torch.float64):
    """nn.LSTM + nn.Linear with the given weights, input x0 [B, 4] at t = 0 only: (lstm, lin, inputs, outputs)."""
    lstm, lin = torch.nn.LSTM(4, H).to(dtype), torch.nn.Linear(H, O).to(dtype)
    with torch.no_grad():
        for name, p in [
            ("lstm.weight_ih_l0", lstm.weight_ih_l0),
            ("lstm.weight_hh_l0", lstm.weight_hh_l0),
            ("lstm.bias_ih_l0", lstm.bias_ih_l0),
            ("lstm.bias_hh_l0", lstm.bias_hh_l0),
            ("readout.weight", lin.weight),
            ("readout.bias", lin.bias),
        ]:
            p.copy_(state[name])
    inputs = torch.zeros(steps, x0.shape[0], 4, dtype=dtype)
    inputs[0] = x0
    inputs.requires_grad_(True)
    out, _ = lstm(inputs)
    return lstm, lin, inputs, lin(out).transpose(0, 1)  # [B, T, O]


def autograd_grads(bank, x0, target):
    """Per-generator loss and gradients (PARAM_NAMES order, then d/dx0) via torch autograd."""
    losses, grads = [], []
    for g in range(bank.num_generators):
        lstm, lin, inputs, y = torch_reference(gen.extract_state(bank, g), x0[g], target.shape[2], bank.dtype)
        loss = (y - target[g]).square().mean()
        loss.backward()
        losses.append(loss.detach())
        grads.append(
            [
                lstm.weight_ih_l0.grad,
                lstm.weight_hh_l0.grad,
                lstm.bias_ih_l0.grad,
                lstm.bias_hh_l0.grad,
                lin.weight.grad,
                lin.bias.grad,
                inputs.grad[0],
            ]
        )
    return torch.stack(losses), [torch.stack(gs) for gs in zip(*grads)]


# ----------------------------------------------------------------------------------- bank


def test_init_matches_pytorch_default_and_is_per_seed():
    torch.manual_seed(7)
    lstm, lin = torch.nn.LSTM(4, H), torch.nn.Linear(H, O)
    state = gen.init_state(7, H, O)
    assert torch.equal(state["lstm.weight_ih_l0"], lstm.weight_ih_l0.data)
    assert torch.equal(state["lstm.bias_hh_l0"], lstm.bias_hh_l0.data)
    assert torch.equal(state["readout.weight"], lin.weight.data)
    assert torch.equal(state["readout.bias"], lin.bias.data)
    alone, shared = gen.init_bank([7], H, O), gen.init_bank([3, 7, 9], H, O).select([1])
    assert all(torch.equal(a, b) for a, b in zip(alone.tensors(), shared.tensors()))


def test_extract_stack_roundtrip():
    bank = gen.init_bank([1, 2, 3], H, O)
    states = [gen.extract_state(bank, g) for g in range(3)]
    rebuilt = gen.stack_states(states[::-1])
    assert torch.equal(rebuilt.w_hh[0], bank.w_hh[2])
    assert all(torch.equal(a[g], b[2 - g]) for a, b in zip(rebuilt.tensors(), bank.tensors()) for g in range(3))


def test_generate_shapes_and_matches_nn_lstm():
    bank = gen.init_bank([4, 5], H, O)
    x0 = torch.rand(2, 3, 4)
    y = gen.generate(bank, x0, 25)
    assert y.shape == (2, 3, 25, O)
    for g in range(2):
        ref = torch_reference(gen.extract_state(bank, g), x0[g], 25, torch.float32)[3]
        torch.testing.assert_close(y[g], ref.detach(), atol=2e-6, rtol=1e-5)
    with pytest.raises(ValueError):
        gen.generate(bank, torch.rand(3, 3, 4), 5)


def test_torch_engine_gradients_match_autograd():
    bank = gen.init_bank([1, 2, 3], H, O, dtype=torch.float64)
    x0, target = torch.rand(3, 4, 4, dtype=torch.float64), torch.randn(3, 4, 17, O, dtype=torch.float64)
    ref_loss, ref = autograd_grads(bank, x0, target)
    ws = gen.get_workspace(None, bank, 4, 17, keep_dz=True)
    x = x0.transpose(1, 2).contiguous()
    y = gen.forward(bank, x, ws)
    resid = y - gen.to_layout(target)
    torch.testing.assert_close(resid.square().mean((0, 2, 3)), ref_loss)
    d_out = resid * (2.0 / resid[:, 0].numel())
    gen.backward(bank, ws, d_out)
    for got, want in zip(gen.weight_grads(bank, ws, x, d_out), ref[:6]):
        torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-9)
    torch.testing.assert_close(gen.input_grad(bank, ws).transpose(1, 2), ref[6], atol=1e-12, rtol=1e-9)
    ring = gen.get_workspace(None, bank, 4, 17)  # inverse mode: 2-slot dz ring, same input gradient
    gen.forward(bank, x, ring)
    gen.backward(bank, ring, d_out)
    torch.testing.assert_close(gen.input_grad(bank, ring), gen.input_grad(bank, ws))


def test_native_kernel_matches_autograd():
    bank = gen.init_bank([1, 2, 3], H, O)
    x0, target = torch.rand(3, 4, 4), torch.randn(3, 4, 23, O)
    ref_loss, ref = autograd_grads(bank.to(dtype=torch.float64), x0.double(), target.double())
    trainer = training._NativeTrainer(bank, training.TrainSettings(episodes=4, prototypes_per_step=4), 23)
    assert all(torch.equal(a, b) for a, b in zip(trainer.final_bank().tensors(), bank.tensors()))  # layout round trip
    loss, grads = trainer.gradients(x0, target)
    # one forward and backward, no optimiser steps to amplify rounding: float32 sums along 23 steps stay
    # within ~1e-6 relative of float64 (1e-4 for small gradient entries that are differences of larger terms)
    torch.testing.assert_close(loss.double(), ref_loss, atol=1e-6, rtol=1e-5)
    for got, want in zip(grads, ref[:6]):
        torch.testing.assert_close(got.double(), want, atol=1e-6, rtol=1e-4)
    losses = trainer.run(x0[None], target[None], [0.0], 0)  # lr 0: weights stay
    torch.testing.assert_close(losses[0], loss)
    assert all(torch.equal(a, b) for a, b in zip(trainer.final_bank().tensors(), bank.tensors()))
    assert all(torch.equal(a, b) for a, b in zip(trainer.best_bank().tensors(), bank.tensors()))


# ----------------------------------------------------------------------------------- training


def test_settings_validation_and_schedule():
    with pytest.raises(ValueError):
        training.TrainSettings(episodes=10, prototypes_per_step=4)
    with pytest.raises(ValueError):
        training.TrainSettings(lr_schedule="linear")
    s = training.TrainSettings(episodes=400, prototypes_per_step=4, lr_schedule="cosine", lr_final_ratio=0.1)
    assert s.steps == 100
    assert training.learning_rate_at(s, 0) == pytest.approx(0.01)
    assert training.learning_rate_at(s, 99) == pytest.approx(0.001)
    assert training.TrainSettings.from_dict(s.to_dict()) == s


def test_noise_is_added_and_input_clipped():
    protos = wave_prototypes(2)
    s = training.TrainSettings(episodes=400, prototypes_per_step=4, noise_in=0.5, noise_out=0.1)
    x0, target = training._Episodes(protos, s, [1, 2]).chunk()
    assert x0.shape == (training._CHUNK, 2, 4, 4) and target.shape == (training._CHUNK, *protos.shape)
    assert x0.min() >= 0 and x0.max() <= 1
    assert not torch.equal(x0[0], torch.eye(4).expand(2, 4, 4))
    assert (x0 == 0).any() and (x0 == 1).any()  # sigma 0.5 pushes values past both bounds
    assert (target - protos).std().item() == pytest.approx(0.1, rel=0.05)
    x1, t1 = training._Episodes(protos, training.TrainSettings(episodes=400, prototypes_per_step=1), [1, 2]).chunk()
    assert x1.shape == (training._CHUNK, 2, 1, 4) and t1.shape == (training._CHUNK, 2, 1, 30, 2)
    chosen = x1.argmax(-1)[..., 0]  # [C, G]: the prototype each step drew
    assert len(chosen.unique()) == 4 and not torch.equal(chosen[:, 0], chosen[:, 1])
    torch.testing.assert_close(t1[:, 1, 0], protos[1][chosen[:, 1]])


def test_small_bank_learns_its_prototypes():
    protos = wave_prototypes(3)
    settings = training.TrainSettings(episodes=2400, log_every=10)
    result = training.train_generators(protos, settings, [1, 2, 3])
    start = result.loss_curve[:, 0]
    assert result.bank.num_generators == 3 and result.loss_curve.shape == (3, 240)
    assert (result.clean_loss < 0.05).all(), result.clean_loss
    assert (result.clean_loss < 0.2 * start).all()
    assert (result.best_step < settings.steps).all()


def test_training_is_seeded_and_independent_of_the_bank():
    protos = wave_prototypes(3)
    s = training.TrainSettings(episodes=200, noise_in=0.1, noise_out=0.01)
    a = training.train_generators(protos, s, [11, 12, 13])
    b = training.train_generators(protos, s, [11, 12, 13])
    alone = training.train_generators(protos[1:2], s, [12])
    assert all(torch.equal(x, y) for x, y in zip(a.bank.tensors(), b.bank.tensors()))
    assert torch.equal(a.loss_curve, b.loss_curve)
    assert all(torch.equal(x[1], y[0]) for x, y in zip(a.bank.tensors(), alone.bank.tensors()))
    assert torch.equal(a.loss_curve[1], alone.loss_curve[0])


def test_torch_backend_agrees_with_native_backend():
    protos = wave_prototypes(2)
    s = training.TrainSettings(episodes=40, prototypes_per_step=2, log_every=5, noise_in=0.1, noise_out=0.01)
    a = training.train_generators(protos, s, [1, 2], backend="native")
    b = training.train_generators(protos, s, [1, 2], backend="torch")
    assert a.loss_curve.shape == (2, 4)
    for x, y in [(a.loss_curve, b.loss_curve), *zip(a.bank.tensors(), b.bank.tensors())]:
        torch.testing.assert_close(x, y, **FLOAT32_REORDERED)


def test_kept_weights_are_bit_for_bit_those_before_the_best_step():
    protos = torch.cat([wave_prototypes(3)] * 3)  # 9 generators: a padded lane block at either width
    seeds = list(range(21, 30))
    s = training.TrainSettings(episodes=48, noise_in=0.1, noise_out=0.01)
    bank = gen.init_bank(seeds, s.hidden_size, O)
    trainer = training._NativeTrainer(bank, s, protos.shape[2])
    x0, target = training._Episodes(protos, s, seeds).chunk()
    before = [bank.tensors()]  # the weights before step k's update, k = 0 .. steps - 1
    for k in range(s.steps):
        trainer.run(x0[k : k + 1], target[k : k + 1], [s.learning_rate], k)
        before.append(trainer.final_bank().tensors())
    kept = trainer.best_bank().tensors()
    assert len(set(trainer.best_step.tolist())) > 1  # the generators' best steps differ
    for g, step in enumerate(trainer.best_step.tolist()):
        assert all(torch.equal(k[g], b[g]) for k, b in zip(kept, before[step]))
