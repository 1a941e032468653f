# Helpers of the report rules (workflow/rules/report.smk): the result grid, the figures, the targets.

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


def baseline_files(name):
    """One file of every forward-baseline job, in the order of baseline_runs()."""
    return [layout.fill(f"{layout.BASELINE}/{name}", **run) for run in baseline_runs()]


def subset_keys():
    """Every (data set, subset): the keys of the nearest-prototype and Figure 7 tables."""
    return [{"dataset": dataset, "subset": subset} for dataset in DATASETS for subset in SUBSETS]


def subset_files(name):
    """A file of every (data set, subset) folder in the order of subset_keys()."""
    return [layout.fill(f"{layout.SUBSET}/{name}", **key) for key in subset_keys()]


def nearest_runs():
    """Every nearest-prototype job: data set, subset, replicate."""
    return [{**key, "rep": rep} for key in subset_keys() for rep in REPLICATES]


def nearest_files():
    """The nearest-prototype table of every job, in the order of nearest_runs()."""
    return [layout.fill(layout.NEAREST_PROTOTYPE, **run) for run in nearest_runs()]


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
