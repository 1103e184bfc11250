"""Ablating reasoning latents (figs 6 and 7; spec 3, 7.6): on one size of a ``latents_setup.LatentsSetup``
and fresh labelled windows (``latent_interventions.AblationInputs``: the crosscoders' trace / generic mix drawn with
``seed + 1000``, so selection and measurement use different text), the logit of each marker token with chosen
crosscoder latents ablated before it, against controls. At each target t the logit of the marker is read at t - 1
with the latents ablated at positions [1, t) of both models (position 0 untouched); both models' activations feed
the crosscoder, as in the official script. All conditions of a category run as one batched pass per model
(``AblationInputs.cells``).

- ``ablation_experiment`` (fig6): the latents the paper's F-b rule selects (firing on more than ``select_frac`` of the
  largest firing count at the category's tokens) with r > ``min_r``; the fixed variant also needs enrichment
  (lift = precision / base rate >= ``min_lift``). ``ablation_summary``: means and changes with bootstrap CIs.
- ``dose_response`` (fig7): the latents firing at least once on the category's tokens ranked by firing count (ties:
  summed activation), the top fraction f of them (``latent_interventions.top_active``) for each f of ``fractions``,
  when r > ``min_r``. ``dose_summary``: [model, fraction, (mean, lo, hi)].

Variants (``latent_interventions.ablation_mode``):
- ``official``: L1 crosscoder read as the official code did (raw activations into the encoder, r from L1 norms); the
  residual replaced by the reconstruction with the chosen latents zeroed, left in training units (error dropped,
  defect 3); control = as many latents drawn uniformly from all latents (defect 4); fig6 also shows the plain
  reconstruction (nothing zeroed): the damage every arm shares. In this path the units defect nearly cancels: a ReLU
  encoder with small biases is positively homogeneous, so raw inputs (1 / scale times the training units) give
  latents 1 / scale times too large and a reconstruction back in raw units; steering (fig5) has no such luck.
- ``fixed``: BatchTopK crosscoder, normalised; the chosen latents' contributions subtracted in raw units (error kept:
  nothing ablated = the model itself); control = ``n_control`` sets matched on firing frequency
  (``analysis.frequency_matched_control``), averaged. Firings are counted at the marker token (``marker``, the
  paper's counting) and at the position that predicts it (``before``: the residual the target logit is read from).
"""

from __future__ import annotations

from typing import Any

VARIANTS = ("official", "fixed")
SELECTIONS = ("marker", "before")
CATEGORIES = ("self_reflection", "deductive", "alternative", "contrastive")
MODELS = ("base", "distilled")


def check_config(cfg: Any) -> None:
    """Validation of fig6's and fig7's configs (``fractions`` only when the config has them)."""
    if not set(cfg.variants) <= set(VARIANTS) or not cfg.variants:
        raise ValueError(f"variants must be a non-empty subset of {VARIANTS}")
    if not set(cfg.selections) <= set(SELECTIONS) or "marker" not in cfg.selections:
        raise ValueError(f"selections must be a subset of {SELECTIONS} containing 'marker' (the paper's)")
    if cfg.n_windows < 1 or cfg.n_control < 1 or cfg.batch_size < 1 or cfg.n_boot < 10:
        raise ValueError("n_windows, n_control, batch_size >= 1 and n_boot >= 10 needed")
    if (
        not 0 <= getattr(cfg, "select_frac", 0) < 1
        or not 0 <= cfg.min_r < 1
        or getattr(cfg, "min_lift", 0) < 0
    ):
        raise ValueError("select_frac and min_r must lie in [0, 1), min_lift >= 0")
    fractions = getattr(cfg, "fractions", (1.0,))
    if not fractions or list(fractions) != sorted(set(fractions)):
        raise ValueError(f"fractions must be strictly increasing, got {fractions}")
    if not all(0 < f <= 1 for f in fractions):
        raise ValueError(f"fractions must lie in (0, 1], got {fractions}")


