"""mic.summary and `mic summary`: the headline numbers of docs/results.md and the README, generated, never typed."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO
from mic import cli, summary
from mic.evidence.claims import ATTACKS, CORRUPTIONS, OUTLIERS
from mic.evidence.collect import read_tables
from mic.evidence.rerun import run_claims
from mic.evidence.selection import baseline_interval, choices, mic_interval, with_validation
from test_rerun import CLEAR, write_run

PAPER = REPO / "config" / "paper_results.yaml"


def synthetic_tables(folder: Path, source: str = "mnist", **preprocess: object) -> Path:
    """A results/tables folder of the synthetic run of test_rerun, with the effective config beside it."""
    tables = write_run(folder / "results" / "tables", CLEAR, seed=3)
    config = {"seed": 7, "replicates": 5, "device": "cpu", "datasets": {"d": {"source": source}}}
    if preprocess:
        config["datasets"]["d"]["preprocess"] = preprocess
    (tables / "config.yaml").write_text(yaml.safe_dump(config))
    return tables


def table_rows(document: str, first_column: str) -> list[list[str]]:
    """The rows of the Markdown table whose header starts with `first_column`, as cells."""
    lines = document.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_column} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_the_headline_table_holds_the_papers_and_our_numbers(tmp_path: Path) -> None:
    tables = synthetic_tables(tmp_path)
    document = summary.results_document(tables, paper_path=PAPER)
    rows = {row[0]: row for row in table_rows(document, "cell")}
    assert list(rows) == ["MNIST clustered", "MNIST random"]  # the paper's order, the paper's name of the source
    mic = read_tables(tables)["mic_accuracy"]
    for subset, paper in (("clustered", "0.83"), ("random", "0.562")):  # Table 1 of config/paper_results.yaml
        row = rows[f"MNIST {subset}"]
        choice = choices(mic)[("d", subset)]
        assert row[1] == "5" and row[2] == paper
        assert row[3] == summary.interval_text(mic_interval(mic, "d", subset, choice.base, choice.iterations))
        assert row[5].startswith(summary.interval_text(mic_interval(mic, "d", subset, choice.best, choice.iterations)))
        assert "at in 0.1 / out 0, chosen on the test set" in row[5]  # no validation table: said so
        assert row[7] == summary.interval_text(baseline_interval(read_tables(tables)["baselines"], "d", subset))
    assert rows["MNIST clustered"][4] == "0.873"  # Table 6, best


def test_each_claim_is_counted_over_its_cells(tmp_path: Path) -> None:
    tables = synthetic_tables(tmp_path)
    claims = run_claims(tables)
    counts = summary.claim_counts(claims).set_index("claim")
    assert counts["cells"].sum() == len(claims)
    for claim, rows in claims.groupby("claim"):
        n = rows["verdict"].value_counts()
        top = n.index[0] if len(n) == 1 else None
        if top:
            assert counts.loc[claim, "verdicts"] == f"{top} in {n[top]} of {len(rows)} cells"
    mixed = summary.claim_counts(
        pd.DataFrame({"claim": ["c"] * 8, "verdict": ["supported"] * 7 + ["inconclusive"], "same_on_rerun": 0.5})
    )
    assert mixed.loc[0, "verdicts"] == "supported in 7 of 8 cells, inconclusive in 1"
    assert mixed.loc[0, "a rerun keeps (expected)"] == "4.0 of 8"


def test_too_few_replicates_are_said_to_decide_nothing(tmp_path: Path) -> None:
    claims = run_claims(synthetic_tables(tmp_path))
    assert summary.undecided_note(claims) == ""  # 5 replicates decide
    one = claims.assign(reps=1, verdict="inconclusive")
    assert summary.undecided_note(one).startswith("With 1 replicate no claim can be decided (a verdict needs at least")


def test_the_provenance_names_config_hash_code_and_machine(tmp_path: Path) -> None:
    tables = synthetic_tables(tmp_path, classes=["0", "1"])
    prov = summary.provenance(tables, label="a synthetic run")
    assert prov.config_sha256 == hashlib.sha256((tables / "config.yaml").read_bytes()).hexdigest()
    assert prov.run.startswith("a synthetic run. seed 7; 5 replicates")
    assert "SLICE" in prov.run  # a cut-down data set is never mistaken for the paper's setup
    assert prov.wall_time.startswith("unknown")  # no benchmarks/ beside results/
    assert "avx2" in prov.machine and "avx512f" in prov.machine
    bench = tables.parent.parent / "benchmarks" / "rule"
    bench.mkdir(parents=True)
    for name in ("a", "b"):
        (bench / f"{name}.tsv").write_text("s\th:m:s\n60.0\t0:01:00\n")
    assert "summed over 2 jobs" in summary.provenance(tables).wall_time


def test_the_cli_writes_the_document_and_the_readme_block(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    tables = synthetic_tables(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{summary.BEGIN}\nold\n{summary.END}\n\nrest\n")
    out = tmp_path / "docs" / "results.md"
    code = cli.main(["summary", str(tables), "-o", str(out), "--readme", str(readme), "--paper", str(PAPER)])
    assert code == 0
    text = readme.read_text()
    assert text.startswith("# title\n\n") and text.endswith("\n\nrest\n") and "old" not in text
    assert summary.extract_block(text) == summary.extract_block(out.read_text())
    no_markers = tmp_path / "plain.md"
    no_markers.write_text("# nothing here\n")
    assert cli.main(["summary", str(tables), "--readme", str(no_markers), "--paper", str(PAPER)]) == 2
    assert "expected one <!-- results:begin -->" in capsys.readouterr().err
    assert cli.main(["summary", str(tmp_path / "nowhere"), "--paper", str(PAPER)]) == 2


def test_the_readme_block_is_the_one_in_docs_results() -> None:
    """The README's headline numbers are docs/results.md's, which `mic summary` generated: nothing typed."""
    results = (REPO / "docs" / "results.md").read_text()
    assert summary.extract_block((REPO / "README.md").read_text()) == summary.extract_block(results)
    readme_lines = (REPO / "README.md").read_text().splitlines()
    first_row = next(i for i, line in enumerate(readme_lines) if line.startswith("| cell |"))
    assert first_row < 100, "the accuracy table must start within the README's first 100 lines"


@pytest.mark.integration
def test_the_summary_of_a_real_run(run: Path) -> None:
    """On the test config's real tables: every data set and subset, our numbers as the selection functions give."""
    tables_dir = run / "results" / "tables"
    document = summary.results_document(tables_dir, label="the test config", paper_path=PAPER)
    tables = read_tables(tables_dir)
    mic = with_validation(tables["mic_accuracy"], tables.get("mic_validation"))
    rows = {row[0]: row for row in table_rows(document, "cell")}
    chosen = choices(mic)
    assert len(rows) == len(chosen)
    for (dataset, subset), choice in chosen.items():
        label = {"characters": "Characters", "mnist": "MNIST"}[dataset]
        row = rows[f"{label} {subset}"]
        assert row[3] == summary.interval_text(mic_interval(mic, dataset, subset, choice.base, choice.iterations))
    assert "chosen on the test set" not in document  # the real run has validation samples
    assert "SLICE" in document  # the test config is a slice of the data
    assert "first job start to last job end" in document  # benchmarks/ found beside results/
    claims = run_claims(tables_dir)
    assert summary.claim_counts(claims)["cells"].sum() == len(claims)


def test_the_robustness_claims_are_listed_cell_by_cell_where_the_run_has_them(tmp_path: Path) -> None:
    from test_robustness_verdicts import synthetic

    tables = synthetic_tables(tmp_path)
    assert "## The robustness claims" not in summary.results_document(tables, paper_path=PAPER)
    for name, table in synthetic({"corruptions": 0.05, "outliers": 0.0, "attacks": -0.1}).items():
        table.to_csv(tables / f"robustness_{name}.tsv", sep="\t", index=False)
    document = summary.results_document(tables, paper_path=PAPER, document="docs/other.md")
    assert "full provenance in `docs/other.md`" in document
    cells = table_rows(document, "claim | cell")
    verdicts = {(row[0], row[3]) for row in cells}
    assert verdicts == {(CORRUPTIONS, "supported"), (OUTLIERS, "equivalent"), (ATTACKS, "contradicted")}
    assert all(re.fullmatch(r"-?\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]", row[2]) for row in cells)
