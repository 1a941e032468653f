"""Modular Inverse Classification: per-class LSTM generators inverted by gradient descent."""

__version__ = "0.1.0"
