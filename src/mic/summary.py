"""`mic summary`: a run's headline numbers as Markdown, with where they came from (docs/results.md, README).

Everything is computed from a run's results/tables folder by the functions the report and `mic verdicts` use
(mic.evidence.selection, mic.evidence.intervals, mic.evidence.rerun.run_claims) and from the paper's printed
numbers (config/paper_results.yaml through mic.report.paper), so no number in the documentation is typed by
hand. The headline block sits between BEGIN and END; `replace_block` copies it into the README unchanged, and
the README's block must equal the one in docs/results.md (tests/test_summary.py).
"""

from __future__ import annotations

import datetime
import math
import os
import platform
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mic.data.download import sha256_of
from mic.evidence.claims import ROBUSTNESS_CLAIMS
from mic.evidence.collect import read_tables
from mic.evidence.intervals import Interval
from mic.evidence.rerun import run_claims
from mic.evidence.selection import (
    TEST,
    baseline_interval,
    choices,
    mic_interval,
    nearest_interval,
    with_validation,
)
from mic.evidence.verdicts import MIN_REPS, better_nearest
from mic.report.paper import display_name, load_paper, paper_frame, paper_names, paper_runs
from mic.report.verdicts import count_sentence, verdict_counts

BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"
PAPER_RESULTS = Path(__file__).resolve().parents[2] / "config" / "paper_results.yaml"  # in a checkout
RESULTS_PAGE = "docs/results.md"  # where the headline block's document lives unless -o says otherwise
SLICE_KEYS = ("classes", "train_per_class", "test_per_class")  # preprocess keys that cut a data set down
HEADLINE_COLUMNS = [
    "cell",
    "reps",
    "paper, no noise",
    "ours, no noise",
    "paper, best noise",
    "ours, best noise",
    "1-NN, same prototypes",
    "forward model",
]


class SummaryError(ValueError):
    """The tables folder (or the README) cannot give a summary."""


@dataclass(frozen=True)
class Provenance:
    """Where a summary's numbers come from."""

    tables_dir: Path
    config_sha256: str
    tables_written: str
    generated: str
    machine: str
    code_version: str
    wall_time: str
    run: str


# ---------------------------------------------------------------------------------------------------- provenance


