# Helpers shared by all rules: config lookups, the result grid and wildcard constraints.
# Every path pattern comes from mic.layout, class names from mic.data.sources, a job's settings and seeds from
# mic.jobs (one home each).
import os

from mic import jobs, layout
from mic.data.datasets import RawDataset
from mic.data.download import SOURCES
from mic.data.labels import DataFormatError, npz_labels
from mic.data.preprocess import training_counts
from mic.data.sources import configured_classes
from snakemake.exceptions import WorkflowError


def run_part(config):
    """Keep only the data sets of `only_datasets` (validated against `datasets`); the whole config otherwise."""
    only = config.get("only_datasets")
    if not only:
        return
    unknown = [name for name in only if name not in config["datasets"]]
    if unknown:
        raise WorkflowError(
            f"config only_datasets: {', '.join(unknown)} not in datasets (expected some of: "
            f"{', '.join(config['datasets'])})"
        )
    config["datasets"] = {name: value for name, value in config["datasets"].items() if name in only}


run_part(config)
DATASETS = list(config["datasets"])
SUBSETS = config["subsets"]
REPLICATES = list(range(config["replicates"]))
# The forward baseline trains on the paper's two subsets (not on representation variants) and on all data.
TRAINING_SETS = [s for s in SUBSETS if s in layout.SELECTIONS] + ["full"]
RAW_FILES = {source: [raw.target for raw in files] for source, files in SOURCES.items()}


wildcard_constraints:
    dataset="|".join(DATASETS),
    source="|".join(RAW_FILES),
    subset="|".join(SUBSETS),
    training_set="|".join(TRAINING_SETS),
    rep=r"\d+",
    noise_in=r"[0-9.e+-]+",
    noise_out=r"[0-9.e+-]+",
    variant=r"[A-Za-z][A-Za-z0-9_]*",


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
    return configured_classes(dataset_config(dataset))


def check_own_data(dataset):
    """An own .npz data set is counted now, so a config that cannot run on it stops before the first job."""
    block = dataset_config(dataset)
    if block["source"] != "npz":
        return  # the built-in sources are counted by their preprocess job, before any later job
    try:
        labels, names = npz_labels(block["path"], bool(block.get("allow_pickle", False)))
        settings = jobs.preprocess_settings(dataset, block.get("preprocess"))
        counts = training_counts(RawDataset([], labels, names), settings)
        jobs.check_feasible(dataset, jobs.feasibility_needs(dataset, block), counts)
    except (DataFormatError, ValueError) as error:
        raise WorkflowError(str(error)) from error


for _dataset in DATASETS:
    check_own_data(_dataset)


def dataset_classes(wildcards):
    return class_names(wildcards.dataset)


def noise_grid(dataset, subset):
    """(input, output) noise labels of one data set and subset."""
    grids = dataset_config(dataset)["noise"]
    if subset not in grids:
        raise ValueError(f"datasets.{dataset}.noise: no grid for subset {subset!r} (subsets: {', '.join(SUBSETS)})")
    grid = grids[subset]
    return [(layout.noise_label(i), layout.noise_label(o)) for i in grid["input"] for o in grid["output"]]


def data_mirror():
    """The mirror folder, $MIC_DATA_MIRROR over the config; None if unset (downloads then)."""
    return os.environ.get("MIC_DATA_MIRROR") or config.get("data_mirror")


# GPU jobs ask for a GPU only when the config says so; on SLURM this becomes --gpus=1.
GPUS_PER_JOB = 1 if config["device"] == "cuda" else 0


def setting_file(dataset, name):
    """A file of one generator set of `dataset`, the other wildcards left open."""
    return os.path.join(layout.fill(layout.SETTING, dataset=dataset), name)


def generator_checkpoints(dataset, **wildcards):
    """Per-class checkpoints of one generator set; wildcards not given stay open for the rule."""
    return layout.checkpoints(class_names(dataset), dataset=dataset, **wildcards)


def generator_set_checkpoints(wildcards):
    """Input function: the checkpoints of the generator set named by the job's wildcards."""
    return generator_checkpoints(
        wildcards.dataset,
        subset=wildcards.subset,
        rep=wildcards.rep,
        noise_in=wildcards.noise_in,
        noise_out=wildcards.noise_out,
    )


