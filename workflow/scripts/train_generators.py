"""Train every class generator of one (dataset, subset, noise) setting, all replicates at once; one checkpoint each.

The replicates share the job and its SIMD lanes (the kernels pad generators to whole lane blocks, so more
generators per job waste fewer lanes); a generator's result does not depend on what it is trained beside.
"""

import numpy as np
import pandas as pd
import torch

from mic.data.prototypes import Prototypes
from mic.device import resolve_device
from mic.io import save_table
from mic.logs import log_to, process_age
from mic.model.checkpoint import from_result, save_checkpoint
from mic.model.training import TrainSettings, train_generators
from mic.seeding import derive_seed
from mic.settings import from_config

log = log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc, params = snakemake.wildcards, snakemake.params
classes, replicates = params.classes, params.replicates
prototype_sets = [Prototypes.load(path) for path in snakemake.input]
for path, prototypes in zip(snakemake.input, prototype_sets):
    if prototypes.class_names != classes:
        raise ValueError(f"{path}: classes {prototypes.class_names}, the config expects {classes}")

settings = from_config(
    TrainSettings,
    {**params.settings, "noise_in": float(wc.noise_in), "noise_out": float(wc.noise_out)},
    f"datasets.{params.dataset}.generator",
)
# A generator's seed names the generator, not the job, so it is the same whatever it is trained beside.
seeds = [
    derive_seed(params.seed, params.dataset, wc.subset, rep, wc.noise_in, wc.noise_out, name)
    for rep in replicates
    for name in classes
]
device = resolve_device(params.device)
log.info("%d replicates x %d generators, %s, device %s", len(replicates), len(classes), settings, device)
log.info("first kernel call %.2f s after the job's start", process_age())
result = train_generators(
    torch.from_numpy(np.concatenate([p.sequences for p in prototype_sets])),
    settings,
    seeds,
    device=device,
    progress=lambda step, best: log.info("step %d, best loss %s", step, best.numpy().round(5).tolist()),
)
log.info("trained in %.1f s", result.seconds)

outputs = iter(snakemake.output.checkpoints)
for r, rep in enumerate(replicates):
    for c, name in enumerate(classes):
        identity = {"dataset": params.dataset, "subset": wc.subset, "replicate": int(rep), "class": name}
        save_checkpoint(next(outputs), from_result(result, r * len(classes) + c, extra=identity))

curve = result.loss_curve.numpy()
stride = max(1, curve.shape[1] // 200)  # about 200 points per curve is plenty for the report's plots
points = np.arange(0, curve.shape[1], stride)
for r, (training_path, curves_path) in enumerate(zip(snakemake.output.training, snakemake.output.curves)):
    rows = slice(r * len(classes), (r + 1) * len(classes))
    save_table(
        training_path,
        pd.DataFrame(
            {
                "class": classes,
                "best_loss": result.best_loss.numpy()[rows],
                "best_step": result.best_step.numpy()[rows],
                "clean_loss": result.clean_loss.numpy()[rows],
                "final_loss": curve[rows, -1],
                "episodes": settings.episodes,
                "seconds": result.seconds / len(seeds),  # each generator's share of the batched job
            }
        ),
    )
    save_table(
        curves_path,
        pd.DataFrame(
            {
                "class": np.repeat(classes, len(points)),
                "step": np.tile(points * settings.log_every, len(classes)),
                "loss": curve[rows][:, points].ravel(),
            }
        ),
    )
