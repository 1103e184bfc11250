"""Steering the distilled model with crosscoder latents (fig5; spec 7.7): the latent selection, the conditions
(latents over a strength sweep, matched-norm random directions, DiffMean) and the generations, batched through
``latent_interventions.steered_generations``; ``fixed_curves`` summarises a metric per latent for the claims and
the plot.

- ``fixed``: BatchTopK crosscoder read with its normalisation; the steering vector is alpha * m_i * d_i with d_i
  the latent's decoder vector in RAW units and m_i its typical max activation on the evaluation rows, added at
  generated positions only; greedy and sampled over ``cfg.seeds``; controls: random directions with the latent's
  vector norm, and DiffMean (matched norm).
- ``official``: the L1 crosscoder read as the official code did; the decoder row in training units at coefficient
  1, at every position, T=1 sampling, one seed; the noise reference is the unsteered model under other seeds.
"""

from __future__ import annotations

from typing import Any

VARIANTS = ("official", "fixed")
CATEGORIES = ("self_reflection", "deductive")
SELECTIONS = ("marker", "before")


def check_config(cfg: Any) -> None:
    """Validation of fig5's config."""
    if not set(cfg.variants) <= set(VARIANTS) or not cfg.variants:
        raise ValueError(f"variants must be a non-empty subset of {VARIANTS}")
    if not set(cfg.selections) <= set(SELECTIONS) or "marker" not in cfg.selections:
        raise ValueError(f"selections must be a subset of {SELECTIONS} containing 'marker' (the paper's)")
    if 0.0 not in cfg.alphas or 2.0 not in cfg.alphas:
        raise ValueError("alphas must contain 0 (the unsteered check) and 2 (the claims)")
    if 2.0 not in cfg.random_alphas or 0.0 in cfg.random_alphas:
        raise ValueError("random_alphas must contain 2 (the claims) and not 0")
    if cfg.n_problems < 2 or cfg.n_random < 1 or cfg.official_noise_seeds < 2 or not cfg.seeds:
        raise ValueError("need n_problems >= 2, n_random >= 1, official_noise_seeds >= 2 and some seeds")
    if cfg.temperature <= 0 or cfg.max_new_tokens < 8 or cfg.top_act < 1 or cfg.max_rows < 1:
        raise ValueError("temperature > 0, max_new_tokens >= 8, top_act >= 1 and max_rows >= 1 needed")


def _runs(g: dict[str, Any]) -> dict[str, Any]:
    """Per-problem metrics of ``latent_interventions.steered_generations`` (texts dropped)."""
    return {
        "length": g["length"],
        "wait": g["markers"]["self_reflection"],
        "deductive": g["markers"]["deductive"],
        "correct": g["correct"],
        "answered": g["answered"],
    }


