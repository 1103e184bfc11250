"""The effective theory of GenEFT as pure numpy functions: statics (description length, balls in buckets, the App. D
closure Monte Carlo) and dynamics (the two-repon ODE, its conserved quantity, Eqs. 12 and 13).

Equation numbers follow arXiv:2402.05916v2 as reported secondhand (spec ``geneft.md``, [C] items).

Statics
- ``b``: the description length of a relation, ``log2(n!/|Aut G|)`` (:func:`description_length_exact`) or the Table II
  approximation (:func:`description_length_approx`: ``n log2 k`` for an equivalence with k classes, ``log2 n!`` for a
  total order, ``log2 C(n, a)`` for a complete bipartite graph, ``n^2`` for a generic relation).
- Eq. 3, balls in buckets: ``f(m) = 1 - (1 - 1/b)^m``; Eq. 4, ``p_c = log(1 - alpha) / (N log(1 - 1/b))``;
  Eq. 5, ``f_UB = f + max(p*, 1 - p*) (1 - f)``.
- App. D: :func:`closure_accuracy` closes a training set under the relation's known properties (reflexive,
  symmetric, transitive; a total order's antisymmetry and totality; a bipartite graph's two-colouring) and scores every
  pair the closure does not decide at ``max(p*, 1 - p*)`` (the same prior guess as Eq. 5, so the comparison with f_UB
  isolates what the closure adds over balls-in-buckets).

Dynamics (App. C)
- Eq. 10: ``da/dt = -2 eta_A c^2 a``, ``dc/dt = -eta_x a^2 c`` (a: decoder weight, c: half-separation of two repons),
  integrated by RK4, vectorised over trajectories (:func:`repon_ode`). With a repon against a cluster of N others the
  decoder rate is ``-4 k eta_A c^2 a`` with ``k = N / (N + 1)`` (``k = 1/2`` at N = 1 gives Eq. 10 back).
- Eq. 11: ``C = a^2 / (4 k eta_A) - c^2 / eta_x`` (``a^2/(2 eta_A) - c^2/eta_x`` at N = 1) is conserved; C > 0 means
  the repons collide (c -> 0), C < 0 that the decoder weight dies first (a -> 0).
- Eq. 12: ``p_r = (2/pi) arctan((sigma_a/sigma_c) sqrt(eta_x / (2 eta_A)))`` for Gaussian initial a and c.
- Eq. 13 (N-repon cluster): the 2 in the square root becomes ``4 N/(N + 1) = 4/(1 + 1/N)``, derived here from the
  loss ``1/2 |A x + b - y|^2 + N/2 |A y + b - y|^2`` (the spec's paraphrase "4(1 + 1/N)" cannot reduce to Eq. 12 at
  N = 1, which the paper says it does; this form does).
"""

from __future__ import annotations

import math

import numpy as np

RELATIONS = ("mod3", "mod5", "greater", "bipartite")
N_SYMBOLS = 30
BIPARTITE_A = 10


# ---------------------------------------------------------------------------------------------------- relations
def relation_matrix(relation: str, n: int = N_SYMBOLS, a: int = BIPARTITE_A) -> np.ndarray:
    """The n x n 0/1 adjacency matrix R[x1, x2] of a relation (Table I)."""
    x = np.arange(n)
    if relation.startswith("mod"):
        k = int(relation[3:])
        return (x[:, None] % k == x[None, :] % k).astype(np.int8)
    if relation == "greater":  # a strict total order: R = 1 iff x1 < x2
        return (x[:, None] < x[None, :]).astype(np.int8)
    if relation == "bipartite":  # complete bipartite graph between parts {0..a-1} and {a..n-1}
        part = x >= a
        return (part[:, None] != part[None, :]).astype(np.int8)
    raise ValueError(f"unknown relation {relation!r}; choose one of {', '.join(RELATIONS)}")


def relation_kind(relation: str) -> str:
    if relation.startswith("mod"):
        return "equivalence"
    if relation == "greater":
        return "order"
    if relation == "bipartite":
        return "bipartite"
    raise ValueError(f"unknown relation {relation!r}")


def relation_properties(relation: str) -> dict[str, bool]:
    """Table I: the properties of each relation (checked on its matrix, not asserted)."""
    r = relation_matrix(relation).astype(bool)
    n = len(r)
    rr = (r.astype(int) @ r.astype(int)) > 0
    return {
        "reflexive": bool(r.diagonal().all()),
        "irreflexive": bool(not r.diagonal().any()),
        "symmetric": bool((r == r.T).all()),
        "antisymmetric": bool(not (r & r.T & ~np.eye(n, dtype=bool)).any()),
        "transitive": bool(not (rr & ~r).any()),
        "total": bool(((r | r.T) | np.eye(n, dtype=bool)).all()),
    }


