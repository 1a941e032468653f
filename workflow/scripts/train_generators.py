"""Train every class generator of one (dataset, subset, noise) setting, all replicates at once; one checkpoint each.

The replicates share the job and its SIMD lanes (the kernels pad generators to whole lane blocks, so more
generators per job waste fewer lanes); a generator's result does not depend on what it is trained beside.
"""

import torch

from mic import jobs
from mic.data.prototypes import Prototypes
from mic.device import resolve_device
from mic.logs import log_to
from mic.pipeline.generators import train_setting

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc, params, output = snakemake.wildcards, snakemake.params, snakemake.output
classes, dataset = params.classes, params.dataset
noise = (wc.noise_in, wc.noise_out)
train_setting(
    [Prototypes.load(path) for path in snakemake.input],
    classes,
    jobs.generator_settings(dataset, params.settings, *noise),
    [
        seed
        for rep in params.replicates
        for seed in jobs.generator_seeds(params.seed, dataset, wc.subset, rep, *noise, classes)
    ],
    [
        {"dataset": dataset, "subset": wc.subset, "replicate": rep, "class": name}
        for rep in params.replicates
        for name in classes
    ],
    resolve_device(params.device),
    output.checkpoints,
    output.training,
    output.curves,
)
