"""One inversion variant beyond the paper on one replicate's best setting: test and validation accuracy."""

import dataclasses

import pandas as pd
import torch

from mic import layout
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes, validation_rows
from mic.device import resolve_device
from mic.evidence.collect import stack_tables
from mic.evidence.scores import accuracy_table
from mic.evidence.selection import choose_models
from mic.io import save_table
from mic.logs import log_to
from mic.model.checkpoint import load_bank
from mic.model.extended import StartSettings, extended_inverse
from mic.model.inverse import InverseSettings
from mic.model.training import TrainSettings
from mic.seeding import derive_seed
from mic.settings import from_config

log = log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc, params = snakemake.wildcards, snakemake.params
classes, device = params.classes, resolve_device(params.device)
where = f"datasets.{wc.dataset}.extended.variants.{wc.variant}"
start_keys = {f.name for f in dataclasses.fields(StartSettings)}
starts = from_config(StartSettings, {k: v for k, v in params.variant.items() if k in start_keys}, where)
overrides = {k: v for k, v in params.variant.items() if k not in start_keys}
choice = choose_models(stack_tables(params.runs, snakemake.input.summaries), wc.dataset, wc.subset)
log.info("%s: %s %s; best setting %s (chosen on validation)", wc.variant, starts, overrides, choice.best)

data = PreparedData.load(snakemake.input.data)
rows = validation_rows(
    data,
    Prototypes.load(snakemake.input.prototypes),
    params.validation_per_class,
    derive_seed(params.seed, "validation", wc.dataset, wc.subset, wc.rep),  # the inverse jobs' validation samples
)
splits = {"test": data.split("test"), "validation": (data.sequences[rows], data.labels[rows])}
frames = []
for model, noise in {"best": choice.best}.items():  # the base setting too would double the cost
    expected = from_config(
        TrainSettings,
        {**params.generator, "noise_in": float(noise[0]), "noise_out": float(noise[1])},
        f"datasets.{wc.dataset}.generator",
    )
    run = {"dataset": wc.dataset, "subset": wc.subset, "rep": wc.rep, "noise_in": noise[0], "noise_out": noise[1]}
    paths = [layout.fill(layout.CHECKPOINT, **run, cls=layout.file_name(name)) for name in classes]
    bank = load_bank(paths, expected, output_size=data.sequences.shape[2], device=device)
    for split, (x, y) in splits.items():
        seed = derive_seed(params.seed, "extended", split, wc.dataset, wc.subset, wc.rep, *noise, wc.variant)
        inverse = from_config(InverseSettings, {**params.settings, **overrides, "seed": seed}, where)
        result = extended_inverse(bank, torch.from_numpy(x), inverse, starts)
        table = accuracy_table(y, result.predictions().numpy(), classes)
        log.info("%s %s: accuracy %.4f", model, split, table["accuracy"].iloc[0])
        frames.append(table.assign(model=model, noise_in=noise[0], noise_out=noise[1], split=split))
columns = ["model", "noise_in", "noise_out", "split", "class", "n", "correct", "accuracy"]
save_table(snakemake.output[0], pd.concat(frames, ignore_index=True)[columns])
