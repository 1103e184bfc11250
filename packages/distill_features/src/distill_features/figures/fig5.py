"""Fig. 5 (numbering: best guess; spec F-d, the paper's steering text boxes from ``notebooks/steering.ipynb``):
steering the distilled model with a self-reflection latent ("over-thinking") and a deductive latent ("incisive
thinking").

Paper (1.5B, one prompt per latent, one T=1 sample): adding latent 4975 (self-correction, r = 0.83) to the distilled
model gives a second-guessing loop of 5,559 characters against 1,637 unsteered; latent 23569 (deductive) gives a
direct solution of 2,120 characters against 4,161. The official ``hook_fn`` adds ``W_dec[feat, model]`` at
coefficient 1 at every position during T=1 sampling, with that decoder row in the crosscoder's *training* units added
to the raw residual stream (defect 3), one seed, no sweep, no control.

Here, on the largest model of the stage (``stage.load(stage_scale)``: the fig1 zoo and fig2's crosscoders), for each
variant:
- ``fixed`` (spec 7.7): BatchTopK crosscoder read with its normalisation. The steering vector is
  alpha * m_i * d_i with d_i the latent's decoder vector in RAW units (``decode(one-hot) - decode(0)``) and m_i its
  typical max activation (mean of its ``top_act`` largest activations on the stage's evaluation rows), added at the
  generated positions only, alpha swept over ``alphas``, greedy decoding and T=``temperature`` sampling over
  ``seeds``, on ``n_problems`` of fig1's held-out problems. Controls: ``n_random`` isotropic random directions
  with the latent's vector norm at each alpha in ``random_alphas`` (greedy), and DiffMean (mean distilled
  activation at the category's marker tokens minus elsewhere, matched norm, greedy).
- ``official``: the L1 crosscoder read as the official code did (raw activations into the encoder, r from L1 norms);
  the decoder row in training units at coefficient 1, at every position, T=1 sampling, one seed (``seed``). Noise
  reference: the unsteered model sampled with ``official_noise_seeds`` seeds.
Metrics per condition: generated trace length (tokens), "Wait" and "Therefore"/"Thus" counts, answer accuracy; means
over problems with percentile-bootstrap CIs.

Latent selection rule (``latent_interventions.select_latent``): among latents with r > ``min_r`` (distilled-leaning)
that fire on at least ``min_rate`` of the category's tokens, the one with the highest precision (share of its
firings that fall on the category), relaxed (noted in the result) when nobody qualifies. Where a latent's firings
are counted (``selections``): ``marker`` = at the marker token itself (the paper's ``run_wait_analysis`` counting,
used by both variants) and, in the fixed variant, ``before`` = at the position whose next token is the marker (the
residual that predicts it). The second is our addition: at the middle layer of these 2-layer models a latent that
fires on the marker token largely encodes the token itself, so steering with it writes "this token is Wait" at every
position rather than "a Wait comes next".

Claims: the paper's two directional length claims (trace length at alpha = +2 over unsteered, > 1 for the
self-reflection latent, < 1 for the deductive one; official: steered over unsteered T=1 run, bootstrap CI over
problems against seed noise), and steering beats matched-norm random directions in the claimed direction
(``claims`` says how each is tested). alpha = 0 reproducing the unsteered model is a test, not a claim.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from repro.figure import Figure

VARIANTS = ("official", "fixed")
CATEGORIES = ("self_reflection", "deductive")
SELECTIONS = ("marker", "before")
PAPER_RATIO = {"self_reflection": 5559 / 1637, "deductive": 2120 / 4161}
PAPER_TEXT = {"self_reflection": "5,559 vs 1,637 chars (x3.40)", "deductive": "2,120 vs 4,161 chars (x0.51)"}


@dataclass(frozen=True)
class Fig5Config:
    stage_scale: str = "quick"
    n_problems: int = 80
    alphas: tuple[float, ...] = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0)
    seeds: tuple[int, ...] = (0, 1)
    temperature: float = 1.0
    n_random: int = 2
    random_alphas: tuple[float, ...] = (-2.0, -1.0, 1.0, 2.0)
    diffmean: bool = True
    selections: tuple[str, ...] = SELECTIONS
    official_noise_seeds: int = 2
    max_new_tokens: int = 96
    min_rate: float = 0.1
    min_r: float = 0.5
    top_act: int = 10
    max_rows: int = 3000
    n_examples: int = 3
    n_boot: int = 500
    seed: int = 0
    variants: tuple[str, ...] = VARIANTS
    untrained_crosscoder: bool = False  # the control: the stage's crosscoders replaced by untrained ones

    def __post_init__(self) -> None:
        if self.stage_scale not in ("smoke", "quick", "paper"):
            raise ValueError(f"stage_scale must be smoke, quick or paper, got {self.stage_scale!r}")
        if not set(self.variants) <= set(VARIANTS) or not self.variants:
            raise ValueError(f"variants must be a non-empty subset of {VARIANTS}")
        if not set(self.selections) <= set(SELECTIONS) or "marker" not in self.selections:
            raise ValueError(f"selections must be a subset of {SELECTIONS} containing 'marker' (the paper's)")
        if 0.0 not in self.alphas or 2.0 not in self.alphas:
            raise ValueError("alphas must contain 0 (the unsteered check) and 2 (the claims)")
        if 2.0 not in self.random_alphas or 0.0 in self.random_alphas:
            raise ValueError("random_alphas must contain 2 (the claims) and not 0")
        if self.n_problems < 2 or self.n_random < 1 or self.official_noise_seeds < 2 or not self.seeds:
            raise ValueError("need n_problems >= 2, n_random >= 1, official_noise_seeds >= 2 and some seeds")
        if self.temperature <= 0 or self.max_new_tokens < 8 or self.top_act < 1 or self.max_rows < 1:
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


def compute(cfg: Fig5Config) -> dict[str, Any]:
    import numpy as np
    import torch

    from distill_features import analysis, controls, pairs, stage
    from distill_features import language as lang
    from distill_features import latent_interventions as li
    from distill_features.language import MARKERS
    from repro.progress import status

    torch.set_num_threads(1)
    st = stage.load(cfg.stage_scale)
    ev = controls.prepare(st, cfg.untrained_crosscoder)
    name = st.size_order[-1]
    s = st.sizes[name]
    model, tok = s.pair.distilled, st.tokenizer
    problems = [lang.parse_problem(t) for t in st.fig1["eval_problems"][: cfg.n_problems]]
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
        "fig1_markers": {c: np.asarray(st.fig1["sizes"][name]["sampled_markers"][c]) for c in CATEGORIES},
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


# ----------------------------------------------------------------------------------------------- summaries
def _ci(values: Any, cfg: Fig5Config) -> tuple[float, float, float]:
    from distill_features.analysis import bootstrap_ci

    return bootstrap_ci(values, n=cfg.n_boot, seed=cfg.seed)


def _fixed_curves(res: dict[str, Any], cfg: Fig5Config, metric: str) -> dict[str, Any]:
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
            "ci": np.array([_ci(vals[i], cfg) for i in lat]),
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


def _at(curve: dict[str, Any], a: float) -> float:
    import numpy as np

    i = np.flatnonzero(np.isclose(curve["alpha"], a))
    return float(curve["ci"][i[0], 0]) if len(i) else float("nan")


# ----------------------------------------------------------------------------------------------- plot
def plot(result: dict[str, Any], cfg: Fig5Config) -> Any:
    import textwrap

    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Patch

    from repro.plot import set_style

    set_style()
    fig = plt.figure(figsize=(16, 9.5), constrained_layout=True)
    grid = fig.add_gridspec(3, 4, height_ratios=[1.0, 0.9, 0.45])
    colours = {"self_reflection/marker": "#c44e52", "self_reflection/before": "#dd8452",
               "deductive/marker": "#4c72b0", "deductive/before": "#55a868"}  # fmt: skip
    metrics = (("length", "trace length (generated tokens)"), ("wait", '"Wait" per trace'),
               ("deductive", '"Therefore"/"Thus" per trace'), ("correct", "answer accuracy"))  # fmt: skip
    fixed = result["variants"].get("fixed")
    if fixed is not None:
        for j, (metric, label) in enumerate(metrics):
            ax = fig.add_subplot(grid[0, j])
            curves = _fixed_curves(fixed, cfg, metric)
            for key, c in curves.items():
                col = colours.get(key, "k")
                lat = fixed["latents"][key]
                ax.plot(c["alpha"], c["ci"][:, 0], "-o", color=col, ms=3,
                        label=f"{key} (#{lat['latent']}, r={lat['r']:.2f})")  # fmt: skip
                ax.fill_between(c["alpha"], c["ci"][:, 1], c["ci"][:, 2], color=col, alpha=0.15)
                if "sampled" in c:
                    ax.plot(c["alpha"], c["sampled"], ":", color=col, lw=1)
                for a, rv in zip(c["random_alpha"], c["random"], strict=True):
                    ax.plot([a] * len(rv), rv, "x", color=col, ms=6, mew=1.5, alpha=0.9)
                if len(c["diffmean"]):
                    ax.plot(c["diffmean_alpha"], c["diffmean"], "--", color=col, lw=0.8, alpha=0.7)
            ax.axhline(curves[next(iter(curves))]["unsteered"], color="grey", lw=0.8, ls="-.")
            ax.set(xlabel="alpha (x typical max activation, raw units, generated positions)", ylabel=label)
            ax.set_title(f"({'abcd'[j]}) fixed: {label} vs strength", fontsize=8)
            if j == 0:
                ax.plot(
                    [], [], "k:", lw=1, label=f"sampled T={cfg.temperature:g}, mean of {len(cfg.seeds)} seeds"
                )
                ax.plot([], [], "kx", label="random directions, matched norm")
                ax.plot([], [], "k--", lw=0.8, label="DiffMean, matched norm (marker latent's)")
                ax.legend(fontsize=5.5, loc="upper left")
    official = result["variants"].get("official")
    if official is not None:
        ax = fig.add_subplot(grid[1, 0:2])
        keys = official["cond_key"][1:]
        noise = {
            m: np.asarray(official["noise"][m], dtype=np.float64) for m in ("length", "wait", "deductive")
        }
        width = 0.35
        for j, m in enumerate(("length", "wait", "deductive")):
            st_ = np.asarray(official["steered"][m], dtype=np.float64)
            effects = [_ci(st_[i + 1] - st_[0], cfg) for i in range(len(keys))]
            noise_ci = _ci(noise[m][1] - noise[m][0], cfg)
            xs = j * 3 + np.arange(len(keys) + 1) * width * 1.2
            vals = [e[0] for e in effects] + [noise_ci[0]]
            lo = [e[0] - e[1] for e in effects] + [noise_ci[0] - noise_ci[1]]
            hi = [e[2] - e[0] for e in effects] + [noise_ci[2] - noise_ci[0]]
            cols = [colours.get(k, "k") for k in keys] + ["grey"]
            ax.bar(xs, vals, width, yerr=[lo, hi], color=cols, capsize=3)
        ax.set_xticks(
            [j * 3 + width * 1.2 for j in range(3)], ["trace length", '"Wait"', '"Therefore"/"Thus"']
        )
        handles = [
            Patch(
                color=colours.get(k, "k"),
                label=f"{k} #{official['latents'][k]['latent']}: steered - "
                f"unsteered (|added| / |x| = {official['added_norm_ratio'][k]:.3f})",
            )
            for k in keys
        ]
        handles.append(Patch(color="grey", label="noise: unsteered seed 1 - seed 0"))
        ax.legend(handles=handles, fontsize=6)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_ylabel("change per trace (mean over problems, 95% CI)")
        ax.set_title("(e) official protocol: decoder row in training units, coefficient 1, every position, "
                     "T=1, one seed", fontsize=8)  # fmt: skip
    ax = fig.add_subplot(grid[1, 2:4])
    ax.axis("off")
    lines = []
    if fixed is not None:
        lat = fixed["latents"]
        lines.append(
            f"Selected latents (size {result['size']}, |x| = mean residual norm {result['resid_norm']:.1f}):"
        )
        for v in ("fixed", "official"):
            if v in result["variants"]:
                for k, p in result["variants"][v]["latents"].items():
                    lines.append(f"  {v:8s} {k:22s} #{p['latent']:<5d} precision {p['precision']:.2f}  rate "
                                 f"{p['rate']:.2f}  r {p['r']:.2f}  max act {p['max_act']:.2f}  "
                                 f"|alpha=1| / |x| {p['unit_norm'] / result['resid_norm']:.3f}  [{p['rule']}]")  # fmt: skip
        del lat
    lines += ["", "Where the conclusions change:",
              "  official: a decoder row in training units is a ~1% nudge of the raw residual (scale < 1), so its",
              "  single T=1 sample cannot be told from sampling noise (panel e).",
              "  fixed: calibrated strengths, greedy + sampled, CIs over problems, random and DiffMean controls;",
              "  'marker' latents (firing on the marker token) vs 'before' latents (firing where it is predicted)."]  # fmt: skip
    ax.text(0, 1, "\n".join(lines), family="monospace", fontsize=6.2, va="top", ha="left")
    ax = fig.add_subplot(grid[2, :])
    ax.axis("off")
    lines = []
    if fixed is not None:
        ex = dict(zip([f"{k}@{a:+g}" for k, a in zip(fixed["examples_keys"], fixed["examples_alpha"], strict=True)],
                      fixed["examples"], strict=True))  # fmt: skip
        lines.append(f"unsteered (greedy):  {fixed['unsteered_examples'][0]}")
        for key in fixed["latents"]:
            if f"{key}@+2" in ex:
                label = "over-thinking?" if key.startswith("self") else "incisive?"
                lines.append(f"{key} alpha=+2 ({label}):  {ex[f'{key}@+2'][0]}")
    wrapped = []
    for ln in lines:
        ln = ln if len(ln) < 420 else ln[:417] + "..."
        wrapped += textwrap.wrap(ln, 200, subsequent_indent="      ")
    ax.text(0, 1, "(f) fixed, first held-out problem:\n" + "\n".join(wrapped), family="monospace", fontsize=6,
            va="top", ha="left")  # fmt: skip
    fig.suptitle("Fig. 5 (numbering: best guess): steering the distilled model with reasoning latents "
                 f"({result['size']}, {len(result['problems'])} held-out problems)", fontsize=10)  # fmt: skip
    return fig


# ----------------------------------------------------------------------------------------------- claims
def claims(result: dict[str, Any], cfg: Fig5Config) -> list:
    """The paper's steering boxes (official notebook outputs, one prompt, one T=1 sample each): the
    self-reflection latent lengthens the distilled model's trace ("over-thinking", 5,559 vs 1,637 chars) and the
    deductive latent shortens it ("incisive thinking", 2,120 vs 4,161). Tested as the sign of the paired change in
    trace length at alpha = +2 over the unsteered model, with a bootstrap interval over held-out problems, and
    against matched-norm random directions (the control the paper lacks; interval: paired bootstrap over problems
    of the latent's change minus the most extreme random direction's). Official: steered minus unsteered T=1 run,
    bootstrap over problems. Preconditions: the crosscoder reconstructs, a latent was selected (one fires on the
    category), and the distilled model's own sampled traces (fig1) contain the category's markers. alpha = 0
    reproducing the unsteered model holds by construction: a test (``test_steering_at_alpha_zero_...``)."""
    import numpy as np

    from distill_features.verdicts import crosscoder_precondition, markers_precondition, paired_interval
    from repro.claims import Claim, official_code, our_choice, precondition

    src = official_code(None, "notebooks/steering.ipynb, *_{original,steered}_{4975,23569}.txt @ 0f9e477")
    size = result["size"]
    markers = result.get("fig1_markers", {})

    def pre(v: str, cat: str, lat: int) -> tuple:
        m = float(np.mean(markers[cat])) if cat in markers else float("nan")
        return (crosscoder_precondition(result.get("crosscoder_ev"), f"{size}/{v}"),
                markers_precondition(m, f"{size} distilled model's sampled traces (fig1, {cat}: per trace)"),
                precondition(f"a latent fires on the {cat} tokens (selected latent id)", lat, ">=", 0))  # fmt: skip

    out = []
    fixed = result["variants"].get("fixed")
    if fixed is not None:
        curves = _fixed_curves(fixed, cfg, "length")
        lengths = np.asarray(fixed["greedy"]["length"], dtype=np.float64)
        keys, kinds, alphas = fixed["cond_key"], fixed["cond_kind"], np.asarray(fixed["cond_alpha"])
        for key, c in curves.items():
            cat, sel = key.split("/")
            lat = int(fixed["latents"][key]["latent"])
            rel, word = (">", "lengthens") if cat == "self_reflection" else ("<", "shortens")
            paper = official_code(PAPER_TEXT[cat], src.where)
            i2 = [
                i for i in range(len(keys)) if keys[i] == key and kinds[i] == "latent" and alphas[i] == 2.0
            ][0]
            delta = lengths[i2] - lengths[0]
            out.append(Claim(f"{cat} latent ({sel} selection) at alpha=+2 {word} greedy traces: paired change in "
                             "trace length (tokens)", (float(delta.mean()),), rel, 0.0, paper=paper, variant="fixed",
                             preconditions=pre("fixed", cat, lat), interval=paired_interval(delta, np.mean),
                             spread=f"paired bootstrap over {len(delta)} problems",
                             note=f"latent #{lat}; {_at(c, 2.0):.1f} vs {c['unsteered']:.1f} tokens"))  # fmt: skip
            rnd = [
                i
                for i in range(len(keys))
                if keys[i] == key and kinds[i].startswith("random") and alphas[i] == 2.0
            ]
            cols = np.stack([delta] + [lengths[i] - lengths[0] for i in rnd], 1)  # [problems, 1 + random]

            def beyond(x: Any, up: bool = cat == "self_reflection") -> float:
                m = x.mean(0)
                return float(m[0] - m[1:].max()) if up else float(m[1:].min() - m[0])

            out.append(Claim(f"{cat} latent ({sel}) at alpha=+2 {word} traces more than every matched-norm random "
                             f"direction: margin in tokens ({len(rnd)} directions)", (beyond(cols),), ">", 0.0,
                             variant="fixed", preconditions=pre("fixed", cat, lat),
                             interval=paired_interval(cols, beyond), spread=f"paired bootstrap over {len(cols)} problems",
                             paper=our_choice(0, "the control the paper lacks (spec 7.7)")))  # fmt: skip
    official = result["variants"].get("official")
    if official is not None:
        st_ = np.asarray(official["steered"]["length"], dtype=np.float64)
        for i, key in enumerate(official["cond_key"][1:], 1):
            cat = key.split("/")[0]
            lat = int(official["latents"][key]["latent"])
            rel, word = (">", "lengthens") if cat == "self_reflection" else ("<", "shortens")
            delta = st_[i] - st_[0]
            out.append(Claim(f"official: {cat} latent (coefficient 1, every position) {word} T=1 traces: change in "
                             "trace length (tokens)", (float(delta.mean()),), rel, 0.0, variant="official",
                             paper=official_code(PAPER_TEXT[cat], src.where), preconditions=pre("official", cat, lat),
                             interval=paired_interval(delta, np.mean), spread=f"bootstrap over {len(delta)} problems",
                             note=f"latent #{lat}; one T=1 run per condition, as in the paper"))  # fmt: skip
    return out


FIGURE = Figure(
    paper="distill_features",
    id="fig5",
    title="Steering the distilled model with self-reflection and deductive latents (numbering: best guess)",
    configs={
        "smoke": Fig5Config(
            stage_scale="smoke",
            n_problems=6,
            alphas=(-2.0, 0.0, 2.0),
            seeds=(0,),
            n_random=1,
            random_alphas=(2.0,),
            max_new_tokens=24,
            n_boot=100,
        ),  # fmt: skip
        "quick": Fig5Config(),
        "paper": Fig5Config(
            stage_scale="paper",
            n_problems=500,
            seeds=(0, 1, 2, 3),
            n_random=4,
            official_noise_seeds=4,
            max_new_tokens=128,
            max_rows=20_000,
        ),  # fmt: skip
    },
    compute=compute,
    plot=plot,
    claims=claims,
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 120, "paper": 1200},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("steering",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