def p_star(relation: str) -> float:
    """Probability of guessing an undetermined pair's label: 1/k (equivalence), 1/2 (bipartite), 1/3 (order)."""
    if relation.startswith("mod"):
        return 1.0 / int(relation[3:])
    if relation == "bipartite":
        return 0.5
    if relation == "greater":
        return 1.0 / 3.0
    raise ValueError(f"unknown relation {relation!r}")


# ---------------------------------------------------------------------------------------------------- statics
def log2_factorial(n: int) -> float:
    return math.lgamma(n + 1) / math.log(2)


def log2_binomial(n: int, k: int) -> float:
    return log2_factorial(n) - log2_factorial(k) - log2_factorial(n - k)


def log2_automorphisms(relation: str, n: int = N_SYMBOLS, a: int = BIPARTITE_A) -> float:
    """log2 |Aut G| of the relation's graph, counted exactly from its structure."""
    if relation.startswith("mod"):
        k = int(relation[3:])
        sizes = [len(range(c, n, k)) for c in range(k)]
        out = sum(log2_factorial(s) for s in sizes)
        for s in set(sizes):  # classes of equal size can be permuted among themselves
            out += log2_factorial(sizes.count(s))
        return out
    if relation == "greater":
        return 0.0  # a total order has no non-trivial automorphism
    if relation == "bipartite":
        return log2_factorial(a) + log2_factorial(n - a) + (1.0 if 2 * a == n else 0.0)
    raise ValueError(f"unknown relation {relation!r}")


def description_length_exact(relation: str, n: int = N_SYMBOLS, a: int = BIPARTITE_A) -> float:
    """b = log2(n! / |Aut G|) with the automorphism group counted exactly (orbit-stabiliser)."""
    if relation == "generic":
        return float(n * n)
    return log2_factorial(n) - log2_automorphisms(relation, n, a)


def description_length_approx(relation: str, n: int = N_SYMBOLS, a: int = BIPARTITE_A) -> float:
    """b as Table II gives it: n log2 k (equivalence, k classes), log2 n! (total order), log2 C(n, a) (bipartite),
    n(n+1)/2 (symmetric), n^2 (generic)."""
    if relation.startswith("mod"):
        return n * math.log2(int(relation[3:]))
    if relation == "greater":
        return log2_factorial(n)
    if relation == "bipartite":
        return log2_binomial(n, a)
    if relation == "symmetric":
        return n * (n + 1) / 2
    if relation == "generic":
        return float(n * n)
    raise ValueError(f"unknown relation {relation!r}")


def description_length(relation: str, method: str = "exact", n: int = N_SYMBOLS) -> float:
    if method == "exact":
        return description_length_exact(relation, n)
    if method == "approx":
        return description_length_approx(relation, n)
    raise ValueError(f"method must be 'exact' or 'approx', got {method!r}")


def balls_in_buckets(m, b: float):
    """Eq. 3: expected fraction of b buckets hit by m balls, f(m) = 1 - (1 - 1/b)^m."""
    return 1.0 - (1.0 - 1.0 / b) ** np.asarray(m, dtype=float)


def critical_fraction(b: float, n_pairs: int = N_SYMBOLS**2, alpha: float = 0.9) -> float:
    """Eq. 4: the training fraction p_c at which f(N p_c) = alpha."""
    return math.log(1 - alpha) / (n_pairs * math.log(1 - 1 / b))


def f_upper_bound(m, b: float, pstar: float):
    """Eq. 5: f_UB(m) = f(m) + max(p*, 1 - p*) (1 - f(m))."""
    f = balls_in_buckets(m, b)
    return f + max(pstar, 1 - pstar) * (1 - f)


