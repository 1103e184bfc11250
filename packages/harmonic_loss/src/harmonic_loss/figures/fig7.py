"""Figure 7 (appendix): the full representation gallery, and the one sweep that Figs. 2, 3a and 3c also read.

Setting (spec F7, ``final_figures.ipynb`` cell 3): 4 models (standard/harmonic MLP and transformer) x 5 toy tasks x
20 seeds, each panel the top-2 PCA of the model's input embedding (entity tokens only, see below), titled with the
explained variance (EV) of those two PCs. Training: the official toy settings (:mod:`harmonic_loss.toy_config`):
data size 1000, train fraction 0.8, AdamW lr 2e-3, weight decay 0.01 (MLP) / 0.005 (transformer), batch 32, 7000
epochs (10,000 for permutation transformers), official exponent n = 1 on d^2, embedding group-lasso 0.01.

This figure's ``compute`` is the sweep (:func:`harmonic_loss.toy_train.run_sweep`): every run is trained stacked
(all MLP runs in one stack, all transformer runs in another), with accuracies evaluated every ``eval_every``
epochs for Fig. 3c. Figs. 2 and 3 get it through the cache (``repro.run.require``) with the same config.

Variants = the train/test split (defect D1): ``official`` (1000 rows drawn with replacement, rows split: test inputs
leak into train; the measured overlap is printed under the figure) and ``unique`` (distinct inputs, no leak).
Both are drawn side by side, and every claim is evaluated on each.

Choices where the spec is silent:
- entity tokens for PCA/EV: lattice all 25, circle all 31, equivalence the 40 numbers (not the two answer tokens),
  genealogy the 126 nodes (not the relation tokens), permutation all 24;
- permutation colouring: the coset of the normal Klein four-group V4 (fixed), not the official best-silhouette coset
  per seed (D10); lattice panels connect grid neighbours, genealogy panels connect each node to its parent;
- ``quick`` trains MLPs on all five tasks and transformers on lattice and circle, 3 seeds (the first 3 official
  seeds), for 300 (MLP) / 200 (transformer) epochs instead of 7000, on the CPU; ``paper`` is the original grid
  (20 seeds, 7000 epochs, all four models) and is meant for a GPU.
- the transformer is evaluated with dropout off (D6 fixed in both variants).

Claims: Fig. 7 owns the transformer claims (harmonic vs standard transformer top-2 EV on lattice and circle, paired
by seed, from its EV table); the MLP claims belong to Fig. 2, the MLP gallery of the main text, which draws the same
MLP runs (a claim is counted once, with the figure that is about it). Control: the same sweep trained for 1 epoch
(untrained models: the "trained" preconditions fail).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harmonic_loss.toy_config import SPLITS, TASKS, SweepConfig
from repro.figure import Figure

QUICK = SweepConfig(
    transformer_tasks=("lattice", "circle"),
    seeds=(0, 52, 105),
    mlp_epochs=300,
    transformer_epochs=200,
    permutation_transformer_epochs=200,
    eval_every=2.0,
    device="cpu",
)
SMOKE = replace(
    QUICK,
    transformer_tasks=("lattice",),
    seeds=(0, 52),
    mlp_epochs=3,
    transformer_epochs=2,
    permutation_transformer_epochs=2,
    eval_every=1.0,
)
PAPER = SweepConfig(eval_every=5.0)


def compute(cfg: SweepConfig) -> dict[str, Any]:
    from harmonic_loss.toy_train import run_sweep

    return run_sweep(cfg)


def claims(result: dict[str, Any], cfg: SweepConfig) -> list:
    from harmonic_loss.figures._toy_common import transformer_ev_claims

    return transformer_ev_claims(result, list(cfg.variants))


def untrained(cfg: SweepConfig) -> SweepConfig:
    """The control: every run of the sweep stops after one epoch."""
    from harmonic_loss.figures._toy_common import untrained_sweep

    return untrained_sweep(cfg)


def plot(result: dict[str, Any], cfg: SweepConfig):
    from harmonic_loss.figures._toy_common import draw_gallery, overlap_note
    from repro.plot import set_style

    set_style()
    rows = [(t, m) for t in TASKS for m in ("standard_mlp", "harmonic_mlp") if t in cfg.mlp_tasks]
    rows += [
        (t, m)
        for t in TASKS
        for m in ("standard_transformer", "harmonic_transformer")
        if t in cfg.transformer_tasks
    ]
    cols = [(sp, s) for sp in cfg.variants for s in cfg.seeds]
    fig = draw_gallery(
        result,
        rows,
        cols,
        "Fig. 7: input embeddings on their top-2 PCs, every model x task x seed "
        f"({', '.join(cfg.variants)} split; {cfg.mlp_epochs} MLP / {cfg.transformer_epochs} transformer epochs)\n"
        + overlap_note(result, list(cfg.mlp_tasks)),
    )
    return fig


FIGURE = Figure(
    paper="harmonic_loss",
    id="fig7",
    title="Full representation gallery (the shared toy sweep)",
    configs={"smoke": SMOKE, "quick": QUICK, "paper": PAPER},
    compute=compute,
    plot=plot,
    claims=claims,
    variants=SPLITS,
    est_seconds={"smoke": 4, "quick": 230, "paper": 3600},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    control=untrained,
    control_label="untrained: every run stops after 1 epoch",
)
