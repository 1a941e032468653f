"""Building the C kernels: cached per source, flags, compiler and CPU; a named error and a torch fallback without cc;
every build variant against the torch engine; the structs Python passes checked against the kernels' own layout."""

from __future__ import annotations

import ctypes
import functools

import numpy as np
import pytest
import torch

from mic import native
from mic.model import inverse, training
from mic.model.generator import GeneratorBank, init_bank
from synthetic import wave_prototypes
from tolerances import FLOAT32_REORDERED


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


# ----------------------------------------------------------------------------- variants and layouts

T, O, BANK = 30, 2, 10  # 10 generators: two 8-lane blocks, one 16-lane block


TRAIN = training.TrainSettings(episodes=40, prototypes_per_step=2, log_every=5, noise_in=0.1, noise_out=0.01)
INVERT = inverse.InverseSettings(iterations=10, seed=4)
N_TARGETS = 21  # three 8-lane blocks (a pair and an odd one), two 16-lane blocks


@functools.cache
def run_both(variant: str) -> tuple[training.TrainResult, inverse.InverseResult]:
    """Train the bank and invert targets with the C kernels of one variant."""
    if not (native.available("train_step", variant) and native.available("invert", variant)):
        pytest.skip(f"the {variant} build does not compile here")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIC_NATIVE_VARIANT", variant)
        trained = training.train_generators(wave_prototypes(BANK), TRAIN, range(BANK), backend="native")
        inverted = inverse.inverse_classify(reference_bank(), targets(), INVERT, keep=[0, 20], backend="native")
    return trained, inverted


@functools.cache
def reference_bank() -> GeneratorBank:
    """One bank every engine inverts with (trained briefly on the torch engine)."""
    settings = training.TrainSettings(episodes=400, prototypes_per_step=4)
    return training.train_generators(wave_prototypes(3), settings, [1, 2, 3], backend="torch").bank


def targets() -> torch.Tensor:
    """[N_TARGETS, T, O] noisy prototypes."""
    protos = wave_prototypes(3).reshape(12, T, O)
    noise = 0.05 * torch.randn(N_TARGETS, T, O, generator=torch.Generator().manual_seed(1))
    return protos[torch.arange(N_TARGETS) % 12] + noise


@pytest.fixture(scope="module")
def torch_results() -> tuple[training.TrainResult, inverse.InverseResult]:
    """The torch engine's results, which every variant is compared with."""
    trained = training.train_generators(wave_prototypes(BANK), TRAIN, range(BANK), backend="torch")
    inverted = inverse.inverse_classify(reference_bank(), targets(), INVERT, keep=[0, 20], backend="torch")
    return trained, inverted


def assert_close_to(a: tuple, b: tuple) -> None:
    """Float32 agreement of two engines (or two instruction sets): tolerances.FLOAT32_REORDERED says why."""
    (ta, ia), (tb, ib) = a, b
    pairs = [(ta.loss_curve, tb.loss_curve), *zip(ta.bank.tensors(), tb.bank.tensors())]
    pairs += [(ia.losses, ib.losses), (ia.mixtures, ib.mixtures), (ia.reconstructions, ib.reconstructions)]
    for x, y in pairs:
        torch.testing.assert_close(x, y, **FLOAT32_REORDERED)


def assert_identical(a: tuple, b: tuple) -> None:
    """Bit-identical results."""
    (ta, ia), (tb, ib) = a, b
    assert all(torch.equal(x, y) for x, y in zip(ta.bank.tensors(), tb.bank.tensors()))
    assert torch.equal(ta.loss_curve, tb.loss_curve) and torch.equal(ta.best_step, tb.best_step)
    assert torch.equal(ia.losses, ib.losses) and torch.equal(ia.mixtures, ib.mixtures)
    assert torch.equal(ia.reconstructions, ib.reconstructions)


@pytest.mark.parametrize("variant", sorted(native.VARIANTS))
def test_every_variant_matches_the_torch_engine(variant, torch_results):
    assert_close_to(run_both(variant), torch_results)


def test_lane_widths_and_instruction_sets():
    avx512 = "avx512f" in native._cpu_id().split()
    assert native.lanes(native.load("train_step", "lanes8")) == 8
    assert native.lanes(native.load("invert", "lanes16")) == 16
    assert native.lanes(native.load("invert", "native")) == (16 if avx512 else 8)
    assert native.isa(native.load("train_step", "portable")) in ("generic", "avx")  # "avx" where cc defaults to it
    with pytest.raises(ValueError, match="variant 'lanes4'"):
        native.load("invert", "lanes4")


def test_lane_width_does_not_change_results(monkeypatch):
    # Lanes run independently, so two widths on the same instructions agree bit for bit once the
    # compiler fuses the same multiply-adds: GCC's split of 16-lane operations into AVX2 pairs
    # leaves some unfused that the 8-lane build fuses, so the widths are compared exactly with
    # contraction off, both on AVX (x86 only). With contraction on, and across instruction sets
    # (AVX-512's more precise reciprocal, the portable build's plain division and no FMA), they agree to
    # the float32 tolerances of the torch comparison.
    exact = ("-march=native", "-mno-avx512f", "-ffp-contract=off")
    monkeypatch.setitem(native.VARIANTS, "exact8", (*exact, "-DMIC_LANES=8"))
    monkeypatch.setitem(native.VARIANTS, "exact16", (*exact, "-DMIC_LANES=16"))
    results = {v: run_both(v) for v in ("exact8", "exact16", "native", "lanes8", "lanes16", "portable")}
    assert_identical(results["exact16"], results["exact8"])
    assert_identical(results["native"], results["lanes16" if native.lanes(native.load("invert")) == 16 else "lanes8"])
    for v in ("exact8", "lanes16", "portable"):
        assert_close_to(results[v], results["lanes8"])


