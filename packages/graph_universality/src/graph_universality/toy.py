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

Two training recipes (:data:`RECIPES`), both with :class:`repro.stack.StackedAdamW` and per-run lr / weight decay:

- ``fast`` (ours, :func:`train_toy`): full batch (every training pair every step) for at most ``steps`` steps, early
  exit when a run's training loss drops below ``stop_loss`` (callers use lr 1e-2);
- ``official`` (:func:`train_toy_official`, the official ``utils.train_one_seed``): minibatches of 16 drawn as
  ``DataLoader(shuffle=True, drop_last=False)`` does, per run (a fresh permutation of the run's own training rows
  every epoch, ``ceil(n / 16)`` steps per epoch, the last batch partial), AdamW lr 1e-3 with torch's default weight
  decay 0.01 (set on the runs by the callers, :data:`OFFICIAL`); after every epoch the loss on the whole training
  set is computed and a run stops when it has not improved by more than 1e-8 for ``patience`` (30) epochs in a row,
  or after ``max_epochs + 1`` epochs (the official loop is ``range(1, max_epochs + 2)``); the run's parameters are
  then reset to its best epoch (the official code reloads its best checkpoint). The official code minimises
  ``BCELoss(sigmoid(logit))``; we use the same loss as ``BCEWithLogits`` (equal up to BCELoss's log clamp at -100),
  with its minibatch gradients written out (:meth:`StackedLinkMLP.batch_grads`) and the epoch-end loss through the
  dense all-pairs head.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from repro.progress import track
from repro.stack import StackedAdamW, train_stacked

RECIPES = ("fast", "official")
# the official toy recipe (spec 1.2, utils.train_one_seed): AdamW lr 1e-3 (weight decay: torch's default 0.01),
# batch 16, early stop with patience 30 epochs on the training-set loss, at most 10k epochs
OFFICIAL = {"lr": 1e-3, "weight_decay": 0.01, "batch_size": 16, "patience": 30, "max_epochs": 10000}
FAST_LR = 1e-2


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

    def select(self, keep: Tensor) -> StackedLinkMLP:
        """The runs ``keep`` (a bool ``[S]`` mask or indices) of this stack, parameters included, same padding."""
        sub = copy.copy(self)
        idx = np.flatnonzero(keep.cpu().numpy()) if keep.dtype == torch.bool else keep.cpu().numpy()
        sub.runs = [self.runs[i] for i in idx]
        sub.params = {k: v.detach()[keep] for k, v in self.params.items()}
        for name in ("dmask", "hmask", "rflag", "examples", "train_w", "test_w"):
            setattr(sub, name, getattr(self, name)[keep])
        return sub

    def embeddings(self) -> Tensor:
        """``[S, N, D]`` masked node embeddings."""
        return self.params["emb"] * self.dmask[:, None, :]

    def head_logits(
        self,
        emb: Tensor,
        examples: Tensor,
        params: dict[str, Tensor] | None = None,
        masks: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        """Logits ``[S, E]`` of the heads on node embeddings ``emb [S, N, D]`` for ``examples [S, E, 4]``
        (``params`` and ``masks`` = (hidden mask, relation flag): those of a subset of the runs; default all)."""
        p = self.params if params is None else params
        hmask, rflag = (self.hmask, self.rflag) if masks is None else masks
        px = torch.bmm(emb, p["w1x"])  # [S, N, H]: project nodes once
        py = torch.bmm(emb, p["w1y"])
        S, N, H = px.shape
        R = p["wr"].shape[1]
        # every (relation, x, y) at once, densely: [S, R, N, N, H] is small for toy graphs, and its backward is a
        # sum, not a scatter over gathered rows (several times faster than gathering pairs first)
        pre = (
            px[:, None, :, None, :]
            + py[:, None, None, :, :]
            + (p["wr"] * rflag[:, None, None])[:, :, None, None, :]
        )
        # in place and with the hidden mask on w2 rather than on h: the same numbers, two passes fewer over
        # [S, R, N, N, H] (the official recipe's epoch-end loss reads this head)
        h = torch.relu_(pre.add_(p["b1"][:, None, None, None, :]))
        dense = torch.einsum("srxyh,sh->srxy", h, p["w2"] * hmask) + p["b2"][:, None, None, None]
        flat = (examples[..., 0] * N + examples[..., 1]) * N + examples[..., 2]
        return dense.reshape(S, R * N * N).gather(1, flat)

    def logits(self) -> Tensor:
        return self.head_logits(self.embeddings(), self.examples)

    def batch_losses(
        self, rows: Tensor, weights: Tensor, runs: Tensor | None = None, dense: bool = False
    ) -> Tensor:
        """Per-run mean BCE ``[S]`` over the example rows ``rows [S, B]`` with weight 1 in ``weights [S, B]`` (a
        minibatch: only its B pairs are computed, not the dense all-pairs head); with ``runs`` (indices ``[S']``)
        only those runs, ``rows`` and ``weights`` then ``[S', B]``. ``dense``: through the all-pairs head
        (:meth:`head_logits`), for a whole training set (848 rows of 1,125 pairs at quick: 4x faster than
        gathering each row's activations)."""
        p, emb, hmask, rflag, examples = self.params, self.embeddings(), self.hmask, self.rflag, self.examples
        if runs is not None:
            p = {k: v[runs] for k, v in p.items()}
            emb, hmask, rflag, examples = emb[runs], hmask[runs], rflag[runs], examples[runs]
        ex = examples.gather(1, rows[..., None].expand(-1, -1, 4))  # [S, B, 4]
        if dense:
            logit = self.head_logits(emb, ex, p, (hmask, rflag))
        else:
            ex_x = emb.gather(1, ex[..., 1:2].expand(-1, -1, emb.shape[-1]))  # [S, B, D]
            ex_y = emb.gather(1, ex[..., 2:3].expand(-1, -1, emb.shape[-1]))
            wr = (p["wr"] * rflag[:, None, None]).gather(1, ex[..., 0:1].expand(-1, -1, p["wr"].shape[-1]))
            pre = torch.bmm(ex_x, p["w1x"]) + torch.bmm(ex_y, p["w1y"]) + wr + p["b1"][:, None, :]
            h = torch.relu(pre) * hmask[:, None, :]
            logit = torch.bmm(h, p["w2"][:, :, None])[..., 0] + p["b2"][:, None]
        bce = torch.nn.functional.binary_cross_entropy_with_logits(
            logit, ex[..., 3].float(), reduction="none"
        )
        return (bce * weights).sum(1) / weights.sum(1).clamp_min(1)

    @torch.no_grad()
    def batch_grads(self, rows: Tensor, weights: Tensor) -> dict[str, Tensor]:
        """The gradients ``{name: [S, ...]}`` of ``batch_losses(rows, weights).sum()``, written out by hand.

        The official recipe's step (batch 16) is bound by per-op overhead, not arithmetic, and autograd's graph of
        :meth:`batch_losses` has about twice the ops of this closed form (each of its three ``bmm`` takes two more
        in the backward): the whole step of the 40-run stack at quick takes 0.78 ms instead of 1.0 (1 thread).
        Equal to autograd up to float rounding (tested)."""
        p, emb, examples = self.params, self.embeddings(), self.examples
        S, B = rows.shape
        D, H = emb.shape[-1], p["b1"].shape[-1]
        ex = examples.gather(1, rows[..., None].expand(-1, -1, 4))  # [S, B, 4]
        xy = torch.cat([ex[..., 1], ex[..., 2]], 1)  # [S, 2B]: the x rows, then the y rows
        exy = emb.gather(1, xy[..., None].expand(-1, -1, D))
        ex_x, ex_y = exy[:, :B], exy[:, B:]
        wr = p["wr"] * self.rflag[:, None, None]
        rel = ex[..., 0:1].expand(-1, -1, H)
        pre = torch.baddbmm(wr.gather(1, rel) + p["b1"][:, None, :], ex_x, p["w1x"]).baddbmm_(ex_y, p["w1y"])
        w2 = p["w2"] * self.hmask  # masked hidden units: no activation, so no gradient
        h = torch.relu(pre)
        logit = torch.bmm(h, w2[:, :, None])[..., 0] + p["b2"][:, None]
        # d(mean weighted BCE)/d logit = (sigmoid - label) * weight / sum(weights)
        g = (torch.sigmoid(logit) - ex[..., 3].float()) * (
            weights / weights.sum(1, keepdim=True).clamp_min(1)
        )
        dpre = (g[:, :, None] * w2[:, None, :]) * (pre > 0)
        dexy = torch.cat(
            [torch.bmm(dpre, p["w1x"].transpose(1, 2)), torch.bmm(dpre, p["w1y"].transpose(1, 2))], 1
        )
        return {
            "emb": torch.zeros_like(emb).scatter_add_(1, xy[..., None].expand(-1, -1, D), dexy)
            * self.dmask[:, None, :],
            "w1x": torch.bmm(ex_x.transpose(1, 2), dpre),
            "w1y": torch.bmm(ex_y.transpose(1, 2), dpre),
            "wr": torch.zeros_like(wr).scatter_add_(1, rel, dpre) * self.rflag[:, None, None],
            "b1": dpre.sum(1),
            "w2": torch.bmm(g[:, None, :], h)[:, 0] * self.hmask,
            "b2": g.sum(1),
        }

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


class LoaderBatches:
    """Per-run ``DataLoader(shuffle=True, batch_size=B, drop_last=False)`` over each run's training rows, stacked.

    Run r (``n_r`` training rows) takes ``ceil(n_r / B)`` steps per epoch; each epoch is a fresh permutation of its
    rows from its own ``torch.Generator(seed_r)`` (so its batches do not depend on the rest of the stack), cut into
    batches of B, the last one partial (its missing rows weigh 0). ``next()`` gives the step's example rows and
    weights ``[S, B]``; ``epoch_ends(k)``: the runs that finish an epoch with their k-th step (host, numpy).
    """

    def __init__(self, train_w: Tensor, batch_size: int, seeds: Sequence[int]):
        tw = train_w.cpu().numpy() > 0
        self.rows = [torch.from_numpy(np.flatnonzero(t)) for t in tw]
        self.n = np.array([len(r) for r in self.rows])
        if self.n.min() < 1:
            raise ValueError("every run needs at least one training example")
        self.batch_size = batch_size
        self.per_epoch = -(-self.n // batch_size)
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.order = torch.zeros(len(self.n), int(self.per_epoch.max()) * batch_size, dtype=torch.long)
        self.valid = torch.zeros_like(self.order, dtype=torch.float32)
        self.device = train_w.device
        self.step = 0
        # every run's training rows, padded (the training-set loss after each epoch)
        self.all_rows = torch.zeros(len(self.n), int(self.n.max()), dtype=torch.long)
        self.all_valid = torch.zeros(len(self.n), int(self.n.max()))
        for r, rows in enumerate(self.rows):
            self.all_rows[r, : len(rows)] = rows
            self.all_valid[r, : len(rows)] = 1
        self.all_rows, self.all_valid = self.all_rows.to(self.device), self.all_valid.to(self.device)

    def select(self, keep: Tensor) -> LoaderBatches:
        """The batch streams of the runs ``keep`` (a bool ``[S]`` mask), each where it was."""
        sub = copy.copy(self)
        k = keep.cpu().numpy()
        idx = np.flatnonzero(k)
        sub.rows, sub.generators = [self.rows[i] for i in idx], [self.generators[i] for i in idx]
        sub.n, sub.per_epoch = self.n[k], self.per_epoch[k]
        sub.order, sub.valid = self.order[keep.cpu()], self.valid[keep.cpu()]
        sub.all_rows, sub.all_valid = self.all_rows[keep], self.all_valid[keep]
        return sub

    def epoch_ends(self, steps_done: int) -> np.ndarray:
        return (steps_done > 0) & (steps_done % self.per_epoch == 0)

    def next(self) -> tuple[Tensor, Tensor]:
        pos = self.step % self.per_epoch
        for r in np.flatnonzero(pos == 0):  # new epoch: a fresh permutation of the run's rows
            perm = self.rows[r][torch.randperm(int(self.n[r]), generator=self.generators[r])]
            self.order[r] = 0
            self.valid[r] = 0
            self.order[r, : self.n[r]] = perm
            self.valid[r, : self.n[r]] = 1
        cols = torch.from_numpy(pos * self.batch_size)[:, None] + torch.arange(self.batch_size)
        self.step += 1
        rows, w = self.order.gather(1, cols), self.valid.gather(1, cols)
        return rows.to(self.device), w.to(self.device)


def train_toy_official(
    runs: Sequence[ToyRun],
    max_epochs: int = OFFICIAL["max_epochs"],
    batch_size: int = OFFICIAL["batch_size"],
    patience: int = OFFICIAL["patience"],
    min_delta: float = 1e-8,
    max_steps: int = 0,
    desc: str | None = None,
    device: str = "cpu",
    compact_every: int = 1024,
) -> tuple[StackedLinkMLP, dict[str, np.ndarray]]:
    """The official recipe (module docstring) for every run as one stack; returns the model (reset to each run's
    best epoch) and per-run metrics, with ``epochs`` (epochs run), ``best_epoch`` and ``epoch_cap``. The runs' own
    lr and weight decay are used (the official ones: :data:`OFFICIAL`). ``max_steps`` > 0 (below paper scale)
    caps each run at the whole epochs that fit in ``max_steps`` optimiser steps (at least one epoch) when that is
    fewer than ``max_epochs + 1``.

    Every ``compact_every`` steps the runs that have stopped leave the stack (model, optimiser state and batch
    streams re-packed to the live runs): early stopping ends runs anywhere between a few hundred and 10k epochs, and
    a frozen run would otherwise cost a live one's step to the end. Re-packing changes nothing but float rounding:
    some of torch's vectorised kernels (``sigmoid`` among them) round an element differently depending on the size
    of the tensor it is in, so a run's last digits depend on how many runs share its stack."""
    full = StackedLinkMLP(runs, device=device)
    # every parameter packed into one [S, P] leaf (AdamW applies to all of them alike, as the official
    # model.parameters()): the optimiser, the best-epoch snapshot and the re-packing of the stack each handle one
    # tensor, and the hand-written gradients are packed the same way
    names = list(full.params)
    shapes = {k: full.params[k].shape[1:] for k in names}
    sizes = [int(np.prod(shapes[k])) for k in names]
    S = len(runs)

    def pack(parts: dict[str, Tensor]) -> Tensor:
        return torch.cat([parts[k].reshape(len(parts[k]), -1) for k in names], 1)

    def unpack(flat: Tensor) -> dict[str, Tensor]:
        parts = flat.split(sizes, dim=1)
        return {k: t.reshape(len(flat), *shapes[k]) for k, t in zip(names, parts, strict=True)}

    flat = pack({k: v.detach() for k, v in full.params.items()}).requires_grad_(True)
    opt = StackedAdamW({"flat": flat}, lr=[r.lr for r in runs], weight_decay=[r.weight_decay for r in runs])
    # the batch order's seed: the run's seed, offset so it is not the stream that initialised the run
    batches = LoaderBatches(full.train_w, batch_size, [r.seed + 7919 for r in runs])
    model = full.select(torch.arange(S, device=device))
    # per-run state over the whole stack (indexed by run); ``live``: the runs now in the stack, in stack order
    best = torch.full((S,), float("inf"), device=device)
    bad = torch.zeros(S, dtype=torch.long, device=device)
    epochs = torch.zeros(S, dtype=torch.long, device=device)
    best_epoch = torch.zeros(S, dtype=torch.long, device=device)
    snapshot = flat.detach().clone()
    cap_np = np.full(S, max_epochs + 1)
    if max_steps > 0:
        cap_np = np.minimum(cap_np, np.maximum(1, max_steps // batches.per_epoch))
    cap = torch.from_numpy(cap_np).to(device)
    budget = torch.from_numpy(cap_np * batches.per_epoch).to(device)
    stopped_at = budget.clone()
    live = torch.arange(S, device=device)
    last = [-1]

    def loss_fn(step: int) -> dict[str, Tensor]:
        rows, w = batches.next()
        model.params = unpack(flat)
        return {"flat": pack(model.batch_grads(rows, w))}

    def eval_fn(_: int) -> Tensor | None:
        done_steps = batches.step  # steps taken by the stack since the start (segments restart train_stacked)
        ends_np = batches.epoch_ends(done_steps)
        if done_steps == last[0] or not ends_np.any():  # (train_stacked's closing call can repeat a step)
            return None
        last[0] = done_steps
        ended = torch.from_numpy(ends_np).to(device)
        ends = ended & (epochs[live] < cap[live]) & (bad[live] < patience)
        who = torch.from_numpy(np.flatnonzero(ends_np)).to(device)
        width = int(batches.n[ends_np].max())  # the training-set loss of the runs that finished an epoch
        with torch.no_grad():
            model.params = unpack(flat)
            part = model.batch_losses(
                batches.all_rows[who, :width], batches.all_valid[who, :width], who, dense=True
            )
            loss = torch.full((len(live),), float("inf"), device=device).index_copy_(0, who, part)
        epochs[live] += ends.long()
        better = ends & (loss + min_delta < best[live])
        best[live] = torch.where(better, loss, best[live])
        best_epoch[live] = torch.where(better, epochs[live], best_epoch[live])
        was = bad[live] >= patience
        bad[live] = torch.where(better, 0, torch.where(ends, bad[live] + 1, bad[live]))
        snapshot[live] = torch.where(better[:, None], flat.detach(), snapshot[live])
        stop = bad[live] >= patience
        newly = live[stop & ~was & (budget[live] > done_steps)]
        stopped_at[newly] = done_steps
        return stop

    segments = range(-(-int(budget.max()) // compact_every))
    for _ in (
        track(segments, desc) if desc else segments
    ):  # a segment: compact_every steps (or fewer: see keep)
        seg = (budget[live] - batches.step).clamp(0, compact_every)
        train_stacked(loss_fn, opt, seg, eval_fn=eval_fn, eval_every=1)
        keep = (bad[live] < patience) & (budget[live] > batches.step)
        if not bool(keep.any()):
            break
        if not bool(keep.all()):
            opt = opt.subset(keep)
            flat = opt.params["flat"]
            model, batches, live = model.select(keep), batches.select(keep), live[keep]
    full.params = {k: v.detach().clone().requires_grad_(True) for k, v in unpack(snapshot).items()}
    met = evaluate(full, stopped_at)
    met["epochs"] = epochs.cpu().numpy()
    met["best_epoch"] = best_epoch.cpu().numpy()
    met["epoch_cap"] = cap_np
    return full, met


def train_recipe(
    runs: Sequence[ToyRun],
    recipe: str,
    steps: int,
    max_epochs: int,
    max_steps: int = 0,
    desc: str | None = None,
) -> tuple[StackedLinkMLP, dict[str, np.ndarray]]:
    """Train ``runs`` with one of :data:`RECIPES`: ``fast`` for ``steps`` full-batch steps, ``official`` for at most
    ``max_epochs`` (+1) epochs (and ``max_steps`` optimiser steps when > 0). The runs carry the recipe's lr
    (:func:`recipe_lr`), init and weight decay (official: 0.01 where it is not a knob)."""
    if recipe == "fast":
        return train_toy(runs, steps, desc=desc)
    if recipe == "official":
        return train_toy_official(runs, max_epochs, max_steps=max_steps, desc=desc)
    raise ValueError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")


def recipe_lr(recipe: str) -> float:
    """The learning rate of a recipe (``fast``: ours, 1e-2; ``official``: 1e-3)."""
    return OFFICIAL["lr"] if recipe == "official" else FAST_LR


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
