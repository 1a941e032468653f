"""The built wheel works outside the checkout: it ships the kernels' C sources, and they compile and run from it."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from conftest import REPO

# Not copied from the checkout: build outputs (a stale build/lib would end up in the wheel) and run products.
SKIP = ("build", ".git", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".snakemake", ".benchmarks")
SKIP += ("results", "resources", "logs", "benchmarks", ".venv")

# Both kernels on a tiny problem; writes where mic came from and the results to argv[1].
SCRIPT = """
import sys
import torch
import mic
from mic import native
from mic.model import inverse, training

protos = torch.linspace(-1, 1, 4 * 12 * 2).reshape(1, 4, 12, 2).sin().repeat(3, 1, 1, 1)
trained = training.train_generators(protos, training.TrainSettings(episodes=20), [1, 2, 3], backend="native")
settings = inverse.InverseSettings(iterations=3)
inverted = inverse.inverse_classify(trained.bank, protos[0], settings, keep=[1], backend="native")
results = [*trained.bank.tensors(), trained.loss_curve, inverted.losses, inverted.mixtures, inverted.reconstructions]
torch.save(dict(mic=mic.__file__, sources=str(native.SOURCES), results=results), sys.argv[1])
"""


def build_wheel(into: Path, tmp: Path) -> Path:
    """The wheel of a clean copy of the checkout (its sources, tracked or not, without build outputs)."""
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*SKIP))
    # setuptools >= 70.1 builds wheels by itself, offline; with an older one pip fetches a build env from PyPI
    setuptools = tuple(int(p) for p in importlib.metadata.version("setuptools").split(".")[:2])
    isolation = ["--no-build-isolation"] if setuptools >= (70, 1) else []
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", str(into), str(source)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = into.glob("mic-*.whl")
    return wheel


def run_script(python: Path, cwd: Path, out: Path, cache: Path, pythonpath: Path | None = None) -> dict:
    """SCRIPT's output as `python` runs it from cwd, kernels built into cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MIC_NATIVE_VARIANT")}
    env["MIC_NATIVE_CACHE"] = str(cache)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    (cwd / "run.py").write_text(SCRIPT)
    proc = subprocess.run([str(python), "run.py", str(out)], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return torch.load(out, weights_only=True)


def test_the_wheel_compiles_and_runs_both_kernels_outside_the_checkout(tmp_path):
    wheel = build_wheel(tmp_path / "dist", tmp_path)
    venv = (tmp_path / "venv").resolve()
    # the environment's torch and numpy; no pip of its own (the outer one, run by the venv's python, installs)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # --ignore-installed: an editable mic of the outer environment is neither kept nor uninstalled
    cmd = [str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed", "--no-index", str(wheel)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    got = run_script(python, outside, tmp_path / "wheel.pt", tmp_path / "cache")
    assert Path(got["mic"]).resolve().is_relative_to(venv), got["mic"]
    assert Path(got["sources"]).resolve().is_relative_to(venv), got["sources"]
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "cache").glob("*.so")) == ["invert", "train_step"]
    # the checkout's sources, built the same way, give the same numbers
    here = run_script(Path(sys.executable), outside, tmp_path / "checkout.pt", tmp_path / "cache2", REPO / "src")
    assert Path(here["mic"]).resolve().is_relative_to(REPO)
    assert all(torch.equal(a, b) for a, b in zip(got["results"], here["results"]))
