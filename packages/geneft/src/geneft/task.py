"""Knowledge-graph autoencoding: n = 30 symbols, a binary relation, all n^2 ordered pairs labelled R(x1, x2).

Each run draws its own train/test split from its seed: a random permutation of the 900 pairs, the first
``round(fraction * 900)`` for training and the rest for testing (the diagonal included, as in the paper's N = n^2).
"""

from __future__ import annotations

import numpy as np

from geneft.theory import N_SYMBOLS, relation_matrix


def all_pairs(n: int = N_SYMBOLS) -> np.ndarray:
    """``[n^2, 2]`` every ordered pair (x1, x2), row-major: pair index = x1 * n + x2."""
    x1, x2 = np.divmod(np.arange(n * n), n)
    return np.stack([x1, x2], 1)


def labels(relation: str, n: int = N_SYMBOLS) -> np.ndarray:
    """``[n^2]`` the relation's label of every pair, in :func:`all_pairs` order."""
    return relation_matrix(relation, n).reshape(-1).astype(np.float32)


def n_train(fraction: float, n: int = N_SYMBOLS) -> int:
    return int(round(fraction * n * n))


def split(fraction: float, seed: int, n: int = N_SYMBOLS) -> tuple[np.ndarray, np.ndarray]:
    """(train pair indices, test pair indices) of one run, seeded."""
    if not 0 < fraction < 1:
        raise ValueError(f"train fraction must be in (0, 1), got {fraction}")
    perm = np.random.default_rng(seed).permutation(n * n)
    k = n_train(fraction, n)
    if not 0 < k < n * n:
        raise ValueError(f"train fraction {fraction} leaves an empty train or test set")
    return np.sort(perm[:k]), np.sort(perm[k:])
