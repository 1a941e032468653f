"""The real rules, run by Snakemake on slices of the real data (tests/config/config.yaml), end to end."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from mic import layout
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes, PrototypeSettings, select_prototypes
from mic.model.checkpoint import load_checkpoint
from workflow_runner import TEST_CONFIG, load_test_config, snakemake

pytestmark = pytest.mark.integration
CONFIG = load_test_config()


def setting(dataset: str, subset: str, noise_in: float, noise_out: float, rep: int = 0) -> Path:
    """The folder of one generator set (replicate 0 unless given)."""
    noise = {"noise_in": layout.noise_label(noise_in), "noise_out": layout.noise_label(noise_out)}
    return Path(layout.fill(layout.SETTING, dataset=dataset, subset=subset, rep=rep, **noise))


def test_preprocessed_splits(run: Path) -> None:
    chars = PreparedData.load(run / layout.fill(layout.DATA, dataset="characters"))
    assert chars.class_names == ["a", "b", "c"] and chars.sequences.shape[1:] == (205, 2)
    assert np.bincount(chars.labels[chars.train_index]).tolist() == [12, 12, 12]
    mnist = PreparedData.load(run / layout.fill(layout.DATA, dataset="mnist"))
    assert mnist.sequences.shape[1:] == (28, 28) and mnist.sequences.max() <= 1.0
    assert (run / "resources/mnist/provenance.json").is_file()


@pytest.mark.parametrize("dataset", ["characters", "mnist"])
@pytest.mark.parametrize("subset", ["clustered", "random"])
def test_prototypes_per_replicate_and_figures(run: Path, dataset: str, subset: str) -> None:
    """Replicate 0 keeps the paper's seed; every replicate re-draws the random prototypes and the k-means start."""
    found = []
    for rep in range(CONFIG["replicates"]):
        wildcards = {"dataset": dataset, "subset": subset, "rep": rep}
        prototypes = Prototypes.load(run / layout.fill(layout.PROTOTYPES, **wildcards))
        assert prototypes.sequences.shape[1] == 4
        assert prototypes.representation == ("random" if subset == "random" else "mean")
        assert (run / layout.fill(layout.PROTOTYPE_FIGURE, **wildcards)).stat().st_size > 1000
        found.append(prototypes)
    data = PreparedData.load(run / layout.fill(layout.DATA, dataset=dataset))
    settings = PrototypeSettings(**CONFIG["datasets"][dataset]["prototypes"])
    paper = select_prototypes(data, subset, settings)  # replicate 0: the configured seed (the paper's 42)
    np.testing.assert_array_equal(found[0].sequences, paper.sequences)
    assert not np.array_equal(found[0].members, found[1].members) or not np.array_equal(
        found[0].sequences, found[1].sequences
    )


def test_every_generator_has_its_checkpoint(run: Path) -> None:
    for dataset, spec in CONFIG["datasets"].items():
        for subset, grid in spec["noise"].items():
            for rep in range(CONFIG["replicates"]):
                for noise_in in grid["input"]:
                    for noise_out in grid["output"]:
                        folder = run / setting(dataset, subset, noise_in, noise_out, rep)
                        for name in spec["preprocess"]["classes"]:
                            ckpt = load_checkpoint(folder / "generators" / f"{name}.pt")
                            assert ckpt.settings.noise_in == noise_in and ckpt.settings.noise_out == noise_out
                            assert ckpt.extra["class"] == name and ckpt.extra["replicate"] == rep
                            assert ckpt.device == "cpu"


def test_replicates_trained_together_equal_replicates_trained_alone(run: Path) -> None:
    """The job trains every replicate at once; a generator's result must not depend on what it was trained beside."""
    import torch

    from mic.model.training import TrainSettings, train_generators

    spec = CONFIG["datasets"]["mnist"]
    rep = CONFIG["replicates"] - 1
    prototypes = Prototypes.load(run / layout.fill(layout.PROTOTYPES, dataset="mnist", subset="random", rep=rep))
    folder = run / setting("mnist", "random", 0, 0, rep) / "generators"
    stored = [load_checkpoint(folder / f"{name}.pt") for name in spec["preprocess"]["classes"]]
    alone = train_generators(
        torch.from_numpy(prototypes.sequences), TrainSettings(**spec["generator"]), [c.seed for c in stored]
    )
    for k, ckpt in enumerate(stored):
        for name, tensor in ckpt.state.items():
            assert torch.equal(tensor, alone.bank.tensors()[list(ckpt.state).index(name)][k]), name


def test_inverse_classification_tables(run: Path) -> None:
    folder = run / setting("characters", "clustered", 0, 0)
    predictions = pd.read_csv(folder / "predictions.tsv", sep="\t")
    iterations = CONFIG["datasets"]["characters"]["inverse"]["iterations"]
    assert sorted(predictions["iterations"].unique()) == [0, iterations]
    assert len(predictions) == 2 * 3 * CONFIG["datasets"]["characters"]["preprocess"]["test_per_class"]
    summary = pd.read_csv(folder / "summary.tsv", sep="\t")
    overall = summary[summary["class"] == "all"]
    assert overall["accuracy"].between(0, 1).all() and (overall["mse"] > 0).all()
    heatmap = pd.read_csv(folder.parent.parent / "heatmap.tsv", sep="\t", dtype={"noise_in": str, "noise_out": str})
    assert set(heatmap["split"]) == {"train", "test"} and len(heatmap) == CONFIG["replicates"] * 2 * 3 * 3
    grid = [
        (str(i), str(o))
        for i in CONFIG["datasets"]["characters"]["noise"]["clustered"]["input"]
        for o in CONFIG["datasets"]["characters"]["noise"]["clustered"]["output"]
    ]
    assert len(heatmap[["noise_in", "noise_out"]].drop_duplicates()) == 1  # the best model only
    assert tuple(heatmap[["noise_in", "noise_out"]].iloc[0]) in grid


