"""The report notebook runs end to end (papermill) on a small fake result folder of the pipeline's format.

`write_fake_results` writes every per-job file the report reads, in exactly the format of the MIC,
baseline and nearest-prototype rules, with made-up numbers; test_report_tables.py uses it too.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from mic import layout
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes
from mic.evidence import claims, collect, selection
from mic.layout import noise_label
from mic.report import printing

FAKE_CONFIG = {
    "seed": 2019,
    "replicates": 3,
    "subsets": ["clustered", "random"],
    "datasets": {
        "characters": {
            "source": "character_trajectories",
            "plot_style": "path",
            "preprocess": {"classes": ["a", "b", "c"]},
            "noise": {
                "clustered": {"input": [0, 0.1, 0.2], "output": [0, 0.0001, 0.0002]},
                "random": {"input": [0], "output": [0]},
            },
            "inverse": {"iterations": 5},
        },
        "mnist": {
            "source": "mnist",
            "plot_style": "image",
            "preprocess": {"classes": ["0", "1", "7"]},
            "noise": {
                "clustered": {"input": [0], "output": [0, 0.1]},
                "random": {"input": [0], "output": [0]},
            },
            "inverse": {"iterations": 5},
        },
    },
}
SHAPES = {"characters": (205, 2), "mnist": (28, 28)}


def mic_runs(config: dict) -> list[dict]:
    """(dataset, subset, rep, noise_in, noise_out) of every MIC configuration of a config."""
    runs = []
    for dataset, spec in config["datasets"].items():
        for subset in config["subsets"]:
            grid = spec["noise"][subset]
            for rep in range(config["replicates"]):
                for noise_in in grid["input"]:
                    for noise_out in grid["output"]:
                        runs.append(
                            {
                                "dataset": dataset,
                                "subset": subset,
                                "rep": rep,
                                "noise_in": noise_label(noise_in),
                                "noise_out": noise_label(noise_out),
                            }
                        )
    return runs


def run_dir(root: Path, run: dict) -> Path:
    return root / layout.fill(layout.SETTING, **run)


def _tsv(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep="\t", index=False)


def write_fake_results(root: Path, config: dict = FAKE_CONFIG, seed: int = 0) -> dict[str, list]:
    """Write data, prototypes and every per-job result file under root/results; return the file lists."""
    rng = np.random.default_rng(seed)
    files: dict[str, list] = {"summary": [], "training": [], "loss_curves": [], "predictions": [], "validation": []}
    for dataset, spec in config["datasets"].items():
        classes = spec["preprocess"]["classes"]
        shape = SHAPES[dataset]
        per_class, test_per_class = 8, 6
        labels = np.repeat(np.arange(len(classes)), per_class + test_per_class)
        sequences = rng.random((len(labels), *shape)).astype(np.float32)
        if spec["plot_style"] == "path":
            sequences = np.cumsum(sequences - 0.5, axis=1)
        is_test = np.tile(np.r_[np.zeros(per_class, bool), np.ones(test_per_class, bool)], len(classes))
        rows = np.arange(len(labels))
        data = PreparedData(
            sequences, labels, classes, rows[~is_test], rows[is_test], np.zeros(shape[1]), np.ones(shape[1]), rows
        )
        data.save(root / layout.fill(layout.DATA, dataset=dataset))
        for subset in config["subsets"]:
            index = np.stack([rows[~is_test][labels[~is_test] == k][:4] for k in range(len(classes))])
            for rep in range(config["replicates"]):
                key = {"dataset": dataset, "subset": subset, "rep": rep}
                representation = "random" if subset == "random" else "mean"
                Prototypes(sequences[index], index, classes, subset, representation, index[..., None]).save(
                    layout.under(root / layout.RESULTS, layout.PROTOTYPES, **key)
                )
                _tsv(
                    layout.under(root / layout.RESULTS, layout.NEAREST_PROTOTYPE, **key),
                    _accuracy_rows(
                        rng,
                        classes,
                        test_per_class,
                        ["euclidean", "dtw"] if dataset == "characters" else ["euclidean"],
                        "metric",
                    ),
                )
        for training_set in [*config["subsets"], "full"]:
            for rep in range(config["replicates"]):
                folder = root / layout.fill(layout.BASELINE, dataset=dataset, training_set=training_set, rep=rep)
                _tsv(folder / "summary.tsv", _accuracy_rows(rng, classes, test_per_class))
                history = pd.DataFrame(
                    {
                        "epoch": range(5),
                        "train_loss": np.linspace(2, 0.5, 5),
                        "train_accuracy": np.linspace(0.3, 0.9, 5),
                    }
                )
                _tsv(folder / "history.tsv", history)
    for run in mic_runs(config):
        spec = config["datasets"][run["dataset"]]
        folder = run_dir(root, run)
        validation = layout.under(root / layout.RESULTS, layout.VALIDATION_SUMMARY, **run)
        classes, k = spec["preprocess"]["classes"], spec["inverse"]["iterations"]
        # Input noise 0.1 does best on the validation samples, so "best" differs from "base" where it was run.
        validation_p = 0.9 if (run["noise_in"], run["noise_out"]) == ("0.1", "0") else 0.5
        _write_run(rng, folder, classes, k, SHAPES[run["dataset"]], validation, validation_p)
        for name in ("summary", "training", "loss_curves", "predictions"):
            files[name].append(str(folder / f"{name}.tsv"))
        files["validation"].append(str(validation))
    for key in subset_keys(config):
        _write_heatmap(rng, root, key, config, files["validation"])
    return files


def subset_keys(config: dict) -> list[dict]:
    return [{"dataset": d, "subset": s} for d in config["datasets"] for s in config["subsets"]]


def _write_heatmap(rng, root: Path, key: dict, config: dict, summaries: list[str]) -> None:
    """Figure 7's table of one data set and subset, for its best model by `summaries` (as module_losses writes it)."""
    chosen = [(run, path) for run, path in zip(mic_runs(config), summaries) if key.items() <= run.items()]
    best = selection.choose_models(collect.stack_tables(*zip(*chosen)), key["dataset"], key["subset"]).best
    classes = config["datasets"][key["dataset"]]["preprocess"]["classes"]
    heat = [
        (rep, *best, split, m, t, float(rng.random() + (0 if m == t else 0.5) + (0.1 if split == "test" else 0)), 20)
        for rep in range(config["replicates"])
        for split in ("train", "test")
        for m in classes
        for t in classes
    ]
    columns = ["rep", "noise_in", "noise_out", "split", "module", "target_class", "mean_loss", "n"]
    _tsv(root / layout.fill(layout.SUBSET, **key) / "heatmap.tsv", pd.DataFrame(heat, columns=columns))


