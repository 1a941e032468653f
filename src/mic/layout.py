"""Where every result lives, and the names shared by the workflow, the package, the report and the tests.

One home for each path pattern and name list: the .smk files, the rule scripts, the notebook and the tests
import them from here. Patterns are Snakemake-style ("{dataset}") and start at RESULTS; `under` moves them
to another results folder (a notebook or a test reading a copy).
"""

from __future__ import annotations

import os
from pathlib import Path

ALL = "all"  # the class label of overall rows in accuracy tables

RESULTS = "results"
DATA = f"{RESULTS}/{{dataset}}/data.npz"
# Replicate r re-draws the random prototypes and the k-means start of the clustered ones.
PROTOTYPES = f"{RESULTS}/{{dataset}}/prototypes/rep{{rep}}/{{subset}}.npz"
PROTOTYPE_FIGURE = f"{RESULTS}/{{dataset}}/prototypes/rep{{rep}}/{{subset}}.png"
# One generator set: the class generators of one (data set, subset, replicate, noise) setting and their results.
SETTING = f"{RESULTS}/{{dataset}}/{{subset}}/rep{{rep}}/in{{noise_in}}_out{{noise_out}}"
CHECKPOINT = f"{SETTING}/generators/{{cls}}.pt"
# Training samples that are not prototypes, inverted exactly as the test split: they choose the "best" model.
VALIDATION_PREDICTIONS = f"{SETTING}/validation_predictions.tsv"
VALIDATION_SUMMARY = f"{SETTING}/validation_summary.tsv"
SUBSET = f"{RESULTS}/{{dataset}}/{{subset}}"
# Inversion variants beyond the paper (mic.model.extended), run on a replicate's base and best settings.
EXTENDED = f"{SUBSET}/rep{{rep}}/extended/{{variant}}.tsv"
NEAREST_PROTOTYPE = f"{SUBSET}/rep{{rep}}/nearest_prototype.tsv"
BASELINE = f"{RESULTS}/{{dataset}}/baseline/{{training_set}}/rep{{rep}}"
TABLES = f"{RESULTS}/tables"
REPORT = f"{RESULTS}/report"
FIGURES = f"{REPORT}/figures"

# The tidy tables collect_results writes to TABLES/<name>.tsv and the report reads.
TABLE_NAMES = (
    "mic_accuracy",
    "mic_validation",
    "mic_extended",
    "confusion",
    "heatmaps",
    "training",
    "loss_curves",
    "baselines",
    "baseline_history",
    "nearest_prototype",
    "classes",
)


# A subset names how its 4 prototypes per class are chosen: "clustered" (k-means within the class, each
# cluster represented as the data set's prototypes.representation says) or "random"; "clustered_<representation>"
# is a named variant that fixes the representation (e.g. clustered_medoid beside the paper's means).
SELECTIONS = ("clustered", "random")
REPRESENTATIONS = ("mean", "dba", "medoid")


def subset_parts(subset: str) -> tuple[str, str | None]:
    """(selection, representation or None for the data set's own) of a subset name."""
    selection, _, representation = subset.partition("_")
    if selection not in SELECTIONS or (
        representation and (selection != "clustered" or representation not in REPRESENTATIONS)
    ):
        raise ValueError(
            f"subset {subset!r}: expected one of {', '.join(SELECTIONS)} or clustered_<{'|'.join(REPRESENTATIONS)}>"
        )
    return selection, representation or None


def noise_label(value: float | str) -> str:
    """A noise level as written in result paths and tables: 0, 0.1, 0.0001."""
    return f"{float(value):g}"


def file_name(class_name: str) -> str:
    """A class name as a file name (user class names may hold spaces or slashes)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in class_name)


def fill(pattern: str, **wildcards: object) -> str:
    """`pattern` with the given wildcards filled in; the others stay open (for Snakemake rules)."""
    for key, value in wildcards.items():
        pattern = pattern.replace(f"{{{key}}}", str(value))
    return pattern


def under(root: str | os.PathLike, pattern: str, **wildcards: object) -> Path:
    """`pattern` filled in, with its leading results folder replaced by `root`."""
    relative = Path(fill(pattern, **wildcards)).relative_to(RESULTS)
    return Path(root) / relative


def table_file(name: str, root: str | os.PathLike = TABLES) -> Path:
    """The TSV of one tidy table."""
    if name not in TABLE_NAMES:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLE_NAMES)}")
    return Path(root) / f"{name}.tsv"
