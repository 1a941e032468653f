"""Atomic file writing (an output either appears complete or not at all), and reading large .npz arrays lazily."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
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


_ZIP_LOCAL_HEADER = 30  # bytes before a member's file name in a zip's local header


def archive_array(path: str | os.PathLike, name: str) -> np.ndarray:
    """Array `name` of an .npz, read whole."""
    with np.load(path) as archive:
        return archive[name]


def mapped_npz_array(path: str | os.PathLike, name: str) -> np.ndarray:
    """Array `name` of an .npz, memory-mapped copy-on-write where it is stored uncompressed, else read whole.

    A job that needs a few rows of a large array (an MNIST inverse job: 10500 of 70000 images) then reads
    only those pages instead of 220 MB; writes to the array stay in memory and never reach the file.
    """
    layout = None
    with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
        info = archive.getinfo(f"{name}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return archive_array(path, name)
        handle.seek(info.header_offset)
        local = handle.read(_ZIP_LOCAL_HEADER)
        name_length, extra_length = (int.from_bytes(local[i : i + 2], "little") for i in (26, 28))
        handle.seek(info.header_offset + _ZIP_LOCAL_HEADER + name_length + extra_length)
        version = np.lib.format.read_magic(handle)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version in readers:
            shape, fortran_order, dtype = readers[version](handle)
            if not dtype.hasobject and 0 not in shape:
                layout = shape, fortran_order, dtype, handle.tell()
    if layout is None:
        return archive_array(path, name)
    shape, fortran_order, dtype, offset = layout
    return np.memmap(path, dtype=dtype, mode="c", offset=offset, shape=shape, order="F" if fortran_order else "C")
