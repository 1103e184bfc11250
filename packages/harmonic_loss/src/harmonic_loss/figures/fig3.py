"""Figure 3: (a) explained variance vs PC, (a') the task structure metrics, (b) data efficiency, (c) grokking.

Setting (spec F3, ``final_figures.ipynb`` cells 4, 5, 7), one column per task:
- (a) cumulative EV of the input embedding vs number of PCs (1-10), median over seeds, for every model trained in
  the toy sweep (the stage ``harmonic_loss.toy_sweep``, shared with Figs. 2 and 7; training settings, split
  variants and choices in ``fig7``).
- (a') the task-specific "crystal" metrics the official ``crystal_metric.py`` computed but never plotted (spec 3.2,
  defined in :mod:`harmonic_loss.metrics`), one dot per run, beside the EV row.
- (b) final test accuracy vs train fraction {0.1, ..., 0.9} with the data size fixed at 1000, median over seeds with
  the min-max range shaded. Fixes D5: one shared y axis with ticks on every panel, >= 3 seeds, 0.5 included. The
  official split's train/test overlap grows with the train fraction (printed per panel): on that split part of
  the "test accuracy" is memorisation.
- (c) one marker per run: the first epoch from which train accuracy stays > 0.9 for 20 epochs (x) vs the same for
  test accuracy (y); dashed diagonal = no delay (no grokking). Fixes D4: axes labelled the right way round (the
  official plot swapped them), runs that never reach the threshold are drawn at the cap (the run's epoch budget,
  hollow markers, and counted in the legend) instead of being dropped, and the axes are not clipped.

Choices where the spec is silent: at ``quick`` the data-efficiency runs are the MLPs on lattice and circle (the
spec's CPU plan; adding genealogy costs ~80 s more on 2 cores) with the official seeds 0, 52, 105, and every fraction trains for the same number of optimizer steps (those
of 150 epochs at fraction 0.8: with a short budget, a fixed number of *epochs* would give fraction 0.1 eight times fewer
steps than 0.8 and confound data efficiency with training length); ``paper`` uses the official fixed 7000 epochs,
all four models, all five tasks and 3 seeds (the paper used one, seed 66). Grokking epochs are measured on
accuracies evaluated every ``eval_every`` epochs of the sweep (official: every epoch); the transformers' accuracies
(their (c) markers, and (b) where transformers are trained) are measured as the sweep's ``eval_dropout`` says
(official: dropout active, D6; see ``fig7``). The sweep's runs are its official D9 arm (the ablation is Fig. 2's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from harmonic_loss.stages import SWEEPS, TOY_SWEEP
from harmonic_loss.toy_config import MODELS, SPLITS, TASKS, SweepConfig, untrained_sweep
from repro.figure import Figure
from repro.stage import Need

SPLIT_MARKS = {"official": "solid lines, filled dots", "unique": "dashed lines, hollow dots in (a')"}
FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Fig3Config:
    sweep: SweepConfig
    variants: tuple[str, ...] = SPLITS
    eff_tasks: tuple[str, ...] = TASKS
    eff_models: tuple[str, ...] = MODELS
    eff_fractions: tuple[float, ...] = FRACTIONS
    eff_seeds: tuple[int, ...] = (0, 52, 105)
    eff_epochs: int = 7000
    eff_budget: str = "epochs"  # "epochs" (official) or "steps" (same steps for every fraction)
    grok_threshold: float = 0.9

    def __post_init__(self) -> None:
        if not set(self.eff_tasks) <= set(TASKS) or not set(self.eff_models) <= set(MODELS):
            raise ValueError("unknown task or model in eff_tasks / eff_models")
        if any(not 0 < f < 1 for f in self.eff_fractions):
            raise ValueError("train fractions must be in (0, 1)")
        if self.eff_budget not in ("epochs", "steps"):
            raise ValueError("eff_budget must be 'epochs' or 'steps'")
        if self.eff_epochs < 1 or not self.eff_seeds:
            raise ValueError("eff_epochs must be >= 1 and eff_seeds non-empty")
        if not set(self.variants) <= set(self.sweep.variants):
            raise ValueError(f"variants {self.variants} must be trained by the sweep ({self.sweep.variants})")


def compute(cfg: Fig3Config, sweep: dict[str, Any]) -> dict[str, Any]:
    from harmonic_loss.toy_analysis import sweep_runs
    from harmonic_loss.toy_train import run_data_efficiency

    sweep = sweep_runs(sweep, drop=("emb",), split=tuple(cfg.variants))
    eff = run_data_efficiency(
        cfg.sweep,
        cfg.eff_tasks,
        cfg.eff_models,
        cfg.eff_fractions,
        cfg.eff_seeds,
        cfg.variants,
        cfg.eff_epochs,
        cfg.eff_budget,
    )
    return {"sweep": sweep, "efficiency": eff}


def claims(result: dict[str, Any], cfg: Fig3Config) -> list:
    """See :func:`harmonic_loss.toy_measures.toy_structure_claims` (one value per seed, paired by seed)."""
    from harmonic_loss.toy_measures import toy_structure_claims

    return toy_structure_claims(result, cfg)


def plot(result: dict[str, Any], cfg: Fig3Config):
    import matplotlib.pyplot as plt

    from harmonic_loss.figures import _fig3_panels as tc
    from repro.plot import set_style

    set_style()
    sweep, eff = result["sweep"], result["efficiency"]
    tasks = [t for t in TASKS if t in cfg.sweep.mlp_tasks or t in cfg.sweep.transformer_tasks]
    fig, axes = plt.subplots(
        4, len(tasks), figsize=(3.0 * len(tasks), 12.5), squeeze=False, layout="constrained"
    )
    models = [m for m in MODELS if any(m == x for x in sweep["runs"]["model"])]
    for c, t in enumerate(tasks):
        tc.draw_cum_ev(axes[0, c], sweep, t, models, cfg.variants)
        tc.draw_task_metric(axes[1, c], sweep, t, models, cfg.variants)
        tc.draw_efficiency(axes[2, c], eff, t, MODELS, cfg.variants, cfg.eff_fractions)
        tc.draw_grokking(axes[3, c], sweep, t, models, cfg.variants)
    handles = [
        plt.Line2D([], [], color=tc.colour3(m), marker=tc.MARKERS[m], label=tc.MODEL_LABELS[m])
        for m in models
    ]
    handles += [
        plt.Line2D(
            [],
            [],
            color="0.3",
            ls=tc.split_style(sp),
            marker="o",
            mfc="0.3" if sp == "official" else "none",
            label=f"{sp} split ({SPLIT_MARKS[sp]})",
        )
        for sp in cfg.variants
    ]
    axes[0, 0].legend(handles=handles, loc="lower right", fontsize=5.5)
    fig.suptitle(
        f"Fig. 3: harmonic vs standard models on toy tasks (sweep: {cfg.sweep.mlp_epochs} MLP "
        f"({cfg.sweep.permutation_mlp_epochs} on permutation) / "
        f"{cfg.sweep.transformer_epochs} transformer epochs, seeds {list(cfg.sweep.seeds)[:5]}"
        f"{'...' if len(cfg.sweep.seeds) > 5 else ''}; (b): {cfg.eff_epochs} {cfg.eff_budget} budget)\n"
        + tc.overlap_note(sweep, tasks),
        fontsize=9,
    )
    return fig


def untrained(cfg: Fig3Config) -> Fig3Config:
    """The control: the sweep and the data-efficiency runs stop after one epoch."""
    return replace(cfg, sweep=untrained_sweep(cfg.sweep), eff_epochs=1)


MLPS = ("standard_mlp", "harmonic_mlp")
QUICK = Fig3Config(
    sweep=SWEEPS["quick"],
    eff_tasks=("lattice", "circle"),
    eff_models=MLPS,
    eff_epochs=150,
    eff_budget="steps",
)
SMOKE = replace(QUICK, sweep=SWEEPS["smoke"], eff_seeds=(0, 52), eff_fractions=(0.1, 0.5, 0.9), eff_epochs=2)

FIGURE = Figure(
    paper="harmonic_loss",
    id="fig3",
    title="EV vs PC, task metrics, data efficiency, grokking",
    configs={"smoke": SMOKE, "quick": QUICK, "paper": Fig3Config(sweep=SWEEPS["paper"])},
    compute=compute,
    plot=plot,
    claims=claims,
    variants=SPLITS,
    needs={"sweep": Need(TOY_SWEEP, field="sweep")},
    est_seconds={"smoke": 6, "quick": 120, "paper": 7200},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    control=untrained,
    control_label="untrained: sweep and data-efficiency runs stop after 1 epoch",
)
