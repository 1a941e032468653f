"""Batched (modular) inverse classification (paper 2.2, 2.3, 3.5.3).

Every target is reconstructed by every class module at once: the generators' weights stay
frozen and only the 4-dim input vector of each (target, module) pair is optimised. Each
iteration, as in the authors' code (RNN/modular_RNN.py):
  1. the vector is clipped to [0, 1] and divided by its sum (the projected vector replaces
     the stored one; the projection itself is not differentiated),
  2. the generator runs from it, MSE against the target,
  3. the gradient w.r.t. the projected vector is taken and one Adam step (lr 0.05,
     betas (0.9, 0.99), eps 1e-8) is applied to it.
The loss recorded for iteration k is that of the projected vector after k Adam steps, so
iteration 0 is the uniform start and the last entry belongs to the returned mixture. A
module's final mixture is its reconstruction's weighting of its 4 prototypes; the class whose
module reaches the lowest final loss is the prediction.

The authors' Adam has no bias correction (m and v are used as they are); that is the default
here, `bias_correction=True` gives textbook Adam.

Work is split into chunks of targets, each run for all modules as one [G, ..., chunk] batch
with a hand-written backward pass (mic.generator), so memory stays bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from mic import generator as gen
from mic.generator import GeneratorBank

_DEFAULT_CHUNK_PAIRS = 4096  # (target, module) pairs per chunk when chunk_size is not given


@dataclass(frozen=True)
class InverseSettings:
    """Knobs of inverse classification (paper defaults; Adam as in the authors' code)."""

    iterations: int = 50
    learning_rate: float = 0.05
    betas: tuple[float, float] = (0.9, 0.99)
    eps: float = 1e-8
    bias_correction: bool = False  # the authors' hand-written Adam uses raw m and v
    init_low: float = 0.245
    init_high: float = 0.255
    seed: int = 0
    chunk_size: int | None = None  # targets per chunk; None: about 4096 (target, module) pairs

    def __post_init__(self) -> None:
        if self.iterations < 0:
            raise ValueError("iterations must be >= 0")
        if not 0.0 <= self.init_low <= self.init_high:
            raise ValueError("need 0 <= init_low <= init_high")
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")


@dataclass
class InverseResult:
    """Losses per iteration, final mixtures and optional reconstructions of every (target, module)."""

    losses: Tensor  # [K+1, N, G]: MSE after k = 0..K Adam steps (k = 0: uniform start)
    mixtures: Tensor  # [N, G, 4]: final clipped and normalised input vectors
    reconstructions: Tensor | None  # [len(keep), G, T, O] final reconstructions of the kept targets
    keep: list[int]  # target indices of the reconstructions

    @property
    def final_losses(self) -> Tensor:
        """[N, G] loss of the final mixture of every (target, module)."""
        return self.losses[-1]

    def predictions(self, iteration: int = -1) -> Tensor:
        """[N] module (class) index with the lowest loss after the given iteration."""
        return self.losses[iteration].argmin(1)


def initial_vectors(num_targets: int, num_modules: int, settings: InverseSettings) -> Tensor:
    """[N, G, 4] start vectors, U(init_low, init_high) from settings.seed (chunking-independent)."""
    rng = torch.Generator().manual_seed(int(settings.seed))
    u = torch.rand(num_targets, num_modules, gen.INPUT_SIZE, generator=rng, dtype=torch.float64)
    return (settings.init_low + (settings.init_high - settings.init_low) * u).float()


def project(v: Tensor, dim: int = 1) -> Tensor:
    """Clip to [0, 1] and divide by the sum along dim (in place); an all-zero vector stays zero."""
    v.clamp_(0.0, 1.0)
    return v.div_(v.sum(dim, keepdim=True).clamp_min_(torch.finfo(v.dtype).tiny))


class _VectorAdam:
    """Adam on the [G, 4, B] input vectors, optionally without bias correction (authors' variant)."""

    def __init__(self, x: Tensor, settings: InverseSettings) -> None:
        self.m = torch.zeros_like(x)
        self.v = torch.zeros_like(x)
        self.s = settings
        self.t = 0

    def step(self, x: Tensor, grad: Tensor) -> None:
        """x -= lr * m / (sqrt(v) + eps) (with m, v bias-corrected if configured)."""
        self.t += 1
        b1, b2 = self.s.betas
        self.m.mul_(b1).add_(grad, alpha=1.0 - b1)
        self.v.mul_(b2).addcmul_(grad, grad, value=1.0 - b2)
        lr, denom = self.s.learning_rate, self.v.sqrt()
        if self.s.bias_correction:
            lr /= 1.0 - b1 ** self.t
            denom.div_(math.sqrt(1.0 - b2 ** self.t))
        x.addcdiv_(self.m, denom.add_(self.s.eps), value=-lr)


def _chunk_size(settings: InverseSettings, num_modules: int) -> int:
    """Targets per chunk."""
    if settings.chunk_size is not None:
        return settings.chunk_size
    return max(1, _DEFAULT_CHUNK_PAIRS // num_modules)


def _run_chunk(bank: GeneratorBank, targets: Tensor, start: Tensor, settings: InverseSettings,
               ws: gen.Workspace | None) -> tuple[Tensor, Tensor, Tensor, gen.Workspace]:
    """Invert one chunk: targets [B, T, O], start vectors [B, G, 4] -> (losses [K+1, B, G], mixtures, y, ws)."""
    b, steps, o_size = targets.shape
    ws = gen.get_workspace(ws, bank, b, steps)
    target = targets.permute(1, 2, 0).unsqueeze(1).to(bank.device, bank.dtype)  # [T, 1, O, B]
    x = start.permute(1, 2, 0).to(bank.device, bank.dtype).contiguous()  # [G, 4, B]
    adam = _VectorAdam(x, settings)
    losses = torch.empty(settings.iterations + 1, bank.num_generators, b, device=bank.device, dtype=bank.dtype)
    resid = None
    for k in range(settings.iterations + 1):
        project(x)
        y = gen.forward(bank, x, ws)  # [T, G, O, B]
        resid = torch.sub(y, target, out=resid)
        torch.sum(resid.square(), (0, 2), out=losses[k]).div_(steps * o_size)
        if k < settings.iterations:
            gen.backward(bank, ws, resid.mul_(2.0 / (steps * o_size)))
            adam.step(x, gen.input_grad(bank, ws))
    return losses.permute(0, 2, 1).cpu(), x.permute(2, 0, 1).cpu(), ws.y, ws


@torch.no_grad()
def inverse_classify(bank: GeneratorBank, targets: Tensor, settings: InverseSettings = InverseSettings(),
                     keep: Sequence[int] = ()) -> InverseResult:
    """Run every target [N, T, O] against every module of the bank; see the module docstring.

    keep: target indices whose final reconstructions (all modules) are returned.
    """
    targets = torch.as_tensor(targets)
    if targets.dim() != 3 or targets.shape[2] != bank.output_size:
        raise ValueError(f"targets must be [N, T, O={bank.output_size}], got {tuple(targets.shape)}")
    n, steps, o_size = targets.shape
    g = bank.num_generators
    keep = [int(i) for i in keep]
    start = initial_vectors(n, g, settings)
    losses = torch.empty(settings.iterations + 1, n, g)
    mixtures = torch.empty(n, g, gen.INPUT_SIZE)
    recon = torch.empty(len(keep), g, steps, o_size) if keep else None
    ws = None
    size = _chunk_size(settings, g)
    for lo in range(0, n, size):
        hi = min(n, lo + size)
        losses[:, lo:hi], mixtures[lo:hi], y, ws = _run_chunk(bank, targets[lo:hi], start[lo:hi], settings, ws)
        for j, idx in enumerate(keep):
            if lo <= idx < hi:
                recon[j] = y[:, :, :, idx - lo].permute(1, 0, 2).cpu()  # [T, G, O] -> [G, T, O]
    return InverseResult(losses=losses, mixtures=mixtures, reconstructions=recon, keep=keep)


def class_module_loss(losses: Tensor, labels: Tensor, num_classes: int | None = None) -> Tensor:
    """Figure 7: [C, G] mean loss of module g on the targets of true class c (NaN if none)."""
    losses = torch.as_tensor(losses, dtype=torch.float64)
    labels = torch.as_tensor(labels, dtype=torch.long)
    c = int(num_classes if num_classes is not None else labels.max().item() + 1)
    sums = torch.zeros(c, losses.shape[1], dtype=torch.float64).index_add_(0, labels, losses)
    counts = torch.bincount(labels, minlength=c).to(torch.float64).unsqueeze(1)
    return sums / counts
