"""The report's section on the paper's robustness claims: what was tested, the verdicts, figures and tables.

Every number comes from the robustness tables (mic.evidence.robustness.robustness_tables) through the tidy
summaries of mic.evidence.robustness: means over replicates with their 95 % t-intervals, beside the samples
each replicate measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # the report runs headless under papermill
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from mic import layout
from mic.evidence import claims
from mic.evidence import robustness as evidence
from mic.report.compare import HALF_WIDTH
from mic.report.paper import display_name
from mic.report.verdicts import REPORT_COLUMNS

NO_JOBS = (
    "*This run had no robustness jobs (the config's `robustness:` block is switched off), so the paper's "
    "robustness claims are not tested here.*"
)
NOT_IN_THE_PAPER = "not tested"  # the `paper` column of a robustness verdict: the paper prints no number for it
QUOTE = (
    "Using a generative model instead of a forward model is important because of the accuracy and robustness it "
    "provides … a forward model … is less robust in many cases, i.e. misclassifying outliers or being easier to "
    "attack by people with malicious intent"
)
# How a corruption's levels read: the axis label and the phrase around the levels (the kinds are
# mic.robustness's; mic.report may not import it).
LEVELS = {
    "gaussian": ("σ (training-value SDs)", "Gaussian noise of σ = {} training-value SDs"),
    "occlusion": ("share of rows blanked", "occlusion of {} of the rows"),
    "time_shift": ("shift (share of T)", "a time shift by {} of T"),
    "speed": ("speed factor", "a speed change by the factor {}"),
}
SUBSET_STYLES = ("-", "--", ":", "-.")  # line style per subset, in the order of the table
SCORE_STYLES = ("-", "--")  # a method's first and second outlier score
ATTACK_STYLES = {evidence.WHITE_BOX: "-", evidence.TRANSFER: "--", evidence.MINIMAL: "-."}
SOURCE_MARKERS = ("o", "s")  # the transfer attack's source models, in the order of layout.ROBUSTNESS_METHODS
ROC_GRID = np.linspace(0, 1, 101)  # false-positive rates at which the replicates' ROC curves are averaged
N = "n"  # the column group of sample sizes and replicates in the tables


def has_jobs(robust: Mapping[str, pd.DataFrame]) -> bool:
    """Whether the run had robustness jobs: any of the claims' tables has rows."""
    return any(len(robust.get(name, ())) for name in ("corruptions", "outliers", "attacks"))


def _order(values: Sequence[str], known: Sequence[str]) -> list[str]:
    """The distinct `values` in the order of `known`, the others after them in their own order."""
    present = list(dict.fromkeys(values))
    return [v for v in known if v in present] + [v for v in present if v not in known]


def _methods(frame: pd.DataFrame) -> list[str]:
    return _order(frame["method"], list(layout.ROBUSTNESS_METHODS))


def _method_name(method: str) -> str:
    return layout.ROBUSTNESS_METHODS.get(method, method)