def _accuracy_rows(rng, classes, n, group: list[str] | None = None, group_name: str = "") -> pd.DataFrame:
    frames = []
    for value in group or [None]:
        correct = rng.integers(0, n + 1, len(classes))
        frame = pd.DataFrame({"class": classes, "n": n, "correct": correct})
        frame = pd.concat(
            [frame, pd.DataFrame({"class": ["all"], "n": [n * len(classes)], "correct": [correct.sum()]})]
        )
        frame["accuracy"] = frame["correct"] / frame["n"]
        if value is not None:
            frame.insert(0, group_name, value)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _write_run(
    rng, folder: Path, classes: list[str], k: int, shape: tuple, validation_path: Path, validation_p: float
) -> None:
    """One MIC configuration's training, loss_curves, predictions, summary, validation summary and reconstructions."""
    folder.mkdir(parents=True, exist_ok=True)
    n_classes, test_per_class = len(classes), 6
    steps = np.arange(0, 400, 50)
    _tsv(
        folder / "training.tsv",
        pd.DataFrame(
            {
                "class": classes,
                "best_loss": rng.random(n_classes) * 0.05,
                "best_step": 350,
                "final_loss": rng.random(n_classes) * 0.06,
                "episodes": 400,
                "seconds": 1.5,
            }
        ),
    )
    _tsv(
        folder / "loss_curves.tsv",
        pd.DataFrame(
            [(c, s, float(np.exp(-s / 100) + rng.random() * 0.01)) for c in classes for s in steps],
            columns=["class", "step", "loss"],
        ),
    )
    records = []
    true = np.repeat(np.arange(n_classes), test_per_class)
    for iterations in (0, k):
        skill = 1.0 if iterations == 0 else 2.0
        for sample, t in enumerate(true):
            losses = rng.random(n_classes)
            losses[t] -= skill * rng.random() * 0.6
            predicted = int(np.argmin(losses))
            mixture = rng.dirichlet(np.ones(4))
            record = {
                "sample": 100 + sample,
                "true_class": classes[t],
                "iterations": iterations,
                "predicted_class": classes[predicted],
                "correct": int(predicted == t),
            }
            record.update({f"loss_{c}": float(losses[i]) for i, c in enumerate(classes)})
            record.update({f"mixture_{j + 1}": float(mixture[j]) for j in range(4)})
            records.append(record)
    predictions = pd.DataFrame(records)
    _tsv(folder / "predictions.tsv", predictions)
    summary = []
    for iterations, rows in predictions.groupby("iterations"):
        winner = rows.apply(lambda r: r[f"loss_{r['predicted_class']}"], axis=1)
        own = rows.apply(lambda r: r[f"loss_{r['true_class']}"], axis=1)
        for cls, mask in [(c, rows["true_class"] == c) for c in classes] + [("all", rows["true_class"].notna())]:
            summary.append(
                {
                    "iterations": iterations,
                    "class": cls,
                    "n": int(mask.sum()),
                    "correct": int(rows.loc[mask, "correct"].sum()),
                    "accuracy": float(rows.loc[mask, "correct"].mean()),
                    "mse": float(winner[mask].mean()),
                    "mse_true": float(own[mask].mean()),
                }
            )
    _tsv(folder / "summary.tsv", pd.DataFrame(summary))
    # Validation samples: scored like the test set, with their own (made-up) outcomes.
    validation = pd.DataFrame(summary)
    per_class = validation["class"] != "all"
    validation.loc[per_class, "correct"] = rng.binomial(validation.loc[per_class, "n"], validation_p)
    for iterations, rows in validation.groupby("iterations"):
        total = (validation["iterations"] == iterations) & ~per_class
        validation.loc[total, "correct"] = rows.loc[rows["class"] != "all", "correct"].sum()
    validation["accuracy"] = validation["correct"] / validation["n"]
    _tsv(validation_path, validation)
    n = 3
    targets = rng.random((n, *shape)).astype(np.float32)
    np.savez(
        folder / "reconstructions.npz",
        module=np.array(classes[0]),
        prototypes=rng.random((4, *shape)).astype(np.float32),
        targets=targets,
        reconstructions=(targets + 0.05 * rng.standard_normal(targets.shape)).astype(np.float32),
        mixtures=rng.dirichlet(np.ones(4), n),
        target_sample=np.arange(n),
    )