def cpu_description(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> str:
    """'<CPU model>, <n> cores, avx2 yes, avx512f no' from /proc/cpuinfo; the platform's name elsewhere."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return f"{platform.machine() or 'unknown CPU'} (no /proc/cpuinfo), {os.cpu_count() or '?'} cores"
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.MULTILINE)
    names = set(flags.group(1).split()) if flags else set()
    cores = len(re.findall(r"^processor\s*:", text, re.MULTILINE)) or os.cpu_count() or "?"
    have = ", ".join(f"{flag} {'yes' if flag in names else 'no'}" for flag in ("avx2", "avx512f"))
    return f"{model.group(1).strip() if model else platform.machine() or 'unknown CPU'}, {cores} cores, {have}"


def code_version(where: str | os.PathLike | None = None) -> str:
    """`git describe --always --dirty` of the checkout `mic` is imported from; 'unknown' outside a git checkout."""
    where = Path(where) if where is not None else Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=where, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def benchmark_times(benchmarks: str | os.PathLike) -> tuple[float, float, int] | None:
    """(wall seconds, summed job seconds, jobs) from a run's benchmarks/ folder; None when it has no files.

    Snakemake writes each job's benchmark file when the job ends, with its run time `s`: the run's wall time
    is taken as the last file's time minus the earliest (file time − s), i.e. first job start to last job end.
    A run resumed later counts the pause in between.
    """
    starts, ends, total, jobs = [], [], 0.0, 0
    for path in sorted(Path(benchmarks).rglob("*.tsv")) if Path(benchmarks).is_dir() else []:
        try:
            seconds = pd.read_csv(path, sep="\t")["s"].astype(float)
        except (OSError, KeyError, ValueError, pd.errors.EmptyDataError):
            continue
        end = path.stat().st_mtime
        starts.append(end - float(seconds.sum()))
        ends.append(end)
        total += float(seconds.sum())
        jobs += 1
    if not jobs:
        return None
    return max(ends) - min(starts), total, jobs


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _listed(value: object) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)


def run_description(config: Mapping) -> str:
    """What the run was, read from its effective config: seed, replicates, device and how each data set was cut."""
    replicates = config.get("replicates")
    plural = "" if replicates == 1 else "s"
    parts = [f"seed {config.get('seed')}", f"{replicates} replicate{plural}", f"device {config.get('device')}"]
    only = config.get("only_datasets")
    if only:
        parts.append(f"only the data sets {', '.join(only)} (a part of the config's run)")
    sliced = []
    for name, spec in (config.get("datasets") or {}).items():
        if only and name not in only:
            continue
        preprocess = spec.get("preprocess") or {}
        cut = {key: preprocess[key] for key in SLICE_KEYS if preprocess.get(key) is not None}
        generator, inverse = spec.get("generator") or {}, spec.get("inverse") or {}
        details = ", ".join(f"{key} {_listed(value)}" for key, value in cut.items()) or "all classes and samples"
        steps = f"{generator.get('episodes', '?')} episodes, {inverse.get('iterations', '?')} iterations"
        parts.append(f"{name}: {details}; {steps}")
        if cut:
            sliced.append(name)
    text = "; ".join(parts)
    if sliced:
        text += f". A SLICE of the data ({', '.join(sliced)}), not the paper's setup: do not compare with the paper"
    return text


def provenance(tables_dir: str | os.PathLike, label: str | None = None) -> Provenance:
    """The provenance of a run's tables folder (results/tables): config hash, dates, machine, code, wall time."""
    tables_dir = Path(tables_dir)
    config_path = tables_dir / "config.yaml"
    if not config_path.is_file():
        raise SummaryError(f"{config_path}: missing; expected a results/tables folder written by collect_results")
    config = yaml.safe_load(config_path.read_text()) or {}
    times = benchmark_times(tables_dir.resolve().parent.parent / "benchmarks")
    wall = (
        f"{_minutes(times[0])} (first job start to last job end; {_minutes(times[1])} summed over {times[2]} jobs)"
        if times
        else "unknown (no benchmarks/ folder beside results/)"
    )
    run = run_description(config)
    return Provenance(
        tables_dir=tables_dir,
        config_sha256=sha256_of(config_path),
        tables_written=_iso(config_path.stat().st_mtime),
        generated=_iso(datetime.datetime.now(datetime.UTC).timestamp()),
        machine=cpu_description(),
        code_version=code_version(),
        wall_time=wall,
        run=f"{label}. {run}" if label else run,
    )


# ---------------------------------------------------------------------------------------------------- numbers


def interval_text(interval: Interval, digits: int = 3) -> str:
    """'0.875 [0.867, 0.884]'; '0.875 (1 replicate)' without an interval; '–' without a value."""
    if not np.isfinite(interval.mean):
        return "–"
    if not interval.defined:
        return f"{interval.mean:.{digits}f} ({interval.reps} replicate{'s' if interval.reps != 1 else ''})"
    if interval.half_width == 0 and interval.note:
        return f"{interval.mean:.{digits}f} (same in every replicate)"
    return f"{interval.mean:.{digits}f} [{interval.low:.{digits}f}, {interval.high:.{digits}f}]"


def _paper_value(frame: pd.DataFrame, row: str, column: str | None) -> str:
    if column is None or column not in frame.columns or row not in frame.index:
        return "–"
    value = frame.loc[row, column]
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):g}"


