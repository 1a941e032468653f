"""mic.evidence.collect: each per-job file's keys come from its path, read with mic.layout's patterns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mic import layout
from mic.evidence import collect

RUN = {"dataset": "characters", "subset": "clustered", "rep": "2", "noise_in": "0.1", "noise_out": "0.0001"}
SUMMARY = collect.COLLECTED["mic_accuracy"].pattern


def _tsv(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep="\t", index=False)
    return path


def test_wildcard_names_in_the_order_they_appear() -> None:
    assert layout.wildcard_names(SUMMARY) == ("dataset", "subset", "rep", "noise_in", "noise_out")
    assert layout.wildcard_names(layout.EXTENDED) == ("dataset", "subset", "rep", "variant")
    assert layout.wildcard_names("{a}/{b}/{a}.tsv") == ("a", "b")


@pytest.mark.parametrize("root", ["", "/somewhere/else/", "relative/copy/"])
def test_path_keys_read_back_what_fill_wrote(root: str) -> None:
    """A path filled from a pattern parses back to its wildcards, under results/ or any other root."""
    for pattern, run in [
        (SUMMARY, RUN),
        (layout.VALIDATION_SUMMARY, RUN),
        (layout.NEAREST_PROTOTYPE, {"dataset": "mnist", "subset": "clustered_medoid", "rep": "0"}),
        (layout.EXTENDED, {"dataset": "mnist", "subset": "random", "rep": "1", "variant": "multi_start"}),
        (f"{layout.BASELINE}/summary.tsv", {"dataset": "mnist", "training_set": "full", "rep": "3"}),
        (f"{layout.SUBSET}/heatmap.tsv", {"dataset": "characters", "subset": "random"}),
    ]:
        keys = layout.path_keys(pattern, root + layout.fill(pattern, **run))
        assert keys == run and list(keys) == list(layout.wildcard_names(pattern))
    assert layout.path_keys(SUMMARY, Path(layout.fill(SUMMARY, **RUN))) == RUN


def test_path_keys_of_a_repeated_wildcard_must_agree() -> None:
    assert layout.path_keys("results/{a}/x/{a}.tsv", "results/p/x/p.tsv") == {"a": "p"}
    with pytest.raises(ValueError, match="not a path of the pattern"):
        layout.path_keys("results/{a}/x/{a}.tsv", "results/p/x/q.tsv")


@pytest.mark.parametrize(
    "pattern, path",
    [
        (SUMMARY, layout.fill(layout.VALIDATION_SUMMARY, **RUN)),  # another file of the same setting
        (layout.VALIDATION_SUMMARY, layout.fill(SUMMARY, **RUN)),
        (f"{layout.BASELINE}/summary.tsv", layout.fill(SUMMARY, **RUN)),  # a MIC summary is no baseline's
        (SUMMARY, "results/characters/baseline/full/rep0/summary.tsv"),
        (layout.NEAREST_PROTOTYPE, "results/characters/clustered/nearest_prototype.tsv"),  # no replicate
        (SUMMARY, "results/characters/clustered/rep0/in0.1/summary.tsv"),
    ],
)
def test_path_keys_refuses_a_path_of_another_pattern(pattern: str, path: str) -> None:
    with pytest.raises(ValueError, match="not a path of the pattern"):
        layout.path_keys(pattern, path)


def test_every_table_the_rules_write_is_collected() -> None:
    """COLLECTED declares exactly mic.layout's TABLE_NAMES, the tables the collect rule writes and the report reads."""
    assert set(collect.COLLECTED) == set(layout.TABLE_NAMES) == set(collect.TABLE_FILES)


def test_stacked_rows_carry_the_keys_of_their_own_file(tmp_path: Path) -> None:
    """Rows follow the files' order and each row's keys are its own path's, whatever that order is."""
    runs = [{**RUN, "rep": rep, "noise_out": noise} for rep in ("1", "0") for noise in ("0", "0.1")]
    paths = [
        _tsv(tmp_path / layout.fill(SUMMARY, **run), pd.DataFrame({"class": ["all"], "accuracy": [k / 10]}))
        for k, run in enumerate(runs)
    ]
    for order in (paths, paths[::-1]):
        table = collect.collect_table("mic_accuracy", order)
        assert list(table.columns) == [*layout.wildcard_names(SUMMARY), "class", "accuracy"]
        by_path = {str(p): k / 10 for k, p in enumerate(paths)}
        for path, row in zip(order, table.itertuples(index=False)):
            assert row.accuracy == by_path[str(path)]
            assert (row.dataset, row.subset, str(row.rep), row.noise_in, row.noise_out) == tuple(
                layout.path_keys(SUMMARY, path).values()
            )
        assert table["rep"].dtype.kind == "i"


def test_a_file_given_for_the_wrong_table_is_named(tmp_path: Path) -> None:
    path = _tsv(tmp_path / layout.fill(SUMMARY, **RUN), pd.DataFrame({"class": ["all"], "accuracy": [0.5]}))
    with pytest.raises(ValueError, match=r"table baselines: .*summary\.tsv: not a path of the pattern"):
        collect.collect_table("baselines", [path])
    with pytest.raises(ValueError, match="table mic_accuracy: listed more than once"):
        collect.collect_table("mic_accuracy", [path, path])


def test_collect_results_wants_every_table_by_name_and_no_other() -> None:
    files = {name: [] for name in collect.COLLECTED}
    tables = collect.collect_results(files)
    assert list(tables) == list(collect.COLLECTED)
    assert all(table.empty for table in tables.values())
    assert list(tables["classes"].columns) == ["dataset", "position", "class"]
    with pytest.raises(ValueError, match=r"heatmaps \(missing\), heatmap \(unknown\)"):
        collect.collect_results({**{k: v for k, v in files.items() if k != "heatmaps"}, "heatmap": []})


def test_confusion_and_classes_come_from_the_predictions(tmp_path: Path) -> None:
    predictions = pd.DataFrame(
        {"sample": [1, 2], "true_class": ["b", "a"], "iterations": [5, 5], "predicted_class": ["a", "a"]}
        | {"loss_b": 0.1, "loss_a": 0.2}
    )
    pattern = collect.COLLECTED["confusion"].pattern
    paths = [
        _tsv(tmp_path / layout.fill(pattern, **{**RUN, "dataset": dataset, "rep": rep}), predictions)
        for dataset in ("mnist", "characters")
        for rep in ("0", "1")
    ]
    classes = collect.collect_table("classes", paths)
    assert classes.to_dict("list") == {
        "dataset": ["mnist", "mnist", "characters", "characters"],
        "position": [0, 1, 0, 1],
        "class": ["b", "a", "b", "a"],
    }
    confusion = collect.collect_table("confusion", paths)
    assert list(confusion.columns[:5]) == list(layout.wildcard_names(pattern))
    assert len(confusion) == 2 * len(paths) and confusion["count"].sum() == 2 * len(paths)


def test_stack_files_equals_stack_tables_with_the_keys_spelled_out(tmp_path: Path) -> None:
    runs = [{**RUN, "rep": rep} for rep in (0, 1)]
    paths = [
        _tsv(tmp_path / layout.fill(layout.VALIDATION_SUMMARY, **run), pd.DataFrame({"class": ["all"], "n": [rep]}))
        for rep, run in enumerate(runs)
    ]
    pd.testing.assert_frame_equal(
        collect.stack_files(layout.VALIDATION_SUMMARY, paths), collect.stack_tables(runs, paths)
    )
