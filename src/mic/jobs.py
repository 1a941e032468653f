"""What each kind of job is: its typed settings and its seeds, from the config and the job's wildcards.

The one home of every seed rule: the pipeline's rule scripts, `mic classify` and `MICClassifier` call these
functions, so a model reproduced outside the pipeline draws exactly the pipeline's random numbers.
Noise levels and replicates enter the seeds as the strings they have in result paths ("0.1", "2").
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mic import layout
from mic.baselines.forward import ForwardSettings, settings_for
from mic.data.preprocess import PreparedData, PreprocessSettings, stored_transform
from mic.data.prototypes import PrototypeSettings
from mic.method import PROTOTYPES_PER_CLASS
from mic.model.bundle import ModelManifest, config_sha256
from mic.model.extended import StartSettings
from mic.model.inverse import InverseSettings
from mic.model.training import TrainSettings
from mic.robustness.settings import RobustnessSettings
from mic.seeding import derive_seed
from mic.settings import from_config

Config = Mapping[str, Any]  # one data set's block of the config: config["datasets"][name]


# Settings -------------------------------------------------------------------------------------------------


def preprocess_settings(dataset: str, preprocess: Config | None) -> PreprocessSettings:
    """The data set's preprocessing."""
    return from_config(PreprocessSettings, preprocess or {}, f"datasets.{dataset}.preprocess")


def prototype_settings(dataset: str, prototypes: Config, subset: str) -> PrototypeSettings:
    """The data set's prototype settings for one subset (a clustered_<representation> variant fixes its own)."""
    settings = dict(prototypes)
    _, representation = layout.subset_parts(subset)
    if representation:
        settings["representation"] = representation
    return from_config(PrototypeSettings, settings, f"datasets.{dataset}.prototypes")


def generator_settings(dataset: str, generator: Config, noise_in: str, noise_out: str) -> TrainSettings:
    """The training settings of one noise setting's generators."""
    values = {**generator, "noise_in": float(noise_in), "noise_out": float(noise_out)}
    return from_config(TrainSettings, values, f"datasets.{dataset}.generator")


def inverse_settings(dataset: str, inverse: Config, seed: int, **overrides: object) -> InverseSettings:
    """The inversion settings with the start vectors' seed (overrides: an extended variant's keys)."""
    return from_config(InverseSettings, {**inverse, **overrides, "seed": seed}, f"datasets.{dataset}.inverse")


def variant_settings(dataset: str, variant: str, spec: Config) -> tuple[StartSettings, dict[str, Any]]:
    """An extended variant's start settings and its overrides of the inverse settings."""
    start_keys = set(StartSettings.__dataclass_fields__)
    where = f"datasets.{dataset}.extended.variants.{variant}"
    starts = from_config(StartSettings, {k: v for k, v in spec.items() if k in start_keys}, where)
    return starts, {k: v for k, v in spec.items() if k not in start_keys}


@dataclass(frozen=True)
class VariantGroup:
    """Extended variants that share their inversions: the same starts and inverse overrides, their own decisions."""

    key: str  # what the variants share, e.g. "uniform+vertices"
    seed_variant: str  # the first variant's name seeds the shared starts: a variant keeps its starts beside others
    starts: StartSettings  # the shared starts (decision: each variant's own, in `decisions`)
    overrides: dict[str, Any]
    decisions: dict[str, str]  # variant name -> its decision


def variant_groups(dataset: str, variants: Config) -> list[VariantGroup]:
    """A data set's extended variants (config order), grouped by what their inversions share."""
    groups: dict[str, VariantGroup] = {}
    for variant, spec in variants.items():
        starts, overrides = variant_settings(dataset, variant, spec)
        parts = [f"random{starts.random_starts}" if kind == "random" else kind for kind in starts.starts]
        key = "+".join(parts + [f"{name}={overrides[name]}" for name in sorted(overrides)])
        shared = dataclasses.replace(starts, decision="mse")
        group = groups.setdefault(key, VariantGroup(key, variant, shared, dict(overrides), {}))
        group.decisions[variant] = starts.decision
    return list(groups.values())


