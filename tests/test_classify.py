"""`mic classify` and mic.Classifier: a run's trained modules classify new raw sequences.

The inputs are the test splits of the test-config run, rebuilt from the RAW source files (velocities for
characters, 0..255 pixels for MNIST), so the whole stored preprocessing is exercised. Classifying them in the
run's order with the pipeline's seed must give the run's predictions: the same predicted classes, and final
losses within LOSS_RTOL (float32 kernels; predictions.tsv holds float32 values as text). Everything about a
model comes from the model.json the pipeline writes into each setting folder (and best_model.json into each
subset folder).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mic import layout
from mic.classify import Classifier, ClassifyError, classify_file
from mic.cli import main
from mic.data.datasets import load_character_trajectories, read_idx
from mic.data.preprocess import PreparedData
from mic.evidence.collect import read_table
from mic.model.bundle import read_manifest
from mic.model.checkpoint import load_checkpoint, save_checkpoint
from tolerances import FLOAT32_REORDERED

pytestmark = pytest.mark.integration

LOSS_RTOL = 1e-4  # float32 kernels; in practice the run's losses come back to the digits printed
CHARS = ("characters", "clustered", "0", "0.1", "0")  # dataset, subset, rep, noise_in, noise_out (test config)
MNIST_IMAGES = ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")


def setting_dir(results: Path, dataset: str, subset: str, rep: str, noise_in: str, noise_out: str) -> Path:
    return layout.under(
        results, layout.SETTING, dataset=dataset, subset=subset, rep=rep, noise_in=noise_in, noise_out=noise_out
    )


def final_rows(folder: Path) -> pd.DataFrame:
    """The run's predictions after the last iteration, in test-split order."""
    table = read_table(folder / "predictions.tsv")
    return table[table["iterations"] == table["iterations"].max()].reset_index(drop=True)


def raw_test_split(run: Path, dataset: str) -> tuple[list[np.ndarray], list[str]]:
    """The run's test split as raw sequences from the source files, and their class names."""
    data = PreparedData.load(layout.under(run / "results", layout.DATA, dataset=dataset))
    rows = data.source_index[data.test_index]
    names = [data.class_names[k] for k in data.labels[data.test_index]]
    if dataset == "characters":
        raw = load_character_trajectories(run / "resources/character_trajectories/mixout.mat")
        return [raw.sequences[r] for r in rows], names
    images = np.concatenate([read_idx(run / "resources/mnist" / name) for name in MNIST_IMAGES])
    return list(images[rows]), names  # uint8 0..255, as in the IDX files


def save_padded(path: Path, sequences: list[np.ndarray], labels: list[str] | None = None, **extra) -> Path:
    """The pickle-free form: padded [N, T, C] plus lengths [N]."""
    lengths = np.array([len(s) for s in sequences])
    padded = np.zeros((len(sequences), lengths.max(), sequences[0].shape[1]))
    for i, sequence in enumerate(sequences):
        padded[i, : len(sequence)] = sequence
    arrays = {"sequences": padded, "lengths": lengths, **extra}
    if labels is not None:
        arrays["labels"] = np.array(labels)
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def results(run) -> Path:
    return run / "results"


@pytest.fixture(scope="module")
def chars(run) -> tuple[list[np.ndarray], list[str]]:
    return raw_test_split(run, "characters")


@pytest.fixture(scope="module")
def chars_npz(tmp_path_factory, chars) -> Path:
    return save_padded(tmp_path_factory.mktemp("inputs") / "chars.npz", *chars)


def mic_command(*args: str, module: bool = False) -> subprocess.CompletedProcess:
    """`mic ARGS` or `python3 -m mic.cli ARGS` as a user runs it."""
    command = [sys.executable, "-m", "mic.cli"] if module else [shutil.which("mic") or "mic"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=600, env=os.environ.copy())


