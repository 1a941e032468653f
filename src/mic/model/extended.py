"""Inversion beyond the paper: several starts per (target, module) and DTW as the decision metric.

The paper starts every module's input vector at one point (the uniform mix) and takes 50 Adam steps. Here a
module may start from several points: the paper's uniform start, each of the 4 one-hot vertices (a module
whose generator reproduces its prototypes reconstructs prototype k from vertex k), and random points of the
simplex. Every start is inverted exactly as the paper's one (all of them batched as extra targets), and each
module keeps the start whose final loss is lowest, so it is never worse than its best single start. The
decision can then compare each module's reconstruction with the target by MSE (the paper) or by DTW.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from mic.dtw import paired_dtw
from mic.model import generator as gen
from mic.model.generator import GeneratorBank
from mic.model.inverse import InverseSettings, initial_vectors, inverse_classify

START_KINDS = ("uniform", "vertices", "random")
DECISIONS = ("mse", "dtw")


def needs_reconstructions(decisions: Iterable[str]) -> bool:
    """Whether any of these decisions reads the modules' reconstructions (DTW does; MSE reads the losses)."""
    return "dtw" in decisions


@dataclass(frozen=True)
class StartSettings:
    """Where the input vectors start and how the winning module is decided."""

    starts: tuple[str, ...] = ("uniform",)  # any of START_KINDS; ("uniform",) is the paper's procedure
    random_starts: int = 0  # random points of the simplex (Dirichlet(1)) when "random" is in starts
    decision: str = "mse"  # "mse" (the paper) or "dtw" between each module's reconstruction and the target

    def __post_init__(self) -> None:
        unknown = sorted(set(self.starts) - set(START_KINDS))
        if not self.starts or unknown or len(set(self.starts)) < len(self.starts):
            raise ValueError(f"starts must be a non-empty subset of {START_KINDS}, each once, got {self.starts}")
        if ("random" in self.starts) != (self.random_starts > 0):
            raise ValueError("random_starts > 0 goes with 'random' in starts, and only with it")
        if self.decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {self.decision!r}")


def start_vectors(
    num_targets: int, num_modules: int, inverse: InverseSettings, starts: StartSettings, random_seed: int | None = None
) -> Tensor:
    """[S, N, G, 4] start vectors; the uniform set is exactly the paper's (initial_vectors of the same seed).

    random_seed (mic.jobs.random_starts_seed) draws the random simplex points; needed where "random" is a start.
    """
    if "random" in starts.starts and random_seed is None:
        raise ValueError("random starts need a random_seed (mic.jobs.random_starts_seed of the inverse seed)")
    sets = []
    for kind in starts.starts:
        if kind == "uniform":
            sets.append(initial_vectors(num_targets, num_modules, inverse))
        elif kind == "vertices":
            for k in range(gen.INPUT_SIZE):
                sets.append(torch.eye(gen.INPUT_SIZE)[k].expand(num_targets, num_modules, -1).clone())
        else:
            rng = torch.Generator().manual_seed(int(random_seed))
            draws = torch.empty(starts.random_starts, num_targets, num_modules, gen.INPUT_SIZE, dtype=torch.float64)
            draws.exponential_(generator=rng)  # normalised exponentials are Dirichlet(1): uniform on the simplex
            sets.extend((draws / draws.sum(-1, keepdim=True)).float())
    return torch.stack(sets)


@dataclass
class ExtendedResult:
    """Per (target, module): the best start's final loss, mixture and reconstruction; the decision scores."""

    losses: Tensor  # [N, G] final MSE of each module's best start
    mixtures: Tensor  # [N, G, 4] the final mixture of that start
    best_start: Tensor  # [N, G] which start (index into start_vectors' first axis)
    scores: Tensor  # [N, G] what decides: the MSE, or the DTW distance of the reconstruction to the target
    reconstructions: Tensor | None  # [N, G, T, O] of the best starts, where the decision needed them

    def predictions(self) -> Tensor:
        """[N] module (class) index with the lowest score."""
        return self.scores.argmin(1)


def dtw_scores(reconstructions: Tensor, targets: Tensor) -> Tensor:
    """[N, G] DTW distance (tslearn's, unconstrained) between each module's reconstruction and its target."""
    n, g = reconstructions.shape[:2]
    recon = reconstructions.double().reshape(n * g, *reconstructions.shape[2:]).numpy()
    target = targets.double().repeat_interleave(g, dim=0).numpy()
    return torch.from_numpy(paired_dtw(recon, target).reshape(n, g))


@dataclass
class BestStarts:
    """Per (target, module): its best start's final loss, mixture and (where kept) reconstruction."""

    losses: Tensor  # [N, G]
    mixtures: Tensor  # [N, G, 4]
    best_start: Tensor  # [N, G] index into start_vectors' first axis
    reconstructions: Tensor | None  # [N, G, T, O]


def best_starts(
    bank: GeneratorBank,
    targets: Tensor,
    inverse: InverseSettings,
    starts: StartSettings,
    random_seed: int | None = None,
    keep_reconstructions: bool = False,
    backend: str = "auto",
) -> BestStarts:
    """Invert every target from every start; each module keeps its best start (the decision is not used)."""
    targets = torch.as_tensor(targets)
    n, g = targets.shape[0], bank.num_generators
    vectors = start_vectors(n, g, inverse, starts, random_seed)  # [S, N, G, 4]
    s = vectors.shape[0]
    result = inverse_classify(
        bank, targets.repeat(s, 1, 1), inverse, keep=range(s * n) if keep_reconstructions else (), backend=backend,
        start=vectors.reshape(s * n, g, gen.INPUT_SIZE),
    )  # fmt: skip
    final = result.final_losses.reshape(s, n, g)
    best = final.argmin(0)  # [N, G]; ties go to the earlier start, so ("uniform",) alone is the paper's result
    rows = best * n + torch.arange(n)[:, None]  # [N, G] row of each module's best start in the batched run
    modules = torch.arange(g).expand(n, g)
    recon = result.reconstructions[rows, modules] if keep_reconstructions else None
    return BestStarts(result.final_losses[rows, modules], result.mixtures[rows, modules], best, recon)


def decide(found: BestStarts, targets: Tensor, decision: str) -> ExtendedResult:
    """The decision scores of one decision rule (DECISIONS) on the modules' best starts."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
    if needs_reconstructions([decision]) and found.reconstructions is None:
        raise ValueError("the dtw decision needs the reconstructions: best_starts(..., keep_reconstructions=True)")
    recon = found.reconstructions if decision == "dtw" else None
    scores = dtw_scores(recon, torch.as_tensor(targets)) if decision == "dtw" else found.losses.double()
    return ExtendedResult(found.losses, found.mixtures, found.best_start, scores, recon)


def extended_inverse(
    bank: GeneratorBank,
    targets: Tensor,
    inverse: InverseSettings,
    starts: StartSettings,
    random_seed: int | None = None,
    backend: str = "auto",
) -> ExtendedResult:
    """Invert every target from every start; each module keeps its best start; then decide (see the module doc)."""
    found = best_starts(bank, targets, inverse, starts, random_seed, needs_reconstructions([starts.decision]), backend)
    return decide(found, targets, starts.decision)
