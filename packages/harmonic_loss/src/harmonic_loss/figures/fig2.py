"""Figure 2: the representation gallery of the MLPs (standard vs harmonic) on the five toy tasks.

Setting (spec F2, ``final_figures.ipynb`` cell 2): rows = 5 tasks x {standard MLP, harmonic MLP}, columns = the first
10 seeds; each panel is the top-2 PCA of the 16-d input embedding (genealogy: nodes 1-126 coloured by depth;
equivalence: the 40 numbers coloured by residue mod 5; permutation: coloured by coset), titled with the EV of the
top-2 PCs. The paper's claim (author thread 4/9): harmonic models learn perfect lattice/circle/tree structures
regardless of seed.

The runs are the MLP runs of the toy sweep (the stage ``harmonic_loss.toy_sweep``, read through ``needs``: the same
``sweep`` config as Figs. 3 and 7 => the same runs, trained once); see ``fig7`` for the training settings, the split
variants (``official`` = the leaky split of the official code, ``unique`` = distinct inputs) and every choice made
where the spec is silent. Both splits are drawn side by side.

D9 ablation (the sweep's ``ablations``, :data:`harmonic_loss.toy_config.ARMS`): the official MLPs are trained with an
undocumented embedding group-lasso (0.01 x mean_j sqrt(mean_i E_ij^2)) and AdamW weight decay 0.01, either of
which may be where the low-dimensional structure comes from. The sweep also trains the same MLP runs (same data,
same initial weights, paired by seed) without the group-lasso (``no group-lasso``: penalty 0) and, at ``paper``
scale, without both (``no group-lasso, no wd``; at ``quick`` this second arm would add over 3 min on 2 cores, so it
is left out), on the four tasks that carry a claim (not permutation); their galleries are the extra rows under
each task. Every claim is reported for each arm (variant ``<split>`` = official arm, ``<split>, no
group-lasso``, ...); a claim reproduced on one side only says so in its note (a claim that holds only with the
group-lasso is a finding about the paper's recipe, not about the harmonic loss).

Claims (Fig. 2 owns the MLP claims; Fig. 7 draws the same MLP runs but owns only the transformer claims): see
:func:`harmonic_loss.toy_analysis.mlp_ev_claims`; the values are per seed (the sweep's stacked seeds), the
paper's numbers are Fig. 7's EV table. Control: the sweep trained for 1 epoch (untrained MLPs: not reached).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from harmonic_loss.stages import SWEEPS, TOY_SWEEP
from harmonic_loss.toy_config import SPLITS, TASKS, SweepConfig, untrained_sweep
from repro.figure import Figure
from repro.stage import Need


@dataclass(frozen=True)
class Fig2Config:
    sweep: SweepConfig
    variants: tuple[str, ...] = SPLITS
    max_seeds: int = 10  # columns per split

    def __post_init__(self) -> None:
        if self.max_seeds < 1:
            raise ValueError("max_seeds must be >= 1")
        if not set(self.variants) <= set(self.sweep.variants):
            raise ValueError(f"variants {self.variants} must be trained by the sweep ({self.sweep.variants})")


def compute(cfg: Fig2Config, sweep: dict[str, Any]) -> dict[str, Any]:
    from harmonic_loss.toy_analysis import sweep_runs

    seeds = tuple(int(s) for s in cfg.sweep.seeds[: cfg.max_seeds])
    arms = ("official", *cfg.sweep.ablations)
    return sweep_runs(
        sweep, model=("standard_mlp", "harmonic_mlp"), split=tuple(cfg.variants), seed=seeds, arm=arms
    )


def claims(result: dict[str, Any], cfg: Fig2Config) -> list:
    from harmonic_loss.toy_analysis import mlp_ev_claims

    return mlp_ev_claims(result, list(cfg.variants), ("official", *cfg.sweep.ablations))


def untrained(cfg: Fig2Config) -> Fig2Config:
    """The control: the sweep's runs stop after one epoch."""
    return replace(cfg, sweep=untrained_sweep(cfg.sweep))


def plot(result: dict[str, Any], cfg: Fig2Config):
    from harmonic_loss.figures._toy_common import draw_gallery, overlap_note
    from repro.plot import set_style

    set_style()
    sw = cfg.sweep
    rows = [
        (t, m, arm)
        for t in TASKS
        if t in sw.mlp_tasks
        for arm in ("official", *(sw.ablations if t in sw.ablation_tasks else ()))
        for m in ("standard_mlp", "harmonic_mlp")
    ]
    cols = [(sp, s) for sp in cfg.variants for s in cfg.sweep.seeds[: cfg.max_seeds]]
    return draw_gallery(
        result,
        rows,
        cols,
        f"Fig. 2: MLP input embeddings on their top-2 PCs ({cfg.sweep.mlp_epochs} epochs; "
        "blue frame = standard, orange = harmonic; rows marked 'no group-lasso': the D9 ablation)\n"
        + overlap_note(result, list(cfg.sweep.mlp_tasks)),
    )


FIGURE = Figure(
    paper="harmonic_loss",
    id="fig2",
    title="Representation gallery, MLPs (from the toy sweep)",
    configs={scale: Fig2Config(sweep=sweep) for scale, sweep in SWEEPS.items()},
    compute=compute,
    plot=plot,
    claims=claims,
    variants=SPLITS,
    needs={"sweep": Need(TOY_SWEEP, field="sweep")},
    est_seconds={"smoke": 1, "quick": 2, "paper": 10},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},  # the paper-scale gate: its sweep needs a GPU
    control=untrained,
    control_label="untrained: the sweep's runs stop after 1 epoch",
)
