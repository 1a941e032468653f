"""Training a bank of per-class generators at once (paper 2.1, 3.2, 3.5.2).

Every generator sees only its own four prototypes. One training step presents
`prototypes_per_step` of them (default 1, the paper's one random prototype per episode, so
40000 presentations = 40000 Adam steps; 4 presents all four, 10000 steps), computes the MSE between the
generated and the (output-noised) prototype sequences, and takes an Adam step. Each
generator keeps the weights with the lowest training loss seen (the loss of a step is that of
the weights before its update).

CPU training runs a fused numba kernel: forward, loss and backward of all generators and
sequences of a step in one compiled call, every (sequence, generator) pair a SIMD lane. A
per-op framework costs several microseconds per op and T=205 steps need ~11 ops each, which
made every torch formulation tried (autograd, hand-written bmm engines in several layouts)
several times slower on CPU. Other devices use the torch engine in `mic.generator` (same maths,
device-agnostic); the two are checked against each other and against torch.nn.LSTM autograd
in the tests.

Randomness is per generator (init from its seed, noise and prototype choice from a stream
derived from it, drawn in fixed-size chunks), so with the CPU kernel a generator's training
is bit-identical whichever other generators share the bank (the torch engine's batched
matmuls may round differently for different bank sizes).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numba
import numpy as np
import torch
from llvmlite import ir as llvm_ir
from numba import types
from numba.extending import intrinsic
from torch import Tensor

from mic import generator as gen
from mic.generator import GeneratorBank

_CHUNK = 64  # steps drawn (noise) and run (CPU kernel) at once; fixed, so streams are bank-independent
_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainSettings:
    """Every knob of generator training; stored in checkpoints and compared on load."""

    hidden_size: int = 10
    episodes: int = 40000  # prototype presentations per generator (paper: 40000 chars, 20000 MNIST)
    # Defaults chosen on training loss only (20 character classes, first 4 training samples each,
    # 40000 episodes, mean MSE of the kept weights on their prototypes): one random prototype per
    # step (paper) 0.0004-0.0008; all four per step 0.020 (lr 0.01) / 0.0026 (lr 0.02); cosine
    # decay to 1% / 10% of lr with four per step 0.026 / 0.022, so no schedule by default.
    prototypes_per_step: int = 1  # 1: paper's one random prototype per step; 4: all four per step
    learning_rate: float = 0.01
    lr_schedule: str = "constant"  # "constant" | "cosine" (decays to learning_rate * lr_final_ratio)
    lr_final_ratio: float = 0.01
    noise_in: float = 0.0  # sigma of Gaussian noise on the one-hot input (then clipped to [0, 1])
    noise_out: float = 0.0  # sigma of Gaussian noise on the target sequence
    adam_betas: tuple[float, float] = (0.9, 0.999)  # torch defaults ("standard parametrization")
    adam_eps: float = 1e-8
    log_every: int = 1  # loss curve resolution in steps (mean over each block)

    def __post_init__(self) -> None:
        if not 1 <= self.prototypes_per_step <= 4:
            raise ValueError("prototypes_per_step must be 1..4")
        if self.episodes < self.prototypes_per_step or self.episodes % self.prototypes_per_step:
            raise ValueError("episodes must be a positive multiple of prototypes_per_step")
        if self.lr_schedule not in _SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {_SCHEDULES}")
        if self.hidden_size < 1 or self.log_every < 1 or self.noise_in < 0 or self.noise_out < 0:
            raise ValueError("hidden_size, log_every must be >= 1 and noise sigmas >= 0")

    @property
    def steps(self) -> int:
        """Optimizer steps per generator."""
        return self.episodes // self.prototypes_per_step

    def to_dict(self) -> dict:
        """Plain-data form (tuples become lists), for checkpoints and logs."""
        d = asdict(self)
        d["adam_betas"] = list(self.adam_betas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainSettings:
        """Inverse of to_dict."""
        d = dict(d)
        d["adam_betas"] = tuple(d["adam_betas"])
        return cls(**d)


@dataclass
class TrainResult:
    """Outcome of train_generators, one entry per generator along the first axis."""

    bank: GeneratorBank  # lowest-training-loss weights (CPU, float32)
    loss_curve: Tensor  # [G, steps // log_every] mean training loss per block of steps
    best_loss: Tensor  # [G] lowest training loss seen (noisy targets/inputs if noise > 0)
    best_step: Tensor  # [G] step (0-based) whose pre-update weights were kept
    clean_loss: Tensor  # [G] MSE of the kept weights on the noise-free prototypes
    final_clean_loss: Tensor  # [G] the same for the weights after the last step (not kept)
    settings: TrainSettings
    seeds: list[int]
    device: str
    seconds: float
    extra: dict = field(default_factory=dict)


def learning_rate_at(settings: TrainSettings, step: int) -> float:
    """Learning rate of a step under the settings' schedule."""
    if settings.lr_schedule == "constant":
        return settings.learning_rate
    lo = settings.learning_rate * settings.lr_final_ratio
    frac = step / max(settings.steps - 1, 1)
    return lo + 0.5 * (settings.learning_rate - lo) * (1.0 + math.cos(math.pi * frac))


