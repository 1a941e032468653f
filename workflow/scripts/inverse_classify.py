"""Every test sequence against every class module of one generator set: predictions, accuracy, Figures 5/6."""

import numpy as np
import torch

from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes, validation_rows
from mic.device import resolve_device
from mic.evidence.scores import prediction_table, summary_table
from mic.io import save_npz, save_table
from mic.logs import log_to, process_age
from mic.model.checkpoint import load_bank
from mic.model.inverse import InverseSettings, initial_vectors, inverse_classify, project
from mic.model.training import TrainSettings
from mic.seeding import derive_seed
from mic.settings import from_config

FIGURE56_TARGETS = 4  # unseen targets shown for the first class's module (paper Figures 5, 6)

log = log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc = snakemake.wildcards
classes = snakemake.params.classes
data = PreparedData.load(snakemake.input.data)
device = resolve_device(snakemake.params.device)
expected = from_config(
    TrainSettings,
    {**snakemake.params.generator, "noise_in": float(wc.noise_in), "noise_out": float(wc.noise_out)},
    f"datasets.{wc.dataset}.generator",
)
bank = load_bank(snakemake.input.checkpoints, expected, output_size=data.sequences.shape[2], device=device)
identity = (wc.dataset, wc.subset, wc.rep, wc.noise_in, wc.noise_out)


def invert(x, y, samples, seed, keep=()):
    """Invert one split; its predictions and summary tables, and the raw result."""
    settings = from_config(
        InverseSettings, {**snakemake.params.settings, "seed": seed}, f"datasets.{wc.dataset}.inverse"
    )
    log.info("%d targets x %d modules x %d iterations on %s", len(y), len(classes), settings.iterations, device)
    log.info("kernel call %.2f s after the job's start", process_age())
    result = inverse_classify(bank, torch.from_numpy(x), settings, keep=list(keep))
    losses = result.losses.numpy()
    start = project(initial_vectors(len(y), len(classes), settings), dim=2).numpy()
    mixtures = {0: start, settings.iterations: result.mixtures.numpy()}
    summary = summary_table(losses, sorted({0, settings.iterations}), y, classes)
    log.info(
        "accuracy by iterations: %s", summary[summary["class"] == "all"][["iterations", "accuracy"]].values.tolist()
    )
    return prediction_table(losses, mixtures, y, samples, classes), summary, result


test_x, test_y = data.split("test")
first_class = np.flatnonzero(test_y == 0)[:FIGURE56_TARGETS]
predictions, summary, result = invert(
    test_x, test_y, data.test_index, derive_seed(snakemake.params.seed, "inverse", *identity), first_class
)
# Validation: training samples that are not prototypes, the same ones for every noise setting of a replicate, so
# the best setting is chosen without the test split.
prototypes = Prototypes.load(snakemake.input.prototypes)
rows = validation_rows(
    data,
    prototypes,
    snakemake.params.validation_per_class,
    derive_seed(snakemake.params.seed, "validation", *identity[:3]),
)
validation = invert(
    data.sequences[rows], data.labels[rows], rows, derive_seed(snakemake.params.seed, "inverse-validation", *identity)
)

save_npz(
    snakemake.output.reconstructions,
    module=np.array(classes[0]),
    prototypes=prototypes.sequences[0],
    targets=test_x[first_class],
    reconstructions=result.reconstructions[:, 0].numpy() if len(first_class) else np.empty((0, *test_x.shape[1:])),
    mixtures=result.mixtures[first_class, 0].numpy(),
    target_sample=data.test_index[first_class],
)
save_table(snakemake.output.predictions, predictions)
save_table(snakemake.output.summary, summary)
save_table(snakemake.output.validation_predictions, validation[0])
save_table(snakemake.output.validation_summary, validation[1])
