"""results/<dataset>/data.npz -> 4 prototypes per class for one subset, plus their picture."""

from mic.data.preprocess import PreparedData
from mic.data.prototypes import PrototypeSettings, select_prototypes
from mic.logs import log_to
from mic.plotting import prototype_grid, save_figure
from mic.settings import from_config

log = log_to(snakemake.log[0])
data = PreparedData.load(snakemake.input[0])
settings = from_config(
    PrototypeSettings, snakemake.params.settings, f"datasets.{snakemake.wildcards.dataset}.prototypes"
)
prototypes = select_prototypes(data, snakemake.wildcards.subset, settings)
log.info("prototype rows per class: %s", prototypes.sample_index.tolist())
prototypes.save(snakemake.output.prototypes)
title = f"{snakemake.wildcards.dataset}: {snakemake.wildcards.subset} prototypes"
save_figure(
    prototype_grid(prototypes.sequences, prototypes.class_names, snakemake.params.plot_style, title),
    snakemake.output.figure,
)
