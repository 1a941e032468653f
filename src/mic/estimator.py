"""MICClassifier: Modular Inverse Classification as a scikit-learn estimator, built from the pipeline's pieces.

fit chooses 4 prototypes per class (mic.data.prototypes), fits the raw -> model transform on the training
sequences (mic.data.sources.Transform) and trains one generator per class (mic.model.training); predict
inverts every sequence with every class's generator (mic.classify.Classifier, as `mic classify` does) and the
lowest final loss wins. save writes a model folder (mic.model.bundle) that `mic classify`, mic.Classifier and
MICClassifier.load read; its predictions are the same as the estimator's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d
from tqdm.auto import tqdm

from mic import jobs, layout
from mic.classify import Classifier, ClassifyResult
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes, PrototypeSettings, select_prototypes
from mic.data.sources import Transform
from mic.device import resolve_device
from mic.inputs import raw_sequences
from mic.io import save_json
from mic.method import PROTOTYPES_PER_CLASS
from mic.model import bundle
from mic.model.checkpoint import from_result
from mic.model.extended import StartSettings
from mic.model.generator import stack_states
from mic.model.inverse import InverseSettings
from mic.model.training import TrainSettings, train_generators

ESTIMATOR_FILE = "estimator.json"  # beside model.json: the estimator's parameters and its labels as given to fit
ESTIMATOR_FORMAT = "mic-estimator"
TUPLE_PARAMS = ("cumulative_sum", "keep_channels", "starts")  # JSON lists that are tuples again on load


class MICClassifier(ClassifierMixin, BaseEstimator):
    """Modular Inverse Classification (Hobbhahn 2019): one LSTM generator per class, classify by inverting them.

    X is an [N, T, C] array, an [N, T] array (one channel), or a list of N [T_i, C] arrays of different lengths
    (or a padded array with `lengths`). Sequences are padded to pad_length (default: the longest training
    sequence) by repeating their last value; none may be longer at predict time. Values are raw: the transform
    (cumulative sums, kept channels, padding, standardisation fitted on the training X) is part of the model.

    Parameters follow the pipeline config's keys:
      preprocess: cumulative_sum (channels turned from deltas into positions), keep_channels, standardize,
        pad_length (the model's sequence length; None: the longest training sequence);
      prototypes: subset ("clustered": k-means within each class; "random": 4 random samples),
        representation ("mean", "dba", "medoid"), prototype_metric ("euclidean", "dtw");
      generator: hidden_size, episodes, prototypes_per_step, learning_rate, lr_schedule, noise_in, noise_out;
      inverse: iterations, inverse_learning_rate, init_low, init_high;
      extended: starts (of "uniform", "vertices", "random"), random_starts, decision ("mse" or "dtw").
    temperature: predict_proba is softmax(-scores / temperature), scores being the final losses (or DTW
      distances): a monotone map of the decision, not calibrated probabilities (for those, wrap the estimator in
      sklearn.calibration.CalibratedClassifierCV). Read at predict time, as `device` is.
    device: "cpu" (the C kernels), "cuda" or "auto", for training and inversion.
    n_jobs: threads for predict, decision_function, predict_proba and score (None: 1; -1: every core). They
      invert blocks of X's rows on the CPU kernel (which releases the GIL), the same blocks as one thread, so
      the results do not depend on n_jobs. fit is one kernel call that already runs all K generators as SIMD
      lanes of one core; parallel fits come from cross_val_score's or GridSearchCV's own n_jobs. The extended
      variants (starts, decision) invert in one call on one core.
    verbose: a tqdm progress bar for training and inversion.
    random_state: int or None; every seed (prototypes, generators, start vectors) derives from it
      (mic.jobs.estimator_seeds).

    The inversion starts near the uniform mixture, drawn from the seed for all rows of X at once (the paper's
    U(init_low, init_high)), so a row's losses depend slightly on its position in X; with init_low == init_high
    they do not (to float32 rounding), and predictions on a subset of rows equal those of the whole.

    Fitted attributes: classes_, n_features_in_ (channels per time step), transform_ (Transform), prototypes_
    ([K, 4, T, C'] in model space), generators_ (one mic.model.checkpoint.Checkpoint per class), manifest_.
    """

    def __init__(
        self,
        subset: str = "clustered",
        representation: str = "mean",
        prototype_metric: str = "euclidean",
        cumulative_sum: tuple[int, ...] = (),
        keep_channels: tuple[int, ...] | None = None,
        standardize: bool = True,
        pad_length: int | None = None,
        hidden_size: int = 10,
        episodes: int = 40000,
        prototypes_per_step: int = 1,
        learning_rate: float = 0.01,
        lr_schedule: str = "constant",
        noise_in: float = 0.0,
        noise_out: float = 0.0,
        iterations: int = 50,
        inverse_learning_rate: float = 0.05,
        init_low: float = 0.245,
        init_high: float = 0.255,
        starts: tuple[str, ...] = ("uniform",),
        random_starts: int = 0,
        decision: str = "mse",
        temperature: float = 1.0,
        device: str = "cpu",
        n_jobs: int | None = None,
        verbose: bool = False,
        random_state: int | None = None,
    ) -> None:
        self.subset = subset
        self.representation = representation
        self.prototype_metric = prototype_metric
        self.cumulative_sum = cumulative_sum
        self.keep_channels = keep_channels
        self.standardize = standardize
        self.pad_length = pad_length
        self.hidden_size = hidden_size
        self.episodes = episodes
        self.prototypes_per_step = prototypes_per_step
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.noise_in = noise_in
        self.noise_out = noise_out
        self.iterations = iterations
        self.inverse_learning_rate = inverse_learning_rate
        self.init_low = init_low
        self.init_high = init_high
        self.starts = starts
        self.random_starts = random_starts
        self.decision = decision
        self.temperature = temperature
        self.device = device
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn's Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.classifier_tags.poor_score = True  # few-episode settings in tests; the method's accuracy is the paper's
        return tags

    # --- fit --------------------------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any, lengths: Any = None) -> MICClassifier:
        """Choose the prototypes, fit the transform, train one generator per class."""
        sequences = raw_sequences(X, lengths, "X")
        labels = column_or_1d(y, warn=True)
        if len(labels) != len(sequences):
            raise ValueError(f"y has {len(labels)} labels, X has {len(sequences)} sequences")
        check_classification_targets(labels)
        classes, index = np.unique(labels, return_inverse=True)
        counts = np.bincount(index, minlength=len(classes))
        if counts.min() < PROTOTYPES_PER_CLASS:
            k = int(counts.argmin())
            raise ValueError(
                f"y: class {classes.tolist()[k]!r} has {counts[k]} samples, each class needs at least "
                f"{PROTOTYPES_PER_CLASS} (its generator draws {PROTOTYPES_PER_CLASS} prototypes)"
            )
        names = [str(c) for c in classes]
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        seeds = jobs.estimator_seeds(seed, names)
        transform = self._transform(sequences)
        targets = transform.apply(sequences, "X")
        rows = np.arange(len(targets))
        data = PreparedData(targets, index.astype(np.int64), names, rows, rows[:0], transform.mean, transform.std, rows)
        prototype_settings = PrototypeSettings(
            metric=self.prototype_metric,
            representation="mean" if self.subset == "random" else self.representation,
            seed=seeds["prototypes"],
        )
        prototypes = select_prototypes(data, self.subset, prototype_settings)
        settings = TrainSettings(
            hidden_size=int(self.hidden_size),
            episodes=int(self.episodes),
            prototypes_per_step=int(self.prototypes_per_step),
            learning_rate=float(self.learning_rate),
            lr_schedule=self.lr_schedule,
            noise_in=float(self.noise_in),
            noise_out=float(self.noise_out),
        )
        inverse, starts = self._inverse_settings(seeds["inverse"])
        device = resolve_device(self.device)
        with tqdm(total=settings.steps, desc="training generators", unit="step", disable=not self.verbose) as bar:
            result = train_generators(
                prototypes.sequences, settings, seeds["generators"], device=device,
                progress=lambda done, best: bar.update(done - bar.n),
            )  # fmt: skip
        checkpoints = [from_result(result, k, extra={"class": name}) for k, name in enumerate(names)]
        manifest = bundle.ModelManifest(
            classes=tuple(names),
            generator=settings,
            transform=transform,
            inverse=inverse,
            starts=starts,
            checkpoints=checkpoint_names(names),
            prototypes=bundle.PROTOTYPES,
        )
        self._set_fitted(manifest, checkpoints, prototypes, classes)
        return self

    def _transform(self, sequences: list[np.ndarray]) -> Transform:
        """The raw -> model transform of these parameters, its statistics fitted on the training sequences."""
        keep = None if self.keep_channels is None else tuple(int(c) for c in self.keep_channels)
        channels = sequences[0].shape[1]
        used = [*self.cumulative_sum, *(keep or ())]
        if used and not 0 <= min(used) <= max(used) < channels:
            raise ValueError(f"cumulative_sum and keep_channels must name channels 0..{channels - 1}, got {used}")
        longest = max(len(s) for s in sequences)
        if self.pad_length is not None and self.pad_length < longest:
            raise ValueError(f"pad_length is {self.pad_length}, but X holds a sequence of {longest} steps")
        transform = Transform(
            pad_length=longest if self.pad_length is None else int(self.pad_length),
            cumulative_sum=tuple(int(c) for c in self.cumulative_sum),
            keep_channels=keep,
            raw_channels=channels,
        )
        return transform.fitted(transform.features(sequences), bool(self.standardize))

    def _inverse_settings(self, seed: int) -> tuple[InverseSettings, StartSettings | None]:
        """The inversion's settings and, where they differ from the paper's single uniform start, the starts."""
        inverse = InverseSettings(
            iterations=int(self.iterations),
            learning_rate=float(self.inverse_learning_rate),
            init_low=float(self.init_low),
            init_high=float(self.init_high),
            seed=seed,
        )
        starts = StartSettings(tuple(self.starts), int(self.random_starts), self.decision)
        return inverse, None if starts == StartSettings() else starts

    def _set_fitted(self, manifest: bundle.ModelManifest, checkpoints: list, prototypes: Any, classes: Any) -> None:
        self.manifest_ = manifest
        self.generators_ = checkpoints
        self.transform_ = manifest.transform
        self.classes_ = np.asarray(classes)
        self.n_features_in_ = raw_channels(manifest.transform)
        self.prototypes_ = None if prototypes is None else prototypes.sequences
        self._prototypes = prototypes

    # --- predict ----------------------------------------------------------------------------------------------

    def model(self) -> Classifier:
        """The fitted model as a mic.Classifier on this estimator's device, with its n_jobs threads."""
        check_is_fitted(self, "manifest_")
        bank = stack_states([c.state for c in self.generators_], device=resolve_device(self.device))
        return Classifier(bank, self.manifest_, n_jobs=self.n_jobs)

    def invert(self, X: Any, lengths: Any = None, reconstructions: bool = False) -> ClassifyResult:
        """Every module's final loss, decision score and mixture for every sequence (and reconstructions)."""
        classifier = self.model()
        sequences = raw_sequences(X, lengths, "X")
        if self.transform_.raw_channels is not None and sequences[0].shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {sequences[0].shape[1]} channel(s) per time step, but MICClassifier was fitted on "
                f"{self.n_features_in_}: expected [T_i, {self.n_features_in_}] sequences or an [N, T, "
                f"{self.n_features_in_}] array"
            )
        with tqdm(total=len(sequences), desc="inverting", unit="seq", disable=not self.verbose) as bar:
            progress = lambda done, total: bar.update(done - bar.n)  # noqa: E731
            return classifier.invert(sequences, reconstructions=reconstructions, progress=progress)

    def predict(self, X: Any, lengths: Any = None) -> np.ndarray:
        """[N] the class whose generator reconstructs each sequence best."""
        index = self.invert(X, lengths).predicted_index
        return self.classes_[index]

    def decision_function(self, X: Any, lengths: Any = None) -> np.ndarray:
        """[N, K] minus every module's final loss (or DTW distance): higher wins.

        With two classes [N], as scikit-learn's binary convention: > 0 means classes_[1].
        """
        scores = -self.invert(X, lengths).scores
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict_proba(self, X: Any, lengths: Any = None) -> np.ndarray:
        """[N, K] softmax(-scores / temperature); see the class docstring (uncalibrated)."""
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        return softmax(-self.invert(X, lengths).scores / float(self.temperature), axis=1)

    # --- save / load ------------------------------------------------------------------------------------------

    def save(self, folder: str | os.PathLike) -> Path:
        """Write the model folder: model.json, generators/, prototypes.npz and estimator.json (the parameters)."""
        check_is_fitted(self, "manifest_")
        folder = Path(folder)
        params = json.loads(json.dumps(self.get_params(), default=_plain))
        info = {"format": ESTIMATOR_FORMAT, "version": 1, "params": params, "classes": self.classes_.tolist()}
        save_json(folder / ESTIMATOR_FILE, info)
        return bundle.save_model(folder, self.manifest_, self.generators_, self._prototypes)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> MICClassifier:
        """A fitted estimator from a folder written by save, or from any model folder (a pipeline setting folder)."""
        folder = bundle.resolve_model_folder(folder)[0]
        manifest = bundle.read_manifest(folder)
        path = folder / ESTIMATOR_FILE
        info = json.loads(path.read_text()) if path.is_file() else {}
        if info and info.get("format") != ESTIMATOR_FORMAT:
            raise bundle.ModelError(f"{path}: field 'format' is {info.get('format')!r}, expected {ESTIMATOR_FORMAT!r}")
        params = info.get("params") or params_of(manifest)
        estimator = cls(**{k: tuple(v) if k in TUPLE_PARAMS and v is not None else v for k, v in params.items()})
        classes = np.array(info.get("classes", list(manifest.classes)))
        if [str(c) for c in classes] != list(manifest.classes):
            raise bundle.ModelError(
                f"{path}: field 'classes' differs from {bundle.MANIFEST}'s {list(manifest.classes)}"
            )
        prototypes = Prototypes.load(folder / manifest.prototypes) if manifest.prototypes else None
        estimator._set_fitted(manifest, bundle.load_checkpoints(folder, manifest), prototypes, classes)
        return estimator


def _plain(value: Any) -> Any:
    """JSON for numpy scalars in parameters."""
    return value.item() if isinstance(value, np.generic) else str(value)


def raw_channels(transform: Transform) -> int:
    """Channels per raw time step; where a pipeline's own data set leaves them open, the fewest its transform reads."""
    if transform.raw_channels is not None:
        return int(transform.raw_channels)
    if transform.keep_channels is None:
        return len(transform.mean)
    return max([*transform.cumulative_sum, *transform.keep_channels]) + 1


def checkpoint_names(names: list[str]) -> tuple[str, ...]:
    """Each class's checkpoint file; numbered where two class names give the same file name."""
    plain = [bundle.checkpoint_name(n) for n in names]
    if len(set(plain)) == len(plain):
        return tuple(plain)
    return tuple(f"{bundle.GENERATORS}/{k}_{layout.file_name(n)}.pt" for k, n in enumerate(names))


def params_of(manifest: bundle.ModelManifest) -> dict[str, Any]:
    """The estimator parameters a manifest fixes (a model folder without estimator.json); the rest default."""
    g, i, t = manifest.generator, manifest.inverse, manifest.transform
    starts = manifest.starts or StartSettings()
    return {
        **{k: getattr(g, k) for k in ("hidden_size", "episodes", "prototypes_per_step", "learning_rate")},
        **{k: getattr(g, k) for k in ("lr_schedule", "noise_in", "noise_out")},
        **{k: getattr(i, k) for k in ("iterations", "init_low", "init_high")},
        "inverse_learning_rate": i.learning_rate,
        "cumulative_sum": t.cumulative_sum,
        "keep_channels": t.keep_channels,
        "standardize": bool(np.any(t.mean != 0) or np.any(t.std != 1)),
        "starts": starts.starts,
        "random_starts": starts.random_starts,
        "decision": starts.decision,
    }
