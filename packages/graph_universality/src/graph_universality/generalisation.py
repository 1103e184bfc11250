"""Generalisation of toy link predictors (Fig. 2): held-out links vs the fraction of links seen, and links that
follow by composition (the ``composition`` split), for one relation or five sharing the embedding table; the
shuffled-labels control permutes each relation's labels over its pairs. Variants (training recipes, ``toy``):
``fast`` (ours: N(0, 1) embeddings, full batch, ``lr``) and ``official`` (zero embeddings, batch 16, lr 1e-3, early
stop on the training loss, at most ``official_epochs`` (+1) epochs); both use the config's weight decay.

Baselines that never read X, for any model asked "is X a descendant of Y?" (Figs. 4, 5, 7): chance F1 (a guess at
the positive rate) is a weak bar, because how many descendants Y has predicts the answer: :func:`x_blind_f1` (the
best fixed answer per Y, an oracle on the pairs scored) and :func:`y_rule_f1` (a rule on Y learned from the
training links, scored on the held-out ones).
"""

from __future__ import annotations

from typing import Any

import numpy as np

FIVE = ("parent", "child", "sibling", "grandparent", "descendant")


def train_generalisation(cfg: Any) -> dict[str, Any]:
    """``{variant: runs}`` for every variant of a ``Fig2Config`` (:func:`train_variant`). The (variant, relation
    count, seed) stacks are independent jobs, each in its own single-threaded worker process when the figure has
    the threads (:mod:`repro.parallel`): the same numbers either way. One stack per seed rather than per relation
    count: the fast recipe's 5-relation stack of every seed took 31 of the figure's 32 s on one worker, the other
    one idle after 8."""
    from repro.parallel import map_single_threaded, n_workers

    jobs = [(cfg, v, k, s) for v in cfg.variants for k in cfg.n_relations for s in cfg.seeds]
    done = dict(zip(jobs, map_single_threaded(_train_stack, jobs, n_workers(len(jobs))), strict=True))
    return {
        v: train_variant(
            cfg, v, {k: _in_run_order([done[cfg, v, k, s] for s in cfg.seeds]) for k in cfg.n_relations}
        )
        for v in cfg.variants
    }


def _train_stack(job: tuple[Any, str, int, int]) -> dict[str, Any]:
    """The runs of one variant, relation count and seed, trained as one stack: their ``meta``
    (:func:`variant_runs`), metrics and ``index`` among the variant's runs of that relation count."""
    from graph_universality.toy import train_recipe

    cfg, variant, k, seed = job
    runs, meta = variant_runs(cfg, variant, k)
    index = [i for i, m in enumerate(meta) if m[4] == seed]
    desc = (
        f"generalisation ({variant}): {len(index)} toy link predictors ({k} relations, seed {seed}), stacked"
    )
    _, met = train_recipe(
        [runs[i] for i in index], variant, cfg.steps, cfg.official_epochs, cfg.official_max_steps, desc=desc
    )
    return {
        "index": index,
        "meta": [meta[i] for i in index],
        **{key: met[key] for key in ("train_f1", "test_f1", "stopped_at")},
    }


