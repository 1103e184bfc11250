"""Figure 8: the phase diagram under decoder weight decay: the boundary stays, the crossing gets faster.

Setting (spec sections 1, 4 [C]): Fig. 5's task and model (mod 3, fraction 0.75, concat, 3 x 50 tanh, Adam, BCE) at a
fixed encoder learning rate, scanning the decoder learning rate (hence the ratio eta_dec/eta_enc) against the
decoder's weight decay (AdamW's decoupled decay, on decoder parameters only; the embeddings get none). Phases by
Table IV as in Fig. 5. Panel (b): the first step at which test accuracy exceeds 0.9, per cell.

Choices the spec leaves open (the paper's axes are unknown, "probably a phase diagram over (eta or ratio) x wd"):
eta_enc = 1e-3; eta_dec over two decades (ratios 1-100); weight decays 0, 0.1, 1 (quick) and 0, 0.01, 0.03, 0.1,
0.3, 1 (paper); the step budget (quick 3,000, paper 10^5) and seeds (quick 1, paper 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from repro.figure import Figure


@dataclass(frozen=True)
class Fig8Config:
    lr_enc: float = 1e-3
    log_dec_range: tuple[float, float] = (-3.0, -1.0)
    n_dec: int = 5
    weight_decays: tuple[float, ...] = (0.0, 0.1, 1.0)
    relation: str = "mod3"
    fraction: float = 0.75
    seeds: tuple[int, ...] = (0,)
    steps: int = 3000
    eval_every: int = 50
    grok_gap: int = 1000
    depth: int = 3
    width: int = 50

    def __post_init__(self) -> None:
        if self.weight_decays[0] != 0.0:
            raise ValueError("weight_decays must start with 0 (the reference row)")
        if self.n_dec < 2 or not self.seeds or self.steps < 1:
            raise ValueError("n_dec >= 2, seeds non-empty, steps >= 1")


def compute(cfg: Fig8Config) -> dict[str, Any]:
    import numpy as np

    from geneft.figures.fig5 import phase_grid

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
    )
    return {
        "dec": dec,
        "wd": np.array(cfg.weight_decays),
        **{k: v[:, 0] for k, v in g.items()},
    }  # [wd, dec, seed]


def claims(result: dict[str, Any], cfg: Fig8Config) -> list:
    import numpy as np

    from geneft.figures.fig5 import cell_phase
    from repro.claims import Claim

    ph = cell_phase(result["phase"])  # [wd, dec]
    good = ph <= 1
    same = (good[1:] == good[:1]).mean()
    out = [
        Claim(
            "cells whose generalise-or-not outcome equals the wd = 0 row (boundary does not shift)",
            same,
            ">=",
            0.8,
            paper="boundary unchanged",
        )
    ]
    t = result["t_test"].astype(float)
    t[t < 0] = np.nan
    both = np.all(~np.isnan(t), axis=0)  # cells x seeds that generalise at every wd
    if both.any():
        speed = np.nanmedian(t[-1][both]) / np.nanmedian(t[0][both])
        out.append(
            Claim(
                f"crossing time at wd = {result['wd'][-1]:g} / at wd = 0 (median over cells generalising "
                "at both)",
                speed,
                "<=",
                1.0,
                paper="wd speeds up the crossing",
            )
        )
    return out


def plot(result: dict[str, Any], cfg: Fig8Config):
    import matplotlib.pyplot as plt
    import numpy as np

    from geneft.figures.fig5 import cell_phase, plot_phase_grid
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
        tx.plot(ratio, med, marker="o", label=f"wd = {w:g}")
    tx.set_xscale("log")
    tx.set_xlabel("eta_dec / eta_enc")
    tx.set_ylabel("first step with test acc > 0.9 (missing: never)")
    tx.set_title("(b) time to generalise")
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
            n_dec=2, weight_decays=(0.0, 1.0), steps=60, eval_every=20, grok_gap=40, width=10
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
    est_seconds={"smoke": 2, "quick": 60, "paper": 1200},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
)
