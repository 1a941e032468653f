"""Atomic file writing: an output either appears complete or not at all."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; results should read like any other file
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike, write: Callable[[Path], Any]) -> None:
    """Call `write(tmp_path)` and move the finished file to `path`."""
    with atomic_path(path) as tmp:
        write(tmp)


def save_npz(path: str | os.PathLike, compress: bool = True, **arrays: Any) -> None:
    """Write an .npz atomically (numpy would append .npz to a temp name, so use a handle)."""
    savez = np.savez_compressed if compress else np.savez

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            savez(handle, **arrays)

    write_atomic(path, write)


def save_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON atomically, pretty-printed for humans reading results/."""
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def save_table(path: str | os.PathLike, table: pandas.DataFrame) -> None:  # noqa: F821
    """Write a tab-separated table atomically."""
    write_atomic(path, lambda tmp: table.to_csv(tmp, sep="\t", index=False))
