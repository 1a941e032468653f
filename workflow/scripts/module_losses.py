"""Figure 7 on the validation-best setting of one data set and subset; records that setting as the best model."""

import torch

from mic import jobs, layout
from mic.data.preprocess import PreparedData
from mic.device import resolve_device
from mic.io import save_table
from mic.logs import log_to
from mic.model.bundle import write_best
from mic.model.checkpoint import load_bank
from mic.pipeline.best import best_choice, module_losses

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc, params, inputs = snakemake.wildcards, snakemake.params, snakemake.input
choice = best_choice(params.runs, inputs.summaries, wc.dataset, wc.subset)
noise = tuple(str(n) for n in choice.best)
best = {str(run["rep"]): run for run in params.runs if (str(run["noise_in"]), str(run["noise_out"])) == noise}
data = PreparedData.load(inputs.data)
generator = jobs.generator_settings(wc.dataset, params.generator, *noise)
device = resolve_device(params.device)
seeds = {rep: jobs.module_losses_seed(params.seed, wc.dataset, wc.subset, rep) for rep in best}
table = module_losses(
    data,
    choice,
    {
        rep: load_bank(layout.checkpoints(params.classes, **run), generator, data.sequences.shape[2], device)
        for rep, run in best.items()
    },
    {rep: layout.fill(layout.PREDICTIONS, **run) for rep, run in best.items()},
    {rep: jobs.inverse_settings(wc.dataset, params.settings, seeds[rep]) for rep in best},
    seeds,
)
save_table(snakemake.output.heatmap, table)
write_best(snakemake.output.best, layout.relative_setting(**best["0"]), choice.how)