def _in_run_order(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One relation count's per-seed stacks (:func:`_train_stack`) as one, its runs in :func:`variant_runs`'s
    order."""
    index = np.concatenate([p["index"] for p in parts])
    order = np.argsort(index)
    meta = [m for p in parts for m in p["meta"]]
    return {
        "meta": [meta[i] for i in order],
        **{
            key: np.concatenate([p[key] for p in parts])[order]
            for key in ("train_f1", "test_f1", "stopped_at")
        },
    }


def train_variant(cfg: Any, variant: str, trained: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Every run of a ``Fig2Config`` (relations x emb width x seed x split setting) under one training recipe, from
    its stacks, one per relation count (``trained``: :func:`_train_stack`'s result per count; a 1-relation run
    padded to 5 relations would compute 5x its work): flat arrays ``mode, train_frac, n_relations, emb_dim, seed,
    chance_f1, y_rule_f1`` (:func:`y_rule_f1`, held-out runs), ``train_f1, test_f1, steps`` (optimiser steps run)."""
    meta = [m for k in cfg.n_relations for m in trained[k]["meta"]]
    met = {
        key: np.concatenate([trained[k][key] for k in cfg.n_relations])
        for key in ("train_f1", "test_f1", "stopped_at")
    }
    return {
        "mode": np.array([m[0] for m in meta]),
        "train_frac": np.array([m[1] for m in meta]),
        "n_relations": np.array([m[2] for m in meta]),
        "emb_dim": np.array([m[3] for m in meta]),
        "seed": np.array([m[4] for m in meta]),
        "chance_f1": np.array([m[5] for m in meta]),
        "y_rule_f1": np.array([m[6] for m in meta]),
        "train_f1": met["train_f1"],
        "test_f1": met["test_f1"],
        "steps": met["stopped_at"],
    }


def variant_runs(cfg: Any, variant: str, k: int) -> tuple[list[Any], list[tuple]]:
    """The runs of a ``Fig2Config`` with ``k`` relations under one recipe, and per run ``(mode, train_frac,
    n_relations, emb_dim, seed, chance_f1, y_rule_f1)``."""
    from graph_universality.graphs import KnowledgeGraph, random_tree, split
    from graph_universality.toy import ToyRun, recipe_lr

    parents = random_tree(cfg.n_nodes, cfg.tree_seed)
    runs, meta = [], []
    kg = KnowledgeGraph(parents, ("descendant",) if k == 1 else FIVE)
    for d in cfg.emb_dims:
        for s in cfg.seeds:
            ex = shuffled_labels(kg.examples, s) if cfg.shuffle_labels else kg.examples
            settings = [("heldout", f) for f in cfg.train_fracs]
            if k == 5:
                settings.append(("composition", 1 - cfg.comp_test_frac))
            for mode, frac in settings:
                tr, te = split(kg, mode, 1 - frac, s)
                if mode == "heldout":  # score the descendant relation only
                    te = te & (ex[:, 0] == kg.relations.index("descendant"))
                runs.append(
                    ToyRun(
                        ex,
                        tr,
                        te,
                        cfg.n_nodes,
                        k,
                        d,
                        cfg.hidden,
                        cfg.weight_decay,
                        cfg.lr if variant == "fast" else recipe_lr(variant),
                        s,
                        0.0 if variant == "official" else 1.0,
                    )
                )
                pos = ex[te, 3].mean()
                # the held-out descendant links answered by a rule on Y learned from the training ones
                desc = ex[:, 0] == kg.relations.index("descendant")
                rule = y_rule_f1(ex[tr & desc], ex[te]) if mode == "heldout" else float("nan")
                meta.append((mode, frac, k, d, s, float(pos), rule))
    return runs, meta


def shuffled_labels(examples: Any, seed: int) -> Any:
    """The examples with each relation's labels permuted over its pairs (the shuffled-labels control)."""
    ex = examples.copy()
    rng = np.random.default_rng([seed, 12345])
    for rel in np.unique(ex[:, 0]):
        m = np.flatnonzero(ex[:, 0] == rel)
        ex[m, 3] = ex[rng.permutation(m), 3]
    return ex


def select(r: dict[str, Any], **kw: Any) -> Any:
    """Runs whose fields equal ``kw`` (e.g. ``mode="heldout", train_frac=0.9``)."""
    m = np.ones(len(r["mode"]), bool)
    for k, v in kw.items():
        m &= r[k] == v
    return m


def generalisation_values(r: dict[str, Any], cfg: Any) -> dict[str, Any]:
    """Fig. 2's claimed quantities, one per seed (means over the other knobs): train F1 (precondition), held-out
    F1 minus chance and minus the rule on Y alone at the largest train fraction, its rise from the smallest,
    composed links minus chance (None without a composition split) and 5 minus 1 relations at the largest fraction
    (None unless both are run)."""
    from graph_universality.spread import per_seed

    seeds = list(cfg.seeds)
    hi, lo = max(cfg.train_fracs), min(cfg.train_fracs)
    at_hi = select(r, mode="heldout", train_frac=hi)
    at_lo = select(r, mode="heldout", train_frac=lo)

    def ps(mask: Any, key: str = "test_f1") -> Any:
        return per_seed(r[key][mask], r["seed"][mask], seeds)

    comp = select(r, mode="composition")
    five, one = at_hi & (r["n_relations"] == 5), at_hi & (r["n_relations"] == 1)
    return {
        "train_f1": per_seed(r["train_f1"], r["seed"], seeds),
        "hi_minus_chance": ps(at_hi) - ps(at_hi, "chance_f1"),
        "hi_minus_y_rule": ps(at_hi) - ps(at_hi, "y_rule_f1"),
        "hi_minus_lo": ps(at_hi) - ps(at_lo),
        "composed_minus_chance": ps(comp) - ps(comp, "chance_f1") if comp.any() else None,
        "five_minus_one": ps(five) - ps(one) if {1, 5} <= set(cfg.n_relations) else None,
    }


def x_blind_f1(ex: np.ndarray) -> float:
    """The best descendant F1 of an answer that never reads X: a fixed Yes or No per Y (what a model that answers
    from Y's place in the tree alone can do), over every ordered pair ``ex`` ([relation, x, y, label] rows). Every Y
    is asked about the same number of X, so the best set of "Yes" Y's holds the Y's with the most descendants."""
    ys, lab = ex[:, 2], ex[:, 3] == 1
    per_y = np.array([[lab[ys == y].sum(), (ys == y).sum()] for y in np.unique(ys)])
    per_y = per_y[np.argsort(-per_y[:, 0] / per_y[:, 1], kind="stable")]
    tp, said = np.cumsum(per_y[:, 0]), np.cumsum(per_y[:, 1])
    return float(np.max(2 * tp / (said + lab.sum())))


def y_rule_f1(train: np.ndarray, test: np.ndarray) -> float:
    """Held-out F1 of the best rule on Y alone learnable from the training links: "Yes" for the Y's whose training
    pairs are "Yes" at least a fraction t of the time, t chosen for the training F1 ([relation, x, y, label] rows;
    a Y without training pairs gets "No")."""
    from graph_universality.spread import f1_score

    lab_tr, lab_te = train[:, 3] == 1, test[:, 3] == 1
    rate = {int(y): lab_tr[train[:, 2] == y].mean() for y in np.unique(train[:, 2])}

    def says_yes(rows: np.ndarray, t: float) -> np.ndarray:
        return np.array([rate.get(int(y), -1.0) >= t for y in rows[:, 2]], dtype=bool)

    best = max(sorted(set(rate.values())), key=lambda t: f1_score(says_yes(train, t), lab_tr))
    return f1_score(says_yes(test, best), lab_te)
