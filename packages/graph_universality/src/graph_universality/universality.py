"""Are toy knowledge-graph representations universal? The stitching sweep (stage ``graph_universality.toy_sweep``)
and its analysis (Fig. 3's equivalence table, Fig. 6's starvation knobs).

:func:`train_sweep` trains a grid of toy link predictors (``toy``: node embedding -> concat -> ReLU MLP -> logit;
emb width x weight decay x number of relations sharing the table x seeds) on one random tree and split, stacked per
relation count (one worker process each, :mod:`repro.parallel`), with the config's ``recipe`` (``toy.train_recipe``:
our ``fast`` one or the ``official`` one; stages ``toy_sweep`` and ``toy_sweep_official``), then maps each sender's
node-embedding table into a receiver's and runs the receiver's frozen head (``align``), with each map in
:data:`METHODS`:

- ``lstsq``: closed-form least-squares affine map; ``procrustes``: scaled orthogonal map + translation (no training);
- ``affine``: affine map trained on the receiver's training links (init: lstsq), ``stitch_steps`` AdamW steps;
- ``almost_affine``: the same plus a small ReLU MLP (``mlp_hidden`` units, output layer zero-init);
- ``lstsq_aut`` / ``affine_aut``: ``lstsq`` / ``affine`` modulo the tree's automorphisms (spec 8.4.4): the sender's
  node labels are first re-assigned by the automorphism (children permutations of isomorphic subtrees, at most
  ``max_automorphisms``) whose least-squares fit to the receiver's table is best (``align.best_automorphism``;
  identity on ties). Every relation is invariant under an automorphism, so a sender that learned the mirror image of
  the receiver's representation is not scored as misaligned.

Pairs: same cell, seeds s -> s+1, s+2 (mod n); across widths at the same weight decay and relation count, s -> s+1;
controls per run: the self-stitch (lstsq, = 1 by construction) and a random N(0, 1) sender through the trained
affine map. R^2 of the lstsq fit and linear CKA per pair. :func:`equivalence` = stitched held-out F1 / receiver
held-out F1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

METHODS = ("lstsq", "procrustes", "affine", "almost_affine", "lstsq_aut", "affine_aut")
ALL_RELATIONS = ("parent", "child", "sibling", "grandparent", "descendant")
KNOBS = ("emb_dim", "weight_decay", "n_relations")


def relations(k: int) -> tuple[str, ...]:
    """k relations sharing one embedding table; descendant is always among them (it is what every figure scores)."""
    return ("descendant",) if k == 1 else (*ALL_RELATIONS[: k - 1], "descendant")


def train_sweep(cfg: Any) -> dict[str, Any]:
    """The toy sweep of a ``stages.SweepConfig``: ``runs`` (one row per toy model), ``pairs`` (one row per stitch)."""
    from graph_universality.graphs import random_tree, tree_automorphisms
    from repro.parallel import map_after_single_threaded, n_workers

    parents = random_tree(cfg.n_nodes, cfg.tree_seed)
    # per relation count: one job trains its runs as one stack, then one job per chunk of its stitches and one for
    # its controls read the trained stack; each job in a single-threaded worker process when the stage has the
    # threads (the same numbers either way). A worker that has trained the 1-relation stack stitches it, then takes
    # the 5-relation stitches as soon as that stack (the longest job: its epochs take the most steps) is trained.
    ks = sorted(cfg.n_relations, reverse=True)
    cells = {k: _grid(cfg, k, parents)[1] for k in ks}
    pairs_of = {k: _stitch_pairs(cfg, k, {c: i for i, c in enumerate(cells[k])}) for k in ks}
    jobs: list[tuple] = [("train", k, None) for k in ks]
    needs: list[tuple[int, ...]] = [() for _ in ks]
    for t, k in enumerate(ks):
        for a in range(0, len(pairs_of[k]), cfg.chunk):
            jobs.append(("stitch", k, slice(a, a + cfg.chunk)))
            needs.append((t,))
        jobs.append(("controls", k, None))
        needs.append((t,))
    done = map_after_single_threaded(
        _sweep_job, [(cfg, parents, j) for j in jobs], needs, n_workers(len(jobs))
    )
    by_k: dict[int, list] = {k: [] for k in ks}
    for (_, k, _), out in zip(jobs[len(ks) :], done[len(ks) :], strict=True):
        by_k[k].append(out)
    parts = [
        _relation_count_result(cells[k], pairs_of[k], done[ks.index(k)][1], by_k[k]) for k in cfg.n_relations
    ]
    offsets = np.cumsum([0] + [len(pt["runs"]["seed"]) for pt in parts[:-1]])
    runs = {key: np.concatenate([pt["runs"][key] for pt in parts]) for key in parts[0]["runs"]}
    pairs = {key: np.concatenate([pt["pairs"][key] for pt in parts]) for key in parts[0]["pairs"]}
    pairs["sender"] = np.concatenate(
        [pt["pairs"]["sender"] + o for pt, o in zip(parts, offsets, strict=True)]
    )
    pairs["receiver"] = np.concatenate(
        [pt["pairs"]["receiver"] + o for pt, o in zip(parts, offsets, strict=True)]
    )
    return {
        "runs": runs,
        "pairs": pairs,
        "n_automorphisms": len(tree_automorphisms(parents, cfg.max_automorphisms)),
    }


def _stitch_pairs(cfg: Any, k: int, index: dict) -> list[tuple[int, int, str]]:
    """(sender, receiver, kind): seed pairs within a cell, width pairs across widths."""
    n = len(cfg.seeds)
    pairs: list[tuple[int, int, str]] = []
    for wd in cfg.weight_decays:
        for d in cfg.emb_dims:
            for j, s in enumerate(cfg.seeds):
                for off in (1, 2) if n > 2 else (1,):
                    pairs.append((index[k, wd, d, cfg.seeds[(j + off) % n]], index[k, wd, d, s], "seed"))
        for d1 in cfg.emb_dims:
            for d2 in cfg.emb_dims:
                if d1 != d2:
                    for j, s in enumerate(cfg.seeds):
                        pairs.append((index[k, wd, d1, cfg.seeds[(j + 1) % n]], index[k, wd, d2, s], "width"))
    return pairs


def _grid(cfg: Any, k: int, parents: tuple[int, ...]) -> tuple[list[Any], list[tuple]]:
    """The toy runs of relation count ``k`` (weight decay x emb width x seed) and their cells."""
    from graph_universality.graphs import KnowledgeGraph, split
    from graph_universality.toy import ToyRun

    kg = KnowledgeGraph(parents, relations(k))
    tr, te = split(kg, "heldout", cfg.test_frac, cfg.tree_seed)
    runs, cells = [], []
    for wd in cfg.weight_decays:
        for d in cfg.emb_dims:
            for s in cfg.seeds:
                runs.append(
                    ToyRun(
                        kg.examples, tr, te, cfg.n_nodes, k, d, cfg.hidden, wd, cfg.lr, s, cfg.emb_init_std
                    )
                )
                cells.append((k, wd, d, s))
    return runs, cells


def _sweep_job(job: tuple, inputs: list) -> Any:
    """One job of :func:`train_sweep`: ``("train", k, _)`` trains the runs of relation count ``k`` as one stack with
    the config's recipe and returns the stack and its metrics; ``("stitch", k, pairs)`` scores that slice of its
    stitch pairs (a chunk trained at once), ``("controls", k, _)`` the pairs' fits and the per-run controls, both
    from the trained stack in ``inputs``. One stack per relation count: the ``fast`` recipe's dense full-batch head
    padded to 5 relations would cost 1-relation runs 5x their work, and the ``official`` recipe's runs stop by
    themselves, the 5-relation ones (53 steps per epoch at quick) long after the 1-relation ones (11)."""
    from graph_universality.toy import train_recipe

    cfg, parents, (what, k, part) = job
    runs, cells = _grid(cfg, k, parents)
    if what == "train":
        desc = f"toy_sweep ({cfg.recipe}): {len(runs)} toy link predictors ({k} relations), stacked"
        return train_recipe(runs, cfg.recipe, cfg.steps, cfg.max_epochs, cfg.max_steps, desc=desc)
    model = inputs[0][0]
    pairs = _stitch_pairs(cfg, k, {c: i for i, c in enumerate(cells)})
    if what == "stitch":
        return _stitch_scores(cfg, parents, model, pairs[part])
    return _controls(cfg, k, model, pairs)


def _stitch_scores(
    cfg: Any, parents: tuple[int, ...], model: Any, pairs: list[tuple]
) -> dict[str, np.ndarray]:
    """Held-out F1 of every map in :data:`METHODS` for ``pairs`` (trained together as one stack), and the
    automorphism each sender is re-labelled by."""
    from graph_universality.align import best_automorphism, train_toy_stitches
    from graph_universality.graphs import tree_automorphisms

    runs = model.runs
    send = np.array([p[0] for p in pairs])
    recv = np.array([p[1] for p in pairs])
    emb = model.embeddings().detach().numpy()
    # alignment modulo automorphisms: each sender table re-labelled by its best automorphism for its receiver
    perms = tree_automorphisms(parents, cfg.max_automorphisms)
    n = cfg.n_nodes
    aut_index = np.zeros(len(pairs), dtype=np.int64)
    aut_emb = np.zeros((len(pairs), *emb.shape[1:]), dtype=np.float32)
    for p, (i, j, _) in enumerate(pairs):
        x, y = emb[i][:n, : runs[i].emb_dim], emb[j][:n, : runs[j].emb_dim]
        aut_index[p] = best_automorphism(x, y, perms)[0]
        aut_emb[p, :n] = emb[i][perms[aut_index[p]]][:n]
    out = {"automorphism": aut_index}
    out["f1_lstsq"] = train_toy_stitches(model, send, recv, init="lstsq", steps=0)["test_f1"]
    out["f1_procrustes"] = train_toy_stitches(model, send, recv, init="procrustes", steps=0)["test_f1"]
    out["f1_affine"] = train_toy_stitches(model, send, recv, steps=cfg.stitch_steps)["test_f1"]
    out["f1_almost_affine"] = train_toy_stitches(
        model, send, recv, mlp_hidden=cfg.mlp_hidden, steps=cfg.stitch_steps
    )["test_f1"]
    aut = train_toy_stitches(model, send, recv, sender_emb=aut_emb, steps=cfg.stitch_steps)
    out["f1_lstsq_aut"], out["f1_affine_aut"] = aut["test_f1_init"], aut["test_f1"]
    return {k: v if k == "automorphism" else np.asarray(v, dtype=np.float64) for k, v in out.items()}


def _controls(cfg: Any, k: int, model: Any, pairs: list[tuple]) -> dict[str, np.ndarray]:
    """R^2 of the lstsq fit and linear CKA per pair; per run, the self-stitch and a random sender."""
    from graph_universality.align import linear_cka, lstsq_affine, r2, train_toy_stitches

    runs = model.runs
    emb = model.embeddings().detach().numpy()
    fit_r2, cka = np.zeros(len(pairs)), np.zeros(len(pairs))
    for p, (i, j, _) in enumerate(pairs):
        x, y = emb[i][:, : runs[i].emb_dim], emb[j][:, : runs[j].emb_dim]
        a, b = lstsq_affine(x, y)
        fit_r2[p] = r2(x @ a + b, y)
        cka[p] = linear_cka(x, y)
    everyone = np.arange(len(runs))
    self_f1 = train_toy_stitches(model, everyone, everyone, init="lstsq", steps=0)["test_f1"]
    rng = np.random.default_rng([cfg.tree_seed, k])
    rnd = np.zeros_like(emb)
    for i, r in enumerate(runs):
        rnd[i, : r.n_nodes, : r.emb_dim] = rng.normal(size=(r.n_nodes, r.emb_dim))
    random_f1 = train_toy_stitches(model, everyone, everyone, sender_emb=rnd, steps=cfg.stitch_steps)[
        "test_f1"
    ]
    return {"r2": fit_r2, "cka": cka, "self_f1": self_f1, "random_sender_f1": random_f1}


def _relation_count_result(
    cells: list[tuple], pairs: list[tuple], met: dict, parts: list[dict]
) -> dict[str, Any]:
    """The runs (``cells``) and stitch ``pairs`` of one relation count from its training metrics and its jobs'
    results (the stitch chunks in order, then the controls)."""
    *chunks, controls = parts
    return {
        "runs": {
            "n_relations": np.array([c[0] for c in cells]),
            "weight_decay": np.array([c[1] for c in cells]),
            "emb_dim": np.array([c[2] for c in cells]),
            "seed": np.array([c[3] for c in cells]),
            **{key: met[key] for key in ("train_f1", "test_f1", "train_loss", "n_params", "stopped_at")},
            **({"epochs": met["epochs"]} if "epochs" in met else {}),  # official recipe: epochs run
            "test_f1_descendant": met["test_f1_per_relation"][:, -1],
            "self_f1": controls["self_f1"],
            "random_sender_f1": controls["random_sender_f1"],
        },
        "pairs": {
            "sender": np.array([p[0] for p in pairs]),
            "receiver": np.array([p[1] for p in pairs]),
            "kind": np.array([p[2] for p in pairs]),
            "r2": controls["r2"],
            "cka": controls["cka"],
            # index into tree_automorphisms(parents); 0 = identity
            "automorphism": np.concatenate([c["automorphism"] for c in chunks]),
            **{f"f1_{m}": np.concatenate([c[f"f1_{m}"] for c in chunks]) for m in METHODS},
        },
    }


# ---------------------------------------------------------------------------------------------------- analysis
def equivalence(result: dict[str, Any], method: str) -> np.ndarray:
    """Equivalence score of every pair for one stitch ``method`` (nan where the receiver scores 0)."""
    from graph_universality.align import equivalence_score

    p, r = result["pairs"], result["runs"]
    return equivalence_score(p[f"f1_{method}"], r["test_f1"][p["receiver"]])


def informative(result: dict[str, Any], n_nodes: int) -> np.ndarray:
    """Runs whose width is < N - 1: an affine map from d >= N - 1 dimensions interpolates any N target points, so
    equivalence there is vacuous."""
    return result["runs"]["emb_dim"] < n_nodes - 1


def cell_table(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (relations, weight decay, emb width): median equivalence per method over its seed pairs."""
    p, r = result["pairs"], result["runs"]
    rec = p["receiver"]
    rows = []
    keys = sorted(
        {
            (int(a), float(b), int(c))
            for a, b, c in zip(r["n_relations"], r["weight_decay"], r["emb_dim"], strict=True)
        }
    )
    eq = {m: equivalence(result, m) for m in METHODS}
    for k, wd, d in keys:
        m = (
            (p["kind"] == "seed")
            & (r["n_relations"][rec] == k)
            & (r["weight_decay"][rec] == wd)
            & (r["emb_dim"][rec] == d)
        )
        runs = (r["n_relations"] == k) & (r["weight_decay"] == wd) & (r["emb_dim"] == d)
        row = {"n_relations": k, "weight_decay": wd, "emb_dim": d, "n_pairs": int(m.sum())}
        row |= {meth: float(np.nanmedian(eq[meth][m])) for meth in METHODS}
        row["receiver_test_f1"] = float(np.mean(r["test_f1"][runs]))
        row["r2"] = float(np.median(p["r2"][m]))
        row["cka"] = float(np.median(p["cka"][m]))
        row["supported"] = bool(row["affine"] >= 0.95 and row["n_pairs"] >= 5)
        row["supported_aut"] = bool(row["affine_aut"] >= 0.95 and row["n_pairs"] >= 5)
        rows.append(row)
    return rows


