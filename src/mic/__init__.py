"""Modular Inverse Classification: per-class LSTM generators inverted by gradient descent."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """`from mic import Classifier` without importing torch on `import mic`."""
    if name == "Classifier":
        from mic.classify import Classifier

        return Classifier
    raise AttributeError(f"module 'mic' has no attribute {name!r}")