def assert_reproduces(ours: pd.DataFrame, folder: Path, classes: list[str]) -> None:
    """Same predicted classes as the run, losses within LOSS_RTOL, same winning mixture."""
    theirs = final_rows(folder)
    assert len(ours) == len(theirs)
    assert ours["predicted_class"].astype(str).tolist() == theirs["predicted_class"].tolist()
    assert ours["true_class"].astype(str).tolist() == theirs["true_class"].tolist()
    loss = [f"loss_{c}" for c in classes]
    np.testing.assert_allclose(ours[loss].to_numpy(), theirs[loss].to_numpy(), rtol=LOSS_RTOL, atol=0)
    mixture = [f"mixture_{i}" for i in range(1, 5)]
    np.testing.assert_allclose(ours[mixture].to_numpy(), theirs[mixture].to_numpy(), rtol=LOSS_RTOL, atol=1e-6)


# --- round trip against the run ------------------------------------------------------------------------------


def test_the_pipeline_writes_a_manifest_per_setting_and_a_best_model_per_subset(results) -> None:
    settings = sorted(results.glob("*/*/rep*/in*_out*"))
    assert settings and all((folder / "model.json").is_file() for folder in settings)
    manifest = read_manifest(setting_dir(results, *CHARS))
    assert manifest.identity == dict(zip(["dataset", "subset", "rep", "noise_in", "noise_out"], CHARS))
    assert manifest.classes == ("a", "b", "c") and manifest.source["source"] == "character_trajectories"
    assert manifest.transform.pad_length == 205 and manifest.inverse.iterations == 5
    for subset in {folder.parents[1] for folder in settings}:
        assert (subset / "best_model.json").is_file(), subset


def test_cli_reproduces_the_runs_character_predictions(results, chars_npz, tmp_path) -> None:
    folder = setting_dir(results, *CHARS)
    out = tmp_path / "predictions.tsv"
    done = mic_command("classify", str(folder), str(chars_npz), "-o", str(out), "--chunk-size", "5")
    assert done.returncode == 0, done.stderr
    ours = read_table(out)
    assert list(ours.columns[:5]) == ["sample", "true_class", "iterations", "predicted_class", "correct"]
    assert_reproduces(ours, folder, ["a", "b", "c"])
    # One progress line per chunk of 5 on stderr; the accuracy of the run's summary on stdout.
    progress = [line.split(" sequences")[0] for line in done.stderr.splitlines() if line.startswith("classified")]
    assert progress == ["classified 5/18", "classified 10/18", "classified 15/18", "classified 18/18"]
    summary = read_table(folder / "summary.tsv")
    accuracy = summary[(summary["class"] == "all") & (summary["iterations"] == 5)]["accuracy"].iloc[0]
    assert f"accuracy: {accuracy:.4f}" in done.stdout


def test_module_cli_picks_the_best_mnist_model_and_reproduces_it(results, run, tmp_path) -> None:
    images, names = raw_test_split(run, "mnist")
    data = PreparedData.load(layout.under(results, layout.DATA, dataset="mnist"))
    labels = np.array([data.class_names.index(n) for n in names])  # integer labels indexing class_names
    npz = tmp_path / "mnist.npz"
    np.savez(npz, sequences=np.stack(images), labels=labels, class_names=np.array(data.class_names))
    out = tmp_path / "predictions.tsv"
    subset = layout.under(results, layout.SUBSET, dataset="mnist", subset="clustered")
    done = mic_command("classify", str(subset), str(npz), "-o", str(out), module=True)
    assert done.returncode == 0, done.stderr
    heatmap = read_table(subset / "heatmap.tsv")
    noise = heatmap[["noise_in", "noise_out"]].drop_duplicates().to_numpy().tolist()
    assert len(noise) == 1 and f"noise in {noise[0][0]}, out {noise[0][1]}, replicate 0" in done.stderr
    folder = setting_dir(results, "mnist", "clustered", "0", *noise[0])
    assert_reproduces(read_table(out), folder, data.class_names)


def test_zero_iterations_reproduce_the_runs_start_vectors_and_the_seed_changes_them(
    results, chars_npz, tmp_path
) -> None:
    folder = setting_dir(results, *CHARS)
    table, _ = classify_file(folder, chars_npz, tmp_path / "zero.tsv", iterations=0)
    run_rows = read_table(folder / "predictions.tsv")
    start = run_rows[run_rows["iterations"] == 0].reset_index(drop=True)
    mixture = [f"mixture_{i}" for i in range(1, 5)]
    np.testing.assert_allclose(table[mixture].to_numpy(), start[mixture].to_numpy(), rtol=LOSS_RTOL, atol=1e-7)
    other, _ = classify_file(folder, chars_npz, tmp_path / "other.tsv", iterations=0, seed=1)
    assert not np.allclose(other[mixture].to_numpy(), start[mixture].to_numpy(), rtol=0, atol=1e-6)


