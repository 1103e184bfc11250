"""One plot style for every paper, and saving a figure as PNG + PDF with its claims printed underneath."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from repro.claims import Claim
from repro.io import atomic_write_bytes

# Footer colour per verdict.
VERDICT_COLOURS = {
    "reproduced": "#1a7f37",
    "contradicted": "#cf222e",
    "inconclusive": "#9a6700",
    "not reached": "#57606a",
}
# Colours for the two sides every paper compares (baseline vs method), used consistently across figures.
BASELINE, METHOD = "#4C72B0", "#DD8452"
# One palette for the official recipe (with its defects) vs our fix, in all four papers.
VARIANT_PALETTE = {"official": "#8172B3", "fixed": "#55A868"}


def set_style() -> None:
    """The seaborn theme every figure is drawn in (call at the start of ``plot``).

    It is seaborn's whitegrid/paper/deep theme as matplotlib ships it (``seaborn-v0_8-*``), which is the same rc
    settings without importing seaborn (1.2 s of scipy/pandas): a cached figure re-plots in about a second.
    Figures that need seaborn's plotting functions import seaborn themselves.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.style.use(["seaborn-v0_8-whitegrid", "seaborn-v0_8-paper", "seaborn-v0_8-deep"])
    matplotlib.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 140,
            "axes.titlesize": 9,
            "axes.labelsize": 8,
            "legend.fontsize": 7,
            "xtick.labelsize": 7,
            "ytick.labelsize": 7,
        }
    )


def add_claims_footer(fig: Any, claims: Sequence[Claim], note: str = "") -> None:
    """Grow the figure at the bottom and print the claims there (verdict, mean [interval] vs wanted vs paper).

    The axes keep their size: the figure gets taller and the layout is confined to the part above the footer
    (no ``bbox_inches='tight'``, which would cost a second full draw per file).
    """
    width_chars = int(fig.get_figwidth() * 15)
    lines: list[tuple[str, str]] = []
    for c in claims:
        for j, part in enumerate(textwrap.wrap(c.line(), width_chars) or [""]):
            lines.append(("   " + part if j else part, VERDICT_COLOURS[c.verdict]))
    if note:
        lines += [(part, "#555555") for part in textwrap.wrap(note, width_chars)]
    line_in = 0.15
    w, h = fig.get_size_inches()
    footer_in = line_in * len(lines) + 0.15
    fig.set_size_inches(w, h + footer_in)
    frac = footer_in / (h + footer_in)
    engine = fig.get_layout_engine()
    if engine is not None and "rect" in engine.get():
        engine.set(rect=(0, frac, 1, 1 - frac))
    else:
        for ax in fig.axes:
            pos = ax.get_position()
            ax.set_position([pos.x0, frac + pos.y0 * (1 - frac), pos.width, pos.height * (1 - frac)])
    y = frac - 0.05 / (h + footer_in)
    for text, colour in lines:
        fig.text(0.01, y, text, ha="left", va="top", fontsize=6.5, family="monospace", color=colour)
        y -= line_in / (h + footer_in)


def save_figure(fig: Any, stem: Path, claims: Sequence[Claim], note: str = "") -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` atomically, with the claims footer; returns the paths."""
    import io

    import matplotlib.pyplot as plt

    add_claims_footer(fig, claims, note)
    paths = []
    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        # No timestamps in the files: regenerating an unchanged figure gives identical bytes.
        metadata = {"CreationDate": None} if ext == "pdf" else {"Software": None}
        fig.savefig(buf, format=ext, metadata=metadata)
        fig.set_layout_engine("none")  # the layout is solved once, on the first draw; the PDF reuses it
        path = stem.with_suffix(f".{ext}")
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths
