"""Figure 8: the phase diagram under decoder weight decay: the boundary stays, the crossing gets faster.

Setting (spec sections 1, 4 [C]): Fig. 5's task and model (mod 3, fraction 0.75, concat, 3 x 50 tanh, Adam, BCE) at a
fixed encoder learning rate, scanning the decoder learning rate (hence the ratio eta_dec/eta_enc) against the
decoder's weight decay (AdamW's decoupled decay, on decoder parameters only; the embeddings get none). Phases by
Table IV as in Fig. 5. Panel (b): the first step at which test accuracy exceeds 0.9, per cell.

Choices the spec leaves open (the paper's axes are unknown, "probably a phase diagram over (eta or ratio) x wd"):
eta_enc = 1e-3; eta_dec over two decades (ratios 1-100); weight decays 0, 0.1, 1 (quick) and 0, 0.01, 0.03, 0.1,
0.3, 1 (paper); the step budget (quick 6,000 by the step rule in :mod:`geneft.stages`, paper 10^5) and seeds (3;
every claim takes one value per seed).
Claims: the share of cells whose generalise-or-not outcome at wd > 0 equals the wd = 0 row (the boundary does not
move), and the crossing time at the largest wd over that at wd = 0 (< 1: wd speeds up the crossing), both per seed,
under the precondition that the networks train (Fig. 5's). Control: one step (untrained).
The grid is this figure's own (fixed eta_enc, wd x eta_dec), trained by :func:`geneft.phase.phase_grid` (one stack
per weight decay and seed) as Fig. 5's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from geneft.stages import STEPS_QUICK
from repro.figure import Figure


@dataclass(frozen=True)
class Fig8Config:
    lr_enc: float = 1e-3
    log_dec_range: tuple[float, float] = (-3.0, -1.0)
    n_dec: int = 5
    weight_decays: tuple[float, ...] = (0.0, 0.1, 1.0)
    relation: str = "mod3"
    fraction: float = 0.75
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = STEPS_QUICK
    eval_every: int = 50
    grok_gap: int = 1000
    depth: int = 3
    width: int = 50

    def __post_init__(self) -> None:
        if not self.weight_decays or self.weight_decays[0] != 0.0:
            raise ValueError("weight_decays must start with 0 (the reference row)")
        if self.n_dec < 2 or not self.seeds or self.steps < 1:
            raise ValueError("n_dec >= 2, seeds non-empty, steps >= 1")


def compute(cfg: Fig8Config) -> dict[str, Any]:
    import numpy as np

    from geneft.phase import phase_grid

    dec = np.logspace(*cfg.log_dec_range, cfg.n_dec)
    g = phase_grid(
        cfg.relation,
        cfg.fraction,
        np.array([cfg.lr_enc]),
        dec,
        np.array(cfg.weight_decays),
        cfg.seeds,
        cfg.steps,
        cfg.eval_every,
        cfg.grok_gap,
        "adam",
        cfg.depth,
        cfg.width,
        "fig8",
        apart=True,
    )
    return {
        "dec": dec,
        "wd": np.array(cfg.weight_decays),
        **{k: v[:, 0] for k, v in g.items()},
    }  # [wd, dec, seed]


def claims(result: dict[str, Any], cfg: Fig8Config) -> list:
    from geneft.phase import boundary_agreement, crossing_speedup, trained_precondition
    from repro.claims import Claim, third_party

    ph = result["phase"]  # [wd, dec, seeds]
    pre = (trained_precondition(result["t_train"]),)
    spread = f"{ph.shape[-1]} seeds"
    source = "CoursIA notebook 2.9b, reading the paper's Fig. 8"
    return [
        Claim(
            "cells whose generalise-or-not outcome equals the wd = 0 row (boundary does not shift)",
            boundary_agreement(ph),
            ">=",
            0.8,
            paper=third_party("boundary unchanged", source + "; bound 0.8 ours"),
            preconditions=pre,
            spread=spread,
        ),
        Claim(
            f"crossing time at wd = {result['wd'][-1]:g} / at wd = 0 (median over cells generalising at both)",
            crossing_speedup(result["t_test"]),
            "<",
            1.0,
            paper=third_party("faster with wd", source + ": wd only speeds up the crossing"),
            preconditions=pre,
            spread=spread,
            note="NaN (not reached) for a seed with no cell generalising at both",
        ),
    ]


def plot(result: dict[str, Any], cfg: Fig8Config):
    import matplotlib.pyplot as plt
    import numpy as np

    from geneft.figures._common import plot_phase_grid
    from geneft.phase import cell_phase
    from repro.plot import set_style

    set_style()
    fig, (ax, tx) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    wd = result["wd"]
    wd_axis = np.where(wd > 0, wd, wd[wd > 0].min() / 10 if (wd > 0).any() else 1e-3)
    ratio = result["dec"] / cfg.lr_enc
    handles = plot_phase_grid(
        ax,
        wd_axis,
        ratio,
        cell_phase(result["phase"]),
        "log10 eta_dec / eta_enc",
        "log10 decoder weight decay",
        diagonals=False,
        seed_phases=result["phase"],
    )
    ax.set_yticks(np.log10(wd_axis), [f"{w:g}" for w in wd])
    ax.set_ylabel("decoder weight decay")
    ax.legend(handles=handles, fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=True)
    ax.set_title(f"(a) phases, eta_enc = {cfg.lr_enc:g}, {cfg.steps} steps")
    t = result["t_test"].astype(float)
    t[t < 0] = np.nan
    for i, w in enumerate(wd):
        ok = ~np.isnan(t[i]).all(-1)  # cells where some seed generalised (nanmedian warns on the others)
        med = np.full(len(ratio), np.nan)
        med[ok] = np.nanmedian(t[i][ok], axis=-1)
        line = tx.plot(ratio, med, marker="o", label=f"wd = {w:g}")[0]
        for k in range(t.shape[-1]):  # every seed as a point
            tx.scatter(ratio * (1 + 0.04 * (i - 1)), t[i, :, k], s=8, color=line.get_color(), alpha=0.5, lw=0)
    if np.isfinite(t).any():  # a log axis over no finite point cannot be drawn
        tx.set_xscale("log")
    else:
        tx.text(0.5, 0.5, "no run generalised", ha="center", va="center", transform=tx.transAxes)
    tx.set_xlabel("eta_dec / eta_enc")
    tx.set_ylabel("first step with test acc > 0.9 (missing: never)")
    tx.set_title("(b) time to generalise (line: median over seeds; points: seeds)")
    tx.legend(fontsize=7)
    fig.suptitle(
        "Fig. 8: phase diagram under decoder weight decay (paper: the boundary does not move)", fontsize=10
    )
    return fig


FIGURE = Figure(
    paper="geneft",
    id="fig8",
    title="phase diagram under decoder weight decay",
    configs={
        "smoke": Fig8Config(
            n_dec=2, weight_decays=(0.0, 1.0), seeds=(0, 1), steps=60, eval_every=20, grok_gap=40, width=10
        ),
        "quick": Fig8Config(),
        "paper": Fig8Config(
            log_dec_range=(-3.5, -0.5),
            n_dec=10,
            weight_decays=(0.0, 0.01, 0.03, 0.1, 0.3, 1.0),
            seeds=(0, 1, 2),
            steps=100_000,
        ),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    control=lambda cfg: dataclasses.replace(cfg, steps=1),
    control_label="untrained: one step",
    est_seconds={"smoke": 2, "quick": 100, "paper": 1200},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    cpu_threads=2,  # one stack per weight decay and seed, in single-threaded worker processes (numbers independent of it)
)
