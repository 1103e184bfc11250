"""Plotting helpers shared by the figures (no computation or analysis here)."""

from __future__ import annotations

from typing import Any

RED, BLUE = "#c44e52", "#4c72b0"


def r_histogram(ax: Any, r: Any, r_precision: Any, cfg: Any, title: str) -> None:
    """Histogram (log count) of r of the rule-selected latents, extreme bins red; the precision-selected latents
    as a black outline."""
    import numpy as np
    from matplotlib.patches import Patch

    edges = np.linspace(0, 1, cfg.bins + 1)
    counts, _ = np.histogram(np.asarray(r, dtype=float), edges)
    centres = (edges[:-1] + edges[1:]) / 2
    colours = [RED if (c < cfg.extreme or c > 1 - cfg.extreme) else BLUE for c in centres]
    ax.bar(centres, counts, width=edges[1] - edges[0], color=colours, edgecolor="white", lw=0.4)
    pc, _ = np.histogram(np.asarray(r_precision, dtype=float), edges)
    ax.stairs(pc, edges, color="k", lw=1.2)
    ax.set_yscale("log")
    ax.set_ylim(0.5, max(2.0, counts.max(initial=1), pc.max(initial=1)) * 3)
    ax.set_xlim(0, 1)
    ax.set(xlabel="relative decoder norm r", ylabel="latents (log)")
    ax.set_title(title, fontsize=8)
    handles = [Patch(color=BLUE, label=f"paper rule ({len(r)})"), Patch(color=RED, label="extreme bins"),
               Patch(facecolor="none", edgecolor="k", label=f"precision selection ({len(r_precision)})")]  # fmt: skip
    ax.legend(handles=handles, fontsize=6, loc="upper center", ncol=2)


def hist_title(head: str, q: dict[str, Any], cfg: Any) -> str:
    """Panel title: the rule's extreme-bin counts (Latent-Scaling-confirmed in brackets), the precision
    selection's, and for the official variant the same crosscoder analysed correctly."""
    lo, hi = f"r<{cfg.extreme:g}", f"r>{1 - cfg.extreme:g}"
    text = (f"{head}\nrule {lo}: {q['low']} ({q['low_confirmed']} LS-conf.), {hi}: {q['high']} "
            f"({q['high_confirmed']} LS-conf.)\nprecision {lo}/{hi}: {q['prec_low']}/{q['prec_high']}")  # fmt: skip
    if "cc_fixed_low" in q:
        text += f"; correct analysis: {q['cc_fixed_low']}/{q['cc_fixed_high']}"
    return text


def text_panel(ax: Any, lines: list[str], fontsize: float = 6.5, width: int = 0, cut: int = 0) -> None:
    """A monospace text panel (no axes), top-left; lines cut at ``cut`` characters and wrapped at ``width``."""
    import textwrap

    ax.axis("off")
    if cut:
        lines = [ln if len(ln) < cut else ln[: cut - 3] + "..." for ln in lines]
    if width:
        lines = [w for ln in lines for w in textwrap.wrap(ln, width, subsequent_indent="      ")]
    ax.text(0, 1, "\n".join(lines), family="monospace", fontsize=fontsize, va="top", ha="left")


def ci_curve(
    ax: Any, x: Any, ci: Any, colour: Any, label: str, style: str = "-o", band: float = 0.15, **kw
) -> None:
    """A mean curve with its interval band: ``ci`` [n, 3] of (mean, lo, hi)."""
    import numpy as np

    ci = np.asarray(ci, dtype=float)
    ax.plot(x, ci[:, 0], style, color=colour, ms=3, label=label, **kw)
    ax.fill_between(x, ci[:, 1], ci[:, 2], color=colour, alpha=band)
