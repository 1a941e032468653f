"""Classify new raw sequences with a trained model folder (`mic classify`, `mic.Classifier`).

A model folder describes itself (mic.model.bundle): its manifest, model.json, names the classes, the
checkpoints, the raw -> model transform (mic.data.sources.Transform), the inverse settings with their seed
and, for the variants beyond the paper, the start settings. A pipeline run writes one into every setting
folder (and best_model.json into every subset folder, naming the subset's best setting);
MICClassifier.save writes one for a model fitted in Python. Nothing else is read.

Inputs are RAW sequences as the model's data source delivers them (read and checked by mic.inputs); the
stored transform turns them into model inputs, and then every class module inverts each one, in blocks of
rows that n_jobs threads share.

Reproducibility: the start vectors of the inversion are drawn once for the whole input from the seed
(mic.model.inverse.initial_vectors over all N rows), so they depend on the seed AND on the number and order
of the rows. With the manifest's seed (the default), classifying a run's test split in its order
reproduces that run's predictions.tsv.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mic import jobs
from mic.data.labels import DataFormatError
from mic.data.sources import Transform
from mic.device import resolve_device
from mic.evidence.scores import prediction_table
from mic.inputs import ClassifyError, as_sequences, read_input
from mic.model import bundle
from mic.model.extended import StartSettings, extended_inverse
from mic.model.generator import GeneratorBank, generate
from mic.model.inverse import NATIVE_CHUNK as KERNEL_CHUNK  # rows the CPU kernel inverts per call
from mic.model.inverse import InverseResult, InverseSettings, initial_vectors, inverse_classify

DEFAULT_CHUNK = 2048  # sequences transformed and inverted at a time: bounds memory, one progress line each
PAPER_STARTS = StartSettings()  # one uniform start, decided by MSE

Progress = Callable[[int, int], None]  # (sequences done, total)


def thread_count(n_jobs: int | None) -> int:
    """Threads that invert blocks of rows at once: None is 1; -1 every core this process may use, -2 all but one."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ClassifyError(f"n_jobs must be None, a positive integer or -1 (every core), got {n_jobs!r}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return int(n_jobs) if n_jobs > 0 else max(1, cores + 1 + int(n_jobs))


@dataclass
class ClassifyResult:
    """Final losses, decision scores and mixtures of every (sequence, module), optionally the reconstructions."""

    classes: list[str]
    losses: np.ndarray  # [N, K] final MSE of each class module
    mixtures: np.ndarray  # [N, K, 4] final (clipped, normalised) input vectors
    reconstructions: np.ndarray | None = None  # [N, K, T, O] in the model's (transformed) space
    targets: np.ndarray | None = None  # [N, T, O] the transformed inputs, when reconstructions are kept
    distances: np.ndarray | None = None  # [N, K] DTW distances to the target where they decide (decision "dtw")

    @property
    def scores(self) -> np.ndarray:
        """[N, K] what decides, lowest wins: the losses, or the DTW distances."""
        return self.losses if self.distances is None else self.distances

    @property
    def predicted_index(self) -> np.ndarray:
        """[N] index of the module with the lowest score."""
        return self.scores.argmin(axis=1)

    @property
    def predicted(self) -> np.ndarray:
        """[N] predicted class names."""
        return np.array(self.classes, dtype=object)[self.predicted_index]

    def table(self, iterations: int, labels: Sequence[str] | None = None) -> pd.DataFrame:
        """predictions.tsv layout (mic.evidence.scores.prediction_table) at the final iteration, one row per input.

        Where DTW distances decide, dtw_<class> columns follow the losses, and the winner is the nearest.
        """
        index = {name: k for k, name in enumerate(self.classes)}
        truth = np.array([index[c] for c in labels]) if labels is not None else np.zeros(len(self.losses), int)
        frame = prediction_table(self.scores[None], {0: self.mixtures}, truth, np.arange(len(truth)), self.classes)
        frame["iterations"] = iterations
        if self.distances is not None:
            frame = frame.rename(columns={f"loss_{c}": f"dtw_{c}" for c in self.classes})
            for k, name in enumerate(self.classes):
                frame.insert(5 + k, f"loss_{name}", self.losses[:, k])
        return frame if labels is not None else frame.drop(columns=["true_class", "correct"])


class Classifier:
    """A trained model (a model folder) as a classifier of raw sequences (scikit-learn style; no fit).

    X is raw: an [N, T, C] array or a list of [T_i, C] arrays, as the model's data source delivers them.
    Every call inverts all of X; start vectors depend on the seed and on the rows of X (module docstring).
    """

    def __init__(
        self,
        bank: GeneratorBank,
        manifest: bundle.ModelManifest,
        folder: str | os.PathLike | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        backend: str = "auto",
        n_jobs: int | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ClassifyError(f"chunk_size must be >= 1, got {chunk_size}")
        self.n_jobs = thread_count(n_jobs)
        self.bank = bank
        self.manifest = manifest
        self.folder = None if folder is None else Path(folder)
        self.classes_ = np.array(manifest.classes, dtype=object)
        self.chunk_size = int(chunk_size)
        self.backend = backend  # mic.model.inverse: "auto" (C kernel on the CPU), "native" or "torch"

    @classmethod
    def load(
        cls,
        folder: str | os.PathLike,
        *,
        iterations: int | None = None,
        seed: int | None = None,
        device: str = "cpu",
        chunk_size: int = DEFAULT_CHUNK,
        backend: str = "auto",
        n_jobs: int | None = None,
    ) -> Classifier:
        """Load a model folder (model.json), or a subset folder's best model (best_model.json).

        iterations, seed: override the manifest's inverse settings. device: cpu (the C kernel; the default),
        cuda or auto. backend: as mic.model.inverse.inverse_classify's. n_jobs: threads (thread_count).
        """
        try:
            folder = bundle.resolve_model_folder(folder)[0]
            manifest = bundle.read_manifest(folder)
            overrides = {"seed": seed, "iterations": iterations}
            inverse = replace(manifest.inverse, **{k: int(v) for k, v in overrides.items() if v is not None})
            manifest = replace(manifest, inverse=inverse)
            bank = bundle.load_bank_of(folder, resolve_device(device), manifest)
        except (ValueError, RuntimeError) as exc:
            raise ClassifyError(str(exc)) from exc
        return cls(bank, manifest, folder, chunk_size, backend, n_jobs)

    @property
    def settings(self) -> InverseSettings:
        """The inverse settings (iterations, seed, ...)."""
        return self.manifest.inverse

    @property
    def transform(self) -> Transform:
        """The raw -> model transform."""
        return self.manifest.transform

    @property
    def starts(self) -> StartSettings:
        """Where the input vectors start and what decides (the paper's: one uniform start, MSE)."""
        return self.manifest.starts or PAPER_STARTS

    @property
    def n_classes_(self) -> int:
        """Number of class modules."""
        return len(self.classes_)

    def describe(self) -> str:
        """One line: the model, its classes, iterations and seed."""
        where = self.folder if self.folder is not None else self.manifest.describe()
        s = self.settings
        return f"model {where}: {self.n_classes_} classes, {s.iterations} iterations, seed {s.seed}"

    def invert(
        self,
        X: np.ndarray | Sequence[np.ndarray],
        lengths: np.ndarray | None = None,
        reconstructions: bool = False,
        progress: Progress | None = None,
        where: str = "X",
    ) -> ClassifyResult:
        """Transform and invert X; every module's final loss, score and mixture (and reconstructions)."""
        sequences = as_sequences(X, lengths, where)
        try:
            self.transform.check(sequences, where)  # every row, before any work
        except DataFormatError as exc:
            raise ClassifyError(str(exc)) from exc
        if self.starts != PAPER_STARTS:
            return self._invert_extended(sequences, reconstructions, progress, where)
        n, g = len(sequences), self.n_classes_
        start = initial_vectors(n, g, self.settings)  # all rows at once: the pipeline's draw (module docstring)
        parts: dict[str, list[np.ndarray]] = {"losses": [], "mixtures": [], "reconstructions": [], "targets": []}

        def run(lo: int, hi: int) -> tuple[torch.Tensor, InverseResult]:
            chunk = torch.from_numpy(self.transform.apply(sequences[lo:hi], where))
            keep = range(hi - lo) if reconstructions else ()
            return chunk, inverse_classify(self.bank, chunk, self.settings, keep, self.backend, start[lo:hi])

        bounds = self.blocks(n)
        with ThreadPoolExecutor(self.n_jobs) as pool:  # the kernel releases the GIL while it runs
            done = pool.map(run, *zip(*bounds)) if self.n_jobs > 1 else (run(lo, hi) for lo, hi in bounds)
            for (_, hi), (chunk, result) in zip(bounds, done):
                parts["losses"].append(result.final_losses.numpy())
                parts["mixtures"].append(result.mixtures.numpy())
                if reconstructions:
                    parts["reconstructions"].append(result.reconstructions.numpy())
                    parts["targets"].append(chunk.numpy())
                if progress is not None:
                    progress(hi, n)
        joined = {key: np.concatenate(value) if value else None for key, value in parts.items()}
        return ClassifyResult(list(self.classes_), **joined)

    def blocks(self, n: int) -> list[tuple[int, int]]:
        """Row ranges inverted at a time: chunks, cut for threads into the kernel's own blocks (same results)."""
        chunks = [(lo, min(n, lo + self.chunk_size)) for lo in range(0, n, self.chunk_size)]
        if self.n_jobs == 1:
            return chunks
        return [(a, min(hi, a + KERNEL_CHUNK)) for lo, hi in chunks for a in range(lo, hi, KERNEL_CHUNK)]

    def _invert_extended(
        self, sequences: list[np.ndarray], reconstructions: bool, progress: Progress | None, where: str
    ) -> ClassifyResult:
        """Several starts per module and/or the DTW decision (mic.model.extended), all rows in one call."""
        targets = torch.from_numpy(self.transform.apply(sequences, where))
        random_seed = jobs.random_starts_seed(self.settings.seed) if "random" in self.starts.starts else None
        result = extended_inverse(self.bank, targets, self.settings, self.starts, random_seed, self.backend)
        if progress is not None:
            progress(len(sequences), len(sequences))
        recon = None
        if reconstructions:
            recon = result.reconstructions
            if recon is None:  # the MSE decision keeps none: every module's output from its final mixture
                recon = generate(self.bank, result.mixtures.transpose(0, 1), targets.shape[1]).transpose(0, 1)
            recon = recon.cpu().numpy()
        return ClassifyResult(
            list(self.classes_),
            result.losses.numpy(),
            result.mixtures.numpy(),
            recon,
            targets.numpy() if reconstructions else None,
            result.scores.numpy() if self.starts.decision == "dtw" else None,
        )

    def predict(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """[N] predicted class names."""
        return self.invert(X).predicted

    def losses(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """[N, K] final reconstruction loss of every class module (columns in classes_ order)."""
        return self.invert(X).losses

    def decision_function(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """[N, K] minus the decision scores (the losses, or DTW distances): the highest wins."""
        return -self.invert(X).scores

    def mixtures(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """[N, K, 4] final mixture of every class module over its 4 prototypes."""
        return self.invert(X).mixtures

    def reconstruct(self, X: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """[N, K, T, O] every module's final reconstruction, in the model's (transformed, standardised) space."""
        return self.invert(X, reconstructions=True).reconstructions

    def score(self, X: np.ndarray | Sequence[np.ndarray], y: Sequence[str]) -> float:
        """Accuracy against class names y."""
        self.check_labels(y, "y")
        return float(np.mean(self.predict(X) == np.asarray(y, dtype=str).astype(object)))

    def check_labels(self, labels: Sequence[str], where: str) -> None:
        """Every label must name a class module."""
        unknown = sorted(set(map(str, labels)) - set(self.classes_))
        if unknown:
            raise ClassifyError(
                f"{where}: 'labels' name classes the modules do not know: {', '.join(unknown[:5])} "
                f"(known: {', '.join(self.classes_)})"
            )


def classify_file(
    model: str | os.PathLike,
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    reconstructions: str | os.PathLike | None = None,
    allow_pickle: bool = False,
    progress: Progress | None = None,
    log: Callable[[str], None] = lambda message: None,
    **load_options: object,
) -> tuple[pd.DataFrame, float | None]:
    """`mic classify`: predictions table (and reconstructions) written atomically; returns it and the accuracy."""
    from mic.io import save_npz, save_table

    if reconstructions is not None and Path(reconstructions).resolve() == Path(output).resolve():
        raise ClassifyError(f"{output}: the predictions and the reconstructions need different files")
    try:
        folder, note = bundle.resolve_model_folder(model)
    except bundle.ModelError as exc:
        raise ClassifyError(str(exc)) from exc
    if note is not None:
        log(note)
    classifier = Classifier.load(folder, **load_options)
    raw = read_input(input_path, allow_pickle)
    if raw.labels is not None:
        classifier.check_labels(raw.labels, str(input_path))
    log(f"{classifier.describe()}, {len(raw.sequences)} sequences")
    keep = reconstructions is not None
    result = classifier.invert(raw.sequences, reconstructions=keep, progress=progress, where=str(input_path))
    table = result.table(classifier.settings.iterations, raw.labels)
    accuracy = float(table["correct"].mean()) if raw.labels is not None else None
    written = []
    try:
        if reconstructions is not None:
            save_npz(
                reconstructions,
                reconstructions=result.reconstructions,
                targets=result.targets,
                class_names=np.array(result.classes),
                channel_mean=classifier.transform.mean,
                channel_std=classifier.transform.std,
            )
            written.append(Path(reconstructions))
        save_table(output, table)
    except BaseException:
        for path in written:  # all or nothing: no reconstructions without their predictions
            path.unlink(missing_ok=True)
        raise
    return table, accuracy


def progress_printer(stream, started: float | None = None) -> Progress:  # noqa: ANN001 - any text stream
    """A progress line per chunk ("classified 2048/10000 sequences, 12.3 s"), rewritten in place on a TTY."""
    started = time.monotonic() if started is None else started
    tty = stream.isatty()

    def report(done: int, total: int) -> None:
        line = f"classified {done}/{total} sequences, {time.monotonic() - started:.1f} s"
        stream.write(f"\r{line}" + ("\n" if done == total else "") if tty else f"{line}\n")
        stream.flush()

    return report
