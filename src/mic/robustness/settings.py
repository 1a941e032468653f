"""What a robustness job tests: its corruptions, outlier sets and attacks, and the sample sizes of each."""

from __future__ import annotations

from dataclasses import dataclass, field

# The names the config may use; the algorithm modules take them from here, so reading a config imports no
# scipy or torch.
CORRUPTION_KINDS = ("gaussian", "occlusion", "time_shift", "speed")
OUTLIER_KINDS = ("noise", "reversed")
ATTACK_NORMS = ("l2", "linf")


@dataclass(frozen=True)
class RobustnessSettings:
    """A data set's `robustness` block (docs/configuration.md); every size is a fixed, seeded subsample."""

    # kind -> levels: gaussian σ in training-value standard deviations, occlusion and time_shift as shares
    # of the sequence length, speed as a factor
    corruptions: dict[str, tuple[float, ...]] = field(default_factory=dict)
    samples: int = 200  # test samples corrupted, and the real samples set against the outliers
    outliers: tuple[str, ...] = OUTLIER_KINDS
    attack_samples: int = 200  # test samples attacked, the same in every replicate
    steps: int = 10  # PGD steps per attack
    fractions: tuple[float, ...] = (0.05, 0.1, 0.2)  # ε as fractions of the data set's ε scale
    norms: tuple[str, ...] = ATTACK_NORMS
    scale_samples: int = 200  # training samples whose distance to the nearest other class sets the ε scale
    extended: bool = True  # evaluate the validation-best inversion variant too (not under white-box attack)
    gradient_check: int = 2  # test targets whose envelope gradient is checked against the unrolled one (replicate 0)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.corruptions) - set(CORRUPTION_KINDS))
        if not self.corruptions or unknown:
            raise ValueError(f"corruptions: expected kinds among {', '.join(CORRUPTION_KINDS)}, got {unknown or '{}'}")
        for kind, levels in self.corruptions.items():
            if not levels or any(level <= 0 for level in levels):
                raise ValueError(f"corruptions.{kind}: expected one or more levels > 0, got {list(levels)}")
        if not self.outliers or set(self.outliers) - set(OUTLIER_KINDS):
            raise ValueError(f"outliers: expected some of {', '.join(OUTLIER_KINDS)}, got {list(self.outliers)}")
        if not self.norms or set(self.norms) - set(ATTACK_NORMS):
            raise ValueError(f"norms: expected some of {', '.join(ATTACK_NORMS)}, got {list(self.norms)}")
        if not self.fractions or any(f <= 0 for f in self.fractions) or len(set(self.fractions)) < len(self.fractions):
            raise ValueError(f"fractions: expected distinct values > 0, got {list(self.fractions)}")
        for name in ("samples", "attack_samples", "steps", "scale_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {getattr(self, name)}")
        if self.gradient_check < 0:
            raise ValueError(f"gradient_check: expected an integer >= 0, got {self.gradient_check}")
