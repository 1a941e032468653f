"""Fetch the raw data files from a local mirror or the official URLs, verified by SHA-256."""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mic.io import atomic_path

MIRROR_ENV = "MIC_DATA_MIRROR"


class ChecksumError(RuntimeError):
    """A file's SHA-256 is not the published one."""


@dataclass(frozen=True)
class FileCopy:
    """One verified copy of a raw file: where it lives and what its bytes hash to."""

    name: str  # file name in the mirror folder and on the server
    sha256: str
    urls: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class RawFile:
    """A file a data set needs, with every copy that is accepted for it (first found wins)."""

    target: str  # name under resources/<source>/
    copies: tuple[FileCopy, ...]


UCI_CHARACTERS = "https://archive.ics.uci.edu/ml/machine-learning-databases/character-trajectories/"
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://yann.lecun.com/exdb/mnist/")


def _mnist(name: str, sha256: str) -> RawFile:
    return RawFile(name, (FileCopy(name, sha256, tuple(base + name for base in MNIST_MIRRORS)),))


SOURCES: dict[str, tuple[RawFile, ...]] = {
    "character_trajectories": (
        RawFile(
            "mixout.mat",
            (
                FileCopy(
                    "mixoutALL_shifted.mat",
                    "00ab9af03f74167b5ddee9d5f3e7ed3da8df0bc49d2e9c4078c51857fdc13ebe",
                    (UCI_CHARACTERS + "mixoutALL_shifted.mat",),
                    "the official UCI file",
                ),
                FileCopy(
                    "mixout_mirror_labeled.mat",
                    "793964f99e628ca4d60022259917255cc4e5e03602ba8a0c30e253ba04329799",
                    (),
                    "same 2858 samples, values and labels in the UCI layout, in another sample order",
                ),
            ),
        ),
    ),
    "mnist": (
        _mnist("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        _mnist("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        _mnist("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        _mnist("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    ),
}


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: str | os.PathLike, expected: str, shown_as: str | None = None) -> None:
    """Raise ChecksumError naming the file (or `shown_as`) and both hashes unless they match."""
    actual = sha256_of(path)
    if actual != expected:
        name = shown_as or str(path)
        raise ChecksumError(f"{name}: SHA-256 mismatch, expected {expected}, got {actual} (truncated or corrupted?)")


def resolve_mirror(configured: str | None) -> Path | None:
    """The mirror folder to use: $MIC_DATA_MIRROR wins over the config; None when neither exists."""
    chosen = os.environ.get(MIRROR_ENV) or configured
    if not chosen:
        return None
    path = Path(chosen).expanduser()
    return path if path.is_dir() else None


def fetch_file(raw: RawFile, source: str, destination: Path, mirror: Path | None) -> FileCopy:
    """Copy or download one verified copy of `raw` to `destination` atomically; return which copy."""
    errors: list[str] = []
    for copy in raw.copies:
        candidates: list[str] = []
        if mirror is not None and (mirror / source / copy.name).is_file():
            candidates.append(str(mirror / source / copy.name))
        candidates.extend(copy.urls)
        for candidate in candidates:
            try:
                with atomic_path(destination) as tmp:
                    _copy_or_download(candidate, tmp)
                    verify(tmp, copy.sha256, shown_as=candidate)  # name the source, not the temp file
                return copy
            except ChecksumError:
                raise
            except OSError as error:  # unreachable URL or unreadable file: try the next copy
                errors.append(f"{candidate}: {error}")
    tried = "; ".join(errors) or "no mirror file and no URL for any accepted copy"
    raise FileNotFoundError(f"could not obtain {source}/{raw.target} ({tried}); set {MIRROR_ENV} to a data mirror")


def _copy_or_download(location: str, destination: Path) -> None:
    if "://" in location:
        with urllib.request.urlopen(location, timeout=60) as response, open(destination, "wb") as out:
            shutil.copyfileobj(response, out)
    else:
        shutil.copyfile(location, destination)


def fetch_source(source: str, out_dir: str | os.PathLike, mirror: Path | None) -> dict[str, dict[str, str]]:
    """Fetch every file of a data source into `out_dir`; return a provenance record per file."""
    if source not in SOURCES:
        raise KeyError(f"unknown data source {source!r}; known: {', '.join(SOURCES)}")
    record = {}
    for raw in SOURCES[source]:
        copy = fetch_file(raw, source, Path(out_dir) / raw.target, mirror)
        record[raw.target] = {"copy": copy.name, "sha256": copy.sha256, "note": copy.note}
    return record
