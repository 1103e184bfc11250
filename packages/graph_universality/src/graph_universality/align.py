"""Aligning two representations of the same nodes, and stitching toy models.

Maps from a sender's representation ``X [n, dx]`` to a receiver's ``Y [n, dy]`` (rows = the same nodes):
- :func:`lstsq_affine`: closed-form least squares ``Y ~ X A + b`` (Csiszarik et al.'s "direct matching");
- :func:`procrustes`: orthogonal Procrustes (``scipy.linalg.orthogonal_procrustes``) with translation and one global
  scale (dimensions zero-padded to match);
- :func:`best_automorphism`: alignment modulo the tree's automorphisms (the sender's node labels re-assigned by
  the automorphism whose lstsq fit is best), so a mirror-image representation is not scored as misaligned;
- task-trained affine and "almost affine" (affine + a small ReLU MLP whose output layer starts at zero): the map is
  trained on the receiver's task loss with the receiver frozen (:func:`train_toy_stitches`, stacked over pairs).

Scores: ``r2`` of a fitted map, ``linear_cka`` (Kornblith et al. 2019), and the **equivalence score** (v1's term; its
v1 definition is unknown, this is ours): stitched performance relative to the receiver's own,
``equivalence_score = F1(receiver head on mapped sender representation) / F1(receiver)``, on the receiver's held-out
links. 1 means the sender's representation serves the receiver as well as its own. Controls: self-stitch (sender =
receiver: must score 1) and a random sender (a Gaussian table of the sender's shape: must score far lower).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def lstsq_affine(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A [dx, dy], b [dy]`` minimising ``||x A + b - y||^2`` (minimum-norm solution when underdetermined)."""
    xa = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    sol, *_ = np.linalg.lstsq(xa.astype(np.float64), y.astype(np.float64), rcond=None)
    return sol[:-1], sol[-1]


def procrustes(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scaled orthogonal map + translation ``x -> s (x - mx) R + my`` written as an affine ``(A, b)``: ``R`` from
    ``scipy.linalg.orthogonal_procrustes`` on the centred tables (zero-padded to a common width), ``s`` = its sum of
    singular values / ``||x - mx||^2`` (the least-squares scale)."""
    from scipy.linalg import orthogonal_procrustes

    dx, dy = x.shape[1], y.shape[1]
    d = max(dx, dy)
    mx, my = x.mean(0), y.mean(0)
    xc = np.zeros((len(x), d))
    yc = np.zeros((len(y), d))
    xc[:, :dx], yc[:, :dy] = x - mx, y - my
    r, sig_sum = orthogonal_procrustes(xc, yc)
    scale = sig_sum / max((xc**2).sum(), 1e-30)
    a = (scale * r)[:dx, :dy]
    return a, my - mx @ a


def apply(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return x @ a + b


def r2(pred: np.ndarray, y: np.ndarray) -> float:
    """Coefficient of determination pooled over all output dimensions."""
    ss_res = float(((pred - y) ** 2).sum())
    ss_tot = float(((y - y.mean(0)) ** 2).sum())
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA between two representations of the same rows (invariant to rotation and isotropic scale)."""
    xc = x - x.mean(0)
    yc = y - y.mean(0)
    hsic = np.linalg.norm(xc.T @ yc) ** 2
    norm = np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)
    return float(hsic / norm) if norm > 0 else float("nan")


def best_automorphism(x: np.ndarray, y: np.ndarray, perms: np.ndarray) -> tuple[int, float]:
    """The automorphism ``sigma`` (a row of ``perms [K, n]``, see ``graphs.tree_automorphisms``) under which the
    sender's table, read as ``x[sigma]`` (receiver node i <- sender node sigma(i)), is best fitted affinely to
    ``y``: index and R^2 of the least-squares fit. Row 0 (the identity) wins ties, so a representation that is
    already aligned keeps its labels; a mirror image is re-labelled instead of scored as misaligned."""
    xs = np.concatenate([x[perms], np.ones((len(perms), x.shape[0], 1))], axis=2).astype(np.float64)
    q, _ = np.linalg.qr(xs)  # [K, n, dx + 1]: orthonormal basis of each permuted design's column space
    yc = y.astype(np.float64)
    resid = ((yc[None] - q @ (q.transpose(0, 2, 1) @ yc[None])) ** 2).sum((1, 2))
    k = int(np.argmin(resid - 1e-9 * (np.arange(len(perms)) == 0)))
    ss_tot = float(((yc - yc.mean(0)) ** 2).sum())
    return k, 1.0 - float(resid[k]) / ss_tot if ss_tot > 0 else float("nan")


