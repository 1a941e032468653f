"""Where every result lives, and the names shared by the workflow, the package, the report and the tests.

One home for each path pattern and name list: the .smk files, the rule scripts, the notebook and the tests
import them from here. Patterns are Snakemake-style ("{dataset}") and start at RESULTS; `under` moves them
to another results folder (a notebook or a test reading a copy).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mic.method import REPRESENTATIONS, SELECTIONS

ALL = "all"  # the class label of overall rows in accuracy tables

RESULTS = "results"
DATA = f"{RESULTS}/{{dataset}}/data.npz"
# Replicate r re-draws the random prototypes and the k-means start of the clustered ones.
PROTOTYPES = f"{RESULTS}/{{dataset}}/prototypes/rep{{rep}}/{{subset}}.npz"
PROTOTYPE_FIGURE = f"{RESULTS}/{{dataset}}/prototypes/rep{{rep}}/{{subset}}.png"
# One generator set: the class generators of one (data set, subset, replicate, noise) setting and their results.
SETTING = f"{RESULTS}/{{dataset}}/{{subset}}/rep{{rep}}/in{{noise_in}}_out{{noise_out}}"
# A model folder (every setting folder is one; mic.model.bundle): its manifest and its checkpoints' folder.
MANIFEST_FILE = "model.json"
GENERATORS_FOLDER = "generators"
BEST_MODEL_FILE = "best_model.json"  # in a subset folder: which of its setting folders is the best model
CHECKPOINT = f"{SETTING}/{GENERATORS_FOLDER}/{{cls}}.pt"
PREDICTIONS = f"{SETTING}/predictions.tsv"
# Training samples that are not prototypes, inverted exactly as the test split: they choose the "best" model.
VALIDATION_PREDICTIONS = f"{SETTING}/validation_predictions.tsv"
VALIDATION_SUMMARY = f"{SETTING}/validation_summary.tsv"
# A trained model describes itself: its checkpoints, transform, inverse settings and seed (mic.model.bundle).
MODEL_MANIFEST = f"{SETTING}/{MANIFEST_FILE}"
SUBSET = f"{RESULTS}/{{dataset}}/{{subset}}"
# Which setting folder is the subset's best model, chosen on validation samples as the report chooses it.
BEST_MODEL = f"{SUBSET}/{BEST_MODEL_FILE}"
# Inversion variants beyond the paper (mic.model.extended), run on a replicate's validation-best setting.
EXTENDED = f"{SUBSET}/rep{{rep}}/extended/{{variant}}.tsv"
NEAREST_PROTOTYPE = f"{SUBSET}/rep{{rep}}/nearest_prototype.tsv"
BASELINE = f"{RESULTS}/{{dataset}}/baseline/{{training_set}}/rep{{rep}}"
# Beyond the paper: corruptions, outliers and attacks on a replicate's validation-best model (mic.robustness).
ROBUSTNESS = f"{SUBSET}/rep{{rep}}/robustness"
ROBUSTNESS_TABLES = ("corruptions", "outliers", "roc", "attacks", "gradients")  # one file each, <name>.tsv
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
    *(f"robustness_{name}" for name in ROBUSTNESS_TABLES),
)

# The models the robustness jobs compare (the `method` column of their tables), with their names in the report.
ROBUSTNESS_METHODS = {
    "mic": "MIC (validation-best setting)",
    "mic_extended": "MIC extended (validation-best variant)",
    "forward_prototypes": "forward LSTM (same prototypes)",
    "forward_full": "forward LSTM (full training set)",
    "nearest_euclidean": "1-NN (Euclidean, same prototypes)",
}
# Outlier scores (the `score` column), higher = more outlying, with what they are.
ROBUSTNESS_SCORES = {
    "min_loss": "lowest final reconstruction loss over the modules",
    "min_score": "lowest decision score over the modules (the variant's MSE or DTW)",
    "max_softmax": "maximum softmax probability (negated)",
    "energy": "energy score (negated log-sum-exp of the logits)",
    "distance": "distance to the nearest prototype",
}
# How an attacked input was made (the `attack` column): the model's own gradients, another model's, or the
# exact minimal perturbation (Euclidean 1-NN).
ROBUSTNESS_ATTACKS = ("white-box", "transfer", "minimal")
CLEAN = "clean"  # the `kind` of the uncorrupted rows of the corruptions table


# A subset names how its prototypes are chosen: a selection ("clustered": k-means within the class, each cluster
# represented as the data set's prototypes.representation says; or "random"), or "clustered_<representation>",
# a named variant that fixes the representation (e.g. clustered_medoid beside the paper's means).


def robustness_file(name: str) -> str:
    """The pattern of one robustness table of a job (ROBUSTNESS_TABLES)."""
    if name not in ROBUSTNESS_TABLES:
        raise KeyError(f"unknown robustness table {name!r}; known: {', '.join(ROBUSTNESS_TABLES)}")
    return f"{ROBUSTNESS}/{name}.tsv"


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


def checkpoints(classes: list[str], **wildcards: object) -> list[str]:
    """The checkpoint of every class generator of one setting, in class order; wildcards not given stay open."""
    pattern = fill(CHECKPOINT, **wildcards)
    return [fill(pattern, cls=file_name(name)) for name in classes]


def relative_setting(**wildcards: object) -> str:
    """A setting folder relative to its subset folder (rep<r>/in<a>_out<b>)."""
    return os.path.relpath(fill(SETTING, **wildcards), fill(SUBSET, **wildcards))


def fill(pattern: str, **wildcards: object) -> str:
    """`pattern` with the given wildcards filled in; the others stay open (for Snakemake rules)."""
    for key, value in wildcards.items():
        pattern = pattern.replace(f"{{{key}}}", str(value))
    return pattern


_WILDCARD = re.compile(r"\{(\w+)\}")  # a Snakemake-style wildcard in a pattern


def wildcard_names(pattern: str) -> tuple[str, ...]:
    """The wildcards of a layout pattern, in the order they first appear."""
    return tuple(dict.fromkeys(_WILDCARD.findall(pattern)))


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A regex of the paths of a layout pattern under any results folder, one named group per wildcard."""
    relative = pattern.removeprefix(f"{RESULTS}/")
    parts, seen, position = [], set(), 0
    for match in _WILDCARD.finditer(relative):
        name = match.group(1)
        parts.append(re.escape(relative[position : match.start()]))
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+)")
        seen.add(name)
        position = match.end()
    parts.append(re.escape(relative[position:]))
    return re.compile(f"(?:^|/){''.join(parts)}$")


