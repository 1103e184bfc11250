"""What several GenEFT figures share: labels, phase colours, and the network-accuracy sweep over train fractions."""

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


def fraction_sweep(
    relations: tuple[str, ...],
    fractions: tuple[float, ...],
    seeds: tuple[int, ...],
    arch: Any,
    steps: int,
    lr: float,
    eval_every: int,
    desc: str,
) -> dict[str, Any]:
    """Accuracy of networks trained at each train fraction: ``{"full"|"train": {relation: [fractions, seeds]}}``
    (on all 900 pairs, and on each run's training pairs).

    One stack for everything (relations x fractions x seeds; smaller training sets padded to the largest): at these
    sizes a step's cost is mostly fixed overhead, so one stack beats one per fraction. Runs stop once every pair is
    classified correctly (``stop="perfect"``) or at ``steps``.
    """

    from geneft.train import Runs, train_stack

    cells = [(r, f, s) for r in relations for f in fractions for s in seeds]
    runs = Runs(
        seeds=[s for _, _, s in cells],
        fractions=[f for _, f, _ in cells],
        lr_enc=[lr] * len(cells),
        lr_dec=[lr] * len(cells),
        wd_dec=[0.0] * len(cells),
    )
    from repro.progress import status

    res = train_stack(
        [r for r, _, _ in cells],
        arch,
        runs,
        steps,
        eval_every=eval_every,
        stop="perfect",
        progress=lambda step, left: status(f"{desc}: step {step}/{steps}, {left} runs training"),
    )
    shape = (len(relations), len(fractions), len(seeds))
    full, train = res["full_acc"].reshape(shape), res["train_acc"].reshape(shape)
    return {
        "full": {r: full[i] for i, r in enumerate(relations)},
        "train": {r: train[i] for i, r in enumerate(relations)},
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
