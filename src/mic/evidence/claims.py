"""The registry of every claim the report decides: what it compares, whose claim it is, and its margin δ.

Each claim is a difference in accuracy (or AUROC) taken per replicate; mic.evidence.verdicts decides it in
four outcomes by the 95 % t-interval of that difference and the claim's margin δ: inside (−δ, +δ)
"equivalent", otherwise above 0 "supported", below 0 "contradicted", else "inconclusive". The margin and
this rule were declared on DECLARED, before the runs they judge; a claim enters the registry only with a
margin, so no verdict is ever decided without one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import pandas as pd

EQUIVALENT, SUPPORTED, CONTRADICTED, INCONCLUSIVE = "equivalent", "supported", "contradicted", "inconclusive"
OUTCOMES = (EQUIVALENT, SUPPORTED, CONTRADICTED, INCONCLUSIVE)  # the order in which the rule tests them

DECLARED = date(2026, 12, 7)
MARGIN = 0.01  # δ: an accuracy difference within one point is no difference
MEASURES = ("accuracy", "AUROC")

FORWARD = "MIC beats the forward model"
ITERATIONS = "50 iterations beat 0"
CLUSTERED = "clustered beats random"
NOISE = "noise helps (best noise setting vs no noise)"
NEAREST = "MIC beats 1-NN on the same prototypes (not a claim of the paper)"
EXTENDED = "extended MIC beats 1-NN on the same prototypes (beyond the paper)"
# The paper's introduction claims these; the paper never tests them (mic.robustness tests them here).
CORRUPTIONS = "MIC keeps more of its accuracy under corruption than the forward model"
OUTLIERS = "MIC's loss tells outliers from real samples better than the forward model's confidence"
ATTACKS = "MIC is harder to attack than the forward model"


@dataclass(frozen=True)
class Claim:
    """One claim: its label in every table, the difference it tests, and the margin it was declared with."""

    label: str
    compares: str  # the per-replicate difference, first side − second side
    measure: str
    of_the_paper: bool
    margin: float
    declared: date

    def __post_init__(self) -> None:
        # A verdict without a margin would fall back to the three-outcome rule silently; refuse it here.
        if not isinstance(self.margin, int | float) or not math.isfinite(self.margin) or self.margin <= 0:
            raise ValueError(f"claim {self.label!r}: margin must be a positive number, got {self.margin!r}")
        if self.measure not in MEASURES:
            raise ValueError(f"claim {self.label!r}: measure must be one of {MEASURES}, got {self.measure!r}")
        if not isinstance(self.declared, date):
            raise ValueError(f"claim {self.label!r}: declared must be a date, got {self.declared!r}")


def _claim(label: str, compares: str, of_the_paper: bool, measure: str = "accuracy") -> Claim:
    return Claim(label, compares, measure, of_the_paper, MARGIN, DECLARED)


REGISTRY: dict[str, Claim] = {
    claim.label: claim
    for claim in (
        _claim(FORWARD, "MIC (base or best model, after K iterations) − the forward model of the same subset", True),
        _claim(ITERATIONS, "MIC after K − after 0 iterations, same model (base or best)", True),
        _claim(CLUSTERED, "MIC after K on the clustered − on the random prototypes (base or best)", True),
        _claim(NOISE, "MIC best noise setting − no noise, after K iterations", True),
        _claim(NEAREST, "MIC best after K − the better 1-NN metric on the same prototypes", False),
        _claim(EXTENDED, "the validation-chosen inversion variant − the better 1-NN on the same prototypes", False),
        _claim(
            CORRUPTIONS,
            "accuracy drop from clean (same samples), mean over every corruption kind and level: the forward model "
            "on the same prototypes − MIC's validation-best setting",
            True,
        ),
        _claim(
            OUTLIERS,
            "AUROC (outliers against test samples), mean over the outlier sets: MIC's lowest final loss − the "
            "forward model's maximum softmax probability (same prototypes)",
            True,
            "AUROC",
        ),
        _claim(
            ATTACKS,
            "accuracy under the model's own L2 white-box PGD attack at the middle ε: MIC's validation-best setting "
            "− the forward model on the same prototypes",
            True,
        ),
    )
}
CLAIMS = [FORWARD, ITERATIONS, CLUSTERED, NOISE, NEAREST]  # EXTENDED joins them where extended runs exist
ROBUSTNESS_CLAIMS = [CORRUPTIONS, OUTLIERS, ATTACKS]  # decided per (data set, subset) where robustness jobs ran


def claim(label: str) -> Claim:
    """The registered claim of this label; a label outside the registry is refused."""
    try:
        return REGISTRY[label]
    except KeyError:
        raise KeyError(f"{label!r} is not a registered claim (mic.evidence.claims.REGISTRY)") from None


def margin(label: str) -> float:
    """The margin δ the claim of this label was declared with."""
    return claim(label).margin


def registry_table() -> pd.DataFrame:
    """The registry as a table: claim, compares, measure, of_the_paper, margin, declared (ISO date)."""
    records = [
        {
            "claim": c.label,
            "compares": c.compares,
            "measure": c.measure,
            "of_the_paper": c.of_the_paper,
            "margin": c.margin,
            "declared": c.declared.isoformat(),
        }
        for c in REGISTRY.values()
    ]
    return pd.DataFrame(records, columns=["claim", "compares", "measure", "of_the_paper", "margin", "declared"])
