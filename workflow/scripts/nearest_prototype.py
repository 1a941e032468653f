"""1-NN against the 4 prototypes per class, scored on the test split, per distance."""

import pandas as pd

from mic.baselines.nearest_prototype import nearest_prototype_predict
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes
from mic.evidence.scores import accuracy_table
from mic.io import save_table
from mic.logs import log_to

log = log_to(snakemake.log[0])
data = PreparedData.load(snakemake.input.data)
prototypes = Prototypes.load(snakemake.input.prototypes)
test_x, test_y = data.split("test")
tables = []
for metric in snakemake.params.metrics:
    predicted, _ = nearest_prototype_predict(prototypes.sequences, test_x, metric)
    table = accuracy_table(test_y, predicted, data.class_names)
    log.info("%s: accuracy %.4f", metric, table["accuracy"].iloc[0])
    tables.append(table.assign(metric=metric))
save_table(snakemake.output[0], pd.concat(tables)[["metric", "class", "n", "correct", "accuracy"]])
