"""Whole-pipeline speed: the default config from an empty results/ against the paper-style reference loop.

Times the reference loop of bench/train_speed.py (one character generator, torch.nn.LSTM batch 1, 40000
episodes) first, then runs `snakemake --cores N` on the default config (config/config.yaml, or --configfile)
in a fresh directory with the raw files from the data mirror, and prints `reference ratio: <pipeline seconds /
reference seconds>`. Then the roofline of the run (bench/roofline.py): this machine's measured peak, every
rule's job-minutes from benchmarks/ beside the minutes its arithmetic takes at that peak.
A benchmark, not a test: it takes as long as the pipeline does.

Each part (`--only-datasets`) is recorded in the run folder's pipeline_parts.tsv (wall time, reference loop,
peak), so a run split over sittings into one folder (`--workdir`) sums its parts. Last line: the roofline's
`ratio: <the parts' wall seconds / (their matmul limits / cores)>`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import roofline  # noqa: E402
from train_speed import DATA, character_prototypes, reference_train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    """Reference loop, then the pipeline; prints times, the reference ratio and the roofline with its ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", default=str(REPO / "config" / "config.yaml"))
    parser.add_argument("--cores", default="2")
    parser.add_argument("--workdir", default=None, help="run here instead of a fresh temporary folder")
    parser.add_argument("--replicates", type=int, default=None, help="override the config's replicates")
    parser.add_argument("--only-datasets", default=None, help="run this part of the config (comma-separated)")
    parser.add_argument("--mirror", default=os.environ.get("MIC_DATA_MIRROR", str(REPO.parent / "shared" / "data")))
    args = parser.parse_args()
    torch.set_num_threads(1)

    protos = character_prototypes(DATA, 1)
    reference, _, _ = reference_train(protos[0], 40000, 0)
    print(f"reference loop (bench/train_speed.py, 40000 episodes): {reference:.1f} s", flush=True)

    peak = roofline.measure_peak()  # at the part's start, beside its reference loop
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="mic-pipeline-"))
    command = ["snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", args.configfile,
               "--cores", args.cores, "--quiet", "progress"]  # fmt: skip
    overrides = {"replicates": args.replicates} if args.replicates else {}
    if args.only_datasets:
        overrides["only_datasets"] = args.only_datasets.split(",")
    if overrides:
        command += ["--config", *(f"{key}={json.dumps(value)}" for key, value in overrides.items())]
    start = time.perf_counter()
    run = subprocess.run(command, cwd=workdir, env={**os.environ, "MIC_DATA_MIRROR": args.mirror})
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"the pipeline failed (exit {run.returncode}) in {workdir}")
    changed = "".join(f", {key} {value}" for key, value in overrides.items())
    print(f"pipeline ({args.configfile}{changed}, --cores {args.cores}, in {workdir}): {seconds / 60:.1f} min")
    print(f"reference ratio: {seconds / reference:.2f}", flush=True)
    cores = int(args.cores) if args.cores.isdigit() else os.cpu_count()
    part = roofline.load_config(args.configfile, overrides)
    replicates = int(part.get("replicates", 1))
    roofline.record_part(workdir, list(part["datasets"]), replicates, cores, seconds, reference, peak)
    # the whole config: the ratio covers every part recorded in this folder so far
    whole = roofline.load_config(args.configfile, {k: v for k, v in overrides.items() if k != "only_datasets"})
    roofline.report(whole, peak, workdir, None, cores)


if __name__ == "__main__":
    main()
