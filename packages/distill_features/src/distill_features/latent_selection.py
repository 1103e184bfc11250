"""Latent selection at the reasoning markers (figs 3, 4; fig9 reads ``latent_activations``): which latents the
paper's count rule and a precision-based rule pick at a marker class's tokens, their relative decoder norms r, and
which extreme-r picks Latent Scaling confirms.

- ``latent_activations``: latent activity of a crosscoder over raw activations as each variant reads it
  (``normalised``: the crosscoder's real encoding; ``raw``: raw activations into the encoder, the official analysis's
  defect 3; ``raw_pre_no_bias``: x_raw W_enc before the ReLU, the official max-activating-example score).
- ``marker_selection`` / ``size_selection``: per marker class and latent, the enrichment counts, the paper's rule
  (fires on more than ``select_frac`` of the largest firing count at the class's tokens), the precision selection
  (``selected_by_precision``) and the firing density; ``size_selection`` adds r and the Latent Scaling ratio of the
  extreme-r picks for one size and variant of a ``latents_setup.LatentsSetup``.
- ``selection_by_size`` (fig3) and ``selection_at_size`` (fig4): the figures' computations.
- ``density_stats``, ``selection_counts``, ``indicators``, ``summary_by_size``, ``summary_by_category``: what the
  claims and panels count.

Variants (``ANALYSIS_OF_VARIANT``):
- ``official``: the L1 crosscoder; latent activity = ReLU(x W_enc + b_enc) on RAW activations (the analysis skipped
  the training normalisation: defect 3; the raw residual norms differ from the training units by each size's scale,
  at quick about 5x smaller at d=32 and 4x larger at d=128, so the official analysis under-fires at small sizes and
  over-fires at large ones); r from L1 norms of the decoder rows (defect 5).
- ``fixed``: the BatchTopK crosscoder, activations normalised as in training (``Crosscoder.encode``, learned
  threshold), r from L2 norms.
Two checks the paper lacks: Latent Scaling (Minder et al., ``analysis.latent_scaling_crosscoder`` on the real,
normalised activations) of every extreme-r latent a selection picks, "confirmed" exclusive when max(nu_r, nu_eps) <
``ls_flag`` (NaN, never firing under the real encoding: not confirmed); and the official L1 crosscoder under the
fixed analysis (``official_fixed_analysis``), which tells whether a difference between the variants comes from the
crosscoder (L1 vs BatchTopK) or from the analysis defects.

Not in ``analysis``: editing ``analysis`` changes the cache key of the crosscoders stage (its training uses it).
"""

from __future__ import annotations

from typing import Any

VARIANTS = ("official", "fixed")
# variant -> (how latent activity is computed, the norm of r)
ANALYSIS_OF_VARIANT = {"official": ("raw", 1), "fixed": ("normalised", 2)}
CATEGORIES = ("self_reflection", "deductive", "alternative", "contrastive")


def check_selection_fields(cfg: Any) -> None:
    """Validation shared by the configs of fig3 and fig4."""
    if not 0 < cfg.select_frac < 1:
        raise ValueError(f"select_frac must be in (0, 1), got {cfg.select_frac}")
    if not 0 < cfg.precision_min <= 1 or not 0 <= cfg.rate_min <= 1:
        raise ValueError("precision_min must be in (0, 1] and rate_min in [0, 1]")
    if not cfg.ls_flag > 0:
        raise ValueError(f"ls_flag must be > 0, got {cfg.ls_flag}")
    if not 0 < cfg.extreme < 0.5:
        raise ValueError(f"extreme must be in (0, 0.5), got {cfg.extreme}")
    if cfg.bins < 2:
        raise ValueError(f"bins must be >= 2, got {cfg.bins}")
    if not cfg.variants or not set(cfg.variants) <= set(VARIANTS):
        raise ValueError(f"variants must be a non-empty subset of {VARIANTS}")


ACTIVATION_MODES = ("normalised", "raw", "raw_pre_no_bias")


