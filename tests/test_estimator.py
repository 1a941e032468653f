"""MICClassifier: scikit-learn's estimator checks, its tools, bad input, save/load and `mic classify` on its folder.

Settings are tiny (a few hundred episodes, a few inverse iterations): these tests check the plumbing, not the
method's accuracy (the pipeline's tests and the report do that).
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_methods_subset_invariance, parametrize_with_checks

from mic import MICClassifier
from mic.classify import Classifier, classify_file
from mic.evidence.collect import read_table

REPO = Path(__file__).resolve().parents[1]
TINY = dict(hidden_size=4, episodes=200, iterations=3, random_state=0)

# Checks that do not apply, each with the reason (scikit-learn marks them xfail).
NOT_APPLICABLE = {
    "check_n_features_in": "a 2-d X is N univariate sequences [N, T]: n_features_in_ counts channels per step (1)",
    "check_n_features_in_after_fitting": "n_features_in_ counts channels per time step, not the T columns of a "
    "2-d X, and X may be shorter than the training sequences (padded with its last value)",
    "check_fit2d_1feature": "every class needs 4 samples (its 4 prototypes); the check's 10 random labels in "
    "0..2 leave one class with 3",
    "check_methods_subset_invariance": "the inversion's start vectors are drawn for all rows of X at once "
    "(the paper's U(0.245, 0.255)), so a row's losses depend on its position; with init_low == init_high the "
    "check passes (tested below)",
    "check_methods_sample_order_invariance": "as check_methods_subset_invariance; with init_low == init_high a "
    "row's float32 losses still differ by a few 1e-7 (relative) with its SIMD lane, more than the check's rtol "
    "1e-7 (tested below to 1e-5)",
}


@parametrize_with_checks([MICClassifier(**TINY)], expected_failed_checks=lambda estimator: NOT_APPLICABLE)
def test_sklearn_checks(estimator, check) -> None:
    check(estimator)


def test_rows_do_not_depend_on_each_other_with_a_fixed_start() -> None:
    x, y = sequences()
    order = np.random.default_rng(1).permutation(len(x))
    for init in ((0.25, 0.25), (0.245, 0.255)):
        clf = MICClassifier(**TINY, init_low=init[0], init_high=init[1]).fit(x, y)
        whole = clf.decision_function(x)
        permuted = clf.decision_function([x[i] for i in order])
        part = clf.decision_function(x[5:9])
        same = np.allclose(permuted, whole[order], rtol=1e-5, atol=0) and np.allclose(part, whole[5:9], rtol=1e-5)
        assert same == (init[0] == init[1])  # float32 rounding apart, with a fixed start only
    check_methods_subset_invariance("MICClassifier", MICClassifier(**TINY, init_low=0.25, init_high=0.25))


def sequences(n_per_class: int = 8, seed: int = 0, variable: bool = False) -> tuple[list[np.ndarray], np.ndarray]:
    """Three classes of 2-channel random walks with different drifts; variable lengths 6..12 if asked."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label, drift in (("up", 0.5), ("flat", 0.0), ("down", -0.5)):
        for _ in range(n_per_class):
            steps = int(rng.integers(6, 13)) if variable else 12
            xs.append(np.cumsum(drift + 0.2 * rng.standard_normal((steps, 2)), axis=0))
            ys.append(label)
    return xs, np.array(ys)


@pytest.fixture(scope="module")
def fitted() -> tuple[MICClassifier, list[np.ndarray], np.ndarray]:
    x, y = sequences(variable=True)
    return MICClassifier(**TINY).fit(x, y), x, y


def test_fitted_attributes_and_outputs(fitted) -> None:
    clf, x, y = fitted
    assert clf.classes_.tolist() == ["down", "flat", "up"]
    assert clf.n_features_in_ == 2 and clf.transform_.pad_length == 12
    assert clf.prototypes_.shape == (3, 4, 12, 2) and len(clf.generators_) == 3
    assert [g.extra["class"] for g in clf.generators_] == ["down", "flat", "up"]
    losses = clf.invert(x).losses
    np.testing.assert_array_equal(clf.decision_function(x), -losses)
    proba = clf.predict_proba(x)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert (proba.argmax(axis=1) == losses.argmin(axis=1)).all()
    sharp = clone(clf).set_params(temperature=0.01)
    sharp.__dict__.update({k: v for k, v in clf.__dict__.items() if k.endswith("_")})
    assert sharp.predict_proba(x).max(axis=1).mean() > proba.max(axis=1).mean()
    assert clf.predict(x).tolist() == clf.classes_[losses.argmin(axis=1)].tolist()