def baseline_settings(dataset: str, baseline: Config, training_set: str) -> ForwardSettings:
    """The forward baseline's settings for a prototype subset or the full training split."""
    return settings_for(baseline, training_set, f"datasets.{dataset}.baseline")


def robustness_settings(dataset: str, block: Config | None) -> RobustnessSettings | None:
    """The data set's robustness tests; None where its config has no `robustness` block or switches it off."""
    if not block or not block.get("enabled", True):
        return None
    values = {key: value for key, value in block.items() if key != "enabled"}
    values["corruptions"] = {kind: tuple(levels) for kind, levels in values.get("corruptions", {}).items()}
    return from_config(RobustnessSettings, values, f"datasets.{dataset}.robustness")


# Seeds ----------------------------------------------------------------------------------------------------


def prototype_seed(base: int, dataset: str, subset: str, rep: int | str, paper_seed: int) -> int:
    """Replicate 0 keeps the paper's seed; every later one re-draws the random prototypes and the k-means start."""
    return paper_seed if int(rep) == 0 else derive_seed(base, "prototypes", dataset, subset, rep)


def generator_seeds(
    base: int, dataset: str, subset: str, rep: int | str, noise_in: str, noise_out: str, classes: Sequence[str]
) -> list[int]:
    """One seed per class generator; it names the generator, not the job, so batching cannot change it."""
    return [derive_seed(base, dataset, subset, rep, noise_in, noise_out, name) for name in classes]


def inverse_seed(base: int, dataset: str, subset: str, rep: int | str, noise_in: str, noise_out: str) -> int:
    """The start vectors of the test split's inversion (and of `mic classify` on the same model)."""
    return derive_seed(base, "inverse", dataset, subset, rep, noise_in, noise_out)


def validation_inverse_seed(base: int, dataset: str, subset: str, rep: int | str, noise_in: str, noise_out: str) -> int:
    """The start vectors of the validation samples' inversion."""
    return derive_seed(base, "inverse-validation", dataset, subset, rep, noise_in, noise_out)


def validation_seed(base: int, dataset: str, subset: str, rep: int | str) -> int:
    """Which training samples validate: the same for every noise setting and variant of a replicate."""
    return derive_seed(base, "validation", dataset, subset, rep)


def extended_seed(
    base: int, split: str, dataset: str, subset: str, rep: int | str, noise_in: str, noise_out: str, variant: str
) -> int:
    """The start vectors of an extended variant's inversion of one split (shared by its group: seed_variant)."""
    return derive_seed(base, "extended", split, dataset, subset, rep, noise_in, noise_out, variant)


def random_starts_seed(inverse_seed: int) -> int:
    """The random simplex starts of an extended inversion, drawn beside its uniform starts."""
    return derive_seed(inverse_seed, "random-starts")


def module_losses_seed(base: int, dataset: str, subset: str, rep: int | str) -> int:
    """Figure 7's samples and the start vectors of their inversion."""
    return derive_seed(base, "module_losses", dataset, subset, rep)


def baseline_seed(base: int, dataset: str, training_set: str, rep: int | str) -> int:
    """The forward baseline's initialisation, batches and validation split."""
    return derive_seed(base, "baseline", dataset, training_set, rep)


def robustness_seed(base: int, dataset: str) -> int:
    """A data set's robustness inputs (test subsample, corruptions, outlier sets, ε scale): the same in every
    replicate and subset, so that they differ only in their models."""
    return derive_seed(base, "robustness", dataset)


def robustness_inverse_seed(base: int, dataset: str, subset: str, rep: int | str) -> int:
    """The start vectors of the robustness job's inversions (and of its inversion variant's uniform starts)."""
    return derive_seed(base, "robustness-inverse", dataset, subset, rep)


