"""Beyond the paper: one replicate's validation-best models under corruptions, beside outliers and under attack."""

import torch

from mic import jobs, layout
from mic.baselines.forward import ForwardResult
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes, validation_rows
from mic.device import resolve_device
from mic.evidence.collect import stack_files
from mic.evidence.selection import best_variant
from mic.logs import log_to
from mic.model.checkpoint import load_bank
from mic.pipeline import robustness
from mic.pipeline.best import best_choice

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc, params, inputs = snakemake.wildcards, snakemake.params, snakemake.input
settings = jobs.robustness_settings(wc.dataset, params.robustness)
data, prototypes = PreparedData.load(inputs.data), Prototypes.load(inputs.prototypes)
noise = tuple(str(n) for n in best_choice(params.runs, inputs.summaries, wc.dataset, wc.subset).best)
setting = {"dataset": wc.dataset, "subset": wc.subset, "rep": wc.rep, "noise_in": noise[0], "noise_out": noise[1]}
generator = jobs.generator_settings(wc.dataset, params.generator, *noise)
checkpoints = layout.checkpoints(data.class_names, **setting)
bank = load_bank(checkpoints, generator, data.sequences.shape[2], resolve_device(params.device))
seed = jobs.robustness_inverse_seed(params.seed, wc.dataset, wc.subset, wc.rep)
variant = (
    best_variant(stack_files(layout.EXTENDED, inputs.extended), wc.dataset, wc.subset) if inputs.extended else None
)
if variant:
    starts, overrides = jobs.variant_settings(wc.dataset, variant, params.variants[variant])
    inverse = jobs.inverse_settings(wc.dataset, params.settings, seed, **overrides)
    variant = robustness.Variant(variant, starts, inverse, jobs.random_starts_seed(seed))
forward = {
    method: ForwardResult.from_dict(torch.load(inputs[method], weights_only=True))
    for method in (robustness.FORWARD, robustness.FORWARD_FULL)
}
models = robustness.Models(
    bank, jobs.inverse_settings(wc.dataset, params.settings, seed), variant, forward, prototypes.sequences
)
rows = validation_rows(
    data, prototypes, params.validation_per_class, jobs.validation_seed(params.seed, wc.dataset, wc.subset, wc.rep)
)
fixed = jobs.robustness_seed(params.seed, wc.dataset)
sample = robustness.fixed_inputs(data.split("train"), data.split("test"), data.sequences[rows], settings, fixed)
robustness.robustness_job(models, sample, settings, fixed, int(wc.rep) == 0, snakemake.output)
