"""Roofline of the pipeline: a run's time against the arithmetic it has to do, at this machine's measured peak.

From a config (config/config.yaml, or --configfile; `--config key=value` and --replicates override keys as
`snakemake --config` does) it counts the matrix FLOPs and the other vector operations of every rule that
computes: generator training, inverse classification, the extended inversions, Figure 7's module losses and
the forward baselines, from the shapes the kernels use (src/mic/native/*.c, src/mic/model/*.py). Everything
else (DTW, prototypes, tables, the report, start-up, scheduling) counts as no work at all.

It measures this machine's peak: a tight loop of independent vector multiply-adds at the kernels' lane width
(compiled with the flags of mic.native), on one core, 2 FLOP per lane per multiply-add. The limit of a rule
is its matrix FLOPs at that peak; the op-count limit adds its other operations, each weighted (the
constants below) by the multiply-add issue slots it takes.

With --workdir (a run's folder with benchmarks/) it prints every rule's job-minutes from the benchmark
files beside its limits and ends with `ratio: <wall time / (matmul limit / cores)>`; the wall time comes
from --wall-seconds, else from the run's pipeline_parts.tsv (bench/pipeline_speed.py adds a row per part it
ran there: a run split with only_datasets sums its parts' wall times, each part's limit at the peak measured
at its start), else from the benchmark files. Without --workdir it prints the prediction only.
"""

from __future__ import annotations

import argparse
import ctypes
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]

# Weights of the non-matrix vector operations, in operations per lane (a multiply-add is one operation, as
# is an add, a multiply, a min or a conversion), each taking one multiply-add issue slot: an operation
# counts as FLOP_PER_OP FLOP at the multiply-add peak. Counted from src/mic/native/lanes.h.
FLOP_PER_OP = 2
RECIP_OPS = 3  # recip: approximate reciprocal and one Newton step (2 FMAs)
# tanh and sigmoid, x p(x^2) / q(x^2): clamp 2, square 1, p 6 Horner FMAs, x p 1, q 3 FMAs, recip, product 1
# (sigmoid's + 1/2 fuses into the product)
RATIONAL_OPS = 14 + RECIP_OPS
# A divide and a square root issue far more slowly than a multiply-add (a 512-bit one every ~5 and ~9 cycles
# on Zen 4, against two multiply-adds a cycle): counted as that many issue slots.
DIVIDE_OPS = 10
SQRT_OPS = 18
GATE_OPS = 4 * RATIONAL_OPS  # per hidden unit and step: three sigmoids and a tanh
CELL_FORWARD_OPS = 3 + RATIONAL_OPS  # cell_forward per unit: c 2, tanh(c), h 1
CELL_BACKWARD_OPS = 19  # cell_backward per unit: dc 3, dz of the i, f, o gates 4 each, g gate 3, dc carried 1
LOSS_OPS = 3  # per output value and step: error, its square summed, the error scaled for the backward pass
ADAM_OPS = 8 + SQRT_OPS + 2 * DIVIDE_OPS  # per parameter: m 2, v 3, sqrt, / bias correction, + eps, m / ., lr, -
PROJECT_OPS = 3 + DIVIDE_OPS  # per input entry of the inversion's projection: clip 2, sum 1, divide
CLIP_OPS = 3  # per parameter, the forward baseline's gradient clipping: its square summed, scaled

INPUTS = 4  # the generators' one-hot input over a class's prototypes (mic.method.PROTOTYPES_PER_CLASS)
CLEAN_LOSS_PASSES = 2  # training ends with the clean loss of the kept and of the final weights
MODULE_LOSS_SAMPLES = 20  # mic.pipeline.best.SAMPLES_PER_CLASS: Figure 7's training samples per class
SELECTIONS = ("clustered", "random")  # the subsets of the forward baselines and the extended inversions
FMA_CHAINS = 12  # independent accumulators of the peak loop, enough to hide the multiply-add latency
WORK_RULES = ("train_generators", "inverse_classify", "extended_inverse", "module_losses", "train_baseline")

