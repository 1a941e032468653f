"""Training a bank of per-class generators at once (paper 2.1, 3.2, 3.5.2).

Every generator sees only its own four prototypes. One training step presents
`prototypes_per_step` of them (default 1, the paper's one random prototype per episode, so
40000 presentations = 40000 Adam steps; 4 presents all four, 10000 steps), computes the MSE between the
generated and the (output-noised) prototype sequences, and takes an Adam step. Each
generator keeps the weights with the lowest training loss seen (the loss of a step is that of
the weights before its update).

CPU training runs a C kernel (mic/native/train_step.c): forward, loss, backward, best-weights
bookkeeping and Adam of all generators, for a chunk of steps per call, every (sequence,
generator) pair a SIMD lane. A per-op framework costs several microseconds per op and T=205 steps need ~11 ops each,
which made every torch formulation tried (autograd, hand-written bmm engines in several
layouts) several times slower on CPU; a numba kernel was 3x slower than the C one, because its
loops over 8-20 lanes stayed scalar or paid loop overhead at every step. Other devices, and a
CPU without a C compiler, use the torch engine in `mic.model.generator` (same maths, device-agnostic);
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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import Tensor

from mic import native
from mic.model import backend as backends
from mic.model import generator as gen
from mic.model.generator import GeneratorBank
from mic.model.torch_trainer import TorchTrainer

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


@dataclass(frozen=True)
class _Draw:
    """A chunk of steps as drawn: which prototypes each step presents, its inputs and its output noise."""

    choice: Tensor  # [C, G, k] int64
    x0: Tensor  # [C, G, k, 4] one-hot inputs, noised and clipped
    noise: Tensor | None  # [G, C, k, T, O] the output noise times its sigma; None without


class _Episodes:
    """Per-generator streams of prototype choices and noise, drawn in fixed chunks of steps."""

    def __init__(self, prototypes: Tensor, settings: TrainSettings, seeds: Sequence[int]) -> None:
        self.protos = prototypes  # [G, 4, T, O] on CPU, contiguous
        self.settings = settings
        self.gens = [torch.Generator().manual_seed(_noise_seed(s)) for s in seeds]
        self.eye = torch.eye(prototypes.shape[1])

    def draw(self) -> _Draw:
        """The next _CHUNK steps.

        Each generator draws its own chunk from its own stream (choices, then input noise,
        then output noise), so the numbers do not depend on the other generators.
        """
        s, k, c = self.settings, self.settings.prototypes_per_step, _CHUNK
        g_n, p_n, t_n, o_n = self.protos.shape
        sel, n_in = [], []
        noise = torch.empty(g_n, c, k, t_n, o_n) if s.noise_out > 0 else None
        for g, gen_rng in enumerate(self.gens):
            if k < p_n:
                sel.append(torch.rand(c, p_n, generator=gen_rng).argsort(1)[:, :k])
            if s.noise_in > 0:
                n_in.append(torch.randn(c, k, p_n, generator=gen_rng))
            if noise is not None:
                torch.randn(c, k, t_n, o_n, generator=gen_rng, out=noise[g])
        sel = torch.stack(sel, 1) if sel else torch.arange(k).expand(c, g_n, k).contiguous()  # [C, G, k]
        x0 = self.eye[sel]
        if n_in:
            x0 = (x0 + s.noise_in * torch.stack(n_in, 1)).clamp_(0.0, 1.0)
        return _Draw(sel, x0, noise.mul_(s.noise_out) if noise is not None else None)

    def targets(self, draw: _Draw) -> Tensor:
        """[C, G, k, T, O] the prototypes a draw presents, plus its output noise."""
        rows = torch.arange(self.protos.shape[0])[None, :, None].expand_as(draw.choice)
        target = self.protos[rows, draw.choice]
        return target if draw.noise is None else target + draw.noise.movedim(0, 1)

    def chunk(self) -> tuple[Tensor, Tensor]:
        """The next _CHUNK steps as tensors: inputs x0 [C, G, k, 4] and targets [C, G, k, T, O]."""
        draw = self.draw()
        return draw.x0, self.targets(draw)


# --------------------------------------------------------------------------- CPU kernel
#
# The C kernel (mic/native/train_step.c) runs L lanes per SIMD vector, L as the library
# reports it (native.lanes); a lane is a (sequence b, generator g) pair: lane g of lane group b,
# generators padded to whole blocks of L. It keeps the parameters, their gradients, Adam moments
# and best weights in that lane layout (per block of L generators: w_in [I, 4H], w_hh transposed
# [H, 4H], b_ih, b_hh, w_out [O, H], b_out, each x L), and does a whole chunk of steps in one call:
# forward, loss, backward, best weights, Adam.


class _TrainerState(ctypes.Structure):
    """ctypes mirror of mic_trainer in train_step.c, checked against the library's layout on load."""

    _fields_ = [(name, ctypes.c_int) for name in ("n_wblocks", "batch", "n_t", "h", "n_o", "n_i", "n_gen", "adam_t")]
    _fields_ += [(name, ctypes.c_float) for name in ("beta1", "beta2", "eps")]
    _fields_ += [
        (name, ctypes.c_void_p)
        for name in ("theta", "grad", "m", "v", "best", "sq", "scratch", "best_loss", "best_step")
    ]


