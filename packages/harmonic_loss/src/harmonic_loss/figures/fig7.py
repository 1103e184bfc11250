"""Figure 7 (appendix): the full representation gallery of the toy sweep that Figs. 2, 3a and 3c also read.

Setting (spec F7, ``final_figures.ipynb`` cell 3): 4 models (standard/harmonic MLP and transformer) x 5 toy tasks x
20 seeds, each panel the top-2 PCA of the model's input embedding (entity tokens only, see below), titled with the
explained variance (EV) of those two PCs. Training: the official toy settings (:mod:`harmonic_loss.toy_config`):
data size 1000, train fraction 0.8, AdamW lr 2e-3, weight decay 0.01 (MLP) / 0.005 (transformer), batch 32, 7000
epochs (10,000 for permutation transformers), official exponent n = 1 on d^2, embedding group-lasso 0.01.

The runs are the stage ``harmonic_loss.toy_sweep`` (:mod:`harmonic_loss.stages`, :func:`~harmonic_loss.toy_train.
run_sweep`): every run is trained stacked, one stack (and cache entry) per architecture x arm x task, with
accuracies evaluated every ``eval_every`` epochs for Fig. 3c. Figs. 2, 3 and 7 read it through ``needs`` with
their ``sweep`` config (equal configs => one training); its artifact holds the trained models (safetensors).

Variants = the train/test split (defect D1): ``official`` (1000 rows drawn with replacement, rows split: test inputs
leak into train; the measured overlap is printed under the figure) and ``unique`` (distinct inputs, no leak).
Both are drawn side by side, and every claim is evaluated on each.

Choices where the spec is silent:
- entity tokens for PCA/EV: lattice all 25, circle all 31, equivalence the 40 numbers (not the two answer tokens),
  genealogy the 126 nodes (not the relation tokens), permutation all 24;
- permutation colouring: the coset of the normal Klein four-group V4 (fixed), not the official best-silhouette coset
  per seed (D10); lattice panels connect grid neighbours, genealogy panels connect each node to its parent;
- ``quick`` trains MLPs on all five tasks and transformers on lattice and circle, 3 seeds (the first 3 official
  seeds), for 300 (MLP; 1500 on permutation) / 200 (transformer) epochs instead of 7000, on the CPU; ``paper`` is
  the original grid (20 seeds, 7000 epochs, all four models) and is meant for a GPU.
- the galleries show the official D9 arm (MLPs with the embedding group-lasso and weight decay); the ablated arms
  are drawn and claimed by Fig. 2.

D6 (dropout at evaluation): the official transformer is evaluated with dropout active (its ``train(param_dict)``
shadows ``nn.Module.train``, so ``.eval()`` never happens). The sweep's ``eval_dropout`` (official: True) sets how the
accuracy curves are measured (Fig. 3c); the dropout masks of an evaluation come from a forked RNG, so the training
is the same either way. At the end of training every transformer is evaluated both ways, and every transformer
claim is reported twice from the same trained models: variant ``<split>, dropout at eval`` (official) and
``<split>, eval mode`` (fixed). The EV is the same on both sides and the final test accuracies differ; the "trained"
preconditions (:func:`harmonic_loss.toy_analysis.trained`: > 0.9 for 20 epochs, the official convergence rule) read
the eval-mode training accuracy on both sides (the same models; D6 is a defect of the readout); a claim reproduced
on one side only says so in its note.

Claims: Fig. 7 owns the transformer claims: harmonic vs standard transformer top-2 EV on lattice and circle, paired
by seed, from its EV table, and final test accuracy >= 0.9 of the transformers whose official runs reached it
(F3c table: standard 20/20 on lattice, 19/20 on circle; harmonic 18/20 on lattice; the harmonic transformer on
circle, 8/20, is no claim). See :func:`harmonic_loss.toy_analysis.transformer_ev_claims`. The MLP claims belong to
Fig. 2, the MLP gallery of the main text, which draws the same MLP runs (a claim is counted once, with the figure
that is about it). Control: the same sweep trained for 1 epoch (untrained models: the "trained" preconditions
fail).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from harmonic_loss.stages import SWEEPS, TOY_SWEEP
from harmonic_loss.toy_config import SPLITS, TASKS, SweepConfig, untrained_sweep
from repro.figure import Figure
from repro.stage import Need


@dataclass(frozen=True)
class Fig7Config:
    sweep: SweepConfig
    variants: tuple[str, ...] = SPLITS

    def __post_init__(self) -> None:
        if not set(self.variants) <= set(self.sweep.variants):
            raise ValueError(f"variants {self.variants} must be trained by the sweep ({self.sweep.variants})")


def compute(cfg: Fig7Config, sweep: dict[str, Any]) -> dict[str, Any]:
    from harmonic_loss.toy_analysis import sweep_runs

    return sweep_runs(sweep, split=tuple(cfg.variants))


def claims(result: dict[str, Any], cfg: Fig7Config) -> list:
    from harmonic_loss.toy_analysis import transformer_ev_claims

    return transformer_ev_claims(result, list(cfg.variants))


def untrained(cfg: Fig7Config) -> Fig7Config:
    """The control: every run of the sweep stops after one epoch."""
    return replace(cfg, sweep=untrained_sweep(cfg.sweep))


def plot(result: dict[str, Any], cfg: Fig7Config):
    from harmonic_loss.figures._toy_common import draw_gallery, overlap_note
    from repro.plot import set_style

    set_style()
    sw = cfg.sweep
    rows = [(t, m) for t in TASKS for m in ("standard_mlp", "harmonic_mlp") if t in sw.mlp_tasks]
    rows += [
        (t, m)
        for t in TASKS
        for m in ("standard_transformer", "harmonic_transformer")
        if t in sw.transformer_tasks
    ]
    cols = [(sp, s) for sp in cfg.variants for s in sw.seeds]
    return draw_gallery(
        result,
        rows,
        cols,
        "Fig. 7: input embeddings on their top-2 PCs, every model x task x seed "
        f"({', '.join(cfg.variants)} split; {sw.mlp_epochs} MLP / {sw.transformer_epochs} transformer epochs)\n"
        + overlap_note(result, list(sw.mlp_tasks)),
    )


FIGURE = Figure(
    paper="harmonic_loss",
    id="fig7",
    title="Full representation gallery (the shared toy sweep)",
    configs={scale: Fig7Config(sweep=sweep) for scale, sweep in SWEEPS.items()},
    compute=compute,
    plot=plot,
    claims=claims,
    variants=SPLITS,
    needs={"sweep": Need(TOY_SWEEP, field="sweep")},
    est_seconds={"smoke": 1, "quick": 2, "paper": 10},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},  # the paper-scale gate: its sweep needs a GPU
    control=untrained,
    control_label="untrained: every run stops after 1 epoch",
)
