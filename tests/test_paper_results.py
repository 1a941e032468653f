"""config/paper_results.yaml: the paper's Tables 1-13 in their printed shapes, consistent with each other."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from conftest import REPO
from mic.evidence import glm as stats
from mic.layout import noise_label
from mic.report import accuracy, paper

PAPER = yaml.safe_load((REPO / "config/paper_results.yaml").read_text())
TABLES = PAPER["tables"]
CLASSES = PAPER["classes"]
GRIDS = {  # the noise grids of the paper (and of config/config.yaml): input x output
    ("mnist", "clustered"): ([0, 0.1, 0.2], [0, 0.1, 0.25]),
    ("mnist", "random"): ([0, 0.1, 0.2], [0, 0.1, 0.2]),
    ("characters", "clustered"): ([0, 0.1, 0.2], [0, 0.0001, 0.0002]),
    ("characters", "random"): ([0, 0.1, 0.2], [0, 0.0001, 0.0002]),
}
NOISE_TABLES = {
    "table2": ("mnist", "clustered"),
    "table7": ("mnist", "random"),
    "table8": ("characters", "clustered"),
    "table9": ("characters", "random"),
}
GLM_TABLES = {
    "table3": ("mnist", "clustered"),
    "table10": ("mnist", "random"),
    "table11": ("characters", "clustered"),
    "table12": ("characters", "random"),
}


def frame(table: str) -> pd.DataFrame:
    return paper.paper_frame(PAPER, table)


def test_all_thirteen_tables_are_there() -> None:
    assert list(TABLES) == [f"table{i}" for i in range(1, 14)]
    for name, spec in TABLES.items():
        assert spec["caption"] and isinstance(spec.get("notes", []), list), name
        for row in spec["rows"]:
            assert len(row) == len(spec["columns"]), f"{name}: row {row} does not fit columns {spec['columns']}"


def test_classes_match_the_data_sets() -> None:
    assert CLASSES["mnist"] == [str(d) for d in range(10)]
    assert CLASSES["characters"] == list("abcdeghlmnopqrsuvwyz")


def test_table1_shape() -> None:
    assert frame("table1").shape == (2, 3) and list(frame("table1")["dataset"]) == ["mnist", "characters"]


@pytest.mark.parametrize("table", NOISE_TABLES)
def test_noise_grid_tables_shape(table: str) -> None:
    """Tables 2, 7, 8, 9: 9 noise settings x (noise in, noise out, overall, one column per class)."""
    dataset, subset = NOISE_TABLES[table]
    spec = TABLES[table]
    assert (spec["dataset"], spec["subset"]) == (dataset, subset)
    assert spec["columns"] == ["noise in", "noise out", "overall", *CLASSES[dataset]]
    assert frame(table).shape == (9, 3 + len(CLASSES[dataset]))
    values = frame(table).iloc[:, 2:].stack().dropna()
    assert ((values >= 0) & (values <= 1)).all()
    _, tidy = paper.paper_grid(PAPER, dataset, subset)
    cells = set(zip(tidy["noise_in"], tidy["noise_out"]))
    inputs, outputs = GRIDS[(dataset, subset)]
    assert cells == {(noise_label(i), noise_label(o)) for i in inputs for o in outputs}, (
        "label_fixes must give the full 3 x 3 grid"
    )


def test_unreadable_cells_are_null_and_explained() -> None:
    for name, spec in TABLES.items():
        has_null = any(v is None for row in spec["rows"] for v in row) or any(
            v is None for v in spec.get("header", {}).values()
        )
        if has_null:
            assert spec["notes"], f"{name} has null cells but no note saying why"
    # the character tables are cut off after column u
    for table in ("table8", "table9"):
        cut = frame(table)[["v", "w", "y", "z"]]
        assert cut.isna().all().all() and frame(table)[["a", "u"]].notna().all().all()


@pytest.mark.parametrize("table", GLM_TABLES)
def test_glm_tables_shape(table: str) -> None:
    """Tables 3, 10, 11, 12: statsmodels GLM header and a 5-term coefficient block."""
    spec = TABLES[table]
    assert (spec["dataset"], spec["subset"]) == GLM_TABLES[table]
    assert spec["columns"] == ["term", "coef", "std err", "z", "P>|z|", "[0.025", "0.975]"]
    assert frame(table).shape == (5, 7)
    assert frame(table)["term"].tolist()[:3] == ["Intercept", "in_01", "in_02"]
    outputs = GRIDS[GLM_TABLES[table]][1][1:]
    assert frame(table)["term"].tolist()[3:] == [stats.term_name("out", o) for o in outputs]
    header = spec["header"]
    assert (header["No. Observations"], header["Df Residuals"], header["Df Model"]) == (9, 4, 4)
    assert header["Model Family"] == "Binomial" and header["Link Function"] == "logit"
    assert TABLES[spec["fitted_on"]]["kind"] == "noise_grid"


def test_iteration_tables_shape() -> None:
    t4 = frame("table4")
    assert t4.shape == (8, 8) and set(t4["iterations"]) == {0, 50}
    assert set(zip(t4["dataset"], t4["subset"])) == set(GRIDS)
    t13 = frame("table13")
    assert t13.shape == (36, 8)
    for (dataset, subset), (inputs, outputs) in GRIDS.items():
        block = t13[(t13["dataset"] == dataset) & (t13["subset"] == subset)]
        assert len(block) == 9
        assert set(zip(block["noise_in"], block["noise_out"])) == {(i, o) for i in inputs for o in outputs}


def test_forward_and_summary_shapes() -> None:
    assert frame("table5").shape == (2, 4) and list(frame("table5").columns) == [
        "dataset",
        "clustered",
        "random",
        "full",
    ]
    t6 = frame("table6")
    assert t6.shape == (7, 3) and t6["row"].tolist() == [row for row, _, _ in accuracy.SUMMARY_ROWS]


def test_tables_agree_with_each_other() -> None:
    """Base accuracies (Table 1), forward models (Table 5) and grid tables line up with Table 6 and Table 13."""
    t1, t5, t6 = (
        frame("table1").set_index("dataset"),
        frame("table5").set_index("dataset"),
        frame("table6").set_index("row"),
    )
    for table, (dataset, subset) in NOISE_TABLES.items():
        grid = frame(table)
        assert grid.loc[0, "overall"] == pytest.approx(t1.loc[dataset, subset])
        assert grid["overall"].max() == pytest.approx(t6.loc[f"{subset} (MIC best)", dataset])
    for subset in ("clustered", "random"):
        assert t6.loc[f"{subset} (forward)", "mnist"] == t5.loc["mnist", subset]
    assert t6.loc["full dataset"].tolist() == t5["full"].tolist()


def test_table13_differs_from_the_grid_tables_only_where_noted() -> None:
    """Table 13's 50-iteration accuracies equal Tables 2/7/8/9 except two documented swaps."""
    t13 = paper.paper_iterations(PAPER)
    mismatches = []
    for dataset, subset in NOISE_TABLES.values():
        _, tidy = paper.paper_grid(PAPER, dataset, subset)
        overall = tidy[tidy["column"] == "overall"].set_index(["noise_in", "noise_out"])["accuracy"]
        block = t13[(t13["dataset"] == dataset) & (t13["subset"] == subset)].set_index(["noise_in", "noise_out"])[
            "accuracy_K"
        ]
        mismatches += [(dataset, subset, *key) for key in overall.index if overall[key] != pytest.approx(block[key])]
    assert sorted(mismatches) == sorted(
        [
            ("mnist", "clustered", "0.2", "0.1"),
            ("mnist", "clustered", "0.2", "0.25"),
            ("characters", "clustered", "0.1", "0.0002"),
            ("characters", "clustered", "0.2", "0.0001"),
        ]
    )
    assert any("reverse of Table 2" in note for note in TABLES["table13"]["notes"])
