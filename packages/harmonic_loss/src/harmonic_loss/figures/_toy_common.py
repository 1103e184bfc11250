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


def draw_gallery(result: dict, rows: list[tuple[str, ...]], cols: list[tuple[str, int]], suptitle: str):
    """A grid of embedding panels: rows (task, model) or (task, model, arm), columns (split, seed); EV of the top-2
    PCs in each title."""
    import matplotlib.pyplot as plt

    from harmonic_loss.toy_config import ARM_LABELS
    from harmonic_loss.toy_data import TASK_TITLES

    size = 1.05
    fig, axes = plt.subplots(
        len(rows),
        len(cols),
        figsize=(1.6 + size * len(cols), 0.6 + size * len(rows)),
        squeeze=False,
        layout="constrained",
    )
    for r, row in enumerate(rows):
        task_name, model = row[:2]
        match = {"arm": row[2]} if len(row) > 2 else {}
        for c, (split, seed) in enumerate(cols):
            ax = axes[r, c]
            idx = indices(result, task=task_name, model=model, split=split, seed=seed, **match)
            if not idx:
                ax.axis("off")
                continue
            i = idx[0]
            ev2 = result["ev"][i, :2].sum()
            draw_embedding(ax, task_name, result["emb"][i], f"{split} s{seed}: EV {100 * ev2:.0f}%")
            if c == 0:
                arm = f"\n{ARM_LABELS[row[2]]}" if len(row) > 2 and row[2] != "official" else ""
                ax.set_ylabel(f"{TASK_TITLES[task_name]}\n{MODEL_LABELS[model]}{arm}", fontsize=6.5)
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
        idx = indices(result, task=t, split="official")  # every arm has the same data sets
        if idx:
            parts.append(f"{t} {np.mean(result['overlap'][idx]):.2f}")
    return "test rows whose input is also in train, official split: " + ", ".join(parts) + "; unique split: 0"