def steering_experiment(st: Any, cfg: Any) -> dict[str, Any]:
    """Fig5's computation on a setup (``latents_setup.LatentsSetup``): select the steering latents of each variant
    on the size ``cfg.size`` (the paper's 1.5B: the smallest), then generate under every condition (see the module docstring)."""
    import numpy as np
    import torch

    from distill_features import analysis, controls, pairs
    from distill_features import language as lang
    from distill_features import latent_interventions as li
    from distill_features.language import MARKERS
    from distill_features.latents_setup import zoo_size
    from distill_features.zoo import replicate_sizes
    from repro.progress import status

    torch.set_num_threads(1)
    ev = controls.prepare(st, cfg.untrained_crosscoder)
    name = zoo_size(st.size_order, cfg.size)
    zoo_sizes = replicate_sizes(st.zoo)[st.sizes[name].replicate]
    s = st.sizes[name]
    model, tok = s.pair.distilled, st.tokenizer
    problems = [lang.parse_problem(t) for t in st.zoo["eval_problems"][: cfg.n_problems]]
    T = st.eval_markers.shape[1]
    at_marker = st.row_markers(name)
    nxt = np.minimum(s.eval_positions + 1, T - 1)
    before = np.where(s.eval_positions + 1 < T, st.eval_markers[s.eval_sequences, nxt], 0)
    labels = {"marker": at_marker, "before": before}
    x_dist = s.eval_acts[:, 1]
    resid_norm = float(np.linalg.norm(x_dist, axis=-1).mean())
    gen = {"max_new_tokens": cfg.max_new_tokens, "max_rows": cfg.max_rows}
    plain = pairs.evaluate(model, tok, problems, True, cfg.max_new_tokens)  # no hook at all
    out: dict[str, Any] = {
        "size": name,
        "problems": [p.text for p in problems],
        "resid_norm": resid_norm,
        "crosscoder_ev": ev,
        "fig1_markers": {c: np.asarray(zoo_sizes[name]["sampled_markers"][c]) for c in CATEGORIES},
        "variants": {},
    }
    for v in cfg.variants:
        cc = s.crosscoders[v]
        f = li.variant_latents(cc, s.eval_acts, v).numpy()
        r = li.variant_relative_norm(cc, v)
        fires = (f > 0).sum(0)
        chosen: dict[str, dict[str, Any]] = {}
        for sel in cfg.selections if v == "fixed" else ("marker",):
            en = analysis.token_class_enrichment(f, labels[sel], MARKERS)
            for cat in CATEGORIES:
                ci = MARKERS.index(cat)
                pick = li.select_latent(
                    en["count"][ci], fires, int(en["n_class"][ci]), r, cfg.min_rate, cfg.min_r
                )
                j = pick["latent"]
                pick["max_act"] = li.typical_max_activation(f[:, j], cfg.top_act) if j >= 0 else 0.0
                d_raw = li.decoder_vector(cc, j, 1, "raw") if j >= 0 else np.zeros(s.d_model, np.float32)
                d_norm = (
                    li.decoder_vector(cc, j, 1, "normalised") if j >= 0 else np.zeros(s.d_model, np.float32)
                )
                pick["d_raw"], pick["d_normalised"] = d_raw, d_norm
                pick["unit_norm"] = float(pick["max_act"] * np.linalg.norm(d_raw))  # ||alpha=1 vector||
                chosen[f"{cat}/{sel}"] = pick
                status(f"fig5 {v} {cat}/{sel}: latent {j} ({pick['rule']}), precision {pick['precision']:.2f}, "
                       f"rate {pick['rate']:.2f}, r {pick['r']:.2f}, |alpha=1 vector| / |x| "
                       f"{pick['unit_norm'] / resid_norm:.3f}")  # fmt: skip
        res: dict[str, Any] = {"latents": chosen}
        if v == "fixed":
            # conditions (latent key, kind, alpha, raw-units vector); the first is the unsteered model
            conds = [("unsteered", "unsteered", 0.0, np.zeros(s.d_model, np.float32))]
            for key, pick in chosen.items():
                conds += [(key, "latent", a, a * pick["max_act"] * pick["d_raw"]) for a in cfg.alphas]
            n_latent = len(conds)
            R = li.random_directions(s.d_model, cfg.n_random, cfg.seed)
            for key, pick in chosen.items():
                for k in range(cfg.n_random):
                    conds += [(key, f"random{k}", a, a * pick["unit_norm"] * R[k]) for a in cfg.random_alphas]
            if cfg.diffmean:
                for cat in CATEGORIES:
                    u = li.diffmean_direction(x_dist, at_marker == MARKERS.index(cat))
                    u = u / max(float(np.linalg.norm(u)), 1e-12)
                    unit = chosen[f"{cat}/marker"]["unit_norm"]
                    conds += [(f"{cat}/marker", "diffmean", a, a * unit * u) for a in cfg.alphas if a != 0]
            keys, kinds = [c[0] for c in conds], [c[1] for c in conds]
            alphas, vecs = [float(c[2]) for c in conds], [np.asarray(c[3], np.float32) for c in conds]
            V = np.stack(vecs)
            status(f"fig5 fixed: {len(V)} greedy conditions x {len(problems)} problems")
            g = li.steered_generations(model, tok, problems, s.layer, V, **gen)
            shown = [i for i in range(n_latent) if kinds[i] == "latent" and alphas[i] in (-2.0, 0.0, 2.0)]
            zero = [i for i in range(n_latent) if alphas[i] == 0.0]
            same = [
                np.mean([a == b for a, b in zip(g["texts"][i], plain["texts"], strict=True)]) for i in zero
            ]
            res.update(
                cond_key=keys,
                cond_kind=kinds,
                cond_alpha=np.array(alphas),
                greedy=_runs(g),
                alpha0_identical=float(np.mean(same)),
                examples_keys=[keys[i] for i in shown],
                examples_alpha=[alphas[i] for i in shown],
                examples=[g["texts"][i][: cfg.n_examples] for i in shown],
                unsteered_examples=plain["texts"][: cfg.n_examples],
            )
            sampled = []
            for sd in cfg.seeds:
                status(f"fig5 fixed: sampled, seed {sd}")
                gs = li.steered_generations(
                    model, tok, problems, s.layer, V[:n_latent], temperature=cfg.temperature, seed=sd, **gen
                )
                sampled.append(_runs(gs))
            res["sampled"] = {k: np.stack([r_[k] for r_ in sampled]) for k in sampled[0]}
        else:
            # the official run: decoder rows in training units at coefficient 1, every position, T=1, one seed;
            # the noise reference is the unsteered model under other seeds
            keys = ["unsteered"] + list(chosen)
            V = np.stack([np.zeros(s.d_model, np.float32)] + [p["d_normalised"] for p in chosen.values()])
            runs, texts = [], []
            for k in range(cfg.official_noise_seeds):
                gk = li.steered_generations(
                    model, tok, problems, s.layer, V if k == 0 else V[:1], positions="all",
                    temperature=1.0, seed=cfg.seed + k, **gen,
                )  # fmt: skip
                runs.append(_runs(gk))
                if k == 0:
                    texts = [t[: cfg.n_examples] for t in gk["texts"]]
            res.update(
                cond_key=keys,
                steered=runs[0],
                noise={k: np.stack([r_[k][0] for r_ in runs]) for k in runs[0]},
                examples_keys=keys,
                examples=texts,
                added_norm_ratio={
                    k: float(np.linalg.norm(p["d_normalised"]) / resid_norm) for k, p in chosen.items()
                },
            )
        out["variants"][v] = res
    return out