# Sizes of the built-in sources, so a config is counted before it runs: samples per class (characters:
# all, split by the config; MNIST: its official training and test split), steps and channels.
CHARACTER_CLASSES = "a b c d e g h l m n o p q r s u v w y z".split()
CHARACTER_COUNTS = [171, 141, 142, 157, 186, 138, 127, 174, 125, 130, 141, 131, 124, 119, 133, 131, 155, 125, 137, 171]
MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
KNOWN = {  # source: (class names, [N] total or (train, test) per class, steps, raw channels)
    "character_trajectories": (CHARACTER_CLASSES, CHARACTER_COUNTS, 205, 3),
    "mnist": ([str(k) for k in range(10)], (MNIST_TRAIN, MNIST_TEST), 28, 28),
}

PEAK_SOURCE = r"""
#include "lanes.h"
/* n rounds of CHAINS independent vector multiply-adds: CHAINS * n * MIC_LANES lanes. */
float mic_fma_chains(long n, float x, float y) {
    vf a[CHAINS], vx = splat(x), vy = splat(y);
    for (int u = 0; u < CHAINS; ++u) a[u] = splat(0.5f + 0.01f * u);
    for (long k = 0; k < n; ++k)
        for (int u = 0; u < CHAINS; ++u) a[u] = a[u] * vx + vy;
    vf s = a[0];
    for (int u = 1; u < CHAINS; ++u) s += a[u];
    float r = 0.0f;
    for (int u = 0; u < MIC_LANES; ++u) r += s[u];
    return r;
}
"""


@dataclass(frozen=True)
class Work:
    """Arithmetic of a piece of the pipeline: matrix-product FLOPs and other vector operations (weighted)."""

    matmul: int = 0
    other: int = 0

    def __add__(self, more: Work) -> Work:
        return Work(self.matmul + more.matmul, self.other + more.other)

    def __mul__(self, times: int) -> Work:
        return Work(self.matmul * times, self.other * times)

    __rmul__ = __mul__

    @property
    def ops_flop(self) -> int:
        """Matrix FLOPs plus the other operations as the FLOPs their issue slots would do at the peak."""
        return self.matmul + FLOP_PER_OP * self.other


@dataclass(frozen=True)
class DataSizes:
    """What the counts need of a prepared data set: sequence steps, channels, samples per class in each split."""

    steps: int
    channels: int
    train: tuple[int, ...]
    test: tuple[int, ...]

    @property
    def classes(self) -> int:
        return len(self.train)


# Counting ---------------------------------------------------------------------------------------------------


def lstm_forward(h: int, o: int, t: int) -> Work:
    """One generator sequence forward (train_step.c, invert.c): input at t = 0 only, zero start state, output."""
    matmul = 2 * 4 * h * INPUTS + (t - 1) * 2 * 4 * h * h + t * 2 * o * h
    return Work(matmul, t * (h * (GATE_OPS + CELL_FORWARD_OPS) + o * LOSS_OPS))


def train_backward(h: int, o: int, t: int) -> Work:
    """Backward of one training sequence: dh through time, then the weight gradients as sums over steps."""
    through_time = t * 2 * h * o + (t - 1) * 2 * h * 4 * h
    weights = (t - 1) * 2 * h * 4 * h + 2 * INPUTS * 4 * h + t * 2 * o * h  # w_hh, w_in, w_out
    return Work(through_time + weights, t * h * CELL_BACKWARD_OPS + t * (4 * h + o))  # bias gradients: sums


def input_backward(h: int, o: int, t: int) -> Work:
    """Backward of one inversion to the 4-dim input vector only (no weight gradients)."""
    matmul = t * 2 * h * o + (t - 1) * 2 * h * 4 * h + 2 * 4 * h * INPUTS
    return Work(matmul, t * h * CELL_BACKWARD_OPS)


def lstm_parameters(inputs: int, h: int, o: int) -> int:
    """Parameters of an LSTM with a linear readout: w_ih, w_hh, b_ih, b_hh, w_out, b_out."""
    return 4 * h * inputs + 4 * h * h + 2 * 4 * h + o * h + o


