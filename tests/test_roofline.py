"""bench/roofline.py: the work of every rule against hand counts, the benchmark reading, the peak measurement."""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import roofline  # noqa: E402
from roofline import DataSizes, Work  # noqa: E402

# One data set, 2 classes, T=3, H=2, O=1, 2 episodes, 1 iteration, one noise setting, one replicate.
TINY = {
    "replicates": 1,
    "subsets": ["clustered"],
    "datasets": {
        "toy": {
            "source": "npz",
            "generator": {"hidden_size": 2, "episodes": 2},
            "noise": {"clustered": {"input": [0], "output": [0]}},
            "validation": {"per_class": 1},
            "inverse": {"iterations": 1},
            "extended": {"variants": {"vertices": {"starts": ["uniform", "vertices"]}}},
            "baseline": {
                "hidden_size": 3,
                "prototypes": {"epochs": 1, "batch_size": 8},
                "full": {"epochs": 1, "batch_size": 4, "validation_fraction": 0.2},
            },
        }
    },
}
SIZES = {"toy": DataSizes(steps=3, channels=1, train=(5, 6), test=(2, 3))}

# Non-matrix operations per hidden unit and step (gates and cell forward, cell backward), per output value
# and step (loss), per Adam parameter, per projected entry: the weights the module states.
FORWARD_UNIT = roofline.GATE_OPS + roofline.CELL_FORWARD_OPS
BACKWARD_UNIT = roofline.CELL_BACKWARD_OPS
LOSS, ADAM, DIVIDE = roofline.LOSS_OPS, roofline.ADAM_OPS, roofline.DIVIDE_OPS

# One generator sequence, H=2 (4H=8 gate rows), input 4, O=1, T=3. Forward: w_in at t=0, w_hh at t=1, 2,
# w_out at every step.
FORWARD = 2 * 8 * 4 + 2 * (2 * 8 * 2) + 3 * (2 * 1 * 2)
FORWARD_OTHER = 3 * (2 * FORWARD_UNIT + 1 * LOSS)
# Training backward: dh from the output error (3 steps), dh through w_hh (steps 2, 1), w_hh's gradient
# (2 steps), w_in's (t=0), w_out's (3 steps); the bias gradients are sums (4H + O per step).
TRAIN_BACKWARD = 3 * (2 * 2 * 1) + 2 * (2 * 2 * 8) + 2 * (2 * 2 * 8) + 2 * 4 * 8 + 3 * (2 * 1 * 2)
TRAIN_BACKWARD_OTHER = 3 * 2 * BACKWARD_UNIT + 3 * (8 + 1)
PARAMETERS = 8 * 4 + 8 * 2 + 8 + 8 + 1 * 2 + 1  # w_ih, w_hh, b_ih, b_hh, w_out, b_out


def test_generator_training_against_a_hand_count():
    # 2 steps of one sequence each (b_ih + b_hh summed per sequence, then Adam), then the clean loss of the
    # kept and the final weights on the 4 prototypes; 2 classes x 1 replicate x 1 noise setting.
    step = FORWARD + TRAIN_BACKWARD
    step_other = FORWARD_OTHER + TRAIN_BACKWARD_OTHER + 8 + PARAMETERS * ADAM
    one = Work(2 * step + 2 * 4 * FORWARD, 2 * step_other + 2 * 4 * FORWARD_OTHER)
    assert FORWARD == 140 and TRAIN_BACKWARD == 216 and PARAMETERS == 67
    work = roofline.count_rules(TINY, SIZES)
    assert work["train_generators", "toy"] == 2 * one
    assert work["train_generators", "toy"].matmul == 2 * (2 * 356 + 8 * 140)


# One (target, module) pair of the inversion, 1 iteration: 2 forwards (each with the loss's mean, a divide),
# 1 backward to the input (dh from the output error, dh through w_hh, then d input = w_ih^T dz at t=0) with
# Adam on the 4 entries, and 2 projections (4 entries clipped, summed, divided; the sum's floor).
INPUT_BACKWARD = 3 * (2 * 2 * 1) + 2 * (2 * 2 * 8) + 2 * 8 * 4
PAIR = Work(
    2 * FORWARD + INPUT_BACKWARD,
    2 * (FORWARD_OTHER + DIVIDE) + (3 * 2 * BACKWARD_UNIT + 4 * ADAM) + 2 * (4 * (3 + DIVIDE) + 1),
)


