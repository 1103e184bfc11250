"""Fig. 3's panels (EV vs PCs, task metric, data efficiency, grokking): presentation only, imported inside
``plot`` (not part of any cache fingerprint)."""

from __future__ import annotations

from typing import Any

from harmonic_loss.figures._toy_common import model_colour, overlap_note, split_style  # noqa: F401  (for fig3)
from harmonic_loss.toy_analysis import MODEL_LABELS, indices  # noqa: F401  (MODEL_LABELS: for fig3's legend)

MARKERS = {
    "standard_mlp": "o",
    "harmonic_mlp": "o",
    "standard_transformer": "^",
    "harmonic_transformer": "^",
}


def colour3(m: str) -> str:
    """Fig. 3's colours: the MLPs in the method/baseline colours, the transformers in darker variants."""
    base = model_colour(m)
    if m.endswith("transformer"):
        return {"#4C72B0": "#8172B3", "#DD8452": "#C44E52"}.get(base, base)
    return base


def draw_cum_ev(ax: Any, sweep: dict, t: str, models: list[str], variants) -> None:
    """(a) cumulative EV vs number of PCs: the median over seeds, and every seed thin."""
    import numpy as np

    from harmonic_loss.toy_data import TASK_TITLES
    from harmonic_loss.toy_measures import median_cum_ev

    pcs = np.arange(1, 11)
    for m in models:
        for sp in variants:
            cum = median_cum_ev(sweep, t, m, sp)
            if cum is None:
                continue
            for i in indices(sweep, task=t, model=m, split=sp):  # every seed, thin
                one = np.nancumsum(sweep["ev"][i, :10])
                ax.plot(pcs[: len(one)], one, split_style(sp), color=colour3(m), lw=0.5, alpha=0.35)
            ax.plot(pcs[: len(cum)], cum, split_style(sp), color=colour3(m), ms=3, lw=1.2, marker=MARKERS[m])
    ax.set_ylim(0.1, 1.05)
    ax.set_xticks(pcs)
    ax.set_xlabel("number of PCs")
    ax.set_ylabel("cumulative explained variance\n(median; thin: each seed)")
    ax.set_title(f"(a) {TASK_TITLES[t]}")


def draw_task_metric(ax: Any, sweep: dict, t: str, models: list[str], variants) -> None:
    """(a') the task's structure metric, one dot per run (hollow: unique split)."""
    import numpy as np

    from harmonic_loss.metrics import METRIC_HIGHER_IS_BETTER, METRIC_NAMES

    for k, m in enumerate(models):
        for j, sp in enumerate(variants):
            idx = indices(sweep, task=t, model=m, split=sp)
            if not idx:
                continue
            vals = sweep["metric"][idx]
            x = k + (j - 0.5 * (len(variants) - 1)) * 0.3 + np.linspace(-0.05, 0.05, len(vals))
            ax.scatter(
                x,
                vals,
                s=16,
                color=colour3(m),
                marker=MARKERS[m],
                facecolors=colour3(m) if sp == "official" else "none",
            )
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels([MODEL_LABELS[m].replace(" ", "\n") for m in models], fontsize=6)
    better = "higher" if METRIC_HIGHER_IS_BETTER[t] else "lower"
    ax.set_title(f"(a') task metric: {METRIC_NAMES[t]}\n({better} = more structured)")


def draw_efficiency(ax: Any, eff: dict, t: str, models, variants, fractions) -> None:
    """(b) final test accuracy vs train fraction: median over seeds, min-max shaded, official overlap below."""
    import numpy as np

    from harmonic_loss.toy_data import TASK_TITLES
    from harmonic_loss.toy_measures import eff_curve

    fr = np.array(fractions)
    notes = []
    for m in models:
        for sp in variants:
            curve = eff_curve(eff, t, m, sp, fractions)
            if curve is None:
                continue
            med, lo, hi, ov = curve
            ax.plot(fr, med, split_style(sp), color=colour3(m), ms=3, lw=1.2, marker=MARKERS[m])
            ax.fill_between(fr, lo, hi, color=colour3(m), alpha=0.12, lw=0)
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
    ax.set_title(f"(b) data efficiency: {TASK_TITLES[t]}" + ("" if notes else "\n(not run at this scale)"))


def draw_grokking(ax: Any, sweep: dict, t: str, models: list[str], variants) -> None:
    """(c) epoch train accuracy stays > 0.9 vs the same for test; never-reached runs hollow, at the cap."""
    import numpy as np

    from harmonic_loss.toy_data import TASK_TITLES
    from harmonic_loss.toy_measures import grok

    vmax = 1.0
    for m in models:
        for sp in variants:
            g = grok(sweep, t, m, sp)
            if g is None:
                continue
            tr, te, reached, cap = g
            vmax = max(vmax, float(np.nanmax(cap)))
            col, mk = colour3(m), MARKERS[m]
            ax.scatter(tr[reached], te[reached], s=18, color=col, marker=mk, alpha=0.8)
            ax.scatter(tr[~reached], te[~reached], s=22, facecolors="none", edgecolors=col, marker=mk)
            label = f"{MODEL_LABELS[m]} {sp}: {int(reached.sum())}/{len(reached)}"
            ax.plot([], [], mk, color=col, label=label)
    ax.plot([0, vmax], [0, vmax], "k--", lw=0.8)
    ax.set_xlim(-0.03 * vmax, 1.05 * vmax)
    ax.set_ylim(-0.03 * vmax, 1.05 * vmax)
    ax.set_xlabel("epoch train acc first stays > 0.9 (20 epochs)")
    ax.set_ylabel("epoch test acc first stays > 0.9")
    ax.set_title(f"(c) grokking: {TASK_TITLES[t]}\n(hollow = never reached, drawn at the cap)")
    ax.legend(fontsize=5, loc="upper left", title="reached / runs", title_fontsize=5)