def write_fake_tables(root: Path, config: dict = FAKE_CONFIG) -> Path:
    """Fake per-job results, then collect_results' tidy tables and config.yaml under root/results/tables."""
    write_fake_results(root, config)
    keys = subset_keys(config)
    replicates = range(config["replicates"])
    jobs = {  # the fake run's jobs by the wildcards their files carry, as the workflow's JOBS
        ("dataset", "subset", "rep", "noise_in", "noise_out"): mic_runs(config),
        ("dataset", "subset"): keys,
        ("dataset", "training_set", "rep"): [
            {"dataset": d, "training_set": t, "rep": r}
            for d in config["datasets"]
            for t in [*config["subsets"], "full"]
            for r in replicates
        ],
        ("dataset", "subset", "rep"): [{**key, "rep": r} for key in keys for r in replicates],
        ("dataset", "subset", "rep", "variant"): [],
    }
    robustness = {layout.robustness_file(name) for name in layout.ROBUSTNESS_TABLES}  # a run without them
    tables = collect.collect_results(
        {
            name: [
                layout.under(root / layout.RESULTS, spec.pattern, **job)
                for job in ([] if spec.pattern in robustness else jobs[layout.wildcard_names(spec.pattern)])
            ]
            for name, spec in collect.COLLECTED.items()
        }
    )
    out = root / layout.TABLES
    collect.write_tables(
        tables, {name: out / file for name, file in collect.TABLE_FILES.items()}, config, out / "config.yaml"
    )
    return out


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    write_fake_tables(root)
    return root


