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
