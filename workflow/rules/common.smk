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
    training_set="clustered|random|full",
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


def dataset_classes(wildcards):
    return class_names(wildcards.dataset)


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


GENERATOR_SET = "results/{dataset}/{subset}/rep{rep}/in{noise_in}_out{noise_out}"
# GPU jobs ask for a GPU only when the config says so; on SLURM this becomes --gpus=1.
GPUS_PER_JOB = 1 if config["device"] == "cuda" else 0


def generator_set_path(dataset, name):
    """A file of one generator set of `dataset`, the other wildcards left open."""
    return os.path.join(GENERATOR_SET.replace("{dataset}", dataset), name)


def file_name(class_name):
    """A class name as a file name (user class names may hold spaces or slashes)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in class_name)


def generator_checkpoints(dataset, **wildcards):
    """Per-class checkpoints of one generator set; wildcards not given stay open for the rule."""
    pattern = generator_set_path(dataset, os.path.join("generators", "{cls}.pt"))
    for key, value in wildcards.items():
        pattern = pattern.replace(f"{{{key}}}", str(value))
    return [pattern.replace("{cls}", file_name(c)) for c in class_names(dataset)]


def generator_set_checkpoints(wildcards):
    """Input function: the checkpoints of the generator set named by the job's wildcards."""
    return generator_checkpoints(
        wildcards.dataset,
        subset=wildcards.subset,
        rep=wildcards.rep,
        noise_in=wildcards.noise_in,
        noise_out=wildcards.noise_out,
    )


def generator_sets(dataset, pattern):
    """`pattern` expanded over every subset, replicate and noise setting of a data set."""
    return [
        pattern.format(dataset=dataset, subset=subset, rep=rep, noise_in=noise_in, noise_out=noise_out)
        for subset in SUBSETS
        for rep in REPLICATES
        for noise_in, noise_out in noise_grid(dataset, subset)
    ]


def subset_runs(dataset, subset):
    """Every (replicate, noise) setting of one data set and subset as its wildcards, in one fixed order."""
    return [
        {"dataset": dataset, "subset": subset, "rep": rep, "noise_in": noise_in, "noise_out": noise_out}
        for rep in REPLICATES
        for noise_in, noise_out in noise_grid(dataset, subset)
    ]


def subset_run_files(dataset, subset, name):
    """One file of every setting of subset_runs(dataset, subset), in that order."""
    return [os.path.join(GENERATOR_SET.format(**run), name) for run in subset_runs(dataset, subset)]


def subset_checkpoints(dataset, subset):
    """The generator checkpoints of one data set and subset, one list per setting of subset_runs."""
    return [generator_checkpoints(**run) for run in subset_runs(dataset, subset)]


TRAINING_SETS = [*SUBSETS, "full"]


def baseline_prototypes(wildcards):
    """The forward baseline trains on a prototype subset, or (training_set 'full') on all training data."""
    if wildcards.training_set == "full":
        return []
    return f"results/{wildcards.dataset}/prototypes/{wildcards.training_set}.npz"


def nearest_prototype_metrics(wildcards):
    """Euclidean always; DTW too where the data set clusters with DTW (the characters)."""
    metric = dataset_config(wildcards.dataset)["prototypes"]["metric"]
    return ["euclidean"] if metric == "euclidean" else ["euclidean", metric]


def baseline_targets():
    return expand(
        "results/{dataset}/baseline/{training_set}/rep{rep}/summary.tsv",
        dataset=DATASETS,
        training_set=TRAINING_SETS,
        rep=REPLICATES,
    ) + expand("results/{dataset}/{subset}/nearest_prototype.tsv", dataset=DATASETS, subset=SUBSETS)


def prepared_targets():
    return expand("results/{dataset}/data.npz", dataset=DATASETS) + expand(
        "results/{dataset}/prototypes/{subset}.{ext}", dataset=DATASETS, subset=SUBSETS, ext=["npz", "png"]
    )


def mic_targets():
    """Every generator checkpoint (so a deleted one is retrained) and every inverse-classification summary."""
    paths = []
    for dataset in DATASETS:
        for summary in generator_sets(dataset, os.path.join(GENERATOR_SET, "summary.tsv")):
            folder = os.path.dirname(summary)
            paths += [
                summary,
                *(os.path.join(folder, "generators", f"{file_name(c)}.pt") for c in class_names(dataset)),
            ]
    return paths


def all_targets():
    """Everything `rule all` asks for."""
    return prepared_targets() + mic_targets() + baseline_targets() + report_targets()
