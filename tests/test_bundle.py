"""mic.model.bundle: a model folder's manifest, its checkpoints and the best-model record, checked on load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mic.data.sources import Transform
from mic.model import bundle
from mic.model.bundle import ModelError, ModelManifest
from mic.model.checkpoint import from_result
from mic.model.extended import StartSettings
from mic.model.inverse import InverseSettings
from mic.model.training import TrainSettings, train_generators

CLASSES = ("a", "b c", "d/e")  # names that are no file names too
IDENTITY = {"dataset": "chars", "subset": "clustered", "rep": "1", "noise_in": "0.1", "noise_out": "0"}


def manifest(**changes) -> ModelManifest:
    values = dict(
        classes=CLASSES,
        generator=TrainSettings(hidden_size=3, episodes=64, noise_in=0.1),
        transform=Transform(9, (0,), (0, 1), None, 3, "character_trajectories", np.array([0.5, -1.0]), np.ones(2)),
        inverse=InverseSettings(iterations=4, seed=123),
        identity=IDENTITY,
        source={"dataset": "chars", "source": "character_trajectories", "path": None},
        config_sha256=bundle.config_sha256({"seed": 1}),
    )
    return ModelManifest(**{**values, **changes})


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A saved model folder of three tiny generators."""
    m = manifest()
    prototypes = torch.randn(len(CLASSES), 4, 9, 2)
    result = train_generators(prototypes, m.generator, [1, 2, 3])
    identity = {"dataset": "chars", "subset": "clustered", "replicate": 1}
    checkpoints = [from_result(result, k, extra={**identity, "class": c}) for k, c in enumerate(CLASSES)]
    return bundle.save_model(tmp_path_factory.mktemp("model") / "setting", m, checkpoints)


def copy(model: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model, tmp_path / "copy"))


def test_manifest_round_trips_through_json(tmp_path) -> None:
    m = manifest(starts=StartSettings(("uniform", "random"), 2, "dtw"), prototypes="prototypes.npz")
    bundle.write_manifest(tmp_path / "model.json", m)
    data = json.loads((tmp_path / "model.json").read_text())
    assert data["format"] == "mic-model" and data["version"] == 1
    assert data["checkpoints"] == ["generators/a.pt", "generators/b_c.pt", "generators/d_e.pt"]
    assert data["inverse"]["seed"] == 123 and data["identity"] == IDENTITY
    back = bundle.read_manifest(tmp_path)  # a folder reads its model.json
    assert back.to_dict() == m.to_dict()
    assert back.starts == m.starts and back.inverse == m.inverse and back.generator == m.generator
    np.testing.assert_array_equal(back.transform.mean, m.transform.mean)
    assert back.describe() == "chars/clustered: noise in 0.1, out 0, replicate 1"
    assert manifest(identity={}).describe() == "fitted model of 3 classes"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.pop("generator"), ["missing field", "'generator'"]),
        (lambda d: d.update(format="other"), ["'format'", "mic-model"]),
        (lambda d: d["inverse"].update(speed=1), ["'inverse'", "speed"]),
        (lambda d: d["generator"].update(hidden_size=0), ["'generator'", "hidden_size"]),
        (lambda d: d["transform"].pop("mean"), ["'transform'", "mean"]),
        (lambda d: d.update(classes="a"), ["'classes'", "list of strings"]),
        (lambda d: d.update(checkpoints=["../a.pt", "b", "c"]), ["'checkpoints'", "relative path"]),
        (lambda d: d.update(checkpoints=["a.pt", "a.pt", "c"]), ["distinct checkpoint"]),
        (lambda d: d.update(starts={"starts": ["sideways"]}), ["'starts'", "sideways"]),
    ],
)
def test_bad_manifests_name_the_file_and_the_field(tmp_path, change, words) -> None:
    data = manifest().to_dict()
    change(data)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError) as error:
        bundle.read_manifest(path)
    assert str(path) in str(error.value)
    for word in words:
        assert word in str(error.value)


def test_unreadable_manifests(tmp_path) -> None:
    with pytest.raises(ModelError, match="no such file"):
        bundle.read_manifest(tmp_path / "model.json")
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match="unreadable JSON"):
        bundle.read_manifest(tmp_path)


def test_bank_of_a_saved_model(model) -> None:
    bank = bundle.load_bank_of(model)
    assert bank.num_generators == 3 and bank.hidden_size == 3 and bank.output_size == 2
    assert (model / "generators" / "b_c.pt").is_file()


def test_checkpoints_are_checked_against_the_manifest(model, tmp_path) -> None:
    folder = copy(model, tmp_path)
    (folder / "generators" / "b_c.pt").unlink()
    with pytest.raises(ModelError, match=r"class 'b c'.*does not exist"):
        bundle.load_bank_of(folder)
    shutil.rmtree(folder)

    folder = copy(model, tmp_path)
    other = manifest(identity={**IDENTITY, "subset": "random"})
    with pytest.raises(ModelError, match=r"another setting.*subset"):
        bundle.load_bank_of(folder, manifest=other)
    with pytest.raises(ModelError, match=r"another setting.*replicate"):
        bundle.load_bank_of(folder, manifest=manifest(identity={**IDENTITY, "rep": "0"}))
    # Training settings and output size come from the manifest too.
    with pytest.raises(ModelError, match="settings differ"):
        bundle.load_bank_of(folder, manifest=manifest(generator=TrainSettings(hidden_size=3, episodes=64)))
    wide = manifest(transform=Transform(9, mean=np.zeros(3), std=np.ones(3)))
    with pytest.raises(ModelError, match="output size 2, expected 3"):
        bundle.load_bank_of(folder, manifest=wide)
    # A model fitted outside the pipeline has no identity: only the class is checked.
    assert bundle.load_bank_of(folder, manifest=manifest(identity={})).num_generators == 3


def test_best_model_record_and_resolving_folders(model, tmp_path) -> None:
    subset = model.parent
    assert bundle.resolve_model_folder(model) == (model, None)
    bundle.write_best(subset / "best_model.json", "setting", "validation split (scored on the test set)")
    folder, note = bundle.resolve_model_folder(subset)
    assert folder == model
    assert note == (
        "best model of chars/clustered: noise in 0.1, out 0, replicate 1; "
        "chosen on validation split (scored on the test set)"
    )
    with pytest.raises(ValueError, match="relative path"):
        bundle.write_best(tmp_path / "best_model.json", "/abs/setting", "test")
    bundle.write_best(tmp_path / "best_model.json", "missing", "test")
    with pytest.raises(ModelError, match="no model.json"):
        bundle.resolve_model_folder(tmp_path)
    (tmp_path / "best_model.json").unlink()
    with pytest.raises(ModelError, match="neither model.json nor best_model.json"):
        bundle.resolve_model_folder(tmp_path)
    with pytest.raises(ModelError, match="no such model folder"):
        bundle.resolve_model_folder(tmp_path / "absent")


def test_save_model_needs_one_checkpoint_per_class(tmp_path) -> None:
    with pytest.raises(ValueError, match="2 checkpoints for 3 classes"):
        bundle.save_model(tmp_path, manifest(), [None, None])
    assert not (tmp_path / "model.json").exists()