def test_inversions_against_hand_counts():
    assert PAIR.matmul == 420
    work = roofline.count_rules(TINY, SIZES)
    # 5 test targets + 1 validation sample per class, against both modules, one setting.
    assert work["inverse_classify", "toy"] == (5 + 2) * 2 * PAIR
    # Figure 7: up to 20 training samples per class (5 and 6 here), one subset, one replicate.
    assert work["module_losses", "toy"] == (5 + 6) * 2 * PAIR
    # uniform (1) and vertices (4) starts as extra targets, on clustered (the one subset), one replicate.
    assert work["extended_inverse", "toy"] == (5 + 2) * 5 * 2 * PAIR
    # a second variant with the same starts, deciding by DTW, shares the inversions: no more work
    variants = {
        "vertices": {"starts": ["uniform", "vertices"]},
        "dtw": {"starts": ["uniform", "vertices"], "decision": "dtw"},
    }
    shared = {**TINY, "datasets": {"toy": {**TINY["datasets"]["toy"], "extended": {"variants": variants}}}}
    assert roofline.count_rules(shared, SIZES)["extended_inverse", "toy"] == work["extended_inverse", "toy"]


def test_forward_baselines_against_hand_counts():
    # nn.LSTM(1, 3) + Linear(3, 2) over T=3: both products at every step (4H=12 rows), the readout once.
    forward = 3 * (2 * 12 * 1 + 2 * 12 * 3) + 2 * 3 * 2
    forward_other = 3 * 3 * FORWARD_UNIT
    # Backward: w_ih's and w_hh's gradients and dh through w_hh at every step, the readout's gradient and dh.
    backward = 3 * (2 * 12 * 1 + 2 * 12 * 3 + 2 * 12 * 3) + 2 * (2 * 3 * 2)
    backward_other = 3 * 3 * BACKWARD_UNIT + 3 * 12
    parameters = 12 * 1 + 12 * 3 + 12 + 12 + 3 * 2 + 2
    update = parameters * (ADAM + roofline.CLIP_OPS)  # Adam and gradient clipping, per batch
    sample = Work(forward + backward, forward_other + backward_other)
    test = 5 * Work(forward, forward_other)  # prediction on the 5 test samples
    # clustered: the 8 prototypes (4 per class), 1 epoch, 1 batch of 8, no held-out part.
    prototypes = 8 * sample + Work(0, 1 * update) + test
    # full: 11 training samples, ceil(0.2 * 11) = 3 held out and scored each epoch, 8 fitted in 2 batches of 4.
    full = 8 * sample + Work(0, 2 * update) + 3 * Work(forward, forward_other) + test
    assert forward == 300 and backward == 528
    assert roofline.count_rules(TINY, SIZES)["train_baseline", "toy"] == prototypes + full


def test_replicates_and_noise_settings_multiply():
    bigger = {**TINY, "replicates": 3}
    noise = {"clustered": {"input": [0, 0.1], "output": [0]}}
    bigger["datasets"] = {"toy": {**TINY["datasets"]["toy"], "noise": noise}}
    small, large = roofline.count_rules(TINY, SIZES), roofline.count_rules(bigger, SIZES)
    assert large["train_generators", "toy"] == 6 * small["train_generators", "toy"]
    assert large["inverse_classify", "toy"] == 6 * small["inverse_classify", "toy"]
    assert large["module_losses", "toy"] == 3 * small["module_losses", "toy"]  # the best setting only
    assert large["extended_inverse", "toy"] == 3 * small["extended_inverse", "toy"]


def test_known_sizes_split_as_preprocess_does():
    config = roofline.load_config(roofline.REPO / "config" / "config.yaml", {"only_datasets": ["characters"]})
    assert list(config["datasets"]) == ["characters"]
    sizes = roofline.known_sizes("characters", config["datasets"]["characters"])
    # The training split of the paper config's run (results/characters/data.npz), per class.
    train = [137, 113, 113, 125, 149, 110, 102, 139, 100, 104, 113, 105, 99, 95, 106, 105, 124, 100, 110, 137]
    assert (sizes.steps, sizes.channels, list(sizes.train), sum(sizes.test)) == (205, 2, train, 572)
    mnist = roofline.known_sizes("mnist", {"source": "mnist", "preprocess": {"split": "official"}})
    assert (sum(mnist.train), sum(mnist.test), mnist.classes, mnist.channels) == (60000, 10000, 10, 28)


def write_benchmark(root: Path, relative: str, seconds: float, end: float) -> None:
    path = root / "benchmarks" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:00\t100.0\n")
    os.utime(path, (end, end))


