"""Plotting helpers several GenEFT figures share: labels, phase colours, seed lines, phase grids (no analysis here)."""

from __future__ import annotations

from typing import Any

RELATION_LABELS = {
    "mod3": "equivalence mod 3",
    "mod5": "equivalence mod 5",
    "greater": "greater-than (total order)",
    "bipartite": "complete bipartite (10, 20)",
}
PHASE_COLOURS = {
    "generalization": "#1a9850",
    "grokking": "#91cf60",
    "memorization": "#d73027",
    "confusion": "#7f7f7f",
}


def seed_line(ax: Any, x: Any, values: Any, color: str, label: str, marker: str = "o", **kw: Any) -> None:
    """The mean over seeds as a line with seaborn's 95 % interval band, and every seed as a point.

    ``values``: ``[len(x), seeds]``. With one seed there is no band, only the line.
    """
    import numpy as np
    import pandas as pd
    import seaborn as sns

    vals = np.asarray(values, dtype=float)
    n = vals.shape[1]
    df = pd.DataFrame({"x": np.repeat(np.asarray(x, dtype=float), n), "y": vals.ravel()})
    sns.lineplot(
        df,
        x="x",
        y="y",
        ax=ax,
        color=color,
        label=label,
        marker=marker,
        markersize=kw.pop("ms", 4),
        errorbar=("ci", 95) if n > 1 else None,
        seed=0,
        **kw,
    )
    if n > 1:
        ax.scatter(df["x"], df["y"], s=7, color=color, alpha=0.45, lw=0, zorder=3)
    ax.set_xlabel("")
    ax.set_ylabel("")


def plot_phase_grid(
    ax: Any,
    enc: Any,
    dec: Any,
    ph: Any,
    xlabel: str,
    ylabel: str,
    diagonals: bool = True,
    seed_phases: Any = None,
) -> list:
    """Raw phase cells (no smoothing), the constant-ratio diagonals, a legend patch per phase.

    ``seed_phases`` (``[enc, dec, seeds]``): each cell is labelled with how many seeds have its (majority) phase.
    """
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from geneft.train import PHASES

    cmap = ListedColormap([PHASE_COLOURS[p] for p in PHASES])
    le, ld = np.log10(enc), np.log10(dec)

    def edges(x: Any) -> Any:
        d = np.diff(x)
        return np.concatenate([[x[0] - d[0] / 2], x[:-1] + d / 2, [x[-1] + d[-1] / 2]])

    ax.pcolormesh(edges(ld), edges(le), ph, cmap=cmap, vmin=-0.5, vmax=3.5, edgecolors="w", linewidth=0.5)
    if seed_phases is not None:
        n = seed_phases.shape[-1]
        for i in range(len(le)):
            for j in range(len(ld)):
                k = int((seed_phases[i, j] == ph[i, j]).sum())
                ax.text(
                    ld[j],
                    le[i],
                    f"{k}/{n}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="w" if k == n else "k",
                )
    if diagonals:
        for k, style in ((0, "-"), (1, "--"), (2, ":")):
            xs = np.array([ld[0] - 1, ld[-1] + 1])
            ax.plot(xs, xs - k, color="k", lw=1, ls=style, label=f"eta_dec/eta_enc = {10**k:g}")
    ax.set_xlim(edges(ld)[0], edges(ld)[-1])
    ax.set_ylim(edges(le)[0], edges(le)[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    handles = [Patch(color=PHASE_COLOURS[p], label=p) for p in PHASES]
    if diagonals:
        handles += ax.get_legend_handles_labels()[0]
    return handles