def _noise_seed(seed: int) -> int:
    """Seed of a generator's noise stream, independent of its init stream."""
    return int(np.random.SeedSequence([int(seed), 0x6E6F6973]).generate_state(1, dtype=np.uint64)[0] >> 1)


class _Episodes:
    """Per-generator streams of prototype choices and noise, drawn in fixed chunks of steps."""

    def __init__(self, prototypes: Tensor, settings: TrainSettings, seeds: Sequence[int]) -> None:
        self.protos = prototypes  # [G, 4, T, O] on CPU
        self.settings = settings
        self.gens = [torch.Generator().manual_seed(_noise_seed(s)) for s in seeds]
        self.eye = torch.eye(prototypes.shape[1])

    def chunk(self) -> tuple[Tensor, Tensor]:
        """Next _CHUNK steps: inputs x0 [C, G, k, 4] and targets [C, G, k, T, O].

        Each generator draws its own chunk from its own stream (choices, then input noise,
        then output noise), so the numbers do not depend on the other generators.
        """
        s, k, c = self.settings, self.settings.prototypes_per_step, _CHUNK
        g_n, p_n, t_n, o_n = self.protos.shape
        sel, n_in, n_out = [], [], []
        for gen_rng in self.gens:
            if k < p_n:
                sel.append(torch.rand(c, p_n, generator=gen_rng).argsort(1)[:, :k])
            if s.noise_in > 0:
                n_in.append(torch.randn(c, k, p_n, generator=gen_rng))
            if s.noise_out > 0:
                n_out.append(torch.randn(c, k, t_n, o_n, generator=gen_rng))
        sel = torch.stack(sel, 1) if sel else torch.arange(k).expand(c, g_n, k)  # [C, G, k]
        x0 = self.eye[sel]
        rows = torch.arange(g_n)[None, :, None].expand_as(sel)
        target = self.protos[rows, sel]  # [C, G, k, T, O]
        if n_in:
            x0 = (x0 + s.noise_in * torch.stack(n_in, 1)).clamp_(0.0, 1.0)
        if n_out:
            target = target + s.noise_out * torch.stack(n_out, 1)
        return x0, target


# --------------------------------------------------------------------------- numba CPU kernel
#
# Lanes: the kernel runs every (sequence b, generator g) pair as one SIMD lane, lane = b*G + g,
# innermost in every array, so each inner loop is a plain vectorisable loop over lanes and the
# weights of generator g are repeated for its B lanes. torch's CPU sigmoid/exp and libm's expf
# are scalar-speed here, so the kernel uses its own exp (Cephes polynomial, ~1e-7 relative
# error, the same as libm measured over the float32 range) which LLVM vectorises.