def estimator_seeds(random_state: int, classes: Sequence[str]) -> dict[str, Any]:
    """MICClassifier's seeds: prototypes, one per class generator, and the inversion's start vectors."""
    return {
        "prototypes": derive_seed(random_state, "estimator", "prototypes"),
        "generators": [derive_seed(random_state, "estimator", "generator", name) for name in classes],
        "inverse": derive_seed(random_state, "estimator", "inverse"),
    }


# Feasibility ----------------------------------------------------------------------------------------------


class InfeasibleConfig(ValueError):
    """A config whose jobs cannot run on this data; the message names the key, the value and what works."""


def feasibility_needs(dataset: str, block: Config) -> dict[str, Any]:
    """The config values that must fit into each class's training samples (all that check_feasible reads)."""
    return {
        "validation_per_class": block["validation"]["per_class"],
        "validation_fraction": {
            training_set: baseline_settings(dataset, block["baseline"], training_set).validation_fraction
            for training_set in ("prototypes", "full")
        },
    }


def check_feasible(dataset: str, needs: Mapping[str, Any], train_counts: Mapping[str, int]) -> None:
    """Every class's training samples must hold its prototypes, its validation samples and a stratified split.

    needs: feasibility_needs of the data set; train_counts: training samples per class after split and subsampling.
    """
    name, fewest = min(train_counts.items(), key=lambda item: item[1])
    where = f"datasets.{dataset}"
    if fewest < PROTOTYPES_PER_CLASS:
        raise InfeasibleConfig(
            f"{where}: class {name!r} has {fewest} training samples, fewer than its {PROTOTYPES_PER_CLASS} prototypes; "
            f"set {where}.preprocess.train_per_class to at least {PROTOTYPES_PER_CLASS} or drop the class"
        )
    per_class = needs["validation_per_class"]
    room = fewest - PROTOTYPES_PER_CLASS  # prototypes may be training samples themselves
    if per_class > room:
        raise InfeasibleConfig(
            f"{where}.validation.per_class: {per_class} does not fit beside the {PROTOTYPES_PER_CLASS} prototypes "
            f"of class {name!r} ({fewest} training samples); the largest value that works is {room}"
        )
    classes, total = len(train_counts), sum(train_counts.values())
    for training_set, size in (("prototypes", PROTOTYPES_PER_CLASS * classes), ("full", total)):
        fraction = needs["validation_fraction"][training_set]
        held_out = math.ceil(fraction * size)
        if fraction and (held_out < classes or size - held_out < classes):
            smallest = classes / size
            raise InfeasibleConfig(
                f"{where}.baseline.{training_set}.validation_fraction: {fraction} holds out {held_out} of {size} "
                f"training samples, but a stratified split needs at least one per class ({classes}) on each side; "
                f"the smallest value that works is {smallest:.3g} (or 0 for no validation split)"
            )


# A trained model's description ---------------------------------------------------------------------------

# The keys of a data set's block that make its models: a change to any other key leaves them as they are.
MODEL_KEYS = ("source", "path", "allow_pickle", "preprocess", "prototypes", "generator", "validation", "inverse")


def model_origin(config: Config, dataset: str) -> dict[str, Any]:
    """Where a data set's models come from: its source and the hash of the config keys that made them."""
    block = config["datasets"][dataset]
    made_by = {"seed": config["seed"], **{key: block[key] for key in MODEL_KEYS if key in block}}
    return {
        "dataset": dataset,
        "source": block["source"],
        "path": block.get("path"),
        "config_sha256": config_sha256(made_by),
    }


def model_manifest(
    data: PreparedData, generator: TrainSettings, inverse: InverseSettings, identity: dict, origin: dict
) -> ModelManifest:
    """The manifest of one setting folder: everything `mic classify` needs to reproduce its predictions."""
    return ModelManifest(
        classes=tuple(data.class_names),
        generator=generator,
        transform=stored_transform(data, origin["source"]),
        inverse=inverse,
        identity=identity,
        source={key: origin[key] for key in ("dataset", "source", "path")},
        config_sha256=origin["config_sha256"],
    )
