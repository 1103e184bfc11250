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
    """Full-dataset accuracy of networks trained at each train fraction: ``{relation: [fractions, seeds]}``.

    One stack per fraction (its runs: every relation x seed), so no run pays for a larger training set's padding.
    Runs stop once every pair is classified correctly (``stop="perfect"``) or at ``steps``.
    """
    import numpy as np
    from repro.progress import track

    from geneft.train import Runs, train_stack

    out = {r: np.zeros((len(fractions), len(seeds))) for r in relations}
    for i, f in enumerate(track(fractions, desc)):
        rels = [r for r in relations for _ in seeds]
        runs = Runs.grid(
            seeds=[s for _ in relations for s in seeds], fractions=f, lr_enc=lr, lr_dec=lr, wd_dec=0.0
        )
        res = train_stack(rels, arch, runs, steps, eval_every=eval_every, stop="perfect")
        for j, r in enumerate(relations):
            out[r][i] = res["full_acc"][j * len(seeds) : (j + 1) * len(seeds)]
    return out
