"""Modular Inverse Classification: per-class LSTM generators inverted by gradient descent."""

__version__ = "0.1.0"

# Imported on first use, so `import mic` stays cheap (no torch, no scikit-learn).
_LAZY = {"Classifier": "mic.classify", "MICClassifier": "mic.estimator"}


def __getattr__(name: str) -> object:
    """`from mic import Classifier, MICClassifier` without importing torch on `import mic`."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mic' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
