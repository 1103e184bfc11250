"""Figure 5: the learning-rate phase diagram over (encoder lr, decoder lr), under Adam and under SGD.

Setting (spec sections 1, 3, 8 [C]): equivalence mod 3, n = 30, train fraction 0.75, d = 2 embeddings, concat combiner,
3 x 50 tanh decoder, full-batch BCE, weight decay 0. Each cell is one run (per seed) with its own encoder and decoder
learning rate, all cells trained as one stack. Phases by Table IV from the first evaluated steps (every 50) at which
train and test accuracy exceed 0.9: generalization (test within 10^3 steps of train), grokking (test later by
>= 10^3), memorization (train only), confusion (train never). The raw grid is drawn, no smoothing; dashed lines are
the constant-ratio diagonals eta_dec / eta_enc = 1, 10, 100 ("slope 1" in log-log).

Variants: ``adam`` (the paper's optimiser) and ``sgd`` (plain gradient descent: the repon theory is gradient flow,
spec [d]). SGD needs larger rates for the same progress, so its grid is shifted (same shape and ratios).

Choices the spec leaves open: the grids (quick: 5 x 5 at half-decade spacing, three ratio diagonals 1/10/100 present;
paper: 10 x 10 at third-decade spacing), the step budget (quick 6,000 by the step rule in :mod:`geneft.stages`,
with early exit once a cell's phase is decided; paper 10^5), the seeds (quick and paper 3; every claim takes one
value per seed, the plot draws the most frequent phase over seeds and marks the cells where the seeds disagree),
loss (BCE) and init (nn.Embedding / nn.Linear defaults). With few steps the slowest cells (low eta_enc) cannot
finish, so they read as memorization/confusion: a step-budget effect, visible as the bottom rows, and reported, not tuned away.
Claims need the precondition that the networks train at all (a quarter of the cells fit their training set); the
control (one step) fails it.

The sweep is the stage ``geneft.lr_sweep`` (:mod:`geneft.stages`; Fig. 6 reads it too), set by the ``sweep`` field
(``--set sweep.steps=...``); ``variants`` picks the optimisers drawn and claimed. Analysis: :mod:`geneft.phase`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from geneft.stages import LR_SWEEP, VARIANTS, LrSweepConfig
from repro.figure import Figure
from repro.stage import Need


@dataclass(frozen=True)
class Fig5Config:
    variants: tuple[str, ...] = VARIANTS  # the optimisers drawn and claimed (a subset of the sweep's)
    sweep: LrSweepConfig = field(default_factory=LrSweepConfig)

    def __post_init__(self) -> None:
        if not set(self.variants) <= set(self.sweep.variants):
            raise ValueError(
                f"variants {self.variants} must be a subset of sweep.variants {self.sweep.variants}"
            )


def compute(cfg: Fig5Config, sweep: dict[str, Any]) -> dict[str, Any]:
    return {v: sweep[v] for v in cfg.variants}


def claims(result: dict[str, Any], cfg: Fig5Config) -> list:
    from geneft.phase import lr_sweep_claims

    return lr_sweep_claims(result, cfg.variants)


def plot(result: dict[str, Any], cfg: Fig5Config):
    import matplotlib.pyplot as plt

    from geneft.figures._common import plot_phase_grid
    from geneft.phase import cell_phase
    from repro.plot import set_style

    set_style()
    sw = cfg.sweep
    vs = [v for v in VARIANTS if v in result]
    fig, axes = plt.subplots(
        1, len(vs), figsize=(4.4 * len(vs) + 1.6, 4.0), layout="constrained", squeeze=False
    )
    handles: list = []
    for ax, v in zip(axes[0], vs, strict=True):
        r = result[v]
        handles = plot_phase_grid(
            ax,
            r["enc"],
            r["dec"],
            cell_phase(r["phase"]),
            "log10 decoder lr",
            "log10 encoder lr",
            seed_phases=r["phase"],
        )
        ax.set_title(
            f"{v.upper()}: {sw.relation}, fraction {sw.fraction}, {sw.steps} steps, {len(sw.seeds)} seed(s)"
        )
    axes[0][-1].legend(
        handles=handles, fontsize=6.5, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=True
    )
    fig.suptitle(
        "Fig. 5: phase diagram over encoder/decoder learning rates (raw grid, Table IV criteria; "
        "colour: majority over seeds, k/n: seeds with that phase)",
        fontsize=10,
    )
    return fig


FIGURE = Figure(
    paper="geneft",
    id="fig5",
    title="learning-rate phase diagram (Adam and SGD)",
    configs={scale: Fig5Config(sweep=LR_SWEEP.configs[scale]) for scale in ("smoke", "quick", "paper")},
    compute=compute,
    plot=plot,
    claims=claims,
    needs={"sweep": Need(LR_SWEEP, field="sweep")},
    control=lambda cfg: dataclasses.replace(cfg, sweep=dataclasses.replace(cfg.sweep, steps=1)),
    control_label="untrained: one step",
    variants=VARIANTS,
    est_seconds={"smoke": 1, "quick": 2, "paper": 10},  # the figure alone; `repro list` adds its stages
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},  # the sweep's
)