# ------------------------------------------------------------------------------------------- App. D closure MC
def _find(parent: np.ndarray, x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def closure_known(relation: str, known: np.ndarray, n: int = N_SYMBOLS) -> tuple[np.ndarray, np.ndarray]:
    """Close a training set under the relation's properties: (decided [n, n] bool, value [n, n] 0/1)."""
    r = relation_matrix(relation, n)
    kind = relation_kind(relation)
    xs, ys = np.nonzero(known)
    if kind == "equivalence":  # reflexive + symmetric + transitive: union-find; negatives separate components
        parent = np.arange(n)
        for x, y in zip(xs, ys, strict=True):
            if r[x, y]:
                parent[_find(parent, x)] = _find(parent, y)
        comp = np.array([_find(parent, x) for x in range(n)])
        apart = np.zeros((n, n), bool)
        for x, y in zip(xs, ys, strict=True):
            if not r[x, y]:
                apart[comp[x], comp[y]] = apart[comp[y], comp[x]] = True
        same = comp[:, None] == comp[None, :]
        decided = same | apart[comp[:, None], comp[None, :]]
        return decided, same.astype(np.int8)
    if kind == "order":  # strict total order: (x, y) known tells x<y or y<x (totality); transitive closure
        less = np.zeros((n, n), bool)
        for x, y in zip(xs, ys, strict=True):
            if x == y:
                continue
            if r[x, y]:
                less[x, y] = True
            else:
                less[y, x] = True
        reach = less.copy()
        while True:  # repeated squaring of the reachability matrix (at most log2 n rounds)
            nxt = reach | ((reach.astype(np.int32) @ reach.astype(np.int32)) > 0)
            if (nxt == reach).all():
                break
            reach = nxt
        decided = reach | reach.T | np.eye(n, dtype=bool)  # irreflexive: the diagonal is known to be 0
        return decided, reach.astype(np.int8)
    # bipartite (symmetric, irreflexive, two-colourable): union-find with parity; R = 1 iff parities differ
    parent, parity = np.arange(n), np.zeros(n, np.int8)

    def find(x: int) -> tuple[int, int]:
        p = 0
        while parent[x] != x:
            p ^= parity[x]
            x = parent[x]
        return x, p

    for x, y in zip(xs, ys, strict=True):
        (rx, px), (ry, py) = find(x), find(y)
        if rx != ry:
            parent[rx] = ry
            parity[rx] = px ^ py ^ int(r[x, y])
    roots, pars = zip(*(find(x) for x in range(n)), strict=True)
    roots, pars = np.array(roots), np.array(pars)
    decided = roots[:, None] == roots[None, :]
    return decided, (pars[:, None] != pars[None, :]).astype(np.int8)


def closure_accuracy(
    relation: str, fraction: float, n_draws: int, seed: int, n: int = N_SYMBOLS, closure: bool = True
) -> np.ndarray:
    """App. D Monte Carlo: the best achievable accuracy on all n^2 pairs from a random training fraction ([draws]).

    ``closure=False`` is the memoriser the paper argues against (a control): only the training pairs themselves are
    decided, every other pair is scored at the prior guess, whatever the relation's structure.
    """
    rng = np.random.default_rng(seed)
    guess = max(p_star(relation), 1 - p_star(relation))
    out = np.empty(n_draws)
    m = int(round(fraction * n * n))
    for i in range(n_draws):
        known = np.zeros(n * n, bool)
        known[rng.permutation(n * n)[:m]] = True
        if closure:
            decided, value = closure_known(relation, known.reshape(n, n), n)
        else:
            decided, value = known.reshape(n, n), relation_matrix(relation, n)
        assert (value[decided] == relation_matrix(relation, n)[decided]).all()
        out[i] = (decided.sum() + guess * (~decided).sum()) / (n * n)
    return out


# --------------------------------------------------------------------------------------------- repon dynamics
def _k(n_cluster: int) -> float:
    return n_cluster / (n_cluster + 1)


def repon_rhs(a, c, eta_a, eta_x, n_cluster: int = 1):
    """Eq. 10 (N = 1) and its cluster form: (da/dt, dc/dt)."""
    return -4 * _k(n_cluster) * eta_a * c * c * a, -eta_x * a * a * c


def repon_ode(a0, c0, eta_a, eta_x, t_end: float, dt: float, n_cluster: int = 1, n_save: int = 0):
    """RK4 integration of the repon ODE, vectorised over trajectories (arrays broadcast together).

    Returns (a_T, c_T) or, with ``n_save`` > 0, also ``(ts, a_path [n_save, ...], c_path)`` sampled evenly.
    """
    a = np.asarray(a0, dtype=float).copy()
    c = np.asarray(c0, dtype=float).copy()
    a, c = np.broadcast_arrays(a, c)
    a, c = a.copy(), c.copy()
    n_steps = int(math.ceil(t_end / dt))
    save_every = max(n_steps // n_save, 1) if n_save else 0
    ts, a_path, c_path = [0.0], [a.copy()], [c.copy()]
    for i in range(n_steps):
        k1a, k1c = repon_rhs(a, c, eta_a, eta_x, n_cluster)
        k2a, k2c = repon_rhs(a + dt / 2 * k1a, c + dt / 2 * k1c, eta_a, eta_x, n_cluster)
        k3a, k3c = repon_rhs(a + dt / 2 * k2a, c + dt / 2 * k2c, eta_a, eta_x, n_cluster)
        k4a, k4c = repon_rhs(a + dt * k3a, c + dt * k3c, eta_a, eta_x, n_cluster)
        a += dt / 6 * (k1a + 2 * k2a + 2 * k3a + k4a)
        c += dt / 6 * (k1c + 2 * k2c + 2 * k3c + k4c)
        if save_every and (i + 1) % save_every == 0:
            ts.append((i + 1) * dt)
            a_path.append(a.copy())
            c_path.append(c.copy())
    if n_save:
        return a, c, (np.array(ts), np.stack(a_path), np.stack(c_path))
    return a, c


def conserved_quantity(a, c, eta_a, eta_x, n_cluster: int = 1):
    """Eq. 11: C = a^2 / (4 k eta_A) - c^2 / eta_x (= a^2/(2 eta_A) - c^2/eta_x for two repons)."""
    a, c = np.asarray(a, float), np.asarray(c, float)
    return a * a / (4 * _k(n_cluster) * eta_a) - c * c / eta_x


def collided(a0, c0, a_t, c_t):
    """Whether the separation shrank more than the decoder weight (relative to their starts): c -> 0 beats a -> 0."""
    return np.abs(c_t) / np.abs(c0) < np.abs(a_t) / np.abs(a0)


def p_collide_eq12(eta_ratio, sigma_ratio: float = 1.0):
    """Eq. 12: p_r = (2/pi) arctan((sigma_a/sigma_c) sqrt(eta_x / (2 eta_A))), ``eta_ratio`` = eta_x / eta_A."""
    return 2 / np.pi * np.arctan(sigma_ratio * np.sqrt(np.asarray(eta_ratio, float) / 2))


def p_collide_eq13(eta_ratio, n_cluster: int, sigma_ratio: float = 1.0):
    """Eq. 13: one repon against a cluster of N: the 2 under the square root becomes 4 N / (N + 1)."""
    return 2 / np.pi * np.arctan(sigma_ratio * np.sqrt(np.asarray(eta_ratio, float) / (4 * _k(n_cluster))))


def collide_draws(
    eta_ratio: float,
    n_draws: int,
    seed: int,
    sigma_ratio: float = 1.0,
    t_end: float | None = None,
    dt: float = 0.05,
    n_cluster: int = 1,
    init: str = "gaussian",
) -> np.ndarray:
    """Per draw (bool ``[n_draws]``): whether the repons of Gaussian initial conditions (a ~ N(0, sigma_ratio^2), c ~ N(0, 1))
    collide.

    ``init="uniform"`` draws a and c uniformly with the same variances instead (a control: Eq. 12 assumes Gaussians).

    ``t_end`` None: by the sign of C (the infinite-time limit). Otherwise Eq. 10 is integrated to ``t_end`` in units
    where the faster of the two rates is 1 (as a network's fixed step budget at its larger learning rate), and a
    trajectory counts as collided once its separation has shrunk below a tenth of its start.
    """
    rng = np.random.default_rng(seed)
    if init == "gaussian":
        a0 = rng.normal(0, sigma_ratio, n_draws)
        c0 = rng.normal(0, 1.0, n_draws)
    elif init == "uniform":
        h = math.sqrt(3.0)
        a0 = rng.uniform(-h * sigma_ratio, h * sigma_ratio, n_draws)
        c0 = rng.uniform(-h, h, n_draws)
    else:
        raise ValueError(f"init must be 'gaussian' or 'uniform', got {init!r}")
    if t_end is None:
        return conserved_quantity(a0, c0, 1.0, float(eta_ratio), n_cluster) > 0
    scale = max(1.0, float(eta_ratio))
    a_t, c_t = repon_ode(a0, c0, 1.0 / scale, float(eta_ratio) / scale, t_end, dt, n_cluster)
    return np.abs(c_t) < 0.1 * np.abs(c0)


def p_collide_monte_carlo(
    eta_ratio: float,
    n_draws: int,
    seed: int,
    sigma_ratio: float = 1.0,
    t_end: float | None = None,
    dt: float = 0.05,
    n_cluster: int = 1,
    init: str = "gaussian",
) -> float:
    """The fraction of :func:`collide_draws` that collide."""
    return float(collide_draws(eta_ratio, n_draws, seed, sigma_ratio, t_end, dt, n_cluster, init).mean())