# --- Python API ----------------------------------------------------------------------------------------------


def test_python_api_on_variable_length_lists(results, chars) -> None:
    from mic import Classifier as Lazy  # the lazy top-level name
    from mic import MICClassifier

    assert Lazy is Classifier
    sequences, names = chars
    model = Classifier.load(setting_dir(results, *CHARS))
    assert model.classes_.tolist() == ["a", "b", "c"] and model.n_classes_ == 3
    theirs = final_rows(setting_dir(results, *CHARS))
    assert model.predict(sequences).tolist() == theirs["predicted_class"].tolist()
    # A pipeline model folder loads as a fitted MICClassifier too, with the same predictions.
    estimator = MICClassifier.load(setting_dir(results, *CHARS))
    assert estimator.n_features_in_ == 3 and estimator.get_params()["hidden_size"] == 10
    assert estimator.predict(sequences).tolist() == theirs["predicted_class"].tolist()
    losses = model.losses(sequences)
    assert losses.shape == (18, 3)
    np.testing.assert_allclose(losses, theirs[["loss_a", "loss_b", "loss_c"]].to_numpy(), rtol=LOSS_RTOL)
    mixtures = model.mixtures(sequences)
    assert mixtures.shape == (18, 3, 4)
    np.testing.assert_allclose(mixtures.sum(axis=2), 1.0, rtol=1e-5)
    recon = model.reconstruct(sequences)
    data = PreparedData.load(layout.under(results, layout.DATA, dataset="characters"))
    assert recon.shape == (18, 3, *data.sequences.shape[1:])
    assert model.score(sequences, names) == pytest.approx(float(theirs["correct"].mean()))
    # The targets the modules see are the run's own preprocessed test split, bit for bit.
    result = model.invert(sequences, reconstructions=True)
    np.testing.assert_array_equal(result.targets, data.sequences[data.test_index])


def test_python_api_on_arrays_chunking_and_torch_engine_agree(results, run) -> None:
    images, _ = raw_test_split(run, "mnist")
    folder = setting_dir(results, "mnist", "clustered", "0", "0", "0")
    whole = Classifier.load(folder).invert(np.stack(images))
    chunked = Classifier.load(folder, chunk_size=7).invert(np.stack(images))
    # Start vectors are drawn over all rows at once, so chunks change only the kernel's float32 rounding.
    np.testing.assert_allclose(chunked.losses, whole.losses, **FLOAT32_REORDERED)
    assert chunked.predicted.tolist() == whole.predicted.tolist()
    torch_engine = Classifier.load(folder, backend="torch").invert(np.stack(images))
    np.testing.assert_allclose(torch_engine.losses, whole.losses, **FLOAT32_REORDERED)
    assert torch_engine.predicted.tolist() == whole.predicted.tolist()
    assert whole.predicted.tolist() == final_rows(folder)["predicted_class"].tolist()


def test_importing_mic_stays_cheap() -> None:
    code = "import sys, mic; assert 'torch' not in sys.modules and 'mic.classify' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


# --- outputs ---------------------------------------------------------------------------------------------------


def test_reconstructions_file_and_unlabelled_input(results, chars, tmp_path) -> None:
    sequences, _ = chars
    npz = save_padded(tmp_path / "unlabelled.npz", sequences)
    out, recon = tmp_path / "p.tsv", tmp_path / "recon.npz"
    assert (
        main(["classify", str(setting_dir(results, *CHARS)), str(npz), "-o", str(out), "--reconstructions", str(recon)])
        == 0
    )
    table = read_table(out)
    assert "true_class" not in table.columns and "correct" not in table.columns
    assert table["sample"].tolist() == list(range(18))
    with np.load(recon) as archive:
        assert archive["reconstructions"].shape[:2] == (18, 3)
        assert archive["class_names"].tolist() == ["a", "b", "c"]
        expected = Classifier.load(setting_dir(results, *CHARS)).reconstruct(sequences)
        np.testing.assert_allclose(archive["reconstructions"], expected, rtol=LOSS_RTOL, atol=1e-6)


