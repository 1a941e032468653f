"""A data set's inversion variants beyond the paper on one replicate's validation-best setting: test and validation
accuracy, one table per variant; variants that share their starts share their inversions."""

import torch

from mic import jobs, layout
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes, validation_rows
from mic.device import resolve_device
from mic.io import save_table
from mic.logs import log_to
from mic.model.checkpoint import load_bank
from mic.pipeline.best import best_choice, extended_accuracy

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc, params, inputs = snakemake.wildcards, snakemake.params, snakemake.input
dataset = params.dataset
noise = tuple(str(n) for n in best_choice(params.runs, inputs.summaries, dataset, wc.subset).best)
data = PreparedData.load(inputs.data)
seed = jobs.validation_seed(params.seed, dataset, wc.subset, wc.rep)  # the inverse jobs' validation samples
rows = validation_rows(data, Prototypes.load(inputs.prototypes), params.validation_per_class, seed)
splits = {"test": data.split("test"), "validation": (data.sequences[rows], data.labels[rows])}
setting = {"dataset": dataset, "subset": wc.subset, "rep": wc.rep, "noise_in": noise[0], "noise_out": noise[1]}
generator = jobs.generator_settings(dataset, params.generator, *noise)
bank = load_bank(
    layout.checkpoints(data.class_names, **setting), generator, data.sequences.shape[2], resolve_device(params.device)
)
for group in jobs.variant_groups(dataset, params.variants):
    seeds = {split: jobs.extended_seed(params.seed, split, *setting.values(), group.seed_variant) for split in splits}
    inverse = {
        split: jobs.inverse_settings(dataset, params.settings, seeds[split], **group.overrides) for split in splits
    }
    random_seeds = {split: jobs.random_starts_seed(seed) for split, seed in seeds.items()}
    tables = extended_accuracy(
        bank, splits, data.class_names, group.starts, group.decisions, inverse, random_seeds, noise
    )
    for variant, table in tables.items():
        save_table(snakemake.output[variant], table)
