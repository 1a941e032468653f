"""The robustness job: a replicate's models under corruptions, beside outliers and under attack.

Tested here, beyond the paper, are the robustness claims of its introduction. Every input set (test subsample,
corrupted copies, outlier sets, the ε scale) depends on the data set alone, so all replicates and subsets
see the same inputs and differ only in their models. The models are MIC's validation-best setting ("mic"),
the validation-best inversion variant ("mic_extended"), the forward LSTM on the same prototypes and on the
full training split, and Euclidean 1-NN on the same prototypes (mic.layout.ROBUSTNESS_METHODS).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from mic import layout
from mic.baselines.forward import ForwardResult, build_model, predict_logits
from mic.baselines.nearest_prototype import nearest_prototype_predict
from mic.io import save_table
from mic.model.extended import StartSettings, extended_inverse
from mic.model.generator import GeneratorBank
from mic.model.inverse import InverseSettings, initial_vectors, inverse_classify
from mic.robustness import attacks, outliers
from mic.robustness.corruptions import corrupt
from mic.robustness.settings import RobustnessSettings

log = logging.getLogger("mic")

MIC, EXTENDED, FORWARD, FORWARD_FULL, NEAREST = layout.ROBUSTNESS_METHODS
WHITE_BOX, TRANSFER, MINIMAL = layout.ROBUSTNESS_ATTACKS
ROC_POINTS = 101


@dataclass(frozen=True)
class Variant:
    """The validation-best inversion variant: its starts, inverse settings and random-start seed."""

    name: str
    starts: StartSettings
    inverse: InverseSettings
    random_seed: int


@dataclass(frozen=True)
class Models:
    """A replicate's models of one data set and subset."""

    bank: GeneratorBank  # the validation-best setting's class generators
    inverse: InverseSettings
    variant: Variant | None
    forward: Mapping[str, ForwardResult]  # FORWARD and FORWARD_FULL
    prototypes: np.ndarray  # [K, 4, T, C]


@dataclass(frozen=True)
class Scored:
    """One model's predictions of an input set and its outlier scores (higher: more outlying), by score name."""

    predictions: np.ndarray
    scores: dict[str, np.ndarray]


