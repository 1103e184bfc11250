"""The five toy tasks of the paper (spec section 2), as pure functions of a seed, and their train/test splits.

Every task is a finite table of valid (input tokens -> target token) facts, its *universe*:

| task          | official generator                  | input -> target                               | vocab | facts |
|---------------|-------------------------------------|-----------------------------------------------|-------|-------|
| ``lattice``   | ``parallelogram_dataset(p=5,dim=2)``| (a, b, c) on a 5x5 grid -> d = b + c - a      | 25    | 7,225 |
| ``circle``    | ``modular_addition_dataset(p=31)``  | (a, b) -> (a + b) mod 31                      | 31    | 961   |
| ``equivalence``| ``mod_equiv_dataset(p=40)``        | (a, b) -> token 40 "same class mod 5" / 41    | 42    | 1,600 |
| ``genealogy`` | ``family_tree_dataset_2(p=127)``    | (node, relation) -> parent/grandparent/sibling| 130   | 373   |
| ``permutation``| ``permutation_group_dataset(p=4)`` | (g, h) -> g o h in S4 (``g[h[k]]``)            | 24    | 576   |

Lattice tokens are ``5 x + y``; genealogy nodes 1..126 form a binary heap (parent of i is i // 2), relations are the
tokens 127 (parent), 128 (grandparent), 129 (sibling); permutations are numbered in ``itertools.permutations`` order.

Two ways to draw a data set and split it (``mode``):
- ``official`` (the paper's code, defect D1): ``data_size`` rows drawn uniformly *with replacement* from the universe
  (permutation: the whole table once, as the official generator ignores ``data_size``), then the *rows* are split,
  so a test row's input often appears in the training rows too (measured by :func:`overlap`). The lattice generator
  rejection-samples uniform triples until the result is on the grid, which is the same as a uniform draw from the
  universe; we draw from the universe directly (same distribution, not the same random stream).
- ``unique`` (the fix): ``min(data_size, |universe|)`` *distinct* facts, then split: train and test share no input.
Both take ``train_fraction`` of the rows (rounded down, as the official ``int(num * ratio)``) for training.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cache

import numpy as np

TASKS = ("lattice", "circle", "equivalence", "genealogy", "permutation")
TASK_TITLES = {
    "lattice": "In-context (lattice)",
    "circle": "Modular addition",
    "equivalence": "Equivalence classes",
    "genealogy": "Genealogy",
    "permutation": "Permutation S4",
}
SPLIT_MODES = ("official", "unique")

LATTICE_P, CIRCLE_P, EQUIV_P, EQUIV_MOD, TREE_P, PERM_N = 5, 31, 40, 5, 127, 4


@dataclass(frozen=True)
class Task:
    """A task's universe of facts and what is needed to look at its representations."""

    name: str
    inputs: np.ndarray  # [N, L] int64, every valid input once
    targets: np.ndarray  # [N] int64
    vocab_size: int
    entity_tokens: np.ndarray  # the tokens whose embeddings form the task's structure (PCA, EV, metrics)
    colour: np.ndarray  # one value per entity token, for plots (grid row, residue, depth, coset, ...)
    colour_label: str
    aux: dict = field(default_factory=dict)

    @property
    def seq_len(self) -> int:
        return self.inputs.shape[1]


def _lattice() -> Task:
    p = LATTICE_P
    g = np.arange(p)
    coords = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)  # token t = 5 x + y
    a, b, c = (
        x.reshape(-1)
        for x in np.meshgrid(np.arange(p * p), np.arange(p * p), np.arange(p * p), indexing="ij")
    )
    d = coords[b] + coords[c] - coords[a]
    ok = ((d >= 0) & (d < p)).all(1)
    inputs = np.stack([a[ok], b[ok], c[ok]], 1)
    targets = d[ok, 0] * p + d[ok, 1]
    return Task(
        "lattice",
        inputs,
        targets,
        p * p,
        np.arange(p * p),
        coords[:, 0].astype(float),
        "grid row x",
        {"coords": coords, "p": p},
    )


def _circle() -> Task:
    p = CIRCLE_P
    a, b = (x.reshape(-1) for x in np.meshgrid(np.arange(p), np.arange(p), indexing="ij"))
    return Task(
        "circle",
        np.stack([a, b], 1),
        (a + b) % p,
        p,
        np.arange(p),
        np.arange(p, dtype=float),
        "token",
        {"p": p},
    )