@intrinsic
def _int_bits_as_f32(typingctx, x):  # pragma: no cover - compiled
    """Reinterpret the low 32 bits of an integer as a float32."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v = args[0]
        if v.type.width != 32:
            v = builder.trunc(v, llvm_ir.IntType(32))
        return builder.bitcast(v, llvm_ir.FloatType())

    return types.float32(x), codegen


_F = np.float32
_LOG2E, _LN2_HI, _LN2_LO = _F(1.44269504088896341), _F(0.693359375), _F(-2.12194440e-4)
_EXP_POLY = (_F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3), _F(4.1665795894e-2),
             _F(1.6666665459e-1), _F(5.0000001201e-1))
_ROUND_MAGIC = _F(12582912.0)  # 1.5 * 2**23: x + M - M rounds a float32 to the nearest integer
_EXP_LO, _EXP_HI = _F(-87.0), _F(88.0)


@numba.njit(inline="always")
def fast_exp(x):  # pragma: no cover - compiled
    """float32 exp (Cephes expf): 2^n * p(r), r = x - n ln2, branch-free so loops vectorise."""
    p0, p1, p2, p3, p4, p5 = _EXP_POLY
    x = x if x > _EXP_LO else _EXP_LO
    x = x if x < _EXP_HI else _EXP_HI
    n = (x * _LOG2E + _ROUND_MAGIC) - _ROUND_MAGIC
    r = x - n * _LN2_HI - n * _LN2_LO
    p = (((((p0 * r + p1) * r + p2) * r + p3) * r + p4) * r + p5) * r * r + r + _F(1.0)
    return p * _int_bits_as_f32((np.int32(n) + np.int32(127)) << np.int32(23))


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})  # FMA only: keeps IEEE semantics otherwise
def _fused_step(w_in, w_rec, w_hh, bias, w_out, b_out, x0, target, scale,
                d_w_ih, d_w_hh, d_b, d_w_out, d_b_out, sq,
                gates, cell, tcell, hid, d_y, z, dz, dh, dc):  # pragma: no cover - compiled
    """Forward, squared error and backward for every lane; per-lane gradients are overwritten.

    Shapes (L lanes): w_in [I, 4H, L] and w_rec [H, 4H, L] (transposed, g-gate rows doubled:
    tanh(z) = 2 sigmoid(2z) - 1), w_hh [4H, H, L] (plain), bias [4H, L] (doubled), w_out [O, H, L],
    b_out [O, L], x0 [I, L], target [T, O, L]. Gradients use the same transposed layouts; sq [L]
    gets the summed squared error and d loss / d y = scale * error. Scratch: gates [T, 4H, L],
    cell/hid [T+1, H, L] (slot 0 = state before the first step), tcell [T, H, L], d_y [T, O, L],
    z/dz [4H, L], dh/dc [H, L].
    """
    n_t, n_o, n_l = target.shape
    h4 = bias.shape[0]
    h = h4 // 4
    n_i = x0.shape[0]
    one, two, zero = _F(1.0), _F(2.0), _F(0.0)
    cell[0] = zero
    hid[0] = zero
    sq[:] = zero
    for t in range(n_t):
        for r in range(h4):
            for q in range(n_l):
                z[r, q] = bias[r, q]
        if t == 0:
            for j in range(n_i):
                for r in range(h4):
                    for q in range(n_l):
                        z[r, q] += w_in[j, r, q] * x0[j, q]
        else:
            for k in range(h):
                for r in range(h4):
                    for q in range(n_l):
                        z[r, q] += w_rec[k, r, q] * hid[t, k, q]
        for r in range(h4):
            for q in range(n_l):
                gates[t, r, q] = one / (one + fast_exp(-z[r, q]))
        for k in range(h):
            for q in range(n_l):
                gg = two * gates[t, 2 * h + k, q] - one
                gates[t, 2 * h + k, q] = gg
                c = gates[t, h + k, q] * cell[t, k, q] + gates[t, k, q] * gg
                cell[t + 1, k, q] = c
                tc = two / (one + fast_exp(-two * c)) - one
                tcell[t, k, q] = tc
                hid[t + 1, k, q] = gates[t, 3 * h + k, q] * tc
        for o in range(n_o):
            for q in range(n_l):
                d_y[t, o, q] = b_out[o, q] - target[t, o, q]
            for k in range(h):
                for q in range(n_l):
                    d_y[t, o, q] += w_out[o, k, q] * hid[t + 1, k, q]
            for q in range(n_l):
                e = d_y[t, o, q]
                sq[q] += e * e
                d_y[t, o, q] = scale * e

    d_w_ih[:] = zero
    d_w_hh[:] = zero
    d_b[:] = zero
    d_w_out[:] = zero
    d_b_out[:] = zero
    dh[:] = zero
    dc[:] = zero
    for t in range(n_t - 1, -1, -1):
        for o in range(n_o):
            for q in range(n_l):
                d_b_out[o, q] += d_y[t, o, q]
            for k in range(h):
                for q in range(n_l):
                    d = d_y[t, o, q]
                    d_w_out[o, k, q] += d * hid[t + 1, k, q]
                    dh[k, q] += w_out[o, k, q] * d
        for k in range(h):
            for q in range(n_l):
                ii = gates[t, k, q]
                ff = gates[t, h + k, q]
                gg = gates[t, 2 * h + k, q]
                oo = gates[t, 3 * h + k, q]
                tc = tcell[t, k, q]
                dck = dc[k, q] + dh[k, q] * oo * (one - tc * tc)
                dz[k, q] = dck * gg * ii * (one - ii)
                dz[h + k, q] = dck * cell[t, k, q] * ff * (one - ff)
                dz[2 * h + k, q] = dck * ii * (one - gg * gg)
                dz[3 * h + k, q] = dh[k, q] * tc * oo * (one - oo)
                dc[k, q] = dck * ff
                dh[k, q] = zero
        for r in range(h4):
            for q in range(n_l):
                d_b[r, q] += dz[r, q]
        if t > 0:
            for k in range(h):
                for r in range(h4):
                    for q in range(n_l):
                        d_w_hh[k, r, q] += hid[t, k, q] * dz[r, q]
            for r in range(h4):
                for k in range(h):
                    for q in range(n_l):
                        dh[k, q] += w_hh[r, k, q] * dz[r, q]
        else:
            for j in range(n_i):
                for r in range(h4):
                    for q in range(n_l):
                        d_w_ih[j, r, q] += x0[j, q] * dz[r, q]


@numba.njit(cache=True, error_model="numpy")
def _expand_lanes(w_ih, w_hh, b_ih, b_hh, w_out, b_out, n_b,
                  l_in, l_rec, l_hh, l_bias, l_out, l_bout):  # pragma: no cover - compiled
    """Per-generator parameters (generator last) -> the kernel's per-lane weights (lane b*G + g)."""
    h4, n_i, n_g = w_ih.shape
    h = w_hh.shape[1]
    n_o = w_out.shape[0]
    for r in range(h4):
        sc = _F(2.0) if 2 * h <= r < 3 * h else _F(1.0)
        for b in range(n_b):
            for g in range(n_g):
                q = b * n_g + g
                for j in range(n_i):
                    l_in[j, r, q] = w_ih[r, j, g] * sc
                for k in range(h):
                    l_rec[k, r, q] = w_hh[r, k, g] * sc
                    l_hh[r, k, q] = w_hh[r, k, g]
                l_bias[r, q] = (b_ih[r, g] + b_hh[r, g]) * sc
    for o in range(n_o):
        for b in range(n_b):
            for g in range(n_g):
                q = b * n_g + g
                for k in range(h):
                    l_out[o, k, q] = w_out[o, k, g]
                l_bout[o, q] = b_out[o, g]


