"""Plot helpers shared by the toy-task figures (2, 3, 4, 7). Presentation only: nothing here changes a computed
number (figures import it only inside ``plot``, so it is not part of any cache fingerprint), and it imports only
the standard library and light package modules at module level. The analysis (run selection, per-seed values,
claims) is in :mod:`harmonic_loss.toy_analysis` and :mod:`harmonic_loss.toy_measures`."""

from __future__ import annotations

from typing import Any

from harmonic_loss.toy_analysis import MODEL_LABELS, indices

TASK_CMAPS = {
    "lattice": "viridis",
    "circle": "hsv",
    "equivalence": "tab10",
    "genealogy": "viridis",
    "permutation": "tab10",
}


def model_colour(model: str) -> str:
    from repro.plot import BASELINE, METHOD

    return METHOD if model.startswith("harmonic") else BASELINE


def split_style(split: str) -> str:
    return "-" if split == "official" else "--"


def draw_embedding(ax: Any, task_name: str, emb: Any, title: str) -> None:
    """One gallery panel: the task's entity embeddings on their top-2 PCs, coloured by the task's structure."""

    from harmonic_loss.metrics import pca_2d
    from harmonic_loss.toy_data import task

    t = task(task_name)
    pts = pca_2d(emb[t.entity_tokens])
    kw = {"color": "0.8", "lw": 0.5, "zorder": 1}
    if task_name == "lattice":
        p = t.aux["p"]
        grid = pts.reshape(p, p, 2)
        for i in range(p):
            ax.plot(grid[i, :, 0], grid[i, :, 1], **kw)
            ax.plot(grid[:, i, 0], grid[:, i, 1], **kw)
    elif task_name == "genealogy":
        nodes = t.entity_tokens
        for j, node in enumerate(nodes):
            if node >= 2:
                parent = node // 2 - 1
                ax.plot([pts[j, 0], pts[parent, 0]], [pts[j, 1], pts[parent, 1]], **kw)
    ax.scatter(pts[:, 0], pts[:, 1], c=t.colour, cmap=TASK_CMAPS[task_name], s=9, zorder=2, linewidths=0)
    ax.set_title(title, fontsize=6.5, pad=2)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")


def draw_gallery(result: dict, rows: list[tuple[str, str]], cols: list[tuple[str, int]], suptitle: str):
    """A grid of embedding panels: rows (task, model), columns (split, seed); EV of the top-2 PCs in each title."""
    import matplotlib.pyplot as plt

    from harmonic_loss.toy_data import TASK_TITLES

    size = 1.05
    fig, axes = plt.subplots(
        len(rows),
        len(cols),
        figsize=(1.6 + size * len(cols), 0.6 + size * len(rows)),
        squeeze=False,
        layout="constrained",
    )
    for r, (task_name, model) in enumerate(rows):
        for c, (split, seed) in enumerate(cols):
            ax = axes[r, c]
            idx = indices(result, task=task_name, model=model, split=split, seed=seed)
            if not idx:
                ax.axis("off")
                continue
            i = idx[0]
            ev2 = result["ev"][i, :2].sum()
            draw_embedding(ax, task_name, result["emb"][i], f"{split} s{seed}: EV {100 * ev2:.0f}%")
            if c == 0:
                ax.set_ylabel(f"{TASK_TITLES[task_name]}\n{MODEL_LABELS[model]}", fontsize=6.5)
            for spine in ax.spines.values():
                spine.set_edgecolor(model_colour(model))
                spine.set_linewidth(1.2)
    import textwrap

    width = int(fig.get_figwidth() * 13)
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in suptitle.split("\n")), fontsize=8)
    return fig


def overlap_note(result: dict, tasks: list[str]) -> str:
    """``measured train/test overlap (official split): lattice 0.12, ...`` (mean over the runs shown)."""
    import numpy as np

    parts = []
    for t in tasks:
        idx = indices(result, task=t, split="official")
        if idx:
            parts.append(f"{t} {np.mean(result['overlap'][idx]):.2f}")
    return "test rows whose input is also in train, official split: " + ", ".join(parts) + "; unique split: 0"


# ----------------------------------------------------------------------------------------------- Fig. 3 panels
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
