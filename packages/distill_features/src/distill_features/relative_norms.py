"""Summaries of the crosscoders stage's result (fig2): per size and variant, mean relative decoder norm r of the latents
that fire (L1 norms for the official variant, as its analysis did; L2 for the fixed one), the fraction of
model-exclusive latents (r < 0.1 or r > 0.9), Latent Scaling's false exclusives, and reconstruction quality
(explained variance, L0, dead fraction, next-token loss recovered).

Not in ``zoo_crosscoders``: editing a summary must not change the stage's cache key.
"""

from __future__ import annotations

from typing import Any


def metrics_of(crosscoders: dict[str, Any], variants: tuple[str, ...]) -> dict[str, Any]:
    """The crosscoders stage's result for ``variants`` without the crosscoders' weights and the harvested
    activations (what fig2 keeps)."""
    drop = ("eval_acts", "eval_sequences", "eval_positions")
    sizes = {
        n: {**{k: v for k, v in r.items() if k not in drop},
            "variants": {v: {k: x for k, x in r["variants"][v].items() if k != "crosscoder"} for v in variants}}
        for n, r in crosscoders["sizes"].items()
    }  # fmt: skip
    return {"size_order": crosscoders["size_order"], "sizes": sizes}


def summary(result: dict[str, Any], cfg: Any) -> dict[str, dict[str, Any]]:
    """Per "size/variant": mean r (the variant's norm, and L2), exclusive and false-exclusive fractions, quality."""
    import numpy as np

    out: dict[str, dict[str, Any]] = {}
    for name in result["size_order"]:
        for v, rv in result["sizes"][name]["variants"].items():
            fired = np.asarray(rv["fired"], bool)
            r = np.asarray(rv["r_l1" if v == "official" else "r_l2"])[fired]
            r2 = np.asarray(rv["r_l2"])[fired]
            nu = np.maximum(np.nan_to_num(rv["nu_eps"]), np.nan_to_num(rv["nu_r"]))
            out[f"{name}/{v}"] = {
                "mean_r": float(np.nanmean(r)),
                "mean_r_l2": float(np.nanmean(r2)),
                "exclusive_frac": float(np.mean((r2 < 0.1) | (r2 > 0.9))),
                "false_exclusive_frac": float(np.mean(nu > cfg.ls_flag)) if len(nu) else float("nan"),
                "ev": list(rv["metrics"]["explained_variance"]),
                "l0": float(rv["metrics"]["l0"]),
                "dead": float(rv["metrics"]["dead_fraction"]),
                "recovered": list(rv["splice"]["frac_recovered"]),
            }
    return out


def r_items(result: dict[str, Any], name: str, v: str) -> tuple[Any, Any]:
    """r of the latents that fire on the evaluation rows (L1 norms for official, L2 for fixed), and their L2 r."""
    import numpy as np

    rv = result["sizes"][name]["variants"][v]
    fired = np.asarray(rv["fired"], bool)
    return np.asarray(rv["r_l1" if v == "official" else "r_l2"])[fired], np.asarray(rv["r_l2"])[fired]


def worse_ev(rows: Any) -> float:
    """EV of the worse model from rows [sse_base, sse_distilled, ss_base, ss_distilled]."""
    import numpy as np

    sums = np.asarray(rows).sum(0)
    return float(np.min(1 - sums[:2] / sums[2:]))
