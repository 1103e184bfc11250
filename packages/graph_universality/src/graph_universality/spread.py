"""Per-seed summaries for claims, and a plot panel that shows the seeds behind a claimed quantity.

Claims read one number per seed (``repro.claims``); toy runs come as flat arrays over (knob values x seeds), so a
claim's values are the per-seed means over the other knobs (:func:`per_seed`). One model measured on several items
(episodes) gives one claim value with a bootstrap interval over the items (:func:`bootstrap_claim`). Panels draw every seed as a point
and the mean with its 95 % interval (:func:`seed_panel`, seaborn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def per_seed(values: Any, seeds: Any, order: Sequence[Any] | None = None, reduce: str = "mean") -> np.ndarray:
    """One number per seed: ``reduce`` (mean or median, NaN ignored) of ``values`` over the entries of each seed."""
    values, seeds = np.asarray(values, dtype=float), np.asarray(seeds)
    order = sorted(set(seeds.tolist())) if order is None else list(order)
    fn = np.nanmedian if reduce == "median" else np.nanmean
    out = []
    for s in order:
        v = values[seeds == s]
        out.append(float(fn(v)) if np.isfinite(v).any() else float("nan"))
    return np.array(out)


def bootstrap_claim(
    statement: str, items: Sequence[float], relation: str, bound: float, unit: str = "episodes", **kw: Any
) -> Any:
    """A claim about one model measured on several items (episodes, data seeds): the mean over the finite items,
    with a bootstrap interval over them (``repro.claims.bootstrap_interval``)."""
    from repro.claims import Claim, bootstrap_interval

    items = [v for v in items if np.isfinite(v)]
    point = float(np.mean(items)) if items else float("nan")
    interval = bootstrap_interval(items) if items else None
    return Claim(
        statement,
        (point,),
        relation,
        bound,
        interval=interval,
        spread=f"bootstrap over {len(items)} {unit}",
        **kw,
    )


def f1_score(pred: Any, label: Any) -> float:
    """F1 of boolean predictions (0 when there are neither predicted nor true positives)."""
    pred, label = np.asarray(pred, bool), np.asarray(label, bool)
    tp = (pred & label).sum()
    return float(2 * tp / max(pred.sum() + label.sum(), 1))


def seed_panel(
    ax: Any,
    groups: Mapping[str, Sequence[float]],
    hue: Mapping[str, str] | None = None,
    palette: Mapping[str, str] | None = None,
    ref: Mapping[str, float] | None = None,
    ylabel: str = "",
) -> None:
    """Every seed as a point and the mean with its 95 % interval per group (seaborn strip + point plot).

    ``hue`` maps a group to a colour class (e.g. its variant), ``palette`` that class to a colour; ``ref`` draws
    horizontal reference lines (bounds, chance) labelled by their key.
    """
    import pandas as pd
    import seaborn as sns

    rows = [
        {"group": g, "value": float(v), "hue": (hue or {}).get(g, "seeds")}
        for g, vals in groups.items()
        for v in vals
        if np.isfinite(v)
    ]
    if not rows:
        ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes)
        return
    df = pd.DataFrame(rows)
    pal = dict(palette) if palette else None
    kw: dict[str, Any] = {"data": df, "x": "group", "y": "value", "order": list(groups), "ax": ax}
    if hue:
        kw |= {"hue": "hue", "palette": pal}
    sns.stripplot(**kw, size=4, alpha=0.6, jitter=0.15, legend=False)
    sns.pointplot(
        **kw,
        errorbar=("ci", 95),
        linestyle="none",
        marker="_",
        markersize=14,
        capsize=0.25,
        err_kws={"linewidth": 1.2},
        legend=False,
        color=None if hue else "k",
    )
    for i, (label, y) in enumerate((ref or {}).items()):
        ax.axhline(y, color="k", ls=("--", ":", "-.")[i % 3], lw=0.8, label=label)
    if ref:
        ax.legend(fontsize=6.5)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelsize=6.5)


def note_recipe_differences(claims: Sequence[Any], a: str = "fast", b: str = "official") -> list[Any]:
    """The claims with a note added to both members of every (statement) pair measured under variants ``a`` and
    ``b`` whose verdicts differ: that difference is a result (the training recipe changes the verdict)."""
    import dataclasses

    verdicts = {(c.statement, c.variant): c.verdict for c in claims}
    out = []
    for c in claims:
        va, vb = verdicts.get((c.statement, a)), verdicts.get((c.statement, b))
        if c.variant in (a, b) and va is not None and vb is not None and va != vb:
            diff = f"the verdict depends on the training recipe: {a} {va}, {b} {vb}"
            c = dataclasses.replace(c, note=f"{c.note}; {diff}" if c.note else diff)
        out.append(c)
    return out


def official_note(max_epochs: int, max_steps: int, weight_decay: str = "0.01") -> str:
    """A claim note naming the official toy recipe and the cap it ran under."""
    cap = f"<= {max_epochs} epochs" + (
        f" and {max_steps} steps per run (cap below paper scale)" if max_steps else ""
    )
    return (
        f"official recipe: zero init, batch 16, AdamW lr 1e-3, wd {weight_decay}, patience 30 epochs, {cap}"
    )


def add_note(claims: Sequence[Any], variant: str, note: str) -> list[Any]:
    """The claims with ``note`` added to those measured under ``variant``."""
    import dataclasses

    return [
        dataclasses.replace(c, note=f"{c.note}; {note}" if c.note else note) if c.variant == variant else c
        for c in claims
    ]
