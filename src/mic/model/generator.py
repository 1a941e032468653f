"""A bank of independent per-class LSTM generators held as stacked parameters.

Each generator is a 1-layer LSTM (hidden size H) with a linear read-out to O outputs. Its
input is a 4-dim prototype selector given only at the first time step and zeros afterwards
(paper 2.1), so from step 1 on the gates depend on the hidden state alone.

This module holds the bank (stacked parameters, per-generator seeded init, extract/insert
of one generator's nn.LSTM-style state dict) and a device-agnostic torch engine: forward and
backward passes written by hand (no autograd) for G generators x B sequences at once, used
for generation, inverse classification (large B) and training off the CPU (CPU training
uses the fused C kernel in mic.native). Layout and tricks, each measured on CPU:
  - buffers are [T, G, R, B]: a time step is one slab, element-wise ops run over long
    contiguous rows of B, matmuls are bmms over generators [R', R] @ [R, B];
  - the bias rides in the matmul as a constant-1 row of the hidden state;
  - the g-gate weights are doubled so one sigmoid serves all gates
    (tanh z = 2 sigmoid(2z) - 1; torch's CPU tanh is ~3x slower than its sigmoid) and the cell
    is kept as 2c so tanh(c) is a sigmoid too;
  - per-step views are built once per workspace (slicing costs as much as small ops);
  - the read-out runs inside the time loop (one small bmm per step beats a bmm batched over
    steps x generators, which takes torch's slow per-matrix path).
Generator blocks are padded apart in every buffer so element-wise kernels never merge two
generators into one flat loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from mic.method import PROTOTYPES_PER_CLASS

INPUT_SIZE = PROTOTYPES_PER_CLASS  # one-hot over the class's prototypes
# Parameter names follow torch.nn.LSTM / nn.Linear, so one generator's state dict loads into
# `torch.nn.LSTM(4, H)` ("lstm.*") and `torch.nn.Linear(H, O)` ("readout.*").
PARAM_NAMES = (
    "lstm.weight_ih_l0",
    "lstm.weight_hh_l0",
    "lstm.bias_ih_l0",
    "lstm.bias_hh_l0",
    "readout.weight",
    "readout.bias",
)
_PAD = 16  # floats between generator blocks: breaks coalescing of the generator dimension


@dataclass
class GeneratorBank:
    """G generators' parameters, stacked on a leading generator dimension."""

    w_ih: Tensor  # [G, 4H, I]   gate rows in nn.LSTM order i, f, g, o
    w_hh: Tensor  # [G, 4H, H]
    b_ih: Tensor  # [G, 4H]
    b_hh: Tensor  # [G, 4H]
    w_out: Tensor  # [G, O, H]
    b_out: Tensor  # [G, O]

    # Sizes and placement, read off the stacked parameters.
    num_generators = property(lambda self: self.w_ih.shape[0], doc="Number of generators G.")
    hidden_size = property(lambda self: self.w_hh.shape[2], doc="LSTM hidden size H.")
    input_size = property(lambda self: self.w_ih.shape[2], doc="Selector size I (4).")
    output_size = property(lambda self: self.w_out.shape[1], doc="Read-out size O.")
    device = property(lambda self: self.w_ih.device, doc="Device of the parameters.")
    dtype = property(lambda self: self.w_ih.dtype, doc="Floating dtype of the parameters.")

    def tensors(self) -> list[Tensor]:
        """Parameters in PARAM_NAMES order."""
        return [self.w_ih, self.w_hh, self.b_ih, self.b_hh, self.w_out, self.b_out]

    def clone(self) -> GeneratorBank:
        """Deep copy."""
        return GeneratorBank(*(t.detach().clone() for t in self.tensors()))

    def to(self, device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> GeneratorBank:
        """Copy to another device and/or dtype."""
        return GeneratorBank(*(t.detach().to(device=device, dtype=dtype) for t in self.tensors()))

    def select(self, indices: Sequence[int]) -> GeneratorBank:
        """A new bank holding the given generators, in the given order."""
        idx = torch.as_tensor(list(indices), dtype=torch.long, device=self.device)
        return GeneratorBank(*(t.index_select(0, idx).clone() for t in self.tensors()))


def param_shapes(hidden_size: int, output_size: int, input_size: int = INPUT_SIZE) -> dict[str, tuple[int, ...]]:
    """Shapes of one generator's parameters, keyed by PARAM_NAMES."""
    h4 = 4 * hidden_size
    shapes = [(h4, input_size), (h4, hidden_size), (h4,), (h4,), (output_size, hidden_size), (output_size,)]
    return dict(zip(PARAM_NAMES, shapes))


def init_state(seed: int, hidden_size: int, output_size: int, input_size: int = INPUT_SIZE) -> dict[str, Tensor]:
    """One generator's float32 CPU parameters, PyTorch's default init drawn from its own seed.

    nn.LSTM draws every tensor from U(-1/sqrt(H), 1/sqrt(H)) in PARAM_NAMES order, and
    nn.Linear(H, O)'s default (kaiming_uniform with a=sqrt(5), fan_in H) is the same uniform;
    drawing them in that order from torch.Generator(seed) reproduces
    `torch.manual_seed(seed); nn.LSTM(4, H); nn.Linear(H, O)` exactly.
    """
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    bound = 1.0 / math.sqrt(hidden_size)
    return {
        name: torch.empty(shape).uniform_(-bound, bound, generator=gen)
        for name, shape in param_shapes(hidden_size, output_size, input_size).items()
    }


def init_bank(
    seeds: Sequence[int],
    hidden_size: int,
    output_size: int,
    input_size: int = INPUT_SIZE,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> GeneratorBank:
    """A bank of len(seeds) freshly initialised generators, one seed each."""
    states = [init_state(s, hidden_size, output_size, input_size) for s in seeds]
    return stack_states(states, device=device, dtype=dtype)


def extract_state(bank: GeneratorBank, index: int) -> dict[str, Tensor]:
    """One generator's parameters as an nn.LSTM/nn.Linear-style state dict (CPU copies)."""
    return {name: t[index].detach().to("cpu", copy=True) for name, t in zip(PARAM_NAMES, bank.tensors())}


def stack_states(
    states: Sequence[dict[str, Tensor]],
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> GeneratorBank:
    """Build a bank from per-generator state dicts (e.g. several loaded checkpoints)."""
    if not states:
        raise ValueError("stack_states needs at least one state dict")
    tensors = [torch.stack([s[name] for s in states]).to(device=device, dtype=dtype) for name in PARAM_NAMES]
    return GeneratorBank(*tensors)


def _slab(steps: int, num_gen: int, rows: int, batch: int, device: torch.device | str, dtype: torch.dtype) -> Tensor:
    """Zeroed [T, G, R, B] buffer; generator blocks are _PAD floats apart so never coalesced."""
    n = rows * batch
    flat = torch.zeros(steps, num_gen, n + _PAD, device=device, dtype=dtype)
    return flat[:, :, :n].view(steps, num_gen, rows, batch)


class Workspace:
    """Preallocated buffers for running G generators on B sequences of T steps.

    Layout [T, G, R, B]: feature rows R, batch innermost, so every op works on long
    contiguous rows of B and every matmul is [R', R] @ [R, B] per generator. Contents:
      hx     [h_{t-1}; 1] at slot t (slot 0 holds h_{-1} = 0), so the bias rides in the matmul
      act    gate sigmoids [i; f; 2g; o], with 2g = 2 tanh(z_g) = 4 sigmoid(2 z_g) - 2
      cell   2 c_t at slot t + 1 (slot 0 is c_{-1} = 0); the factor 2 lets tanh(c) be a sigmoid
      tcell  tanh(c_t)
      dz     d loss / d gate pre-activations (all steps if keep_dz, else a 2-slot ring)
      y      outputs [T, G, O, B] (the read-out runs inside the loop: one bmm per step is far
             cheaper than a bmm batched over steps x generators)
    """

    def __init__(
        self,
        num_gen: int,
        batch: int,
        steps: int,
        hidden: int,
        out: int,
        device: torch.device | str,
        dtype: torch.dtype,
        keep_dz: bool = False,
    ) -> None:
        g, b, t, h = num_gen, batch, steps, hidden
        kw = dict(device=device, dtype=dtype)
        self.shape = (g, b, t, h, out)
        self.device, self.dtype, self.keep_dz = torch.device(device), dtype, keep_dz
        self.hx = _slab(t + 1, g, h + 1, b, **kw)
        self.hx[:, :, h] = 1.0
        self.act = _slab(t, g, 4 * h, b, **kw)
        self.cell = _slab(t + 1, g, h, b, **kw)
        self.tcell = _slab(t, g, h, b, **kw)
        self.dz = _slab(t if keep_dz else 2, g, 4 * h, b, **kw)
        self.y = torch.empty(t, g, out, b, **kw)
        self.zbuf = torch.empty(g, 4 * h, b, **kw)
        self.dh = torch.empty(g, h, b, **kw)
        self.p = torch.empty(g, h, b, **kw)
        self.dcell = torch.empty(g, h, b, **kw)
        self.carry = torch.empty(g, h, b, **kw)
        self.const = {v: torch.tensor(v, **kw) for v in (-2.0, -1.0, 0.5, 2.0)}
        self._build_views()

    def _build_views(self) -> None:
        """Per-time-step views, built once: slicing in the hot loop costs as much as small math."""
        g, b, steps, h, _ = self.shape
        act, cell, hx, dz = self.act, self.cell, self.hx, self.dz
        self.fwd_views = [
            (
                hx[t],
                act[t],
                act[t, :, :h],
                act[t, :, h : 2 * h],
                act[t, :, 2 * h : 3 * h],
                act[t, :, 3 * h :],
                cell[t],
                cell[t + 1],
                self.tcell[t],
                hx[t + 1, :, :h],
                hx[t + 1],
                self.y[t],
            )
            for t in range(steps)
        ]
        ring = self.dz.shape[0]
        self.bwd_views = [
            (
                dz[(t + 1) % ring] if t + 1 < steps else None,
                act[t, :, :h],
                act[t, :, h : 2 * h],
                act[t, :, : 2 * h],
                act[t, :, 2 * h : 3 * h],
                act[t, :, 3 * h :],
                cell[t],
                self.tcell[t],
                dz[t % ring, :, :h],
                dz[t % ring, :, h : 2 * h],
                dz[t % ring, :, : 2 * h].view(g, 2, h, b),
                dz[t % ring, :, 2 * h : 3 * h],
                dz[t % ring, :, 3 * h :],
            )
            for t in range(steps)
        ]
        self.dcell2 = self.dcell.unsqueeze(1)

    def matches(self, *problem: object, keep_dz: bool = False) -> bool:
        """Whether this workspace can be reused for a problem given as __init__'s arguments."""
        num_gen, batch, steps, hidden, out, device, dtype = problem
        return (
            self.shape == (num_gen, batch, steps, hidden, out)
            and self.device == torch.device(device)
            and self.dtype == dtype
            and (self.keep_dz or not keep_dz)
        )

    def hidden(self) -> Tensor:
        """[h_t; 1] for t = 0 .. T-1 as a [T, G, H+1, B] view (valid after forward)."""
        return self.hx[1:]

    def input_gate_grads(self) -> Tensor:
        """d loss / d z_0 [G, 4H, B] (valid after backward)."""
        return self.dz[0]


def get_workspace(
    ws: Workspace | None, bank: GeneratorBank, batch: int, steps: int, keep_dz: bool = False
) -> Workspace:
    """Reuse `ws` if it fits, else allocate a new workspace."""
    args = (bank.num_generators, batch, steps, bank.hidden_size, bank.output_size, bank.device, bank.dtype)
    if ws is not None and ws.matches(*args, keep_dz=keep_dz):
        return ws
    return Workspace(*args, keep_dz=keep_dz)


def _forward_weights(bank: GeneratorBank) -> tuple[Tensor, Tensor]:
    """Left matmul operands [G, 4H, I+1] and [G, 4H, H+1] with the bias as last column.

    The g-gate rows are doubled: tanh(z) = 2 sigmoid(2z) - 1 lets one sigmoid call serve all
    four gates (torch's CPU tanh is several times slower than its sigmoid).
    """
    h = bank.hidden_size
    scale = torch.ones(4 * h, 1, device=bank.device, dtype=bank.dtype)
    scale[2 * h : 3 * h] = 2.0
    bias = (bank.b_ih + bank.b_hh).unsqueeze(2)
    w_in = torch.cat([bank.w_ih, bias], 2) * scale
    w_rec = torch.cat([bank.w_hh, bias], 2) * scale
    return w_in, w_rec


def forward(bank: GeneratorBank, x0: Tensor, ws: Workspace) -> Tensor:
    """Run the LSTMs from selectors x0 [G, I, B]; fills ws; returns outputs [T, G, O, B]."""
    g, b, steps, h, o_size = ws.shape
    w_in, w_rec = _forward_weights(bank)
    w_out = torch.cat([bank.w_out, bank.b_out.unsqueeze(2)], 2)  # [G, O, H+1]
    minus2, minus1 = ws.const[-2.0], ws.const[-1.0]
    zbuf = ws.zbuf
    bmm, sigmoid, mul, add = torch.bmm, torch.sigmoid, torch.mul, torch.add
    # t = 0 is the only step with an input; h_{-1} = c_{-1} = 0
    torch.bmm(w_in, torch.cat([x0, torch.ones_like(x0[:, :1])], 1), out=zbuf)
    for t, (hx_prev, gates, i, f, g2, o, c_prev, c, tc, h_out, hx_next, y_t) in enumerate(ws.fwd_views):
        if t > 0:
            bmm(w_rec, hx_prev, out=zbuf)
        sigmoid(zbuf, out=gates)
        add(minus2, g2, alpha=4.0, out=g2)  # 2 tanh(z_g)
        if t > 0:
            mul(f, c_prev, out=c)
            c.addcmul_(i, g2)  # 2c_t = f 2c_{t-1} + i 2g
        else:
            mul(i, g2, out=c)
        sigmoid(c, out=tc)
        add(minus1, tc, alpha=2.0, out=tc)  # tanh(c) = 2 sigmoid(2c) - 1
        mul(o, tc, out=h_out)
        bmm(w_out, hx_next, out=y_t)
    return ws.y


def backward(bank: GeneratorBank, ws: Workspace, d_out: Tensor) -> None:
    """Backpropagate d loss / d outputs [T, G, O, B] through time (after forward on ws)."""
    g, b, steps, h, o_size = ws.shape
    w_out_t = bank.w_out.transpose(1, 2).contiguous()  # [G, H, O]
    w_hh_t = bank.w_hh.transpose(1, 2).contiguous()  # [G, H, 4H]
    half, two = ws.const[0.5], ws.const[2.0]
    dh, p, dcell, dcell2, carry = ws.dh, ws.p, ws.dcell, ws.dcell2, ws.carry
    mul, addcmul, bmm = torch.mul, torch.addcmul, torch.bmm
    # Work with d loss / d(2c): then no step needs a separate factor 1/2 (see forward).
    for t in range(steps - 1, -1, -1):
        (dz_next, i, f, i_f, g2, o, c_prev, tc, dz_i, dz_f, dz_if, dz_g, dz_o) = ws.bwd_views[t]
        bmm(w_out_t, d_out[t], out=dh)  # read-out part of d loss / d h_t
        if dz_next is not None:
            dh.baddbmm_(w_hh_t, dz_next)  # + W_hh^T dz_{t+1} (in place on a contiguous buffer: MKL path)
        addcmul(half, tc, tc, value=-0.5, out=p).mul_(o)  # d(2c) / dh = o (1 - tanh^2) / 2
        if dz_next is not None:
            addcmul(carry, dh, p, out=dcell)
        else:
            mul(dh, p, out=dcell)
        addcmul(o, o, o, value=-1.0, out=dz_o).mul_(tc).mul_(dh)  # o (1 - o) tanh(c) dh
        addcmul(i_f, i_f, i_f, value=-1.0, out=dz_if.view(g, 2 * h, b))  # i (1 - i), f (1 - f)
        dz_i.mul_(g2)
        dz_f.mul_(c_prev)
        dz_if.mul_(dcell2)
        addcmul(two, g2, g2, value=-0.5, out=dz_g).mul_(i).mul_(dcell)  # 2 i (1 - g^2) d(2c)
        if t > 0:
            mul(dcell, f, out=carry)


def input_grad(bank: GeneratorBank, ws: Workspace) -> Tensor:
    """d loss / d x0 [G, I, B] after backward()."""
    return torch.bmm(bank.w_ih.transpose(1, 2), ws.input_gate_grads())


def weight_grads(bank: GeneratorBank, ws: Workspace, x0: Tensor, d_out: Tensor) -> list[Tensor]:
    """Parameter gradients (PARAM_NAMES order) after backward() on a keep_dz workspace."""
    if not ws.keep_dz:
        raise ValueError("weight_grads needs a workspace built with keep_dz=True")
    h = ws.shape[3]
    dz = ws.dz
    d_rec = torch.einsum("tgrb,tgkb->grk", dz[1:], ws.hx[1:-1])  # [G, 4H, H+1]: [h_{t-1}; 1] for t >= 1
    d_b = d_rec[:, :, h] + dz[0].sum(2)  # t = 0 adds to the bias only (h_{-1} = 0)
    d_w_ih = torch.bmm(dz[0], x0.transpose(1, 2))
    d_ro = torch.einsum("tgob,tgkb->gok", d_out, ws.hidden())  # [G, O, H+1]
    return [
        d_w_ih,
        d_rec[:, :, :h].contiguous(),
        d_b,
        d_b.clone(),
        d_ro[:, :, :h].contiguous(),
        d_ro[:, :, h].contiguous(),
    ]


def to_layout(seqs: Tensor) -> Tensor:
    """[..., B, T, O] sequences -> contiguous [T, ..., O, B] (the kernel's layout)."""
    nd = seqs.dim()
    return seqs.permute(nd - 2, *range(nd - 3), nd - 1, nd - 3).contiguous()


def from_layout(out: Tensor) -> Tensor:
    """[T, G, O, B] kernel outputs -> [G, B, T, O] view."""
    return out.permute(1, 3, 0, 2)


@torch.no_grad()
def generate(bank: GeneratorBank, inputs: Tensor, steps: int, ws: Workspace | None = None) -> Tensor:
    """Generate sequences [G, B, T, O] from selector inputs [G, B, I] (input only at t = 0)."""
    if inputs.dim() != 3 or inputs.shape[0] != bank.num_generators or inputs.shape[2] != bank.input_size:
        raise ValueError(f"inputs must be [G={bank.num_generators}, B, {bank.input_size}], got {tuple(inputs.shape)}")
    x0 = inputs.to(device=bank.device, dtype=bank.dtype).transpose(1, 2).contiguous()
    ws = get_workspace(ws, bank, x0.shape[2], steps)
    return from_layout(forward(bank, x0, ws)).contiguous()
