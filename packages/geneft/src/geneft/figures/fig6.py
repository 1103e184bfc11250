"""Figure 6: the arctan frontier: collision probability p_r vs the learning-rate ratio eta_x / eta_A.

Setting (spec section 3 [C]): two repons under the linearised decoder, Eq. 10, with Gaussian initial decoder weight
a ~ N(0, sigma_a^2) and half-separation c ~ N(0, sigma_c^2). Three estimates of p_r against eta_x / eta_A (encoder over
decoder rate):
- Eq. 12, p_r = (2/pi) arctan((sigma_a/sigma_c) sqrt(eta_x / (2 eta_A))), and Eq. 13 for a repon against a cluster
  of N = 9 others (mod 3: ten symbols per class);
- Monte Carlo over initial conditions: by the sign of the conserved C (the infinite-time limit), and by integrating
  Eq. 10 (RK4) to a finite horizon (time in units of the faster rate, like a fixed step budget);
- networks: the fraction of Fig. 5's cells on each ratio diagonal (eta_enc/eta_dec) that generalise or grok,
  under Adam and under SGD (Fig. 5's cached result at the same scale is reused).

Choices the spec leaves open: sigma_a / sigma_c = 1 (how it maps to the network's initialisation is unknown, so the
network points are compared in shape, not fitted); the finite horizons; collision at a finite horizon means the
separation fell below a tenth of its start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from repro.figure import Figure


@dataclass(frozen=True)
class Fig6Config:
    variants: tuple[str, ...] = ("adam", "sgd")
    log_ratio_range: tuple[float, float] = (-3.0, 3.0)
    n_ratios: int = 25
    mc_draws: int = 1_000_000
    ode_draws: int = 4000
    horizons: tuple[float, ...] = (10.0, 100.0)
    dt: float = 0.05
    n_cluster: int = 9
    sigma_ratio: float = 1.0
    seed: int = 0
    networks: bool = True  # reuse Fig. 5 (same scale) for the network points
    scale: str = "quick"  # which Fig. 5 scale to reuse

    def __post_init__(self) -> None:
        if self.n_ratios < 2 or self.mc_draws < 1 or self.ode_draws < 1 or self.dt <= 0:
            raise ValueError("n_ratios >= 2, positive draws and dt")
        if self.scale not in ("smoke", "quick", "paper"):
            raise ValueError(f"scale must be smoke/quick/paper, got {self.scale!r}")


def compute(cfg: Fig6Config) -> dict[str, Any]:
    import numpy as np

    from geneft import theory as T
    from repro.progress import track

    ratios = np.logspace(*cfg.log_ratio_range, cfg.n_ratios)
    mc = np.array(
        [
            T.p_collide_monte_carlo(r, cfg.mc_draws, cfg.seed + i, cfg.sigma_ratio)
            for i, r in enumerate(ratios)
        ]
    )
    ode = {}
    for h in cfg.horizons:
        ode[str(h)] = np.array(
            [
                T.p_collide_monte_carlo(
                    r, cfg.ode_draws, cfg.seed + 100 + i, cfg.sigma_ratio, t_end=h, dt=cfg.dt
                )
                for i, r in enumerate(track(ratios, f"fig6: repon ODE to t = {h:g}"))
            ]
        )
    out: dict[str, Any] = {
        "ratios": ratios,
        "eq12": T.p_collide_eq12(ratios, cfg.sigma_ratio),
        "eq13": T.p_collide_eq13(ratios, cfg.n_cluster, cfg.sigma_ratio),
        "eq13_n1": T.p_collide_eq13(ratios, 1, cfg.sigma_ratio),
        "mc_sign_c": mc,
        "ode": ode,
        "networks": {},
    }
    if cfg.networks:
        from geneft.figures.fig5 import FIGURE as FIG5
        from geneft.figures.fig5 import cell_phase
        from repro.figure import ReproError
        from repro.run import require

        fig5_cfg = FIG5.config(cfg.scale)
        if not set(cfg.variants) <= set(fig5_cfg.variants):
            raise ReproError(f"fig6 needs Fig. 5 variants {cfg.variants}")
        res = require("geneft:fig5", cfg.scale)
        for v in cfg.variants:
            r = res[v]
            ph = cell_phase(r["phase"])
            x = r["enc"][:, None] / r["dec"][None, :]  # eta_x / eta_A
            keys = np.round(np.log10(x), 3)
            uniq = np.unique(keys)
            out["networks"][v] = {
                "ratio": 10.0**uniq,
                "p_good": np.array([(ph[keys == k] <= 1).mean() for k in uniq]),
                "n_cells": np.array([(keys == k).sum() for k in uniq]),
            }
    return out


def claims(result: dict[str, Any], cfg: Fig6Config) -> list:
    import numpy as np

    from repro.claims import Claim

    out = [
        Claim(
            "Monte Carlo p_r (sign of C) vs Eq. 12: max |difference| over ratios",
            np.max(np.abs(result["mc_sign_c"] - result["eq12"])),
            "<=",
            0.005,
            paper="matches",
        ),
        Claim(
            "Eq. 13 at N = 1 equals Eq. 12: max |difference|",
            np.max(np.abs(result["eq13_n1"] - result["eq12"])),
            "<=",
            1e-12,
        ),
    ]
    longest = max(result["ode"], key=float)
    out.append(
        Claim(
            f"finite-horizon ODE p_r (t = {float(longest):g}) stays at or below Eq. 12 (max excess)",
            np.max(result["ode"][longest] - result["eq12"]),
            "<=",
            0.03,
            paper="p_r is an upper bound",
        )
    )
    for v, net in result["networks"].items():
        x, p = np.log10(net["ratio"]), net["p_good"]
        rho = np.corrcoef(np.argsort(np.argsort(x)), np.argsort(np.argsort(p)))[0, 1] if p.std() > 0 else 0.0
        out.append(
            Claim(
                "networks: Spearman rank corr. of generalising fraction with eta_enc/eta_dec",
                rho,
                ">=",
                0.7,
                paper="monotone (arctan)",
                variant=v,
            )
        )
    return out


def plot(result: dict[str, Any], cfg: Fig6Config):
    import matplotlib.pyplot as plt

    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    x = result["ratios"]
    ax.plot(x, result["eq12"], color="k", lw=2, label="Eq. 12 (two repons)")
    ax.plot(x, result["eq13"], color="k", lw=1, ls="--", label=f"Eq. 13 (cluster of N = {cfg.n_cluster})")
    ax.plot(x, result["mc_sign_c"], "x", color="#d62728", ms=5, mew=1.2, label="Monte Carlo: sign of C")
    greys = plt.cm.Purples
    for i, (h, p) in enumerate(sorted(result["ode"].items(), key=lambda kv: float(kv[0]))):
        ax.plot(
            x,
            p,
            "^-",
            color=greys(0.45 + 0.4 * i / max(len(result["ode"]) - 1, 1)),
            ms=3,
            lw=1,
            label=f"ODE Monte Carlo, horizon t = {float(h):g}",
        )
    colours = {"adam": METHOD, "sgd": BASELINE}
    for v, net in result["networks"].items():
        ax.plot(
            net["ratio"],
            net["p_good"],
            "s",
            color=colours.get(v, "C2"),
            ms=5,
            label=f"networks ({v.upper()}): Fig. 5 cells generalising",
        )
    ax.set_xscale("log")
    ax.set_xlabel("eta_x / eta_A  (encoder lr / decoder lr)")
    ax.set_ylabel("p_r (collision / generalisation probability)")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=6.5, loc="upper left")
    ax.set_title(f"Fig. 6: the arctan frontier (sigma_a / sigma_c = {cfg.sigma_ratio:g})")
    return fig


FIGURE = Figure(
    paper="geneft",
    id="fig6",
    title="p_r vs learning-rate ratio: Eq. 12, ODE Monte Carlo, networks",
    configs={
        "smoke": Fig6Config(n_ratios=5, mc_draws=2000, ode_draws=50, horizons=(5.0,), dt=0.1, scale="smoke"),
        "quick": Fig6Config(),
        "paper": Fig6Config(
            n_ratios=49, mc_draws=4_000_000, ode_draws=20_000, horizons=(10.0, 100.0, 1000.0), scale="paper"
        ),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    variants=("adam", "sgd"),
    est_seconds={"smoke": 2, "quick": 20, "paper": 600},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
)