def ablation_experiment(st: Any, cfg: Any) -> dict[str, Any]:
    """Fig6's computation on a setup (``latents_setup.LatentsSetup``): per variant, selection and marker
    category, the target logits with the chosen latents ablated, with their controls (see the module docstring)."""
    import numpy as np
    import torch

    from distill_features import controls
    from distill_features import latent_interventions as li
    from repro.progress import status

    torch.set_num_threads(1)
    inp = li.AblationInputs.build(st, cfg.n_windows, cfg.seed, cfg.size)
    rng = np.random.default_rng(cfg.seed)
    ev = controls.prepare(inp.setup, cfg.untrained_crosscoder)
    out: dict[str, Any] = {
        "size": inp.size,
        "n_windows": int(len(inp.ids)),
        "crosscoder_ev": ev,
        "variants": {},
    }
    for c in inp.cells(cfg.variants, cfg.selections, CATEGORIES):
        v, en, ci = c.variant, c.enrichment, c.category_index
        chosen = en["selected"][ci] & (c.stats["r"] > cfg.min_r)
        if v == "fixed":
            chosen &= np.nan_to_num(en["lift"][ci]) >= cfg.min_lift
        ctrl = li.control_sets(chosen, c.stats["freq"], cfg.n_control, v == "fixed", rng)
        masks = [chosen[None], ctrl]
        if v == "official":
            masks.append(np.zeros((1, len(chosen)), bool))  # the plain reconstruction
        r = c.ablate(np.concatenate(masks), cfg.batch_size)
        e = r["logit_edit"]
        cell = {
            "n_targets": len(c.targets),
            "chosen": np.flatnonzero(chosen),
            "logit": r["logit"],  # [2, K]
            "ablated": e[:, 0],  # [2, K]
            "control": e[:, 1 : 1 + cfg.n_control].mean(1),  # [2, K], mean over control sets
        }
        if v == "official":
            cell["reconstruction"] = e[:, -1]
        out["variants"].setdefault(v, {}).setdefault(c.selection, {})[c.category] = cell
        d = (e[:, 0] - r["logit"]).mean(1) if len(c.targets) else np.full(2, np.nan)
        status(f"fig6 {v}/{c.selection} {c.category}: {int(chosen.sum())} latents, {len(c.targets)} targets, "
               f"mean logit change base {d[0]:+.2f}, distilled {d[1]:+.2f}")  # fmt: skip
    return out


def ablation_summary(result: dict[str, Any], cfg: Any) -> dict[str, dict[str, Any]]:
    """Per 'variant/selection' and category: mean logits and the changes (ablated - original, control - original)
    with bootstrap CIs over target positions, for base [0] and distilled [1]."""
    import numpy as np

    from distill_features.analysis import bootstrap_ci

    out: dict[str, dict[str, Any]] = {}
    for v, rv in result["variants"].items():
        for sel, rs in rv.items():
            for cat, q in rs.items():
                logit = np.asarray(q["logit"], dtype=np.float64).reshape(2, -1)
                row: dict[str, Any] = {"n_latents": len(q["chosen"]), "n_targets": int(q["n_targets"])}
                for arm in [a for a in ("ablated", "control", "reconstruction") if a in q]:
                    x = np.asarray(q[arm], dtype=np.float64).reshape(2, -1)
                    row[arm] = np.array([x[m].mean() if x.shape[1] else np.nan for m in range(2)])
                    row[f"d_{arm}"] = np.array(
                        [bootstrap_ci(x[m] - logit[m], cfg.n_boot, cfg.seed) for m in range(2)]
                    )
                row["logit"] = np.array([logit[m].mean() if logit.shape[1] else np.nan for m in range(2)])
                # targeted minus control, per position (the control's own effect removed)
                abl, ctl = (np.asarray(q[a], dtype=np.float64).reshape(2, -1) for a in ("ablated", "control"))
                row["d_vs_control"] = np.array(
                    [bootstrap_ci(abl[m] - ctl[m], cfg.n_boot, cfg.seed) for m in range(2)]
                )
                out.setdefault(f"{v}/{sel}", {})[cat] = row
    return out


