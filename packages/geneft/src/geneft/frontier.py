"""The arctan frontier (Fig. 6): the collision probability p_r of two repons against the learning-rate ratio.

:func:`collision_curves` estimates p_r three ways: Eqs. 12 and 13 (closed form), the sign of the conserved C over
Gaussian (or, for the control, uniform) initial conditions (the infinite-time limit), and integrating Eq. 10 to
finite horizons; the networks' points come from the learning-rate sweep (:func:`geneft.phase.ratio_diagonals`).
:func:`spearman` is the rank correlation the network claim uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def collision_curves(cfg: Any) -> dict[str, Any]:
    """p_r at ``cfg.n_ratios`` log-spaced eta_x / eta_A over ``cfg.log_ratio_range`` (``cfg``: a Fig. 6 config):
    ``eq12``, ``eq13`` (a cluster of ``n_cluster``), ``mc_sign_c`` ``[ratios, mc_seeds]`` (``mc_draws`` per seed),
    ``ode`` ``{str(horizon): [ratios, mc_seeds]}`` (``ode_draws`` per seed, step ``dt``); initial conditions
    ``cfg.init`` with sigma_a / sigma_c = ``cfg.sigma_ratio``."""
    from geneft import theory as T
    from repro.progress import track

    ratios = np.logspace(*cfg.log_ratio_range, cfg.n_ratios)
    seeds, sigma_ratio, init = cfg.mc_seeds, cfg.sigma_ratio, cfg.init
    mc = np.array(  # [ratios, seeds]
        [
            [T.p_collide_monte_carlo(r, cfg.mc_draws, 10_000 * s + i, sigma_ratio, init=init) for s in seeds]
            for i, r in enumerate(ratios)
        ]
    )
    ode = {}  # one integration per ratio for all seeds, split into per-seed batches of ode_draws
    for h in cfg.horizons:
        ode[str(h)] = np.array(
            [
                T.collide_draws(
                    r, cfg.ode_draws * len(seeds), 100 + i, sigma_ratio, t_end=h, dt=cfg.dt, init=init
                )
                .reshape(len(seeds), cfg.ode_draws)
                .mean(1)
                for i, r in enumerate(track(ratios, f"fig6: repon ODE to t = {h:g}"))
            ]
        )
    return {
        "ratios": ratios,
        "eq12": T.p_collide_eq12(ratios, sigma_ratio),
        "eq13": T.p_collide_eq13(ratios, cfg.n_cluster, sigma_ratio),
        "mc_sign_c": mc,
        "ode": ode,
    }


def spearman(x: Any, y: Any) -> float:
    """Spearman's rank correlation (average ranks for ties); 0 when y is constant."""

    def ranks(v: Any) -> Any:
        v = np.asarray(v, dtype=float)
        r = np.empty(len(v))
        r[np.argsort(v, kind="stable")] = np.arange(len(v))
        return np.array([r[v == u].mean() for u in v])  # ties share their average rank

    if np.std(y) == 0 or np.std(x) == 0:
        return 0.0
    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])