def test_object_arrays_need_allow_pickle(results, chars, tmp_path, capsys) -> None:
    sequences, names = chars
    array = np.empty(len(sequences), dtype=object)
    array[:] = sequences
    npz = tmp_path / "objects.npz"
    np.savez(npz, sequences=array, labels=np.array(names))
    out = tmp_path / "p.tsv"
    folder = str(setting_dir(results, *CHARS))
    assert main(["classify", folder, str(npz), "-o", str(out)]) == 2
    assert "--allow-pickle" in capsys.readouterr().err and not out.exists()
    assert main(["classify", folder, str(npz), "-o", str(out), "--allow-pickle"]) == 0
    assert_reproduces(read_table(out), setting_dir(results, *CHARS), ["a", "b", "c"])


def test_help_describes_every_option() -> None:
    top = mic_command("--help")
    assert top.returncode == 0 and "classify" in top.stdout
    done = mic_command("classify", "--help")
    assert done.returncode == 0
    for option in ("-o", "--iterations", "--seed", "--device", "--reconstructions", "--chunk-size", "--jobs"):
        assert option in done.stdout
    for word in ("MODEL", "INPUT.npz", "lengths", "labels", "class_names", "seed", "order", "best model", "model.json"):
        assert word in done.stdout


# --- bad input -------------------------------------------------------------------------------------------------