def latent_activations(model: Any, x_raw: Any, mode: str = "normalised", batch_size: int = 4096) -> Any:
    """Latent activations [N, F] (numpy) of a ``crosscoder.Crosscoder`` over raw activations [N, M, d].

    ``normalised``: ``model.encode`` (scaled into training units first: the crosscoder's real activations);
    ``raw``: ``model.encode_normalised`` of the raw activations, as the official analysis fed them to W_enc
    (defect 3; ReLU(x W_enc + b_enc), and for BatchTopK its threshold); ``raw_pre_no_bias``: x_raw W_enc before
    the ReLU and without b_enc, the official max-activating-example score (defect 5)."""
    import numpy as np
    import torch

    if mode not in ACTIVATION_MODES:
        raise ValueError(f"mode must be one of {ACTIVATION_MODES}, got {mode!r}")
    x = torch.as_tensor(np.asarray(x_raw)).float()
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            xb = x[s : s + batch_size]
            if mode == "normalised":
                out.append(model.encode(xb))
            elif mode == "raw":
                out.append(model.encode_normalised(xb))
            else:
                out.append(model.pre_activations(xb) - model.b_enc)
    if not out:
        return np.zeros((0, model.cfg.dict_size), dtype=np.float32)
    return torch.cat(out).numpy()


def selected_by_precision(
    enrichment: dict[str, Any], precision_min: float = 0.3, rate_min: float = 0.1
) -> Any:
    """[C, F]: latents whose firings are enriched on a class (at least ``precision_min`` of their firings fall on
    it) and that fire on at least ``rate_min`` of its tokens, from ``analysis.token_class_enrichment``. Unlike the
    paper's count rule this does not pick latents that fire everywhere."""
    import numpy as np

    prec = np.nan_to_num(enrichment["precision"], nan=0.0)
    rate = np.nan_to_num(enrichment["rate"], nan=0.0)
    return (prec >= precision_min) & (rate >= rate_min) & (np.asarray(enrichment["count"]) > 0)


def marker_selection(
    acts: Any, row_markers: Any, select_frac: float, precision_min: float, rate_min: float
) -> dict[str, Any]:
    """Per marker class (rows, ``language.MARKERS`` order) and latent: the enrichment counts, the paper's count
    rule (``selected``), the precision-based selection, and each latent's firing density over all rows."""
    import numpy as np

    from distill_features import analysis
    from distill_features.language import MARKERS

    e = analysis.token_class_enrichment(acts, row_markers, MARKERS, select_frac=select_frac)
    return {
        "count": e["count"],
        "n_class": e["n_class"],
        "selected": e["selected"],
        "precision_selected": selected_by_precision(e, precision_min, rate_min),
        "density": (np.asarray(acts) > 0).mean(0),
    }


def size_selection(
    st: Any, size: str, variant: str, cfg: Any, analysis_of: str | None = None
) -> dict[str, Any]:
    """:func:`marker_selection` of one size of the setup ``st``: its ``variant`` crosscoder under the analysis of ``analysis_of``
    (default: the same variant), with r per latent and the Latent Scaling ratio ``ls_nu`` = max(nu_r, nu_eps)
    (Minder et al.; computed on the real, normalised activations) of the extreme-r latents (``ls_latents``) that
    any reasoning class selects by either rule."""
    import numpy as np

    from distill_features import analysis
    from distill_features.language import MARKERS

    s = st.sizes[size]
    mode, p = ANALYSIS_OF_VARIANT[analysis_of or variant]
    cc = s.crosscoders[variant]
    acts = latent_activations(cc, s.eval_acts, mode)
    out = marker_selection(acts, st.row_markers(size), cfg.select_frac, cfg.precision_min, cfg.rate_min)
    r = out["r"] = analysis.relative_decoder_norm(cc.W_dec, p=p)
    rows = [i for i, m in enumerate(MARKERS) if m != "none"]
    chosen = (out["selected"][rows] | out["precision_selected"][rows]).any(0)
    lat = np.flatnonzero(chosen & ((r < cfg.extreme) | (r > 1 - cfg.extreme)))
    ls = analysis.latent_scaling_crosscoder(cc, s.eval_acts, lat.tolist()) if len(lat) else {}
    out["ls_latents"] = lat
    out["ls_nu"] = np.maximum(ls["nu_r"], ls["nu_eps"]) if len(lat) else np.zeros(0)  # NaN: cannot confirm
    return out


