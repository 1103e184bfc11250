"""Helpers the figures' ``claims`` use to turn one-run measurements into intervals (``repro.claims``).

The paper trains one LLM pair and one crosscoder per size, so its claims are single runs; their interval is a
bootstrap over items (held-out problems, latents, token positions, word pairs), as ``repro.claims`` asks for
single runs. Counts of latents passing a threshold are fragile across machines (float rounding moves a latent across
the cut), so they get a Wilson interval over the dictionary's latents instead of being compared bare.

Only ``claims``/``plot`` import this module, so editing it never moves a cached result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from repro.claims import Precondition, bootstrap_interval, precondition
from repro.claims import count_interval as wilson_count_interval

EV_MIN = 0.5  # a crosscoder "reconstructs" when the worse of its two models has explained variance >= this


def count_interval(indicator: Any, seed: int = 0) -> tuple[float, float]:
    """95 % interval of ``indicator.sum()`` (``indicator``: one bool per latent): the Wilson score interval of the
    count over the dictionary's latents. (A bootstrap gave a count of 0 the interval [0, 0], as if no latent could
    have passed on another machine; Wilson's reaches about 3.8 latents, the rule of three.) ``seed`` is unused."""
    ind = np.asarray(indicator, dtype=bool).ravel()
    return wilson_count_interval(int(ind.sum()), len(ind))


def paired_interval(
    items: Any, statistic: Callable[[Any], float], seed: int = 0, n_resamples: int = 2000
) -> tuple[float, float]:
    """95 % bootstrap interval of ``statistic`` over the rows of ``items`` (rows resampled together)."""
    return bootstrap_interval(np.asarray(items), statistic, n_resamples=n_resamples, seed=seed)


def mean_diff_interval(a: Any, b: Any, seed: int = 0) -> tuple[float, float]:
    """95 % interval of mean(a) - mean(b) from independent bootstraps of the two samples (percentile)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    da = a[rng.integers(0, len(a), (2000, len(a)))].mean(1)
    db = b[rng.integers(0, len(b), (2000, len(b)))].mean(1)
    lo, hi = np.nanpercentile(da - db, [2.5, 97.5])
    return (float(lo), float(hi))


def crosscoder_precondition(ev: Mapping[str, Sequence[float]] | None, key: str) -> Precondition:
    """The crosscoder the claim reads reconstructs both models: EV of the worse model >= ``EV_MIN``.

    ``ev``: {"<size>/<variant>": [EV base, EV distilled]} as the figure measured it on the crosscoders it used
    (an untrained crosscoder under the control fails it)."""
    vals = (ev or {}).get(key)
    worse = min(vals) if vals else float("nan")
    return precondition(f"crosscoder {key} reconstructs both models (EV of the worse)", worse, ">=", EV_MIN)


def markers_precondition(n_tokens: float, what: str) -> Precondition:
    """The text the claim measures on contains the marker tokens it needs (count > 0)."""
    return precondition(f"{what} contain the marker tokens: count", n_tokens, ">", 0)