def width_matrix(result: dict[str, Any], k: int, wd: float, dims: list[int]) -> np.ndarray:
    """Median trained-affine equivalence, sender width x receiver width, at relation count k and weight decay wd."""
    r, p = result["runs"], result["pairs"]
    aff = equivalence(result, "affine")
    m = np.full((len(dims), len(dims)), np.nan)
    for a, d1 in enumerate(dims):
        for b, d2 in enumerate(dims):
            sel = (r["n_relations"][p["receiver"]] == k) & (r["weight_decay"][p["receiver"]] == wd)
            sel &= (r["emb_dim"][p["sender"]] == d1) & (r["emb_dim"][p["receiver"]] == d2)
            if sel.any():
                m[a, b] = np.nanmedian(aff[sel])
    return m


def pair_distributions(result: dict[str, Any], n_nodes: int) -> dict[str, np.ndarray]:
    """Equivalence scores by group (senders of informative width): the self-stitch and random-sender controls (per
    run), then each method's seed pairs and width pairs."""
    from graph_universality.align import equivalence_score

    r, p = result["runs"], result["pairs"]
    small = informative(result, n_nodes)
    inf = small[p["sender"]]
    groups = {
        "self-stitch": equivalence_score(r["self_f1"], r["test_f1"]),
        "random sender\n(trained affine)": equivalence_score(r["random_sender_f1"], r["test_f1"])[small],
    }
    for meth in METHODS:
        e = equivalence(result, meth)
        groups[f"{meth}\nseed pairs"] = e[(p["kind"] == "seed") & inf]
        groups[f"{meth}\nwidth pairs"] = e[(p["kind"] == "width") & inf]
    return groups