def _equivalence() -> Task:
    p, m = EQUIV_P, EQUIV_MOD
    a, b = (x.reshape(-1) for x in np.meshgrid(np.arange(p), np.arange(p), indexing="ij"))
    targets = np.where((a - b) % m == 0, p, p + 1)
    return Task(
        "equivalence",
        np.stack([a, b], 1),
        targets,
        p + 2,
        np.arange(p),
        (np.arange(p) % m).astype(float),
        f"residue mod {m}",
        {"mod": m},
    )


def _genealogy() -> Task:
    p = TREE_P
    parent, grandparent, sibling = p, p + 1, p + 2
    facts = []
    for i in range(1, p):
        if i >= 2:
            facts.append((i, parent, i // 2))
        if i >= 4:
            facts.append((i, grandparent, i // 4))
        if i >= 2:
            facts.append((i, sibling, i ^ 1))
    facts = np.array(facts)
    nodes = np.arange(1, p)
    depth = np.floor(np.log2(nodes)).astype(float)
    return Task("genealogy", facts[:, :2], facts[:, 2], p + 3, nodes, depth, "depth", {"depth": depth})


def _permutation() -> Task:
    perms = list(itertools.permutations(range(PERM_N)))
    index = {q: i for i, q in enumerate(perms)}
    a, b = (x.reshape(-1) for x in np.meshgrid(np.arange(len(perms)), np.arange(len(perms)), indexing="ij"))
    targets = np.array(
        [index[tuple(np.array(perms[i])[np.array(perms[j])])] for i, j in zip(a, b, strict=True)]
    )
    # Colour: the coset of the Klein four-group V4 = {e, (01)(23), (02)(13), (03)(12)} (normal; S4/V4 ~ S3, 6 cosets),
    # one fixed a-priori choice instead of the official per-seed best-silhouette coset (defect D10).
    v4 = [(0, 1, 2, 3), (1, 0, 3, 2), (2, 3, 0, 1), (3, 2, 1, 0)]
    coset = {}
    for q in perms:
        key = min(tuple(np.array(q)[np.array(k)]) for k in v4)
        coset.setdefault(key, len(coset))
    colour = np.array([coset[min(tuple(np.array(q)[np.array(k)]) for k in v4)] for q in perms], dtype=float)
    return Task(
        "permutation",
        np.stack([a, b], 1),
        targets,
        len(perms),
        np.arange(len(perms)),
        colour,
        "coset of V4",
        {"p": PERM_N, "perms": np.array(perms)},
    )


@cache
def task(name: str) -> Task:
    builders = {
        "lattice": _lattice,
        "circle": _circle,
        "equivalence": _equivalence,
        "genealogy": _genealogy,
        "permutation": _permutation,
    }
    if name not in builders:
        raise ValueError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}")
    return builders[name]()


@dataclass(frozen=True)
class Split:
    """One drawn data set, split: int64 arrays, plus the measured leak."""

    task: str
    mode: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    overlap: float  # fraction of test rows whose input also occurs among the training rows


def overlap(train_x: np.ndarray, test_x: np.ndarray) -> float:
    """Fraction of test rows (with multiplicity) whose input occurs among the training inputs."""
    if len(test_x) == 0:
        return float("nan")
    seen = {tuple(r) for r in train_x.tolist()}
    return float(np.mean([tuple(r) in seen for r in test_x.tolist()]))


def make_split(name: str, mode: str, train_fraction: float, seed: int, data_size: int = 1000) -> Split:
    """Draw ``name``'s data set with ``seed`` and split it (see the module docstring for the two modes)."""
    if mode not in SPLIT_MODES:
        raise ValueError(f"unknown split mode {mode!r}; modes: {', '.join(SPLIT_MODES)}")
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    t = task(name)
    n_universe = len(t.inputs)
    rng = np.random.default_rng(seed)
    if name == "permutation":
        rows = np.arange(n_universe)  # the official generator returns the whole table, data_size ignored
    elif mode == "official":
        rows = rng.integers(0, n_universe, size=data_size)
    else:
        rows = rng.choice(n_universe, size=min(data_size, n_universe), replace=False)
    order = rng.permutation(len(rows))
    n_train = int(len(rows) * train_fraction)
    tr, te = rows[order[:n_train]], rows[order[n_train:]]
    train_x, test_x = t.inputs[tr], t.inputs[te]
    return Split(name, mode, train_x, t.targets[tr], test_x, t.targets[te], overlap(train_x, test_x))
