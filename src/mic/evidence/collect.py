"""Gather every per-job result file into the tidy tables under results/tables/ (what the report reads).

COLLECTED declares each table once: the mic.layout pattern of its per-job files and how they combine. A file's
keys (dataset, subset, rep, ...) are read from its own path with that pattern, so rows cannot be paired with
another job's keys.

Conventions: noise levels are strings as in result paths ("0", "0.1", "0.0001"); class "all" is the
overall row; replicate is the integer column `rep`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from mic import layout

STRING_COLUMNS = [
    "dataset",
    "subset",
    "noise_in",
    "noise_out",
    "class",
    "true_class",
    "predicted_class",
    "split",
    "module",
    "target_class",
    "training_set",
    "metric",
    "variant",
    "model",
    "method",
    "kind",
    "score",
    "outlier_set",
    "attack",
    "source",
    "norm",
]

TABLE_FILES = {name: layout.table_file(name, ".").name for name in layout.TABLE_NAMES}  # name -> file in TABLES


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a tidy TSV, keeping names and noise labels as strings ("0" stays a class, "0.0001" a label).

    A table of a run that had nothing of its kind (e.g. no inversion variants configured) is empty.
    """
    try:
        header = pd.read_csv(path, sep="\t", nrows=0).columns
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    dtype = {column: str for column in STRING_COLUMNS if column in header}
    return pd.read_csv(path, sep="\t", dtype=dtype, keep_default_na=False, na_values=[""])


# Tables a run's folder may lack: one collected before the robustness jobs existed reads as a run without them.
OPTIONAL_TABLES = tuple(name for name in TABLE_FILES if name.startswith("robustness_"))


