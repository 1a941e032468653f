"""Forward LSTM classifier on a prototype subset or the full training split, scored on the test split."""

import numpy as np
import pandas as pd
import torch

from mic.baselines.forward import predict_forward, settings_for, train_forward_classifier
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes
from mic.device import resolve_device
from mic.evidence.scores import accuracy_table
from mic.io import save_table, write_atomic
from mic.logs import log_to
from mic.seeding import derive_seed

log = log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc = snakemake.wildcards
data = PreparedData.load(snakemake.input.data)
if wc.training_set == "full":
    train_x, train_y = data.split("train")
else:
    prototypes = Prototypes.load(snakemake.input.prototypes)
    train_x = prototypes.sequences.reshape(-1, *prototypes.sequences.shape[2:])
    train_y = np.repeat(np.arange(len(prototypes.class_names)), prototypes.sequences.shape[1])

settings = settings_for(snakemake.params.settings, wc.training_set, f"datasets.{wc.dataset}.baseline")
seed = derive_seed(snakemake.params.seed, "baseline", wc.dataset, wc.training_set, wc.rep)
device = resolve_device(snakemake.params.device)
log.info("training on %d sequences, %s, seed %d, device %s", len(train_x), settings, seed, device)
result = train_forward_classifier(
    train_x,
    train_y,
    len(data.class_names),
    settings,
    seed,
    device,
    on_epoch=lambda epoch, metrics: log.info("epoch %d %s", epoch, metrics),
)
test_x, test_y = data.split("test")
predicted = predict_forward(result, test_x, device)
summary = accuracy_table(test_y, predicted, data.class_names)
log.info("test accuracy %.4f", summary["accuracy"].iloc[0])

write_atomic(snakemake.output.model, lambda tmp: torch.save(result.to_dict(), tmp))
history = pd.DataFrame(result.history)
history.insert(0, "epoch", np.arange(1, len(history) + 1))
save_table(snakemake.output.history, history)
names = np.array(data.class_names)
save_table(
    snakemake.output.predictions,
    pd.DataFrame({"sample": data.test_index, "true_class": names[test_y], "predicted_class": names[predicted]}),
)
save_table(snakemake.output.summary, summary)
