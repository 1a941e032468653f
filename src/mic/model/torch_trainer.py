"""The torch engine's training loop (any device): one Python step at a time, the same maths as the C kernel.

`mic.model.training` chooses between this and the CPU kernel; the two are checked against each other
and against torch.nn.LSTM autograd in the tests.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mic.model import generator as gen
from mic.model.generator import GeneratorBank


class _TorchStep:
    """Loss and gradients of one step via the device-agnostic torch engine."""

    def __init__(self) -> None:
        self.ws: gen.Workspace | None = None

    def __call__(self, bank: GeneratorBank, x0: Tensor, target: Tensor) -> tuple[Tensor, list[Tensor]]:
        """(loss [G], gradients in PARAM_NAMES order) for inputs [G, B, I] and targets [G, B, T, O]."""
        g, b, t, o = target.shape
        self.ws = gen.get_workspace(self.ws, bank, b, t, keep_dz=True)
        x = x0.to(bank.device).transpose(1, 2).contiguous()  # [G, I, B]
        y = gen.forward(bank, x, self.ws)  # [T, G, O, B]
        resid = y - gen.to_layout(target.to(bank.device))
        loss = resid.square().mean((0, 2, 3))
        d_out = resid.mul_(2.0 / (b * t * o))
        gen.backward(bank, self.ws, d_out)
        return loss, gen.weight_grads(bank, self.ws, x, d_out)


class _Adam:
    """Adam on stacked parameters, element-wise like torch.optim.Adam (no weight decay)."""

    def __init__(self, params: list[Tensor], betas: tuple[float, float], eps: float) -> None:
        self.params, self.betas, self.eps = params, betas, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[Tensor], lr: float) -> None:
        """Apply one update with learning rate lr."""
        self.t += 1
        b1, b2 = self.betas
        bc1, bc2_sqrt = 1.0 - b1**self.t, math.sqrt(1.0 - b2**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            g = g.to(p.device)
            m.lerp_(g, 1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-lr / bc1)


class TorchTrainer:
    """Training state for the torch engine (any device): Python loop over steps."""

    def __init__(self, bank: GeneratorBank, betas: tuple[float, float], eps: float) -> None:
        self.bank, self.best = bank, bank.clone()
        self.adam = _Adam(bank.tensors(), betas, eps)
        self.step_fn = _TorchStep()
        self.best_loss = torch.full((bank.num_generators,), math.inf)
        self.best_step = torch.zeros(bank.num_generators, dtype=torch.long)

    def run(self, x0: Tensor, target: Tensor, lrs: list[float], step0: int) -> Tensor:
        """Train on a chunk (x0 [S, G, B, I], target [S, G, B, T, O]); returns losses [S, G]."""
        losses = []
        for s, lr in enumerate(lrs):
            loss, grads = self.step_fn(self.bank, x0[s], target[s])
            loss = loss.detach().cpu()
            improved = loss < self.best_loss
            if bool(improved.any()):
                _keep(self.best, self.bank, improved.to(self.bank.device))
                self.best_loss = torch.where(improved, loss, self.best_loss)
                self.best_step[improved] = step0 + s
            self.adam.step(grads, lr)
            losses.append(loss)
        return torch.stack(losses)

    def best_bank(self) -> GeneratorBank:
        """The kept weights as a CPU bank."""
        return self.best.to("cpu")

    def final_bank(self) -> GeneratorBank:
        """The weights after the last step as a CPU bank."""
        return self.bank.to("cpu")


def _keep(best: GeneratorBank, bank: GeneratorBank, mask: Tensor) -> None:
    """Copy the generators selected by mask [G] from bank into best."""
    for b_t, p_t in zip(best.tensors(), bank.tensors()):
        m = mask.view(-1, *([1] * (p_t.dim() - 1)))
        torch.where(m, p_t, b_t, out=b_t)
