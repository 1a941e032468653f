"""The `mic` command: `mic classify` classifies new raw sequences with a run's trained class modules;
`mic verdicts` lists the claims' verdicts of one run, or of several side by side (do they survive a rerun?);
`mic summary` writes a run's headline numbers as Markdown (docs/results.md and the README's block)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_BAD_INPUT = 2  # as argparse's usage errors: the command was given something it cannot use

CLASSIFY_HELP = """\
Classify raw sequences with a trained model: the model's stored preprocessing is applied,
then every class module inverts each sequence and the lowest final loss wins.

MODEL is a model folder, described by its model.json (everything is read from it): a run's
setting folder, results/<dataset>/<subset>/rep<r>/in<noise_in>_out<noise_out>/, or a folder
written by MICClassifier.save. Or a subset folder, results/<dataset>/<subset>/, whose
best_model.json names the run's best model (chosen on the validation samples as the report
chooses it), replicate 0.

INPUT is an .npz with the raw sequences as the model's data source delivers them, per time step:
{formats}
in the fields
  sequences    [N, T, C] array (or, with --allow-pickle, an object array of N arrays [T_i, C])
  lengths      optional [N] integers: the valid steps of each row of a padded [N, T, C]
  labels       optional [N] integers or strings: true classes, for accuracy and `correct`
  class_names  optional [K] strings that integer labels index into

