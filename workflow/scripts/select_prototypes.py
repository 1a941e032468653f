"""results/<dataset>/data.npz -> 4 prototypes per class for one subset and replicate, plus their picture."""

from mic import jobs, layout
from mic.data.preprocess import PreparedData
from mic.data.prototypes import select_prototypes
from mic.logs import log_to
from mic.plotting import prototype_grid, save_figure

log = log_to(snakemake.log[0])
wc, params = snakemake.wildcards, snakemake.params
settings = jobs.prototype_settings(wc.dataset, params.settings, wc.subset)
seed = jobs.prototype_seed(params.seed, wc.dataset, wc.subset, wc.rep, settings.seed)
prototypes = select_prototypes(PreparedData.load(snakemake.input[0]), layout.subset_parts(wc.subset)[0], settings, seed)
log.info("%s, seed %d; members per prototype: %s", settings, seed, (prototypes.members >= 0).sum(2).tolist())
prototypes.save(snakemake.output.prototypes)
title = f"{wc.dataset}: {wc.subset} prototypes, replicate {wc.rep}"
save_figure(
    prototype_grid(prototypes.sequences, prototypes.class_names, params.plot_style, title), snakemake.output.figure
)
