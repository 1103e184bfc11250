"""Fig. 6 (numbering: best guess; spec F-e, ``figures/ablation.pdf``, no script in the official repo): ablating
reasoning latents lowers the logit of the marker token they are about, more in the distilled model than in the base.

Paper (1.5B, read off the plot), mean target-token logit original -> ablated. Distilled: self-reflection 24.3 ->
19.8, deductive 25.6 -> 11.9, alternative 25.2 -> 17.8, contrastive 23.6 -> 16.9. Base: 15.4 -> 14.6, 17.5 -> 12.7,
12.8 -> 11.9, 15.7 -> 14.1.

Here, on the largest model pair of the zoo with its crosscoders (``ablation.ablation_experiment``), for each marker category: the targets
are the marker tokens (category from the generator's labels) in ``n_windows`` fresh evaluation windows (fig2's
trace / generic mix, drawn with ``seed + 1000``; the latents are selected on the stage's own evaluation rows, so
selection and measurement use different text). At each target t the logit of the marker is read at t - 1 with the
chosen latents ablated at positions [1, t) of both models (position 0 untouched); both models' activations feed the
crosscoder, as in the official script. Latent selection: the paper's F-b rule (fires on more than ``select_frac`` of
the largest firing count at the category's tokens) with r > ``min_r`` (distilled-leaning); the fixed variant also
needs enrichment (lift = precision / base rate >= ``min_lift``).
- ``official``: L1 crosscoder read as the official code did (raw activations into the encoder, r from L1 norms);
  the residual replaced by the reconstruction with the chosen latents zeroed, left in training units (error dropped,
  defect 3); control = as many latents drawn uniformly from all latents (defect 4). An extra bar shows the plain
  reconstruction (nothing zeroed): the damage every arm shares. Note that in this path the units defect nearly
  cancels: a ReLU encoder with small biases is positively homogeneous, so raw inputs (1 / scale times the training
  units) give latents 1 / scale times too large and a reconstruction back in raw units; steering (fig5) has no such
  luck, as it adds a decoder row with no activation in front.
- ``fixed``: BatchTopK crosscoder, normalised; the chosen latents' contributions subtracted in raw units (error
  kept: nothing ablated = the model itself); control = ``n_control`` sets of latents matched on firing frequency
  (``analysis.frequency_matched_control``), averaged; percentile-bootstrap CIs over target positions. Where the
  firings are counted (``selections``): ``marker`` = at the marker token (the paper's counting) and ``before`` = at
  the position that predicts the marker, whose residual the target logit is read from (our addition).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from distill_features.stages import CROSSCODERS_CONFIGS, LATENT_NEEDS, ReadsLatents
from repro.figure import Figure

VARIANTS = ("official", "fixed")
SELECTIONS = ("marker", "before")
CATEGORIES = ("self_reflection", "deductive", "alternative", "contrastive")
PAPER = {  # (original, ablated) mean target logit, read off figures/ablation.pdf
    "distilled": {"self_reflection": (24.3, 19.8), "deductive": (25.6, 11.9), "alternative": (25.2, 17.8),
                  "contrastive": (23.6, 16.9)},
    "base": {"self_reflection": (15.4, 14.6), "deductive": (17.5, 12.7), "alternative": (12.8, 11.9),
             "contrastive": (15.7, 14.1)},
}  # fmt: skip
MODELS = ("base", "distilled")


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
    seed: int = 0
    variants: tuple[str, ...] = VARIANTS
    untrained_crosscoder: bool = False  # the control: the stage's crosscoders replaced by untrained ones

    def __post_init__(self) -> None:
        if not set(self.variants) <= set(VARIANTS) or not self.variants:
            raise ValueError(f"variants must be a non-empty subset of {VARIANTS}")
        if not set(self.selections) <= set(SELECTIONS) or "marker" not in self.selections:
            raise ValueError(f"selections must be a subset of {SELECTIONS} containing 'marker' (the paper's)")
        if self.n_windows < 1 or self.n_control < 1 or self.batch_size < 1 or self.n_boot < 10:
            raise ValueError("n_windows, n_control, batch_size >= 1 and n_boot >= 10 needed")
        if not 0 <= self.select_frac < 1 or not 0 <= self.min_r < 1 or self.min_lift < 0:
            raise ValueError("select_frac and min_r must lie in [0, 1), min_lift >= 0")


def compute(cfg: Fig6Config, zoo: dict[str, Any], crosscoders: dict[str, Any]) -> dict[str, Any]:
    from distill_features import latents_setup
    from distill_features.ablation import ablation_experiment

    return ablation_experiment(latents_setup.from_results(zoo, crosscoders), cfg)


def plot(result: dict[str, Any], cfg: Fig6Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from distill_features.ablation import ablation_summary
    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    s = ablation_summary(result, cfg)
    rows = list(s)
    fig, axes = plt.subplots(
        len(rows), 2, figsize=(14, 3.3 * len(rows)), constrained_layout=True, squeeze=False
    )
    x = np.arange(len(CATEGORIES))
    for i, key in enumerate(rows):
        v, sel = key.split("/")
        ax = axes[i, 0]
        arms = [("logit", "original"), ("ablated", "ablated"), ("control", "control")]
        if v == "official":
            arms.append(("reconstruction", "reconstruction only"))
        w = 0.8 / (2 * len(arms))
        for m, (model, colour) in enumerate(zip(MODELS, (BASELINE, METHOD), strict=True)):
            for a, (arm, label) in enumerate(arms):
                vals = [s[key][c][arm][m] for c in CATEGORIES]
                xs = x - 0.4 + w * (m * len(arms) + a + 0.5)
                ax.bar(xs, vals, w, color=colour, alpha=1.0 - 0.22 * a, label=f"{model}: {label}")
        for m, model in enumerate(MODELS):
            for j, c in enumerate(CATEGORIES):
                o, a = PAPER[model][c]
                ax.annotate(f"{o:g}->{a:g}", (j - 0.4 + 0.4 * m + 0.2, 0), xytext=(0, 2), textcoords="offset points",
                            ha="center", fontsize=5.5, color="k")  # fmt: skip
        ax.set_xticks(x, [c.replace("_", "-") for c in CATEGORIES])
        ax.set_ylabel("mean target-token logit")
        n = [s[key][c]["n_latents"] for c in CATEGORIES]
        ax.set_title(f"({'abcdef'[2 * i]}) {key}: logits (paper values printed at the bottom); latents "
                     f"ablated {n}", fontsize=8)  # fmt: skip
        ax.legend(fontsize=5.5, ncol=2)
        ax = axes[i, 1]
        for m, (model, colour) in enumerate(zip(MODELS, (BASELINE, METHOD), strict=True)):
            for a, (arm, ls) in enumerate((("d_ablated", "o"), ("d_control", "s"))):
                ci = np.array([s[key][c][arm][m] for c in CATEGORIES])
                xs = x + (m - 0.5) * 0.3 + (a - 0.5) * 0.12
                ax.errorbar(xs, ci[:, 0], yerr=[ci[:, 0] - ci[:, 1], ci[:, 2] - ci[:, 0]], fmt=ls, color=colour,
                            mfc=colour if a == 0 else "white", ms=5, mew=1.3, capsize=2,
                            label=f"{model}: {'ablated' if a == 0 else 'control'} - original")  # fmt: skip
            paper = [PAPER[model][c][1] - PAPER[model][c][0] for c in CATEGORIES]
            ax.plot(x + (m - 0.5) * 0.3, paper, "_", color="k", ms=12, mew=2,
                    label="paper (ablated - original)" if m == 0 else None)  # fmt: skip
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(x, [f"{c.replace('_', '-')}\n(n={s[key][c]['n_targets']})" for c in CATEGORIES])
        ax.set_ylabel("change in target logit (95% CI over positions)")
        ax.set_title(f"({'abcdef'[2 * i + 1]}) {key}: change vs original", fontsize=8)
        ax.legend(fontsize=5.5, ncol=2)
    fig.suptitle(f"Fig. 6 (numbering: best guess): ablating reasoning latents, {result['size']} pair\n"
                 "official: reconstruction with the latents zeroed (error dropped, training units) vs uniform random "
                 "latents; fixed: contributions subtracted (error kept) vs frequency-matched latents", fontsize=9)  # fmt: skip
    return fig


def claims(result: dict[str, Any], cfg: Fig6Config) -> list:
    """The paper's ablation bars (read off ``figures/ablation.pdf``, 1.5B): ablating each category's latents lowers
    the target-marker logit far more in the distilled model (e.g. deductive 25.6 -> 11.9) than in the base
    (17.5 -> 12.7). Tested as the sign of (change in the distilled model) - (change in the base), paired bootstrap
    over target positions (one crosscoder, as in the paper), and (the control the paper lacks) as the sign of the
    distilled model's ablated - control logit, bootstrap over positions. Deltas smaller than that spread are
    inconclusive, not passes. Preconditions: the crosscoder reconstructs, some latent is chosen, targets exist."""
    import numpy as np

    from distill_features.ablation import ablation_summary
    from distill_features.verdicts import crosscoder_precondition, paired_interval
    from repro.claims import Claim, our_choice, precondition, read_off_plot

    s = ablation_summary(result, cfg)
    size = result["size"]
    out = []
    for key, rows in s.items():
        v, sel = key.split("/")
        tag = "" if v == "official" else f" ({sel} selection)"
        for cat, q in rows.items():
            cell = result["variants"][v][sel][cat]
            pd, pb = PAPER["distilled"][cat], PAPER["base"][cat]
            logit = np.asarray(cell["logit"], dtype=np.float64).reshape(2, -1)
            abl = np.asarray(cell["ablated"], dtype=np.float64).reshape(2, -1)
            ctl = np.asarray(cell["control"], dtype=np.float64).reshape(2, -1)
            pre = (crosscoder_precondition(result.get("crosscoder_ev"), f"{size}/{v}"),
                   precondition(f"{cat}{tag}: latents chosen", q["n_latents"], ">=", 1),
                   precondition(f"{cat}: target marker positions", q["n_targets"], ">=", 2))  # fmt: skip
            d = (abl - logit).T  # [K, 2]: change per target, base / distilled
            diff = (lambda x: float(x[:, 1].mean() - x[:, 0].mean())) if len(d) else None
            out.append(Claim(f"{cat}{tag}: ablation lowers the target logit more in the distilled model than in the "
                             "base: change distilled - change base", (diff(d) if diff else np.nan,), "<", 0.0,
                             variant=v, preconditions=pre, interval=paired_interval(d, diff) if diff else None,
                             spread=f"paired bootstrap over {len(d)} target positions",
                             paper=read_off_plot(f"{pd[1] - pd[0]:+.1f} vs {pb[1] - pb[0]:+.1f}",
                                                 "figures/ablation.pdf (spec F-e)"),
                             note=f"{q['n_latents']} latents, {q['n_targets']} targets"))  # fmt: skip
            vs = abl[1] - ctl[1]
            out.append(Claim(f"{cat}{tag}: in the distilled model the ablation lowers the target logit more than the "
                             "control: ablated - control logit", (float(vs.mean()) if len(vs) else np.nan,), "<", 0.0,
                             variant=v, preconditions=pre, interval=paired_interval(vs, np.mean) if len(vs) else None,
                             spread=f"bootstrap over {len(vs)} target positions",
                             paper=our_choice(0, "the control the paper lacks (random latents, frequency-matched "
                                                 "in the fixed variant)")))  # fmt: skip
    return out


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
    claims=claims,
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 60, "paper": 600},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("ablation",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