@numba.njit(cache=True, error_model="numpy")
def _reduce_lanes(d_in, d_rec, d_b, d_out, d_bout, sq, n_b,
                  g_ih, g_hh, g_bih, g_bhh, g_out, g_bout, sq_g):  # pragma: no cover - compiled
    """Per-lane gradients -> per-generator gradients (generator last), summed over b in order."""
    h4, n_i, n_g = g_ih.shape
    h = g_hh.shape[1]
    n_o = g_out.shape[0]
    g_ih[:] = 0.0
    g_hh[:] = 0.0
    g_bih[:] = 0.0
    g_out[:] = 0.0
    g_bout[:] = 0.0
    sq_g[:] = 0.0
    for b in range(n_b):
        for r in range(h4):
            for g in range(n_g):
                q = b * n_g + g
                for j in range(n_i):
                    g_ih[r, j, g] += d_in[j, r, q]
                for k in range(h):
                    g_hh[r, k, g] += d_rec[k, r, q]
                g_bih[r, g] += d_b[r, q]
        for o in range(n_o):
            for g in range(n_g):
                q = b * n_g + g
                for k in range(h):
                    g_out[o, k, g] += d_out[o, k, q]
                g_bout[o, g] += d_bout[o, q]
        for g in range(n_g):
            sq_g[g] += sq[b * n_g + g]
    g_bhh[:] = g_bih


