"""Fig. 6 (numbering: best guess; spec F-e, ``figures/ablation.pdf``, no script in the official repo): ablating
reasoning latents lowers the logit of the marker token they are about, more in the distilled model than in the base.

Paper (1.5B, read off the plot): the mean target-token logits original -> ablated in ``PAPER``. Here, on the zoo size
of the paper's pair (``size``, 1.5B: the smallest; ``ablation.ablation_experiment`` gives the protocol and
variants), per marker category: its tokens in ``n_windows`` fresh windows, with the latents of the paper's F-b rule (``select_frac``, r > ``min_r``; fixed:
lift >= ``min_lift``) ablated before them. ``official``: reconstruction with the latents zeroed (error dropped,
training units) vs uniform random latents; ``fixed``: contributions subtracted (error kept) vs ``n_control``
frequency-matched sets, latents selected at the marker token and where it is predicted (``before``, ours).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from distill_features.ablation import CATEGORIES, MODELS, SELECTIONS, VARIANTS
from distill_features.replicates import claims_over_replicates
from distill_features.stages import CROSSCODERS_CONFIGS, LATENT_NEEDS, ReadsLatents
from repro.figure import Figure

PAPER = {  # (original, ablated) mean target logit, read off figures/ablation.pdf
    "distilled": {"self_reflection": (24.3, 19.8), "deductive": (25.6, 11.9), "alternative": (25.2, 17.8),
                  "contrastive": (23.6, 16.9)},
    "base": {"self_reflection": (15.4, 14.6), "deductive": (17.5, 12.7), "alternative": (12.8, 11.9),
             "contrastive": (15.7, 14.1)}}  # fmt: skip
ARMS = (("logit", "original"), ("ablated", "ablated"), ("control", "control"), ("reconstruction", "reconstruction only"))  # fmt: skip


@dataclass(frozen=True)
class Fig6Config(ReadsLatents):
    n_windows: int = 160
    select_frac: float = 0.1
    min_r: float = 0.5
    min_lift: float = 2.0
    selections: tuple[str, ...] = SELECTIONS
    n_control: int = 3
    batch_size: int = 64
    n_boot: int = 1000
    size: str = "1.5B"  # paper size (mapped by rank onto the zoo) or a zoo size; ablation.pdf: the 1.5B scratch notebooks
    seed: int = 0
    variants: tuple[str, ...] = VARIANTS
    untrained_crosscoder: bool = False  # the control: the stage's crosscoders replaced by untrained ones

    def __post_init__(self) -> None:
        from distill_features.ablation import check_config

        check_config(self)


def compute(cfg: Fig6Config, zoo: dict[str, Any], crosscoders: dict[str, Any]) -> dict[str, Any]:
    from distill_features.ablation import ablation_experiment
    from distill_features.replicates import per_replicate

    return per_replicate(zoo, crosscoders, ablation_experiment, cfg)


# fmt: off
def plot(result: dict[str, Any], cfg: Fig6Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from distill_features.ablation import ablation_summary
    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    s, x, colours = ablation_summary(result, cfg), np.arange(len(CATEGORIES)), (BASELINE, METHOD)
    fig, axes = plt.subplots(len(s), 2, figsize=(14, 3.3 * len(s)), constrained_layout=True, squeeze=False)
    for i, key in enumerate(s):
        ax, v = axes[i, 0], key.split("/")[0]
        arms = ARMS[: 4 if v == "official" else 3]  # official: also the plain reconstruction
        w = 0.8 / (2 * len(arms))
        for m, model in enumerate(MODELS):
            for a, (arm, label) in enumerate(arms):
                ax.bar(x - 0.4 + w * (m * len(arms) + a + 0.5), [s[key][c][arm][m] for c in CATEGORIES], w,
                       color=colours[m], alpha=1.0 - 0.22 * a, label=f"{model}: {label}")
            for j, c in enumerate(CATEGORIES):
                ax.annotate("{:g}->{:g}".format(*PAPER[model][c]), (j - 0.4 + 0.4 * m + 0.2, 0), xytext=(0, 2),
                            textcoords="offset points", ha="center", fontsize=5.5, color="k")
        ax.set(xticks=x, xticklabels=[c.replace("_", "-") for c in CATEGORIES], ylabel="mean target-token logit")
        ax.set_title(f"({'abcdef'[2 * i]}) {key}: logits (paper values printed at the bottom); latents ablated "
                     f"{[s[key][c]['n_latents'] for c in CATEGORIES]}", fontsize=8)
        ax.legend(fontsize=5.5, ncol=2)
        ax = axes[i, 1]
        for m, model in enumerate(MODELS):
            for a, (arm, fmt) in enumerate((("d_ablated", "o"), ("d_control", "s"))):
                ci = np.array([s[key][c][arm][m] for c in CATEGORIES])
                ax.errorbar(x + (m - 0.5) * 0.3 + (a - 0.5) * 0.12, ci[:, 0], yerr=[ci[:, 0] - ci[:, 1], ci[:, 2] - ci[:, 0]],
                            fmt=fmt, color=colours[m], mfc=colours[m] if a == 0 else "white", ms=5, mew=1.3, capsize=2,
                            label=f"{model}: {'ablated' if a == 0 else 'control'} - original")
            ax.plot(x + (m - 0.5) * 0.3, [PAPER[model][c][1] - PAPER[model][c][0] for c in CATEGORIES], "_", color="k",
                    ms=12, mew=2, label="paper (ablated - original)" if m == 0 else None)
        ax.axhline(0, color="k", lw=0.6)
        ax.set(xticks=x, xticklabels=[f"{c.replace('_', '-')}\n(n={s[key][c]['n_targets']})" for c in CATEGORIES],
               ylabel="change in target logit (95% CI over positions)")
        ax.set_title(f"({'abcdef'[2 * i + 1]}) {key}: change vs original", fontsize=8)
        ax.legend(fontsize=5.5, ncol=2)
    fig.suptitle(f"Fig. 6 (numbering: best guess): ablating reasoning latents, {result['size']} pair\n"
                 "official: reconstruction with the latents zeroed (error dropped, training units) vs uniform random "
                 "latents; fixed: contributions subtracted (error kept) vs frequency-matched latents", fontsize=9)
    return fig


def claims_one_replicate(result: dict[str, Any], cfg: Fig6Config) -> list:
    """The paper's bars: ablating a category's latents lowers the target logit far more in the distilled model than
    in the base. Tested as the sign of (distilled change) - (base change), and (the control the paper lacks) of the
    distilled model's ablated - control logit; paired bootstraps over target positions (one crosscoder, as there)."""
    import numpy as np

    from distill_features import ablation as ab
    from distill_features.verdicts import paired_interval
    from repro.claims import Claim, our_choice, read_off_plot

    out = []
    for key, rows in ab.ablation_summary(result, cfg).items():
        v, sel = key.split("/")
        tag = "" if v == "official" else f" ({sel} selection)"
        for cat, q in rows.items():
            pd, pb = PAPER["distilled"][cat], PAPER["base"][cat]
            d, vs = ab.target_changes(result["variants"][v][sel][cat])
            diff = ab.distilled_minus_base if len(d) else None
            pre = ab.preconditions(result, v, f"{cat}{tag}: latents chosen", cat, q["n_latents"], q["n_targets"])
            out.append(Claim(f"{cat}{tag}: ablation lowers the target logit more in the distilled model than in the "
                             "base: change distilled - change base", (diff(d) if diff else np.nan,), "<", 0.0,
                             variant=v, preconditions=pre, interval=paired_interval(d, diff) if diff else None,
                             spread=f"paired bootstrap over {len(d)} target positions",
                             paper=read_off_plot(f"{pd[1] - pd[0]:+.1f} vs {pb[1] - pb[0]:+.1f}", "figures/ablation.pdf (spec F-e)"),
                             note=f"{q['n_latents']} latents, {q['n_targets']} targets"))
            out.append(Claim(f"{cat}{tag}: in the distilled model the ablation lowers the target logit more than the "
                             "control: ablated - control logit", (float(vs.mean()) if len(vs) else np.nan,), "<", 0.0,
                             variant=v, preconditions=pre, interval=paired_interval(vs, np.mean) if len(vs) else None,
                             spread=f"bootstrap over {len(vs)} target positions",
                             paper=our_choice(0, "the control the paper lacks (random latents, frequency-matched in the fixed variant)")))
    return out
# fmt: on


FIGURE = Figure(
    paper="distill_features",
    id="fig6",
    title="Ablating reasoning latents: target-marker logit, base vs distilled (numbering: best guess)",
    configs={
        "smoke": Fig6Config(crosscoders=CROSSCODERS_CONFIGS["smoke"], n_windows=8, n_control=1, n_boot=100),
        "quick": Fig6Config(crosscoders=CROSSCODERS_CONFIGS["quick"]),
        "paper": Fig6Config(crosscoders=CROSSCODERS_CONFIGS["paper"], n_windows=1000, n_control=5),
    },
    compute=compute,
    needs=LATENT_NEEDS,
    plot=plot,
    claims=lambda result, cfg: claims_over_replicates(result, cfg, claims_one_replicate),
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 60, "paper": 600},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("ablation",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
