"""A job's settings, seeds and feasibility (mic.jobs): what the pipeline, `mic classify` and the estimator share."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mic import jobs
from mic.evidence.robustness import middle_fraction
from mic.seeding import derive_seed
from workflow_runner import load_test_config, snakemake, write_config

NEEDS = {"validation_per_class": 4, "validation_fraction": {"prototypes": 0.0, "full": 0.1}}


def test_replicate_zero_keeps_the_paper_seed_and_later_ones_differ() -> None:
    assert jobs.prototype_seed(2019, "mnist", "clustered", 0, paper_seed=42) == 42
    later = {jobs.prototype_seed(2019, "mnist", "clustered", rep, paper_seed=42) for rep in (1, 2, "3")}
    assert len(later) == 3 and 42 not in later


def test_a_generator_seed_names_the_generator_not_its_batch() -> None:
    both = jobs.generator_seeds(2019, "characters", "random", 1, "0.1", "0", ["a", "b"])
    alone = jobs.generator_seeds(2019, "characters", "random", 1, "0.1", "0", ["b"])
    assert both[1] == alone[0] and both[0] != both[1]


def test_each_stream_of_a_setting_is_its_own() -> None:
    setting = (2019, "characters", "clustered", "0", "0.1", "0")
    seeds = {
        jobs.inverse_seed(*setting),
        jobs.validation_inverse_seed(*setting),
        jobs.validation_seed(*setting[:4]),
        jobs.module_losses_seed(*setting[:4]),
        jobs.extended_seed(setting[0], "test", *setting[1:], "vertices"),
        jobs.extended_seed(setting[0], "validation", *setting[1:], "vertices"),
        jobs.random_starts_seed(jobs.inverse_seed(*setting)),
    }
    assert len(seeds) == 7
    # Replicates and noise levels enter as the strings of result paths: an int replicate is the same job.
    assert jobs.inverse_seed(2019, "mnist", "random", 2, "0", "0") == jobs.inverse_seed(
        2019, "mnist", "random", "2", "0", "0"
    )


def test_robustness_inputs_are_the_same_for_every_replicate_and_its_inversions_are_not() -> None:
    assert jobs.robustness_seed(2019, "mnist") != jobs.robustness_seed(2019, "characters")
    starts = {
        jobs.robustness_inverse_seed(2019, "mnist", subset, rep) for subset in ("clustered", "random") for rep in (0, 1)
    }
    assert len(starts) == 4 and jobs.robustness_seed(2019, "mnist") not in starts


def test_robustness_settings_come_from_the_block_or_are_switched_off() -> None:
    block = {"corruptions": {"gaussian": [0.5, 1]}, "fractions": [0.2, 0.05, 0.1], "samples": 50}
    settings = jobs.robustness_settings("mnist", block)
    assert settings.corruptions == {"gaussian": (0.5, 1)} and settings.samples == 50
    assert middle_fraction(settings.fractions) == 0.1  # the claim is decided at the middle of the sorted ones
    assert jobs.robustness_settings("mnist", {**block, "enabled": False}) is None
    assert jobs.robustness_settings("mnist", None) is None
    with pytest.raises(ValueError, match=r"datasets\.mnist\.robustness: unknown key\(s\) sample\b"):
        jobs.robustness_settings("mnist", {**block, "sample": 5})
    with pytest.raises(ValueError, match="corruptions.gaussian: expected one or more levels > 0"):
        jobs.robustness_settings("mnist", {"corruptions": {"gaussian": []}})


def test_estimator_seeds_depend_on_random_state_only() -> None:
    a, b = jobs.estimator_seeds(0, ["x", "y"]), jobs.estimator_seeds(0, ["y"])
    assert a["generators"][1] == b["generators"][0] and a["inverse"] == b["inverse"]
    assert jobs.estimator_seeds(1, ["x"])["inverse"] != a["inverse"]
    assert a["inverse"] != derive_seed(0, "inverse")


def test_a_variant_splits_into_starts_and_inverse_overrides() -> None:
    starts, overrides = jobs.variant_settings("mnist", "many", {"starts": ["uniform", "vertices"], "iterations": 80})
    assert starts.starts == ("uniform", "vertices") and overrides == {"iterations": 80}
    inverse = jobs.inverse_settings("mnist", {"iterations": 50}, seed=7, **overrides)
    assert inverse.iterations == 80 and inverse.seed == 7


def test_an_unknown_key_names_its_place_in_the_config() -> None:
    with pytest.raises(ValueError, match=r"datasets\.mnist\.generator: unknown key\(s\) hidden"):
        jobs.generator_settings("mnist", {"hidden": 10}, "0", "0")


def test_the_model_hash_follows_only_the_keys_that_make_models() -> None:
    config = load_test_config()
    before = jobs.model_origin(config, "mnist")
    config["datasets"]["mnist"]["baseline"]["hidden_size"] = 99
    assert jobs.model_origin(config, "mnist") == before
    config["datasets"]["mnist"]["generator"]["hidden_size"] = 99
    assert jobs.model_origin(config, "mnist")["config_sha256"] != before["config_sha256"]


@pytest.mark.parametrize(
    ("counts", "needs", "message"),
    [
        ({"a": 3, "b": 9}, NEEDS, r"class 'a' has 3 training samples, fewer than its 4 prototypes"),
        ({"a": 7, "b": 9}, NEEDS, r"datasets\.toy\.validation\.per_class: 4 .* the largest value that works is 3"),
        (
            {str(k): 7 for k in range(10)},
            {**NEEDS, "validation_per_class": 1},
            r"datasets\.toy\.baseline\.full\.validation_fraction: 0\.1 holds out 7 of 70 .* smallest value that works "
            r"is 0\.143",
        ),
    ],
)
def test_a_config_that_cannot_run_names_the_key_the_value_and_what_works(counts, needs, message) -> None:
    with pytest.raises(jobs.InfeasibleConfig, match=message):
        jobs.check_feasible("toy", needs, counts)


def test_a_config_that_fits_passes() -> None:
    jobs.check_feasible("toy", NEEDS, {"a": 8, "b": 30})
    jobs.check_feasible("toy", {**NEEDS, "validation_fraction": {"prototypes": 0.0, "full": 0.0}}, {"a": 8})


def test_an_own_data_set_too_small_for_the_config_stops_before_the_first_job(tmp_path) -> None:
    """10 classes of 10 samples: the stratified 10 % split of the full baseline cannot hold one sample per class."""
    rng = np.random.default_rng(0)
    path = tmp_path / "small.npz"
    np.savez(path, sequences=rng.normal(size=(100, 12, 2)), labels=np.repeat(np.arange(10), 10))
    config = load_test_config()
    own = dict(config["datasets"]["characters"])
    own.update(source="npz", path=str(path), plot_style="lines")
    own["preprocess"] = {"split": "stratified", "test_fraction": 0.3}
    own["validation"] = {"per_class": 1}
    own["baseline"] = {**own["baseline"], "full": {"epochs": 1, "batch_size": 8, "validation_fraction": 0.1}}
    own.pop("extended")
    config["datasets"] = {"small": own}
    config["subsets"] = ["clustered"]
    config["datasets"]["small"]["noise"] = {"clustered": {"input": [0], "output": [0]}}
    result = snakemake(tmp_path, write_config(tmp_path, config), "-n", "--cores", "1", timeout=300)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "datasets.small.baseline.full.validation_fraction: 0.1" in output, output[-3000:]
    assert "smallest value that works" in output


def test_the_kernel_jobs_start_without_the_libraries_they_do_not_call() -> None:
    """Every job pays its imports before its first kernel call: sklearn, scipy.stats and matplotlib cost seconds."""
    scripts = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
    lines = {
        line
        for name in ("train_generators", "inverse_classify", "train_baseline", "preprocess")
        for line in (scripts / f"{name}.py").read_text().splitlines(True)
        if line.startswith(("import ", "from "))
    }  # their union: a library none of them loads is missing from all
    check = "import sys; print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", "".join(lines) + check], capture_output=True, text=True, check=True)
    assert not {"sklearn", "scipy.stats", "matplotlib"} & set(ast.literal_eval(loaded.stdout))


def test_variants_with_the_same_starts_share_their_inversions() -> None:
    variants = {
        "vertices": {"starts": ["uniform", "vertices"]},
        "vertices_dtw": {"starts": ["uniform", "vertices"], "decision": "dtw"},
        "random": {"starts": ["uniform", "random"], "random_starts": 3},
        "long": {"starts": ["uniform", "vertices"], "iterations": 100},
    }
    groups = jobs.variant_groups("characters", variants)
    assert [(g.key, g.decisions) for g in groups] == [
        ("uniform+vertices", {"vertices": "mse", "vertices_dtw": "dtw"}),
        ("uniform+random3", {"random": "mse"}),
        ("uniform+vertices+iterations=100", {"long": "mse"}),
    ]
    assert groups[2].overrides == {"iterations": 100} and groups[0].starts.decision == "mse"
    assert [g.seed_variant for g in groups] == ["vertices", "random", "long"]
