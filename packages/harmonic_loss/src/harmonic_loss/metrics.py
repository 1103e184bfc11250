"""Representation and training-curve metrics for the toy tasks (numpy only).

- :func:`explained_variance`: PCA explained-variance ratios of a set of embeddings (the paper's EV; top-2 EV titles
  the gallery panels, cumulative EV is Fig. 3a).
- :func:`task_metric`: the task-specific "crystal" metrics the official ``crystal_metric.py`` computed but never
  plotted (spec 3.2), re-implemented from their definitions:
  lattice: mean parallelogram side-length deviation (0 = perfect parallelograms; lower is better);
  circle: std / mean of the distances to the centroid of the top-2 PCA coordinates, each axis rescaled to [0, 1]
  (0 = a perfect circle; lower is better);
  equivalence: mean within-class distance / mean between-class distance (within-class distances above the mean
  between-class distance are dropped as outliers, as in the official code; lower is better);
  genealogy: 1 - mean over generations with >= 5 nodes of the variance fraction of the generation's first PC, in
  the top-2 PCA plane (0 = every generation on a line; lower is better);
  permutation: rotational self-similarity 1 / (1 + mean nearest-neighbour distance between the rescaled top-2 PCA
  scatter and its rotations by multiples of 2 pi / 4) (higher is better).
- :func:`grok_epoch`: the first epoch from which an accuracy curve stays above a threshold for a window of epochs.
"""

from __future__ import annotations

import itertools

import numpy as np

from repro.pca import explained_variance_ratio, pca

# Whether a larger task metric means more structure (for plots and claims).
METRIC_HIGHER_IS_BETTER = {
    "lattice": False,
    "circle": False,
    "equivalence": False,
    "genealogy": False,
    "permutation": True,
}
METRIC_NAMES = {
    "lattice": "parallelogram deviation",
    "circle": "radial std / mean",
    "equivalence": "within / between distance",
    "genealogy": "1 - per-generation linearity",
    "permutation": "rotational self-similarity",
}


def explained_variance(x: np.ndarray) -> np.ndarray:
    """Explained-variance ratios of the principal components of rows ``x`` [N, D] (descending, sum 1)."""
    return explained_variance_ratio(x)


def pca_2d(x: np.ndarray) -> np.ndarray:
    """Coordinates of rows ``x`` [N, D] on their top-2 principal components [N, 2] (signs fixed for stability)."""
    return pca(x, 2)[0]


def _rescaled_2d(x: np.ndarray) -> np.ndarray:
    pts = pca_2d(x)
    span = pts.max(0) - pts.min(0)
    return (pts - pts.min(0)) / np.where(span > 0, span, 1)


def lattice_metric(emb: np.ndarray, p: int) -> float:
    pts = [(i, j) for i in range(p) for j in range(p)]
    devs = []
    for a, b, c in itertools.combinations(pts, 3):
        d = (b[0] + c[0] - a[0], b[1] + c[1] - a[1])
        if not (0 <= d[0] < p and 0 <= d[1] < p):
            continue
        if a[0] == b[0] == c[0] or a[1] == b[1] == c[1]:
            continue
        ea, eb, ec, ed = (emb[q[0] * p + q[1]] for q in (a, b, c, d))
        ab, cd = np.linalg.norm(eb - ea), np.linalg.norm(ed - ec)
        ac, bd = np.linalg.norm(ec - ea), np.linalg.norm(eb - ed)
        bc, ad = np.linalg.norm(ec - eb), np.linalg.norm(ed - ea)
        scale = np.sqrt((ab**2 + bc**2 + cd**2 + ad**2) / 2)
        devs.append(np.sqrt((ab - cd) ** 2 + (ac - bd) ** 2) / max(scale, 1e-12))
    return float(np.mean(devs))


def circle_metric(emb: np.ndarray) -> float:
    pts = _rescaled_2d(emb)
    r = np.linalg.norm(pts - pts.mean(0), axis=1)
    return float(r.std() / max(r.mean(), 1e-12))


def equivalence_metric(emb: np.ndarray, mod: int) -> float:
    cls = np.arange(len(emb)) % mod
    dist = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    same = cls[:, None] == cls[None]
    between = dist[~same].mean()
    within = dist[same]
    within = within[within < between]
    return float(within.mean() / between) if len(within) else float("nan")


def genealogy_metric(emb_nodes: np.ndarray, depth: np.ndarray) -> float:
    pts = pca_2d(emb_nodes)
    scores = []
    for g in np.unique(depth):
        sel = pts[depth == g]
        if len(sel) < 5:
            continue
        scores.append(explained_variance(sel)[0])
    return float(1 - np.mean(scores))


def permutation_metric(emb: np.ndarray, p: int) -> float:
    pts = _rescaled_2d(emb)
    pts = pts - pts.mean(0)
    dists = []
    for angle in np.linspace(0, 2 * np.pi, p, endpoint=False)[1:]:
        c, s = np.cos(angle), np.sin(angle)
        rot = pts @ np.array([[c, -s], [s, c]]).T
        nn = np.linalg.norm(pts[:, None] - rot[None], axis=-1).min(1)
        dists.append(nn.mean())
    return float(1 / (1 + np.mean(dists)))


def task_metric(task_name: str, entity_emb: np.ndarray, aux: dict) -> float:
    """The task's structure metric on the embeddings of its entity tokens (see the module docstring)."""
    if task_name == "lattice":
        return lattice_metric(entity_emb, aux["p"])
    if task_name == "circle":
        return circle_metric(entity_emb)
    if task_name == "equivalence":
        return equivalence_metric(entity_emb, aux["mod"])
    if task_name == "genealogy":
        return genealogy_metric(entity_emb, aux["depth"])
    if task_name == "permutation":
        return permutation_metric(entity_emb, aux["p"])
    raise ValueError(f"unknown task {task_name!r}")


def grok_epoch(acc: np.ndarray, epochs: np.ndarray, threshold: float = 0.9, window: float = 20) -> float:
    """First evaluated epoch t with acc > threshold at every evaluation in [t, t + window]; NaN if none.

    The official F3c criterion ("stays > 0.9 for 20 consecutive epochs"), on curves evaluated every few epochs. A
    run must have been observed for the whole window, so a curve that crosses in its last ``window`` epochs counts
    as not (yet) reached.
    """
    acc, epochs = np.asarray(acc, dtype=float), np.asarray(epochs, dtype=float)
    ok = np.isfinite(acc) & np.isfinite(epochs)
    acc, epochs = acc[ok], epochs[ok]
    above = acc > threshold
    # bad_after[i] = index of the first evaluation >= i that is not above the threshold (len if none)
    n = len(acc)
    bad_after = np.full(n + 1, n)
    for i in range(n - 1, -1, -1):
        bad_after[i] = i if not above[i] else bad_after[i + 1]
    last = epochs[-1] if n else 0.0
    for i in range(n):
        if above[i] and epochs[i] + window <= last:
            end = np.searchsorted(epochs, epochs[i] + window, side="right")
            if bad_after[i] >= end:
                return float(epochs[i])
    return float("nan")