def test_same_random_state_same_model_and_padded_input_with_lengths(fitted) -> None:
    clf, x, y = fitted
    again = MICClassifier(**TINY).fit(x, y)
    np.testing.assert_array_equal(again.invert(x).losses, clf.invert(x).losses)
    lengths = np.array([len(s) for s in x])
    padded = np.full((len(x), 12, 2), np.nan)  # NaN padding is fine where lengths say it is padding
    for i, s in enumerate(x):
        padded[i, : len(s)] = s
    np.testing.assert_array_equal(clf.invert(padded, lengths).losses, clf.invert(x).losses)
    other = MICClassifier(**{**TINY, "random_state": 1}).fit(x, y)
    assert not np.array_equal(other.invert(x).losses, clf.invert(x).losses)


def test_univariate_lists_and_2d_arrays_agree() -> None:
    x, y = sequences()
    flat = [s[:, 0] for s in x]
    a = MICClassifier(**TINY).fit(flat, y)
    b = MICClassifier(**TINY).fit(np.stack(flat), y)
    assert a.n_features_in_ == b.n_features_in_ == 1
    np.testing.assert_array_equal(a.invert(flat).losses, b.invert(np.stack(flat)).losses)


def test_transform_parameters_cumulative_sum_and_keep_channels() -> None:
    x, y = sequences()
    deltas = [np.vstack([s[:1], np.diff(s, axis=0)]) for s in x]
    extra = [np.hstack([d, np.ones((len(d), 1))]) for d in deltas]  # a third, constant channel dropped by keep
    clf = MICClassifier(**TINY, cumulative_sum=(0, 1), keep_channels=(0, 1)).fit(extra, y)
    plain = MICClassifier(**TINY).fit(x, y)
    np.testing.assert_allclose(clf.transform_.mean, plain.transform_.mean, rtol=1e-9)
    np.testing.assert_allclose(clf.invert(extra).losses, plain.invert(x).losses, rtol=1e-5)
    with pytest.raises(ValueError, match="channels 0..2"):
        MICClassifier(**TINY, keep_channels=(0, 5)).fit(extra, y)


@pytest.mark.parametrize(
    "params",
    [
        dict(subset="random"),
        dict(prototype_metric="dtw", representation="dba"),
        dict(prototype_metric="dtw", representation="medoid", noise_in=0.1, noise_out=0.01),
        dict(starts=("vertices",)),
        dict(starts=("uniform", "vertices", "random"), random_starts=2, decision="dtw"),
    ],
)
def test_prototype_and_inversion_variants(params, tmp_path) -> None:
    x, y = sequences()
    clf = MICClassifier(**TINY, **params).fit(x, y)
    result = clf.invert(x, reconstructions=True)
    assert result.reconstructions.shape == (len(x), 3, 12, 2) and result.targets.shape == (len(x), 12, 2)
    predicted = clf.predict(x)
    assert predicted.tolist() == clf.classes_[result.scores.argmin(axis=1)].tolist()
    # The saved folder classifies the same way through mic.Classifier (mic classify's engine).
    assert Classifier.load(clf.save(tmp_path / "model")).predict(x).tolist() == predicted.tolist()


def test_works_in_pipelines_cross_validation_and_grid_search() -> None:
    x, y = sequences(n_per_class=10)
    array = np.stack(x)
    pipe = make_pipeline(FunctionTransformer(lambda a: a * 2.0), MICClassifier(**TINY))
    scores = cross_val_score(pipe, array, y, cv=2)
    assert scores.shape == (2,) and np.all((0 <= scores) & (scores <= 1))
    grid = GridSearchCV(MICClassifier(**TINY), {"hidden_size": [3, 4]}, cv=2).fit(array, y)
    assert grid.best_params_["hidden_size"] in (3, 4) and grid.best_estimator_.classes_.tolist() == sorted(set(y))


def test_bad_input_names_what_was_expected(fitted) -> None:
    clf, x, y = fitted
    with pytest.raises(ValueError, match=r"class 'down' has 3 samples, each class needs at least 4"):
        MICClassifier(**TINY).fit(x[:-5], y[:-5])  # 3 of the 8 "down" sequences left
    nan = [s.copy() for s in x]
    nan[2][1, 0] = np.nan
    for call in (clf.predict, lambda v: MICClassifier(**TINY).fit(v, y)):
        with pytest.raises(ValueError, match=r"sequences\[2\] contains NaN.*expected finite numbers"):
            call(nan)
    padded = np.full((len(x), 12, 2), np.nan)
    for i, s in enumerate(x):
        padded[i, : len(s)] = s
    for call in (clf.predict, lambda v: MICClassifier(**TINY).fit(v, y)):
        with pytest.raises(ValueError, match="list of \\[T_i, C\\] arrays, or as a padded .* with lengths"):
            call(padded)  # ragged rows padded with NaN, and no lengths
    with pytest.raises(ValueError, match="lengths go with a padded"):
        clf.predict(x, lengths=[len(s) for s in x])
    expected = r"X has 3 channel\(s\) per time step, but MICClassifier was fitted on 2: expected \[T_i, 2\]"
    with pytest.raises(ValueError, match=expected):
        clf.predict([np.hstack([s, s[:, :1]]) for s in x])
    with pytest.raises(ValueError, match=r"X has 1 channel\(s\) per time step.*fitted on 2"):
        clf.predict(np.stack([s[:6, 0] for s in x]))  # [N, T]: univariate
    with pytest.raises(ValueError, match=r"sequences\[1\] has 13 time steps.*trained on 12 steps.*at most 12"):
        clf.predict([x[0], np.vstack([x[0], x[0]])[:13]])
    with pytest.raises(ValueError, match="y has 23 labels, X has 24"):
        MICClassifier(**TINY).fit(x, y[:-1])
    with pytest.raises(ValueError, match="Unknown label type"):
        MICClassifier(**TINY).fit(x, np.linspace(0, 1, len(x)))
    with pytest.raises(ValueError, match="n_jobs must be None, a positive integer or -1"):
        copy.copy(clf).set_params(n_jobs=0).predict(x)