def test_benchmarks_are_read_per_rule_and_data_set(tmp_path):
    write_benchmark(tmp_path, "train_generators/toy/clustered_in0_out0.tsv", 120.0, 1000.0)
    write_benchmark(tmp_path, "inverse_classify/toy/clustered_rep0_in0_out0.tsv", 60.0, 1100.0)
    write_benchmark(tmp_path, "module_losses/toy_clustered.tsv", 30.0, 1200.0)
    write_benchmark(tmp_path, "preprocess/toy.tsv", 10.0, 500.0)
    write_benchmark(tmp_path, "report/report.tsv", 6.0, 1500.0)
    jobs = roofline.read_benchmarks(tmp_path / "benchmarks", ["toy"])
    found = {(rule, dataset): seconds for rule, dataset, seconds in jobs.itertuples(index=False)}
    assert found == {
        ("train_generators", "toy"): 120.0,
        ("inverse_classify", "toy"): 60.0,
        ("module_losses", "toy"): 30.0,
        ("preprocess", "toy"): 10.0,
        ("report", ""): 6.0,
    }
    # The first job starts at 500 - 10, the last ends at 1500.
    assert roofline.benchmark_wall(tmp_path / "benchmarks") == pytest.approx(1010.0)

    peak = roofline.Peak(1e6, 8, "avx", "native")  # 1 MFLOP/s, so the tiny counts take seconds
    out = io.StringIO()
    ratio = roofline.report(TINY, peak, tmp_path, cores=2, out=out, sizes=SIZES)
    lines = out.getvalue().splitlines()
    matmul = sum(roofline.count_rules(TINY, SIZES).values(), Work()).matmul
    assert ratio == pytest.approx(1010.0 / (matmul / 1e6 / 2))
    assert lines[-1] == f"ratio: {ratio:.2f}"
    assert any("from the benchmark files" in line for line in lines)
    table = "\n".join(lines)
    assert "train_generators" in table and "report" in table and "total" in table

    out = io.StringIO()
    assert roofline.report(TINY, peak, tmp_path, wall_seconds=600.0, cores=1, out=out, sizes=SIZES) == pytest.approx(
        600.0 / (matmul / 1e6)
    )
    assert "measured by the caller" in out.getvalue()


def test_a_run_in_parts_sums_their_wall_times_and_limits(tmp_path):
    # Two data sets run as two parts into one folder, the second resumed in a later sitting; each part's limit
    # is at the peak measured at its first start.
    two = {**TINY, "datasets": {"toy": TINY["datasets"]["toy"], "other": TINY["datasets"]["toy"]}}
    sizes = {**SIZES, "other": SIZES["toy"]}
    write_benchmark(tmp_path, "preprocess/toy.tsv", 10.0, 500.0)
    record = lambda datasets, wall, gflops: roofline.record_part(  # noqa: E731
        tmp_path, datasets, 1, 2, wall, 50.0, roofline.Peak(gflops * 1e9, 8, "avx", "native")
    )
    record(["toy"], 600.0, 1.0)
    record(["other"], 300.0, 2.0)
    record(["other"], 100.0, 4.0)  # resumed: adds its wall time, keeps the part's first peak
    one = sum(roofline.count_rules(TINY, SIZES).values(), Work()).matmul
    out = io.StringIO()
    ratio = roofline.report(two, roofline.Peak(1e9, 8, "avx", "native"), tmp_path, cores=2, out=out, sizes=sizes)
    assert ratio == pytest.approx(1000.0 / (one / 1e9 / 2 + one / 2e9 / 2))
    lines = out.getvalue().splitlines()
    assert sum(line.startswith("part ") for line in lines) == 3 and "the parts summed" in out.getvalue()
    assert lines[-1] == f"ratio: {ratio:.2f}"
    (tmp_path / roofline.PARTS_FILE).write_text("datasets\twall_seconds\ntoy\t1\n")
    with pytest.raises(ValueError, match="columns .*missing"):
        roofline.report(two, roofline.Peak(1e9, 8, "avx", "native"), tmp_path, out=io.StringIO(), sizes=sizes)


def test_without_a_run_there_is_no_ratio():
    out = io.StringIO()
    assert roofline.report(TINY, roofline.Peak(1e9, 8, "avx", "native"), out=out, sizes=SIZES) is None
    assert not any(line.startswith("ratio:") for line in out.getvalue().splitlines())
    assert "prediction" in out.getvalue().splitlines()[-1]


def test_peak_is_measured_quickly():
    start = time.perf_counter()
    peak = roofline.measure_peak(seconds=0.02, trials=3)
    assert time.perf_counter() - start < 10.0
    assert 0 < peak.flops < 1e12
    assert peak.lanes in (8, 16)
