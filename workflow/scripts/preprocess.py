"""Raw data set -> results/<dataset>/data.npz (padded, standardised, split); stops early if the config cannot run."""

import numpy as np

from mic import jobs
from mic.data.preprocess import preprocess
from mic.data.sources import source
from mic.logs import log_to

log = log_to(snakemake.log[0])
wc, params = snakemake.wildcards, snakemake.params
raw = source(params.source).read(snakemake.input, params.allow_pickle)
settings = jobs.preprocess_settings(wc.dataset, params.settings)
data = preprocess(raw, settings, params.source, origin=snakemake.input[0])
log.info("%s: %s, %d train, %d test", wc.dataset, data.sequences.shape, len(data.train_index), len(data.test_index))
counts = np.bincount(data.labels[data.train_index], minlength=len(data.class_names))
jobs.check_feasible(wc.dataset, params.needs, dict(zip(data.class_names, counts.tolist())))
data.save(snakemake.output[0])
