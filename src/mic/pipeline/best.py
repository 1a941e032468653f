"""Jobs on a subset's validation-best setting: Figure 7's module losses and the inversion variants beyond the paper.

The best setting is the noise setting with the highest mean validation accuracy over replicates after the
inverse iterations, chosen exactly as the report chooses it (mic.evidence.selection.choose_models).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from mic.data.preprocess import PreparedData
from mic.evidence.collect import read_table, stack_tables
from mic.evidence.scores import accuracy_table, heatmap_table, per_class_sample
from mic.evidence.selection import VALIDATION, Choice, choose_models
from mic.model.extended import StartSettings, best_starts, decide, needs_reconstructions
from mic.model.generator import GeneratorBank
from mic.model.inverse import InverseSettings, inverse_classify

SAMPLES_PER_CLASS = 20  # Figure 7's samples of every class, as in the paper
EXTENDED_COLUMNS = ["model", "noise_in", "noise_out", "split", "class", "n", "correct", "accuracy"]

log = logging.getLogger("mic")
Path = str | os.PathLike


def best_choice(runs: Sequence[Mapping], validation_summaries: Sequence[Path], dataset: str, subset: str) -> Choice:
    """The validation-best setting of one data set and subset (runs: each summary's wildcards, in order)."""
    # Only validation summaries are given, so whatever choose_models calls them, they chose the model.
    choice = replace(choose_models(stack_tables(runs, validation_summaries), dataset, subset), chosen_on=VALIDATION)
    log.info("best model: noise in %s / out %s after %d iterations", *choice.best, choice.iterations)
    return choice


def module_losses(
    data: PreparedData,
    choice: Choice,
    banks: Mapping[str, GeneratorBank],
    predictions: Mapping[str, Path],
    inverse: Mapping[str, InverseSettings],
    seeds: Mapping[str, int],
) -> pd.DataFrame:
    """Figure 7: mean loss of every class module on samples of every class, train and test, per replicate.

    Keyed by replicate: the best setting's generators, its test predictions, inverse settings and sample seed.
    Test losses come from the predictions; the training samples are inverted here.
    """
    classes = data.class_names
    train_x, train_y = data.split("train")
    noise_in, noise_out = choice.best
    frames = []
    for rep, bank in banks.items():
        rows = per_class_sample(train_y, SAMPLES_PER_CLASS, seeds[rep])
        train_losses = inverse_classify(bank, torch.from_numpy(train_x[rows]), inverse[rep]).final_losses.numpy()
        table = read_table(predictions[rep])
        final = table[table["iterations"] == choice.iterations].reset_index(drop=True)
        test_y = final["true_class"].map({name: k for k, name in enumerate(classes)}).to_numpy()
        picked = per_class_sample(test_y, SAMPLES_PER_CLASS, seeds[rep])
        test_losses = final[[f"loss_{name}" for name in classes]].to_numpy()[picked]
        for split, losses, labels in (("train", train_losses, train_y[rows]), ("test", test_losses, test_y[picked])):
            frame = heatmap_table(losses, labels, classes, split)
            frame.insert(0, "rep", int(rep))
            frame.insert(1, "noise_in", noise_in)
            frame.insert(2, "noise_out", noise_out)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def extended_accuracy(
    bank: GeneratorBank,
    splits: Mapping[str, tuple[np.ndarray, np.ndarray]],
    classes: Sequence[str],
    starts: StartSettings,
    decisions: Mapping[str, str],
    inverse: Mapping[str, InverseSettings],
    random_seeds: Mapping[str, int],
    noise: tuple[str, str],
) -> dict[str, pd.DataFrame]:
    """The accuracy on each split (test, validation) of the best setting's generators, per variant (name ->
    decision) of one group: the inversions from the shared starts run once, each variant decides on them."""
    frames: dict[str, list[pd.DataFrame]] = {variant: [] for variant in decisions}
    keep = needs_reconstructions(decisions.values())
    for split, (x, y) in splits.items():
        targets = torch.from_numpy(x)
        found = best_starts(bank, targets, inverse[split], starts, random_seeds[split], keep_reconstructions=keep)
        for variant, decision in decisions.items():
            table = accuracy_table(y, decide(found, targets, decision).predictions().numpy(), list(classes))
            log.info("%s, best %s: accuracy %.4f", variant, split, table["accuracy"].iloc[0])
            frames[variant].append(table.assign(model="best", noise_in=noise[0], noise_out=noise[1], split=split))
    return {variant: pd.concat(parts, ignore_index=True)[EXTENDED_COLUMNS] for variant, parts in frames.items()}