@numba.njit(cache=True, error_model="numpy")
def _train_chunk(theta, grad, m, v, best, gen_of, params, gparams, lanes, lane_grads, scratch, sq_g,
                 x0, target, lrs, t0, b1, b2, eps, best_loss, best_step, step0, losses):  # pragma: no cover
    """Run len(lrs) training steps: kernel, best-weights bookkeeping, Adam (as torch.optim.Adam).

    theta/grad/m/v/best are flat float32 buffers of all parameters (generator last, see
    _NumbaTrainer); params/gparams are shaped views of theta/grad; gen_of[i] is the
    generator of flat element i. x0 [S, I, L], target [S, T, O, L] per lane; losses [S, G] out.
    """
    n_t, n_o, n_l = target.shape[1], target.shape[2], target.shape[3]
    n_g = best_loss.shape[0]
    n_b = n_l // n_g
    count = _F(n_b * n_t * n_o)
    scale = _F(2.0) / count
    b1, b2, eps = _F(b1), _F(b2), _F(eps)
    improved = np.zeros(n_g, dtype=np.bool_)
    for s in range(lrs.shape[0]):
        _expand_lanes(params[0], params[1], params[2], params[3], params[4], params[5], n_b,
                      lanes[0], lanes[1], lanes[2], lanes[3], lanes[4], lanes[5])
        _fused_step(lanes[0], lanes[1], lanes[2], lanes[3], lanes[4], lanes[5], x0[s], target[s], scale,
                    lane_grads[0], lane_grads[1], lane_grads[2], lane_grads[3], lane_grads[4], lane_grads[5],
                    scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5], scratch[6],
                    scratch[7], scratch[8])
        _reduce_lanes(lane_grads[0], lane_grads[1], lane_grads[2], lane_grads[3], lane_grads[4], lane_grads[5],
                      n_b, gparams[0], gparams[1], gparams[2], gparams[3], gparams[4], gparams[5], sq_g)
        any_better = False
        for g in range(n_g):
            loss = sq_g[g] / count
            losses[s, g] = loss
            improved[g] = loss < best_loss[g]
            if improved[g]:
                best_loss[g] = loss
                best_step[g] = step0 + s
                any_better = True
        if any_better:
            for i in range(theta.shape[0]):
                if improved[gen_of[i]]:
                    best[i] = theta[i]
        t = t0 + s + 1
        step_size = _F(lrs[s] / (1.0 - float(b1) ** t))
        bc2_sqrt = _F(math.sqrt(1.0 - float(b2) ** t))
        for i in range(theta.shape[0]):
            gi = grad[i]
            m[i] += (_F(1.0) - b1) * (gi - m[i])
            v[i] = v[i] * b2 + (_F(1.0) - b2) * gi * gi
            theta[i] -= step_size * (m[i] / (math.sqrt(v[i]) / bc2_sqrt + eps))


def _generator_last(t: Tensor) -> Tensor:
    """[G, *rest] -> [*rest, G]."""
    return t.permute(*range(1, t.dim()), 0)