def headline_table(tables: Mapping[str, pd.DataFrame], config: Mapping, paper: Mapping) -> pd.DataFrame:
    """Per data set and subset (paper's order): the paper's accuracy and ours with 95 % intervals over replicates.

    Ours: test accuracy after K iterations without noise and at the noise setting chosen on the validation
    samples (mic.evidence.selection.choose_models), the better 1-NN metric on the same prototypes and the
    forward model trained on the same subset. Paper: Table 1 (no noise) and Table 6 (best).
    """
    mic = with_validation(tables["mic_accuracy"], tables.get("mic_validation"))
    baselines, nearest = tables["baselines"], tables["nearest_prototype"]
    names = paper_names(config)
    base_printed = paper_frame(paper, "table1").set_index("dataset")
    best_printed = paper_frame(paper, "table6").set_index("row")
    chosen = choices(mic)
    rows = []
    for dataset, subset in paper_runs(paper, names, list(chosen)):
        choice = chosen[(dataset, subset)]
        if choice is None:
            continue
        key = names.get(dataset)
        base = mic_interval(mic, dataset, subset, choice.base, choice.iterations)
        grid = mic[(mic["dataset"] == dataset) & (mic["subset"] == subset)][["noise_in", "noise_out"]]
        if grid.astype(float).drop_duplicates().shape[0] > 1:
            best = mic_interval(mic, dataset, subset, choice.best, choice.iterations)
            where = f"in {choice.best[0]} / out {choice.best[1]}"
            how = ", chosen on the test set" if choice.chosen_on == TEST else ""
            best_text = f"{interval_text(best)} at {where}{how}"
        else:
            best_text = "(no noise grid)"
        metric, _ = better_nearest(nearest, dataset, subset)
        one_nn = f"{interval_text(nearest_interval(nearest, dataset, subset, metric))} ({metric})" if metric else "–"
        forward = interval_text(baseline_interval(baselines, dataset, subset))
        rows.append(
            {
                "cell": f"{display_name(dataset, names)} {subset}",
                "reps": base.reps,
                "paper, no noise": _paper_value(base_printed, key, subset) if key else "–",
                "ours, no noise": interval_text(base),
                "paper, best noise": _paper_value(best_printed, f"{subset} (MIC best)", key),
                "ours, best noise": best_text,
                "1-NN, same prototypes": one_nn,
                "forward model": forward,
            }
        )
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


