"""Parallelogram analysis of an embedding matrix (Figure 6): how close word-pair analogies come to parallelograms.

For a task with (input, output) pairs, a quadruple (a, a', b, b') of two pairs is a perfect parallelogram when
e_a + e_b' = e_a' + e_b. Following the official ``GPT2/function_vectors.ipynb``: embeddings are mean-centred over
the whole vocabulary and projected on its top-k principal components, and

    parallelogram loss = ||e_a + e_b' - e_a' - e_b||^2 / (k * mean squared PC coordinate)

so 1 is the size of a typical embedding; quadruples whose loss is exactly 0 (repeated tokens) are dropped.
Baselines the official analysis lacks: **random pairs** (a, a') drawn from the whole vocabulary, and **shuffled
tasks** (a, a') from one task with (b, b') from another; a relation is parallelogram-like when its losses are
clearly below both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from repro.pca import pca


def pca_project(embeddings: np.ndarray, k: int) -> np.ndarray:
    """Mean-centre over the vocabulary and project on the top-k principal components: [V, k]."""
    return pca(embeddings, k)[0]


def sample_quadruples(pairs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` quadruples [n, 4] = (a, a', b, b') from two distinct pairs of ``pairs`` [P, 2] (token ids)."""
    i = rng.integers(len(pairs), size=n)
    j = (i + rng.integers(1, len(pairs), size=n)) % len(pairs)  # j != i
    return np.concatenate([pairs[i], pairs[j]], axis=1)


def parallelogram_loss(projected: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Loss per quadruple (NaN where the quadruple repeats a token, i.e. the loss is trivially 0)."""
    a, a2, b, b2 = (projected[quads[:, c]] for c in range(4))
    k = projected.shape[1]
    loss = ((a + b2 - a2 - b) ** 2).sum(1) / (k * (projected**2).mean())
    degenerate = (quads[:, 0] == quads[:, 2]) | (quads[:, 1] == quads[:, 3]) | (quads[:, 0] == quads[:, 1])
    return np.where(degenerate, np.nan, loss)


def task_quadruples(
    tasks: dict[str, np.ndarray], vocab_size: int, n: int, seed: int
) -> dict[str, dict[str, np.ndarray]]:
    """Per task: its own quadruples, random-pair quadruples and shuffled-task quadruples (all seeded)."""
    rng = np.random.default_rng(seed)
    names = sorted(tasks)
    out = {}
    for name in names:
        pairs = tasks[name]
        random_pairs = rng.integers(vocab_size, size=(max(len(pairs), 2), 2))
        others = np.concatenate([tasks[o] for o in names if o != name]) if len(names) > 1 else pairs
        own = sample_quadruples(pairs, n, rng)
        mixed = np.concatenate(
            [pairs[rng.integers(len(pairs), size=n)], others[rng.integers(len(others), size=n)]], 1
        )
        out[name] = {"task": own, "random": sample_quadruples(random_pairs, n, rng), "shuffled": mixed}
    return out


def log_thresholds(losses: Any, n: int = 81, low: float = 1e-5) -> np.ndarray:
    """``n`` log-spaced thresholds from ``low`` to the largest loss in ``losses`` (arrays in nested dicts): task
    losses sit decades below the baselines'."""

    def arrays(x: Any) -> list[np.ndarray]:
        return [a for v in x.values() for a in arrays(v)] if isinstance(x, dict) else [np.asarray(x)]

    finite = [a[np.isfinite(a)] for a in arrays(losses)]
    top = max((float(a.max()) for a in finite if a.size), default=1.0)
    return np.logspace(np.log10(low), np.log10(max(top, 10 * low)), n)


def cumulative_fraction(losses: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of (non-degenerate) quadruples with loss below each threshold."""
    valid = losses[~np.isnan(losses)]
    if not len(valid):
        return np.zeros_like(thresholds, dtype=float)
    return (valid[None, :] < thresholds[:, None]).mean(1)
