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

from repro.pca import pca  # noqa: F401  (re-exported: the probes' PCA is the shared one)


def linear_probe(
    reps: np.ndarray,
    pairs: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    C: float = 1.0,
    iters: int = 500,
) -> dict[str, np.ndarray]:
    """Official baseline: L1 logistic regression without intercept on ``E_x - E_y``, for S representations at once.

    Minimises liblinear's objective ``||w||_1 + C sum_i log(1 + exp(-y_i w . f_i))`` (y in {-1, 1}) exactly, by
    FISTA (proximal gradient) instead of liblinear (scikit-learn costs seconds to import; the optimum is the same).
    ``reps [S, N, d]`` or ``[N, d]``; ``pairs [E, 3]`` of (x, y, label); boolean masks ``[S, E]`` or ``[E]``."""
    import torch

    x = torch.as_tensor(np.asarray(reps), dtype=torch.float64)
    single = x.dim() == 2
    if single:
        x = x[None]
    S = x.shape[0]
    feats = x[:, pairs[:, 0]] - x[:, pairs[:, 1]]  # [S, E, d]
    y = torch.as_tensor(pairs[:, 2] * 2 - 1, dtype=torch.float64)
    tr = torch.as_tensor(np.broadcast_to(train, (S, len(pairs))).astype(np.float64))
    te = torch.as_tensor(np.broadcast_to(test, (S, len(pairs))).astype(np.float64))
    ft = feats * tr[..., None]
    lip = C * torch.linalg.matrix_norm(ft, ord=2) ** 2 / 4  # Lipschitz constant of the smooth part's gradient
    step = (1 / lip.clamp_min(1e-12))[:, None]
    w = torch.zeros(S, feats.shape[-1], dtype=torch.float64)
    z, t = w.clone(), 1.0
    for _ in range(iters):
        margin = y * torch.einsum("sed,sd->se", feats, z)
        grad = -C * torch.einsum("se,sed->sd", torch.sigmoid(-margin) * y * tr, feats)
        w_new = z - step * grad
        w_new = torch.sign(w_new) * (w_new.abs() - step).clamp_min(0)  # prox of the L1 norm
        t_new = (1 + (1 + 4 * t * t) ** 0.5) / 2
        z = w_new + (t - 1) / t_new * (w_new - w)
        w, t = w_new, t_new
    pred = (torch.einsum("sed,sd->se", feats, w) > 0).double()
    lab = (y > 0).double()
    out = {"coef": w.numpy()[0] if single else w.numpy()}
    for name, m in (("train_f1", tr), ("test_f1", te)):
        tp = (pred * lab * m).sum(1)
        den = ((pred + lab) * m).sum(1)
        f = torch.where(den > 0, 2 * tp / den.clamp_min(1e-12), torch.zeros_like(tp)).numpy()
        out[name] = f[0] if single else f
    return out


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
    from repro.stack import StackedAdamW  # torch.optim imports torch._dynamo: seconds of start-up

    opt = StackedAdamW({"w": w, "log_s": log_s}, lr=lr, weight_decay=0.0)

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