def read_tables(tables_dir: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """All tidy tables `collect_results` writes, by name (see TABLE_FILES); a missing optional one is empty."""
    tables_dir = Path(tables_dir)
    return {
        name: pd.DataFrame()
        if name in OPTIONAL_TABLES and not (tables_dir / file).is_file()
        else read_table(tables_dir / file)
        for name, file in TABLE_FILES.items()
    }


def _with_keys(table: pd.DataFrame, key: Mapping) -> pd.DataFrame:
    """`table` with the job's wildcards (dataset, subset, rep, ...) as leading columns; rep as an integer."""
    for position, (name, value) in enumerate(key.items()):
        table.insert(position, name, int(value) if name == "rep" else str(value))
    return table


def stack_frames(keyed: Sequence[tuple[Mapping, pd.DataFrame]]) -> pd.DataFrame:
    """Concatenate per-job frames, each prefixed with its key columns."""
    frames = [_with_keys(frame, key) for key, frame in keyed]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def stack_tables(keys: Sequence[Mapping], paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate per-job tables, each prefixed with its key columns (dataset, subset, ...)."""
    if len(keys) != len(paths):
        raise ValueError(f"{len(keys)} keys for {len(paths)} files")
    return stack_frames([(key, read_table(path)) for key, path in zip(keys, paths)])


def keyed_files(pattern: str, paths: Sequence[str | os.PathLike]) -> list[tuple[dict[str, str], str | os.PathLike]]:
    """Each file of `pattern` with the wildcards its path carries, in the given order; each file once."""
    repeated = [str(path) for path, count in Counter(map(str, paths)).items() if count > 1]
    if repeated:
        raise ValueError(f"listed more than once: {', '.join(repeated)}")
    return [(layout.path_keys(pattern, path), path) for path in paths]


def stack_files(pattern: str, paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate per-job tables of `pattern`, each prefixed with the wildcards its path carries."""
    return stack_frames([(key, read_table(path)) for key, path in keyed_files(pattern, paths)])


def module_names(predictions: pd.DataFrame) -> list[str]:
    """Class modules in the order of the loss_<class> columns of a predictions table."""
    return [column[len("loss_") :] for column in predictions.columns if column.startswith("loss_")]


def _class_names(values: pd.Series, classes: Sequence[str]) -> pd.Series:
    """Class labels as names; integer indices into `classes` are translated."""
    values = values.astype(str)
    if set(values) <= set(classes):
        return values
    if all(v.isdigit() and int(v) < len(classes) for v in set(values)):
        return values.map(lambda v: classes[int(v)])
    raise ValueError(f"class labels {sorted(set(values))[:5]} are neither names nor indices of {classes}")


def confusion_counts(predictions: pd.DataFrame) -> pd.DataFrame:
    """Counts per (iterations, true_class, predicted_class) from one predictions table."""
    classes = module_names(predictions)
    table = pd.DataFrame(
        {
            "iterations": predictions["iterations"].astype(int),
            "true_class": _class_names(predictions["true_class"], classes),
            "predicted_class": _class_names(predictions["predicted_class"], classes),
        }
    )
    return table.groupby(["iterations", "true_class", "predicted_class"]).size().rename("count").reset_index()


def confusion_table(path: str | os.PathLike) -> pd.DataFrame:
    """confusion_counts of one predictions file."""
    return confusion_counts(read_table(path))


def class_positions(path: str | os.PathLike) -> pd.DataFrame:
    """(position, class) of the class modules of one predictions file, read from its header."""
    header = pd.read_csv(path, sep="\t", nrows=0)
    names = module_names(header)
    return pd.DataFrame({"position": range(len(names)), "class": names})


def first_per_dataset(keyed: Sequence[tuple[Mapping, pd.DataFrame]]) -> pd.DataFrame:
    """The first job's frame of each data set, prefixed with the data set."""
    first: dict[str, pd.DataFrame] = {}
    for key, frame in keyed:
        first.setdefault(str(key["dataset"]), frame)
    if not first:
        return pd.DataFrame(columns=["dataset", "position", "class"])
    return stack_frames([({"dataset": dataset}, frame) for dataset, frame in first.items()])


@dataclass(frozen=True)
class Collected:
    """One tidy table: the layout pattern of its per-job files, how one file reads, how the files combine."""

    pattern: str
    read: Callable[[str | os.PathLike], pd.DataFrame] = read_table
    combine: Callable[[Sequence[tuple[Mapping, pd.DataFrame]]], pd.DataFrame] = stack_frames


# Every table collect_results writes, by name (as mic.layout.TABLE_NAMES): its rows come in the order of its files,
# each led by the wildcards its file's path carries (in the pattern's order; rep an integer).
COLLECTED = {
    "mic_accuracy": Collected(f"{layout.SETTING}/summary.tsv"),
    "mic_validation": Collected(layout.VALIDATION_SUMMARY),
    "mic_extended": Collected(layout.EXTENDED),
    "confusion": Collected(layout.PREDICTIONS, confusion_table),
    "heatmaps": Collected(f"{layout.SUBSET}/heatmap.tsv"),  # Figure 7's losses of the best model
    "training": Collected(f"{layout.SETTING}/training.tsv"),
    "loss_curves": Collected(f"{layout.SETTING}/loss_curves.tsv"),
    "baselines": Collected(f"{layout.BASELINE}/summary.tsv"),
    "baseline_history": Collected(f"{layout.BASELINE}/history.tsv"),
    "nearest_prototype": Collected(layout.NEAREST_PROTOTYPE),
    "classes": Collected(layout.PREDICTIONS, class_positions, first_per_dataset),
    **{f"robustness_{name}": Collected(layout.robustness_file(name)) for name in layout.ROBUSTNESS_TABLES},
}


def collect_table(name: str, paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One table of COLLECTED from its per-job files, its rows in their order."""
    spec = COLLECTED[name]
    try:
        keyed = keyed_files(spec.pattern, paths)
    except ValueError as error:
        raise ValueError(f"table {name}: {error}") from None
    return spec.combine([(key, spec.read(path)) for key, path in keyed])


def collect_results(files: Mapping[str, Sequence[str | os.PathLike]]) -> dict[str, pd.DataFrame]:
    """Every table of COLLECTED from its per-job files, given by table name; each file's keys come from its path."""
    missing = [f"{name} (missing)" for name in COLLECTED if name not in files]
    unknown = [f"{name} (unknown)" for name in files if name not in COLLECTED]
    if missing or unknown:
        listed = ", ".join(missing + unknown)
        raise ValueError(f"files by table: {listed}; the tables are {', '.join(COLLECTED)}")
    return {name: collect_table(name, files[name]) for name in COLLECTED}


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    paths: Mapping[str, str | os.PathLike],
    config: Mapping,
    config_path: str | os.PathLike,
) -> None:
    """Write collect_results' tables (atomically, TSV) and the run's effective config (YAML)."""
    from mic.io import save_table, write_atomic

    for name, path in paths.items():
        save_table(path, tables[name])
    write_atomic(
        config_path, lambda tmp: tmp.write_text(yaml.safe_dump(json.loads(json.dumps(config)), sort_keys=False))
    )