def ci(values: Any, cfg: Any) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap interval (``cfg.n_boot`` resamples, ``cfg.seed``)."""
    from distill_features.analysis import bootstrap_ci

    return bootstrap_ci(values, n=cfg.n_boot, seed=cfg.seed)


def fixed_curves(res: dict[str, Any], cfg: Any, metric: str) -> dict[str, Any]:
    """Per latent key: alphas, greedy mean + CI of ``metric`` for the latent; random directions' means; DiffMean."""
    import numpy as np

    keys, kinds, alphas = res["cond_key"], res["cond_kind"], np.asarray(res["cond_alpha"])
    vals = np.asarray(res["greedy"][metric], dtype=np.float64)
    base = vals[0]
    out = {}
    for key in res["latents"]:
        lat = [i for i, (k, kd) in enumerate(zip(keys, kinds, strict=True)) if k == key and kd == "latent"]
        rnd = {}
        for i, (k, kd) in enumerate(zip(keys, kinds, strict=True)):
            if k == key and kd.startswith("random"):
                rnd.setdefault(float(alphas[i]), []).append(vals[i].mean())
        dm = [i for i, (k, kd) in enumerate(zip(keys, kinds, strict=True)) if k == key and kd == "diffmean"]
        out[key] = {
            "alpha": alphas[lat],
            "ci": np.array([ci(vals[i], cfg) for i in lat]),
            "random_alpha": np.array(sorted(rnd)),
            "random": [np.array(rnd[a]) for a in sorted(rnd)],
            "diffmean_alpha": alphas[dm],
            "diffmean": np.array([vals[i].mean() for i in dm]),
            "unsteered": float(base.mean()),
        }
        if "sampled" in res:
            sv = np.asarray(res["sampled"][metric], dtype=np.float64)  # [S, C_latent, P]
            out[key]["sampled"] = np.array([sv[:, i].mean() for i in lat])
    return out


