"""Compiled CPU kernels: C sources beside this file, built on first use with the system C compiler.

The sources use GCC/Clang vector extensions (8 float lanes per vector), so they build for any
target; `-march=native` lets the compiler use the host's widest instructions. Each build is
cached under `$MIC_NATIVE_CACHE` (default `~/.cache/mic/native`) in a file named by a hash of
the source, the compiler and its flags, and the host CPU, so a shared home directory on a
cluster with mixed CPUs keeps one build per CPU type. Builds are written to a temporary file
and renamed, so parallel jobs never load a half-written library.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import subprocess
import tempfile
from pathlib import Path

SOURCES = Path(__file__).resolve().parent
FLAGS = ("-O3", "-march=native", "-ffp-contract=fast", "-fno-math-errno", "-std=c11", "-shared", "-fPIC")


class NativeUnavailable(RuntimeError):
    """A kernel could not be compiled or loaded (no C compiler, or a build error)."""


def cache_dir() -> Path:
    """Where built kernels are kept."""
    return Path(os.environ.get("MIC_NATIVE_CACHE", Path.home() / ".cache" / "mic" / "native"))


def _compiler() -> str:
    return os.environ.get("CC", "cc")


def _cpu_id() -> str:
    """What `-march=native` depends on: the CPU model and its feature flags."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        keep = [ln for ln in lines if ln.split(":")[0].strip() in ("model name", "flags", "Features", "CPU part")]
        return "\n".join(dict.fromkeys(keep))
    except OSError:
        return f"{platform.machine()} {platform.processor()}"


def _build_key(source: bytes) -> str:
    try:
        version = subprocess.run([_compiler(), "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as err:
        raise NativeUnavailable(f"C compiler {_compiler()!r} not found ({err}); set CC or install one") from err
    parts = [source, version.encode(), " ".join(FLAGS).encode(), _cpu_id().encode()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


@functools.cache
def load(name: str) -> ctypes.CDLL:
    """The compiled library of SOURCES/<name>.c, built (once per source, compiler and CPU) if needed."""
    source_path = SOURCES / f"{name}.c"
    source = source_path.read_bytes() + b"".join(h.read_bytes() for h in sorted(SOURCES.glob("*.h")))
    target = cache_dir() / f"{name}-{_build_key(source)}.so"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{name}-", suffix=".so")
        os.close(fd)
        try:
            proc = subprocess.run(
                [_compiler(), *FLAGS, "-o", tmp, str(source_path), "-lm"], capture_output=True, text=True
            )
            if proc.returncode != 0:
                raise NativeUnavailable(f"compiling {source_path} failed:\n{proc.stderr.strip()}")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return ctypes.CDLL(str(target))


def available(name: str) -> bool:
    """Whether the kernel builds and loads here."""
    try:
        load(name)
    except NativeUnavailable:
        return False
    return True
