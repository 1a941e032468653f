"""One inversion variant beyond the paper on one replicate's validation-best setting: test and validation accuracy."""

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
starts, overrides = jobs.variant_settings(wc.dataset, wc.variant, params.variant)
noise = tuple(str(n) for n in best_choice(params.runs, inputs.summaries, wc.dataset, wc.subset).best)
data = PreparedData.load(inputs.data)
seed = jobs.validation_seed(params.seed, wc.dataset, wc.subset, wc.rep)  # the inverse jobs' validation samples
rows = validation_rows(data, Prototypes.load(inputs.prototypes), params.validation_per_class, seed)
splits = {"test": data.split("test"), "validation": (data.sequences[rows], data.labels[rows])}
setting = {"dataset": wc.dataset, "subset": wc.subset, "rep": wc.rep, "noise_in": noise[0], "noise_out": noise[1]}
seeds = {split: jobs.extended_seed(params.seed, split, *setting.values(), wc.variant) for split in splits}
inverse = {split: jobs.inverse_settings(wc.dataset, params.settings, seeds[split], **overrides) for split in splits}
generator = jobs.generator_settings(wc.dataset, params.generator, *noise)
device = resolve_device(params.device)
bank = load_bank(layout.checkpoints(data.class_names, **setting), generator, data.sequences.shape[2], device)
random_seeds = {split: jobs.random_starts_seed(seed) for split, seed in seeds.items()}
table = extended_accuracy(bank, splits, data.class_names, starts, inverse, random_seeds, noise)
save_table(snakemake.output[0], table)
