"""Batched inverse classification (mic.inverse) against a per-sample autograd loop."""

from __future__ import annotations

import math

import pytest
import torch

from mic.model import generator as gen
from mic.model import inverse, training
from synthetic import wave_prototypes
from tolerances import FLOAT32_REORDERED, FLOAT64_REORDERED

T, O = 30, 2


def reference_inverse(
    bank: gen.GeneratorBank, target: torch.Tensor, module: int, start: torch.Tensor, s: inverse.InverseSettings
) -> tuple[list[float], torch.Tensor]:
    """One (target, module) pair the way the authors' code does it, with nn.LSTM autograd."""
    state = gen.extract_state(bank, module)
    lstm = torch.nn.LSTM(4, bank.hidden_size).to(bank.dtype)
    lin = torch.nn.Linear(bank.hidden_size, bank.output_size).to(bank.dtype)
    with torch.no_grad():
        for name, p in zip(
            gen.PARAM_NAMES,
            [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0, lin.weight, lin.bias],
        ):
            p.copy_(state[name])
    x = start.clone().to(bank.dtype)
    m, v = torch.zeros_like(x), torch.zeros_like(x)
    b1, b2 = s.betas
    losses = []
    for k in range(s.iterations + 1):
        if not (s.final_loss == "raw" and k == s.iterations and k > 0):  # the authors score the last step raw
            x = x.clamp(0, 1)
            x = x / x.sum()
        x = x.detach().requires_grad_(True)
        inputs = torch.zeros(target.shape[0], 1, 4, dtype=bank.dtype)
        inputs[0, 0] = x
        loss = torch.nn.functional.mse_loss(lin(lstm(inputs)[0])[:, 0], target)
        losses.append(loss.item())
        if k < s.iterations:
            (grad,) = torch.autograd.grad(loss, x)
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad * grad
            lr, denom = s.learning_rate, v.sqrt()
            if s.bias_correction:
                lr, denom = lr / (1 - b1 ** (k + 1)), denom / math.sqrt(1 - b2 ** (k + 1))
            x = (x - lr * m / (denom + s.eps)).detach()
    return losses, x.detach()


@pytest.fixture(scope="module")
def trained():
    """A small bank trained on synthetic prototypes, and those prototypes [G, 4, T, O]."""
    protos = wave_prototypes(3, T)
    result = training.train_generators(protos, training.TrainSettings(episodes=4000), [1, 2, 3])
    return result.bank, protos


@pytest.mark.parametrize("backend", ["torch", "native"])
@pytest.mark.parametrize("bias_correction", [False, True])
def test_batched_equals_per_sample_loop(trained, bias_correction, backend):
    # torch engine in float64 against the float64 reference (tolerances.py: float64 bound), native CPU
    # kernel in float32 (empirical float32 agreement)
    bank = trained[0].to(dtype=torch.float64) if backend == "torch" else trained[0]
    tol = FLOAT64_REORDERED if backend == "torch" else FLOAT32_REORDERED
    # chunks of 17 and 3 targets: the native kernel runs 8-lane blocks in pairs, an odd block alone
    # and padding lanes, all of which must give every target its own result
    n_targets = 20
    targets = torch.randn(n_targets, T, O, dtype=torch.float64).cumsum(1) * 0.2
    s = inverse.InverseSettings(iterations=6, bias_correction=bias_correction, chunk_size=17)
    result = inverse.inverse_classify(bank, targets, s, backend=backend)
    start = inverse.initial_vectors(n_targets, 3, s)
    assert result.losses.shape == (7, n_targets, 3) and result.mixtures.shape == (n_targets, 3, 4)
    for n in range(n_targets):
        for g in range(3):
            losses, mix = reference_inverse(bank.to(dtype=torch.float64), targets[n], g, start[n, g].double(), s)
            want = torch.tensor(losses, dtype=torch.float64)
            torch.testing.assert_close(result.losses[:, n, g].double(), want, **tol)
            torch.testing.assert_close(result.mixtures[n, g].double(), mix, **tol)


def test_backends_agree(trained):
    bank, protos = trained
    targets = protos.reshape(12, T, O) + 0.05 * torch.randn(12, T, O, generator=torch.Generator().manual_seed(1))
    s = inverse.InverseSettings(iterations=10, seed=4)
    a = inverse.inverse_classify(bank, targets, s, backend="native", keep=[3])
    b = inverse.inverse_classify(bank, targets, s, backend="torch", keep=[3])
    for x, y in ((a.losses, b.losses), (a.mixtures, b.mixtures), (a.reconstructions, b.reconstructions)):
        torch.testing.assert_close(x, y, **FLOAT32_REORDERED)


@pytest.mark.parametrize("backend", ["torch", "native"])
def test_zero_iterations_is_the_uniform_start(trained, backend):
    bank, protos = trained
    targets = protos[1]
    s = inverse.InverseSettings(iterations=0, seed=3)
    result = inverse.inverse_classify(bank, targets, s, backend=backend)
    start = inverse.project(inverse.initial_vectors(4, 3, s), dim=2)
    assert ((start > 0.24) & (start < 0.26)).all()
    y = gen.generate(bank, start.transpose(0, 1), T)  # [G, N, T, O]
    want = (y - targets.unsqueeze(0)).square().mean((2, 3)).T
    torch.testing.assert_close(result.losses[0], want, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(result.mixtures, start)


@pytest.mark.parametrize("backend", ["torch", "native"])
def test_recovers_the_one_hot_of_a_training_prototype(trained, backend):
    bank, protos = trained
    targets = protos.reshape(12, T, O)
    result = inverse.inverse_classify(bank, targets, inverse.InverseSettings(), keep=[0, 7], backend=backend)
    own = result.mixtures[torch.arange(12), torch.arange(12) // 4]  # each target's own module
    assert torch.equal(own.argmax(1), torch.arange(12) % 4)
    assert torch.equal(result.predictions(), torch.arange(12) // 4)
    assert (result.final_losses <= result.losses[0] + 1e-6).float().mean() > 0.9
    assert result.reconstructions.shape == (2, 3, T, O)
    again = gen.generate(bank, result.mixtures[[0, 7]].transpose(0, 1), T).transpose(0, 1)
    torch.testing.assert_close(result.reconstructions, again, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("backend", "dtype"), [("torch", torch.float64), ("native", torch.float32)])
def test_chunking_does_not_change_results(trained, backend, dtype):
    # the native kernel is float32 only: its chunk handling is checked against the float64 reference above
    bank, protos = trained[0].to(dtype=dtype), trained[1].to(dtype)
    targets = protos.reshape(12, T, O)
    tol = FLOAT64_REORDERED if dtype == torch.float64 else FLOAT32_REORDERED
    a = inverse.inverse_classify(bank, targets, inverse.InverseSettings(iterations=5, chunk_size=5), backend=backend)
    b = inverse.inverse_classify(bank, targets, inverse.InverseSettings(iterations=5), backend=backend)
    torch.testing.assert_close(a.losses, b.losses, **tol)
    torch.testing.assert_close(a.mixtures, b.mixtures, **tol)
