"""Toy link predictors, trained stacked: many runs (seeds x knob values x graphs) as one model.

The model is the official v2 ``DescendantProbe`` generalised to several relations:
``logit(r, x, y) = w2 . relu(W1x e_x + W1y e_y + [R > 1] W_r[r] + b1) + b2`` with a node embedding table ``e``
(``emb_dim`` wide) shared by every relation, i.e. ``Linear(concat(e_x, e_y) [+ one-hot(r)], hidden) -> ReLU ->
Linear(hidden, 1)``, sigmoid + BCE. With one relation it is exactly the v2 model. The "starvation" knobs of v1 are
per-run: embedding width, hidden width, weight decay, the number of relations competing for the one embedding
table, and the train fraction (through the split each run is given).

Runs of different widths share one stack: every run is padded to the largest width and the padding is masked out of
the forward pass (masked embedding columns and hidden units get zero gradient and start at zero, so weight decay
keeps them there): each run computes exactly its own smaller model. Each run initialises its true-shape parameters
from its own ``torch.Generator(seed)`` (``nn.Linear``'s default uniform init; embeddings zero as in the official
code, or N(0, emb_init_std^2)), so a run's numbers do not depend on what else is in the stack.

Training is full batch (every training pair every step; the official code uses batch 16 for up to 10k epochs)
with :class:`repro.stack.StackedAdamW`, early exit when a run's training loss drops below ``stop_loss``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from repro.stack import StackedAdamW, train_stacked


@dataclass(frozen=True)
class ToyRun:
    """One toy run: its data (examples + train/test masks) and its knobs."""

    examples: np.ndarray  # [E, 4] (relation, x, y, label)
    train: np.ndarray  # [E] bool
    test: np.ndarray  # [E] bool
    n_nodes: int
    n_relations: int
    emb_dim: int = 2
    hidden: int = 50
    weight_decay: float = 0.0
    lr: float = 1e-2
    seed: int = 0
    emb_init_std: float = 0.0  # 0 = zeros (official); 1 = nn.Embedding's default N(0, 1)


def _uniform(g: torch.Generator, shape: tuple[int, ...], fan_in: int) -> Tensor:
    bound = 1.0 / np.sqrt(max(fan_in, 1))
    return (torch.rand(shape, generator=g) * 2 - 1) * bound


class StackedLinkMLP:
    """Stacked parameters ``{name: [S, ...]}`` + width masks of S toy link predictors."""

    def __init__(self, runs: Sequence[ToyRun], device: str = "cpu"):
        self.runs = list(runs)
        S = len(runs)
        self.N = max(r.n_nodes for r in runs)
        self.D = max(r.emb_dim for r in runs)
        self.H = max(r.hidden for r in runs)
        self.R = max(r.n_relations for r in runs)
        N, D, H, R = self.N, self.D, self.H, self.R
        p = {
            "emb": torch.zeros(S, N, D),
            "w1x": torch.zeros(S, D, H),
            "w1y": torch.zeros(S, D, H),
            "wr": torch.zeros(S, R, H),
            "b1": torch.zeros(S, H),
            "w2": torch.zeros(S, H),
            "b2": torch.zeros(S),
        }
        self.dmask = torch.zeros(S, D)
        self.hmask = torch.zeros(S, H)
        self.rflag = torch.zeros(S)
        for s, r in enumerate(runs):
            g = torch.Generator().manual_seed(int(r.seed))
            d, h, n = r.emb_dim, r.hidden, r.n_nodes
            fan1 = 2 * d + (r.n_relations if r.n_relations > 1 else 0)
            w1 = _uniform(g, (h, fan1), fan1)  # nn.Linear(fan1, h).weight layout
            p["w1x"][s, :d, :h] = w1[:, :d].T
            p["w1y"][s, :d, :h] = w1[:, d : 2 * d].T
            if r.n_relations > 1:
                p["wr"][s, : r.n_relations, :h] = w1[:, 2 * d :].T
                self.rflag[s] = 1.0
            p["b1"][s, :h] = _uniform(g, (h,), fan1)
            p["w2"][s, :h] = _uniform(g, (h,), h)
            p["b2"][s] = _uniform(g, (1,), h)[0]
            if r.emb_init_std > 0:
                p["emb"][s, :n, :d] = torch.randn(n, d, generator=g) * r.emb_init_std
            self.dmask[s, :d] = 1
            self.hmask[s, :h] = 1
        self.params = {k: v.to(device).requires_grad_(True) for k, v in p.items()}
        self.dmask, self.hmask, self.rflag = (
            self.dmask.to(device),
            self.hmask.to(device),
            self.rflag.to(device),
        )
        # padded examples [S, E, 4] and float masks
        E = max(len(r.examples) for r in runs)
        ex = np.zeros((S, E, 4), dtype=np.int64)
        tr = np.zeros((S, E), dtype=np.float32)
        te = np.zeros((S, E), dtype=np.float32)
        for s, r in enumerate(runs):
            ex[s, : len(r.examples)] = r.examples
            tr[s, : len(r.examples)] = r.train
            te[s, : len(r.examples)] = r.test
        self.examples = torch.from_numpy(ex).to(device)
        self.train_w = torch.from_numpy(tr).to(device)
        self.test_w = torch.from_numpy(te).to(device)

    def embeddings(self) -> Tensor:
        """``[S, N, D]`` masked node embeddings."""
        return self.params["emb"] * self.dmask[:, None, :]

    def head_logits(self, emb: Tensor, examples: Tensor, params: dict[str, Tensor] | None = None) -> Tensor:
        """Logits ``[S, E]`` of the heads on node embeddings ``emb [S, N, D]`` for ``examples [S, E, 4]``."""
        p = self.params if params is None else params
        px = torch.bmm(emb, p["w1x"])  # [S, N, H]: project nodes once
        py = torch.bmm(emb, p["w1y"])
        S, N, H = px.shape
        R = p["wr"].shape[1]
        # every (relation, x, y) at once, densely: [S, R, N, N, H] is small for toy graphs, and its backward is a
        # sum, not a scatter over gathered rows (several times faster than gathering pairs first)
        pre = (
            px[:, None, :, None, :]
            + py[:, None, None, :, :]
            + (p["wr"] * self.rflag[:, None, None])[:, :, None, None, :]
            + p["b1"][:, None, None, None, :]
        )
        h = torch.relu(pre) * self.hmask[:, None, None, None, :]
        dense = torch.einsum("srxyh,sh->srxy", h, p["w2"]) + p["b2"][:, None, None, None]
        flat = (examples[..., 0] * N + examples[..., 1]) * N + examples[..., 2]
        return dense.reshape(S, R * N * N).gather(1, flat)

    def logits(self) -> Tensor:
        return self.head_logits(self.embeddings(), self.examples)

    def losses(self, weights: Tensor) -> Tensor:
        """Per-run mean BCE ``[S]`` over the examples with weight 1 in ``weights [S, E]``."""
        lab = self.examples[..., 3].float()
        bce = torch.nn.functional.binary_cross_entropy_with_logits(self.logits(), lab, reduction="none")
        return (bce * weights).sum(1) / weights.sum(1).clamp_min(1)


def f1_scores(logits: Tensor, labels: Tensor, weights: Tensor) -> Tensor:
    """Per-run F1 ``[S]`` of ``logits > 0`` on the examples with weight 1 (0 when there is no positive)."""
    pred = (logits > 0).float() * weights
    lab = labels.float() * weights
    tp = (pred * lab).sum(-1)
    denom = pred.sum(-1) + lab.sum(-1)
    return torch.where(denom > 0, 2 * tp / denom.clamp_min(1e-12), torch.zeros_like(tp))


def train_toy(
    runs: Sequence[ToyRun],
    steps: int,
    stop_loss: float = 1e-3,
    eval_every: int = 100,
    desc: str | None = None,
    device: str = "cpu",
) -> tuple[StackedLinkMLP, dict[str, np.ndarray]]:
    """Train every run as one stack; returns the model and per-run metrics (numpy)."""
    model = StackedLinkMLP(runs, device=device)
    opt = StackedAdamW(
        model.params,
        lr=[r.lr for r in runs],
        weight_decay=[r.weight_decay for r in runs],
    )

    def loss_fn(step: int) -> Tensor:
        return model.losses(model.train_w)

    def eval_fn(step: int) -> Tensor:
        with torch.no_grad():
            return model.losses(model.train_w) < stop_loss

    log = train_stacked(loss_fn, opt, steps, eval_fn=eval_fn, eval_every=eval_every, desc=desc)
    return model, evaluate(model, log.stopped_at)


@torch.no_grad()
def evaluate(model: StackedLinkMLP, stopped_at: Tensor | None = None) -> dict[str, np.ndarray]:
    logits = model.logits()
    lab = model.examples[..., 3]
    out = {
        "train_f1": f1_scores(logits, lab, model.train_w).cpu().numpy(),
        "test_f1": f1_scores(logits, lab, model.test_w).cpu().numpy(),
        "train_loss": model.losses(model.train_w).cpu().numpy(),
        "n_params": np.array([n_params(r) for r in model.runs]),
    }
    # per relation held-out F1 [S, R] (nan where a run lacks the relation)
    per = np.full((len(model.runs), model.R), np.nan)
    for r in range(model.R):
        w = model.test_w * (model.examples[..., 0] == r).float()
        f = f1_scores(logits, lab, w).cpu().numpy()
        has = (w.sum(1) > 0).cpu().numpy()
        per[has, r] = f[has]
    out["test_f1_per_relation"] = per
    if stopped_at is not None:
        out["stopped_at"] = stopped_at.cpu().numpy()
    return out


def n_params(run: ToyRun) -> int:
    d, h, R = run.emb_dim, run.hidden, run.n_relations
    fan1 = 2 * d + (R if R > 1 else 0)
    return run.n_nodes * d + fan1 * h + h + h + 1
