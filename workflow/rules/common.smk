# Helpers shared by all rules: config lookups, the result grid and wildcard constraints.
import os

import numpy as np

DATASETS = list(config["datasets"])
SUBSETS = config["subsets"]
REPLICATES = list(range(config["replicates"]))
KNOWN_CLASSES = {
    "character_trajectories": list("abcdeghlmnopqrsuvwyz"),
    "mnist": [str(d) for d in range(10)],
}
RAW_FILES = {
    "character_trajectories": ["mixout.mat"],
    "mnist": [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ],
}


wildcard_constraints:
    dataset="|".join(DATASETS),
    source="|".join(RAW_FILES),
    subset="clustered|random",
    rep=r"\d+",
    noise_in=r"[0-9.e+-]+",
    noise_out=r"[0-9.e+-]+",


def dataset_config(dataset):
    return config["datasets"][dataset]


def source_of(dataset):
    return dataset_config(dataset)["source"]


def dataset_param(*keys):
    """Input function giving config["datasets"][dataset][keys...], so a changed value reruns its jobs."""

    def lookup(wildcards):
        value = dataset_config(wildcards.dataset)
        for key in keys:
            value = value[key]
        return value

    return lookup


def raw_inputs(wildcards):
    """The raw files preprocess reads: downloads for built-in sources, the user's file for npz."""
    source = source_of(wildcards.dataset)
    if source == "npz":
        return [dataset_config(wildcards.dataset)["path"]]
    return [f"resources/{source}/{name}" for name in RAW_FILES[source]]


def class_names(dataset):
    """Class names, known before any job runs (they name the generator checkpoints)."""
    cfg = dataset_config(dataset)
    if cfg["preprocess"].get("classes"):
        return list(cfg["preprocess"]["classes"])
    if cfg["source"] in KNOWN_CLASSES:
        return KNOWN_CLASSES[cfg["source"]]
    with np.load(cfg["path"], allow_pickle=True) as archive:
        if "class_names" in archive.files:
            return [str(n) for n in archive["class_names"]]
        labels = archive["labels"]
        if labels.dtype.kind in "iu":
            return [str(v) for v in range(int(labels.max()) + 1)]
        return sorted({str(v) for v in labels})


def noise_label(value):
    """Noise level as written in paths: 0, 0.1, 0.0001."""
    return f"{float(value):g}"


def noise_grid(dataset, subset):
    """(input, output) noise labels of one data set and subset."""
    grid = dataset_config(dataset)["noise"][subset]
    return [(noise_label(i), noise_label(o)) for i in grid["input"] for o in grid["output"]]


def data_mirror():
    """The mirror folder, $MIC_DATA_MIRROR over the config; None if unset (downloads then)."""
    return os.environ.get("MIC_DATA_MIRROR") or config.get("data_mirror")


def prepared_targets():
    return expand("results/{dataset}/data.npz", dataset=DATASETS) + expand(
        "results/{dataset}/prototypes/{subset}.{ext}", dataset=DATASETS, subset=SUBSETS, ext=["npz", "png"]
    )


def all_targets():
    """Everything `rule all` asks for."""
    return prepared_targets()
