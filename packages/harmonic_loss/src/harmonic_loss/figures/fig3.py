"""Figure 3: (a) explained variance vs PC, (a') the task structure metrics, (b) data efficiency, (c) grokking.

Setting (spec F3, ``final_figures.ipynb`` cells 4, 5, 7), one column per task:
- (a) cumulative EV of the input embedding vs number of PCs (1-10), median over seeds, for every model trained in
  the Fig. 7 sweep (read from the cache; same training settings and split variants, see ``fig7``).
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
accuracies evaluated every ``eval_every`` epochs of the sweep (official: every epoch).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from harmonic_loss.toy_config import MODELS, SPLITS, TASKS, SweepConfig
from repro.figure import Figure

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


def compute(cfg: Fig3Config) -> dict[str, Any]:
    import numpy as np

    from harmonic_loss.figures._toy_common import indices, sweep_scale
    from harmonic_loss.toy_train import run_data_efficiency, select
    from repro.run import require

    sweep = require("harmonic_loss:fig7", sweep_scale(cfg.sweep), cfg.sweep)
    sweep = select(sweep, np.array(indices(sweep, split=tuple(cfg.variants))))
    for k in ["emb"] + [k for k in sweep if k.startswith("curve_")]:
        sweep.pop(k)
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


# ----------------------------------------------------------------------------------------------- measures
def _median_cum_ev(sweep: dict, t: str, m: str, sp: str):
    import numpy as np

    from harmonic_loss.figures._toy_common import indices

    idx = indices(sweep, task=t, model=m, split=sp)
    if not idx:
        return None
    return np.median(np.nancumsum(sweep["ev"][idx][:, :10], 1), 0)


def _pcs_for(cum, level: float = 0.9) -> float:
    import numpy as np

    if cum is None:
        return float("nan")
    hit = np.flatnonzero(cum >= level)
    return float(hit[0] + 1) if len(hit) else float(len(cum) + 1)


def _eff_curve(eff: dict, t: str, m: str, sp: str, fractions):
    import numpy as np

    from harmonic_loss.figures._toy_common import indices

    med, lo, hi, ov = [], [], [], []
    for f in fractions:
        idx = [
            i
            for i in indices(eff, task=t, model=m, split=sp)
            if abs(eff["runs"]["train_fraction"][i] - f) < 1e-9
        ]
        if not idx:
            return None
        acc = eff["final_test_acc"][idx]
        med.append(np.median(acc))
        lo.append(acc.min())
        hi.append(acc.max())
        ov.append(np.mean(eff["overlap"][idx]))
    return np.array(med), np.array(lo), np.array(hi), np.array(ov)


def _grok(sweep: dict, t: str, m: str, sp: str):
    """(train epochs, test epochs, reached mask, cap) with never-reached runs placed at the cap."""
    import numpy as np

    from harmonic_loss.figures._toy_common import indices

    idx = indices(sweep, task=t, model=m, split=sp)
    if not idx:
        return None
    cap = sweep["runs"]["epochs"][idx].astype(float)
    tr, te = sweep["grok_train"][idx], sweep["grok_test"][idx]
    reached = np.isfinite(te)
    return np.where(np.isfinite(tr), tr, cap), np.where(reached, te, cap), reached, cap


def _pcs_per_run(sweep: dict, level: float = 0.9):
    """Per run: the number of PCs whose cumulative EV first reaches ``level`` (11 if ten do not)."""
    import numpy as np

    cum = np.nancumsum(sweep["ev"][:, :10], 1)
    return np.array([_pcs_for(c, level) for c in cum])


def _min_fraction_per_seed(eff: dict, t: str, m: str, sp: str, fractions, level: float = 0.9):
    """Per seed (ordered): the smallest train fraction whose final test accuracy reaches ``level`` (1.0 if none)."""
    import numpy as np

    from harmonic_loss.figures._toy_common import per_seed

    acc = np.array(
        [per_seed(eff, eff["final_test_acc"], t, m, sp, train_fraction=float(f)) for f in fractions]
    )  # [fractions, seeds]
    fr = np.asarray(fractions, dtype=float)
    return np.array([fr[np.flatnonzero(a >= level)[0]] if (a >= level).any() else 1.0 for a in acc.T])


def _train_reached(sweep: dict, t: str, m: str, sp: str):
    """Precondition of a grokking comparison: train accuracy stayed > 0.9 within the run, on every seed."""
    from harmonic_loss.figures._toy_common import MODEL_LABELS, per_seed
    from repro.claims import Precondition

    tr = per_seed(sweep, sweep["grok_train"], t, m, sp)
    ok = bool(len(tr)) and bool((tr == tr).all())
    detail = ", ".join("not reached" if v != v else f"epoch {v:.0f}" for v in tr)
    return Precondition(f"{MODEL_LABELS[m]} train accuracy reached 0.9 on {t} (every seed)", ok, detail)


def claims(result: dict[str, Any], cfg: Fig3Config) -> list:
    """The paper's Fig. 3 claims, one value per seed (paired by seed: same data set for both models).

    (a) harmonic MLP embeddings of lattice/circle need 2 PCs for 90% of the variance (read off ev_plot);
    (a') the official task metrics (computed by crystal_metric.py, never reported) are lower for the harmonic MLP;
    (b) the harmonic MLP needs less data: smallest train fraction reaching test accuracy 0.9, harmonic - standard
    (spec: lattice 0.1 vs 0.4; modular addition max at 0.4 vs 0.7); the note gives the lowest train accuracy;
    (c) the harmonic MLP groks earlier: epochs to test acc > 0.9 (runs that never get there count at the cap),
    harmonic - standard (official medians 308 vs 1032 on circle, 1049 vs 2861 on permutation); tested only when
    both models reached train accuracy 0.9 on every seed (a run stopped before the standard model fits its
    training set cannot time its grokking: ``not reached``).
    """
    from harmonic_loss.figures._toy_common import per_seed
    from harmonic_loss.metrics import METRIC_NAMES
    from repro.claims import Claim, official_code, read_off_plot

    sweep, eff = result["sweep"], result["efficiency"]
    pcs = _pcs_per_run(sweep)
    out = []
    for sp in cfg.variants:
        for t in ("lattice", "circle"):
            h_m, s_m = "harmonic_mlp", "standard_mlp"
            out.append(
                Claim(
                    f"(a) {t}: PCs for 90% cumulative EV, harmonic MLP",
                    per_seed(sweep, pcs, t, h_m, sp),
                    "<=",
                    2,
                    paper=read_off_plot(2, "Fig. 3a ev_plot, median of 20 seeds"),
                    variant=sp,
                    preconditions=(_trained(sweep, t, h_m, sp),),
                )
            )
            gap = per_seed(sweep, sweep["metric"], t, h_m, sp) - per_seed(sweep, sweep["metric"], t, s_m, sp)
            out.append(
                Claim(
                    f"(a') {t}: {METRIC_NAMES[t]}, harmonic MLP - standard MLP (lower = more structure)",
                    gap,
                    "<",
                    0.0,
                    paper=official_code(None, "crystal_metric.py @ 60a6722 (computed, never reported)"),
                    variant=sp,
                    preconditions=(_trained(sweep, t, h_m, sp), _trained(sweep, t, s_m, sp)),
                )
            )
        for t, paper, where in (
            ("lattice", -0.3, "Fig. 3b lattice panel: harmonic 0.96 at 0.1, standard 1.0 from 0.4"),
            ("circle", -0.3, "Fig. 3b modular-addition panel: harmonic max at 0.4, standard at 0.7"),
        ):
            if t not in cfg.eff_tasks:
                continue
            fh = _min_fraction_per_seed(eff, t, "harmonic_mlp", sp, cfg.eff_fractions)
            fs = _min_fraction_per_seed(eff, t, "standard_mlp", sp, cfg.eff_fractions)
            out.append(
                Claim(
                    f"(b) {t}: smallest train fraction with test acc >= 0.9, harmonic - standard MLP",
                    fh - fs,
                    "<",
                    0.0,
                    paper=read_off_plot(paper, where),
                    variant=sp,
                    note="lowest final train acc over fractions and seeds: "
                    + ", ".join(
                        f"{m.split('_')[0]} {eff['final_train_acc'][_idx(eff, t, m, sp)].min():.2f}"
                        for m in ("harmonic_mlp", "standard_mlp")
                    ),
                )
            )
        for t, paper in (("circle", 308 - 1032), ("permutation", 1049 - 2861)):
            gh, gs = _grok(sweep, t, "harmonic_mlp", sp), _grok(sweep, t, "standard_mlp", sp)
            if gh is None or gs is None:
                continue
            te = {
                m: per_seed(sweep, _grok_test_capped(sweep), t, m, sp)
                for m in ("harmonic_mlp", "standard_mlp")
            }
            out.append(
                Claim(
                    f"(c) {t}: epochs to test acc > 0.9 (never = cap), harmonic - standard MLP",
                    te["harmonic_mlp"] - te["standard_mlp"],
                    "<",
                    0.0,
                    paper=official_code(
                        paper, "final_figures.ipynb cell 7 output @ 60a6722, medians of 20 seeds"
                    ),
                    unit="epochs",
                    variant=sp,
                    preconditions=tuple(
                        _train_reached(sweep, t, m, sp) for m in ("harmonic_mlp", "standard_mlp")
                    ),
                    note=f"test acc reached 0.9: harmonic {int(gh[2].sum())}/{len(gh[2])}, "
                    f"standard {int(gs[2].sum())}/{len(gs[2])} runs",
                )
            )
    return out


def _grok_test_capped(sweep: dict):
    import numpy as np

    te = sweep["grok_test"]
    return np.where(np.isfinite(te), te, sweep["runs"]["epochs"].astype(float))


def _trained(sweep: dict, t: str, m: str, sp: str):
    from harmonic_loss.figures._toy_common import trained

    return trained(sweep, t, m, sp)


def _idx(sweep, t, m, sp):
    from harmonic_loss.figures._toy_common import indices

    return indices(sweep, task=t, model=m, split=sp)


# ----------------------------------------------------------------------------------------------- plot
STYLE = {
    "standard_mlp": {"marker": "o"},
    "harmonic_mlp": {"marker": "o"},
    "standard_transformer": {"marker": "^"},
    "harmonic_transformer": {"marker": "^"},
}


def _colour(m: str) -> str:
    from harmonic_loss.figures._toy_common import model_colour

    base = model_colour(m)
    if m.endswith("transformer"):
        return {"#4C72B0": "#8172B3", "#DD8452": "#C44E52"}.get(base, base)
    return base


def plot(result: dict[str, Any], cfg: Fig3Config):
    import matplotlib.pyplot as plt
    import numpy as np

    from harmonic_loss.figures._toy_common import MODEL_LABELS, overlap_note, split_style
    from harmonic_loss.metrics import METRIC_HIGHER_IS_BETTER, METRIC_NAMES
    from harmonic_loss.toy_data import TASK_TITLES
    from repro.plot import set_style

    set_style()
    sweep, eff = result["sweep"], result["efficiency"]
    tasks = [t for t in TASKS if t in cfg.sweep.mlp_tasks or t in cfg.sweep.transformer_tasks]
    fig, axes = plt.subplots(
        4, len(tasks), figsize=(3.0 * len(tasks), 12.5), squeeze=False, layout="constrained"
    )
    models_present = [m for m in MODELS if any(m == x for x in sweep["runs"]["model"])]
    pcs = np.arange(1, 11)
    for c, t in enumerate(tasks):
        # (a) cumulative EV
        ax = axes[0, c]
        for m in models_present:
            for sp in cfg.variants:
                cum = _median_cum_ev(sweep, t, m, sp)
                if cum is None:
                    continue
                for i in _idx(sweep, t, m, sp):  # every seed, thin
                    one = np.nancumsum(sweep["ev"][i, :10])
                    ax.plot(pcs[: len(one)], one, split_style(sp), color=_colour(m), lw=0.5, alpha=0.35)
                ax.plot(pcs[: len(cum)], cum, split_style(sp), color=_colour(m), ms=3, lw=1.2, **STYLE[m])
        ax.set_ylim(0.1, 1.05)
        ax.set_xticks(pcs)
        ax.set_xlabel("number of PCs")
        ax.set_ylabel("cumulative explained variance\n(median; thin: each seed)")
        ax.set_title(f"(a) {TASK_TITLES[t]}")
        # (a') task metric
        ax = axes[1, c]
        for k, m in enumerate(models_present):
            for j, sp in enumerate(cfg.variants):
                idx = _idx(sweep, t, m, sp)
                if not idx:
                    continue
                vals = sweep["metric"][idx]
                x = k + (j - 0.5 * (len(cfg.variants) - 1)) * 0.3 + np.linspace(-0.05, 0.05, len(vals))
                ax.scatter(
                    x,
                    vals,
                    s=16,
                    color=_colour(m),
                    marker=STYLE[m]["marker"],
                    facecolors=_colour(m) if sp == "official" else "none",
                )
        ax.set_xticks(range(len(models_present)))
        ax.set_xticklabels([MODEL_LABELS[m].replace(" ", "\n") for m in models_present], fontsize=6)
        better = "higher" if METRIC_HIGHER_IS_BETTER[t] else "lower"
        ax.set_title(f"(a') task metric: {METRIC_NAMES[t]}\n({better} = more structured)")
        # (b) data efficiency
        ax = axes[2, c]
        fr = np.array(cfg.eff_fractions)
        notes = []
        for m in MODELS:
            for sp in cfg.variants:
                curve = _eff_curve(eff, t, m, sp, cfg.eff_fractions)
                if curve is None:
                    continue
                med, lo, hi, ov = curve
                ax.plot(fr, med, split_style(sp), color=_colour(m), ms=3, lw=1.2, **STYLE[m])
                ax.fill_between(fr, lo, hi, color=_colour(m), alpha=0.12, lw=0)
                if sp == "official" and not notes:
                    notes.append(ov)
        ax.set_ylim(-0.02, 1.05)
        ax.set_xticks(fr)
        if notes:
            ax.set_xticklabels([f"{f:g}\n{o:.2f}" for f, o in zip(fr, notes[0], strict=True)], fontsize=5.5)
            ax.set_xlabel(
                "train fraction (data size 1000)\nbelow it: measured train/test overlap, official split"
            )
        else:
            ax.set_xticklabels([f"{f:g}" for f in fr], fontsize=6)
            ax.set_xlabel("train fraction (data size 1000)")
        ax.set_ylabel("final test accuracy (median, min-max)")
        ax.set_title(
            f"(b) data efficiency: {TASK_TITLES[t]}" + ("" if notes else "\n(not run at this scale)")
        )
        # (c) grokking
        ax = axes[3, c]
        vmax = 1.0
        for m in models_present:
            for sp in cfg.variants:
                g = _grok(sweep, t, m, sp)
                if g is None:
                    continue
                tr, te, reached, cap = g
                vmax = max(vmax, float(np.nanmax(cap)))
                col = _colour(m)
                ax.scatter(tr[reached], te[reached], s=18, color=col, marker=STYLE[m]["marker"], alpha=0.8)
                ax.scatter(
                    tr[~reached],
                    te[~reached],
                    s=22,
                    facecolors="none",
                    edgecolors=col,
                    marker=STYLE[m]["marker"],
                )
                ax.plot(
                    [],
                    [],
                    STYLE[m]["marker"],
                    color=col,
                    label=f"{MODEL_LABELS[m]} {sp}: {int(reached.sum())}/{len(reached)}",
                )
        ax.plot([0, vmax], [0, vmax], "k--", lw=0.8)
        ax.set_xlim(-0.03 * vmax, 1.05 * vmax)
        ax.set_ylim(-0.03 * vmax, 1.05 * vmax)
        ax.set_xlabel("epoch train acc first stays > 0.9 (20 epochs)")
        ax.set_ylabel("epoch test acc first stays > 0.9")
        ax.set_title(f"(c) grokking: {TASK_TITLES[t]}\n(hollow = never reached, drawn at the cap)")
        ax.legend(fontsize=5, loc="upper left", title="reached / runs", title_fontsize=5)
    handles = [
        plt.Line2D([], [], color=_colour(m), marker=STYLE[m]["marker"], label=MODEL_LABELS[m])
        for m in models_present
    ]
    handles += [
        plt.Line2D(
            [],
            [],
            color="0.3",
            ls=split_style(sp),
            marker="o",
            mfc="0.3" if sp == "official" else "none",
            label=f"{sp} split ({SPLIT_MARKS[sp]})",
        )
        for sp in cfg.variants
    ]
    axes[0, 0].legend(handles=handles, loc="lower right", fontsize=5.5)
    fig.suptitle(
        f"Fig. 3: harmonic vs standard models on toy tasks (sweep: {cfg.sweep.mlp_epochs} MLP / "
        f"{cfg.sweep.transformer_epochs} transformer epochs, seeds {list(cfg.sweep.seeds)[:5]}"
        f"{'...' if len(cfg.sweep.seeds) > 5 else ''}; (b): {cfg.eff_epochs} {cfg.eff_budget} budget)\n"
        + overlap_note(sweep, tasks),
        fontsize=9,
    )
    return fig


def untrained(cfg: Fig3Config) -> Fig3Config:
    """The control: the sweep and the data-efficiency runs stop after one epoch."""
    from harmonic_loss.figures._toy_common import untrained_sweep

    return replace(cfg, sweep=untrained_sweep(cfg.sweep), eff_epochs=1)


def _configs() -> dict[str, Fig3Config]:
    from harmonic_loss.figures.fig7 import FIGURE as FIG7

    mlps = ("standard_mlp", "harmonic_mlp")
    quick = Fig3Config(
        sweep=FIG7.configs["quick"],
        eff_tasks=("lattice", "circle"),
        eff_models=mlps,
        eff_epochs=150,
        eff_budget="steps",
    )
    smoke = replace(
        quick, sweep=FIG7.configs["smoke"], eff_seeds=(0, 52), eff_fractions=(0.1, 0.5, 0.9), eff_epochs=2
    )
    paper = Fig3Config(sweep=FIG7.configs["paper"])
    return {"smoke": smoke, "quick": quick, "paper": paper}


FIGURE = Figure(
    paper="harmonic_loss",
    id="fig3",
    title="EV vs PC, task metrics, data efficiency, grokking",
    configs=_configs(),
    compute=compute,
    plot=plot,
    claims=claims,
    variants=SPLITS,
    est_seconds={"smoke": 6, "quick": 120, "paper": 7200},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    control=untrained,
    control_label="untrained: sweep and data-efficiency runs stop after 1 epoch",
)
