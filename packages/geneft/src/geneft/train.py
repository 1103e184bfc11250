"""Stacked training of many GenEFT runs at once, with first-crossing times, phases (Table IV) and early exit.

:func:`train_stack` trains S runs that share an :class:`~geneft.model.Arch` (one relation, combiner, decoder shape)
but differ in seed (init and split), train fraction, encoder and decoder learning rates and decoder weight decay.
It reuses :mod:`repro.stack`: ``StackedAdamW`` / ``StackedSGD`` with per-run, per-parameter learning rates (the
embedding table gets ``lr_enc``, every decoder parameter ``lr_dec`` and ``wd_dec``) and ``train_stacked``'s loop.

- Loss: binary cross-entropy on the logit, averaged over each run's training pairs (full batch). Runs with different
  fractions are padded to the largest training set *of the runs still training* with zero-weight rows (re-trimmed
  whenever finished runs leave the stack).
- Evaluation every ``eval_every`` steps on all 900 pairs: train and test accuracy, and the first evaluated step at
  which each exceeds ``threshold`` (0.9; -1 when never).
- Early exit (``stop``): ``"phase"`` freezes a run once both accuracies have crossed the threshold (its phase is then
  decided); ``"perfect"`` once every training and test pair is classified correctly; ``None`` runs the full budget.

:func:`fraction_sweep` wraps it for accuracy against the train fraction (Figs. 2 and 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from geneft.model import Arch, forward, init_params
from geneft.task import all_pairs, labels, split
from geneft.theory import N_SYMBOLS
from repro.stack import StackedAdamW, StackedSGD, per_run, train_stacked

PHASES = ("generalization", "grokking", "memorization", "confusion")
OPTIMIZERS = ("adam", "sgd")


def classify(t_train, t_test, grok_gap: int = 1000) -> np.ndarray:
    """Table IV as a pure function of first-crossing steps (-1 = never): an array of phase indices into PHASES.

    generalization: both cross, test within ``grok_gap`` steps of train; grokking: both cross, test later by at least
    ``grok_gap``; memorization: train crosses, test never; confusion: train never crosses.
    """
    t_train, t_test = np.asarray(t_train), np.asarray(t_test)
    out = np.full(t_train.shape, 3)
    trained = t_train >= 0
    out[trained & (t_test < 0)] = 2
    both = trained & (t_test >= 0)
    out[both & (t_test - t_train >= grok_gap)] = 1
    out[both & (t_test - t_train < grok_gap)] = 0
    return out


@dataclass(frozen=True)
class Runs:
    """Per-run settings of one stack (all sequences of length S)."""

    seeds: Sequence[int]
    fractions: Sequence[float]
    lr_enc: Sequence[float]
    lr_dec: Sequence[float]
    wd_dec: Sequence[float]

    def __post_init__(self) -> None:
        n = len(self.seeds)
        for name in ("fractions", "lr_enc", "lr_dec", "wd_dec"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Runs.{name} has {len(getattr(self, name))} entries, seeds has {n}")

    @classmethod
    def grid(cls, **columns: Any) -> Runs:
        """Broadcast scalars to the length of the list-valued columns."""
        n = max((len(v) for v in columns.values() if isinstance(v, list | tuple | np.ndarray)), default=1)
        full = {
            k: list(v) if isinstance(v, list | tuple | np.ndarray) else [v] * n for k, v in columns.items()
        }
        return cls(**full)


def train_stack(
    relation: str | Sequence[str],
    arch: Arch,
    runs: Runs,
    steps: int,
    optimizer: str = "adam",
    eval_every: int = 50,
    threshold: float = 0.9,
    stop: str | None = "phase",
    device: str | None = None,
    keep_embeddings: bool = False,
    compact_every: int = 500,
    progress: Any = None,
    widths: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Train S runs (one relation, or one per run; ``widths``: per-run decoder widths, zero-padded to
    ``arch.width``, see :func:`geneft.model.init_params`); returns plain arrays (``[S]`` unless noted). See the module docstring."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    n = N_SYMBOLS
    S = len(runs.seeds)
    pairs = torch.as_tensor(all_pairs(n), device=dev)
    rels = [relation] * S if isinstance(relation, str) else list(relation)
    if len(rels) != S:
        raise ValueError(f"{len(rels)} relations for {S} runs")
    y_all = torch.as_tensor(np.stack([labels(r, n) for r in rels]), device=dev)  # [S, n^2]
    splits = [split(f, int(s), n) for f, s in zip(runs.fractions, runs.seeds, strict=True)]
    n_tr = np.array([len(tr) for tr, _ in splits])
    width = int(n_tr.max())
    tr_idx = np.zeros((S, width), np.int64)
    tr_w = np.zeros((S, width), np.float32)
    train_mask = np.zeros((S, n * n), bool)
    for r, (tr, _) in enumerate(splits):
        tr_idx[r, : len(tr)] = tr
        tr_w[r, : len(tr)] = 1.0 / len(tr)
        train_mask[r, tr] = True
    tr_idx_t = torch.as_tensor(tr_idx, device=dev)
    n_tr_t = torch.as_tensor(n_tr, device=dev)
    tr_w_t = torch.as_tensor(tr_w, device=dev)
    x1, x2, y_tr = pairs[tr_idx_t, 0], pairs[tr_idx_t, 1], y_all.gather(1, tr_idx_t)
    train_mask_t = torch.as_tensor(train_mask, device=dev)
    test_mask_t = ~train_mask_t
    cx1 = cx2 = cy = cw = None

    params = init_params(arch, list(runs.seeds), n, dev, None if widths is None else list(widths))
    lr_dec = per_run(runs.lr_dec, S, dev)
    kw = {"param_lr": {"emb": per_run(runs.lr_enc, S, dev)}, "param_weight_decay": {"emb": 0.0}}
    if optimizer == "adam":
        opt: StackedAdamW | StackedSGD = StackedAdamW(params, lr=lr_dec, weight_decay=runs.wd_dec, **kw)
    else:
        opt = StackedSGD(params, lr=lr_dec, weight_decay=runs.wd_dec, **kw)

    # The stack holds only unfinished runs: every ``compact_every`` steps, finished runs are dropped (their final
    # numbers are already recorded), so memorising runs that need the whole budget do not pay for finished ones.
    live = torch.arange(S, device=dev)  # global index of each row of the current stack
    t_train = torch.full((S,), -1, dtype=torch.long, device=dev)
    t_test = torch.full((S,), -1, dtype=torch.long, device=dev)
    acc = {k: torch.zeros(S, device=dev) for k in ("train", "test", "full")}
    done = torch.zeros(S, dtype=torch.bool, device=dev)
    curve_steps: list[int] = []
    curve_train: list[torch.Tensor] = []
    curve_test: list[torch.Tensor] = []
    emb_final = torch.zeros(S, n, arch.d, device=dev)
    state = {"offset": 0, "last_eval": -1}

    def loss_fn(step: int) -> torch.Tensor:
        logits = forward(opt.params, arch, cx1, cx2)
        bce = F.binary_cross_entropy_with_logits(logits, cy, reduction="none")
        return (bce * cw).sum(1)

    @torch.no_grad()
    def eval_fn(local_step: int) -> torch.Tensor | None:
        step = state["offset"] + local_step
        if step == state["last_eval"]:
            return done[live]
        state["last_eval"] = step
        correct = (forward(opt.params, arch, pairs[:, 0], pairs[:, 1]) > 0) == (y_all[live] > 0.5)
        trm, tem = train_mask_t[live], test_mask_t[live]
        tr_acc = (correct & trm).sum(1) / trm.sum(1)
        te_acc = (correct & tem).sum(1) / tem.sum(1).clamp_min(1)
        acc["train"][live], acc["test"][live] = tr_acc, te_acc
        acc["full"][live] = correct.float().mean(1)
        emb_final[live] = opt.params["emb"].detach()
        tt, ts = t_train[live], t_test[live]
        t_train[live] = torch.where((tt < 0) & (tr_acc > threshold), step, tt)
        t_test[live] = torch.where((ts < 0) & (te_acc > threshold), step, ts)
        curve_steps.append(step)
        curve_train.append(acc["train"].clone())
        curve_test.append(acc["test"].clone())
        if stop == "phase":
            done[live] = (t_train[live] >= 0) & (t_test[live] >= 0)
        elif stop == "perfect":
            done[live] = correct.all(1)
        return done[live]

    compact_every = max(eval_every, (compact_every // max(eval_every, 1)) * max(eval_every, 1))
    steps_run = 0
    while state["offset"] < steps:
        # the live runs' training pairs, padded only to the largest live training set: when the runs with the
        # larger fractions have finished, the rest stop paying for their padding (zero-weight rows; exact)
        wide = int(n_tr_t[live].max())
        cx1, cx2, cy, cw = (t[live, :wide] for t in (x1, x2, y_tr, tr_w_t))
        seg = min(compact_every if stop else steps, steps - state["offset"])
        log = train_stacked(loss_fn, opt, seg, eval_fn=eval_fn, eval_every=eval_every, desc=None)
        steps_run = state["offset"] + log.steps_run
        state["offset"] += seg
        keep = ~done[live]
        if not bool(keep.any()):
            break
        if not bool(keep.all()):
            opt = opt.subset(keep)
            live = live[keep]
        if progress is not None:
            progress(state["offset"], int((~done).sum()))
    stopped = torch.where(done, t_test.clamp_min(0).maximum(t_train), torch.full_like(t_train, steps_run))
    out: dict[str, Any] = {
        "t_train": t_train.cpu().numpy(),
        "t_test": t_test.cpu().numpy(),
        "train_acc": acc["train"].cpu().numpy(),
        "test_acc": acc["test"].cpu().numpy(),
        "full_acc": acc["full"].cpu().numpy(),
        "stopped_at": stopped.cpu().numpy(),
        "steps_run": steps_run,
        "curve_steps": np.array(curve_steps),
        "curve_train": torch.stack(curve_train).cpu().numpy(),  # [evals, S]
        "curve_test": torch.stack(curve_test).cpu().numpy(),
        "n_train": n_tr,
    }
    if keep_embeddings:
        out["embeddings"] = emb_final.cpu().numpy()
    return out


def fraction_groups(fractions: Sequence[float], ratio: float = 2.0) -> list[list[int]]:
    """Indices of ``fractions`` grouped into stacks: sorted, a new group whenever a fraction exceeds ``ratio`` times
    its group's smallest. A stack pads every run to its largest training set, so one stack over fractions 0.05-0.5
    pays for 450 pairs per run where the mean is 200; grouping bounds the padding at ``ratio`` x while keeping the
    stacks few (each stack pays the per-step Python overhead once)."""
    order = sorted(range(len(fractions)), key=lambda i: fractions[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and fractions[i] <= ratio * fractions[groups[-1][0]]:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def fraction_sweep(
    relations: tuple[str, ...],
    fractions: tuple[float, ...],
    seeds: tuple[int, ...],
    arch: Arch,
    steps: int,
    lr: float,
    eval_every: int,
    desc: str,
) -> dict[str, Any]:
    """Accuracy of networks trained at each train fraction: ``{"full"|"train": {relation: [fractions, seeds]}}``
    (on all 900 pairs, and on each run's training pairs). See :func:`fraction_sweeps`."""
    return fraction_sweeps([(arch, relations, desc)], fractions, seeds, steps, lr, eval_every)[0]


def fraction_sweeps(
    sweeps: Sequence[tuple[Arch, tuple[str, ...], str]],
    fractions: tuple[float, ...],
    seeds: tuple[int, ...],
    steps: int,
    lr: float,
    eval_every: int,
) -> list[dict[str, Any]]:
    """:func:`fraction_sweep` for several ``(arch, relations, desc)`` at once, one result each.

    One stack per (sweep, group of similar fractions) (:func:`fraction_groups`; relations x fractions x seeds in it,
    smaller training sets padded to the group's largest), all handed out to single-threaded worker processes as they
    free up when the unit has the threads (:mod:`repro.parallel`): many stacks of one pool keep the workers busy
    where one pool per sweep, or one stack per sweep, left one idle. Runs stop once every pair is classified correctly
    (``stop="perfect"``) or at ``steps``. Every run trains as alone (its own seed, split and optimiser state), so the
    grouping changes the cost, not the runs (up to rounding: see :func:`geneft.phase.phase_grid`).
    """
    from repro.parallel import map_single_threaded, n_workers

    groups = fraction_groups(fractions)
    jobs = [
        (relations, fractions, seeds, group, arch, steps, lr, eval_every, desc)
        for arch, relations, desc in sweeps
        for group in groups
    ]
    done = iter(map_single_threaded(_fraction_group, jobs, n_workers(len(jobs))))
    out = []
    for _, relations, _ in sweeps:
        shape = (len(relations), len(fractions), len(seeds))
        full, train = np.zeros(shape), np.zeros(shape)
        for group in groups:
            res = next(done)
            cells = [(ri, fi, si) for ri in range(len(relations)) for fi in group for si in range(len(seeds))]
            for k, (ri, fi, si) in enumerate(cells):
                full[ri, fi, si], train[ri, fi, si] = res["full_acc"][k], res["train_acc"][k]
        out.append(
            {
                "full": {r: full[i] for i, r in enumerate(relations)},
                "train": {r: train[i] for i, r in enumerate(relations)},
            }
        )
    return out


def _fraction_group(job: tuple) -> dict[str, Any]:
    """One stack of :func:`fraction_sweep`: every relation x (fraction in the group) x seed."""
    from repro.progress import status

    relations, fractions, seeds, group, arch, steps, lr, eval_every, desc = job
    cells = [(ri, fi, si) for ri in range(len(relations)) for fi in group for si in range(len(seeds))]
    runs = Runs(
        seeds=[seeds[si] for _, _, si in cells],
        fractions=[fractions[fi] for _, fi, _ in cells],
        lr_enc=[lr] * len(cells),
        lr_dec=[lr] * len(cells),
        wd_dec=[0.0] * len(cells),
    )
    return train_stack(
        [relations[ri] for ri, _, _ in cells],
        arch,
        runs,
        steps,
        eval_every=eval_every,
        stop="perfect",
        progress=lambda step, left: status(f"{desc}: step {step}/{steps}, {left} runs training"),
    )