def confirmed(sel: dict[str, Any], latents: Any, ls_flag: float) -> int:
    """How many of ``latents`` Latent Scaling confirms as exclusive (max(nu_r, nu_eps) < ``ls_flag``)."""
    import numpy as np

    nu = dict(
        zip(np.asarray(sel["ls_latents"]).tolist(), np.asarray(sel["ls_nu"], float).tolist(), strict=True)
    )
    return int(sum(nu.get(int(j), np.nan) < ls_flag for j in np.asarray(latents).tolist()))


def density_stats(sel: dict[str, Any], c: int) -> dict[str, float]:
    """The paper's three density counts for class index ``c`` and the dictionary size."""
    import numpy as np

    count, n = np.asarray(sel["count"][c]), float(sel["n_class"][c])
    return {
        "fire_once": int((count > 0).sum()),
        "pass_cut": int(np.asarray(sel["selected"][c]).sum()),
        "every": int(((count >= n) & (n > 0)).sum()),
        "dict": int(count.shape[0]),
        "n_tokens": int(n),
    }


def extreme_counts(r: Any, extreme: float) -> tuple[int, int]:
    """(# latents with r < extreme, # with r > 1 - extreme)."""
    import numpy as np

    r = np.asarray(r, dtype=float)
    return int((r < extreme).sum()), int((r > 1 - extreme).sum())


def class_index(result: dict[str, Any], cfg: Any) -> int:
    """Row of ``cfg.category`` in the result's marker classes."""
    return result["classes"].index(cfg.category)


def result_variants(result: dict[str, Any]) -> list[str]:
    """The variants a by-size selection result holds, in ``VARIANTS`` order."""
    first = result["sizes"][result["size_order"][0]]
    return [v for v in VARIANTS if v in first]


def selection_counts(sel: dict[str, Any], c: int, cfg: Any) -> dict[str, Any]:
    """For class ``c``: the extreme-bin counts of the rule and the precision selection, how many of the rule's
    extremes Latent Scaling confirms, and the firing densities of each set."""
    import numpy as np

    rule = np.asarray(sel["selected"][c], bool)
    prec = np.asarray(sel["precision_selected"][c], bool)
    r, dens = np.asarray(sel["r"], float), np.asarray(sel["density"], float)
    lo, hi = extreme_counts(r[rule], cfg.extreme)
    plo, phi = extreme_counts(r[prec], cfg.extreme)
    return {
        "n_rule": int(rule.sum()), "n_prec": int(prec.sum()),
        "low": lo, "high": hi, "prec_low": plo, "prec_high": phi,
        "low_confirmed": confirmed(sel, np.flatnonzero(rule & (r < cfg.extreme)), cfg.ls_flag),
        "high_confirmed": confirmed(sel, np.flatnonzero(rule & (r > 1 - cfg.extreme)), cfg.ls_flag),
        "density_rule": dens[rule], "density_prec": dens[prec], "density_all": dens,
    }  # fmt: skip


def summary_by_size(result: dict[str, Any], cfg: Any) -> dict[str, dict[str, Any]]:
    """Fig3: per "size/variant" for ``cfg.category``: the density counts and :func:`selection_counts`; for the official variant also the
    counts of the same crosscoder analysed correctly (``cc_fixed_*``)."""
    c = class_index(result, cfg)
    out = {}
    for size in result["size_order"]:
        for v in result_variants(result):
            sel = result["sizes"][size][v]
            q = {**density_stats(sel, c), **selection_counts(sel, c, cfg)}
            if v == "official" and "official_fixed_analysis" in result["sizes"][size]:
                alt = selection_counts(result["sizes"][size]["official_fixed_analysis"], c, cfg)
                q.update({f"cc_fixed_{k}": alt[k] for k in ("n_rule", "low", "high")})
            out[f"{size}/{v}"] = q
    return out