def path_keys(pattern: str, path: str | os.PathLike) -> dict[str, str]:
    """The wildcards (dataset, subset, rep, ...) that a path of `pattern` carries, in the pattern's order."""
    match = pattern_regex(pattern).search(Path(path).as_posix())
    if match is None:
        raise ValueError(f"{path}: not a path of the pattern {pattern}")
    return {name: match.group(name) for name in wildcard_names(pattern)}


def under(root: str | os.PathLike, pattern: str, **wildcards: object) -> Path:
    """`pattern` filled in, with its leading results folder replaced by `root`."""
    relative = Path(fill(pattern, **wildcards)).relative_to(RESULTS)
    return Path(root) / relative


def table_file(name: str, root: str | os.PathLike = TABLES) -> Path:
    """The TSV of one tidy table."""
    if name not in TABLE_NAMES:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLE_NAMES)}")
    return Path(root) / f"{name}.tsv"


# ---- Paths of one run's files, for readers outside Snakemake (the report notebook) ----


def locate(path: str | os.PathLike) -> Path:
    """`path` as given, or below the nearest parent folder holding its first component.

    A notebook opened by hand runs in notebooks/; its default paths (results/..., config/...) then
    resolve against the repository root.
    """
    path = Path(path)
    if path.is_absolute() or not path.parts:
        return path
    for base in (Path.cwd(), *Path.cwd().parents):
        if (base / path.parts[0]).exists():
            return path if base == Path.cwd() else base / path
    return path


def run_path(
    results_dir: str | os.PathLike, dataset: str, subset: str, rep: int, noise: tuple[str, str], name: str
) -> Path:
    """A file `name` of one setting folder (SETTING) under `results_dir`."""
    setting = {"dataset": dataset, "subset": subset, "rep": rep, "noise_in": noise[0], "noise_out": noise[1]}
    return under(results_dir, SETTING, **setting) / name


def prototypes_path(results_dir: str | os.PathLike, dataset: str, subset: str, rep: int = 0) -> Path:
    """One replicate's prototypes file (PROTOTYPES) under `results_dir`."""
    return under(results_dir, PROTOTYPES, dataset=dataset, subset=subset, rep=rep)