@functools.cache
def _kernel(variant: str = "native") -> ctypes.CDLL:
    """The compiled training kernel; raises native.NativeUnavailable, or native.LayoutMismatch."""
    lib = native.load("train_step", variant)
    native.check_layout(lib, "mic_trainer", _TrainerState)
    state = ctypes.POINTER(_TrainerState)
    lib.mic_train_steps.argtypes = [state, ctypes.c_int, ctypes.c_long] + [ctypes.c_void_p] * 4
    lib.mic_train_gradients.argtypes = [state] + [ctypes.c_void_p] * 3
    lib.mic_train_scratch_floats.argtypes = [ctypes.c_int] * 4
    lib.mic_train_param_floats.argtypes = [ctypes.c_int] * 4
    lib.mic_pack_targets.argtypes = [ctypes.c_int] * 8 + [ctypes.c_void_p] * 4
    lib.mic_train_scratch_floats.restype = lib.mic_train_param_floats.restype = ctypes.c_long
    lib.mic_train_steps.restype = lib.mic_train_gradients.restype = lib.mic_pack_targets.restype = None
    return lib


def _to_lanes(a: Tensor, n_blocks: int, lanes: int) -> Tensor:
    """[*rest, G] -> [blocks, *rest, lanes], generators zero-padded to whole blocks."""
    a = torch.nn.functional.pad(a.float(), (0, n_blocks * lanes - a.shape[-1]))
    return a.reshape(*a.shape[:-1], n_blocks, lanes).movedim(-2, 0)


def _from_lanes(a: Tensor, n_gen: int) -> Tensor:
    """[blocks, *rest, lanes] -> [G, *rest]."""
    return a.movedim(0, -2).flatten(-2)[..., :n_gen].movedim(-1, 0)