def universality_values(result: dict[str, Any], n_nodes: int, seeds: list[int]) -> dict[str, np.ndarray]:
    """Fig. 3's claimed quantities, one per receiver seed (median over that seed's pairs, informative widths only):
    train F1 (precondition), trained-affine minus random-sender equivalence across widths, and the median
    equivalence over seed pairs of the trained affine map, the same modulo automorphisms, and least squares."""
    from graph_universality.align import equivalence_score
    from graph_universality.spread import per_seed

    r, p = result["runs"], result["pairs"]
    rand_eq = equivalence_score(r["random_sender_f1"], r["test_f1"])
    aff = equivalence(result, "affine")
    small = informative(result, n_nodes)
    both = small[p["sender"]] & small[p["receiver"]]
    seed_pairs = (p["kind"] == "seed") & both
    width_pairs = (p["kind"] == "width") & both
    recv_seed = r["seed"][p["receiver"]]

    def med(values: Any, mask: Any) -> Any:
        return per_seed(values[mask], recv_seed[mask], seeds, reduce="median")

    return {
        "train_f1": per_seed(r["train_f1"], r["seed"], seeds),
        "width_minus_random": med(aff, width_pairs)
        - per_seed(rand_eq[small], r["seed"][small], seeds, reduce="median"),
        "affine": med(aff, seed_pairs),
        "affine_aut": med(equivalence(result, "affine_aut"), seed_pairs),
        "lstsq": med(equivalence(result, "lstsq"), seed_pairs),
    }


