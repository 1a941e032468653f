"""Figure 7: mean loss of every class module on 20 samples of every class, train and test, for the best model.

The best model is the noise setting with the highest accuracy after K iterations (mean over replicates),
chosen exactly as the report chooses it. Test losses come from that setting's predictions; the training
samples are inverted here, against each replicate's generators of that setting.
"""

import pandas as pd
import torch

from mic.data.preprocess import PreparedData
from mic.device import resolve_device
from mic.evidence.collect import read_table, stack_tables
from mic.evidence.scores import heatmap_table, per_class_sample
from mic.evidence.selection import choose_models
from mic.io import save_table
from mic.logs import log_to
from mic.model.checkpoint import load_bank
from mic.model.inverse import InverseSettings, inverse_classify
from mic.model.training import TrainSettings
from mic.seeding import derive_seed
from mic.settings import from_config

SAMPLES_PER_CLASS = 20  # as in the paper's Figure 7

log = log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc, params = snakemake.wildcards, snakemake.params
classes = params.classes
runs = params.runs
choice = choose_models(stack_tables(runs, snakemake.input.summaries), wc.dataset, wc.subset)
noise_in, noise_out = choice.best
log.info("best model: noise in %s / out %s after %d iterations", noise_in, noise_out, choice.iterations)

data = PreparedData.load(snakemake.input.data)
train_x, train_y = data.split("train")
device = resolve_device(params.device)
expected = from_config(
    TrainSettings,
    {**params.generator, "noise_in": float(noise_in), "noise_out": float(noise_out)},
    f"datasets.{wc.dataset}.generator",
)
frames = []
for run, predictions_path, checkpoints in zip(runs, snakemake.input.predictions, params.checkpoint_sets):
    if (run["noise_in"], run["noise_out"]) != (noise_in, noise_out):
        continue
    seed = derive_seed(params.seed, "module_losses", wc.dataset, wc.subset, run["rep"])
    bank = load_bank(checkpoints, expected, output_size=train_x.shape[2], device=device)
    settings = from_config(InverseSettings, {**params.settings, "seed": seed}, f"datasets.{wc.dataset}.inverse")
    rows = per_class_sample(train_y, SAMPLES_PER_CLASS, seed)
    train_losses = inverse_classify(bank, torch.from_numpy(train_x[rows]), settings).final_losses.numpy()

    predictions = read_table(predictions_path)
    final = predictions[predictions["iterations"] == choice.iterations].reset_index(drop=True)
    test_y = final["true_class"].map({name: k for k, name in enumerate(classes)}).to_numpy()
    picked = per_class_sample(test_y, SAMPLES_PER_CLASS, seed)
    test_losses = final[[f"loss_{name}" for name in classes]].to_numpy()[picked]
    for split, losses, labels in (("train", train_losses, train_y[rows]), ("test", test_losses, test_y[picked])):
        frame = heatmap_table(losses, labels, classes, split)
        frame.insert(0, "rep", run["rep"])
        frame.insert(1, "noise_in", noise_in)
        frame.insert(2, "noise_out", noise_out)
        frames.append(frame)
save_table(snakemake.output[0], pd.concat(frames, ignore_index=True))