The start vectors of the inversion are drawn from the seed for all N rows at once, so they
depend on the seed and on the number and order of the rows: the default seed is the model's
(the one the pipeline used), and classifying a run's test split in its order reproduces that
run's predictions.tsv.
"""


def _parser() -> argparse.ArgumentParser:
    from mic.classify import DEFAULT_CHUNK  # its one home; costs torch's import, as classify does
    from mic.data.sources import SOURCES
    from mic.device import DEVICES

    formats = "\n".join(f"  {name + ':':24} {source.description}" for name, source in SOURCES.items())

    parser = argparse.ArgumentParser(
        prog="mic", description="Modular Inverse Classification (Hobbhahn 2019): per-class LSTM generators."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    classify = commands.add_parser(
        "classify",
        help="classify new raw sequences with a trained model (a run's or a fitted MICClassifier's)",
        description=CLASSIFY_HELP.format(formats=formats),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    classify.add_argument(
        "model", metavar="MODEL", help="model folder (model.json), or <dataset>/<subset> folder (its best model)"
    )
    classify.add_argument("input", metavar="INPUT.npz", help="raw sequences (see above)")
    classify.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="PREDICTIONS.tsv",
        help="one row per sequence: sample, predicted_class, loss_<class> of every module, the winner's "
        "mixture_1..4, and true_class and correct when INPUT has labels (written atomically)",
    )
    classify.add_argument("--iterations", type=int, metavar="K", help="inversion steps (default: the model's)")
    classify.add_argument("--seed", type=int, metavar="S", help="seed of the start vectors (default: the model's)")
    classify.add_argument(
        "--device",
        choices=DEVICES,
        default="cpu",
        help="where to invert (default: %(default)s); on another device than the run's, losses differ "
        "from the run's by float32 rounding (docs/performance.md, GPUs)",
    )
    classify.add_argument(
        "--reconstructions",
        metavar="OUT.npz",
        help="also write every module's final reconstruction [N, K, T, O] and the preprocessed targets [N, T, O] "
        "(model space: standardised), with class_names, channel_mean and channel_std",
    )
    classify.add_argument(
        "--allow-pickle",
        action="store_true",
        help="accept object arrays of variable-length sequences (unpickling can run code stored in the file; "
        "prefer padded sequences plus lengths)",
    )
    classify.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK,
        metavar="N",
        help="sequences per chunk (default %(default)s): bounds memory; one progress line per chunk on stderr",
    )
    classify.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="threads that invert blocks of 256 sequences at once (default %(default)s, -1: every core); the "
        "results do not depend on it",
    )
    verdicts = commands.add_parser(
        "verdicts",
        help="the verdict on every claim and cell of one run, or of several runs side by side",
        description=VERDICTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verdicts.add_argument("tables", nargs="+", metavar="TABLES", help="a run's results/tables folder")
    verdicts.add_argument(
        "--label", action="append", metavar="NAME", help="a name per TABLES, in order (default: run1, run2, ...)"
    )
    verdicts.add_argument("-o", "--output", metavar="OUT.tsv", help="also write the table (atomically)")
    _add_summary(commands)
    return parser


VERDICTS_HELP = """\
The verdict (equivalent, supported, contradicted, inconclusive) on every claim of the report, per
data set, subset and model, decided as the report decides it: the best noise setting chosen on
validation samples, the 95 % t-interval over replicates of the replicate-paired difference against the
claim's margin (mic.evidence.claims), at least 3 replicates. With several TABLES (e.g. the same config
run with two base seeds), the cells are set side by side with a column `same`, and the last line
counts the cells whose verdicts agree.
"""


def _verdicts(args: argparse.Namespace) -> int:
    import pandas as pd

    from mic.evidence.rerun import agreement_line, compare_runs, run_claims
    from mic.io import save_table

    labels = args.label or [f"run{i + 1}" for i in range(len(args.tables))]
    comparison = compare_runs({label: run_claims(path) for label, path in zip(labels, args.tables)})
    if args.output:
        save_table(args.output, comparison)
    with pd.option_context("display.width", 250, "display.max_columns", None, "display.max_rows", None):
        print(comparison.round(3).to_string(index=False))
    if len(labels) > 1:
        print(agreement_line(comparison))
    return 0


def _classify(args: argparse.Namespace) -> int:
    from mic.classify import classify_file, progress_printer

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    table, accuracy = classify_file(
        args.model,
        args.input,
        args.output,
        reconstructions=args.reconstructions,
        allow_pickle=args.allow_pickle,
        progress=progress_printer(sys.stderr),
        log=log,
        iterations=args.iterations,
        seed=args.seed,
        device=args.device,
        chunk_size=args.chunk_size,
        n_jobs=args.jobs,
    )
    print(f"wrote {args.output}: {len(table)} sequences")
    if args.reconstructions:
        print(f"wrote {args.reconstructions}")
    if accuracy is not None:
        print(f"accuracy: {accuracy:.4f} ({int(table['correct'].sum())}/{len(table)})")
    return 0


SUMMARY_HELP = """\
A run's headline numbers as Markdown: a provenance header (sha256 of the run's config, dates, machine,
code version, wall time from benchmarks/ beside results/), then a block between the markers
<!-- results:begin --> and <!-- results:end -->: per data set and subset the paper's accuracy and
ours with its 95 % interval over replicates, 1-NN on the same prototypes and the forward model, and
each claim's verdicts counted over its cells. --readme copies that block into a README that has the
markers; without -o the document is printed.
"""


def _add_summary(commands: argparse._SubParsersAction) -> None:
    summary = commands.add_parser(
        "summary",
        help="a run's headline table and verdict counts as Markdown (docs/results.md, the README's block)",
        description=SUMMARY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    summary.add_argument("tables", metavar="RESULTS_TABLES_DIR", help="a run's results/tables folder")
    summary.add_argument("-o", "--output", metavar="RESULTS.md", help="write the document here (atomically)")
    summary.add_argument("--readme", metavar="README.md", help="replace the generated block of this file")
    summary.add_argument("--label", metavar="TEXT", help="what the run was, e.g. 'config/config.yaml, seed 2019'")
    summary.add_argument(
        "--paper", metavar="PAPER.yaml", help="the paper's numbers (default: config/paper_results.yaml of the checkout)"
    )


def _summary(args: argparse.Namespace) -> int:
    from mic.summary import SummaryError, write_summary

    try:
        document = write_summary(args.tables, args.output, args.readme, args.label, args.paper)
    except SummaryError as exc:
        print(f"mic summary: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.output is None:
        print(document, end="")
    else:
        print(f"wrote {args.output}")
    if args.readme:
        print(f"updated the generated block of {args.readme}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mic` console script; bad input or model: a one-line error and exit status 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["summary"]:  # needs neither torch nor mic.classify: a parser of its own
        alone = argparse.ArgumentParser(prog="mic")
        _add_summary(alone.add_subparsers(dest="command", required=True))
        return _summary(alone.parse_args(argv))
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "verdicts" and args.label and len(args.label) != len(args.tables):
        parser.error(f"{len(args.label)} --label for {len(args.tables)} TABLES folders: give one per folder")
    from mic.classify import ClassifyError
    from mic.evidence.rerun import RunTablesError

    try:
        return _verdicts(args) if args.command == "verdicts" else _classify(args)
    except (ClassifyError, RunTablesError) as exc:
        print(f"mic {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
