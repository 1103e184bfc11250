"""graphs.py through networkx and align.procrustes through scipy give what the former hand-written versions gave.

The ``_old_*`` functions below are the FORMER IMPLEMENTATIONS (graphs.py / align.py before networkx and scipy),
copied verbatim and kept only as the reference of this test. They are checked on every tree the figures and stages
use at smoke, quick and paper scale (read from their configs) and on random trees of 5..30 nodes (the in-context
episodes draw fresh random trees).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from graph_universality.align import procrustes
from graph_universality.graphs import (
    RELATIONS,
    children_of,
    depths,
    make_tree,
    relation_matrix,
    tree_automorphisms,
)


# ------------------------------------------------------------------- former implementation (reference only)
def _old_depths(parents: tuple[int, ...]) -> np.ndarray:
    d = np.zeros(len(parents), dtype=np.int64)
    for i in range(1, len(parents)):
        d[i] = d[parents[i]] + 1
    return d


def _old_relation_matrix(parents: tuple[int, ...], relation: str) -> np.ndarray:
    n = len(parents)
    par = np.zeros((n, n), dtype=bool)  # par[x, y]: x is the parent of y
    for y, p in enumerate(parents):
        if p >= 0:
            par[p, y] = True
    if relation == "parent":
        return par
    if relation == "child":
        return par.T.copy()
    if relation == "sibling":
        same = np.array([[parents[x] == parents[y] and parents[x] >= 0 for y in range(n)] for x in range(n)])
        np.fill_diagonal(same, False)
        return same
    if relation == "grandparent":
        return (par.astype(np.int64) @ par.astype(np.int64)) > 0
    if relation == "descendant":
        anc = np.zeros((n, n), dtype=bool)  # anc[x, y]: x is an ancestor of y
        for y in range(n):
            p = parents[y]
            while p >= 0:
                anc[p, y] = True
                p = parents[p]
        return anc.T.copy()
    raise ValueError(f"unknown relation {relation!r}; choose from {RELATIONS}")


def _old_children_of(parents: tuple[int, ...]) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in parents]
    for c, p in enumerate(parents):
        if p >= 0:
            kids[p].append(c)
    return kids


def _old_tree_automorphisms(parents: tuple[int, ...], max_count: int = 4096) -> np.ndarray:
    n = len(parents)
    kids = _old_children_of(parents)
    canon: list[str] = [""] * n
    for v in reversed(range(n)):  # children have larger indices than their parent
        canon[v] = "(" + "".join(sorted(canon[c] for c in kids[v])) + ")"

    def isos(u: int, v: int) -> list[dict[int, int]]:
        """Isomorphisms of subtree(u) onto subtree(v) (canon[u] == canon[v]), as node maps, capped."""
        ku = sorted(kids[u], key=lambda c: canon[c])
        kv = sorted(kids[v], key=lambda c: canon[c])
        groups = [list(g) for _, g in itertools.groupby(range(len(ku)), key=lambda i: canon[ku[i]])]
        per_group = []
        for g in groups:  # every bijection of u's children in this class onto v's, with sub-isomorphisms
            options = []
            for perm in itertools.permutations(g):
                subs = [isos(ku[i], kv[j]) for i, j in zip(g, perm, strict=True)]
                for combo in itertools.product(*subs):
                    options.append({k: x for m in combo for k, x in m.items()})
                    if len(options) >= max_count:
                        break
                if len(options) >= max_count:
                    break
            per_group.append(options)
        out = []
        for combo in itertools.product(*per_group):
            out.append({u: v} | {k: x for m in combo for k, x in m.items()})
            if len(out) >= max_count:
                break
        return out

    maps = isos(0, 0)
    perms = np.array([[m[i] for i in range(n)] for m in maps], dtype=np.int64)
    ident = np.flatnonzero((perms == np.arange(n)).all(1))
    order = [int(ident[0])] + [k for k in range(len(perms)) if k != ident[0]]
    return perms[order]


def _old_procrustes(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dx, dy = x.shape[1], y.shape[1]
    d = max(dx, dy)
    mx, my = x.mean(0), y.mean(0)
    xc = np.zeros((len(x), d))
    yc = np.zeros((len(y), d))
    xc[:, :dx], yc[:, :dy] = x - mx, y - my
    u, sig, vt = np.linalg.svd(xc.T @ yc)
    r = u @ vt
    scale = sig.sum() / max((xc**2).sum(), 1e-30)
    a = (scale * r)[:dx, :dy]
    return a, my - mx @ a


# ---------------------------------------------------------------------------------------------- the trees
def _figure_trees() -> set[tuple[str, int, int]]:
    """(kind, n_nodes, seed) of every tree the stages and figures build, at every scale, read from their configs
    (a balanced tree has no seed: 0)."""
    from graph_universality.figures import fig1, fig2, fig5, fig7
    from graph_universality.stages import TINY_LMS, TOY_SWEEP, TOY_SWEEP_OFFICIAL

    trees: set[tuple[str, int, int]] = set()
    for scale in ("smoke", "quick", "paper"):
        for stage in (TOY_SWEEP, TOY_SWEEP_OFFICIAL, TINY_LMS):  # random_tree(n_nodes, tree_seed)
            cfg = stage.configs[scale]
            trees.add(("random", cfg.n_nodes, cfg.tree_seed))
        cfg = fig2.FIGURE.configs[scale]  # generalisation: random_tree(n_nodes, tree_seed)
        trees.add(("random", cfg.n_nodes, cfg.tree_seed))
        cfg = fig1.FIGURE.configs[scale]  # toy cones: make_tree(kind, n_nodes, seed), both kinds, every seed
        trees |= {("random", cfg.n_nodes, s) for s in cfg.seeds} | {("balanced", cfg.n_nodes, 0)}
        cfg = fig5.FIGURE.configs[scale]  # in-context evaluation: fresh random trees, or the balanced one
        trees.add(("balanced", cfg.n_nodes, 0))
        trees |= {("random", cfg.n_nodes, s) for s in range(10)}
        trees |= {("random", cfg.icl.n_nodes, s) for s in range(10)}  # meta-training episodes
        trees.add(("balanced", fig7.FIGURE.configs[scale].n_nodes, 0))  # fig7: balanced_tree(n_nodes)
    return trees


FIGURE_TREES = sorted(_figure_trees())
RANDOM_TREES = [("random", n, s) for n in range(5, 31) for s in (0, 1, 2)]
TREES = sorted(set(FIGURE_TREES) | set(RANDOM_TREES) | {("balanced", n, 0) for n in (1, 2, 3, 31, 63)})


def test_the_figure_trees_include_the_stitching_trees():
    assert ("random", 15, 0) in FIGURE_TREES and (
        "random",
        31,
        0,
    ) in FIGURE_TREES  # toy sweep smoke/quick, paper
    assert ("balanced", 15, 0) in FIGURE_TREES and ("random", 63, 0) in FIGURE_TREES


@pytest.mark.parametrize("tree", TREES, ids=lambda t: f"{t[0]}{t[1]}s{t[2]}")
def test_relations_depths_children_match_the_former_implementation(tree):
    parents = make_tree(*tree)
    for r in RELATIONS:
        new, old = relation_matrix(parents, r), _old_relation_matrix(parents, r)
        assert new.dtype == old.dtype == bool and new.shape == old.shape
        assert np.array_equal(new, old), r
    assert depths(parents).dtype == np.int64 and np.array_equal(depths(parents), _old_depths(parents))
    assert children_of(parents) == _old_children_of(parents)


# the automorphisms on every figure tree up to 31 nodes (the toy sweep stitches 15- and 31-node trees) and on the
# random trees; the 63-node figure trees (fig2 at paper scale, which does not use automorphisms) take ~0.1-1 s each
AUT_TREES = [t for t in TREES if t[1] <= 31] + [("random", 63, 0), ("balanced", 63, 0)]


@pytest.mark.parametrize("tree", AUT_TREES, ids=lambda t: f"{t[0]}{t[1]}s{t[2]}")
def test_automorphisms_match_the_former_implementation(tree):
    parents = make_tree(*tree)
    n = len(parents)
    new, old = tree_automorphisms(parents), _old_tree_automorphisms(parents)
    assert new.dtype == old.dtype == np.int64 and new.shape[1] == old.shape[1] == n
    assert len(new) == len(old) and (new[0] == np.arange(n)).all()
    assert len({tuple(p) for p in new}) == len(new)
    if (
        len(old) < 4096
    ):  # the cap does not bind: the same automorphisms, in the same order (callers store indices)
        assert np.array_equal(new, old)
    else:  # capped: both keep 4096 automorphisms of the tree
        par = relation_matrix(parents, "parent")
        assert all(np.array_equal(par[np.ix_(s, s)], par) for s in new)


def test_automorphisms_small_caps():
    for tree in (("balanced", 15, 0), ("random", 15, 0), ("random", 30, 2)):
        parents = make_tree(*tree)
        full = tree_automorphisms(parents)
        for cap in (1, 2, 5, len(full), len(full) + 1):
            got = tree_automorphisms(parents, max_count=cap)
            assert len(got) == min(cap, len(full)) == len(_old_tree_automorphisms(parents, cap))
            assert (got[0] == np.arange(len(parents))).all()
            assert {tuple(p) for p in got} <= {tuple(p) for p in full}
            assert np.array_equal(got, tree_automorphisms(parents, max_count=cap))  # deterministic
    with pytest.raises(ValueError):
        tree_automorphisms(make_tree("balanced", 7, 0), max_count=0)


@pytest.mark.parametrize("shape", [(15, 4, 4), (15, 2, 4), (15, 8, 3), (31, 16, 16), (6, 5, 2), (3, 1, 1)])
def test_procrustes_matches_the_former_implementation(shape):
    n, dx, dy = shape
    rng = np.random.default_rng(n * 100 + dx * 10 + dy)
    for _ in range(3):
        x, y = rng.normal(size=(n, dx)) * 3 + 1, rng.normal(size=(n, dy)) - 2
        (a, b), (a0, b0) = procrustes(x, y), _old_procrustes(x, y)
        assert a.shape == a0.shape == (dx, dy) and b.shape == b0.shape == (dy,)
        np.testing.assert_allclose(a, a0, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b, b0, rtol=1e-10, atol=1e-12)
    x = rng.normal(size=(n, dx)).astype(np.float32)  # the toy sweep passes float32 tables
    y = rng.normal(size=(n, dy)).astype(np.float32)
    for new, old in zip(procrustes(x, y), _old_procrustes(x, y), strict=True):
        np.testing.assert_allclose(new, old, rtol=1e-10, atol=1e-12)