class _NumbaTrainer:
    """CPU float32 training state: flat parameter/Adam buffers and the kernel's lane buffers."""

    def __init__(self, bank: GeneratorBank, batch: int, steps: int) -> None:
        g = bank.num_generators
        shapes = [tuple(_generator_last(t).shape) for t in bank.tensors()]
        sizes = [math.prod(sh) for sh in shapes]
        self.shapes, self.total = shapes, sum(sizes)
        e = lambda *shape: np.zeros(shape, np.float32)  # noqa: E731
        self.theta, self.grad, self.m, self.v = (e(self.total) for _ in range(4))
        self.params, self.gparams = self._views(self.theta), self._views(self.grad)
        for view, t in zip(self.params, bank.tensors()):
            view[...] = _generator_last(t.detach().float()).numpy()
        self.best = self.theta.copy()
        self.gen_of = np.concatenate([np.broadcast_to(np.arange(g), sh).ravel() for sh in shapes])
        h4, n_i = bank.w_ih.shape[1:]
        h, o, n_l = bank.hidden_size, bank.output_size, batch * g
        self.lanes = (e(n_i, h4, n_l), e(h, h4, n_l), e(h4, h, n_l), e(h4, n_l), e(o, h, n_l), e(o, n_l))
        self.lane_grads = (e(n_i, h4, n_l), e(h, h4, n_l), e(h4, n_l), e(o, h, n_l), e(o, n_l), e(n_l))
        self.scratch = (e(steps, h4, n_l), e(steps + 1, h, n_l), e(steps, h, n_l), e(steps + 1, h, n_l),
                        e(steps, o, n_l), e(h4, n_l), e(h4, n_l), e(h, n_l), e(h, n_l))
        self.sq_g = e(g)
        self.best_loss = np.full(g, np.inf, np.float32)
        self.best_step = np.zeros(g, np.int64)
        self.t = 0

    def _views(self, flat: np.ndarray) -> tuple[np.ndarray, ...]:
        """Shaped views of a flat buffer, one per parameter (generator last)."""
        offsets = np.cumsum([0] + [math.prod(sh) for sh in self.shapes])
        return tuple(flat[a:b].reshape(sh) for a, b, sh in zip(offsets[:-1], offsets[1:], self.shapes))

    def run(self, x0: Tensor, target: Tensor, lrs: list[float], step0: int, settings: TrainSettings) -> Tensor:
        """Train on a chunk (x0 [S, G, B, I], target [S, G, B, T, O]); returns losses [S, G]."""
        x_l = x0.permute(0, 3, 2, 1).reshape(x0.shape[0], x0.shape[3], -1).float().contiguous().numpy()
        t_l = target.permute(0, 3, 4, 2, 1).reshape(*target.shape[:1], *target.shape[3:], -1)
        t_l = t_l.float().contiguous().numpy()
        losses = np.empty((len(lrs), len(self.best_loss)), np.float32)
        b1, b2 = settings.adam_betas
        _train_chunk(self.theta, self.grad, self.m, self.v, self.best, self.gen_of, self.params, self.gparams,
                     self.lanes, self.lane_grads, self.scratch, self.sq_g, x_l, t_l, np.asarray(lrs, np.float64),
                     self.t, b1, b2, settings.adam_eps, self.best_loss, self.best_step, step0, losses)
        self.t += len(lrs)
        return torch.from_numpy(losses)

    def best_bank(self) -> GeneratorBank:
        """The kept weights as a CPU bank."""
        return self._bank(self.best)

    def final_bank(self) -> GeneratorBank:
        """The weights after the last step as a CPU bank."""
        return self._bank(self.theta)

    def _bank(self, flat: np.ndarray) -> GeneratorBank:
        """A CPU bank from a flat parameter buffer."""
        views = self._views(flat.copy())
        return GeneratorBank(*(torch.from_numpy(v).permute(v.ndim - 1, *range(v.ndim - 1)).contiguous()
                               for v in views))


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
        bc1, bc2_sqrt = 1.0 - b1 ** self.t, math.sqrt(1.0 - b2 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            g = g.to(p.device)
            m.lerp_(g, 1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-lr / bc1)


def _clean_loss(bank: GeneratorBank, prototypes: Tensor) -> Tensor:
    """MSE [G] of every generator on its own noise-free prototypes (one-hot inputs)."""
    g, p, t, o = prototypes.shape
    x0 = torch.eye(p).expand(g, p, p)
    y = gen.generate(bank, x0, t).cpu()
    return (y - prototypes).square().mean((1, 2, 3))


class _TorchTrainer:
    """Training state for the torch engine (any device): Python loop over steps."""

    def __init__(self, bank: GeneratorBank, settings: TrainSettings) -> None:
        self.bank, self.best = bank, bank.clone()
        self.adam = _Adam(bank.tensors(), settings.adam_betas, settings.adam_eps)
        self.step_fn = _TorchStep()
        self.best_loss = torch.full((bank.num_generators,), math.inf)
        self.best_step = torch.zeros(bank.num_generators, dtype=torch.long)

    def run(self, x0: Tensor, target: Tensor, lrs: list[float], step0: int, settings: TrainSettings) -> Tensor:
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


def _trainer(bank: GeneratorBank, settings: TrainSettings, steps: int, backend: str):
    """The numba trainer (float32 on CPU) or the torch one, as asked."""
    if backend not in ("auto", "numba", "torch"):
        raise ValueError("backend must be 'auto', 'numba' or 'torch'")
    cpu32 = bank.device.type == "cpu" and bank.dtype == torch.float32
    if backend == "numba" and not cpu32:
        raise ValueError("the numba backend needs a float32 bank on the CPU")
    if backend == "numba" or (backend == "auto" and cpu32):
        return _NumbaTrainer(bank, settings.prototypes_per_step, steps)
    return _TorchTrainer(bank, settings)


def train_generators(prototypes: Tensor, settings: TrainSettings, seeds: Sequence[int],
                     device: str | torch.device = "cpu", backend: str = "auto",
                     progress: Callable[[int, Tensor], None] | None = None) -> TrainResult:
    """Train G generators, generator g only on prototypes[g] ([G, 4, T, O]); return best weights.

    backend: "auto" (numba kernel for float32 on CPU, else torch), "numba" or "torch".
    progress(steps_done, best_loss) is called after every chunk of steps if given.
    """
    seeds = [int(s) for s in seeds]
    protos = torch.as_tensor(prototypes, dtype=torch.float32).cpu().contiguous()
    if protos.dim() != 4 or protos.shape[0] != len(seeds):
        raise ValueError(f"prototypes must be [G={len(seeds)}, 4, T, O], got {tuple(protos.shape)}")
    if protos.shape[1] != gen.INPUT_SIZE:
        raise ValueError(f"each generator needs exactly {gen.INPUT_SIZE} prototypes")
    start = time.perf_counter()
    g_n, _, t_n, o_n = protos.shape
    bank = gen.init_bank(seeds, settings.hidden_size, o_n, device=device)
    trainer = _trainer(bank, settings, t_n, backend)
    episodes = _Episodes(protos, settings, seeds)
    losses = torch.empty(settings.steps, g_n)
    for step0 in range(0, settings.steps, _CHUNK):
        x0, target = episodes.chunk()
        n = min(_CHUNK, settings.steps - step0)
        lrs = [learning_rate_at(settings, step0 + s) for s in range(n)]
        losses[step0:step0 + n] = trainer.run(x0[:n], target[:n], lrs, step0, settings)
        if progress is not None:
            progress(step0 + n, torch.as_tensor(trainer.best_loss))
    n_log = settings.steps // settings.log_every
    curve = losses[:n_log * settings.log_every].T.reshape(g_n, n_log, settings.log_every).mean(2)
    best = trainer.best_bank()
    return TrainResult(bank=best, loss_curve=curve, best_loss=torch.as_tensor(trainer.best_loss).float(),
                       best_step=torch.as_tensor(trainer.best_step).long(), clean_loss=_clean_loss(best, protos),
                       final_clean_loss=_clean_loss(trainer.final_bank(), protos),
                       settings=settings, seeds=seeds, device=str(torch.device(device)),
                       seconds=time.perf_counter() - start)


def _keep(best: GeneratorBank, bank: GeneratorBank, mask: Tensor) -> None:
    """Copy the generators selected by mask [G] from bank into best."""
    for b_t, p_t in zip(best.tensors(), bank.tensors()):
        m = mask.view(-1, *([1] * (p_t.dim() - 1)))
        torch.where(m, p_t, b_t, out=b_t)
