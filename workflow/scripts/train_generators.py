"""Train every class generator of one (dataset, subset, replicate, noise) setting; one checkpoint per class."""

import numpy as np
import pandas as pd
import torch

from mic.data.prototypes import Prototypes
from mic.device import resolve_device
from mic.io import save_table
from mic.logs import log_to
from mic.model.checkpoint import from_result, save_checkpoint
from mic.model.training import TrainSettings, train_generators
from mic.seeding import derive_seed
from mic.settings import from_config

log = log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc = snakemake.wildcards
prototypes = Prototypes.load(snakemake.input[0])
classes = snakemake.params.classes
if prototypes.class_names != classes:
    raise ValueError(f"{snakemake.input[0]}: classes {prototypes.class_names}, the config expects {classes}")

settings = from_config(
    TrainSettings,
    {**snakemake.params.settings, "noise_in": float(wc.noise_in), "noise_out": float(wc.noise_out)},
    f"datasets.{snakemake.params.dataset}.generator",
)
# A generator's seed names the generator, not the job, so it is the same whatever it is trained beside.
seeds = [
    derive_seed(snakemake.params.seed, snakemake.params.dataset, wc.subset, wc.rep, wc.noise_in, wc.noise_out, name)
    for name in classes
]
device = resolve_device(snakemake.params.device)
log.info("%d generators, %s, device %s", len(classes), settings, device)
result = train_generators(
    torch.from_numpy(prototypes.sequences),
    settings,
    seeds,
    device=device,
    progress=lambda step, best: log.info("step %d, best loss %s", step, best.numpy().round(5).tolist()),
)
log.info("trained in %.1f s", result.seconds)

for k, (name, path) in enumerate(zip(classes, snakemake.output.checkpoints)):
    identity = {"dataset": snakemake.params.dataset, "subset": wc.subset, "replicate": int(wc.rep), "class": name}
    save_checkpoint(path, from_result(result, k, extra=identity))

curve = result.loss_curve.numpy()
save_table(
    snakemake.output.training,
    pd.DataFrame(
        {
            "class": classes,
            "best_loss": result.best_loss.numpy(),
            "best_step": result.best_step.numpy(),
            "clean_loss": result.clean_loss.numpy(),
            "final_loss": curve[:, -1],
            "episodes": settings.episodes,
            "seconds": result.seconds / len(classes),  # each generator's share of the batched job
        }
    ),
)
# About 200 points per curve is plenty for the report's plots.
stride = max(1, curve.shape[1] // 200)
points = np.arange(0, curve.shape[1], stride)
save_table(
    snakemake.output.curves,
    pd.DataFrame(
        {
            "class": np.repeat(classes, len(points)),
            "step": np.tile(points * settings.log_every, len(classes)),
            "loss": curve[:, points].ravel(),
        }
    ),
)
