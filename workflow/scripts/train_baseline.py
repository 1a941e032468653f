"""Forward LSTM classifier on a prototype subset or the full training split, scored on the test split."""

import torch

from mic import jobs
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes
from mic.device import resolve_device
from mic.logs import log_to
from mic.pipeline.baselines import forward_baseline

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
torch.set_flush_denormal(True)  # as the C kernels (lanes.h): denormal floats cost x86 ~100 cycles an operation
wc, params = snakemake.wildcards, snakemake.params
forward_baseline(
    PreparedData.load(snakemake.input.data),
    None if wc.training_set == "full" else Prototypes.load(snakemake.input.prototypes),
    jobs.baseline_settings(wc.dataset, params.settings, wc.training_set),
    jobs.baseline_seed(params.seed, wc.dataset, wc.training_set, wc.rep),
    resolve_device(params.device),
    snakemake.output,
)