def indicators(sel: dict[str, Any], c: int, cfg: Any) -> dict[str, Any]:
    """Per latent (bool arrays over the dictionary) for class ``c``: rule / precision selection in each extreme
    bin, Latent-Scaling-confirmed rule extremes, and the paper's three density tests: what the count claims sum."""
    import numpy as np

    rule = np.asarray(sel["selected"][c], bool)
    prec = np.asarray(sel["precision_selected"][c], bool)
    r = np.asarray(sel["r"], float)
    count, n = np.asarray(sel["count"][c]), float(sel["n_class"][c])
    nu = np.full(len(r), np.nan)
    nu[np.asarray(sel["ls_latents"], int)] = np.asarray(sel["ls_nu"], float)
    high, low = r > 1 - cfg.extreme, r < cfg.extreme
    return {
        "high": rule & high, "low": rule & low, "prec_high": prec & high,
        "high_confirmed": rule & high & (nu < cfg.ls_flag),
        "fire_once": count > 0, "pass_cut": rule, "every": (count >= n) & (n > 0),
    }  # fmt: skip


def ratio_of_medians_interval(a: Any, b: Any, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of median(a) / median(b), the two samples resampled independently."""
    import numpy as np

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    ma = np.median(a[rng.integers(0, len(a), (2000, len(a)))], 1)
    mb = np.median(b[rng.integers(0, len(b), (2000, len(b)))], 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = np.nanpercentile(ma / mb, [2.5, 97.5])
    return (float(lo), float(hi))


def density_ratio(rule: Any, prec: Any) -> float:
    """median(rule) / median(prec) of two firing-density samples; NaN when ``prec`` is empty or its median 0."""
    return (
        median_or_nan(rule) / median_or_nan(prec) if len(prec) and median_or_nan(prec) > 0 else float("nan")
    )


def median_or_nan(x: Any) -> float:
    """The median, NaN when empty."""
    import numpy as np

    return float(np.median(x)) if len(x) else float("nan")


def selection_by_size(st: Any, cfg: Any) -> dict[str, Any]:
    """Fig3's computation on a setup: per size, :func:`size_selection` of each variant (and of the official
    crosscoder under the fixed analysis), with the explained variance of the crosscoders used (``controls``)."""
    import torch

    from distill_features import controls
    from distill_features.language import MARKERS

    torch.set_num_threads(1)
    out: dict[str, Any] = {"size_order": list(st.size_order), "classes": list(MARKERS), "sizes": {}}
    out["crosscoder_ev"] = controls.prepare(st, cfg.untrained_crosscoder)
    for size in st.size_order:
        out["sizes"][size] = {v: size_selection(st, size, v, cfg) for v in cfg.variants}
        if "official" in cfg.variants:  # which defect moves the counts: the L1 crosscoder, analysed correctly
            out["sizes"][size]["official_fixed_analysis"] = size_selection(st, size, "official", cfg, "fixed")
        out["sizes"][size]["n_rows"] = len(st.sizes[size].eval_acts)
    return out


def selection_at_size(st: Any, cfg: Any) -> dict[str, Any]:
    """Fig4's computation on a setup: :func:`size_selection` of each variant at ``cfg.size`` (default: the middle
    size, the paper's 7B), for every marker class."""
    import torch

    from distill_features import controls
    from distill_features.language import MARKERS
    from distill_features.latents_setup import zoo_size

    torch.set_num_threads(1)
    size = zoo_size(st.size_order, cfg.size)
    ev = controls.prepare(st, cfg.untrained_crosscoder)
    out = {
        "crosscoder_ev": ev,
        "size": size,
        "classes": list(MARKERS),
        "variants": {v: size_selection(st, size, v, cfg) for v in cfg.variants},
    }
    if "official" in cfg.variants:  # the L1 crosscoder analysed correctly: which defect moves the counts
        out["official_fixed_analysis"] = size_selection(st, size, "official", cfg, "fixed")
    return out


def summary_by_category(result: dict[str, Any], cfg: Any) -> dict[str, dict[str, Any]]:
    """Fig4: per "category/variant", :func:`selection_counts` (and ``cc_fixed_*`` for the official variant)."""
    out = {}
    for v, sel in result["variants"].items():
        for cat in CATEGORIES:
            c = result["classes"].index(cat)
            q = {**selection_counts(sel, c, cfg), "n_tokens": int(sel["n_class"][c])}
            if v == "official" and "official_fixed_analysis" in result:
                alt = selection_counts(result["official_fixed_analysis"], c, cfg)
                q.update({f"cc_fixed_{k}": alt[k] for k in ("n_rule", "low", "high")})
            out[f"{cat}/{v}"] = q
    return out
