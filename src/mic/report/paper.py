"""The paper's printed numbers (config/paper_results.yaml) in the shapes the report's tables need."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import yaml

from mic.evidence import glm as stats
from mic.layout import noise_label

PAPER_DATASETS = {"mnist": "mnist", "character_trajectories": "characters"}  # data source -> paper's data set

DISPLAY = {"mnist": "MNIST", "characters": "Characters"}

FIGURE7 = {"subset": "clustered", "datasets": ["characters", "mnist"], "splits": ["train", "test"]}  # its 2 x 2


def load_paper(path: str | os.PathLike) -> dict:
    """config/paper_results.yaml as a dict (tables under "tables")."""
    with open(path) as handle:
        return yaml.safe_load(handle)


def paper_frame(paper: Mapping, table: str) -> pd.DataFrame:
    """One transcribed table as printed: its columns and rows (null -> NaN)."""
    spec = paper["tables"][table]
    return pd.DataFrame(spec["rows"], columns=spec["columns"])


def paper_table_id(paper: Mapping, kind: str, dataset: str | None, subset: str | None = None) -> str | None:
    """The table of `kind` (noise_grid, glm) for a paper data set and subset, e.g. 'table2'."""
    for name, spec in paper["tables"].items():
        if spec["kind"] == kind and spec.get("dataset") == dataset and spec.get("subset") == subset:
            return name
    return None


def table_title(table: str | None) -> str:
    """'table2' -> 'Table 2'."""
    return f"Table {table[len('table') :]}" if table else "no paper table"


def paper_grid(paper: Mapping, dataset: str | None, subset: str) -> tuple[str | None, pd.DataFrame]:
    """The paper's noise-grid table for (dataset, subset) in tidy form.

    Columns: row (printed order), noise_in, noise_out (labels, printed labels fixed by label_fixes),
    column ("overall" or a class) and accuracy.
    """
    table = paper_table_id(paper, "noise_grid", dataset, subset)
    columns = ["row", "noise_in", "noise_out", "column", "accuracy"]
    if table is None:
        return None, pd.DataFrame(columns=columns)
    spec = paper["tables"][table]
    fixes = {int(k): v for k, v in (spec.get("label_fixes") or {}).items()}
    records = []
    for i, row in enumerate(spec["rows"]):
        noise_in, noise_out = fixes.get(i, row[:2])
        for column, value in zip(spec["columns"][2:], row[2:]):
            records.append((i, noise_label(noise_in), noise_label(noise_out), column, value))
    frame = pd.DataFrame(records, columns=columns)
    frame["accuracy"] = frame["accuracy"].astype(float)
    return table, frame


def paper_glm(paper: Mapping, dataset: str | None, subset: str) -> tuple[str | None, dict, pd.DataFrame]:
    """The paper's GLM for (dataset, subset): table id, header numbers and coefficient block (index term)."""
    table = paper_table_id(paper, "glm", dataset, subset)
    if table is None:
        return None, {}, pd.DataFrame(columns=stats.COEFFICIENT_COLUMNS)
    spec = paper["tables"][table]
    coefficients = pd.DataFrame(spec["rows"], columns=spec["columns"]).set_index("term").astype(float)
    return table, dict(spec["header"]), coefficients


def paper_iterations(paper: Mapping) -> pd.DataFrame:
    """Table 13 in tidy columns: dataset, subset, noise_in, noise_out, accuracy_0, accuracy_K, mse_0, mse_K."""
    spec = paper["tables"]["table13"]
    frame = pd.DataFrame(
        spec["rows"],
        columns=["dataset", "subset", "noise_in", "noise_out", "accuracy_0", "accuracy_K", "mse_0", "mse_K"],
    )
    frame["noise_in"] = frame["noise_in"].map(noise_label)
    frame["noise_out"] = frame["noise_out"].map(noise_label)
    return frame


def in_paper_order(names: Mapping[str, str | None], printed: Iterable[str | None]) -> list[str]:
    """Our data sets in the order the paper prints its data sets (`printed`: the paper's names); others after."""
    rank = {key: i for i, key in enumerate(printed)}
    return sorted(names, key=lambda dataset: rank.get(names[dataset], len(rank)))


def paper_runs(
    paper: Mapping, names: Mapping[str, str | None], runs: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """(data set, subset) pairs in the paper's order of its blocks (Table 13: MNIST clustered, MNIST random, ...)."""
    printed = paper_iterations(paper)[["dataset", "subset"]].drop_duplicates().itertuples(index=False, name=None)
    rank = {key: i for i, key in enumerate(printed)}
    return sorted(runs, key=lambda run: rank.get((names.get(run[0]), run[1]), len(rank)))


def paper_names(config: Mapping) -> dict[str, str | None]:
    """Our data set names -> the paper's ('mnist', 'characters'), by data source; None if not in the paper."""
    return {name: PAPER_DATASETS.get(spec.get("source")) for name, spec in config["datasets"].items()}


def display_name(dataset: str, names: Mapping[str, str | None]) -> str:
    """How a data set is called in table rows: the paper's name where it has one."""
    key = names.get(dataset)
    return DISPLAY.get(key, dataset) if key else dataset


def paper_notes(paper: Mapping) -> pd.DataFrame:
    """Every transcription note of config/paper_results.yaml, by table."""
    rows = [(table_title(name), note) for name, spec in paper["tables"].items() for note in spec.get("notes") or []]
    return pd.DataFrame(rows, columns=["table", "note"])
