"""Compiled CPU kernels: C sources beside this file, built on first use with the system C compiler.

The sources use GCC/Clang vector extensions, so they build for any target. lanes.h picks the
vector width (MIC_LANES floats: 16 where the target has AVX-512, else 8); the kernels report it
(`mic_lanes`) and Python lays its arrays out by what they report. Variants (VARIANTS) differ in
flags: "native" (default) lets the compiler use the host's widest instructions (`-march=native`),
"lanes8" and "lanes16" force the width on top of that (a vector wider than the registers is split
by the compiler, so both build and run anywhere), and "portable" targets the compiler's default
architecture (generic x86-64: no AVX, plain division). `$MIC_NATIVE_VARIANT` chooses the variant
the models use.

Each build is cached under `$MIC_NATIVE_CACHE` (default `~/.cache/mic/native`) in a file named
by the variant and a hash of the source, the compiler and its flags, and (for variants built
with `-march=native`) the host CPU, so a shared home directory on a cluster with mixed CPUs keeps
one build per CPU type. Builds are written to a temporary file and renamed, so parallel jobs
never load a half-written library.

Every struct a kernel takes is declared in C from one field list that the library also exports
(lanes.h: MIC_LAYOUT); `check_layout` compares a ctypes mirror with it field by field on load.
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
FLAGS = ("-O3", "-ffp-contract=fast", "-fno-math-errno", "-std=c11", "-shared", "-fPIC", "-Wno-psabi")
VARIANTS = {
    "native": ("-march=native",),
    "lanes8": ("-march=native", "-DMIC_LANES=8"),
    "lanes16": ("-march=native", "-DMIC_LANES=16"),
    "portable": (),
}
# Flags of one kernel on top of its variant's (the last of two clashing flags wins). dtw.c matches
# tslearn bit for bit, and numba never fuses a multiply and an add.
EXTRA_FLAGS = {"dtw": ("-ffp-contract=off",)}


class NativeUnavailable(RuntimeError):
    """A kernel could not be compiled or loaded (no C compiler, or a build error)."""


class LayoutMismatch(RuntimeError):
    """A ctypes mirror disagrees with the struct the kernel was compiled with (a bug, so no torch fallback)."""


def cache_dir() -> Path:
    """Where built kernels are kept."""
    return Path(os.environ.get("MIC_NATIVE_CACHE", Path.home() / ".cache" / "mic" / "native"))


def variant() -> str:
    """The variant the models build and load: `$MIC_NATIVE_VARIANT`, default "native"."""
    name = os.environ.get("MIC_NATIVE_VARIANT", "native")
    if name not in VARIANTS:
        raise ValueError(f"MIC_NATIVE_VARIANT={name!r}: must be one of {sorted(VARIANTS)}")
    return name


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


def _build_key(source: bytes, flags: tuple[str, ...]) -> str:
    try:
        version = subprocess.run([_compiler(), "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as err:
        raise NativeUnavailable(f"C compiler {_compiler()!r} not found ({err}); set CC or install one") from err
    host = _cpu_id() if "-march=native" in flags else platform.machine()
    parts = [source, version.encode(), " ".join(flags).encode(), host.encode()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


@functools.cache
def load(name: str, variant: str = "native") -> ctypes.CDLL:
    """The compiled library of SOURCES/<name>.c as `variant` builds it (once per source, flags, compiler, CPU)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r}: must be one of {sorted(VARIANTS)}")
    flags = (*FLAGS, *VARIANTS[variant], *EXTRA_FLAGS.get(name, ()))
    source_path = SOURCES / f"{name}.c"
    source = source_path.read_bytes() + b"".join(h.read_bytes() for h in sorted(SOURCES.glob("*.h")))
    target = cache_dir() / f"{name}-{variant}-{_build_key(source, flags)}.so"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{name}-", suffix=".so")
        os.close(fd)
        try:
            proc = subprocess.run(
                [_compiler(), *flags, "-o", tmp, str(source_path), "-lm"], capture_output=True, text=True
            )
            if proc.returncode != 0:
                raise NativeUnavailable(f"compiling {source_path} failed ({variant} build):\n{proc.stderr.strip()}")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    lib = ctypes.CDLL(str(target))
    lib.mic_lanes.restype = ctypes.c_int
    lib.mic_lanes.argtypes = []
    lib.mic_isa.restype = ctypes.c_char_p
    lib.mic_isa.argtypes = []
    return lib


def available(name: str, variant: str = "native") -> bool:
    """Whether the kernel builds and loads here."""
    try:
        load(name, variant)
    except NativeUnavailable:
        return False
    return True


def lanes(lib: ctypes.CDLL) -> int:
    """Floats per SIMD vector of a loaded kernel: the lane width its arrays are laid out in."""
    return int(lib.mic_lanes())


def isa(lib: ctypes.CDLL) -> str:
    """The instructions a loaded kernel's vector helpers use ("avx512", "avx" or "generic")."""
    return lib.mic_isa().decode()


def sequence_fields(steps: int, hidden: int, outputs: int, inputs: int, betas: tuple[float, float], eps: float) -> dict:
    """The fields both kernels' structs share: the sequences' sizes and the Adam constants."""
    return {"n_t": steps, "h": hidden, "n_o": outputs, "n_i": inputs, "beta1": betas[0], "beta2": betas[1], "eps": eps}


def _describe(field: tuple[str, int, int] | None) -> str:
    return "nothing" if field is None else f"{field[0]!r} at offset {field[1]}, {field[2]} bytes"


def check_layout(lib: ctypes.CDLL, struct: str, mirror: type[ctypes.Structure]) -> None:
    """Raise LayoutMismatch unless `mirror` has the fields (names, offsets, sizes) of the kernel's struct `struct`."""
    count, name, offset, size, total = (
        getattr(lib, f"{struct}_layout_{part}") for part in ("count", "name", "offset", "size", "bytes")
    )
    count.restype, name.restype = ctypes.c_int, ctypes.c_char_p
    offset.restype = size.restype = total.restype = ctypes.c_long
    name.argtypes = offset.argtypes = size.argtypes = [ctypes.c_int]
    count.argtypes = total.argtypes = []
    c_fields = [(name(i).decode(), offset(i), size(i)) for i in range(count())]
    py_fields = [(f[0], getattr(mirror, f[0]).offset, getattr(mirror, f[0]).size) for f in mirror._fields_]
    where = f"{mirror.__module__}.{mirror.__qualname__} and {struct} in the kernel"
    for i in range(max(len(c_fields), len(py_fields))):
        c = c_fields[i] if i < len(c_fields) else None
        py = py_fields[i] if i < len(py_fields) else None
        if c != py:
            raise LayoutMismatch(f"{where} differ at field {i}: C has {_describe(c)}, Python {_describe(py)}")
    if total() != ctypes.sizeof(mirror):
        raise LayoutMismatch(f"{where} differ in size: C {total()} bytes, Python {ctypes.sizeof(mirror)}")
