"""Figure 6: the arctan frontier: collision probability p_r vs the learning-rate ratio eta_x / eta_A.

Setting (spec section 3 [C]): two repons under the linearised decoder, Eq. 10, with Gaussian initial decoder weight
a ~ N(0, sigma_a^2) and half-separation c ~ N(0, sigma_c^2). Three estimates of p_r against eta_x / eta_A (encoder over
decoder rate):
- Eq. 12, p_r = (2/pi) arctan((sigma_a/sigma_c) sqrt(eta_x / (2 eta_A))), and Eq. 13 for a repon against a cluster
  of N = 9 others (mod 3: ten symbols per class);
- Monte Carlo over initial conditions: by the sign of the conserved C (the infinite-time limit), and by integrating
  Eq. 10 (RK4) to a finite horizon (time in units of the faster rate, like a fixed step budget);
- networks: the fraction of the learning-rate sweep's cells (Fig. 5's, the stage ``geneft.lr_sweep`` read through
  the ``sweep`` field) on each ratio diagonal (eta_enc/eta_dec) that generalise or grok, under Adam and under SGD.

Choices the spec leaves open: sigma_a / sigma_c = 1 (how it maps to the network's initialisation is unknown, so the
network points are compared in shape, not fitted); the finite horizons; collision at a finite horizon means the
separation fell below a tenth of its start.

Claims, each with one value per seed (``mc_seeds``: independent Monte Carlo batches; the networks: the sweep's):
- Theorem 3: the Monte Carlo probability that C > 0 matches Eq. 12 within 0.005 at every ratio (the spec's check; the
  two are independent computations, so this tests the paper's derivation of Eq. 12 from Eq. 11);
- p_r is an upper bound: integrating Eq. 10 to a finite horizon never collides more often than Eq. 12 says (max
  excess over ratios <= 0.03, the Monte Carlo noise of 4,000 draws: our choice);
- networks: the fraction of cells that generalise rises with eta_enc/eta_dec (Spearman >= 0.7, ours: the arctan
  law's monotone shape). "Eq. 13 at N = 1 equals Eq. 12" holds by algebra: a test (tests/test_theory.py).
Control: ``init="uniform"`` (same variances) removes Eq. 12's Gaussian premise; the Monte Carlo then misses the
arctan law by up to ~0.05. Computation and claims: :mod:`geneft.frontier`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from geneft.stages import LR_SWEEP, LrSweepConfig
from repro.figure import Figure
from repro.stage import Need


@dataclass(frozen=True)
class Fig6Config:
    variants: tuple[str, ...] = ("adam", "sgd")  # the sweep's optimisers drawn as network points
    log_ratio_range: tuple[float, float] = (-3.0, 3.0)
    n_ratios: int = 25
    mc_draws: int = 300_000  # per seed
    ode_draws: int = 4000  # per seed
    mc_seeds: tuple[int, ...] = (0, 1, 2)
    init: str = "gaussian"  # "uniform": the control (Eq. 12 assumes Gaussian initial conditions)
    horizons: tuple[float, ...] = (10.0, 100.0)
    dt: float = 0.05
    n_cluster: int = 9
    sigma_ratio: float = 1.0
    seed: int = 0
    sweep: LrSweepConfig = field(default_factory=LrSweepConfig)  # the learning-rate sweep (network points)

    def __post_init__(self) -> None:
        if self.n_ratios < 2 or self.mc_draws < 1 or self.ode_draws < 1 or self.dt <= 0 or not self.mc_seeds:
            raise ValueError("n_ratios >= 2, positive draws and dt, at least one seed")
        if not set(self.variants) <= set(self.sweep.variants):
            raise ValueError(
                f"variants {self.variants} must be a subset of sweep.variants {self.sweep.variants}"
            )


def compute(cfg: Fig6Config, sweep: dict[str, Any]) -> dict[str, Any]:
    from geneft.frontier import collision_curves
    from geneft.phase import ratio_diagonals

    return {**collision_curves(cfg), "networks": {v: ratio_diagonals(sweep[v]) for v in cfg.variants}}


def claims(result: dict[str, Any], cfg: Fig6Config) -> list:
    from geneft.frontier import frontier_claims

    return frontier_claims(result, cfg.mc_draws, cfg.ode_draws)


def plot(result: dict[str, Any], cfg: Fig6Config):
    import matplotlib.pyplot as plt

    from geneft.figures._common import seed_line
    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    x = result["ratios"]
    ax.plot(x, result["eq12"], color="k", lw=2, label="Eq. 12 (two repons)")
    ax.plot(x, result["eq13"], color="k", lw=1, ls="--", label=f"Eq. 13 (cluster of N = {cfg.n_cluster})")
    ax.plot(
        x, result["mc_sign_c"].mean(1), "x", color="#d62728", ms=5, mew=1.2, label="Monte Carlo: sign of C"
    )
    greys = plt.cm.Purples
    for i, (h, p) in enumerate(sorted(result["ode"].items(), key=lambda kv: float(kv[0]))):
        seed_line(
            ax,
            x,
            p,
            greys(0.45 + 0.4 * i / max(len(result["ode"]) - 1, 1)),
            f"ODE Monte Carlo, horizon t = {float(h):g} ({p.shape[1]} seeds)",
            marker="^",
            ms=3,
            lw=1,
        )
    colours = {"adam": METHOD, "sgd": BASELINE}
    for v, net in result["networks"].items():
        seed_line(
            ax,
            net["ratio"],
            net["p_good"],
            colours.get(v, "C2"),
            f"networks ({v.upper()}): Fig. 5 cells generalising ({net['p_good'].shape[1]} seeds)",
            marker="s",
            ls=":",
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
        "smoke": Fig6Config(
            n_ratios=5, mc_draws=2000, ode_draws=50, horizons=(5.0,), dt=0.1, sweep=LR_SWEEP.configs["smoke"]
        ),
        "quick": Fig6Config(sweep=LR_SWEEP.configs["quick"]),
        "paper": Fig6Config(
            n_ratios=49,
            mc_draws=1_000_000,
            ode_draws=20_000,
            horizons=(10.0, 100.0, 1000.0),
            sweep=LR_SWEEP.configs["paper"],
        ),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    needs={"sweep": Need(LR_SWEEP, field="sweep")},
    control=lambda cfg: dataclasses.replace(cfg, init="uniform"),
    control_label="uniform initial conditions (Eq. 12 assumes Gaussian ones)",
    variants=("adam", "sgd"),
    est_seconds={"smoke": 2, "quick": 20, "paper": 600},  # without the sweep (geneft.lr_sweep: Fig. 5's)
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
)
