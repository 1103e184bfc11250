"""Plotting helpers shared by the figures (no computation or analysis here: that lives in the library modules)."""

from __future__ import annotations

from typing import Any


def annotated_heatmap(ax: Any, mat: Any, fontsize: float, **imshow: Any) -> None:
    """``mat`` as a red-yellow-green image (0.3 .. 1.05) with each cell's value written in it (two decimals)."""
    ax.imshow(mat, cmap="RdYlGn", vmin=0.3, vmax=1.05, **imshow)
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=fontsize)
    ax.grid(False)


def half_ci(v: Any) -> float:
    """Half the width of the 95 % interval of the mean of ``v`` (NaN left out; 0 when it is undefined)."""
    from repro.claims import mean_interval

    v = [float(x) for x in v if x == x]
    ci = mean_interval(v)
    return 0.0 if ci is None else (ci[1] - ci[0]) / 2


def mean_with_rows(ax: Any, x: Any, rows: Any, ls: str = "-", label: str | None = None) -> None:
    """The mean over ``rows [n, len(x)]`` (NaN left out) as a line with markers, and every row as a thin line."""
    import numpy as np

    arr = np.asarray(rows, dtype=float)
    n_ok = np.isfinite(arr).sum(0)
    mean = np.where(n_ok > 0, np.nansum(arr, 0) / np.maximum(n_ok, 1), np.nan)
    line = ax.plot(x, mean, ls=ls, marker="o", label=label)[0]
    for row in arr:
        ax.plot(x, row, ls=ls, lw=0.6, alpha=0.35, color=line.get_color())


def tree_picture(
    ax: Any, z: Any, parents: Any, arrows: str = "depth", size: float = 10, star: float = 50
) -> Any:
    """Nodes at 2-D points ``z`` coloured by depth, arrows parent -> child (coloured by depth, or ``arrows`` as a
    colour), the root a red star; returns the scatter (for a colour bar)."""
    import matplotlib.pyplot as plt
    import numpy as np

    from graph_universality.graphs import depths

    z = np.asarray(z)
    dep = depths(tuple(int(p) for p in parents))
    dmax = max(int(dep.max()), 1)
    cmap = plt.get_cmap("viridis")
    for c, p in enumerate(parents):
        if p >= 0:
            colour = cmap(dep[c] / dmax) if arrows == "depth" else arrows
            lw = 0.8 if arrows == "depth" else 0.7
            ax.annotate("", xy=z[c], xytext=z[p], arrowprops={"arrowstyle": "->", "color": colour, "lw": lw})
    vrange = {"vmin": 0, "vmax": dmax} if arrows == "depth" else {}
    sc = ax.scatter(z[:, 0], z[:, 1], c=dep, cmap="viridis", s=size, zorder=3, **vrange)
    ax.scatter(z[0, 0], z[0, 1], marker="*", s=star, color="red", zorder=4)
    return sc


def errorbar_points(
    ax: Any, x: Any, rows: Any, colour: Any, label: str, marker: str = "o", **offsets: float
) -> None:
    """At each ``x``: the mean of its row (NaN left out) with its 95 % interval as an error bar, and every value of
    the row as a point (one per seed). ``line_dx`` / ``point_dx`` shift the bars / the points sideways."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    means = [np.nanmean(np.asarray(r, dtype=float)) for r in rows]
    yerr = [half_ci(r) for r in rows]
    dx, pdx = offsets.get("line_dx", 0.0), offsets.get("point_dx", 0.0)
    ax.errorbar(x + dx, means, yerr=yerr, marker=marker, capsize=3, color=colour, label=label)
    for xi, r in zip(x, rows, strict=True):
        ax.scatter(np.full(len(r), xi + pdx), r, s=8, alpha=0.5, color=colour)


def box_with_points(ax: Any, groups: dict[str, Any]) -> None:
    """A box per group (finite values, no fliers) with every value as a jittered point."""
    import numpy as np

    vals = [np.asarray(v)[np.isfinite(v)] for v in groups.values()]
    ax.boxplot(vals, tick_labels=list(groups), showfliers=False)
    jitter = np.random.default_rng(0)
    for i, v in enumerate(vals):
        ax.scatter(i + 1 + jitter.uniform(-0.18, 0.18, len(v)), v, s=3, alpha=0.35, color="C0", zorder=3)


# variant colours: repro's official / fixed, and ours for the fast recipe
PALETTE = {"official": "#8172B3", "fixed": "#55A868", "fast": "#C44E52"}
