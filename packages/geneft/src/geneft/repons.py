"""Repon dynamics and clustering (Fig. 4): the phase plane of Eq. 10, the conservation of C and its sign deciding
collision over random starts, and Theorem 1 in a network (the within / between class distance of embeddings).

:func:`phase_plane` and :func:`sign_check` integrate Eq. 10 (:mod:`geneft.theory`, RK4); :func:`clustering_runs`
trains generalising and memorising mod-3 networks and keeps their embeddings; :func:`clustering_ratio` and
:func:`sign_agreement` are what the claims read.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def phase_plane(eta_ratio: float, n_starts: int, t_end: float, dt: float) -> dict[str, Any]:
    """RK4 trajectories of Eq. 10 (eta_A = 1, eta_x = ``eta_ratio``) from a ring of ``n_starts`` starts at radius
    1.5: times ``ts``, ``a_path`` / ``c_path`` ``[t, starts]``, relative drift of C ``C_drift`` and its start ``C0``."""
    from geneft import theory as T

    eta_a, eta_x = 1.0, eta_ratio
    ang = np.linspace(0, 2 * np.pi, n_starts, endpoint=False) + np.pi / n_starts
    a0, c0 = 1.5 * np.cos(ang), 1.5 * np.sin(ang)
    _, _, (ts, a_path, c_path) = T.repon_ode(a0, c0, eta_a, eta_x, t_end, dt, n_save=300)
    C_path = T.conserved_quantity(a_path, c_path, eta_a, eta_x)
    scale = a0**2 / (2 * eta_a) + c0**2 / eta_x
    return {
        "ts": ts,
        "a_path": a_path,
        "c_path": c_path,
        "C_drift": np.abs(C_path - C_path[0]) / scale,  # [t, starts]
        "C0": C_path[0],
    }


def sign_check(eta_ratio: float, seeds: tuple[int, ...], n_draws: int, t_end: float) -> dict[str, Any]:
    """Standard normal starts (``n_draws`` per seed), integrated to ``t_end`` (dt 0.02): per ``[seeds, draws]`` the
    conserved C, its scale, its relative drift, and whether the repons collided."""
    from geneft import theory as T

    eta_a, eta_x = 1.0, eta_ratio
    n_s = len(seeds)
    draws = [np.random.default_rng(s).normal(size=(2, n_draws)) for s in seeds]
    ra, rc = np.concatenate([d[0] for d in draws]), np.concatenate([d[1] for d in draws])  # seed-major
    rC = T.conserved_quantity(ra, rc, eta_a, eta_x)
    ra_t, rc_t = T.repon_ode(ra, rc, eta_a, eta_x, t_end, 0.02)
    rscale = ra**2 / (2 * eta_a) + rc**2 / eta_x
    rC_t = T.conserved_quantity(ra_t, rc_t, eta_a, eta_x)
    return {
        "random_C": rC.reshape(n_s, -1),  # [seeds, draws]
        "random_scale": rscale.reshape(n_s, -1),
        "random_drift": (np.abs(rC_t - rC) / rscale).reshape(n_s, -1),
        "random_collided": T.collided(ra, rc, ra_t, rc_t).reshape(n_s, -1),
    }


def clustering_runs(
    gen_lrs: tuple[float, float],
    memo_lrs: tuple[float, float],
    seeds: tuple[int, ...],
    fraction: float,
    steps: int,
) -> dict[str, Any]:
    """Mod-3 networks (Table III model) at the generalising and memorising (eta_enc, eta_dec), every seed, trained
    for all ``steps`` (no early exit): ``embeddings`` ``[gen/memo, seeds, 30, 2]``, ``test_acc``/``train_acc``
    ``[gen/memo, seeds]``. One stack per learning-rate pair, in single-threaded worker processes when the unit has
    the threads (:mod:`repro.parallel`; the same numbers with one worker or two)."""
    from repro.parallel import map_single_threaded, n_workers

    jobs = [(lrs, seeds, fraction, steps) for lrs in (gen_lrs, memo_lrs)]
    gen, memo = map_single_threaded(_clustering_stack, jobs, n_workers(len(jobs)))
    return {k: np.stack([gen[k], memo[k]]) for k in gen}


def _clustering_stack(job: tuple) -> dict[str, Any]:
    from geneft.model import Arch
    from geneft.train import Runs, train_stack

    (lr_enc, lr_dec), seeds, fraction, steps = job
    runs = Runs.grid(seeds=list(seeds), fractions=fraction, lr_enc=lr_enc, lr_dec=lr_dec, wd_dec=0.0)
    net = train_stack("mod3", Arch(), runs, steps, stop=None, keep_embeddings=True)
    return {"embeddings": net["embeddings"], "test_acc": net["test_acc"], "train_acc": net["train_acc"]}


def clustering_ratio(emb: Any) -> float:
    """Mean within-class / mean between-class distance of mod-3 embeddings (0 = one point per class)."""
    cls = np.arange(len(emb)) % 3
    d = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    same = cls[:, None] == cls[None]
    off = ~np.eye(len(emb), dtype=bool)
    return float(d[same & off].mean() / d[~same].mean())


def sign_agreement(C: Any, scale: Any, collided: Any, margin: float = 0.05) -> tuple[list[float], Any]:
    """Per seed, the share of starts with |C| > ``margin`` x scale whose collision matches C > 0; and that mask."""
    clear = np.abs(C) > margin * scale
    return [(collided[s][clear[s]] == (C[s][clear[s]] > 0)).mean() for s in range(len(C))], clear


def run_preconditions(tr: Any, te: Any) -> tuple[Any, Any]:
    """The preconditions of the clustering claims, from train / test accuracy ``[gen/memo, seeds]`` at the last
    step: the generalising runs get every pair right (Theorem 1 is about a model at zero loss, so it needs the whole
    relation fitted, test pairs included); the memorising runs fit theirs but not the test."""
    from repro.claims import Precondition

    gen_ok = Precondition(
        "the generalising runs classify every one of the 900 pairs right (train = test = 1 per seed): the nearest "
        "BCE training gets to Theorem 1's zero loss",
        bool(np.all(tr[0] >= 1.0) and np.all(te[0] >= 1.0)),
        f"train {', '.join(f'{x:.3f}' for x in tr[0])}; test {', '.join(f'{x:.3f}' for x in te[0])}",
    )
    memo_ok = Precondition(
        "the memorising runs fit their training pairs but not the test (train >= 0.9, test < 0.9 per seed)",
        bool(np.all(tr[1] >= 0.9) and np.all(te[1] < 0.9)),
        f"train {', '.join(f'{x:.3f}' for x in tr[1])}; test {', '.join(f'{x:.3f}' for x in te[1])}",
    )
    return gen_ok, memo_ok


def premise_note(tr: Any, te: Any, ratio: Any, seeds: Any) -> str:
    """Which seeds meet Theorem 1's premise (every pair right at the last step) and their clustering ratios: shown
    beside the claim, so a seed that fits the whole relation without collapsing is visible when the claim is not
    reached because another seed does not fit it."""
    ok = (np.asarray(tr) >= 1.0) & (np.asarray(te) >= 1.0)
    if not ok.any():
        return "no seed gets every pair right"
    return "seeds with every pair right: " + ", ".join(
        f"{s} (ratio {r:.2f})" for s, r, k in zip(seeds, ratio, ok, strict=True) if k
    )
