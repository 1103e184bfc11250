"""Principal components of a set of representations: the one PCA every paper's analysis uses.

Rows are points (tokens, nodes, classes), columns are features. Everything is float64 and mean-centred over rows.
Component signs are fixed (each component's largest-magnitude coordinate is positive), so plots and numbers do
not flip between library versions or platforms.
"""

from __future__ import annotations

import numpy as np


def explained_variance_ratio(x: np.ndarray) -> np.ndarray:
    """Fraction of the variance of rows ``x`` [N, D] on each principal component, descending (sums to 1; NaN when
    the points do not vary)."""
    xc = np.asarray(x, dtype=np.float64)
    xc = xc - xc.mean(0)
    var = np.linalg.svd(xc, compute_uv=False) ** 2
    total = var.sum()
    return var / total if total > 0 else np.full_like(var, np.nan)


def pca(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of rows ``x`` [N, D] on their top-``k`` principal components [N, min(k, rank)], and those
    components' explained-variance ratios."""
    xc = np.asarray(x, dtype=np.float64)
    xc = xc - xc.mean(0)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    k = min(k, len(s))
    coords = u[:, :k] * s[:k]
    signs = np.sign(coords[np.argmax(np.abs(coords), 0), np.arange(k)])
    coords = coords * np.where(signs == 0, 1, signs)
    var = s**2
    total = var.sum()
    ratios = var[:k] / total if total > 0 else np.full(k, np.nan)
    return coords, ratios