class _NativeTrainer:
    """CPU float32 training state of the C kernel: parameters, Adam moments and best weights in lane layout."""

    def __init__(self, bank: GeneratorBank, settings: TrainSettings, steps: int, variant: str | None = None) -> None:
        self.lib = _kernel(variant or native.variant())
        self.lanes = native.lanes(self.lib)
        batch = settings.prototypes_per_step
        g, h, o, n_i = bank.num_generators, bank.hidden_size, bank.output_size, bank.w_ih.shape[2]
        self.n_gen, self.n_wblocks, self.batch = g, -(-g // self.lanes), batch
        self.dims = (h, o, n_i)
        n = self.lib.mic_train_param_floats(self.n_wblocks, h, o, n_i)
        e = lambda size: np.zeros(size, np.float32)  # noqa: E731
        self.theta, self.grad, self.m, self.v = e(n), e(n), e(n), e(n)
        self.theta[:] = self._to_flat(bank.tensors())
        self.best = self.theta.copy()
        n_blocks = batch * self.n_wblocks
        self.sq = e(n_blocks * self.lanes)
        self.scratch = e(self.lib.mic_train_scratch_floats(n_blocks, steps, h, o))
        self.best_loss = np.full(g, np.inf, np.float32)
        self.best_step = np.zeros(g, np.int64)
        buffers = dict(
            theta=self.theta,
            grad=self.grad,
            m=self.m,
            v=self.v,
            best=self.best,
            sq=self.sq,
            scratch=self.scratch,
            best_loss=self.best_loss,
            best_step=self.best_step,
        )
        self.state = _TrainerState(
            n_wblocks=self.n_wblocks,
            batch=batch,
            n_gen=g,
            **native.sequence_fields(steps, h, o, n_i, settings.adam_betas, settings.adam_eps),
            **{k: a.ctypes.data for k, a in buffers.items()},
        )

    def _to_flat(self, tensors: Sequence[Tensor]) -> np.ndarray:
        """Parameters in PARAM_NAMES order ([G, ...] each) -> the kernel's flat lane layout."""
        w_ih, w_hh, b_ih, b_hh, w_out, b_out = (t.detach().float().cpu() for t in tensors)
        parts = [w_ih.permute(2, 1, 0), w_hh.permute(2, 1, 0), b_ih.T, b_hh.T, w_out.permute(1, 2, 0), b_out.T]
        lanes = [_to_lanes(p, self.n_wblocks, self.lanes) for p in parts]  # [blocks, ..., L] each
        return torch.cat([x.reshape(self.n_wblocks, -1) for x in lanes], 1).reshape(-1).numpy()

    def _from_flat(self, flat: np.ndarray) -> list[Tensor]:
        """Inverse of _to_flat: tensors in PARAM_NAMES order, [G, ...] each."""
        h, o, n_i = self.dims
        shapes = [(n_i, 4 * h), (h, 4 * h), (4 * h,), (4 * h,), (o, h), (o,)]
        blocks = torch.from_numpy(flat.copy()).reshape(self.n_wblocks, -1)
        parts = torch.split(blocks, [math.prod(sh) * self.lanes for sh in shapes], 1)
        w_ih, w_hh, b_ih, b_hh, w_out, b_out = (
            _from_lanes(p.reshape(self.n_wblocks, *sh, self.lanes), self.n_gen) for p, sh in zip(parts, shapes)
        )
        return [w_ih.transpose(1, 2), w_hh.transpose(1, 2), b_ih, b_hh, w_out, b_out]

    def _lane_inputs(self, x0: Tensor, target: Tensor) -> tuple[np.ndarray, np.ndarray]:
        """x0 [S, G, B, I] and target [S, G, B, T, O] -> [S, B * blocks, I, L] and [S, B * blocks, T, O, L]."""
        s_n, b_n = x0.shape[0], self.batch
        t = _to_lanes(target.permute(0, 2, 3, 4, 1), self.n_wblocks, self.lanes)  # [blocks, S, B, T, O, L]
        t = t.permute(1, 2, 0, 3, 4, 5).reshape(s_n, b_n * self.n_wblocks, *t.shape[3:])
        return self._lane_x0(x0), t.contiguous().numpy()

    def _lane_x0(self, x0: Tensor) -> np.ndarray:
        """x0 [S, G, B, I] -> [S, B * blocks, I, L]."""
        x = _to_lanes(x0.permute(0, 2, 3, 1), self.n_wblocks, self.lanes)  # [blocks, S, B, I, L]
        x = x.permute(1, 2, 0, 3, 4).reshape(x0.shape[0], self.batch * self.n_wblocks, *x.shape[3:])
        return x.contiguous().numpy()

    def run_draw(self, protos: Tensor, draw: _Draw, lrs: list[float], step0: int) -> Tensor:
        """Train on the first len(lrs) steps of a draw of prototypes [G, 4, T, O]; returns losses [S, G].

        The kernel library writes the targets straight into the lane layout: one pass instead of torch's
        gather, noise addition, padding and two transpositions.
        """
        n, (_, p_n, t_n, o_n) = len(lrs), protos.shape
        targets = np.empty((n, self.batch * self.n_wblocks, t_n, o_n, self.lanes), np.float32)
        noise = None if draw.noise is None else draw.noise.data_ptr()
        self.lib.mic_pack_targets(
            n, draw.choice.shape[0], self.n_gen, self.n_wblocks, self.batch, p_n, t_n, o_n,
            protos.data_ptr(), draw.choice.data_ptr(), noise, targets.ctypes.data,
        )  # fmt: skip
        return self._steps(self._lane_x0(draw.x0[:n]), targets, lrs, step0)

    def run(self, x0: Tensor, target: Tensor, lrs: list[float], step0: int) -> Tensor:
        """Train on a chunk (x0 [S, G, B, I], target [S, G, B, T, O]); returns losses [S, G]."""
        return self._steps(*self._lane_inputs(x0, target), lrs, step0)

    def _steps(self, x_l: np.ndarray, t_l: np.ndarray, lrs: list[float], step0: int) -> Tensor:
        """Train on inputs and targets in lane layout; returns losses [S, G]."""
        rates = np.asarray(lrs, np.float64)
        losses = np.empty((len(lrs), self.n_gen), np.float32)
        self.lib.mic_train_steps(
            ctypes.byref(self.state),
            len(lrs),
            step0,
            rates.ctypes.data,
            x_l.ctypes.data,
            t_l.ctypes.data,
            losses.ctypes.data,
        )
        return torch.from_numpy(losses)

    def gradients(self, x0: Tensor, target: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Loss [G] and gradients (PARAM_NAMES order, [G, ...]) of the current weights.

        Inputs x0 [G, B, I], targets [G, B, T, O].
        """
        x_l, t_l = self._lane_inputs(x0[None], target[None])
        losses = np.empty(self.n_gen, np.float32)
        self.lib.mic_train_gradients(ctypes.byref(self.state), x_l.ctypes.data, t_l.ctypes.data, losses.ctypes.data)
        return torch.from_numpy(losses), self._from_flat(self.grad)

    def best_bank(self) -> GeneratorBank:
        """The kept weights as a CPU bank."""
        return GeneratorBank(*(t.contiguous() for t in self._from_flat(self.best)))

    def final_bank(self) -> GeneratorBank:
        """The weights after the last step as a CPU bank."""
        return GeneratorBank(*(t.contiguous() for t in self._from_flat(self.theta)))


def _clean_loss(bank: GeneratorBank, prototypes: Tensor) -> Tensor:
    """MSE [G] of every generator on its own noise-free prototypes (one-hot inputs)."""
    g, p, t, o = prototypes.shape
    x0 = torch.eye(p).expand(g, p, p)
    y = gen.generate(bank, x0, t).cpu()
    return (y - prototypes).square().mean((1, 2, 3))


def train_generators(
    prototypes: Tensor,
    settings: TrainSettings,
    seeds: Sequence[int],
    device: str | torch.device = "cpu",
    backend: str = "auto",
    progress: Callable[[int, Tensor], None] | None = None,
) -> TrainResult:
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
    episodes = _Episodes(protos, settings, seeds)
    if backends.use_native(lambda: _kernel(native.variant()), bank.device, bank.dtype, backend, "training"):
        trainer = _NativeTrainer(bank, settings, t_n)
        run = functools.partial(trainer.run_draw, protos)
    else:
        trainer = TorchTrainer(bank, settings.adam_betas, settings.adam_eps)

        def run(draw: _Draw, lrs: list[float], step0: int) -> Tensor:
            return trainer.run(draw.x0[: len(lrs)], episodes.targets(draw)[: len(lrs)], lrs, step0)

    losses = torch.empty(settings.steps, g_n)
    for step0 in range(0, settings.steps, _CHUNK):
        n = min(_CHUNK, settings.steps - step0)
        lrs = [learning_rate_at(settings, step0 + s) for s in range(n)]
        losses[step0 : step0 + n] = run(episodes.draw(), lrs, step0)
        if progress is not None:
            progress(step0 + n, torch.as_tensor(trainer.best_loss))
    n_log = settings.steps // settings.log_every
    curve = losses[: n_log * settings.log_every].T.reshape(g_n, n_log, settings.log_every).mean(2)
    best = trainer.best_bank()
    return TrainResult(
        bank=best,
        loss_curve=curve,
        best_loss=torch.as_tensor(trainer.best_loss).float(),
        best_step=torch.as_tensor(trainer.best_step).long(),
        clean_loss=_clean_loss(best, protos),
        final_clean_loss=_clean_loss(trainer.final_bank(), protos),
        settings=settings,
        seeds=seeds,
        device=str(torch.device(device)),
        seconds=time.perf_counter() - start,
    )
