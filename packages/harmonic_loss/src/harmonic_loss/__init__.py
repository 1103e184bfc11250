"""Harmonic loss (Baek, Liu, Tyagi, Tegmark 2025): distance logits + HarMax instead of dot product + softmax.

The method lives in :mod:`harmonic_loss.harmax` (import it from there: this package root stays free of torch so
that figure discovery is fast); the paper's figures in :mod:`harmonic_loss.figures`.
"""