def dose_response(st: Any, cfg: Any) -> dict[str, Any]:
    """Fig7's computation on a setup: per variant, selection and marker category, the target-logit change as the
    top fraction f of the active latents is ablated, with controls (see the module docstring)."""
    import numpy as np
    import torch

    from distill_features import controls
    from distill_features import latent_interventions as li
    from repro.progress import status

    torch.set_num_threads(1)
    inp = li.AblationInputs.build(st, cfg.n_windows, cfg.seed, cfg.size)  # the same inputs as fig6
    rng = np.random.default_rng(cfg.seed)
    nf, nc = len(cfg.fractions), cfg.n_control
    ev = controls.prepare(inp.setup, cfg.untrained_crosscoder)
    out: dict[str, Any] = {
        "size": inp.size,
        "fractions": np.array(cfg.fractions),
        "crosscoder_ev": ev,
        "variants": {},
    }
    for c in inp.cells(cfg.variants, cfg.selections, CATEGORIES):
        v, en, ci = c.variant, c.enrichment, c.category_index
        chosen = np.zeros((nf, c.crosscoder.cfg.dict_size), bool)
        for i, f in enumerate(cfg.fractions):
            chosen[i, li.top_active(en["count"][ci], f, en["act_sum"][ci])] = True
        chosen &= c.stats["r"] > cfg.min_r
        ctrl = np.stack([li.control_sets(x, c.stats["freq"], nc, v == "fixed", rng) for x in chosen])
        r = c.ablate(np.concatenate([chosen, ctrl.reshape(nf * nc, -1)]), cfg.batch_size)
        d = r["logit_edit"] - r["logit"][:, None]  # [2, C, K] change against the unedited model
        cell = {
            "n_targets": len(c.targets),
            "n_active": int((en["count"][ci] > 0).sum()),
            "n_latents": chosen.sum(1),
            "ablated": d[:, :nf],  # [2, nf, K]
            "control": d[:, nf:].reshape(2, nf, nc, -1).mean(2),  # [2, nf, K]
        }
        out["variants"].setdefault(v, {}).setdefault(c.selection, {})[c.category] = cell
        at = d[:, nf - 1].mean(-1) if len(c.targets) else np.full(2, np.nan)
        status(f"fig7 {v}/{c.selection} {c.category}: {cell['n_active']} active latents, {int(chosen[-1].sum())} "
               f"ablated at f={cfg.fractions[-1]}, change base {at[0]:+.2f}, distilled {at[1]:+.2f}")  # fmt: skip
    return out


def dose_summary(result: dict[str, Any], cfg: Any) -> dict[str, dict[str, Any]]:
    """Per 'variant/selection' and category: [model, fraction, (mean, lo, hi)] for the ablated and control arms
    and for ablated - control."""
    import numpy as np

    from distill_features.analysis import bootstrap_ci

    out: dict[str, dict[str, Any]] = {}
    for v, rv in result["variants"].items():
        for sel, rs in rv.items():
            for cat, q in rs.items():
                a, c = (np.asarray(q[k], dtype=np.float64) for k in ("ablated", "control"))
                nf = a.shape[1]
                row = {"n_latents": np.asarray(q["n_latents"]), "n_targets": int(q["n_targets"]),
                       "n_active": int(q["n_active"])}  # fmt: skip
                for key, x in (("ablated", a), ("control", c), ("vs_control", a - c)):
                    row[key] = np.array([[bootstrap_ci(x[m, i], cfg.n_boot, cfg.seed) for i in range(nf)]
                                         for m in range(2)])  # fmt: skip
                out.setdefault(f"{v}/{sel}", {})[cat] = row
    return out


def target_changes(cell: dict[str, Any], last_fraction: bool = False) -> tuple[Any, Any]:
    """A cell's per-target changes for the claims: ``d`` [K, 2] the change of the target logit under the ablation,
    base / distilled, and ``vs`` [K] the distilled model's ablated minus control logit. Fig6's cells hold logits
    [2, K]; fig7's (``last_fraction``) changes [2, F, K], read at the largest fraction."""
    import numpy as np

    if last_fraction:
        a, c = (np.asarray(cell[k], dtype=np.float64)[:, -1] for k in ("ablated", "control"))
        return a.T, a[1] - c[1]
    logit, abl, ctl = (
        np.asarray(cell[k], dtype=np.float64).reshape(2, -1) for k in ("logit", "ablated", "control")
    )
    return (abl - logit).T, abl[1] - ctl[1]


def distilled_minus_base(x: Any) -> float:
    """Mean change in the distilled model minus the base's, from ``target_changes``' ``d`` [K, 2]."""
    return float(x[:, 1].mean() - x[:, 0].mean())


def preconditions(
    result: dict[str, Any], v: str, what: str, cat: str, n_latents: int, n_targets: int
) -> tuple:
    """The ablation claims' preconditions: the crosscoder reconstructs, latents are chosen (``what``), targets exist."""
    from distill_features.verdicts import crosscoder_precondition
    from repro.claims import precondition

    return (crosscoder_precondition(result.get("crosscoder_ev"), f"{result['size']}/{v}"),
            precondition(what, n_latents, ">=", 1), precondition(f"{cat}: target marker positions", n_targets, ">=", 2))  # fmt: skip
