"""Fig. 5 (numbering: best guess; spec F-d, the steering boxes of ``notebooks/steering.ipynb``): steering the
distilled model with a self-reflection latent ("over-thinking") and a deductive latent ("incisive thinking").
Paper (1.5B, one prompt, one T=1 sample each): latent 4975 (self-correction, r = 0.83) gives a 5,559-character loop
against 1,637 unsteered, latent 23569 (deductive) 2,120 against 4,161; the official ``hook_fn`` adds the decoder row
in *training* units to the raw residual (defect 3) at coefficient 1, every position, one seed, no control.
Here, on the zoo size of the paper's pair (``size``, 1.5B: the smallest; ``steering.steering_experiment`` gives
the latent selection): ``fixed`` (spec 7.7) adds alpha x (typical max activation) x (decoder vector in RAW units)
at generated positions only, over ``alphas``, greedy and sampled, against ``n_random`` matched-norm random directions and DiffMean;
``official`` repeats the paper's protocol, the unsteered model under ``official_noise_seeds`` seeds as its noise.
Latents are selected by their firings at the marker token (``marker``, the paper's counting) and, fixed only, where
it is predicted (``before``, ours: a middle-layer latent firing on the marker token largely encodes the token).
alpha = 0 reproducing the unsteered model is a test, not a claim.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from distill_features.replicates import claims_over_replicates
from distill_features.stages import CROSSCODERS_CONFIGS, LATENT_NEEDS, ReadsLatents
from distill_features.steering import SELECTIONS, VARIANTS
from repro.figure import Figure

PAPER_TEXT = {"self_reflection": "5,559 vs 1,637 chars (x3.40)", "deductive": "2,120 vs 4,161 chars (x0.51)"}
COLOURS = {"self_reflection/marker": "#c44e52", "self_reflection/before": "#dd8452",
           "deductive/marker": "#4c72b0", "deductive/before": "#55a868"}  # fmt: skip


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
    size: str = "1.5B"  # paper size (mapped by rank onto the zoo) or a zoo size; the steering notebook's pair
    seed: int = 0
    variants: tuple[str, ...] = VARIANTS
    untrained_crosscoder: bool = False  # the control: the stage's crosscoders replaced by untrained ones

    def __post_init__(self) -> None:
        from distill_features.steering import check_config

        check_config(self)


def compute(cfg: Fig5Config, zoo: dict[str, Any], crosscoders: dict[str, Any]) -> dict[str, Any]:
    from distill_features.replicates import per_replicate
    from distill_features.steering import steering_experiment

    return per_replicate(zoo, crosscoders, steering_experiment, cfg)


def plot(result: dict[str, Any], cfg: Fig5Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Patch

    from distill_features.figures._common import ci_curve, text_panel
    from distill_features.steering import example_lines, fixed_curves, latent_lines, official_effects
    from repro.plot import set_style

    set_style()
    fig = plt.figure(figsize=(16, 9.5), constrained_layout=True)
    grid = fig.add_gridspec(3, 4, height_ratios=[1.0, 0.9, 0.45])
    metrics = (("length", "trace length (generated tokens)"), ("wait", '"Wait" per trace'),
               ("deductive", '"Therefore"/"Thus" per trace'), ("correct", "answer accuracy"))  # fmt: skip
    fixed, official = result["variants"].get("fixed"), result["variants"].get("official")
    for j, (metric, label) in enumerate(metrics if fixed is not None else ()):
        ax = fig.add_subplot(grid[0, j])
        curves = fixed_curves(fixed, cfg, metric)
        for key, c in curves.items():
            col, lat = COLOURS.get(key, "k"), fixed["latents"][key]
            ci_curve(ax, c["alpha"], c["ci"], col, f"{key} (#{lat['latent']}, r={lat['r']:.2f})")
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
            ax.plot([], [], "k:", lw=1, label=f"sampled T={cfg.temperature:g}, mean of {len(cfg.seeds)} seeds")  # fmt: skip
            ax.plot([], [], "kx", label="random directions, matched norm")
            ax.plot([], [], "k--", lw=0.8, label="DiffMean, matched norm (marker latent's)")
            ax.legend(fontsize=5.5, loc="upper left")
    if official is not None:
        ax = fig.add_subplot(grid[1, 0:2])
        keys, width = official["cond_key"][1:], 0.35
        for j, m in enumerate(("length", "wait", "deductive")):
            e = np.array(official_effects(official, cfg, m))  # latents, then the noise reference
            ax.bar(j * 3 + np.arange(len(e)) * width * 1.2, e[:, 0], width, yerr=[e[:, 0] - e[:, 1], e[:, 2] - e[:, 0]],
                   color=[COLOURS.get(k, "k") for k in keys] + ["grey"], capsize=3)  # fmt: skip
        ax.set_xticks([j * 3 + width * 1.2 for j in range(3)], ["trace length", '"Wait"', '"Therefore"/"Thus"'])  # fmt: skip
        handles = [Patch(color=COLOURS.get(k, "k"), label=f"{k} #{official['latents'][k]['latent']}: steered - "
                         f"unsteered (|added| / |x| = {official['added_norm_ratio'][k]:.3f})") for k in keys]  # fmt: skip
        ax.legend(handles=[*handles, Patch(color="grey", label="noise: unsteered seed 1 - seed 0")], fontsize=6)  # fmt: skip
        ax.axhline(0, color="k", lw=0.6)
        ax.set_ylabel("change per trace (mean over problems, 95% CI)")
        ax.set_title("(e) official protocol: decoder row in training units, coefficient 1, every position, T=1, one seed", fontsize=8)  # fmt: skip
    lines = latent_lines(result) + ["", "Where the conclusions change:", "  official: a decoder row in training units "
             "is a ~1% nudge of the raw residual (scale < 1), so its\n  single T=1 sample cannot be told from sampling "
             "noise (panel e).", "  fixed: calibrated strengths, greedy + sampled, CIs over problems, random and DiffMean "
             "controls;\n  'marker' latents (firing on the marker token) vs 'before' latents (firing where it is predicted)."]  # fmt: skip
    text_panel(fig.add_subplot(grid[1, 2:4]), lines, fontsize=6.2)
    lines = ["(f) fixed, first held-out problem:", *(example_lines(fixed) if fixed is not None else [])]
    text_panel(fig.add_subplot(grid[2, :]), lines, fontsize=6, width=200, cut=420)
    fig.suptitle("Fig. 5 (numbering: best guess): steering the distilled model with reasoning latents "
                 f"({result['size']}, {len(result['problems'])} held-out problems)", fontsize=10)  # fmt: skip
    return fig


def claims_one_replicate(result: dict[str, Any], cfg: Fig5Config) -> list:
    """The paper's boxes: the self-reflection latent lengthens the trace, the deductive one shortens it: the sign of
    the paired change in length at alpha = +2 (bootstrap over problems), also beyond matched-norm random directions
    (the control the paper lacks); official: steered minus unsteered T=1 run."""
    import numpy as np

    from distill_features.steering import fixed_curves, length_changes, random_margin, value_at
    from distill_features.verdicts import crosscoder_precondition, markers_precondition, paired_interval
    from repro.claims import Claim, official_code, our_choice, precondition

    where = "notebooks/steering.ipynb, *_{original,steered}_{4975,23569}.txt @ 0f9e477"
    size, markers = result["size"], result.get("fig1_markers", {})

    def pre(v: str, cat: str, lat: int) -> tuple:
        m = float(np.mean(markers[cat])) if cat in markers else float("nan")
        return (crosscoder_precondition(result.get("crosscoder_ev"), f"{size}/{v}"),
                markers_precondition(m, f"{size} distilled model's sampled traces (fig1, {cat}: per trace)"),
                precondition(f"a latent fires on the {cat} tokens (selected latent id)", lat, ">=", 0))  # fmt: skip

    out = []
    fixed = result["variants"].get("fixed")
    for key, c in fixed_curves(fixed, cfg, "length").items() if fixed is not None else ():
        (cat, sel), lat = key.split("/"), int(fixed["latents"][key]["latent"])
        rel, word = (">", "lengthens") if cat == "self_reflection" else ("<", "shortens")
        delta, cols = length_changes(fixed, key)
        beyond = random_margin(cat)
        out.append(Claim(f"{cat} latent ({sel} selection) at alpha=+2 {word} greedy traces: paired change in "
                         "trace length (tokens)", (float(delta.mean()),), rel, 0.0, variant="fixed",
                         paper=official_code(PAPER_TEXT[cat], where), preconditions=pre("fixed", cat, lat),
                         interval=paired_interval(delta, np.mean), spread=f"paired bootstrap over {len(delta)} problems",
                         note=f"latent #{lat}; {value_at(c, 2.0):.1f} vs {c['unsteered']:.1f} tokens"))  # fmt: skip
        out.append(Claim(f"{cat} latent ({sel}) at alpha=+2 {word} traces more than every matched-norm random "
                         f"direction: margin in tokens ({cols.shape[1] - 1} directions)", (beyond(cols),), ">", 0.0,
                         variant="fixed", preconditions=pre("fixed", cat, lat),
                         interval=paired_interval(cols, beyond), spread=f"paired bootstrap over {len(cols)} problems",
                         paper=our_choice(0, "the control the paper lacks (spec 7.7)")))  # fmt: skip
    official = result["variants"].get("official") or {"cond_key": [None]}
    for i, key in enumerate(official["cond_key"][1:], 1):
        cat, lat = key.split("/")[0], int(official["latents"][key]["latent"])
        rel, word = (">", "lengthens") if cat == "self_reflection" else ("<", "shortens")
        steered = np.asarray(official["steered"]["length"], dtype=np.float64)
        delta = steered[i] - steered[0]
        out.append(Claim(f"official: {cat} latent (coefficient 1, every position) {word} T=1 traces: change in "
                         "trace length (tokens)", (float(delta.mean()),), rel, 0.0, variant="official",
                         paper=official_code(PAPER_TEXT[cat], where), preconditions=pre("official", cat, lat),
                         interval=paired_interval(delta, np.mean), spread=f"bootstrap over {len(delta)} problems",
                         note=f"latent #{lat}; one T=1 run per condition, as in the paper"))  # fmt: skip
    return out


CONFIGS = {
    "smoke": Fig5Config(crosscoders=CROSSCODERS_CONFIGS["smoke"], n_problems=6, alphas=(-2.0, 0.0, 2.0), seeds=(0,),
                        n_random=1, random_alphas=(2.0,), max_new_tokens=24, n_boot=100),
    "quick": Fig5Config(crosscoders=CROSSCODERS_CONFIGS["quick"]),
    "paper": Fig5Config(crosscoders=CROSSCODERS_CONFIGS["paper"], n_problems=500, seeds=(0, 1, 2, 3), n_random=4,
                        official_noise_seeds=4, max_new_tokens=128, max_rows=20_000),
}  # fmt: skip
FIGURE = Figure(
    paper="distill_features",
    id="fig5",
    title="Steering the distilled model with self-reflection and deductive latents (numbering: best guess)",
    configs=CONFIGS,
    compute=compute,
    needs=LATENT_NEEDS,
    plot=plot,
    claims=lambda result, cfg: claims_over_replicates(result, cfg, claims_one_replicate),
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 120, "paper": 1200},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("steering",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
