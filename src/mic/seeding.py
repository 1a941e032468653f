"""Seeds derived from the config's base seed and a job's identity, so reruns are bit-identical."""

from __future__ import annotations

import hashlib


def derive_seed(base: int, *parts: object) -> int:
    """A 31-bit seed that depends only on `base` and the parts (e.g. dataset, subset, noise, class)."""
    text = "/".join([str(base), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF
