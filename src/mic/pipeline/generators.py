"""The method's jobs: train a setting's class generators, invert the test and validation samples with them.

Each function is one rule's work, from loaded inputs and typed settings (mic.jobs) to written outputs; the
rule scripts in workflow/scripts/ only translate Snakemake's object into these calls.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes, validation_rows
from mic.evidence.scores import prediction_table, summary_table
from mic.io import save_npz, save_table
from mic.logs import process_age
from mic.model.checkpoint import from_result, save_checkpoint
from mic.model.generator import GeneratorBank
from mic.model.inverse import InverseResult, InverseSettings, initial_vectors, inverse_classify, project
from mic.model.training import TrainSettings, train_generators

FIGURE56_TARGETS = 4  # unseen targets shown for the first class's module (paper Figures 5, 6)
CURVE_POINTS = 200  # about this many points per loss curve are plenty for the report's plots

log = logging.getLogger("mic")
Path = str | os.PathLike


def train_setting(
    prototype_sets: Sequence[Prototypes],
    classes: Sequence[str],
    settings: TrainSettings,
    seeds: Sequence[int],
    identities: Sequence[dict],
    device: torch.device,
    checkpoints: Sequence[Path],
    training_tables: Sequence[Path],
    curve_tables: Sequence[Path],
) -> None:
    """Train every class generator of every replicate at once (one per seed); a checkpoint and tables each."""
    for prototypes in prototype_sets:
        if prototypes.class_names != list(classes):
            raise ValueError(f"prototypes of classes {prototypes.class_names}, the config expects {list(classes)}")
    log.info("%d replicates x %d generators, %s, device %s", len(prototype_sets), len(classes), settings, device)
    log.info("first kernel call %.2f s after the job's start", process_age())
    result = train_generators(
        torch.from_numpy(np.concatenate([p.sequences for p in prototype_sets])),
        settings,
        list(seeds),
        device=device,
        progress=lambda step, best: log.info("step %d, best loss %s", step, best.numpy().round(5).tolist()),
    )
    log.info("trained in %.1f s", result.seconds)
    for index, (path, identity) in enumerate(zip(checkpoints, identities, strict=True)):
        save_checkpoint(path, from_result(result, index, extra=identity))

    curve = result.loss_curve.numpy()
    points = np.arange(0, curve.shape[1], max(1, curve.shape[1] // CURVE_POINTS))
    k = len(classes)
    for r, (training_path, curves_path) in enumerate(zip(training_tables, curve_tables, strict=True)):
        rows = slice(r * k, (r + 1) * k)
        training = {
            "class": classes,
            "best_loss": result.best_loss.numpy()[rows],
            "best_step": result.best_step.numpy()[rows],
            "clean_loss": result.clean_loss.numpy()[rows],
            "final_loss": curve[rows, -1],
            "episodes": settings.episodes,
            "seconds": result.seconds / len(seeds),  # each generator's share of the batched job
        }
        save_table(training_path, pd.DataFrame(training))
        curves = {
            "class": np.repeat(classes, len(points)),
            "step": np.tile(points * settings.log_every, k),
            "loss": curve[rows][:, points].ravel(),
        }
        save_table(curves_path, pd.DataFrame(curves))


def invert_split(
    bank: GeneratorBank,
    x: np.ndarray,
    y: np.ndarray,
    samples: np.ndarray,
    classes: Sequence[str],
    settings: InverseSettings,
    keep: Sequence[int] = (),
) -> tuple[pd.DataFrame, pd.DataFrame, InverseResult]:
    """Invert one split: its predictions and summary tables (before and after the iterations), and the result."""
    classes = list(classes)
    log.info("%d targets x %d modules x %d iterations", len(y), len(classes), settings.iterations)
    log.info("kernel call %.2f s after the job's start", process_age())
    result = inverse_classify(bank, torch.from_numpy(x), settings, keep=list(keep))
    losses = result.losses.numpy()
    start = project(initial_vectors(len(y), len(classes), settings), dim=2).numpy()
    mixtures = {0: start, settings.iterations: result.mixtures.numpy()}
    summary = summary_table(losses, sorted({0, settings.iterations}), y, classes)
    overall = summary[summary["class"] == "all"][["iterations", "accuracy"]].values.tolist()
    log.info("accuracy by iterations: %s", overall)
    return prediction_table(losses, mixtures, y, samples, classes), summary, result


def inverse_setting(
    bank: GeneratorBank,
    data: PreparedData,
    prototypes: Prototypes,
    test: InverseSettings,
    validation: InverseSettings,
    validation_per_class: int,
    validation_seed: int,
    outputs: Any,
) -> None:
    """Invert the test split and the validation samples; predictions, summaries and Figures 5/6's arrays.

    outputs: the paths as attributes: reconstructions, predictions, summary, validation_predictions and
    validation_summary.
    """
    classes = data.class_names
    test_x, test_y = data.split("test")
    first_class = np.flatnonzero(test_y == 0)[:FIGURE56_TARGETS]
    predictions, summary, result = invert_split(bank, test_x, test_y, data.test_index, classes, test, first_class)
    # Training samples that are no prototype, the same for every noise setting of a replicate: they choose the
    # best setting without the test split.
    rows = validation_rows(data, prototypes, validation_per_class, validation_seed)
    checked = invert_split(bank, data.sequences[rows], data.labels[rows], rows, classes, validation)

    kept = result.reconstructions[:, 0].numpy() if len(first_class) else np.empty((0, *test_x.shape[1:]))
    save_npz(
        outputs.reconstructions,
        module=np.array(classes[0]),
        prototypes=prototypes.sequences[0],
        targets=test_x[first_class],
        reconstructions=kept,
        mixtures=result.mixtures[first_class, 0].numpy(),
        target_sample=data.test_index[first_class],
    )
    save_table(outputs.predictions, predictions)
    save_table(outputs.summary, summary)
    save_table(outputs.validation_predictions, checked[0])
    save_table(outputs.validation_summary, checked[1])