def generator_training(h: int, o: int, t: int, episodes: int, per_step: int) -> Work:
    """One generator's training (training.py): episodes / per_step Adam steps of per_step sequences each."""
    params = lstm_parameters(INPUTS, h, o)
    sequence = lstm_forward(h, o, t) + train_backward(h, o, t) + Work(0, 4 * h)  # b_ih + b_hh per sequence
    gradient_sums = (per_step - 1) * (4 * h * h + o * h + 4 * h + o)  # later sequences add to the first's
    step = per_step * sequence + Work(0, gradient_sums + params * ADAM_OPS)
    clean = CLEAN_LOSS_PASSES * INPUTS * lstm_forward(h, o, t)  # the kept and the final weights, 4 prototypes
    return (episodes // per_step) * step + clean


def inversion(h: int, o: int, t: int, iterations: int, raw_final: bool = False) -> Work:
    """One (target, module) pair (invert.c): iterations + 1 forwards, iterations backwards and Adam steps."""
    projections = iterations if raw_final and iterations > 0 else iterations + 1
    forward = lstm_forward(h, o, t) + Work(0, DIVIDE_OPS)  # the loss's mean
    backward = input_backward(h, o, t) + Work(0, INPUTS * ADAM_OPS)
    return (iterations + 1) * forward + iterations * backward + Work(0, projections * (INPUTS * PROJECT_OPS + 1))


def classifier_forward(c: int, h: int, k: int, t: int) -> Work:
    """nn.LSTM(c, h) over t steps (both products at every step) and the readout of the last state."""
    return Work(t * 2 * 4 * h * (c + h) + 2 * h * k, t * h * (GATE_OPS + CELL_FORWARD_OPS))


def classifier_backward(c: int, h: int, k: int, t: int) -> Work:
    """Its backward: weight gradients of both products, dh through time, readout; no input gradient."""
    return Work(t * 2 * 4 * h * (c + 2 * h) + 2 * 2 * h * k, t * h * CELL_BACKWARD_OPS + t * 4 * h)


def forward_baseline(sizes: DataSizes, settings: Any, n: int) -> Work:
    """One forward baseline (baselines/forward.py): trained on n samples, best epoch on a split of them, test."""
    c, h, k, t = sizes.channels, settings.hidden_size, sizes.classes, sizes.steps
    held_out = math.ceil(settings.validation_fraction * n) if settings.validation_fraction else 0
    fit = n - held_out
    params = lstm_parameters(c, h, k)
    batches = -(-fit // settings.batch_size)
    epoch = fit * (classifier_forward(c, h, k, t) + classifier_backward(c, h, k, t))
    epoch += Work(0, batches * params * (ADAM_OPS + CLIP_OPS)) + held_out * classifier_forward(c, h, k, t)
    return settings.epochs * epoch + sum(sizes.test) * classifier_forward(c, h, k, t)


def noise_settings(block: Mapping, subset: str) -> int:
    """Noise settings of one subset: its input × output levels."""
    grid = block["noise"][subset]
    labels = {(f"{float(i):g}", f"{float(o):g}") for i in grid["input"] for o in grid["output"]}
    return len(labels)


def start_count(starts: Any) -> int:
    """Starts per (target, module) of an extended variant: uniform 1, vertices 4, random as many as drawn."""
    per_kind = {"uniform": 1, "vertices": INPUTS, "random": starts.random_starts}
    return sum(per_kind[kind] for kind in starts.starts)


def count_rules(config: Mapping, sizes: Mapping[str, DataSizes]) -> dict[tuple[str, str], Work]:
    """Work of every computing rule, per data set: {(rule, dataset): Work}."""
    from mic import jobs  # the settings with their defaults, as the rule scripts build them

    replicates, subsets = int(config.get("replicates", 1)), list(config.get("subsets", SELECTIONS))
    work: dict[tuple[str, str], Work] = {}
    for name, block in config["datasets"].items():
        size = sizes[name]
        k, t, o = size.classes, size.steps, size.channels
        train = jobs.generator_settings(name, block["generator"], "0", "0")
        h = train.hidden_size
        inverse = jobs.inverse_settings(name, block["inverse"], 0)
        pair = inversion(h, o, t, inverse.iterations, inverse.final_loss == "raw")
        validation = block["validation"]["per_class"] * k
        targets = sum(size.test) + validation
        generators = sum(noise_settings(block, subset) for subset in subsets) * k * replicates
        one = generator_training(h, o, t, train.episodes, train.prototypes_per_step)
        work["train_generators", name] = generators * one
        settings = sum(noise_settings(block, subset) for subset in subsets) * replicates
        work["inverse_classify", name] = settings * targets * k * pair
        samples = sum(min(MODULE_LOSS_SAMPLES, n) for n in size.train)
        work["module_losses", name] = len(subsets) * replicates * samples * k * pair
        extended = Work()
        for group in jobs.variant_groups(name, block.get("extended", {}).get("variants", {})):  # shared inversions
            settings_v = jobs.inverse_settings(name, block["inverse"], 0, **group.overrides)
            pair_v = inversion(h, o, t, settings_v.iterations, settings_v.final_loss == "raw")
            runs = sum(subset in SELECTIONS for subset in subsets) * replicates
            extended += runs * targets * start_count(group.starts) * k * pair_v
        work["extended_inverse", name] = extended
        baseline = Work()
        for training_set in [s for s in subsets if s in SELECTIONS] + ["full"]:
            settings_b = jobs.baseline_settings(name, block["baseline"], training_set)
            n = sum(size.train) if training_set == "full" else INPUTS * k
            baseline += replicates * forward_baseline(size, settings_b, n)
        work["train_baseline", name] = baseline
    return work


# Config and data sizes --------------------------------------------------------------------------------------


def load_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> dict:
    """A config file with top-level keys overridden (as `snakemake --config`) and only_datasets applied."""
    config = yaml.safe_load(Path(path).read_text())
    config.update(overrides or {})
    only = config.get("only_datasets")
    return restrict_datasets(config, only, "only_datasets") if only else config


def restrict_datasets(config: Mapping, names: Sequence[str], where: str) -> dict:
    """The config with only the named data sets (in the config's order); `where` names the list in the error."""
    unknown = [name for name in names if name not in config["datasets"]]
    if unknown:
        raise ValueError(f"{where}: {', '.join(unknown)} not in datasets ({', '.join(config['datasets'])})")
    return {**config, "datasets": {name: block for name, block in config["datasets"].items() if name in names}}


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """KEY=VALUE strings as `snakemake --config` reads them (values as YAML)."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--config {item!r}: expected KEY=VALUE")
        overrides[key] = yaml.safe_load(value)
    return overrides


def run_sizes(path: Path) -> DataSizes:
    """Sizes of a prepared data set (results/<dataset>/data.npz of a run)."""
    from mic.data.preprocess import PreparedData

    data = PreparedData.load(path)
    k = len(data.class_names)
    _, t, c = data.sequences.shape
    train = np.bincount(data.labels[data.train_index], minlength=k)
    test = np.bincount(data.labels[data.test_index], minlength=k)
    return DataSizes(t, c, tuple(int(n) for n in train), tuple(int(n) for n in test))


def known_sizes(name: str, block: Mapping) -> DataSizes:
    """Sizes of a built-in source after the config's classes, split and subsampling, as preprocess computes them."""
    from mic import jobs
    from mic.data.datasets import RawDataset
    from mic.data.preprocess import select_classes, split_indices, subsample_per_class

    source = block["source"]
    if source not in KNOWN:
        raise ValueError(f"datasets.{name}: source {source!r} has no known sizes; give --workdir with a run of it")
    names, counts, t, channels = KNOWN[source]
    settings = jobs.preprocess_settings(name, block.get("preprocess"))
    if isinstance(counts, tuple):  # an official split
        train_n, test_n = counts
        labels = np.repeat(np.arange(len(names)), np.add(train_n, test_n))
        is_test = np.concatenate([np.arange(a + b) >= a for a, b in zip(train_n, test_n)])
    else:
        labels, is_test = np.repeat(np.arange(len(names)), counts), None
    raw = RawDataset([], labels, list(names), is_test)
    rows, labels, class_names = select_classes(raw, settings.classes)
    sub = RawDataset([], labels, class_names, None if is_test is None else is_test[rows])
    train, test = split_indices(labels, sub, settings)
    train = subsample_per_class(train, labels, settings.train_per_class, settings.split_seed)
    test = subsample_per_class(test, labels, settings.test_per_class, settings.split_seed + 1)
    k = len(class_names)
    c = len(settings.keep_channels) if settings.keep_channels is not None else channels
    count = lambda rows_: tuple(int(n) for n in np.bincount(labels[rows_], minlength=k))  # noqa: E731
    return DataSizes(t, c, count(train), count(test))


def data_sizes(config: Mapping, workdir: Path | None = None) -> tuple[dict[str, DataSizes], dict[str, str]]:
    """Sizes of every data set, from the run's data.npz where there is one, else the source's known sizes."""
    sizes, origin = {}, {}
    for name, block in config["datasets"].items():
        path = workdir / "results" / name / "data.npz" if workdir else None
        if path is not None and path.is_file():
            sizes[name], origin[name] = run_sizes(path), str(path)
        else:
            sizes[name], origin[name] = known_sizes(name, block), f"known sizes of {block['source']}"
    return sizes, origin


# The peak ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Peak:
    """Measured multiply-add peak of one core at the kernels' lane width."""

    flops: float  # FLOP per second, 2 per lane per multiply-add
    lanes: int
    isa: str
    variant: str


def measure_peak(seconds: float = 0.1, trials: int = 10, variant: str | None = None) -> Peak:
    """Time FMA_CHAINS independent chains of vector multiply-adds, built with mic.native's flags; the best trial.

    Timed in the thread's CPU time, so other processes sharing the core do not count; the best of several short
    trials, so a trial slowed by another process's cache or memory traffic does not either.
    """
    from mic import native

    variant = variant or native.variant()
    flags = (*native.FLAGS, *native.VARIANTS[variant], f"-DCHAINS={FMA_CHAINS}", f"-I{native.SOURCES}")
    with tempfile.TemporaryDirectory(prefix="mic-roofline-") as tmp:
        source, library = Path(tmp) / "peak.c", Path(tmp) / "peak.so"
        source.write_text(PEAK_SOURCE)
        command = [native._compiler(), *flags, "-o", str(library), str(source)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"compiling the peak loop failed:\n{done.stderr.strip()}")
        lib = ctypes.CDLL(str(library))
    lib.mic_fma_chains.argtypes = [ctypes.c_long, ctypes.c_float, ctypes.c_float]
    lib.mic_fma_chains.restype = ctypes.c_float
    lib.mic_lanes.restype, lib.mic_isa.restype = ctypes.c_int, ctypes.c_char_p
    lanes = native.lanes(lib)

    def rate(rounds: int) -> tuple[float, float]:
        start = time.thread_time()
        lib.mic_fma_chains(rounds, 0.999999, 1e-6)
        elapsed = time.thread_time() - start
        return 2.0 * FMA_CHAINS * lanes * rounds / elapsed, elapsed

    rounds = 100_000
    while (elapsed := rate(rounds)[1]) < 0.02:
        rounds *= 4
    rounds = max(1, int(rounds * seconds / elapsed))
    best = max(rate(rounds)[0] for _ in range(trials))
    return Peak(best, lanes, native.isa(lib), variant)


# Benchmarks of a run ----------------------------------------------------------------------------------------


def read_benchmarks(benchmarks: Path, datasets: Sequence[str] = ()) -> pd.DataFrame:
    """One row per job (rule, dataset, seconds) from benchmarks/<rule>/[<dataset>/]<job>.tsv.

    The data set is the folder below the rule's, or a known data set name that starts the file's name
    (`<dataset>.tsv`, `<dataset>_...tsv`); "" where neither names one.
    """
    paths = sorted(benchmarks.rglob("*.tsv")) if benchmarks.is_dir() else []
    folders = {p.relative_to(benchmarks).parts[1] for p in paths if len(p.relative_to(benchmarks).parts) > 2}
    names = sorted(set(datasets) | folders, key=len, reverse=True)
    rows = []
    for path in paths:
        parts = path.relative_to(benchmarks).parts
        if len(parts) < 2:
            continue
        dataset = parts[1] if len(parts) > 2 else ""
        if not dataset:
            dataset = next((n for n in names if path.stem == n or path.stem.startswith(f"{n}_")), "")
        try:
            seconds = float(pd.read_csv(path, sep="\t")["s"].astype(float).sum())
        except (OSError, KeyError, ValueError, pd.errors.EmptyDataError):
            continue
        rows.append((parts[0], dataset, seconds))
    return pd.DataFrame(rows, columns=["rule", "dataset", "seconds"])


def benchmark_wall(benchmarks: Path) -> float | None:
    """First job start (its file's time minus its seconds) to last job end, as `mic summary` takes it."""
    from mic.summary import benchmark_times

    times = benchmark_times(benchmarks)
    return None if times is None else times[0]


PARTS_FILE = "pipeline_parts.tsv"  # in a run's folder: one row per part that bench/pipeline_speed.py ran there
PART_COLUMNS = ["finished_utc", "datasets", "replicates", "cores", "wall_seconds", "reference_seconds", "peak_gflops"]


def record_part(workdir: Path, datasets: Sequence[str], replicates: int, cores: int, wall: float, reference: float,
                peak: Peak) -> None:  # fmt: skip
    """Add one finished part of a run (its data sets, wall time, reference loop and peak) to the run's parts file."""
    path = Path(workdir) / PARTS_FILE
    parts = pd.read_csv(path, sep="\t") if path.exists() else pd.DataFrame(columns=PART_COLUMNS)
    row = [time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), ",".join(datasets), replicates, cores, round(wall, 1),
           round(reference, 1), round(peak.flops / 1e9, 2)]  # fmt: skip
    parts.loc[len(parts)] = row
    tmp = path.with_name(f".{path.name}.tmp")
    parts.to_csv(tmp, sep="\t", index=False)
    os.replace(tmp, path)


def read_parts(workdir: Path) -> pd.DataFrame | None:
    """The parts file of a run's folder, or None."""
    path = Path(workdir) / PARTS_FILE
    if not path.exists():
        return None
    parts = pd.read_csv(path, sep="\t", dtype={"datasets": str})
    missing = [c for c in PART_COLUMNS if c not in parts.columns]
    if missing:
        raise ValueError(f"{path}: columns {', '.join(missing)} missing (expected {', '.join(PART_COLUMNS)})")
    return parts


def parts_ratio(config: Mapping, sizes: Mapping[str, DataSizes], parts: pd.DataFrame) -> tuple[float, float]:
    """(wall seconds, limit seconds) of a run done in parts: the parts' wall times summed (a part resumed in a later
    sitting adds each sitting's), and each part's matrix products at the peak measured at its first start, on its
    cores."""
    limit = 0.0
    for _, part in parts.drop_duplicates("datasets").iterrows():
        subset = restrict_datasets(config, part["datasets"].split(","), PARTS_FILE)
        work = sum(count_rules(subset, sizes).values(), Work())
        limit += work.matmul / (part["peak_gflops"] * 1e9) / part["cores"]
    return float(parts["wall_seconds"].sum()), limit


# Report -----------------------------------------------------------------------------------------------------


def weights_text() -> str:
    """The operation weights, one line."""
    names = ("RECIP", "RATIONAL", "DIVIDE", "SQRT", "GATE", "CELL_FORWARD", "CELL_BACKWARD", "LOSS", "ADAM")
    values = ", ".join(f"{n.lower()} {globals()[f'{n}_OPS']}" for n in names)
    return f"operation weights (operations per lane, {FLOP_PER_OP} FLOP each at the peak): {values}"


def roofline_table(work: Mapping[tuple[str, str], Work], peak: float, jobs: pd.DataFrame | None) -> pd.DataFrame:
    """Per rule and data set: job-minutes (with jobs), TFLOP and both limits in minutes at the peak; totals last."""
    keys = set(work)
    if jobs is not None:
        keys |= set(zip(jobs["rule"], jobs["dataset"]))
    order = {rule: n for n, rule in enumerate(WORK_RULES)}
    rows = []
    for rule, dataset in sorted(keys, key=lambda key: (order.get(key[0], len(order)), key[0], key[1])):
        w = work.get((rule, dataset), Work())
        row = {"rule": rule, "dataset": dataset}
        if jobs is not None:
            mine = jobs[(jobs["rule"] == rule) & (jobs["dataset"] == dataset)]["seconds"]
            row |= {"jobs": len(mine), "job_min": mine.sum() / 60}
        row |= {"matmul_TFLOP": w.matmul / 1e12, "other_Top": w.other / 1e12}
        row |= {"limit_min": w.matmul / peak / 60, "op_limit_min": w.ops_flop / peak / 60}
        rows.append(row)
    table = pd.DataFrame(rows)
    total = table.drop(columns=["rule", "dataset"]).sum()
    table.loc[len(table)] = {"rule": "total", "dataset": "", **total.to_dict()}
    if jobs is not None:
        table["jobs"] = table["jobs"].astype(int)
    return table


def report(
    config: Mapping,
    peak: Peak,
    workdir: Path | None = None,
    wall_seconds: float | None = None,
    cores: int = 2,
    out: Any = None,
    sizes: Mapping[str, DataSizes] | None = None,
) -> float | None:
    """Print the roofline of a config (and of a run, with workdir); returns the ratio, None without a run.

    sizes: the data sets' sizes, instead of the run's data.npz or the sources' known sizes.
    """
    out = out or sys.stdout
    if sizes is None:
        sizes, origin = data_sizes(config, workdir)
    else:
        origin = {name: "given" for name in sizes}
    work = count_rules(config, sizes)
    say = lambda text="": print(text, file=out, flush=True)  # noqa: E731
    say(f"peak: {peak.flops / 1e9:.1f} GFLOP/s per core ({peak.lanes} lanes, {peak.isa}, variant {peak.variant})")
    say(weights_text())
    for name, size in sizes.items():
        say(f"{name}: {sum(size.train)} train / {sum(size.test)} test, {size.classes} classes, "
            f"T={size.steps}, C={size.channels} ({origin[name]})")  # fmt: skip
    jobs = None
    if workdir is not None:
        jobs = read_benchmarks(workdir / "benchmarks", list(config["datasets"]))
    table = roofline_table(work, peak.flops, jobs)
    say(table.to_string(index=False, float_format=lambda v: f"{v:.1f}" if abs(v) >= 100 else f"{v:.4g}"))
    if jobs is not None:
        idle = sorted(set(jobs["rule"]) - set(WORK_RULES))
        say(f"counted as no work: {', '.join(idle) or 'none'}")
    total = sum(work.values(), Work())
    limit = total.matmul / peak.flops
    op_limit = total.ops_flop / peak.flops
    say(f"matmul limit: {total.matmul / 1e12:.4g} TFLOP = {limit / 60:.4g} job-min at the peak, "
        f"{limit / cores / 60:.4g} min on {cores} cores; op-count limit {op_limit / 60:.4g} job-min, "
        f"{op_limit / cores / 60:.4g} min on {cores} cores")  # fmt: skip
    if workdir is None:
        say("no run given (--workdir), so no wall time and no ratio: the above is a prediction")
        return None
    parts = read_parts(workdir) if wall_seconds is None else None
    limit_on_cores = limit / cores
    if parts is not None and len(parts):
        for part in parts.itertuples(index=False):
            say(f"part {part.datasets} (finished {part.finished_utc} UTC, {part.replicates} replicates, "
                f"{part.cores} cores): wall {part.wall_seconds / 60:.1f} min, reference loop "
                f"{part.reference_seconds:.1f} s, peak {part.peak_gflops:.1f} GFLOP/s per core")  # fmt: skip
        wall_seconds, limit_on_cores = parts_ratio(config, sizes, parts)
        how = f"the parts summed, from {PARTS_FILE}"
    elif wall_seconds is not None:
        how = "measured by the caller"
    else:
        wall_seconds = benchmark_wall(workdir / "benchmarks")
        how = "from the benchmark files: first job start (file time minus its seconds) to last job end"
        if wall_seconds is None:
            say(f"no benchmark files in {workdir / 'benchmarks'}: no wall time, no ratio")
            return None
    say(f"wall time: {wall_seconds / 60:.1f} min ({how}); job time {jobs['seconds'].sum() / 60:.1f} min")
    ratio = wall_seconds / limit_on_cores
    say(f"ratio: {ratio:.2f}")
    return ratio


def main() -> None:
    """Measure the peak, count the config's work, print the roofline (and the ratio of a run)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", default=str(REPO / "config" / "config.yaml"))
    parser.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE", help="override top-level keys")
    parser.add_argument("--replicates", type=int, default=None, help="override the config's replicates")
    parser.add_argument("--workdir", type=Path, default=None, help="a run's folder (benchmarks/, results/)")
    parser.add_argument("--wall-seconds", type=float, default=None, help="the run's wall time (else from benchmarks/)")
    parser.add_argument("--cores", type=int, default=2, help="cores the run had")
    parser.add_argument("--peak", type=float, default=None, help="GFLOP/s per core instead of measuring it")
    args = parser.parse_args()
    overrides = parse_overrides(args.config)
    if args.replicates:
        overrides["replicates"] = args.replicates
    config = load_config(args.configfile, overrides)
    if args.peak:
        from mic import native

        peak = Peak(args.peak * 1e9, native.lanes(native.load("invert")), "given", native.variant())
    else:
        peak = measure_peak()
    print(f"config: {args.configfile}" + (f", overrides {overrides}" if overrides else ""))
    report(config, peak, args.workdir, args.wall_seconds, args.cores)


if __name__ == "__main__":
    main()