def test_notebook_runs_on_fake_results(fake_root: Path) -> None:
    """papermill executes the report on the fake tables without errors or warnings, and nbconvert renders it."""
    papermill = pytest.importorskip("papermill")
    import nbformat
    from nbconvert import HTMLExporter

    executed = fake_root / layout.REPORT / "report.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(REPO / "notebooks/report.ipynb"),
        str(executed),
        parameters={
            "tables_dir": str(fake_root / layout.TABLES),
            "results_dir": str(fake_root / layout.RESULTS),
            "config_path": str(fake_root / layout.TABLES / "config.yaml"),
            "paper_path": str(REPO / "config/paper_results.yaml"),
            "figures_dir": str(fake_root / layout.FIGURES),
        },
        kernel_name="python3",
        cwd=str(fake_root),
        progress_bar=False,
    )
    notebook = nbformat.read(executed, as_version=4)
    streams = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    stderr = [o.get("text", "") for o in streams if o.get("name") == "stderr"]
    assert not stderr, f"the notebook wrote to stderr: {stderr[:3]}"
    assert not [o for o in streams if o.get("output_type") == "error"]
    tables = [o["data"]["text/html"] for o in streams if "<table" in o.get("data", {}).get("text/html", "")]
    widths = [max(len(re.findall(r'class="data row0 col\d+"', part)) for part in t.split("<table")) for t in tables]
    assert widths and max(widths) <= printing.MAX_COLUMNS, "a wide table was shown without printing.styled_blocks"
    html, _ = HTMLExporter().from_notebook_node(notebook)
    for text in (
        "± 95 %",
        "t-interval over replicates",
        "Wilson",
        "quasi-binomial",
        "inconclusive",
        "over 3 replicate(s)",  # verdicts rest on the replicates' paired differences
        "Table 1",
        "Table 2",
        "Table 3",
        "Table 4",
        "Table 5",
        "Table 6",
        "Table 13",
        "Verdict",
        "Nearest prototype",
    ):
        assert text in html, text
    # The first screen answers before any method prose: Table 6 with intervals, the verdicts counted, a figure.
    first_screen = html[: html.index("How to read this report")]
    marks = ["Table 6 beside ours", "95 % interval", "each tested in every data set", "<img"]
    assert all(mark in first_screen for mark in marks)
    assert [first_screen.index(mark) for mark in marks] == sorted(first_screen.index(mark) for mark in marks)
    assert all(f">{outcome}</th>" in first_screen for outcome in claims.OUTCOMES)  # a count column each
    assert all(f"<em>{outcome}</em>" in first_screen for outcome in claims.OUTCOMES)  # and what each means
    figures = sorted(p.name for p in (fake_root / layout.FIGURES).glob("*.png"))
    expected = {
        f"{kind}_{d}_{s}.png"
        for kind in ("heatmap", "confusion", "reconstructions")
        for d in FAKE_CONFIG["datasets"]
        for s in FAKE_CONFIG["subsets"]
    }
    expected |= {f"prototypes_{d}.png" for d in FAKE_CONFIG["datasets"]} | {"training_loss.png"}
    expected |= {f"figure7_{s}.png" for s in FAKE_CONFIG["subsets"]}  # the paper's 2 x 2 layout, per subset
    assert set(figures) == expected
    assert "parameters" in nbformat.read(REPO / "notebooks/report.ipynb", as_version=4).cells[1].metadata.get(
        "tags", []
    )


def test_notebook_defaults_point_at_results() -> None:
    """Opened by hand, the notebook reads results/ and config/ of the repository."""
    import nbformat

    notebook = nbformat.read(REPO / "notebooks/report.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    namespace: dict = {}
    exec(cell.source, namespace)
    assert namespace["tables_dir"] == layout.TABLES and namespace["results_dir"] == layout.RESULTS
    assert namespace["paper_path"] == "config/paper_results.yaml"
    assert not any(o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])), (
        "commit the notebook without outputs"
    )
