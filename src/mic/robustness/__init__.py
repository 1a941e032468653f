"""Robustness: input corruptions, outlier detection scores and adversarial attacks on the classifiers."""
