"""Pick the torch device named in the config: cpu, cuda or auto."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICES = ("cpu", "cuda", "auto")


def resolve_device(name: str) -> torch.device:
    """'auto' takes a GPU when one is visible; 'cuda' without a GPU is an error, not a silent fallback."""
    import torch  # here: the config's validation and `mic --help` name the choices without torch's import

    if name not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: 'cuda' was requested but torch sees no GPU (use 'cpu' or 'auto')")
    return torch.device(name)
