"""Phase diagrams (Table IV) over learning rates and weight decay, and what Figs. 5, 6 and 8 read from them.

:func:`phase_grid` trains every (weight decay, encoder lr, decoder lr, seed) cell as one stack and classifies each
run by :func:`geneft.train.classify`; with ``apart`` one stack per (weight decay, seed) in worker processes
(Fig. 8); :func:`lr_sweep` is the ``geneft.lr_sweep`` stage (one stack per optimiser and seed, likewise).
The analysis is pure numpy on phase indices (0 generalization, 1 grokking, 2 memorization, 3 confusion):
:func:`cell_phase` (majority over seeds), :func:`ratio_diagonals` (Fig. 6's network points),
:func:`boundary_agreement` and :func:`crossing_speedup` (Fig. 8), and the claims of Fig. 5 (:func:`lr_sweep_claims`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def grid_axes(cfg: Any, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """The (encoder, decoder) learning rates of ``cfg`` (a :class:`geneft.stages.LrSweepConfig`) for an optimiser."""
    lo_e, hi_e, lo_d, hi_d = cfg.adam_grid if variant == "adam" else cfg.sgd_grid
    return np.logspace(lo_e, hi_e, cfg.n_grid), np.logspace(lo_d, hi_d, cfg.n_grid)


def phase_grid(
    relation: str,
    fraction: float,
    enc: Any,
    dec: Any,
    wd: Any,
    seeds: tuple[int, ...],
    steps: int,
    eval_every: int,
    grok_gap: int,
    optimizer: str,
    depth: int,
    width: int,
    desc: str,
    apart: bool = False,
) -> dict[str, Any]:
    """Train every (wd, enc, dec, seed) cell as one stack; phases ``[len(wd), len(enc), len(dec), seeds]``.
    ``apart``: one stack per (weight decay, seed) instead, in single-threaded worker processes when the unit has the
    threads (:mod:`repro.parallel`); the same arrays with one worker or several. (Not the same numbers as one
    stack: which elements of a stacked tensor fall in a vectorised kernel's scalar tail depends on the stack's size,
    so a run's rounding does too.) Many small stacks, handed out to the workers as they free up, balance whatever the
    grid's costs (for Fig. 8 at quick it made no difference: 29-31 s either way, its three rows cost about the same;
    for the lr sweep it did, see :func:`lr_sweep`)."""
    from geneft.model import Arch
    from geneft.train import Runs, classify, train_stack
    from repro.parallel import map_single_threaded, n_workers
    from repro.progress import status

    if apart and len(wd) * len(seeds) > 1:
        head, rest = (relation, fraction, enc, dec), (steps, eval_every, grok_gap, optimizer, depth, width)
        jobs = [(*head, [w], (s,), *rest, f"{desc}, wd {w:g}, seed {s}") for w in wd for s in seeds]
        done = map_single_threaded(_phase_grid_job, jobs, n_workers(len(jobs)))
        rows = [done[i * len(seeds) : (i + 1) * len(seeds)] for i in range(len(wd))]  # [wd][seed]
        return {k: np.concatenate([np.concatenate([r[k] for r in row], -1) for row in rows]) for k in done[0]}

    W, E, D, Sd = np.meshgrid(np.asarray(wd), enc, dec, np.asarray(seeds), indexing="ij")
    runs = Runs(
        seeds=Sd.ravel().astype(int).tolist(),
        fractions=[fraction] * Sd.size,
        lr_enc=E.ravel().tolist(),
        lr_dec=D.ravel().tolist(),
        wd_dec=W.ravel().tolist(),
    )
    res = train_stack(
        relation,
        Arch(mode=1, depth=depth, width=width),
        runs,
        steps,
        optimizer=optimizer,
        eval_every=eval_every,
        stop="phase",
        progress=lambda step, left: status(f"{desc}: step {step}/{steps}, {left} runs still training"),
    )
    shape = W.shape
    return {
        "t_train": res["t_train"].reshape(shape),
        "t_test": res["t_test"].reshape(shape),
        "phase": classify(res["t_train"], res["t_test"], grok_gap).reshape(shape),
        "train_acc": res["train_acc"].reshape(shape),
        "test_acc": res["test_acc"].reshape(shape),
    }


def _phase_grid_job(job: tuple) -> dict[str, Any]:
    return phase_grid(*job)


def lr_sweep(cfg: Any) -> dict[str, Any]:
    """The ``geneft.lr_sweep`` stage: per optimiser in ``cfg.variants``, the grid axes and the phase grid at wd 0
    (``[enc, dec, seeds]``). One stack per (optimiser, seed), in single-threaded worker processes when the stage has
    the threads (:mod:`repro.parallel`): the same numbers with one worker or several.

    Why per seed and not one stack per optimiser: memorising and confused cells train for the whole budget, and SGD's
    grid has more of them, so two optimiser stacks on two workers left one idle for a fifth of the stage (quick,
    measured: Adam 146 s, SGD 188 s); six stacks handed out longest-first (SGD's first) keep both busy.
    """
    from repro.parallel import map_single_threaded, n_workers

    order = sorted(cfg.variants, key=lambda v: v != "sgd")  # SGD's stacks run longest: hand them out first
    jobs = [(cfg, v, seed) for v in order for seed in cfg.seeds]
    done = dict(
        zip(
            ((v, seed) for _, v, seed in jobs),
            map_single_threaded(_optimiser_grid, jobs, n_workers(len(jobs))),
            strict=True,
        )
    )
    out: dict[str, Any] = {}
    for v in cfg.variants:
        per_seed = [done[v, seed] for seed in cfg.seeds]
        enc, dec = grid_axes(cfg, v)
        out[v] = {
            "enc": enc,
            "dec": dec,
            **{k: np.concatenate([g[k] for g in per_seed], -1) for k in per_seed[0]},
        }
    return out


def _optimiser_grid(job: tuple[Any, str, int]) -> dict[str, Any]:
    """One optimiser's grid for one seed: ``{t_train, t_test, phase, train_acc, test_acc}``, each ``[enc, dec, 1]``."""
    cfg, v, seed = job
    enc, dec = grid_axes(cfg, v)
    g = phase_grid(
        cfg.relation,
        cfg.fraction,
        enc,
        dec,
        [0.0],
        (seed,),
        cfg.steps,
        cfg.eval_every,
        cfg.grok_gap,
        v,
        cfg.depth,
        cfg.width,
        f"lr sweep {v}, seed {seed}",
    )
    return {k: x[0] for k, x in g.items()}


# ---------------------------------------------------------------------------------------------------- analysis
def cell_phase(phase: Any) -> Any:
    """The phase of each cell: the most frequent over seeds (ties to the lower index, i.e. the better phase)."""
    counts = np.stack([(phase == p).sum(-1) for p in range(4)], -1)
    return counts.argmax(-1)


def trained_precondition(t_train: Any) -> Any:
    """The model trains at all: per seed, the fraction of cells whose training accuracy crossed 0.9 (>= 0.25)."""
    from repro.claims import precondition

    t = np.asarray(t_train)
    per_seed = (t >= 0).reshape(-1, t.shape[-1]).mean(0)
    return precondition(
        "the networks train: cells fitting their training set (fraction per seed)", per_seed, ">=", 0.25
    )


def ratio_diagonals(r: dict[str, Any]) -> dict[str, Any]:
    """Per constant-ratio diagonal eta_x / eta_A = enc / dec of one lr grid (``r``: a variant of the sweep): the
    ratio, the fraction of its cells that generalise or grok per seed ``[diagonals, seeds]``, its cell count, and
    per seed the fraction of all cells that fit their training set."""
    ph = r["phase"]  # [enc, dec, seeds]
    x = r["enc"][:, None] / r["dec"][None, :]  # eta_x / eta_A
    keys = np.round(np.log10(x), 3)
    uniq = np.unique(keys)
    return {
        "ratio": 10.0**uniq,
        "p_good": np.array([(ph[keys == k] <= 1).mean(0) for k in uniq]),  # [diagonals, seeds]
        "n_cells": np.array([(keys == k).sum() for k in uniq]),
        "trained": (r["t_train"] >= 0).mean((0, 1)),  # per seed: cells that fit their training set
    }


def boundary_agreement(phase: Any) -> Any:
    """Per seed, the share of cells at wd > 0 (rows 1..) whose generalise-or-not outcome equals the wd = 0 row's
    (``phase``: ``[wd, dec, seeds]``)."""
    good = phase <= 1
    return (good[1:] == good[:1]).reshape(-1, phase.shape[-1]).mean(0)


def crossing_speedup(t_test: Any) -> list[float]:
    """Per seed, the median first test crossing at the largest wd over that at wd = 0, over the cells that
    generalise at both (``t_test``: ``[wd, dec, seeds]``, -1 = never); NaN where no cell does."""
    t = np.asarray(t_test).astype(float)
    t[t < 0] = np.nan
    speed = []
    for s in range(t.shape[-1]):
        both = ~np.isnan(t[0, :, s]) & ~np.isnan(t[-1, :, s])
        speed.append(np.median(t[-1, both, s]) / np.median(t[0, both, s]) if both.any() else np.nan)
    return speed


# ---------------------------------------------------------------------------------------------------- claims
def claims_grid(enc: Any, dec: Any, ph: Any, variant: str, pre: tuple = (), label: str = "") -> list:
    """Section 5.6 claims on one phase grid ``[enc, dec, seeds]`` of phase indices, one value per seed."""
    from repro.claims import Claim, our_choice, third_party

    ratio = dec[None, :] / enc[:, None]
    good = ph <= 1  # generalization or grokking
    low, high = ratio <= 3.5, ratio >= 30
    spread = f"{ph.shape[-1]} seeds"
    out = []
    if low.any():
        out.append(
            Claim(
                f"{label}cells with eta_dec/eta_enc <= 3 that generalise or grok",
                good[low].mean(0),
                ">=",
                0.8,
                paper=third_party(1.0, "CoursIA 5x5 grid: every ratio <= 3 cell generalises; bound 0.8 ours"),
                variant=variant,
                preconditions=pre,
                spread=spread,
            )
        )
    if high.any():
        out.append(
            Claim(
                f"{label}cells with eta_dec/eta_enc >= 30 that memorise or are confused",
                (~good[high]).mean(0),
                ">=",
                0.8,
                paper=third_party(0.9, "CoursIA 5x5 grid: 9 of 10 ratio >= 30 cells; bound 0.8 ours"),
                variant=variant,
                preconditions=pre,
                spread=spread,
            )
        )
    # constant-ratio boundary: moving along a diagonal (both rates x the grid step) keeps the phase
    same_diag = (ph[1:, 1:] == ph[:-1, :-1]).reshape(-1, ph.shape[-1]).mean(0)
    out.append(
        Claim(
            f"{label}scaling both rates by one grid step leaves the phase unchanged (fraction of cells)",
            same_diag,
            ">=",
            0.6,
            paper=our_choice(0.6, "the spec: 'unchanged in most cells' (Eq. 12 depends on the ratio only)"),
            variant=variant,
            preconditions=pre,
            spread=spread,
        )
    )
    return out


def lr_sweep_claims(result: dict[str, Any], variants: tuple[str, ...]) -> list:
    """Fig. 5's claims: :func:`claims_grid` per optimiser, and under Adam confusion at eta_dec >= 0.1; all under
    the precondition that the networks train."""
    from repro.claims import Claim, third_party

    out = []
    for v in variants:
        r = result[v]
        ph = r["phase"]  # [enc, dec, seeds]
        pre = (trained_precondition(r["t_train"]),)
        out += claims_grid(r["enc"], r["dec"], ph, v, pre)
        if v == "adam":
            top = r["dec"] >= 0.099
            if top.any():
                out.append(
                    Claim(
                        "confusion at eta_dec >= 0.1: confused cells there",
                        (ph[:, top] == 3).sum((0, 1)),
                        ">=",
                        1,
                        paper=third_party(1, "CoursIA 5x5 grid: confusion at eta_dec = 0.1"),
                        variant=v,
                        preconditions=pre,
                        spread=f"{ph.shape[-1]} seeds",
                    )
                )
    return out
