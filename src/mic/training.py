"""Training a bank of per-class generators at once (paper 2.1, 3.2, 3.5.2).

Every generator sees only its own four prototypes. One training step presents
`prototypes_per_step` of them (default 1, the paper's one random prototype per episode, so
40000 presentations = 40000 Adam steps; 4 presents all four, 10000 steps), computes the MSE between the
generated and the (output-noised) prototype sequences, and takes an Adam step. Each
generator keeps the weights with the lowest training loss seen (the loss of a step is that of
the weights before its update).

CPU training runs a fused C kernel (mic/native/train_step.c): forward, loss and backward of
all generators and sequences of a step in one call, every (sequence, generator) pair a SIMD
lane. A per-op framework costs several microseconds per op and T=205 steps need ~11 ops each,
which made every torch formulation tried (autograd, hand-written bmm engines in several
layouts) several times slower on CPU; a numba kernel was 3x slower than the C one, because its
loops over 8-20 lanes stayed scalar or paid loop overhead at every step. Other devices, and a
CPU without a C compiler, use the torch engine in `mic.generator` (same maths, device-agnostic);
the two are checked against each other and against torch.nn.LSTM autograd in the tests.

Randomness is per generator (init from its seed, noise and prototype choice from a stream
derived from it, drawn in fixed-size chunks), so with the CPU kernel a generator's training
is bit-identical whichever other generators share the bank (the torch engine's batched
matmuls may round differently for different bank sizes).
"""

from __future__ import annotations

import ctypes
import functools
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numba
import numpy as np
import torch
from torch import Tensor

from mic import generator as gen
from mic import native
from mic.generator import GeneratorBank

_CHUNK = 64  # steps drawn (noise) and run (CPU kernel) at once; fixed, so streams are bank-independent
_SCHEDULES = ("constant", "cosine")
_F = np.float32


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


# --------------------------------------------------------------------------- CPU kernel
#
# Lanes: every (sequence b, generator g) pair is a lane, lane = b*G + g. The C kernel
# (mic/native/train_step.c) runs them 8 to a SIMD vector, so lanes are grouped in blocks of 8
# that sit innermost in every lane array ([blocks, ..., 8]); padding lanes have zero weights,
# inputs and targets and are never read back. numba glues it together: per-generator weights
# to lanes, lane gradients back to generators, best-weights bookkeeping and Adam.

_LANES = 8


@functools.cache
def _kernel() -> tuple[Callable, Callable]:
    """(train step, scratch size) of the compiled kernel; raises native.NativeUnavailable."""
    lib = native.load("train_step")
    step, size = lib.mic_train_step, lib.mic_train_scratch_floats
    step.argtypes = [ctypes.c_int] * 5 + [ctypes.c_float] + [ctypes.c_void_p] * 15
    step.restype = None
    size.argtypes = [ctypes.c_int] * 4
    size.restype = ctypes.c_long
    return step, size


@numba.njit(cache=True, error_model="numpy")
def _expand_lanes(w_ih, w_hh, b_ih, b_hh, w_out, b_out, n_b,
                  l_in, l_rec, l_hh_t, l_bias, l_out, l_bout):  # pragma: no cover - compiled
    """Per-generator parameters (generator last) -> the kernel's lane weights ([block, ..., 8]).

    g-gate rows of l_in, l_rec and l_bias are doubled (tanh z = 2 sigmoid(2z) - 1); l_rec and
    l_hh_t are w_hh transposed, l_hh_t plain.
    """
    h4, n_i, n_g = w_ih.shape
    h = w_hh.shape[1]
    n_o = w_out.shape[0]
    for b in range(n_b):
        for g in range(n_g):
            blk, s = divmod(b * n_g + g, 8)
            for r in range(h4):
                sc = _F(2.0) if 2 * h <= r < 3 * h else _F(1.0)
                for j in range(n_i):
                    l_in[blk, j, r, s] = w_ih[r, j, g] * sc
                for k in range(h):
                    l_rec[blk, k, r, s] = w_hh[r, k, g] * sc
                    l_hh_t[blk, k, r, s] = w_hh[r, k, g]
                l_bias[blk, r, s] = (b_ih[r, g] + b_hh[r, g]) * sc
            for o in range(n_o):
                for k in range(h):
                    l_out[blk, o, k, s] = w_out[o, k, g]
                l_bout[blk, o, s] = b_out[o, g]


