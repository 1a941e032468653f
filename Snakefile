# Modular Inverse Classification (Hobbhahn 2019), reproduced end to end.
import os
import sys

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


# The workflow and its rule scripts import the mic package from this checkout (inside --use-conda envs and
# on cluster nodes too): its layout module is the one home of every result path.
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p))


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/mic.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/report.smk"


# Snakemake's job rate limiter (by default 100 jobs a second) makes its scheduler look at all waiting jobs again
# a second after every look, and each finished job starts one more such chain: over a long run the scheduler
# loops without pause over the input files of every waiting job, which took half a core of a 2-core machine
# from the jobs. Without it the scheduler looks when a job finishes.
onstart:
    if getattr(workflow, "scheduler", None) is not None:
        workflow.scheduler.job_rate_limiter = None


rule all:
    default_target: True
    input:
        all_targets(),
