"""Fig. 5 (numbering: best guess; spec F-d, the paper's steering text boxes from ``notebooks/steering.ipynb``):
steering the distilled model with a self-reflection latent ("over-thinking") and a deductive latent ("incisive
thinking").

Paper (1.5B, one prompt per latent, one T=1 sample): adding latent 4975 (self-correction, r = 0.83) to the distilled
model gives a second-guessing loop of 5,559 characters against 1,637 unsteered; latent 23569 (deductive) gives a
direct solution of 2,120 characters against 4,161. The official ``hook_fn`` adds ``W_dec[feat, model]`` at
coefficient 1 at every position during T=1 sampling, with that decoder row in the crosscoder's *training* units added
to the raw residual stream (defect 3), one seed, no sweep, no control.

Here, on the largest model of the zoo with its crosscoders (stages ``distill_features.zoo`` and
``distill_features.crosscoders``; computed by ``steering.steering_experiment``), for each variant:
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

from distill_features.stages import CROSSCODERS_CONFIGS, LATENT_NEEDS, ReadsLatents
from repro.figure import Figure

VARIANTS = ("official", "fixed")
CATEGORIES = ("self_reflection", "deductive")
SELECTIONS = ("marker", "before")
PAPER_RATIO = {"self_reflection": 5559 / 1637, "deductive": 2120 / 4161}
PAPER_TEXT = {"self_reflection": "5,559 vs 1,637 chars (x3.40)", "deductive": "2,120 vs 4,161 chars (x0.51)"}


@dataclass(frozen=True)
class Fig5Config(ReadsLatents):
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


def compute(cfg: Fig5Config, zoo: dict[str, Any], crosscoders: dict[str, Any]) -> dict[str, Any]:
    from distill_features import latents_setup
    from distill_features.steering import steering_experiment

    return steering_experiment(latents_setup.from_results(zoo, crosscoders), cfg)


# ----------------------------------------------------------------------------------------------- plot
def plot(result: dict[str, Any], cfg: Fig5Config) -> Any:
    import textwrap

    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Patch

    from distill_features.steering import ci, fixed_curves
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
            curves = fixed_curves(fixed, cfg, metric)
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
            effects = [ci(st_[i + 1] - st_[0], cfg) for i in range(len(keys))]
            noise_ci = ci(noise[m][1] - noise[m][0], cfg)
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

    from distill_features.steering import fixed_curves, value_at
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
        curves = fixed_curves(fixed, cfg, "length")
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
                             note=f"latent #{lat}; {value_at(c, 2.0):.1f} vs {c['unsteered']:.1f} tokens"))  # fmt: skip
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
            crosscoders=CROSSCODERS_CONFIGS["smoke"],
            n_problems=6,
            alphas=(-2.0, 0.0, 2.0),
            seeds=(0,),
            n_random=1,
            random_alphas=(2.0,),
            max_new_tokens=24,
            n_boot=100,
        ),  # fmt: skip
        "quick": Fig5Config(crosscoders=CROSSCODERS_CONFIGS["quick"]),
        "paper": Fig5Config(
            crosscoders=CROSSCODERS_CONFIGS["paper"],
            n_problems=500,
            seeds=(0, 1, 2, 3),
            n_random=4,
            official_noise_seeds=4,
            max_new_tokens=128,
            max_rows=20_000,
        ),  # fmt: skip
    },
    compute=compute,
    needs=LATENT_NEEDS,
    plot=plot,
    claims=claims,
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 120, "paper": 1200},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("steering",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