@numba.njit(cache=True, error_model="numpy")
def _reduce_lanes(d_in, d_rec, d_b, d_out, d_bout, sq, n_b,
                  g_ih, g_hh, g_bih, g_bhh, g_out, g_bout, sq_g):  # pragma: no cover - compiled
    """Lane gradients -> per-generator gradients (generator last), summed over b in order."""
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
        for g in range(n_g):
            blk, s = divmod(b * n_g + g, 8)
            for r in range(h4):
                for j in range(n_i):
                    g_ih[r, j, g] += d_in[blk, j, r, s]
                for k in range(h):
                    g_hh[r, k, g] += d_rec[blk, k, r, s]
                g_bih[r, g] += d_b[blk, r, s]
            for o in range(n_o):
                for k in range(h):
                    g_out[o, k, g] += d_out[blk, o, k, s]
                g_bout[o, g] += d_bout[blk, o, s]
            sq_g[g] += sq[blk, s]
    g_bhh[:] = g_bih


@numba.njit(cache=True, error_model="numpy")
def _finish_step(theta, grad, m, v, best, gen_of, params, gparams, lanes, lane_grads, sq_g, n_b, count,
                 lr, t, b1, b2, eps, best_loss, best_step, step, losses):  # pragma: no cover - compiled
    """After the kernel ran step `step`: per-generator gradients and loss (losses [G] out), keep
    improved weights, one Adam step (as torch.optim.Adam, t = steps so far), new lane weights.

    theta/grad/m/v/best are flat float32 buffers of all parameters (generator last, see
    _NativeTrainer); params/gparams are shaped views of theta/grad; gen_of[i] is the generator
    of flat element i.
    """
    n_g = best_loss.shape[0]
    _reduce_lanes(lane_grads[0], lane_grads[1], lane_grads[2], lane_grads[3], lane_grads[4], lane_grads[5],
                  n_b, gparams[0], gparams[1], gparams[2], gparams[3], gparams[4], gparams[5], sq_g)
    any_better = False
    improved = np.zeros(n_g, dtype=np.bool_)
    for g in range(n_g):
        loss = sq_g[g] / count
        losses[g] = loss
        improved[g] = loss < best_loss[g]
        if improved[g]:
            best_loss[g] = loss
            best_step[g] = step
            any_better = True
    if any_better:
        for i in range(theta.shape[0]):
            if improved[gen_of[i]]:
                best[i] = theta[i]
    b1, b2, eps = _F(b1), _F(b2), _F(eps)
    step_size = _F(lr / (1.0 - float(b1) ** t))
    bc2_sqrt = _F(math.sqrt(1.0 - float(b2) ** t))
    for i in range(theta.shape[0]):
        gi = grad[i]
        m[i] += (_F(1.0) - b1) * (gi - m[i])
        v[i] = v[i] * b2 + (_F(1.0) - b2) * gi * gi
        theta[i] -= step_size * (m[i] / (math.sqrt(v[i]) / bc2_sqrt + eps))
    _expand_lanes(params[0], params[1], params[2], params[3], params[4], params[5], n_b,
                  lanes[0], lanes[1], lanes[2], lanes[3], lanes[4], lanes[5])


def _generator_last(t: Tensor) -> Tensor:
    """[G, *rest] -> [*rest, G]."""
    return t.permute(*range(1, t.dim()), 0)


def _to_blocks(a: Tensor, n_blocks: int) -> np.ndarray:
    """[S, *rest, L] -> float32 [S, blocks, *rest, 8], lanes zero-padded to blocks * 8."""
    a = torch.nn.functional.pad(a.float(), (0, n_blocks * _LANES - a.shape[-1]))
    a = a.reshape(*a.shape[:-1], n_blocks, _LANES)
    return a.movedim(-2, 1).contiguous().numpy()


