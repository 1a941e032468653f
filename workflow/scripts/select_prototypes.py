"""results/<dataset>/data.npz -> 4 prototypes per class for one subset and replicate, plus their picture."""

from mic import layout
from mic.data.preprocess import PreparedData
from mic.data.prototypes import PrototypeSettings, select_prototypes
from mic.logs import log_to
from mic.plotting import prototype_grid, save_figure
from mic.seeding import derive_seed
from mic.settings import from_config

log = log_to(snakemake.log[0])
wc = snakemake.wildcards
data = PreparedData.load(snakemake.input[0])
settings = from_config(PrototypeSettings, snakemake.params.settings, f"datasets.{wc.dataset}.prototypes")
# Replicate 0 keeps the paper's seed (42); every later replicate re-draws the random prototypes and the k-means start.
seed = (
    settings.seed
    if int(wc.rep) == 0
    else derive_seed(snakemake.params.seed, "prototypes", wc.dataset, wc.subset, wc.rep)
)
selection, _ = layout.subset_parts(wc.subset)
prototypes = select_prototypes(data, selection, settings, seed=seed)
log.info("%s, seed %d; members per prototype: %s", settings, seed, (prototypes.members >= 0).sum(2).tolist())
prototypes.save(snakemake.output.prototypes)
title = f"{wc.dataset}: {wc.subset} prototypes, replicate {wc.rep}"
save_figure(
    prototype_grid(prototypes.sequences, prototypes.class_names, snakemake.params.plot_style, title),
    snakemake.output.figure,
)