@pytest.mark.parametrize("variant", sorted(native.VARIANTS))
def test_the_activations_stay_within_their_stated_error(variant):
    # lanes.h states the largest absolute error of its rational tanh and sigmoid; checked on every float32
    # step of 2^-12 over [-20, 20] (the tails are clamped), against float64, in every build.
    x = np.arange(-20.0, 20.0, 2.0**-12, dtype=np.float32)
    out_tanh, out_sigmoid = np.empty_like(x), np.empty_like(x)
    as_floats = ctypes.POINTER(ctypes.c_float)
    native.load("invert", variant).mic_activations(
        *(a.ctypes.data_as(as_floats) for a in (x, out_tanh, out_sigmoid)), ctypes.c_long(x.size)
    )
    exact = x.astype(np.float64)
    assert np.abs(out_tanh - np.tanh(exact)).max() < 4.5e-7
    assert np.abs(out_sigmoid - 1.0 / (1.0 + np.exp(-exact))).max() < 2.7e-7


@pytest.mark.parametrize("variant", sorted(native.VARIANTS))
def test_a_targets_inversion_does_not_depend_on_the_targets_beside_it(variant, monkeypatch):
    # Blocks of lanes are inverted in pairs, an odd last one with itself; a target gets the same bits in any
    # block and pairing, so inversions of the same target in different calls can be shared.
    monkeypatch.setenv("MIC_NATIVE_VARIANT", variant)
    lanes = native.lanes(native.load("invert", variant))
    bank = init_bank([0, 1, 2], 10, 2)  # 10 cells: the products' last rows take the split sums
    settings = inverse.InverseSettings(iterations=10, init_low=0.25, init_high=0.25)  # the same start everywhere
    many = 0.5 * torch.randn(3 * lanes, 50, 2, generator=torch.Generator().manual_seed(2))
    order = torch.cat([torch.arange(2 * lanes, 3 * lanes), torch.arange(2 * lanes)])  # the odd block first
    alone = inverse.inverse_classify(bank, many, settings, backend="native")
    paired = inverse.inverse_classify(bank, many[order], settings, backend="native")
    assert torch.equal(alone.losses[:, order], paired.losses)
    assert torch.equal(alone.mixtures[order], paired.mixtures)


def test_the_kernels_give_the_callers_floating_point_mode_back():
    # They flush denormals to zero while they run (lanes.h); the caller's thread keeps its own mode.
    def denormals_kept() -> bool:
        return bool(np.float32(1e-38) / np.float32(10) != 0)

    assert denormals_kept()
    trained = training.train_generators(
        wave_prototypes(2), training.TrainSettings(episodes=8), [0, 1], backend="native"
    )
    inverse.inverse_classify(trained.bank, targets()[:3], inverse.InverseSettings(iterations=2), backend="native")
    assert denormals_kept()


def test_unknown_variant_in_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv("MIC_NATIVE_VARIANT", "fast")
    with pytest.raises(ValueError, match="MIC_NATIVE_VARIANT='fast'"):
        training.train_generators(wave_prototypes(1), training.TrainSettings(episodes=4), [0])


def test_the_kernels_structs_match_their_ctypes_mirrors():
    native.check_layout(native.load("train_step"), "mic_trainer", training._TrainerState)
    native.check_layout(native.load("invert"), "mic_inversion", inverse._Inversion)


def test_a_mismatched_ctypes_layout_is_refused(monkeypatch):
    lib = native.load("train_step")
    fields = list(training._TrainerState._fields_)
    swapped = type("Swapped", (ctypes.Structure,), {"_fields_": [fields[1], fields[0], *fields[2:]]})
    with pytest.raises(native.LayoutMismatch, match=r"field 0: C has 'n_wblocks' at offset 0.*Python 'batch'"):
        native.check_layout(lib, "mic_trainer", swapped)
    narrow = [(name, ctypes.c_int) if name == "best_step" else (name, kind) for name, kind in fields]
    narrow = type("Narrow", (ctypes.Structure,), {"_fields_": narrow})
    with pytest.raises(native.LayoutMismatch, match=r"'best_step' at offset \d+, 8 bytes, Python 'best_step'.*4 bytes"):
        native.check_layout(lib, "mic_trainer", narrow)
    short = type("Short", (ctypes.Structure,), {"_fields_": fields[:-1]})
    with pytest.raises(native.LayoutMismatch, match="C has 'best_step'.*Python nothing"):
        native.check_layout(lib, "mic_trainer", short)
    # a stale mirror is a bug, not a missing compiler: "auto" raises instead of falling back to torch
    monkeypatch.setattr(inverse, "_Inversion", type("Stale", (ctypes.Structure,), {"_fields_": fields}))
    inverse._kernel.cache_clear()
    try:
        with pytest.raises(native.LayoutMismatch, match="Stale and mic_inversion"):
            inverse.inverse_classify(init_bank([0], 10, O), targets()[:2], inverse.InverseSettings(iterations=1))
    finally:
        inverse._kernel.cache_clear()
