"""Gather every per-job result file into the tidy tables under results/tables/ (what the report reads).

Conventions: noise levels are strings as in result paths ("0", "0.1", "0.0001"); class "all" is the
overall row; replicate is the integer column `rep`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
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


def read_tables(tables_dir: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """All tidy tables `collect_results` writes, by name (see TABLE_FILES)."""
    tables_dir = Path(tables_dir)
    return {name: read_table(tables_dir / file) for name, file in TABLE_FILES.items()}


def _with_keys(table: pd.DataFrame, key: Mapping) -> pd.DataFrame:
    """`table` with the job's wildcards (dataset, subset, rep, ...) as leading columns; rep as an integer."""
    for position, (name, value) in enumerate(key.items()):
        table.insert(position, name, int(value) if name == "rep" else str(value))
    return table


def stack_tables(keys: Sequence[Mapping], paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate per-job tables, each prefixed with its key columns (dataset, subset, ...)."""
    if len(keys) != len(paths):
        raise ValueError(f"{len(keys)} keys for {len(paths)} files")
    frames = [_with_keys(read_table(path), key) for key, path in zip(keys, paths)]
    if not frames:
        return pd.DataFrame(columns=list(keys[0]) if keys else [])
    return pd.concat(frames, ignore_index=True)


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


def collect_results(
    mic_runs: Sequence[Mapping],
    mic_files: Mapping[str, Sequence[str]],
    heatmap_runs: Sequence[Mapping],
    heatmap_files: Sequence[str],
    baseline_runs: Sequence[Mapping],
    baseline_files: Mapping[str, Sequence[str]],
    nearest_runs: Sequence[Mapping],
    nearest_files: Sequence[str],
    extended_runs: Sequence[Mapping] = (),
    extended_files: Sequence[str] = (),
) -> dict[str, pd.DataFrame]:
    """Gather every per-job table into the tidy tables of TABLE_FILES.

    mic_runs: one dict per MIC configuration (dataset, subset, rep, noise_in, noise_out), in the order of
    each list in mic_files (keys summary, training, loss_curves, predictions). heatmap_runs: (dataset,
    subset) for heatmap_files, Figure 7's losses of the best model (module_losses). baseline_runs:
    (dataset, training_set, rep) for baseline_files' summary and history. nearest_runs: (dataset, subset, rep).
    mic_files may hold validation: the summaries of the validation samples, which choose the best models.
    extended_runs: (dataset, subset, rep, variant) of extended_files, the inversion variants beyond the paper.
    """
    confusion, classes = [], {}
    for key, path in zip(mic_runs, mic_files["predictions"], strict=True):
        predictions = read_table(path)
        confusion.append(_with_keys(confusion_counts(predictions), key))
        classes.setdefault(str(key["dataset"]), module_names(predictions))
    class_table = pd.DataFrame(
        [(d, i, c) for d, names in classes.items() for i, c in enumerate(names)],
        columns=["dataset", "position", "class"],
    )
    mic_accuracy = stack_tables(mic_runs, mic_files["summary"])
    # Validation summaries are optional so that result folders of earlier versions still collect.
    mic_validation = stack_tables(mic_runs, mic_files["validation"]) if "validation" in mic_files else pd.DataFrame()
    return {
        "mic_accuracy": mic_accuracy,
        "mic_validation": mic_validation,
        "confusion": pd.concat(confusion, ignore_index=True) if confusion else pd.DataFrame(),
        "heatmaps": stack_tables(heatmap_runs, heatmap_files),
        "training": stack_tables(mic_runs, mic_files["training"]),
        "loss_curves": stack_tables(mic_runs, mic_files["loss_curves"]),
        "baselines": stack_tables(baseline_runs, baseline_files["summary"]),
        "baseline_history": stack_tables(baseline_runs, baseline_files["history"]),
        "nearest_prototype": stack_tables(nearest_runs, nearest_files),
        "mic_extended": stack_tables(extended_runs, extended_files),
        "classes": class_table,
    }


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
