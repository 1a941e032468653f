"""Building the C kernels: cached per source, compiler and CPU; a named error and a torch fallback without cc."""

from __future__ import annotations

import pytest
import torch

from mic.model import inverse, native, training
from mic.model.generator import init_bank


@pytest.fixture
def fresh_builds(tmp_path, monkeypatch):
    """An empty kernel cache and no kernels loaded in this process yet."""
    monkeypatch.setenv("MIC_NATIVE_CACHE", str(tmp_path / "cache"))
    for fn in (native.load, training._kernel, inverse._kernel):
        fn.cache_clear()
    yield tmp_path / "cache"
    for fn in (native.load, training._kernel, inverse._kernel):
        fn.cache_clear()


def test_kernels_build_once_into_the_cache(fresh_builds):
    native.load("train_step")
    native.load("invert")
    built = sorted(p.name for p in fresh_builds.iterdir())
    assert [name.split("-")[0] for name in built] == ["invert", "train_step"]
    assert not [p for p in fresh_builds.iterdir() if p.name.startswith(".")]  # no temporary files left
    native.load.cache_clear()
    mtime = {p: p.stat().st_mtime_ns for p in fresh_builds.iterdir()}
    native.load("train_step")
    assert {p: p.stat().st_mtime_ns for p in fresh_builds.iterdir()} == mtime  # reused, not rebuilt


def test_missing_compiler_is_named_and_auto_falls_back_to_torch(fresh_builds, monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(native.NativeUnavailable, match="/nonexistent/cc"):
        native.load("train_step")
    assert not native.available("invert")
    protos = torch.randn(1, 4, 6, 2)
    with pytest.raises(native.NativeUnavailable):
        training.train_generators(protos, training.TrainSettings(episodes=4), [0], backend="native")
    with pytest.warns(RuntimeWarning, match="torch engine"):
        result = training.train_generators(protos, training.TrainSettings(episodes=4), [0])
    assert result.loss_curve.shape == (1, 4)
    with pytest.warns(RuntimeWarning, match="torch engine"):
        inverted = inverse.inverse_classify(init_bank([0, 1], 10, 2), protos[0], inverse.InverseSettings(iterations=2))
    assert inverted.losses.shape == (3, 4, 2)


def test_a_build_error_shows_the_compiler_output(fresh_builds, monkeypatch, tmp_path):
    (tmp_path / "broken.c").write_text("this is not C\n")
    monkeypatch.setattr(native, "SOURCES", tmp_path)
    with pytest.raises(native.NativeUnavailable, match=r"compiling .*broken\.c failed"):
        native.load("broken")
    assert not [p for p in fresh_builds.iterdir() if p.name.startswith(".")]