def mic_outputs(models: Models, x: np.ndarray, keep: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """MIC's final losses [n, G] of every module, and with `keep` their final reconstructions [n, G, T, C]."""
    result = inverse_classify(models.bank, torch.from_numpy(x), models.inverse, keep=range(len(x)) if keep else ())
    reconstructions = result.reconstructions.numpy() if keep else None
    return result.final_losses.numpy(), reconstructions


def evaluate(models: Models, x: np.ndarray, methods: tuple[str, ...] | None = None) -> dict[str, Scored]:
    """Every model's (or `methods`') predictions and outlier scores of the inputs x [n, T, C]."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    wanted = methods or (MIC, EXTENDED, FORWARD, FORWARD_FULL, NEAREST)
    scored = {}
    if MIC in wanted:
        losses, _ = mic_outputs(models, x)
        scored[MIC] = Scored(losses.argmin(1), {"min_loss": losses.min(1)})
    if EXTENDED in wanted and models.variant is not None:
        variant = models.variant
        result = extended_inverse(
            models.bank, torch.from_numpy(x), variant.inverse, variant.starts, variant.random_seed
        )
        scores = result.scores.numpy()
        scored[EXTENDED] = Scored(scores.argmin(1), {"min_score": scores.min(1)})
    for method in (FORWARD, FORWARD_FULL):
        if method in wanted:
            logits = predict_logits(models.forward[method], x)
            scores = {"max_softmax": outliers.softmax_score(logits), "energy": outliers.energy_score(logits)}
            scored[method] = Scored(logits.argmax(1), scores)
    if NEAREST in wanted:
        predicted, distances = nearest_prototype_predict(models.prototypes, x, "euclidean")
        scored[NEAREST] = Scored(predicted, {"distance": distances.min(1)})
    return scored


def _accuracy_rows(scored: Mapping[str, Scored], y: np.ndarray, **columns: Any) -> list[dict]:
    rows = []
    for method, result in scored.items():
        correct = int((result.predictions == y).sum())
        rows.append({"method": method, **columns, "samples": len(y), "correct": correct, "accuracy": correct / len(y)})
    return rows


# Inputs: the same for every replicate and subset of a data set -------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """The job's fixed inputs: test rows to corrupt and attack, validation rows for thresholds, the ε scale."""

    test_x: np.ndarray
    test_y: np.ndarray
    validation_x: np.ndarray
    value_std: float  # of the training values: the unit of the gaussian corruption
    epsilon_scale: dict[str, float]  # per norm


def fixed_inputs(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    validation_x: np.ndarray,
    settings: RobustnessSettings,
    seed: int,
) -> Inputs:
    """Seeded subsamples of the test split (corruptions and outliers; the attacks take its first rows) and of the
    validation samples, and the ε scale from a seeded training subsample (mic.jobs.robustness_seed)."""
    rng = np.random.default_rng(seed)
    (train_x, train_y), (test_x, test_y) = train, test
    order = rng.permutation(len(test_y))[: max(settings.samples, settings.attack_samples)]
    picked = rng.choice(len(validation_x), min(settings.samples, len(validation_x)), replace=False)
    scale_rows = rng.choice(len(train_y), min(settings.scale_samples, len(train_y)), replace=False)
    scale = {norm: attacks.epsilon_scale(train_x[scale_rows], train_y[scale_rows], norm) for norm in settings.norms}
    log.info("ε scale (median distance to the nearest training sample of another class): %s", scale)
    return Inputs(test_x[order], test_y[order], validation_x[np.sort(picked)], float(train_x.std()), scale)


# The three experiments --------------------------------------------------------------------------------------


def corruption_table(
    models: Models, inputs: Inputs, settings: RobustnessSettings, seed: int
) -> tuple[pd.DataFrame, dict[str, Scored]]:
    """Accuracy of every model on the clean test subsample and on each corruption kind and level."""
    x, y = inputs.test_x[: settings.samples], inputs.test_y[: settings.samples]
    clean = evaluate(models, x)
    rows = _accuracy_rows(clean, y, kind=layout.CLEAN, level=0.0)
    for kind, levels in settings.corruptions.items():
        for level in levels:
            rng = np.random.default_rng([seed, *map(ord, kind), int(level * 1e6)])
            corrupted = corrupt(x, kind, level, rng, scale=inputs.value_std)
            rows += _accuracy_rows(evaluate(models, corrupted), y, kind=kind, level=float(level))
            log.info("%s %g: %s", kind, level, {r["method"]: round(r["accuracy"], 3) for r in rows[-len(clean) :]})
    return pd.DataFrame(rows), clean


def outlier_tables(
    models: Models, inputs: Inputs, clean: Mapping[str, Scored], settings: RobustnessSettings, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """AUROC and the share of outliers accepted at the threshold keeping 95 % of validation samples; ROC points."""
    validation = evaluate(models, inputs.validation_x)
    reference = inputs.test_x[: settings.samples]
    rows, curves = [], []
    for kind in settings.outliers:
        rng = np.random.default_rng([seed, *map(ord, kind)])
        scored = evaluate(models, outliers.outlier_set(kind, reference, len(reference), rng))
        for method, result in scored.items():
            for score, values in result.scores.items():
                inliers = clean[method].scores[score]
                threshold = outliers.threshold_keeping(validation[method].scores[score])
                rows.append(
                    {
                        "method": method,
                        "score": score,
                        "outlier_set": kind,
                        "inliers": len(inliers),
                        "outliers": len(values),
                        "auroc": outliers.auroc(inliers, values),
                        "accepted_at_95": outliers.accepted_share(values, threshold),
                        "threshold": threshold,
                    }
                )
                fpr, tpr = outliers.roc_points(inliers, values, ROC_POINTS)
                curves.append(
                    pd.DataFrame({"method": method, "score": score, "outlier_set": kind, "fpr": fpr, "tpr": tpr})
                )
        log.info("outliers %s: %s", kind, {r["method"]: round(r["auroc"], 3) for r in rows if r["outlier_set"] == kind})
    return pd.DataFrame(rows), pd.concat(curves, ignore_index=True)


def _mic_gradient(models: Models) -> attacks.GradientFn:
    return attacks.mic_margin_gradient(lambda x: mic_outputs(models, x, keep=True))


def attack_table(
    models: Models, inputs: Inputs, clean: Mapping[str, Scored], settings: RobustnessSettings
) -> pd.DataFrame:
    """Accuracy against ε: MIC and the forward models under their own white-box PGD, MIC, the other forward model
    and 1-NN under transfer from PGD on the forward model of the same prototypes, 1-NN at its exact minimal L2
    perturbation. The inversion variant is not attacked: it costs several inversions per input (its starts).

    Perturbations are not clipped to the data's range: the models' input space (standardised values) has none.
    """
    n = settings.attack_samples
    x, y = inputs.test_x[:n], inputs.test_y[:n]
    own: dict[str, attacks.GradientFn] = {
        MIC: _mic_gradient(models),
        FORWARD: attacks.forward_gradient(build_model(models.forward[FORWARD])),
        FORWARD_FULL: attacks.forward_gradient(build_model(models.forward[FORWARD_FULL])),
    }
    rows = []

    def add(method: str, attack: str, source: str, where: dict, correct: np.ndarray) -> None:
        rows.append({"method": method, "attack": attack, "source": source, **where,
                     "correct": int(correct.sum()), "accuracy": float(correct.mean())})  # fmt: skip

    for norm in settings.norms:
        margins = attacks.nearest_prototype_l2_margin(models.prototypes, x, y) if norm == "l2" else None
        for fraction in sorted(settings.fractions):
            epsilon = fraction * inputs.epsilon_scale[norm]
            where = {"norm": norm, "fraction": fraction, "epsilon": epsilon, "samples": n}
            adversarial = {}
            for method, gradient in own.items():
                started = time.perf_counter()
                adversarial[method], correct = attacks.pgd(x, y, gradient, epsilon, norm, settings.steps)
                add(method, WHITE_BOX, method, where, correct)
                log.info("%s white-box %s ε %.4g: accuracy %.3f (%.1f s)", method, norm, epsilon, correct.mean(),
                         time.perf_counter() - started)  # fmt: skip
            others = tuple(method for method in clean if method not in (FORWARD, EXTENDED))
            for method, result in evaluate(models, adversarial[FORWARD], others).items():
                add(method, TRANSFER, FORWARD, where, result.predictions == y)
            if margins is not None:
                add(NEAREST, MINIMAL, "", where, margins > epsilon)
    table = pd.DataFrame(rows)
    # every curve starts at the clean accuracy of the same samples (ε = 0)
    starts = table.drop_duplicates(["method", "attack", "source", "norm"])[["method", "attack", "source", "norm"]]
    for row in starts.itertuples(index=False):
        add(row.method, row.attack, row.source, {"norm": row.norm, "fraction": 0.0, "epsilon": 0.0, "samples": n},
            clean[row.method].predictions[:n] == y)  # fmt: skip
    return pd.DataFrame(rows).sort_values(["method", "attack", "source", "norm", "fraction"], kind="stable")


def gradient_table(models: Models, inputs: Inputs, targets: int) -> pd.DataFrame:
    """The envelope-theorem gradient of MIC's module losses against the gradient through every Adam step, on the
    first `targets` attacked samples, for the true module and the best other one."""
    rows = []
    x, y = inputs.test_x[:targets], inputs.test_y[:targets]
    if not len(y):
        return pd.DataFrame(columns=["target", "module", "iterations", "cosine", "relative_error"])
    losses, _ = mic_outputs(models, x)
    starts = initial_vectors(len(x), models.bank.num_generators, models.inverse)
    for target in range(len(x)):
        others = np.where(np.arange(losses.shape[1]) == y[target], np.inf, losses[target])
        for module in (int(y[target]), int(others.argmin())):
            args = (models.bank, torch.from_numpy(x[target]).double(), module, models.inverse, starts[target, module])
            agreement = attacks.gradient_agreement(
                attacks.envelope_input_gradient(*args), attacks.unrolled_input_gradient(*args)
            )
            rows.append({"target": target, "module": module, "iterations": models.inverse.iterations, **agreement})
    log.info("envelope against unrolled gradients: %s", rows)
    return pd.DataFrame(rows)


def timed(part: str, run: Callable[[], Any]) -> Any:
    """`run()`, logging how long it took (the note on the jobs' cost reads it)."""
    started = time.perf_counter()
    value = run()
    log.info("%s took %.1f s", part, time.perf_counter() - started)
    return value


def robustness_job(
    models: Models, inputs: Inputs, settings: RobustnessSettings, seed: int, check_gradients: bool, outputs: Any
) -> None:
    """All three experiments, and with `check_gradients` the gradient check (a check of the method, not a
    measurement per replicate: the pipeline runs it in replicate 0); outputs: the paths by table name
    (layout.ROBUSTNESS_TABLES)."""
    corruptions, clean = timed("corruptions", lambda: corruption_table(models, inputs, settings, seed))
    found, curves = timed("outliers", lambda: outlier_tables(models, inputs, clean, settings, seed))
    attacked = timed("attacks", lambda: attack_table(models, inputs, clean, settings))
    targets = settings.gradient_check if check_gradients else 0
    gradients = timed("gradient check", lambda: gradient_table(models, inputs, targets))
    for name, table in zip(layout.ROBUSTNESS_TABLES, (corruptions, found, curves, attacked, gradients), strict=True):
        save_table(getattr(outputs, name), table)