def test_baselines(run: Path) -> None:
    for training_set in ["clustered", "random", "full"]:
        summary = pd.read_csv(
            run / layout.fill(layout.BASELINE, dataset="mnist", training_set=training_set, rep=0) / "summary.tsv",
            sep="\t",
        )
        assert summary["class"].iloc[0] == "all" and 0 <= summary["accuracy"].iloc[0] <= 1
    nearest = pd.read_csv(
        run / layout.fill(layout.NEAREST_PROTOTYPE, dataset="characters", subset="clustered", rep=1), sep="\t"
    )
    assert set(nearest["metric"]) == {"euclidean", "dtw"}


def test_report_renders_without_errors_or_warnings(run: Path) -> None:
    notebook = nbformat.read(run / layout.REPORT / "report.ipynb", as_version=4)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]
    html = (run / layout.REPORT / "report.html").read_text()
    assert "Table 1" in html and "Table 13" in html


def test_rerun_has_nothing_to_do(run: Path) -> None:
    result = snakemake(run, TEST_CONFIG, "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr


def test_deleting_one_checkpoint_retrains_only_its_generator_set(run: Path) -> None:
    """Only the training job of that (data set, subset, noise) setting reruns, and what reads its checkpoints."""
    folder = run / setting("characters", "clustered", 0.1, 0, rep=1) / "generators"
    os.remove(folder / "b.pt")
    plan = snakemake(run, TEST_CONFIG, "-n", "--quiet", "rules")
    assert plan.returncode == 0, plan.stderr
    rows = dict(
        line.split()[:2]
        for line in (plan.stdout + plan.stderr).splitlines()
        if line.split()[1:2] and line.split()[1].isdigit()
    )
    assert rows.get("train_generators_characters") == "1" and "train_generators_mnist" not in rows
    assert rows.get("inverse_classify") == str(CONFIG["replicates"])  # that setting's inversion, every replicate
    assert not {"preprocess", "select_prototypes", "train_baseline", "nearest_prototype"} & set(rows)


def test_inversion_variants_beyond_the_paper(run: Path) -> None:
    """Every configured variant ran on each replicate's best setting, scored on test and validation samples."""
    for dataset, spec in CONFIG["datasets"].items():
        for variant in spec["extended"]["variants"]:
            for rep in range(CONFIG["replicates"]):
                wildcards = {"dataset": dataset, "subset": "clustered", "rep": rep, "variant": variant}
                table = pd.read_csv(run / layout.fill(layout.EXTENDED, **wildcards), sep="\t", dtype={"class": str})
                overall = table[table["class"] == layout.ALL]
                assert set(overall["split"]) == {"test", "validation"} and set(overall["model"]) == {"best"}
                assert overall["accuracy"].between(0, 1).all()
    html = (run / layout.REPORT / "report.html").read_text()
    assert "Beyond the paper" in html and "extended MIC beats 1-NN" in html


def test_robustness_jobs_beyond_the_paper(run: Path) -> None:
    """Every data set with a robustness block ran it on the paper's two subsets, every replicate; the tables are
    collected and the report has its section."""
    for dataset, spec in CONFIG["datasets"].items():
        block = spec["robustness"]
        for subset in ("clustered", "random"):
            for rep in range(CONFIG["replicates"]):
                where = {"dataset": dataset, "subset": subset, "rep": rep}
                read = lambda name, where=where: pd.read_csv(  # noqa: E731
                    run / layout.fill(layout.robustness_file(name), **where), sep="\t"
                )
                corruptions = read("corruptions")
                kinds = {layout.CLEAN, *block["corruptions"]}
                assert set(corruptions["kind"]) == kinds and (corruptions["samples"] == block["samples"]).all()
                methods = set(layout.ROBUSTNESS_METHODS) - (
                    {"mic_extended"} if block.get("extended") is False else set()
                )
                assert set(corruptions["method"]) == methods
                outliers = read("outliers")
                assert outliers["auroc"].between(0, 1).all() and set(outliers["outlier_set"]) == {"noise", "reversed"}
                attacks = read("attacks")
                white = attacks[attacks["attack"] == "white-box"]
                assert set(white["method"]) == {"mic", "forward_prototypes", "forward_full"}
                assert set(attacks["fraction"]) == {0.0, *block["fractions"]}
                # accuracy under attack never exceeds the clean accuracy of the same samples
                for _, curve in white.groupby(["method", "norm"]):
                    assert curve.sort_values("fraction")["accuracy"].is_monotonic_decreasing
                gradients = read("gradients")
                assert len(gradients) == (2 * block.get("gradient_check", 2) if rep == 0 else 0)
    collected = pd.read_csv(layout.table_file("robustness_attacks", run / layout.TABLES), sep="\t")
    assert set(collected["dataset"]) == set(CONFIG["datasets"]) and set(collected["rep"]) == set(
        range(CONFIG["replicates"])
    )
    html = (run / layout.REPORT / "report.html").read_text()
    assert "Are the paper&#39;s robustness claims true?" in html or "Are the paper's robustness claims true?" in html
