"""Whole-pipeline speed: the default config from an empty results/ against the paper-style reference loop.

Times the reference loop of bench/train_speed.py (one character generator, torch.nn.LSTM batch 1, 40000
episodes) first, then runs `snakemake --cores N` on the default config (config/config.yaml, or --configfile)
in a fresh directory with the raw files from the data mirror, and reads the per-rule times from benchmarks/.
A benchmark, not a test: it takes as long as the pipeline does.

Last line: `ratio: <pipeline seconds / reference seconds>`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import DATA, character_prototypes, reference_train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def rule_minutes(workdir: Path) -> pd.DataFrame:
    """CPU-side wall minutes per rule, summed over the jobs' benchmark files."""
    rows = []
    for path in (workdir / "benchmarks").rglob("*.tsv"):
        rule = path.relative_to(workdir / "benchmarks").parts[0]
        dataset = path.relative_to(workdir / "benchmarks").parts[1] if path.parent.name != rule else ""
        rows.append((rule, dataset, float(pd.read_csv(path, sep="\t")["s"].iloc[0])))
    table = pd.DataFrame(rows, columns=["rule", "dataset", "seconds"])
    return table.groupby(["rule", "dataset"])["seconds"].agg(jobs="size", minutes=lambda s: s.sum() / 60)


def main() -> None:
    """Reference loop, then the pipeline; prints times, per-rule minutes and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", default=str(REPO / "config" / "config.yaml"))
    parser.add_argument("--cores", default="2")
    parser.add_argument("--workdir", default=None, help="run here instead of a fresh temporary folder")
    parser.add_argument("--replicates", type=int, default=None, help="override the config's replicates")
    parser.add_argument("--mirror", default=os.environ.get("MIC_DATA_MIRROR", str(REPO.parent / "shared" / "data")))
    args = parser.parse_args()
    torch.set_num_threads(1)

    protos = character_prototypes(DATA, 1)
    reference, _, _ = reference_train(protos[0], 40000, 0)
    print(f"reference loop (bench/train_speed.py, 40000 episodes): {reference:.1f} s", flush=True)

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="mic-pipeline-"))
    command = ["snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", args.configfile,
               "--cores", args.cores, "--quiet", "progress"]  # fmt: skip
    if args.replicates:
        command += ["--config", f"replicates={args.replicates}"]
    start = time.perf_counter()
    run = subprocess.run(command, cwd=workdir, env={**os.environ, "MIC_DATA_MIRROR": args.mirror})
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"the pipeline failed (exit {run.returncode}) in {workdir}")
    replicates = f", replicates {args.replicates}" if args.replicates else ""
    print(f"pipeline ({args.configfile}{replicates}, --cores {args.cores}, in {workdir}): {seconds / 60:.1f} min")
    print(rule_minutes(workdir).round(2).to_string())
    print(f"ratio: {seconds / reference:.2f}")


if __name__ == "__main__":
    main()