class _NativeTrainer:
    """CPU float32 training state: flat parameter/Adam buffers and the C kernel's lane buffers."""

    def __init__(self, bank: GeneratorBank, batch: int, steps: int) -> None:
        self.kernel, scratch_floats = _kernel()
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
        h, o = bank.hidden_size, bank.output_size
        nb = -(-batch * g // _LANES)
        self.batch, self.dims = batch, (nb, steps, h, o, n_i)
        self.lanes = (e(nb, n_i, h4, 8), e(nb, h, h4, 8), e(nb, h, h4, 8), e(nb, h4, 8), e(nb, o, h, 8), e(nb, o, 8))
        self.lane_grads = (e(nb, n_i, h4, 8), e(nb, h, h4, 8), e(nb, h4, 8), e(nb, o, h, 8), e(nb, o, 8), e(nb, 8))
        self.scratch = e(scratch_floats(nb, steps, h, o))
        self.pointers = [a.ctypes.data for a in self.lanes], [a.ctypes.data for a in self.lane_grads]
        self.sq_g = e(g)
        self.best_loss = np.full(g, np.inf, np.float32)
        self.best_step = np.zeros(g, np.int64)
        self.t = 0
        _expand_lanes(*self.params, batch, *self.lanes)

    def _views(self, flat: np.ndarray) -> tuple[np.ndarray, ...]:
        """Shaped views of a flat buffer, one per parameter (generator last)."""
        offsets = np.cumsum([0] + [math.prod(sh) for sh in self.shapes])
        return tuple(flat[a:b].reshape(sh) for a, b, sh in zip(offsets[:-1], offsets[1:], self.shapes))

    def run(self, x0: Tensor, target: Tensor, lrs: list[float], step0: int, settings: TrainSettings) -> Tensor:
        """Train on a chunk (x0 [S, G, B, I], target [S, G, B, T, O]); returns losses [S, G]."""
        nb, n_t, h, n_o, n_i = self.dims
        x_l = _to_blocks(x0.permute(0, 3, 2, 1).reshape(x0.shape[0], x0.shape[3], -1), nb)  # [S, nb, I, 8]
        t_l = _to_blocks(target.permute(0, 3, 4, 2, 1).reshape(*target.shape[:1], *target.shape[3:], -1), nb)
        count = _F(self.batch * n_t * n_o)
        scale = 2.0 / float(count)
        lanes, grads = self.pointers
        losses = np.empty((len(lrs), len(self.best_loss)), np.float32)
        b1, b2 = settings.adam_betas
        for s, lr in enumerate(lrs):
            self.kernel(nb, n_t, h, n_o, n_i, scale, *lanes, x_l[s].ctypes.data, t_l[s].ctypes.data, *grads,
                        self.scratch.ctypes.data)
            self.t += 1
            _finish_step(self.theta, self.grad, self.m, self.v, self.best, self.gen_of, self.params, self.gparams,
                         self.lanes, self.lane_grads, self.sq_g, self.batch, count, lr, self.t, b1, b2, settings.adam_eps,
                         self.best_loss, self.best_step, step0 + s, losses[s])
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
    """The native trainer (float32 on CPU) or the torch one, as asked.

    "auto" falls back to the torch engine, with a warning, where the C kernel cannot be built.
    """
    if backend not in ("auto", "native", "torch"):
        raise ValueError("backend must be 'auto', 'native' or 'torch'")
    cpu32 = bank.device.type == "cpu" and bank.dtype == torch.float32
    if backend == "native" and not cpu32:
        raise ValueError("the native backend needs a float32 bank on the CPU")
    if backend == "native" or (backend == "auto" and cpu32):
        try:
            return _NativeTrainer(bank, settings.prototypes_per_step, steps)
        except native.NativeUnavailable as err:
            if backend == "native":
                raise
            warnings.warn(f"training on the (slower) torch engine: {err}", RuntimeWarning, stacklevel=3)
    return _TorchTrainer(bank, settings)


def train_generators(prototypes: Tensor, settings: TrainSettings, seeds: Sequence[int],
                     device: str | torch.device = "cpu", backend: str = "auto",
                     progress: Callable[[int, Tensor], None] | None = None) -> TrainResult:
    """Train G generators, generator g only on prototypes[g] ([G, 4, T, O]); return best weights.

    backend: "auto" (C kernel for float32 on CPU, else torch), "native" or "torch".
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
