"""MICClassifier on the character trajectories: fit and predict times on one core, accuracy beside 1-NN.

The paper's character settings, read from config/config.yaml (datasets.characters): its split of the 2858
samples (stratified, 20 % test, seed 42), cumulative sums of the x/y velocities, the pen force dropped,
padding with the last value to the source's longest sequence (205 steps), standardisation fitted on the
training split; 4 prototypes per class by k-means under DTW with cluster means; 20 generators of 10 LSTM
cells, 40000 episodes; 50 inverse iterations; noise in 0.1, out 0 (--noise-in, --noise-out: one cell of the
config's noise grid). The raw file is the data mirror's (MIC_DATA_MIRROR, else the config's data_mirror).

1-NN: tslearn's KNeighborsTimeSeriesClassifier(n_neighbors=1, metric="dtw") with the fitted estimator's 80
prototypes (clf.prototypes_, model space) as its training set, classifying the test split in model space
(clf.transform_.apply). The kernels are built (or loaded) by a tiny fit before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from mic import MICClassifier
from mic.data.preprocess import PreprocessSettings, split_indices
from mic.data.sources import source

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "config.yaml"
RAW_FILE = Path("character_trajectories") / "mixout_mirror_labeled.mat"


def paper_settings(config: dict, noise_in: float, noise_out: float) -> tuple[dict, PreprocessSettings]:
    """MICClassifier parameters and the split settings of the config's character data set."""
    dataset = config["datasets"]["characters"]
    preprocess = dataset["preprocess"]
    params = {
        "cumulative_sum": tuple(preprocess.get("cumulative_sum", ())),
        "keep_channels": tuple(preprocess["keep_channels"]) if preprocess.get("keep_channels") else None,
        "standardize": bool(preprocess.get("standardize", False)),
        "subset": "clustered",
        "prototype_metric": dataset["prototypes"]["metric"],
        "representation": dataset["prototypes"]["representation"],
        "hidden_size": dataset["generator"]["hidden_size"],
        "episodes": dataset["generator"]["episodes"],
        "iterations": dataset["inverse"]["iterations"],
        "noise_in": noise_in,
        "noise_out": noise_out,
    }
    split = {key: preprocess[key] for key in ("split", "test_fraction", "split_seed") if key in preprocess}
    return params, PreprocessSettings(**split)


def mirror_folder(config: dict) -> Path:
    """The data mirror: MIC_DATA_MIRROR, else the config's data_mirror (relative to the repository)."""
    return Path(os.environ.get("MIC_DATA_MIRROR") or REPO / config["data_mirror"])


def cpu_name() -> str:
    """The CPU's model name and its widest vectors (the kernels' lane width follows them)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    vectors = "AVX-512" if " avx512f" in info else "AVX2" if " avx2" in info else "no AVX2"
    return f"{model or platform.processor() or platform.machine()}, {vectors}"


def main() -> None:
    """Fit, predict, 1-NN; print the table (and write it as TSV with --output)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--noise-in", type=float, default=0.1)
    parser.add_argument("--noise-out", type=float, default=0.0)
    parser.add_argument("--episodes", type=int, default=None, help="override the config's (quick runs)")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None, help="also write the table as TSV")
    args = parser.parse_args()
    torch.set_num_threads(1)

    config = yaml.safe_load(CONFIG.read_text())
    params, split = paper_settings(config, args.noise_in, args.noise_out)
    if args.episodes is not None:
        params["episodes"] = args.episodes
    raw = source("character_trajectories").read([mirror_folder(config) / RAW_FILE])
    train, test = split_indices(raw.labels, raw, split)
    names = np.array(raw.class_names)
    x_train, y_train = [raw.sequences[i] for i in train], names[raw.labels[train]]
    x_test, y_test = [raw.sequences[i] for i in test], names[raw.labels[test]]
    pad_length = max(len(s) for s in raw.sequences)
    clf = MICClassifier(**params, pad_length=pad_length, random_state=args.random_state)
    print(f"characters: {len(train)} training, {len(test)} test sequences, padded to {pad_length} steps")
    print(f"settings: {', '.join(f'{k}={v}' for k, v in clf.get_params().items() if k in params)}")
    print(f"machine: {cpu_name()}; torch threads 1; {time.strftime('%Y-%m-%d %H:%M %Z')}")

    warm = MICClassifier(**{**params, "episodes": 8, "iterations": 1}, pad_length=pad_length, random_state=0)
    few = np.concatenate([np.flatnonzero(y_train == name)[:4] for name in names])
    warm.fit([x_train[i] for i in few], y_train[few]).predict(x_test[:8])  # builds or loads the C kernels

    start = time.perf_counter()
    clf.fit(x_train, y_train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    predicted = clf.predict(x_test)
    predict_s = time.perf_counter() - start

    from tslearn.neighbors import KNeighborsTimeSeriesClassifier

    k, per_class = clf.prototypes_.shape[:2]
    prototypes = clf.prototypes_.reshape(k * per_class, *clf.prototypes_.shape[2:])
    targets = clf.transform_.apply(x_test)
    KNeighborsTimeSeriesClassifier(n_neighbors=1, metric="dtw").fit(prototypes[:2], [0, 1]).predict(targets[:1])
    start = time.perf_counter()  # after the warm-up above: numba has compiled tslearn's DTW
    knn = KNeighborsTimeSeriesClassifier(n_neighbors=1, metric="dtw").fit(
        prototypes, np.repeat(clf.classes_, per_class)
    )
    knn_predicted = knn.predict(targets)
    knn_s = time.perf_counter() - start

    table = pd.DataFrame(
        {
            "model": ["MICClassifier", "1-NN DTW, same prototypes"],
            "fit_s": [fit_s, np.nan],
            "predict_s": [predict_s, knn_s],
            "test_accuracy": [np.mean(predicted == y_test), np.mean(knn_predicted == y_test)],
        }
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("fit_s: prototypes, transform and training; predict_s: 1-NN's includes its fit (storing 80 prototypes)")
    if args.output is not None:
        table.to_csv(args.output, sep="\t", index=False, float_format="%.4f")


if __name__ == "__main__":
    main()