def test_n_jobs_threads_give_the_same_results() -> None:
    x, y = sequences(n_per_class=200)  # 600 rows: three blocks of the kernel's 256
    clf = MICClassifier(**TINY).fit(x, y)
    one = clf.invert(x, reconstructions=True)
    for n_jobs in (2, -1):
        many = clf.set_params(n_jobs=n_jobs).invert(x, reconstructions=True)
        np.testing.assert_array_equal(many.losses, one.losses)
        np.testing.assert_array_equal(many.mixtures, one.mixtures)
        np.testing.assert_array_equal(many.reconstructions, one.reconstructions)
    # Any chunk size: threads take the kernel's blocks of each chunk, so rows meet the same lanes.
    serial = Classifier(clf.model().bank, clf.manifest_, chunk_size=300).invert(x)
    threads = Classifier(clf.model().bank, clf.manifest_, chunk_size=300, n_jobs=3).invert(x)
    np.testing.assert_array_equal(threads.losses, serial.losses)


def test_save_load_and_mic_classify_give_the_same_predictions(fitted, tmp_path) -> None:
    clf, x, y = fitted
    folder = clf.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["estimator.json", "generators", "model.json", "prototypes.npz"]
    loaded = MICClassifier.load(folder)
    assert loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.invert(x).losses, clf.invert(x).losses)
    np.testing.assert_array_equal(loaded.prototypes_, clf.prototypes_)
    lengths = np.array([len(s) for s in x])
    padded = np.zeros((len(x), 12, 2))
    for i, s in enumerate(x):
        padded[i, : len(s)] = s
    npz = tmp_path / "input.npz"
    np.savez(npz, sequences=padded, lengths=lengths, labels=y)
    out = tmp_path / "predictions.tsv"
    done = mic_classify(folder, npz, out)
    assert done.returncode == 0, done.stderr
    table = read_table(out)
    assert table["predicted_class"].tolist() == clf.predict(x).tolist()
    np.testing.assert_allclose(table[[f"loss_{c}" for c in clf.classes_]].to_numpy(), clf.invert(x).losses, rtol=1e-6)
    assert f"accuracy: {clf.score(x, y):.4f}" in done.stdout
    _, accuracy = classify_file(folder, npz, tmp_path / "again.tsv", n_jobs=2)  # what `--jobs 2` passes
    assert accuracy == pytest.approx(clf.score(x, y))
    assert read_table(tmp_path / "again.tsv").equals(table)


def mic_classify(*args: Path) -> subprocess.CompletedProcess:
    """`mic classify ARGS -o OUT` as a user runs it, in a fresh process importing this checkout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "mic.cli", "classify", *map(str, args[:-1]), "-o", str(args[-1])]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def test_integer_labels_survive_save_and_load(tmp_path) -> None:
    x, y = sequences()
    labels = np.searchsorted(["down", "flat", "up"], y) * 10
    clf = MICClassifier(**TINY).fit(x, labels)
    loaded = MICClassifier.load(clf.save(tmp_path / "model"))
    assert loaded.classes_.tolist() == [0, 10, 20] and loaded.predict(x).dtype.kind == "i"
    assert loaded.predict(x).tolist() == clf.predict(x).tolist()


def test_verbose_shows_progress_bars(capsys) -> None:
    x, y = sequences()
    MICClassifier(**TINY, verbose=True).fit(x, y).predict(x)
    err = capsys.readouterr().err
    assert "training generators" in err and "inverting" in err and "200/200" in err


def test_cuda_without_a_gpu_is_an_error() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    x, y = sequences()
    with pytest.raises(RuntimeError, match="cuda"):
        MICClassifier(**TINY, device="cuda").fit(x, y)


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("index", [0, 1])
def test_docs_examples_run(index, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(REPO / "docs" / "estimator.md")
    assert len(blocks) == 2
    exec(compile(blocks[index], f"docs/estimator.md example {index + 1}", "exec"), {})