def subset_runs(dataset, subset):
    """Every (replicate, noise) setting of one data set and subset as its wildcards, in one fixed order."""
    return [
        {"dataset": dataset, "subset": subset, "rep": rep, "noise_in": noise_in, "noise_out": noise_out}
        for rep in REPLICATES
        for noise_in, noise_out in noise_grid(dataset, subset)
    ]


def subset_run_files(dataset, subset, name):
    """One file of every setting of subset_runs(dataset, subset), in that order."""
    return [os.path.join(layout.fill(layout.SETTING, **run), name) for run in subset_runs(dataset, subset)]


def baseline_prototypes(wildcards):
    """The forward baseline trains on a prototype subset, or (training_set 'full') on all training data."""
    if wildcards.training_set == "full":
        return []
    return layout.fill(layout.PROTOTYPES, dataset=wildcards.dataset, subset=wildcards.training_set, rep=wildcards.rep)


def prototype_sets(dataset, subset):
    """The prototype files of every replicate of one data set and subset, in replicate order."""
    return [layout.fill(layout.PROTOTYPES, dataset=dataset, subset=subset, rep=rep) for rep in REPLICATES]


def nearest_prototype_metrics(wildcards):
    """Euclidean always; DTW too where the data set clusters with DTW (the characters)."""
    metric = dataset_config(wildcards.dataset)["prototypes"]["metric"]
    return ["euclidean"] if metric == "euclidean" else ["euclidean", metric]


def baseline_targets():
    return expand(
        f"{layout.BASELINE}/summary.tsv", dataset=DATASETS, training_set=TRAINING_SETS, rep=REPLICATES
    ) + expand(layout.NEAREST_PROTOTYPE, dataset=DATASETS, subset=SUBSETS, rep=REPLICATES)


def prepared_targets():
    return expand(layout.DATA, dataset=DATASETS) + expand(
        [layout.PROTOTYPES, layout.PROTOTYPE_FIGURE], dataset=DATASETS, subset=SUBSETS, rep=REPLICATES
    )


def mic_targets():
    """Every generator checkpoint (so a deleted one is retrained) and every inverse-classification summary."""
    paths = []
    for dataset in DATASETS:
        for subset in SUBSETS:
            paths += subset_run_files(dataset, subset, "summary.tsv")
            paths += [path for run in subset_runs(dataset, subset) for path in generator_checkpoints(**run)]
    return paths


def extended_runs():
    """Every (data set, subset, replicate, variant) of the inversion variants beyond the paper."""
    return [
        {"dataset": dataset, "subset": subset, "rep": rep, "variant": variant}
        for dataset in DATASETS
        for variant in dataset_config(dataset).get("extended", {}).get("variants", {})
        for subset in SUBSETS
        if subset in layout.SELECTIONS  # the paper's two subsets, as for the forward baselines
        for rep in REPLICATES
    ]


def extended_files():
    """The table of every extended run, in the order of extended_runs()."""
    return [layout.fill(layout.EXTENDED, **run) for run in extended_runs()]


def robustness_settings(dataset):
    """The data set's robustness tests (mic.jobs), None where they are switched off."""
    try:
        return jobs.robustness_settings(dataset, dataset_config(dataset).get("robustness"))
    except ValueError as error:
        raise WorkflowError(str(error)) from error


def robustness_runs():
    """Every robustness job: data sets with robustness tests, the paper's two subsets, every replicate."""
    return [
        {"dataset": dataset, "subset": subset, "rep": rep}
        for dataset in DATASETS
        if robustness_settings(dataset) is not None
        for subset in SUBSETS
        if subset in layout.SELECTIONS  # where a forward model on the same prototypes exists
        for rep in REPLICATES
    ]


def robustness_variant_tables(wildcards):
    """The inversion variants' tables of every replicate, to choose the validation-best variant; none where the
    robustness block leaves the variant out."""
    if not robustness_settings(wildcards.dataset).extended:
        return []
    return [
        layout.fill(layout.EXTENDED, **run)
        for run in extended_runs()
        if run["dataset"] == wildcards.dataset and run["subset"] == wildcards.subset
    ]


def robustness_files():
    """Every table of every robustness job."""
    return [
        layout.fill(layout.robustness_file(name), **run)
        for run in robustness_runs()
        for name in layout.ROBUSTNESS_TABLES
    ]


def all_targets():
    """Everything `rule all` asks for."""
    return (
        prepared_targets()
        + mic_targets()
        + baseline_targets()
        + extended_files()
        + robustness_files()
        + report_targets()
    )
