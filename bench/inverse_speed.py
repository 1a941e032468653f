"""Inverse-classification speed: batched mic.inverse vs a per-sample autograd loop.

Characters (default): 572 targets x 20 modules x 50 iterations, T=205, H=10, O=2 (one test
split of one configuration). --dataset mnist: 10000 targets x 10 modules x 50 iterations,
T=28, H=20, O=28. Weights are freshly initialised generators (timing does not depend on
their values); targets are real character trajectories when the mirror is present (else
random walks) and uniform [0, 1] rows for MNIST.

The per-sample loop (torch.nn.LSTM + autograd, batch 1, the authors' update rule) is timed on
`--loop-pairs` (target, module) pairs and extrapolated linearly to all pairs; the output says
so. Last line: `ratio: <loop seconds / batched seconds>`.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import torch

from mic import native
from mic.model import backend, inverse
from mic.model import generator as gen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import DATA, character_prototypes  # noqa: E402

CONFIGS = {"characters": dict(n=572, g=20, t=205, h=10, o=2), "mnist": dict(n=10000, g=10, t=28, h=20, o=28)}


def targets_for(dataset: str, n: int, t: int, o: int) -> torch.Tensor:
    """[N, T, O] targets for timing."""
    if dataset == "characters" and DATA.exists():
        protos = character_prototypes(DATA, 20).reshape(-1, t, o)  # 80 real sequences
        reps = math.ceil(n / len(protos))
        return protos.repeat(reps, 1, 1)[:n] + 0.05 * torch.randn(n, t, o, generator=torch.Generator().manual_seed(0))
    rng = torch.Generator().manual_seed(0)
    if dataset == "characters":
        return torch.randn(n, t, o, generator=rng).cumsum(1) * 0.1
    return torch.rand(n, t, o, generator=rng)


def loop_pair(lstm: torch.nn.LSTM, lin: torch.nn.Linear, target: torch.Tensor, s: inverse.InverseSettings) -> float:
    """One (target, module) pair, per-sample, as in the authors' code; returns the final loss."""
    x = torch.full((4,), 0.25)
    m, v = torch.zeros(4), torch.zeros(4)
    inputs = torch.zeros(target.shape[0], 1, 4)
    b1, b2 = s.betas
    loss = None
    for k in range(s.iterations + 1):
        x = x.clamp(0, 1)
        x = (x / x.sum()).requires_grad_(True)
        inputs[0, 0] = x
        loss = torch.nn.functional.mse_loss(lin(lstm(inputs)[0])[:, 0], target)
        if k < s.iterations:
            (grad,) = torch.autograd.grad(loss, x)
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad * grad
            x = (x - s.learning_rate * m / (v.sqrt() + s.eps)).detach()
        inputs = inputs.detach()
    return float(loss.detach())


def main() -> None:
    """Time both and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=sorted(CONFIGS), default="characters")
    parser.add_argument("--targets", type=int, default=None, help="override the number of targets")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--loop-pairs", type=int, default=10)
    parser.add_argument("--backend", choices=backend.BACKENDS, default="auto")
    parser.add_argument("--variant", choices=sorted(native.VARIANTS), default=None, help="C kernel build variant")
    args = parser.parse_args()
    if args.variant:
        os.environ["MIC_NATIVE_VARIANT"] = args.variant
    torch.set_num_threads(1)
    cfg = dict(CONFIGS[args.dataset])
    if args.targets:
        cfg["n"] = args.targets
    n, g, t, h, o = (cfg[k] for k in "ngtho")
    bank = gen.init_bank(range(g), h, o)
    targets = targets_for(args.dataset, n, t, o)
    s = inverse.InverseSettings(iterations=args.iterations, chunk_size=args.chunk_size)
    kernel = lambda: inverse._kernel(native.variant())
    use_native = backend.use_native(kernel, bank.device, bank.dtype, args.backend, "inverting")
    build = "torch"
    if use_native:
        build = f"{native.variant()} build, {native.lanes(kernel())} lanes, {native.isa(kernel())}"
    print(
        f"{args.dataset}: {n} targets x {g} modules x {args.iterations} iterations, T={t}, H={h}, O={o}; "
        f"torch threads=1; chunk {inverse._chunk_size(s, g, use_native)} targets; backend {args.backend} ({build})"
    )

    warm_up = inverse.InverseSettings(iterations=1)
    inverse.inverse_classify(bank, targets[:2], warm_up, backend=args.backend)  # compile (or load) the kernel
    start = time.perf_counter()
    result = inverse.inverse_classify(bank, targets, s, backend=args.backend)
    batched = time.perf_counter() - start
    pair_steps = n * g * t * (args.iterations + 1)
    print(
        f"batched: {batched:.2f} s ({batched / pair_steps * 1e9:.0f} ns per target-module-step); "
        f"mean final loss {result.final_losses.mean():.4f}"
    )

    pairs = [(i % n, i % g) for i in range(args.loop_pairs)]
    start = time.perf_counter()
    for ti, gi in pairs:
        state = gen.extract_state(bank, gi)
        lstm, lin = torch.nn.LSTM(4, h), torch.nn.Linear(h, o)
        with torch.no_grad():
            for name, p in zip(
                gen.PARAM_NAMES,
                [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0, lin.weight, lin.bias],
            ):
                p.copy_(state[name])
        loop_pair(lstm, lin, targets[ti], s)
    per_pair = (time.perf_counter() - start) / len(pairs)
    loop_total = per_pair * n * g
    print(
        f"per-sample loop: {per_pair:.3f} s per (target, module) pair, timed on {len(pairs)} pairs and "
        f"extrapolated to {n * g} pairs: {loop_total:.0f} s"
    )
    print(f"ratio: {loop_total / batched:.1f}")


if __name__ == "__main__":
    main()
