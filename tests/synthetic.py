"""Small synthetic prototypes the model tests train generators on (no data files needed)."""

from __future__ import annotations

import math

import torch


def wave_prototypes(generators: int = 3, steps: int = 30) -> torch.Tensor:
    """[G, 4, T, 2] smooth curves, different per generator and prototype (sine in x, scaled cosine in y)."""
    t = torch.linspace(0, 1, steps)
    protos = torch.empty(generators, 4, steps, 2)
    for g in range(generators):
        for p in range(4):
            protos[g, p, :, 0] = torch.sin(2 * math.pi * (t * (1 + 0.3 * p) + 0.1 * g))
            protos[g, p, :, 1] = torch.cos(2 * math.pi * t * (1 + 0.2 * g)) * (p - 1.5) / 1.5
    return protos