def claim_counts(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: its cells, the verdicts counted over them (the report's words), and how many cells a
    rerun with new seeds is expected to keep (the sum of their same_on_rerun)."""
    counts = verdict_counts(claims)
    records = []
    for claim, row in counts.iterrows():
        kept = claims.loc[claims["claim"] == claim, "same_on_rerun"].dropna()
        records.append(
            {
                "claim": claim,
                "cells": int(row["cells"]),
                "verdicts": count_sentence(row),
                "a rerun keeps (expected)": f"{kept.sum():.1f} of {len(kept)}" if len(kept) else "–",
            }
        )
    return pd.DataFrame(records, columns=["claim", "cells", "verdicts", "a rerun keeps (expected)"])


def undecided_note(claims: pd.DataFrame) -> str:
    """A sentence for a run whose cells all have too few replicates to decide, else ''."""
    reps = int(claims["reps"].max()) if len(claims) else 0
    if reps >= MIN_REPS:
        return ""
    return (
        f"With {reps} replicate{'s' if reps != 1 else ''} no claim can be decided (a verdict needs at least "
        f"{MIN_REPS}), so every cell below reads inconclusive."
    )


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table; '|' inside a cell is escaped."""
    cells = [[str(value).replace("|", "\\|") for value in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- documents


def headline_block(
    tables_dir: str | os.PathLike, prov: Provenance, paper_path: str | os.PathLike, document: str = RESULTS_PAGE
) -> str:
    """The generated block (markers included) that README.md and `document` (docs/results.md) both carry."""
    tables_dir = Path(tables_dir)
    config = yaml.safe_load((tables_dir / "config.yaml").read_text()) or {}
    table = headline_table(read_tables(tables_dir), config, load_paper(paper_path))
    claims = run_claims(tables_dir)
    counts = claim_counts(claims)
    lines = [
        BEGIN,
        "<!-- generated by `mic summary`; edit nothing between these markers: rerun it instead -->",
        f"**Run**: {prov.run}. Config sha256 `{prov.config_sha256[:12]}`, code `{prov.code_version}`, tables of "
        f"{prov.tables_written}; full provenance in `{document}`.",
        "",
        "Test accuracy after K iterations: mean over replicates [95 % t-interval over replicates]. The paper "
        "prints one number per cell (Table 1; best noise: Table 6). Ours, best noise: the noise setting with "
        "the highest mean validation accuracy, scored on the test split.",
        "",
        markdown_table(table),
        "",
        "Each claim of the report, decided per cell from the 95 % interval of the replicate-paired difference "
        f"(how to read them: `docs/verdicts.md`):{' ' + undecided_note(claims) if undecided_note(claims) else ''}",
        "",
        markdown_table(counts),
        END,
    ]
    return "\n".join(lines)


def robustness_cells(claims: pd.DataFrame) -> str:
    """The robustness claims' cells as Markdown (claim, cell, difference with its interval, verdict), or ""."""
    rows = claims[claims["claim"].isin(ROBUSTNESS_CLAIMS)]
    if not len(rows):
        return ""
    table = pd.DataFrame(
        {
            "claim": rows["claim"],
            "cell": rows["scope"],
            "difference [95 % interval]": [
                interval_text(Interval(row.estimate, (row.high - row.low) / 2, int(row.reps)))
                for row in rows.itertuples()
            ],
            "verdict": rows["verdict"],
        }
    )
    return "\n".join(
        [
            "## The robustness claims, cell by cell",
            "",
            "Each difference per replicate, then its mean and 95 % t-interval over replicates "
            "(how they are tested: `docs/robustness.md`).",
            "",
            markdown_table(table),
            "",
        ]
    )


def results_document(
    tables_dir: str | os.PathLike,
    label: str | None = None,
    paper_path: str | None = None,
    document: str = RESULTS_PAGE,
) -> str:
    """docs/results.md (or `document`): the provenance header, the headline block, the robustness claims' cells."""
    prov = provenance(tables_dir, label)
    paper_path = paper_path or PAPER_RESULTS
    if not Path(paper_path).is_file():
        raise SummaryError(f"{paper_path}: missing; pass --paper config/paper_results.yaml")
    header = [
        "# Results",
        "",
        "Generated by `mic summary` from one run's `results/tables/`; do not edit by hand. The block between the "
        "markers is copied into the README by `mic summary ... --readme README.md`.",
        "",
        "| provenance | |",
        "|---|---|",
        f"| run | {prov.run} |",
        f"| config | sha256 `{prov.config_sha256}` of `results/tables/config.yaml` |",
        f"| tables written | {prov.tables_written} |",
        f"| wall time of the run | {prov.wall_time} |",
        f"| code version | `{prov.code_version}` (`git describe --always --dirty` where this file was generated) |",
        f"| machine | {prov.machine} (where this file was generated) |",
        f"| generated | {prov.generated} |",
        "",
    ]
    block = headline_block(tables_dir, prov, paper_path, document)
    cells = robustness_cells(run_claims(tables_dir))
    return "\n".join(header) + "\n" + block + "\n" + (f"\n{cells}" if cells else "")


def extract_block(text: str) -> str:
    """The generated block of a document, markers included; SummaryError without exactly one."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise SummaryError(f"expected one {BEGIN} ... {END} block")
    return text[text.index(BEGIN) : text.index(END) + len(END)]


def replace_block(text: str, block: str) -> str:
    """`text` with its generated block replaced by `block`."""
    old = extract_block(text)
    return text.replace(old, block)


def write_summary(
    tables_dir: str | os.PathLike,
    output: str | os.PathLike | None = None,
    readme: str | os.PathLike | None = None,
    label: str | None = None,
    paper_path: str | os.PathLike | None = None,
) -> str:
    """Write docs/results.md (to `output`, if given) and the README's block (if `readme`); return the document."""
    from mic.io import write_atomic

    document = results_document(tables_dir, label, paper_path, str(output) if output is not None else RESULTS_PAGE)
    if readme is not None:
        text = Path(readme).read_text()
        try:
            updated = replace_block(text, extract_block(document))
        except SummaryError as exc:
            raise SummaryError(f"{readme}: {exc}") from None
        write_atomic(readme, lambda tmp: tmp.write_text(updated))
    if output is not None:
        write_atomic(output, lambda tmp: tmp.write_text(document))
    return document
