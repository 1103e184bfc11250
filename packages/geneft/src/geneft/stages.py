"""GenEFT's stages: the expensive computations several figures read (``repro.stage``).

``geneft.lr_sweep``: the learning-rate phase diagram over (encoder lr, decoder lr), under Adam and under SGD, every
cell and seed trained stacked, one stack per optimiser and seed (:func:`geneft.phase.lr_sweep`). Fig. 5 draws it; Fig. 6 reads its ratio
diagonals for the network points of the arctan frontier. Both declare ``Need(LR_SWEEP, field="sweep")``, so
``--set sweep.steps=...`` reaches it and the two share one cached sweep per config.

Light at import (stdlib and ``repro.stage`` only): figure modules import this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from repro.stage import Stage

VARIANTS = ("adam", "sgd")  # the optimisers of the learning-rate sweep

# The step rule at quick scale. Every network whose claim reads a phase (Table IV) or a trained end state (the lr
# sweep of Figs. 5-6, Fig. 4's clustering runs, Fig. 7's Goldilocks scan, Fig. 8's weight-decay grid) trains for
# 6,000 steps: the low end of the 6-10k steps at which the paper's phase boundaries form (the issue; spec section 8
# measured the 6k and 12k maps identical) and CoursIA's Goldilocks budget. Paper scale: 10^4 (Figs. 2, 3, 7) and
# 10^5 (the phase diagrams, the notebook's count). Every quick claim takes 3 seeds, trained as one stack. The
# fraction sweeps of Figs. 2-3 (early exit once every pair is right) stay at 2,000 steps at quick: the budget.
STEPS_QUICK = 6000


@dataclass(frozen=True)
class LrSweepConfig:
    """The learning-rate grid: Fig. 5's setting (mod 3, fraction 0.75, concat, depth x width tanh, BCE, wd 0)."""

    variants: tuple[str, ...] = VARIANTS
    relation: str = "mod3"
    fraction: float = 0.75
    # log10 ranges of the grid per optimiser: (enc_lo, enc_hi, dec_lo, dec_hi), n points each
    adam_grid: tuple[float, ...] = (-3.5, -1.5, -3.0, -1.0)
    sgd_grid: tuple[float, ...] = (-2.0, 0.0, -1.0, 1.0)
    n_grid: int = 5
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = STEPS_QUICK
    eval_every: int = 50
    grok_gap: int = 1000
    depth: int = 3
    width: int = 50

    def __post_init__(self) -> None:
        if not set(self.variants) <= set(VARIANTS):
            raise ValueError(f"variants must be a subset of {VARIANTS}")
        if len(self.adam_grid) != 4 or len(self.sgd_grid) != 4:
            raise ValueError("adam_grid and sgd_grid are (enc_lo, enc_hi, dec_lo, dec_hi) in log10")
        if self.n_grid < 2 or self.steps < 1 or not self.seeds:
            raise ValueError("n_grid >= 2, steps >= 1 and at least one seed")
        if not 0 < self.fraction < 1:
            raise ValueError("fraction must be in (0, 1)")


def lr_sweep(cfg: LrSweepConfig) -> dict[str, Any]:
    """``{variant: {"enc", "dec", "t_train", "t_test", "phase", "train_acc", "test_acc"}}``, grids ``[enc, dec, seeds]``."""
    from geneft.phase import lr_sweep as sweep

    return sweep(cfg)


LR_SWEEP = Stage(
    "geneft.lr_sweep",
    compute=lr_sweep,
    configs={
        "smoke": LrSweepConfig(n_grid=2, seeds=(0, 1), steps=60, eval_every=20, grok_gap=40, width=10),
        "quick": LrSweepConfig(),
        "paper": LrSweepConfig(
            adam_grid=(-4.5, -1.5, -3.5, -0.5),
            sgd_grid=(-2.5, 0.5, -1.5, 1.5),
            n_grid=10,
            seeds=(0, 1, 2),
            steps=100_000,
        ),
    },
    title="learning-rate phase diagram (encoder x decoder lr; Adam and SGD)",
    est_seconds={"smoke": 3, "quick": 480, "paper": 1800},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    cpu_threads=2,  # the (optimiser, seed) stacks in single-threaded worker processes (numbers independent of it)
)
