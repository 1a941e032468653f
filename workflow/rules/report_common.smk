# Helpers of the report rules (workflow/rules/report.smk): the result grid, the figures, the targets.
from mic.evidence import collect

REPORT_NOTEBOOK = workflow.source_path("../../notebooks/report.ipynb")
PAPER_RESULTS = workflow.source_path("../../config/paper_results.yaml")
# The figures the notebook saves (and `snakemake --report` shows), per data set and subset.
REPORT_FIGURES = {
    "heatmap": ("Figure 7: reconstruction loss, module x class", "../report/heatmap.rst"),
    "reconstructions": ("Figures 5 and 6: reconstructions", "../report/reconstructions.rst"),
    "confusion": ("Confusion matrices", "../report/confusion.rst"),
}


def mic_runs():
    """Every MIC configuration as its wildcards (dataset, subset, rep, noise_in, noise_out), in one fixed order."""
    return [run for dataset in DATASETS for subset in SUBSETS for run in subset_runs(dataset, subset)]


def mic_run_files(name):
    """One file of every MIC configuration, in the order of mic_runs()."""
    return [path for dataset in DATASETS for subset in SUBSETS for path in subset_run_files(dataset, subset, name)]


def baseline_runs():
    """Every forward-baseline job: data set, training set (the subsets and 'full'), replicate."""
    return [
        {"dataset": dataset, "training_set": training_set, "rep": rep}
        for dataset in DATASETS
        for training_set in TRAINING_SETS
        for rep in REPLICATES
    ]


def subset_keys():
    """Every (data set, subset): the keys of Figure 7's tables."""
    return [{"dataset": dataset, "subset": subset} for dataset in DATASETS for subset in SUBSETS]


def nearest_runs():
    """Every nearest-prototype job: data set, subset, replicate."""
    return [{**key, "rep": rep} for key in subset_keys() for rep in REPLICATES]


# The jobs of the run by the wildcards their files carry (in their patterns' order), each in one fixed order.
JOBS = {
    ("dataset", "subset", "rep", "noise_in", "noise_out"): mic_runs,
    ("dataset", "subset"): subset_keys,
    ("dataset", "training_set", "rep"): baseline_runs,
    ("dataset", "subset", "rep"): nearest_runs,
    ("dataset", "subset", "rep", "variant"): extended_runs,
}


# Patterns whose jobs are not all jobs of their wildcards: only the data sets and subsets that run them.
PATTERN_JOBS = {layout.robustness_file(name): robustness_runs for name in layout.ROBUSTNESS_TABLES}


def collected_files(name):
    """The per-job files of one table of mic.evidence.collect.COLLECTED, one per job of its wildcards."""
    pattern = collect.COLLECTED[name].pattern
    if pattern in PATTERN_JOBS:
        return [layout.fill(pattern, **job) for job in PATTERN_JOBS[pattern]()]
    wildcards = layout.wildcard_names(pattern)
    if wildcards not in JOBS:
        raise WorkflowError(f"collected table {name}: no jobs known for the wildcards {wildcards} of {pattern}")
    return [layout.fill(pattern, **job) for job in JOBS[wildcards]()]


def collected_inputs():
    """The collect_results inputs: the per-job files of every collected table, named by the table."""
    return {name: collected_files(name) for name in collect.COLLECTED}


def report_figure(name, caption, subcategory, dataset, subset):
    """One figure the notebook saves, flagged for `snakemake --report` with its caption."""
    return report(
        f"{layout.FIGURES}/{name}.png",
        caption=caption,
        category="Figures",
        subcategory=subcategory,
        labels={"data set": dataset, "subset": subset},
    )


def report_figures():
    """The key figures: prototypes per data set, Figures 5/6/7 and confusions per data set and subset, training."""
    figures = [
        report_figure(f"prototypes_{dataset}", "../report/prototypes.rst", "Prototypes per class", dataset, "all")
        for dataset in DATASETS
    ]
    for kind, (subcategory, caption) in REPORT_FIGURES.items():
        figures += [
            report_figure(f"{kind}_{dataset}_{subset}", caption, subcategory, dataset, subset)
            for dataset in DATASETS
            for subset in SUBSETS
        ]
    figures += [
        report_figure(f"figure7_{subset}", "../report/heatmap.rst", "Figure 7 as printed", "all", subset)
        for subset in SUBSETS
    ]
    figures.append(report_figure("training_loss", "../report/training_loss.rst", "Generator training", "all", "all"))
    return figures


def report_targets():
    """The report outputs the default target asks for: the executed notebook and its HTML."""
    return [f"{layout.REPORT}/report.ipynb", f"{layout.REPORT}/report.html"]


def tables_dir(wildcards, input):
    """The folder of the collected tables (results/tables)."""
    return os.path.dirname(input.config)


def results_dir(wildcards, input):
    """The results folder the collected tables sit in (results)."""
    return os.path.dirname(tables_dir(wildcards, input))


def output_dir(wildcards, output):
    """The folder of the executed notebook and its HTML (results/report)."""
    return os.path.dirname(output.notebook)


def figures_dir(wildcards, output):
    """The folder the notebook saves its figures to (results/report/figures)."""
    return os.path.dirname(output[0])
