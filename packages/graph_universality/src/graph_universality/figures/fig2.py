"""Fig. 2 (numbering: best guess): generalisation to held-out links vs the fraction of links seen, and to links that
follow by composition (v1 F-C: the representation "optimises generalisation to unseen examples").

Setting (:mod:`graph_universality.generalisation`): a 31-node random tree; toy link predictors with embedding width
in ``emb_dims``, one relation (descendant) or five sharing the table (parent, child, sibling, grandparent,
descendant), trained stacked on ``heldout`` splits (``1 - train_frac`` of every relation's links held out, stratified)
and, five relations only, the ``composition`` split (``comp_test_frac`` of the grandparent / descendant links at
distance >= 2, and as many negatives, held out while every one-step fact is trained: each held-out positive follows
by composition, v1's "meta-transitivity"). Scored: held-out F1 of the descendant relation (composition: of the
held-out composed links); chance = a "yes" at the positive rate p, F1 = p.

Variants (training recipes, :mod:`graph_universality.toy`; both with weight decay ``weight_decay`` = 0.01, the
official default):
- ``fast`` (ours): embeddings N(0, 1) (see Fig. 1), full-batch AdamW lr 1e-2, ``steps`` steps with early exit at
  training loss < 1e-3;
- ``official`` (``utils.train_one_seed``): zero-initialised embeddings, batch 16 reshuffled every epoch, AdamW lr
  1e-3, early stop when the training loss has not improved for 30 epochs (best epoch restored), at most
  ``official_epochs`` (+1) epochs and ``official_max_steps`` steps. Fig. 1 separates the init from the rest of the recipe.
Where their verdicts differ the claim notes say so. At quick every ``official`` claim is ``not reached``: capped at
the fast recipe's 1500 optimiser steps (28-50 epochs of the 1-relation splits, 5-10 of the 5-relation ones) the
official predictors do not fit their training links (train F1 0.27-0.31 per seed, precondition >= 0.9), while
``fast`` fits them (0.97-0.98) and keeps its verdicts (2 reproduced, 2 inconclusive). The difference is one of
budget, not of the recipe's end point: Fig. 1 shows the official recipe fitting when run to its own early stop.

Cap of ``official``: 10k epochs at paper scale; below it ``official_max_steps`` = ``steps`` (the rule of
``stages.SweepConfig``: equal step budgets; the official runs need ~2-3k epochs to stop on Fig. 1's 210 pairs and
these splits take 30-262 steps per epoch, ~10x too slow for quick).

Choices where the spec is silent: hidden width 32; split seed = model seed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from repro.figure import Figure

OURS = "bound 0.2 above chance (F1 = positive rate) is ours"
COMPETITION = "spec 4.9 (inferred): more competition for the table -> better generalisation"
FITTED = "the toy predictors fit their training links: train F1 >= 0.9 (per seed, mean over runs)"
VARIANTS = ("fast", "official")  # training recipes (toy.RECIPES)


@dataclass(frozen=True)
class Fig2Config:
    n_nodes: int = 31
    tree_seed: int = 0
    train_fracs: tuple[float, ...] = (0.5, 0.7, 0.9)
    comp_test_frac: float = 0.3
    emb_dims: tuple[int, ...] = (2, 16)
    n_relations: tuple[int, ...] = (1, 5)
    hidden: int = 32
    weight_decay: float = 0.01
    lr: float = 1e-2
    steps: int = 1500
    seeds: tuple[int, ...] = (0, 1, 2)
    shuffle_labels: bool = False  # the control: every relation's labels permuted over its pairs (per seed)
    official_epochs: int = 10000
    official_max_steps: int = (
        1500  # the step cap per run below paper scale: = steps (stages.SweepConfig's rule)
    )
    variants: tuple[str, ...] = VARIANTS

    def __post_init__(self) -> None:
        if not all(0 < f < 1 for f in self.train_fracs) or not 0 < self.comp_test_frac < 1:
            raise ValueError("fractions must lie in (0, 1)")
        if not set(self.n_relations) <= {1, 5}:
            raise ValueError("n_relations must be 1 (descendant) or 5 (all relations)")
        if not self.seeds or self.steps < 1:
            raise ValueError("need seeds and steps >= 1")


def compute(cfg: Fig2Config) -> dict[str, Any]:
    from graph_universality.generalisation import train_generalisation

    return train_generalisation(cfg)


def claims(result: dict[str, Any], cfg: Fig2Config) -> list:
    """v1 abstract: the representation "optimizes generalization to unseen examples" and exploits meta-
    transitivity. Per seed (its own held-out links; means over the other knobs): held-out F1 above chance (bound
    0.2: ours) and above a rule on Y learned from the training links (``generalisation.y_rule_f1``, ours), rising
    with the links seen, composed links predicted from one-step facts; inferred starvation by competition (5
    relations sharing the table generalise better than 1). Precondition: the predictors fit their training links."""
    import numpy as np

    from graph_universality.generalisation import generalisation_values
    from graph_universality.spread import add_note, note_recipe_differences, official_note

    out = []
    for variant in cfg.variants:
        out += _claims(generalisation_values(result[variant], cfg), cfg, variant)
    note = official_note(cfg.official_epochs, cfg.official_max_steps, f"{cfg.weight_decay:g}")
    return note_recipe_differences(add_note([c for c in out if np.size(c.values)], "official", note))


def _claims(v: dict[str, Any], cfg: Fig2Config, variant: str) -> list:
    from repro.claims import Claim, our_choice, paper_text, precondition

    hi, lo = max(cfg.train_fracs), min(cfg.train_fracs)
    kw = {"preconditions": (precondition(FITTED, v["train_f1"], ">=", 0.9),), "variant": variant}
    unseen = paper_text("generalises to unseen examples", "v1 abstract")
    rises = our_choice(0.0, "learning-curve reading of v1's generalisation claim (spec 2.1 F-C)")
    heldout = f"held-out descendant F1 at train fraction {hi:g} minus chance"
    more = f"held-out F1 rises with data: F1({hi:g}) - F1({lo:g})"
    y_rule = our_choice(0.0, "chance is a weak bar: how many descendants Y has predicts the answer")
    rule = f"held-out descendant F1 at train fraction {hi:g} minus a rule on Y alone (X never read)"
    out = [
        Claim(heldout, v["hi_minus_chance"], ">", 0.2, paper=unseen, note=OURS, **kw),
        Claim(rule, v["hi_minus_y_rule"], ">", 0.0, paper=y_rule, **kw),
        Claim(more, v["hi_minus_lo"], ">", 0.0, paper=rises, **kw),
    ]
    if v["composed_minus_chance"] is not None:
        comp = paper_text("exploits meta-transitivity", "v1 abstract")
        statement = "held-out composed links (grandparent/descendant) F1 minus chance"
        note = "bound 0.2 above chance is ours"
        out.append(Claim(statement, v["composed_minus_chance"], ">", 0.2, paper=comp, note=note, **kw))
    if v["five_minus_one"] is not None:
        competition = our_choice(0.0, COMPETITION)
        statement = "starvation by competition: held-out descendant F1, 5 relations minus 1 relation"
        out.append(Claim(statement, v["five_minus_one"], ">", 0.0, paper=competition, **kw))
    return out


def plot(result: dict[str, Any], cfg: Fig2Config):
    import matplotlib.pyplot as plt

    from graph_universality.figures._panels import generalisation_panels
    from repro.plot import set_style

    set_style()
    rows = len(cfg.variants)
    fig, axes = plt.subplots(
        rows, 2, figsize=(10, 3.4 * rows), constrained_layout=True, width_ratios=[2, 1], squeeze=False
    )
    for (ax, axc), variant in zip(axes, cfg.variants, strict=True):
        generalisation_panels(ax, axc, result[variant], cfg, variant)
    title = "Fig. 2 (numbering: best guess): generalisation of toy link predictors to unseen links"
    fig.suptitle(title + " (one row per training recipe)", fontsize=10)
    return fig


FIGURE = Figure(
    paper="graph_universality",
    id="fig2",
    aliases=("heldout_generalisation", "composition_generalisation"),
    title="Generalisation to held-out and composed links vs data (numbering: best guess)",
    configs={
        "smoke": Fig2Config(
            n_nodes=15,
            train_fracs=(0.6, 0.9),
            emb_dims=(2,),
            seeds=(0, 1, 2),
            steps=800,
            official_max_steps=800,
        ),
        "quick": Fig2Config(),
        "paper": Fig2Config(
            n_nodes=63,
            train_fracs=(0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
            emb_dims=(2, 4, 16, 64),
            hidden=200,
            seeds=tuple(range(10)),
            steps=10000,
            official_max_steps=0,
        ),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    variants=VARIANTS,
    est_seconds={"smoke": 3, "quick": 150, "paper": 1800},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    control=lambda cfg: dataclasses.replace(cfg, shuffle_labels=True),
    control_label="labels shuffled over each relation's pairs",
    cpu_threads=2,  # its (variant, relation count) stacks in single-threaded worker processes (numbers independent of it)
)
