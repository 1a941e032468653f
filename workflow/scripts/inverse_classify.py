"""Every test sequence against every class module of one generator set: predictions, accuracy, Figures 5/6.

Also writes the setting's model.json, so `mic classify` reproduces these predictions from the folder alone.
"""

import torch

from mic import jobs
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes
from mic.device import resolve_device
from mic.logs import log_to
from mic.model.bundle import write_manifest
from mic.model.checkpoint import load_bank
from mic.pipeline.generators import inverse_setting

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc, params = snakemake.wildcards, snakemake.params
job = (wc.dataset, wc.subset, wc.rep, wc.noise_in, wc.noise_out)
data = PreparedData.load(snakemake.input.data)
generator = jobs.generator_settings(wc.dataset, params.generator, wc.noise_in, wc.noise_out)
bank = load_bank(snakemake.input.checkpoints, generator, data.sequences.shape[2], resolve_device(params.device))
test = jobs.inverse_settings(wc.dataset, params.settings, jobs.inverse_seed(params.seed, *job))
inverse_setting(
    bank,
    data,
    Prototypes.load(snakemake.input.prototypes),
    test,
    jobs.inverse_settings(wc.dataset, params.settings, jobs.validation_inverse_seed(params.seed, *job)),
    params.validation_per_class,
    jobs.validation_seed(params.seed, *job[:3]),
    snakemake.output,
)
write_manifest(snakemake.output.model, jobs.model_manifest(data, generator, test, dict(wc.items()), params.made_by))