def equivalence_score(stitched: float | np.ndarray, receiver: float | np.ndarray) -> np.ndarray:
    """Stitched performance over the receiver's own (nan where the receiver scores 0)."""
    s, r = np.asarray(stitched, float), np.asarray(receiver, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r > 0, s / np.where(r > 0, r, 1), np.nan)


def train_toy_stitches(
    model,
    senders: Sequence[int],
    receivers: Sequence[int],
    sender_emb: np.ndarray | None = None,
    init: str = "lstsq",
    mlp_hidden: int = 0,
    steps: int = 300,
    lr: float = 1e-2,
) -> dict[str, np.ndarray]:
    """Train P affine (``mlp_hidden=0``) or almost-affine stitches at once, sender ``i`` -> receiver ``j`` of a
    :class:`graph_universality.toy.StackedLinkMLP` (receivers frozen), on each receiver's training links.

    ``sender_emb [P, N, D]`` overrides the senders' embeddings (e.g. a random-sender control); ``init`` is
    ``lstsq`` (the closed-form fit, recommended), ``procrustes`` or ``zero`` (the official LM-stitch init). Returns the held-out
    and training F1 of the stitched models before (``*_init``) and after training, per pair."""
    import torch

    from graph_universality.toy import f1_scores
    from repro.stack import StackedAdamW, train_stacked

    si = torch.as_tensor(list(senders))
    ri = torch.as_tensor(list(receivers))
    P = len(si)
    with torch.no_grad():
        all_emb = model.embeddings()
        src = all_emb[si] if sender_emb is None else torch.as_tensor(sender_emb, dtype=torch.float32)
        dst = all_emb[ri]
    din = model.dmask[si] if sender_emb is None else (src.abs().sum(1) > 0).float()
    dout = model.dmask[ri]
    D = model.D
    a0 = torch.zeros(P, D, D)
    b0 = torch.zeros(P, D)
    if init in ("lstsq", "procrustes"):
        fit = lstsq_affine if init == "lstsq" else procrustes
        for p in range(P):
            xi = src[p][:, din[p] > 0].numpy()
            yj = dst[p][:, dout[p] > 0].numpy()
            a, b = fit(xi, yj)
            a0[p][np.ix_((din[p] > 0).numpy(), (dout[p] > 0).numpy())] = torch.as_tensor(
                a, dtype=torch.float32
            )
            b0[p][dout[p] > 0] = torch.as_tensor(b, dtype=torch.float32)
    elif init != "zero":
        raise ValueError(f"init must be 'lstsq', 'procrustes' or 'zero', got {init!r}")
    amask = din[:, :, None] * dout[:, None, :]
    params = {"a": a0.requires_grad_(True), "b": b0.requires_grad_(True)}
    if mlp_hidden:
        g = torch.Generator().manual_seed(0)
        params["m1"] = ((torch.rand(P, D, mlp_hidden, generator=g) * 2 - 1) / np.sqrt(D)).requires_grad_(True)
        params["m2"] = torch.zeros(P, mlp_hidden, D, requires_grad=True)
    head = {k: v[ri].detach() for k, v in model.params.items()}
    ex = model.examples[ri]
    lab = ex[..., 3]
    tr, te = model.train_w[ri], model.test_w[ri]
    saved = (model.hmask, model.rflag)

    def mapped():
        x = src * din[:, None, :]
        out = torch.bmm(x, params["a"] * amask) + params["b"][:, None, :]
        if mlp_hidden:
            out = out + torch.bmm(torch.relu(torch.bmm(x, params["m1"])), params["m2"])
        return out * dout[:, None, :]

    def logits():
        model.hmask, model.rflag = saved[0][ri], saved[1][ri]
        try:
            return model.head_logits(mapped(), ex, head)
        finally:
            model.hmask, model.rflag = saved

    def loss_fn(step):
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits(), lab.float(), reduction="none")
        return (bce * tr).sum(1) / tr.sum(1).clamp_min(1)

    with torch.no_grad():
        lg = logits()
        out = {
            "test_f1_init": f1_scores(lg, lab, te).numpy(),
            "train_f1_init": f1_scores(lg, lab, tr).numpy(),
        }
    if steps:
        opt = StackedAdamW(params, lr=lr, weight_decay=0.0)
        train_stacked(loss_fn, opt, steps)
    with torch.no_grad():
        lg = logits()
        out["test_f1"] = f1_scores(lg, lab, te).numpy()
        out["train_f1"] = f1_scores(lg, lab, tr).numpy()
    return out