def _cells(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return list(dict.fromkeys(frame[["dataset", "subset"]].itertuples(index=False, name=None)))


def _colour(method: str) -> str:
    return f"C{list(layout.ROBUSTNESS_METHODS).index(method) % 10}" if method in layout.ROBUSTNESS_METHODS else "k"


# ------------------------------------------------------------------------------------------------ words


def _listed(values: Sequence[object]) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def _counts(values: pd.Series) -> str:
    """'200' or '180–200': the sample counts of a table, as one number where they are all the same."""
    low, high = int(values.min()), int(values.max())
    return f"{low}" if low == high else f"{low}–{high}"


def _corruption_words(corruptions: pd.DataFrame, names: Mapping[str, str | None]) -> str:
    corrupted = corruptions[corruptions["kind"] != layout.CLEAN]
    described = "; ".join(
        f"{display_name(dataset, names)}: "
        + ", ".join(
            LEVELS.get(kind, ("", f"{kind} at levels {{}}"))[1].format(
                _listed(sorted(set(part["level"].astype(float))))
            )
            for kind, part in rows.groupby("kind", sort=False)
        )
        for dataset, rows in corrupted.groupby("dataset", sort=False)
    )
    return (
        f"- **Corruptions** of the test samples — {described} — on the same {_counts(corruptions['samples'])} test "
        "samples per replicate for every method and level (*clean*: the same samples uncorrupted)."
    )


def _outlier_words(outliers: pd.DataFrame) -> str:
    scores = outliers.groupby("method", sort=False)["score"].unique()
    described = "; ".join(
        f"{_method_name(m)}: " + ", ".join(layout.ROBUSTNESS_SCORES.get(s, s) for s in scores[m])
        for m in _methods(outliers)
    )
    return (
        f"- **Outliers** ({_listed(sorted(set(outliers['outlier_set'])))}; {_counts(outliers['outliers'])} per set) "
        f"against {_counts(outliers['inliers'])} real test samples per replicate, scored by {described}; AUROC, and "
        "the share of outliers accepted at the threshold that keeps 95 % of the validation samples."
    )


def _attack_words(attacks: pd.DataFrame) -> str:
    attacked = ", ".join(_method_name(m) for m in _methods(attacks[attacks["attack"] == evidence.WHITE_BOX]))
    return (
        f"- **Attacks** on {_counts(attacks['samples'])} test samples per replicate: PGD on each model's own "
        f"gradients (*white-box*: {attacked}; for MIC the envelope-theorem gradient through its inversion, checked "
        "against the fully unrolled gradient at the end of this section), PGD inputs made on the forward model of "
        "the same prototypes and given to the other models but the inversion variant (*transfer*), and for 1-NN "
        "the exact smallest L2 perturbation (*minimal*); "
        f"norms {_listed(list(dict.fromkeys(attacks['norm'])))}, ε = "
        f"{_listed(sorted(set(attacks['fraction'].astype(float)) - {0.0}))} of each data set's ε scale (the median "
        "distance to the nearest training sample of another class; ε = 0 is the clean accuracy on the same samples)."
    )


def scope_markdown(robust: Mapping[str, pd.DataFrame], names: Mapping[str, str | None]) -> str:
    """What was tested and what was not, in plain words, with the sample sizes the tables hold."""
    corruptions, outliers, attacks = (robust.get(n, pd.DataFrame()) for n in ("corruptions", "outliers", "attacks"))
    frames = [f for f in (corruptions, outliers, attacks) if len(f)]
    reps = sorted({int(f["rep"].nunique()) for f in frames})
    methods = _order([m for f in frames for m in f["method"]], list(layout.ROBUSTNESS_METHODS))
    margins = _listed(sorted({claims.margin(label) for label in claims.ROBUSTNESS_CLAIMS}))
    lines = [
        f"The paper's introduction claims: “{QUOTE}”. The paper tests none of this. Here it is tested on the "
        f"models of every data set, subset and replicate ({_listed(reps)} replicates per cell): "
        + "; ".join(_method_name(m) for m in methods)
        + ".",
        "",
        "**What was tested**",
        "",
    ]
    lines += [_corruption_words(corruptions, names)] if len(corruptions) else []
    lines += [_outlier_words(outliers)] if len(outliers) else []
    lines += [_attack_words(attacks)] if len(attacks) else []
    lines += [
        "",
        "**What was not tested**: other attack families (query-based black-box attacks, attacks adapted to the "
        "inversion's start points or its optimiser), certified robustness bounds, the extended inversion variant "
        "under any attack (each of its inputs costs one inversion per start), and more samples or replicates than "
        "stated above.",
        "",
        "Each claim is decided per data set and subset (a *cell*) as the paper's other claims: the 95 % t-interval "
        f"of the replicate-paired difference against the claim's margin δ = {margins}. The differences:",
        "",
    ]
    lines += [f"- **{label}**: {claims.claim(label).compares}." for label in claims.ROBUSTNESS_CLAIMS]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ verdicts


def verdicts(robust: Mapping[str, pd.DataFrame], names: Mapping[str, str | None]) -> pd.DataFrame:
    """The robustness claims per data set and subset in the columns of mic.report.verdicts.verdicts."""
    empty = pd.DataFrame()
    table = evidence.robustness_claim_table(
        robust.get("corruptions", empty),
        robust.get("outliers", empty),
        robust.get("attacks", empty),
        lambda dataset: display_name(dataset, names),
    )
    table["paper"] = NOT_IN_THE_PAPER
    return table[REPORT_COLUMNS]


def with_robustness(verdict_table: pd.DataFrame, robust_verdicts: pd.DataFrame) -> pd.DataFrame:
    """The paper's claims and the robustness claims in one table (the first screen counts both)."""
    return evidence.stacked(verdict_table, robust_verdicts[REPORT_COLUMNS])


# ------------------------------------------------------------------------------------------------ figures


def _legend(fig: plt.Figure, handles: list[Line2D]) -> None:
    # Above the panels, where no curve can be.
    fig.legend(handles=handles, loc="upper center", ncol=min(len(handles), 4), fontsize=8, frameon=False)
    rows = -(-len(handles) // 4)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.25 * rows + 0.1) / fig.get_figheight()))


def _method_handles(methods: Sequence[str]) -> list[Line2D]:
    return [Line2D([], [], color=_colour(m), label=_method_name(m)) for m in methods]


def corruption_figure(summary: pd.DataFrame, names: Mapping[str, str | None]) -> plt.Figure:
    """Accuracy against corruption level (clean first), mean ± 95 % band over replicates: a panel per data set and
    kind, a colour per method, a line style per subset. `summary`: evidence.corruption_summary."""
    datasets = list(dict.fromkeys(summary["dataset"]))
    kinds = {
        d: list(dict.fromkeys(summary.loc[(summary["dataset"] == d) & (summary["kind"] != layout.CLEAN), "kind"]))
        for d in datasets
    }
    n_cols = max(len(k) for k in kinds.values())
    fig, axes = plt.subplots(len(datasets), n_cols, figsize=(4.2 * n_cols, 3.4 * len(datasets) + 0.8), squeeze=False)
    subsets = list(dict.fromkeys(summary["subset"]))
    methods = _methods(summary)
    for i, dataset in enumerate(datasets):
        for j in range(n_cols):
            ax = axes[i, j]
            if j >= len(kinds[dataset]):
                ax.set_visible(False)
                continue
            kind = kinds[dataset][j]
            rows = summary[summary["dataset"] == dataset]
            levels = sorted(set(rows.loc[rows["kind"] == kind, "level"].astype(float)))
            for s, subset in enumerate(subsets):
                for method in methods:
                    own = rows[(rows["subset"] == subset) & (rows["method"] == method)]
                    line = pd.concat([own[own["kind"] == layout.CLEAN], own[own["kind"] == kind].sort_values("level")])
                    if not len(line):
                        continue
                    x = [0] * int((line["kind"] == layout.CLEAN).sum())
                    x += [1 + levels.index(float(level)) for level in line.loc[line["kind"] == kind, "level"]]
                    style = SUBSET_STYLES[s % len(SUBSET_STYLES)]
                    ax.plot(x, line["mean"], style, marker=".", color=_colour(method))
                    ax.fill_between(x, line["low"], line["high"], color=_colour(method), alpha=0.12, linewidth=0)
            ax.set_xticks(range(len(levels) + 1), ["clean", *(f"{level:g}" for level in levels)])
            ax.set_xlabel(LEVELS.get(kind, ("level",))[0])
            ax.set_ylabel("test accuracy")
            ax.set_ylim(0, 1.02)
            ax.set_title(f"{display_name(dataset, names)}: {kind}")
            ax.grid(axis="y", alpha=0.3)
    handles = _method_handles(methods)
    handles += [
        Line2D([], [], color="grey", linestyle=SUBSET_STYLES[s % len(SUBSET_STYLES)], label=f"{subset} prototypes")
        for s, subset in enumerate(subsets)
    ]
    _legend(fig, handles)
    return fig


def mean_roc(roc: pd.DataFrame) -> pd.DataFrame:
    """The replicates' ROC curves averaged at the false-positive rates ROC_GRID (vertical averaging):
    dataset, subset, method, score, outlier_set, fpr, tpr, reps."""
    keys = ["dataset", "subset", "method", "score", "outlier_set"]
    records = []
    for key, rows in roc.groupby(keys, sort=False):
        curves = []
        for _, curve in rows.groupby("rep", sort=False):
            curve = curve.sort_values(["fpr", "tpr"])
            curves.append(np.interp(ROC_GRID, curve["fpr"].astype(float), curve["tpr"].astype(float)))
        mean = np.mean(curves, axis=0)
        records += [(*key, x, y, len(curves)) for x, y in zip(ROC_GRID, mean)]
    return pd.DataFrame(records, columns=[*keys, "fpr", "tpr", "reps"])


def roc_figure(roc: pd.DataFrame, names: Mapping[str, str | None]) -> plt.Figure:
    """ROC curves (mean over replicates, mean_roc) of every method's outlier scores: a panel per data set, subset
    and outlier set; a colour per method, its second score dashed. `roc`: the robustness_roc table."""
    curves = mean_roc(roc)
    cells = _cells(curves)
    sets = list(dict.fromkeys(curves["outlier_set"]))
    fig, axes = plt.subplots(
        len(cells), len(sets), figsize=(3.8 * len(sets) + 0.5, 3.6 * len(cells) + 1.0), squeeze=False
    )
    methods = _methods(curves)
    for i, (dataset, subset) in enumerate(cells):
        for j, outlier_set in enumerate(sets):
            ax = axes[i, j]
            part = curves[
                (curves["dataset"] == dataset) & (curves["subset"] == subset) & (curves["outlier_set"] == outlier_set)
            ]
            for method in methods:
                own = part[part["method"] == method]
                for s, score in enumerate(dict.fromkeys(own["score"])):
                    line = own[own["score"] == score]
                    style = SCORE_STYLES[min(s, len(SCORE_STYLES) - 1)]
                    ax.plot(line["fpr"], line["tpr"], style, color=_colour(method), linewidth=1.3)
            ax.plot([0, 1], [0, 1], color="grey", linewidth=0.7, linestyle=":")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.01)
            ax.set_xlabel("false-positive rate (test samples flagged)")
            ax.set_ylabel("true-positive rate (outliers flagged)")
            ax.set_title(f"{display_name(dataset, names)} {subset}: {outlier_set}", fontsize=10)
    handles = _method_handles(methods)
    handles.append(Line2D([], [], color="grey", linestyle=SCORE_STYLES[1], label="second score (energy)"))
    _legend(fig, handles)
    return fig


def attack_figure(summary: pd.DataFrame, names: Mapping[str, str | None]) -> plt.Figure:
    """Accuracy against ε (fraction of the data set's ε scale), mean ± 95 % band over replicates: a panel per data
    set, subset and norm; a colour per method; white-box solid, transfer dashed (a marker per source), minimal
    dash-dotted. `summary`: evidence.attack_summary."""
    cells = _cells(summary)
    norms = list(dict.fromkeys(summary["norm"]))
    fig, axes = plt.subplots(len(cells), len(norms), figsize=(4.6 * len(norms), 3.6 * len(cells) + 1.2), squeeze=False)
    methods = _methods(summary)
    transfer = summary["attack"] == evidence.TRANSFER
    sources = _order(summary.loc[transfer, "source"], list(layout.ROBUSTNESS_METHODS))
    for i, (dataset, subset) in enumerate(cells):
        for j, norm in enumerate(norms):
            ax = axes[i, j]
            part = summary[(summary["dataset"] == dataset) & (summary["subset"] == subset) & (summary["norm"] == norm)]
            for (method, attack, source), line in part.groupby(["method", "attack", "source"], sort=False):
                line = line.sort_values("fraction")
                # a white-box attack's source is the model itself: only a transfer attack's source is marked
                marked = attack == evidence.TRANSFER and source in sources
                marker = SOURCE_MARKERS[sources.index(source) % len(SOURCE_MARKERS)] if marked else "."
                colour = _colour(method)
                ax.plot(line["fraction"], line["mean"], ATTACK_STYLES.get(attack, ":"), marker=marker, color=colour)
                ax.fill_between(line["fraction"], line["low"], line["high"], color=colour, alpha=0.1, linewidth=0)
            ax.set_xlabel("ε (fraction of the data set's ε scale)")
            ax.set_ylabel("test accuracy")
            ax.set_ylim(0, 1.02)
            ax.set_title(f"{display_name(dataset, names)} {subset}: {norm}", fontsize=10)
            ax.grid(axis="y", alpha=0.3)
    handles = _method_handles(methods)
    handles += [
        Line2D([], [], color="grey", linestyle=style, label=attack)
        for attack, style in ATTACK_STYLES.items()
        if attack in set(summary["attack"])
    ]
    handles += [
        Line2D([], [], color="grey", linestyle="", marker=SOURCE_MARKERS[s % len(SOURCE_MARKERS)],
               label=f"transfer from {_method_name(source)}")
        for s, source in enumerate(sources)
    ]  # fmt: skip
    _legend(fig, handles)
    return fig


# ------------------------------------------------------------------------------------------------ tables


def _named(summary: pd.DataFrame, names: Mapping[str, str | None]) -> pd.DataFrame:
    return summary.assign(dataset=[display_name(d, names) for d in summary["dataset"]])


def _wide(summary: pd.DataFrame, rows: list[str], value: str, sizes: Mapping[str, str]) -> pd.DataFrame:
    """Per row of `rows` (in the order they first appear): per method the mean and half-width as a column pair
    (method, value | ± 95 %), then the fewest over the methods of each `sizes` column as (N, label)."""
    index = pd.MultiIndex.from_frame(summary[rows].drop_duplicates())
    keyed = summary.set_index([*rows, "method"])
    columns = {}
    for method in _methods(summary):
        own = keyed.xs(method, level="method").reindex(index)
        columns[(_method_name(method), value)] = own["mean"].astype(float)
        columns[(_method_name(method), HALF_WIDTH)] = own["half_width"].astype(float)
    smallest = summary.groupby(rows, sort=False)[list(sizes)].min().reindex(index)
    columns.update({(N, label): smallest[column] for column, label in sizes.items()})
    return pd.DataFrame(columns, index=index)


def _ranked(summary: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`summary` sorted stably by `columns`, each kept in the order its values first appear."""
    return summary.sort_values(list(columns), kind="stable", key=_first_seen)


def _first_seen(column: pd.Series) -> pd.Series:
    """A sort key keeping the values in the order they first appear."""
    return column.map({value: i for i, value in enumerate(dict.fromkeys(column))})


def _labelled(table: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    table.index = table.index.rename([labels.get(name, name) for name in table.index.names])
    return table


def corruption_table(summary: pd.DataFrame, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Accuracy per data set, subset, corruption and level (clean first): per method the mean and ± 95 % over
    replicates; the samples per replicate and the replicates. `summary`: evidence.corruption_summary."""
    kinds = {kind: i for i, kind in enumerate(_order(summary["kind"], [layout.CLEAN]))}  # clean first
    ordered = summary.assign(level=summary["level"].astype(float)).sort_values("level", kind="stable")
    ordered = _ranked(ordered.sort_values("kind", kind="stable", key=lambda c: c.map(kinds)), ["dataset", "subset"])
    ordered["level"] = [f"{level:g}" for level in ordered["level"]]
    rows = ["dataset", "subset", "kind", "level"]
    table = _wide(_named(ordered, names), rows, "accuracy", {"samples": "samples per replicate", "reps": "replicates"})
    return _labelled(table, {"dataset": "data set", "kind": "corruption"})


def drop_table(drops: pd.DataFrame, names: Mapping[str, str | None]) -> pd.DataFrame:
    """The mean accuracy drop from clean per data set and subset: per method the mean and ± 95 % over
    replicates; the corruption settings and replicates. `drops`: evidence.drop_summary."""
    sizes = {"settings": "corruption settings", "reps": "replicates"}
    return _labelled(_wide(_named(drops, names), ["dataset", "subset"], "drop", sizes), {"dataset": "data set"})


def outlier_table(summary: pd.DataFrame, names: Mapping[str, str | None]) -> pd.DataFrame:
    """AUROC and the share of outliers accepted at the 95 % validation threshold per data set, subset, outlier set,
    method and score: mean and ± 95 % over replicates, beside the inliers, outliers and replicates.
    `summary`: evidence.outlier_summary."""
    columns = {
        ("AUROC", "mean"): "auroc_mean",
        ("AUROC", HALF_WIDTH): "auroc_half_width",
        ("accepted at 95 %", "mean"): "accepted_at_95_mean",
        ("accepted at 95 %", HALF_WIDTH): "accepted_at_95_half_width",
        (N, "inliers"): "inliers",
        (N, "outliers"): "outliers",
        (N, "replicates"): "reps",
    }
    rank = {method: i for i, method in enumerate(_methods(summary))}
    ordered = summary.sort_values("method", kind="stable", key=lambda c: c.map(rank))
    ordered = _ranked(ordered, ["dataset", "subset", "outlier_set"])
    frame = _named(ordered, names).assign(method=[_method_name(m) for m in ordered["method"]])
    table = pd.DataFrame({label: frame[column].to_numpy() for label, column in columns.items()})
    table.index = pd.MultiIndex.from_frame(frame[["dataset", "subset", "outlier_set", "method", "score"]])
    return _labelled(table, {"dataset": "data set", "outlier_set": "outlier set"})


def attack_table(summary: pd.DataFrame, names: Mapping[str, str | None]) -> pd.DataFrame:
    """Accuracy under attack per data set, subset, norm, attack (a transfer attack named with its source) and ε
    fraction: the absolute ε, per method the mean and ± 95 % over replicates, the samples per replicate and the
    replicates. `summary`: evidence.attack_summary (fraction 0: the clean accuracy on the same samples)."""
    ordered = _ranked(summary.sort_values("fraction", kind="stable"), ["dataset", "subset", "norm", "attack", "source"])
    ordered = ordered.assign(
        attack=[f"{a} from {s}" if a == evidence.TRANSFER else a for a, s in zip(ordered["attack"], ordered["source"])]
    )
    rows = ["dataset", "subset", "norm", "attack", "fraction"]
    named = _named(ordered, names)
    table = _wide(named, rows, "accuracy", {"samples": "samples per replicate", "reps": "replicates"})
    table.insert(0, ("ε", "absolute"), named.groupby(rows, sort=False)["epsilon"].mean().reindex(table.index))
    return _labelled(table, {"dataset": "data set", "fraction": "ε fraction"})


def gradient_table(gradients: pd.DataFrame, names: Mapping[str, str | None]) -> pd.DataFrame:
    """The envelope-theorem gradient against the unrolled one per data set, subset and iterations: the checks
    (targets × modules × replicates), median and smallest cosine, median and largest relative error."""
    if not len(gradients):
        return pd.DataFrame()
    table = (
        _named(gradients, names)
        .groupby(["dataset", "subset", "iterations"], sort=False)
        .agg(
            checks=("cosine", "size"),
            median_cosine=("cosine", "median"),
            smallest_cosine=("cosine", "min"),
            median_relative_error=("relative_error", "median"),
            largest_relative_error=("relative_error", "max"),
        )
    )
    table.index = table.index.rename("data set", level="dataset")
    return table.rename(columns=lambda c: c.replace("_", " "))