def bad_inputs(tmp: Path, chars: tuple[list[np.ndarray], list[str]]) -> dict[str, tuple[Path, list[str]]]:
    """name -> (input file, words its error message must contain)."""
    sequences, names = chars
    nan = [s.copy() for s in sequences]
    nan[4][2, 1] = np.nan
    inf = [s.copy() for s in sequences]
    inf[1][0, 0] = np.inf
    long = [np.vstack([s, s]) if i == 3 else s for i, s in enumerate(sequences)]
    (tmp / "empty.npz").write_bytes(b"")
    (tmp / "garbage.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    np.savez(tmp / "nokey.npz", x=np.zeros((2, 3, 3)))
    return {
        "channels": (save_padded(tmp / "channels.npz", [s[:, :2] for s in sequences]), ["2 channels", "expected 3"]),
        "too long": (save_padded(tmp / "long.npz", long), ["sequences[3]", "205 steps", "at most 205"]),
        "nan": (save_padded(tmp / "nan.npz", nan), ["sequences[4]", "NaN"]),
        "inf": (save_padded(tmp / "inf.npz", inf), ["sequences[1]", "infinite"]),
        "empty file": (tmp / "empty.npz", ["empty"]),
        "unreadable": (tmp / "garbage.npz", ["not a readable .npz"]),
        "missing file": (tmp / "absent.npz", ["no such file"]),
        "no sequences": (tmp / "nokey.npz", ["'sequences'", "found: x"]),
        "no rows": (_empty_rows(tmp), ["'sequences' is empty"]),
        "bad lengths": (
            save_padded(tmp / "lengths.npz", sequences, lengths=np.full(len(sequences), 999)),
            ["lengths[0]", "999"],
        ),
        "unknown label": (
            save_padded(tmp / "label.npz", sequences, ["a"] * 17 + ["z"]),
            ["'labels'", "z", "known: a, b, c"],
        ),
    }


def _empty_rows(tmp: Path) -> Path:
    np.savez(tmp / "norows.npz", sequences=np.zeros((0, 5, 3)))
    return tmp / "norows.npz"


def test_bad_inputs_fail_with_a_clear_message_and_write_nothing(results, chars, tmp_path, capsys) -> None:
    folder = str(setting_dir(results, *CHARS))
    out = tmp_path / "out" / "predictions.tsv"
    out.parent.mkdir()
    out.write_text("previous\n")  # an earlier result stays as it was
    for name, (path, words) in bad_inputs(tmp_path, chars).items():
        assert (
            main(["classify", folder, str(path), "-o", str(out), "--reconstructions", str(out.parent / "r.npz")]) == 2
        ), name
        err = capsys.readouterr().err
        assert err.splitlines()[-1].startswith("mic classify: error: ") and "Traceback" not in err, (name, err)
        assert str(path) in err, (name, err)
        for word in words:
            assert word in err, (name, word, err)
        assert sorted(p.name for p in out.parent.iterdir()) == ["predictions.tsv"], name
        assert out.read_text() == "previous\n"


def test_bad_input_from_the_command_line_exits_2_without_traceback(results, tmp_path) -> None:
    (tmp_path / "empty.npz").write_bytes(b"")
    out = tmp_path / "p.tsv"
    done = mic_command("classify", str(setting_dir(results, *CHARS)), str(tmp_path / "empty.npz"), "-o", str(out))
    assert done.returncode == 2 and "Traceback" not in done.stderr and "empty" in done.stderr
    assert not out.exists()


def copy_model(results: Path, tmp: Path, setting: tuple[str, ...] = CHARS) -> Path:
    """One setting folder copied alone, outside any results tree (to use elsewhere, or to break on purpose)."""
    return Path(shutil.copytree(setting_dir(results, *setting), tmp / "model"))


def test_a_setting_folder_copied_alone_reproduces_the_run(results, chars_npz, tmp_path) -> None:
    folder = copy_model(results, tmp_path)
    table, _ = classify_file(folder, chars_npz, tmp_path / "p.tsv")
    assert_reproduces(table, setting_dir(results, *CHARS), ["a", "b", "c"])


def test_broken_models_fail_naming_the_file(results, chars_npz, tmp_path, capsys) -> None:
    def fails(folder: Path, *words: str) -> None:
        out = tmp_path / "p.tsv"
        assert main(["classify", str(folder), str(chars_npz), "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and not out.exists()
        for word in words:
            assert word in err, (word, err)

    missing = copy_model(results, tmp_path / "missing")
    (missing / "generators" / "b.pt").unlink()
    fails(missing, "b.pt", "class 'b'", "does not exist")

    corrupt = copy_model(results, tmp_path / "corrupt")
    path = corrupt / "generators" / "c.pt"
    path.write_bytes(path.read_bytes()[:100])
    fails(corrupt, "c.pt", "unreadable or truncated")

    # A checkpoint of another noise setting: its training settings differ from this folder's.
    mixed = copy_model(results, tmp_path / "mixed")
    other = setting_dir(results, "characters", "clustered", "0", "0", "0") / "generators" / "a.pt"
    shutil.copy(other, mixed / "generators" / "a.pt")
    fails(mixed, "a.pt", "settings differ", "noise_in")

    # Same training settings, but trained for another subset (its checkpoint's extra says so).
    moved = copy_model(results, tmp_path / "moved", ("characters", "clustered", "0", "0", "0"))
    shutil.copy(
        setting_dir(results, "characters", "random", "0", "0", "0") / "generators" / "b.pt",
        moved / "generators" / "b.pt",
    )
    fails(moved, "b.pt", "another setting", "subset")

    relabelled = copy_model(results, tmp_path / "relabelled")
    ckpt = load_checkpoint(relabelled / "generators" / "a.pt")
    ckpt.extra["replicate"] = 3
    save_checkpoint(relabelled / "generators" / "a.pt", ckpt)
    fails(relabelled, "a.pt", "replicate")

    no_manifest = copy_model(results, tmp_path / "nomanifest")
    (no_manifest / "model.json").unlink()
    fails(no_manifest, "neither model.json nor best_model.json")

    bad_manifest = copy_model(results, tmp_path / "badmanifest")
    text = (bad_manifest / "model.json").read_text()
    (bad_manifest / "model.json").write_text(text.replace('"pad_length"', '"padding"'))
    fails(bad_manifest, "model.json", "field 'transform'", "pad_length")

    fails(tmp_path / "nowhere", "no such model folder")
    fails(tmp_path, "neither model.json nor best_model.json")
    if not torch.cuda.is_available():
        with pytest.raises(ClassifyError, match="cuda"):
            Classifier.load(setting_dir(results, *CHARS), device="cuda")