def starvation(result: dict[str, Any], n_nodes: int, seeds: list[int]) -> dict[str, Any]:
    """Per knob value (pooled over the other knobs): median trained-affine equivalence over the informative seed
    pairs (overall and per receiver seed) and mean held-out descendant F1 (overall and per seed)."""
    from graph_universality.spread import per_seed

    r, p = result["runs"], result["pairs"]
    aff = equivalence(result, "affine")
    seed_pairs = (p["kind"] == "seed") & (r["emb_dim"][p["sender"]] < n_nodes - 1)
    recv_seed = r["seed"][p["receiver"]]
    out: dict[str, Any] = {"seeds": np.array(seeds), "train_f1": per_seed(r["train_f1"], r["seed"], seeds)}
    for knob in KNOBS:
        values = sorted({float(v) for v in r[knob]})
        eq, eq_seed, f1, f1_seed = [], [], [], []
        for v in values:
            sel = seed_pairs & (r[knob][p["receiver"]] == v) & np.isfinite(aff)
            e = aff[sel]
            eq.append(float(np.median(e)) if len(e) else float("nan"))
            eq_seed.append(per_seed(aff[sel], recv_seed[sel], seeds, reduce="median"))
            runs = r[knob] == v
            f1.append(float(np.mean(r["test_f1_descendant"][runs])))
            f1_seed.append(per_seed(r["test_f1_descendant"][runs], r["seed"][runs], seeds))
        out[knob] = {
            "values": np.array(values),
            "equivalence": np.array(eq),  # median over all pairs
            "equivalence_per_seed": np.array(
                eq_seed
            ),  # [value, seed]: median over each receiver seed's pairs
            "heldout_f1": np.array(f1),
            "heldout_f1_per_seed": np.array(f1_seed),  # [value, seed]
        }
    return out
