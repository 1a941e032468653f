"""The comparison jobs: the forward LSTM classifier on a prototype subset or the full training split."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import torch

from mic.baselines.forward import ForwardSettings, predict_forward, train_forward_classifier
from mic.data.preprocess import PreparedData
from mic.data.prototypes import Prototypes
from mic.evidence.scores import accuracy_table
from mic.io import save_table, write_atomic

log = logging.getLogger("mic")


def forward_baseline(
    data: PreparedData,
    prototypes: Prototypes | None,
    settings: ForwardSettings,
    seed: int,
    device: torch.device,
    outputs: Any,
) -> None:
    """Train on the prototypes (or, without them, the whole training split); score the test split.

    outputs: the paths as attributes (model, history, predictions, summary).
    """
    if prototypes is None:
        train_x, train_y = data.split("train")
    else:
        train_x = prototypes.sequences.reshape(-1, *prototypes.sequences.shape[2:])
        train_y = np.repeat(np.arange(len(prototypes.class_names)), prototypes.sequences.shape[1])
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

    write_atomic(outputs.model, lambda tmp: torch.save(result.to_dict(), tmp))
    history = pd.DataFrame(result.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    save_table(outputs.history, history)
    names = np.array(data.class_names)
    predictions = {"sample": data.test_index, "true_class": names[test_y], "predicted_class": names[predicted]}
    save_table(outputs.predictions, pd.DataFrame(predictions))
    save_table(outputs.summary, summary)
