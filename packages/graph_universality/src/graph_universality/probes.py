"""Probes on node representations: PCA, the L1 linear probe on E_x - E_y, and the cone probe.

Every probe is fitted on training pairs and scored on held-out pairs (``test``); train F1 is reported only beside it.
With the official ``all`` split, train = test and the "held-out" F1 is the official (training) F1.

Cone probe (official ``DiffAATProbe`` with epsilon = 0): a linear map ``W in R^{2 x d}`` (init: the first two rows of
the identity) and a trainable width ``s`` (clamped >= 1e-3); ``p(x desc. of y) = sigmoid((Wx - Wy)_1 / s) *
sigmoid((Wx - Wy)_2 / s)``: x is a descendant of y iff Wx lies in the positive quadrant anchored at Wy. We train it
full batch with AdamW (lr 1e-2, no weight decay) and, as the official code, keep the state with the best *training*
F1 (never the test F1). Many probes are fitted at once, stacked (one per representation).
"""

from __future__ import annotations

import numpy as np


def pca(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` PCA coordinates of rows of ``x`` and the explained-variance ratios of those components."""
    xc = x - x.mean(0, keepdims=True)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    k = min(k, len(s))
    var = s**2
    return u[:, :k] * s[:k], var[:k] / max(var.sum(), 1e-30)


def f1(pred: np.ndarray, label: np.ndarray) -> float:
    pred, label = np.asarray(pred, bool), np.asarray(label, bool)
    tp = float((pred & label).sum())
    denom = float(pred.sum() + label.sum())
    return 2 * tp / denom if denom else 0.0


def linear_probe(
    reps: np.ndarray, pairs: np.ndarray, train: np.ndarray, test: np.ndarray, C: float = 1.0
) -> dict[str, float]:
    """Official baseline: L1 logistic regression (liblinear, no intercept) on ``E_x - E_y``.

    ``reps [N, d]``; ``pairs [E, 3]`` of (x, y, label); boolean ``train``/``test`` masks over pairs."""
    from sklearn.linear_model import LogisticRegression

    feats = reps[pairs[:, 0]] - reps[pairs[:, 1]]
    lab = pairs[:, 2].astype(int)
    if len(np.unique(lab[train])) < 2:
        return {"train_f1": float("nan"), "test_f1": float("nan")}
    clf = LogisticRegression(l1_ratio=1.0, solver="liblinear", fit_intercept=False, C=C, max_iter=1000)
    clf.fit(feats[train], lab[train])
    pred = clf.predict(feats)
    return {"train_f1": f1(pred[train], lab[train]), "test_f1": f1(pred[test], lab[test])}


def cone_probe(
    reps: np.ndarray,
    pairs: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    steps: int = 1000,
    lr: float = 1e-2,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Fit S cone probes at once. ``reps [S, N, d]`` (d >= 2), ``pairs [E, 3]``, masks ``[S, E]`` or ``[E]``.

    Returns per-probe ``train_f1``/``test_f1`` ``[S]`` and the 2-D projections ``proj [S, N, 2]``."""
    import torch

    x = torch.as_tensor(np.asarray(reps), dtype=torch.float32)
    S, N, d = x.shape
    if d < 2:
        raise ValueError("the cone probe needs representations of dimension >= 2")
    tr = torch.as_tensor(np.broadcast_to(train, (S, len(pairs))).astype(np.float32))
    te = torch.as_tensor(np.broadcast_to(test, (S, len(pairs))).astype(np.float32))
    a = torch.as_tensor(pairs[:, 0])
    b = torch.as_tensor(pairs[:, 1])
    lab = torch.as_tensor(pairs[:, 2]).float()
    torch.manual_seed(seed)  # the init is deterministic (identity rows); the seed only guards future changes
    w = torch.eye(2, d).repeat(S, 1, 1).requires_grad_(True)
    log_s = torch.zeros(S, requires_grad=True)
    opt = torch.optim.AdamW([w, log_s], lr=lr, weight_decay=0.0)

    def logp(w, log_s):
        z = torch.einsum("snd,skd->snk", x, w)  # [S, N, 2]
        u = (z[:, a] - z[:, b]) / log_s.exp().clamp_min(1e-3)[:, None, None]
        lp = torch.nn.functional.logsigmoid(u).sum(-1)  # log p, [S, E]
        return lp, z

    def scores(lp):
        pred = (lp > np.log(0.5)).float()
        out = []
        for m in (tr, te):
            tp = (pred * lab * m).sum(1)
            den = ((pred + lab) * m).sum(1)
            out.append(torch.where(den > 0, 2 * tp / den.clamp_min(1e-12), torch.zeros_like(tp)))
        return out

    best_tr = torch.full((S,), -1.0)
    best_te = torch.zeros(S)
    best_z = torch.zeros(S, N, 2)
    for step in range(steps + 1):
        lp, z = logp(w, log_s)
        with torch.no_grad():
            f_tr, f_te = scores(lp)
            better = f_tr > best_tr
            best_tr = torch.where(better, f_tr, best_tr)
            best_te = torch.where(better, f_te, best_te)
            best_z[better] = z[better]
        if step == steps:
            break
        l1m = torch.log1p(-lp.exp().clamp(max=1 - 1e-6))
        bce = -(lab * lp + (1 - lab) * l1m)
        loss = ((bce * tr).sum(1) / tr.sum(1).clamp_min(1)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"train_f1": best_tr.numpy(), "test_f1": best_te.numpy(), "proj": best_z.numpy()}
