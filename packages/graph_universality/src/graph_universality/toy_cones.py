"""Toy cones (Fig. 1): the v2 ``DescendantProbe`` trained on the descendant relation of balanced and random trees
(every ordered pair trained, as the official code), then a cone probe and an L1 linear probe fitted to each learned
embedding on held-out node pairs. Variants (:data:`VARIANTS`):

- ``official``: the official recipe (``toy.OFFICIAL``): zero-initialised embeddings, batch 16, AdamW lr 1e-3, weight
  decay 0.01, early stop with patience 30 epochs on the training loss, at most ``official_epochs`` (+1) epochs;
- ``fast``: the official zero init with our full-batch recipe (AdamW at ``lr``, no weight decay, <= ``steps``
  steps, early exit at training loss < 1e-3);
- ``fixed``: ``fast`` with ``nn.Embedding``'s default N(0, 1) init.
``official`` vs ``fast`` isolates the training recipe, ``fast`` vs ``fixed`` the embedding init.
"""

from __future__ import annotations

from typing import Any

import numpy as np

VARIANTS = ("official", "fast", "fixed")
TREES = ("balanced", "random")


def train_cones(cfg: Any) -> dict[str, Any]:
    """Every (variant, tree shape, seed) toy MLP of a ``Fig1Config``, trained as one stack, with its probes:
    ``{variant: {tree: {seed: {emb, parents, depth, train_f1, stopped_at, cone_*, linear_*}}}}``."""
    from graph_universality.graphs import KnowledgeGraph, depths, make_tree, split
    from graph_universality.probes import cone_probe, linear_probe
    from graph_universality.toy import OFFICIAL, ToyRun
    from repro.parallel import map_single_threaded, n_workers

    runs, keys, trees = [], [], {}
    for v in cfg.variants:
        for kind in TREES:
            for s in cfg.seeds:
                parents = make_tree(kind, cfg.n_nodes, s)
                kg = KnowledgeGraph(parents)
                tr, te = split(kg, "all", 0.0, 0)
                trees[kind, s] = (kg, parents)
                runs.append(
                    ToyRun(
                        kg.examples,
                        tr,
                        te,
                        cfg.n_nodes,
                        1,
                        cfg.emb_dim,
                        cfg.hidden,
                        OFFICIAL["weight_decay"] if v == "official" else 0.0,
                        OFFICIAL["lr"] if v == "official" else cfg.lr,
                        s,
                        emb_init_std=1.0 if v == "fixed" else 0.0,
                    )
                )
                keys.append((v, kind, s))
    # one stack per recipe: official (its own minibatch loop), fast + fixed (full batch); each in its own
    # single-threaded worker process when the figure has the threads (repro.parallel): the same numbers either way
    emb = np.zeros((len(runs), cfg.n_nodes, cfg.emb_dim), dtype=np.float32)
    met = {"train_f1": np.zeros(len(runs)), "stopped_at": np.zeros(len(runs), dtype=np.int64)}
    met["epochs"] = np.zeros(len(runs), dtype=np.int64)
    stacks = {
        recipe: idx
        for recipe in ("official", "fast")
        if (idx := [i for i, k in enumerate(keys) if (k[0] == "official") == (recipe == "official")])
    }
    jobs = [(cfg, [runs[i] for i in idx], recipe) for recipe, idx in stacks.items()]
    for (recipe, idx), m in zip(
        stacks.items(), map_single_threaded(_train_stack, jobs, n_workers(len(jobs))), strict=True
    ):
        emb[idx] = m["emb"]
        met["train_f1"][idx], met["stopped_at"][idx] = m["train_f1"], m["stopped_at"]
        met["epochs"][idx] = (
            m["epochs"] if recipe == "official" else m["stopped_at"]
        )  # full batch: step = epoch
    # probes: one cone probe per run (stacked), fitted on a held-out split of the pairs
    pair_tr, pair_te = [], []
    pairs_all = []
    for _v, kind, s in keys:
        kg, _ = trees[kind, s]
        ptr, pte = split(kg, "heldout", cfg.probe_test_frac, 0)
        pair_tr.append(ptr)
        pair_te.append(pte)
        pairs_all.append(kg.examples[:, 1:])
    out: dict[str, Any] = {}
    cones = {}
    for (
        kind
    ) in TREES:  # the pairs differ by tree; the probe stack shares one pair list per tree shape and seed
        for s in cfg.seeds:
            idx = [i for i, k in enumerate(keys) if k[1] == kind and k[2] == s]
            args = (pairs_all[idx[0]], pair_tr[idx[0]], pair_te[idx[0]])
            res = cone_probe(emb[idx], *args, cfg.probe_steps)
            lin = linear_probe(emb[idx], *args)
            for j, i in enumerate(idx):
                cones[i] = {k: res[k][j] for k in res} | {"linear_" + k: lin[k][j] for k in lin}
    for i, (v, kind, s) in enumerate(keys):
        kg, parents = trees[kind, s]
        out.setdefault(v, {}).setdefault(kind, {})[str(s)] = {
            "emb": emb[i],
            "parents": np.array(parents),
            "depth": depths(parents),
            "train_f1": float(met["train_f1"][i]),
            "stopped_at": int(met["stopped_at"][i]),  # optimiser steps run
            "epochs": int(met["epochs"][i]),
            "cone_train_f1": float(cones[i]["train_f1"]),
            "cone_test_f1": float(cones[i]["test_f1"]),
            "cone_proj": cones[i]["proj"],
            "linear_train_f1": float(cones[i]["linear_train_f1"]),
            "linear_test_f1": float(cones[i]["linear_test_f1"]),
        }
    return out


def _train_stack(job: tuple[Any, list, str]) -> dict[str, Any]:
    """One recipe's stack of :func:`train_cones`: its embeddings (cut to the true size) and metrics."""
    from graph_universality.toy import train_recipe

    cfg, runs, recipe = job
    desc = f"toy cones ({recipe} recipe): {len(runs)} toy MLPs, stacked"
    model, m = train_recipe(runs, recipe, cfg.steps, cfg.official_epochs, cfg.official_max_steps, desc=desc)
    emb = model.embeddings().detach().numpy()[:, : cfg.n_nodes, : cfg.emb_dim]
    return {"emb": emb, **{k: m[k] for k in ("train_f1", "stopped_at", "epochs") if k in m}}


def runs_of(result: dict[str, Any], v: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The runs of variant ``v`` (one tree shape, or both), seeds in order."""
    kinds = TREES if kind is None else (kind,)
    return [r for k in kinds for r in result[v][k].values()]
