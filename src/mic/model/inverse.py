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

Work is split into chunks of targets, so memory stays bounded. On the CPU (float32) a C
kernel (mic/native/invert.c) runs one module at a time with the chunk's targets as SIMD lanes
and the module's weights shared, forward, backward and Adam fused, for all iterations; elsewhere
(and on a CPU without a C compiler) the torch engine of mic.model.generator runs all modules of a
chunk as one batch. Both follow the same maths
and are checked against a per-sample autograd loop in the tests.
"""

from __future__ import annotations

import ctypes
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mic import native
from mic.model import backend as backends
from mic.model import generator as gen
from mic.model.generator import GeneratorBank

_DEFAULT_CHUNK_PAIRS = 4096  # torch engine: (target, module) pairs per chunk when chunk_size is not given
NATIVE_CHUNK = 256  # CPU kernel: targets per chunk when chunk_size is not given


FINAL_LOSSES = ("projected", "raw")


@dataclass(frozen=True)
class InverseSettings:
    """Knobs of inverse classification (paper defaults; Adam as in the authors' code)."""

    iterations: int = 50
    learning_rate: float = 0.05
    betas: tuple[float, float] = (0.9, 0.99)
    eps: float = 1e-8
    bias_correction: bool = False  # the authors' hand-written Adam uses raw m and v
    # "projected": the last loss is that of the clipped, normalised vector (the paper's text); "raw": of the
    # vector after the last Adam step as it is (the authors' code)
    final_loss: str = "projected"
    init_low: float = 0.245
    init_high: float = 0.255
    seed: int = 0
    chunk_size: int | None = None  # targets per chunk; None: 256 (CPU kernel) / ~4096 pairs (torch)

    def __post_init__(self) -> None:
        if self.iterations < 0:
            raise ValueError("iterations must be >= 0")
        if not 0.0 <= self.init_low <= self.init_high:
            raise ValueError("need 0 <= init_low <= init_high")
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        if self.final_loss not in FINAL_LOSSES:
            raise ValueError(f"final_loss must be one of {FINAL_LOSSES}, got {self.final_loss!r}")


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
            lr /= 1.0 - b1**self.t
            denom.div_(math.sqrt(1.0 - b2**self.t))
        x.addcdiv_(self.m, denom.add_(self.s.eps), value=-lr)


def _chunk_size(settings: InverseSettings, num_modules: int, use_native: bool) -> int:
    """Targets per chunk."""
    if settings.chunk_size is not None:
        return settings.chunk_size
    if use_native:
        return NATIVE_CHUNK
    return max(1, _DEFAULT_CHUNK_PAIRS // num_modules)


def _run_chunk(
    bank: GeneratorBank, targets: Tensor, start: Tensor, settings: InverseSettings, ws: gen.Workspace | None
) -> tuple[Tensor, Tensor, Tensor, gen.Workspace]:
    """Invert one chunk: targets [B, T, O], start vectors [B, G, 4] -> (losses [K+1, B, G], mixtures, y, ws)."""
    b, steps, o_size = targets.shape
    ws = gen.get_workspace(ws, bank, b, steps)
    target = targets.permute(1, 2, 0).unsqueeze(1).to(bank.device, bank.dtype)  # [T, 1, O, B]
    x = start.permute(1, 2, 0).to(bank.device, bank.dtype).contiguous()  # [G, 4, B]
    adam = _VectorAdam(x, settings)
    losses = torch.empty(settings.iterations + 1, bank.num_generators, b, device=bank.device, dtype=bank.dtype)
    resid = None
    for k in range(settings.iterations + 1):
        if not (settings.final_loss == "raw" and k == settings.iterations and k > 0):
            project(x)
        y = gen.forward(bank, x, ws)  # [T, G, O, B]
        resid = torch.sub(y, target, out=resid)
        torch.sum(resid.square(), (0, 2), out=losses[k]).div_(steps * o_size)
        if k < settings.iterations:
            gen.backward(bank, ws, resid.mul_(2.0 / (steps * o_size)))
            adam.step(x, gen.input_grad(bank, ws))
    return losses.permute(0, 2, 1).cpu(), x.permute(2, 0, 1).cpu(), ws.y, ws


_WEIGHTS = ("w_ih", "w_hh", "b_ih", "b_hh", "w_out", "b_out")  # GeneratorBank's fields, as the kernel takes them


class _Inversion(ctypes.Structure):
    """ctypes mirror of mic_inversion in invert.c (one module's call), checked against the library's layout on load."""

    _fields_ = [
        (name, ctypes.c_int)
        for name in ("n_blocks", "n_t", "h", "n_o", "n_i", "iterations", "bias_correction", "raw_final")
    ]
    _fields_ += [(name, ctypes.c_float) for name in ("lr", "beta1", "beta2", "eps")]
    _fields_ += [(name, ctypes.c_void_p) for name in (*_WEIGHTS, "target", "x", "losses", "y_keep", "scratch")]


@functools.cache
def _kernel(variant: str = "native") -> ctypes.CDLL:
    """The compiled inversion kernel; raises native.NativeUnavailable, or native.LayoutMismatch."""
    lib = native.load("invert", variant)
    native.check_layout(lib, "mic_inversion", _Inversion)
    lib.mic_invert_module.argtypes = [ctypes.POINTER(_Inversion)]
    lib.mic_invert_module.restype = None
    lib.mic_invert_scratch_floats.argtypes = [ctypes.c_int] * 4
    lib.mic_invert_scratch_floats.restype = ctypes.c_long
    return lib


def _run_chunk_native(
    bank: GeneratorBank, targets: Tensor, start: Tensor, settings: InverseSettings
) -> tuple[Tensor, Tensor, Tensor]:
    """CPU kernel for one chunk: targets [B, T, O], start vectors [B, G, 4].

    Returns losses [K+1, B, G], final mixtures [B, G, 4] and final outputs [T, G, O, B].
    Lanes are targets in blocks of L (the kernel's lane width; [blocks, ..., L]); padding lanes
    are zero targets. The kernel takes each module's weights as nn.LSTM holds them.
    """
    lib = _kernel(native.variant())
    lanes = native.lanes(lib)
    b, steps, o_size = targets.shape
    g, h, n_i = bank.num_generators, bank.hidden_size, gen.INPUT_SIZE
    nb = -(-b // lanes)
    pad = nb * lanes - b
    weights = {name: getattr(bank, name).detach().contiguous().numpy() for name in _WEIGHTS}  # [G, ...] each
    target = torch.nn.functional.pad(targets.float(), (0, 0, 0, 0, 0, pad))  # [nb*L, T, O]
    target = target.reshape(nb, lanes, steps, o_size).permute(0, 2, 3, 1).contiguous().numpy()  # [nb, T, O, L]
    x = torch.nn.functional.pad(start.float(), (0, 0, 0, 0, 0, pad), value=0.25)  # [nb*L, G, 4]
    x = x.reshape(nb, lanes, g, n_i).permute(2, 0, 3, 1).contiguous().numpy()  # [G, nb, 4, L]
    losses = np.empty((g, settings.iterations + 1, nb, lanes), np.float32)
    y = np.empty((g, nb, steps, o_size, lanes), np.float32)
    scratch = np.empty(lib.mic_invert_scratch_floats(steps, h, o_size, n_i), np.float32)
    call = _Inversion(
        n_blocks=nb,
        iterations=settings.iterations,
        bias_correction=int(settings.bias_correction),
        raw_final=int(settings.final_loss == "raw"),
        lr=settings.learning_rate,
        **native.sequence_fields(steps, h, o_size, n_i, settings.betas, settings.eps),
        target=target.ctypes.data,
        scratch=scratch.ctypes.data,
    )
    for m_idx in range(g):
        for name, w in weights.items():
            setattr(call, name, w[m_idx].ctypes.data)
        call.x, call.losses, call.y_keep = x[m_idx].ctypes.data, losses[m_idx].ctypes.data, y[m_idx].ctypes.data
        lib.mic_invert_module(ctypes.byref(call))
    losses_t = torch.from_numpy(losses).reshape(g, -1, nb * lanes)[:, :, :b].permute(1, 2, 0)
    mixtures = torch.from_numpy(x).permute(1, 3, 0, 2).reshape(nb * lanes, g, n_i)[:b]
    outputs = torch.from_numpy(y).permute(2, 0, 3, 1, 4).reshape(steps, g, o_size, nb * lanes)[..., :b]
    return losses_t, mixtures, outputs


@torch.no_grad()
def inverse_classify(
    bank: GeneratorBank,
    targets: Tensor,
    settings: InverseSettings = InverseSettings(),
    keep: Sequence[int] = (),
    backend: str = "auto",
    start: Tensor | None = None,
) -> InverseResult:
    """Run every target [N, T, O] against every module of the bank; see the module docstring.

    keep: target indices whose final reconstructions (all modules) are returned.
    backend: "auto" (C kernel for a float32 CPU bank, else torch), "native" or "torch".
    start: [N, G, 4] start vectors instead of the paper's uniform draw from settings.seed (initial_vectors).
    """
    targets = torch.as_tensor(targets)
    if targets.dim() != 3 or targets.shape[2] != bank.output_size:
        raise ValueError(f"targets must be [N, T, O={bank.output_size}], got {tuple(targets.shape)}")
    n, steps, o_size = targets.shape
    g = bank.num_generators
    keep = [int(i) for i in keep]
    if start is None:
        start = initial_vectors(n, g, settings)
    elif tuple(start.shape) != (n, g, gen.INPUT_SIZE):
        raise ValueError(f"start must be [N={n}, G={g}, {gen.INPUT_SIZE}], got {tuple(start.shape)}")
    losses = torch.empty(settings.iterations + 1, n, g)
    mixtures = torch.empty(n, g, gen.INPUT_SIZE)
    recon = torch.empty(len(keep), g, steps, o_size) if keep else None
    use_native = backends.use_native(lambda: _kernel(native.variant()), bank.device, bank.dtype, backend, "inverting")
    ws = None
    size = _chunk_size(settings, g, use_native)
    for lo in range(0, n, size):
        hi = min(n, lo + size)
        if use_native:
            losses[:, lo:hi], mixtures[lo:hi], y = _run_chunk_native(bank, targets[lo:hi], start[lo:hi], settings)
        else:
            losses[:, lo:hi], mixtures[lo:hi], y, ws = _run_chunk(bank, targets[lo:hi], start[lo:hi], settings, ws)
        for j, idx in enumerate(keep):
            if lo <= idx < hi:
                recon[j] = y[:, :, :, idx - lo].permute(1, 0, 2).cpu()  # [T, G, O] -> [G, T, O]
    return InverseResult(losses=losses, mixtures=mixtures, reconstructions=recon, keep=keep)