def value_at(curve: dict[str, Any], a: float) -> float:
    """The curve's mean at alpha ``a`` (NaN if absent)."""
    import numpy as np

    i = np.flatnonzero(np.isclose(curve["alpha"], a))
    return float(curve["ci"][i[0], 0]) if len(i) else float("nan")


def length_changes(fixed: dict[str, Any], key: str) -> tuple[Any, Any]:
    """For the latent ``key`` of the fixed variant: the paired change in greedy trace length at alpha = +2 over the
    unsteered model [P], and [P, 1 + R] with the change under each matched-norm random direction at +2 beside it."""
    import numpy as np

    lengths = np.asarray(fixed["greedy"]["length"], dtype=np.float64)
    keys, kinds, alphas = fixed["cond_key"], fixed["cond_kind"], np.asarray(fixed["cond_alpha"])
    i2 = [i for i in range(len(keys)) if keys[i] == key and kinds[i] == "latent" and alphas[i] == 2.0][0]
    delta = lengths[i2] - lengths[0]
    rnd = [
        i for i in range(len(keys)) if keys[i] == key and kinds[i].startswith("random") and alphas[i] == 2.0
    ]
    return delta, np.stack([delta] + [lengths[i] - lengths[0] for i in rnd], 1)


def random_margin(category: str) -> Any:
    """A statistic of :func:`length_changes`' [P, 1 + R] columns: how far the latent's mean change lies beyond every
    random direction's, in the direction claimed for ``category`` (self-reflection lengthens, deductive shortens)."""
    up = category == "self_reflection"

    def margin(x: Any) -> float:
        m = x.mean(0)
        return float(m[0] - m[1:].max()) if up else float(m[1:].min() - m[0])

    return margin


def official_effects(official: dict[str, Any], cfg: Any, metric: str) -> list[tuple[float, float, float]]:
    """The official run's steered - unsteered change of ``metric`` (mean, lo, hi) per latent, then the noise
    reference: the unsteered model's seed 1 - seed 0."""
    import numpy as np

    steered = np.asarray(official["steered"][metric], dtype=np.float64)
    noise = np.asarray(official["noise"][metric], dtype=np.float64)
    effects = [ci(steered[i + 1] - steered[0], cfg) for i in range(len(official["cond_key"]) - 1)]
    return effects + [ci(noise[1] - noise[0], cfg)]


def latent_lines(result: dict[str, Any]) -> list[str]:
    """The selected latents of each variant as text lines (empty without the fixed variant)."""
    if "fixed" not in result["variants"]:
        return []
    norm = result["resid_norm"]
    lines = [f"Selected latents (size {result['size']}, |x| = mean residual norm {norm:.1f}):"]
    for v in [v for v in ("fixed", "official") if v in result["variants"]]:
        lines += [f"  {v:8s} {k:22s} #{p['latent']:<5d} precision {p['precision']:.2f}  rate {p['rate']:.2f}  r "
                  f"{p['r']:.2f}  max act {p['max_act']:.2f}  |alpha=1| / |x| {p['unit_norm'] / norm:.3f}  [{p['rule']}]"
                  for k, p in result["variants"][v]["latents"].items()]  # fmt: skip
    return lines


def example_lines(fixed: dict[str, Any]) -> list[str]:
    """The unsteered greedy trace of the first problem and each latent's at alpha = +2, as text lines."""
    ex = {f"{k}@{a:+g}": t for k, a, t in zip(fixed["examples_keys"], fixed["examples_alpha"], fixed["examples"], strict=True)}  # fmt: skip
    lines = [f"unsteered (greedy):  {fixed['unsteered_examples'][0]}"]
    return lines + [f"{key} alpha=+2 ({'over-thinking?' if key.startswith('self') else 'incisive?'}):  "
                    f"{ex[f'{key}@+2'][0]}" for key in fixed["latents"] if f"{key}@+2" in ex]  # fmt: skip
