"""Fig. 7 (numbering: best guess; spec F-f, ``figures/ablation_logit.pdf`` from ``src/run_ablation.py``, 7B):
dose-response of latent ablation: the change in the target-marker logit as a growing fraction of the "active"
latents is ablated, distilled and base, each against a control.

Paper, at f = 0.2: the changes in ``PAPER_F02`` (1,981 / 2,488 / 1,348 / 2,902 latents ablated, N = 49 / 50 / 50 /
44 positions). Here (fig6's setting and variants; ``ablation.dose_response`` gives the protocol): per marker
category, the latents firing on its tokens ranked by firing count, the top fraction f with r > ``min_r`` ablated;
y = mean change of the marker's logit (bootstrap CIs over target positions), against as many latents drawn uniformly
(``official``, as ``run_ablation.py``) or matched on firing frequency (``fixed``, ``n_control`` sets averaged).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from distill_features.ablation import CATEGORIES, MODELS, SELECTIONS, VARIANTS
from distill_features.replicates import claims_over_replicates
from distill_features.stages import CROSSCODERS_CONFIGS, LATENT_NEEDS, ReadsLatents
from repro.figure import Figure

PAPER_F02 = {  # change in target logit at f = 0.2: (ablated, random control)
    "distilled": {"self_reflection": (-1.71, -0.52), "deductive": (-5.75, -2.29), "alternative": (-3.93, -2.59),
                  "contrastive": (-4.06, -0.69)},
    "base": {"self_reflection": (0.05, 0.28), "deductive": (-1.81, -0.49), "alternative": (-0.80, -0.18),
             "contrastive": (-1.21, -0.43)}}  # fmt: skip


@dataclass(frozen=True)
class Fig7Config(ReadsLatents):
    n_windows: int = 160
    fractions: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
    min_r: float = 0.5
    selections: tuple[str, ...] = SELECTIONS
    n_control: int = 2
    batch_size: int = 128
    n_boot: int = 500
    size: str = "7B"  # paper size (mapped by rank onto the zoo) or a zoo size; run_ablation.py on the 7B pair
    seed: int = 0
    variants: tuple[str, ...] = VARIANTS
    untrained_crosscoder: bool = False  # the control: the stage's crosscoders replaced by untrained ones

    def __post_init__(self) -> None:
        from distill_features.ablation import check_config

        check_config(self)


def compute(cfg: Fig7Config, zoo: dict[str, Any], crosscoders: dict[str, Any]) -> dict[str, Any]:
    from distill_features.ablation import dose_response
    from distill_features.replicates import per_replicate

    return per_replicate(zoo, crosscoders, dose_response, cfg)


# fmt: off
def plot(result: dict[str, Any], cfg: Fig7Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from distill_features.ablation import dose_summary
    from distill_features.figures._common import ci_curve
    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    s, fr = dose_summary(result, cfg), np.asarray(result["fractions"], dtype=np.float64)
    fig, axes = plt.subplots(len(s), len(CATEGORIES), figsize=(16, 3.2 * len(s)), constrained_layout=True, squeeze=False)
    for i, key in enumerate(s):
        for j, cat in enumerate(CATEGORIES):
            ax, q = axes[i, j], s[key][cat]
            for m, (model, colour) in enumerate(zip(MODELS, (BASELINE, METHOD), strict=True)):
                for arm, style, band in (("ablated", "-o", 0.12), ("control", "--s", 0.05)):
                    ci_curve(ax, fr, q[arm][m], colour, f"{model}: {arm}", style, band,
                             mfc=colour if arm == "ablated" else "white")
                pa, pc = PAPER_F02[model][cat]
                ax.plot([0.2], [pa], "*", color=colour, mec="k", ms=9, label=f"paper {model} (f=0.2)")
                ax.plot([0.2], [pc], "P", color=colour, mec="k", ms=7, alpha=0.7, label=f"paper {model} random")
            ax.axhline(0, color="k", lw=0.6)
            ax.set_xscale("log")
            ax.set_xlabel(f"fraction of active latents ablated (r > {cfg.min_r:g})")
            if j == 0:
                ax.set_ylabel(f"{key}\nchange in target logit")
            n = q["n_latents"]
            ax.set_title(f"{key}: {cat.replace('_', '-')} ({q['n_active']} active, {n[0]}..{n[-1]} ablated, "
                         f"n={q['n_targets']})", fontsize=7)
            if i == 0 and j == 0:
                ax.legend(fontsize=5.5, ncol=2)
    fig.suptitle(f"Fig. 7 (numbering: best guess): dose-response of latent ablation, {result['size']} pair "
                 "(official: reconstruction with latents zeroed vs uniform random latents; fixed: contributions "
                 "subtracted vs frequency-matched latents; 95% CI over positions)", fontsize=9)
    return fig


def claims_one_replicate(result: dict[str, Any], cfg: Fig7Config) -> list:
    """The paper (7B, f = 0.2): ablating the top-f latents lowers the target logit more in the distilled model than
    in the base and than random latents. Tested at the largest fraction as signs, bootstrap over target positions."""
    import numpy as np

    from distill_features import ablation as ab
    from distill_features.verdicts import paired_interval
    from repro.claims import Claim, official_code

    f, out = cfg.fractions[-1], []
    src = "src/run_ablation.py outputs, notebooks/figures.ipynb cell 6 @ 0f9e477"
    for key, rows in ab.dose_summary(result, cfg).items():
        v, sel = key.split("/")
        tag = "" if v == "official" else f" ({sel} selection)"
        for cat, q in rows.items():
            pd, pb = PAPER_F02["distilled"][cat], PAPER_F02["base"][cat]
            d, vs = ab.target_changes(result["variants"][v][sel][cat], last_fraction=True)
            ok, diff = len(d) > 0, ab.distilled_minus_base
            pre = ab.preconditions(result, v, f"{cat}{tag}: latents ablated at f={f:g}", cat, q["n_latents"][-1], q["n_targets"])
            out.append(Claim(f"{cat}{tag}, f={f:g}: ablation lowers the target logit more in the distilled model "
                             "than in the base: change distilled - change base", (diff(d) if ok else np.nan,), "<",
                             0.0, variant=v, preconditions=pre, interval=paired_interval(d, diff) if ok else None,
                             spread=f"paired bootstrap over {d.shape[0]} target positions",
                             paper=official_code(f"{pd[0]:+.2f} vs {pb[0]:+.2f}", src),
                             note=f"{q['n_latents'][-1]} latents ablated"))
            out.append(Claim(f"{cat}{tag}, f={f:g}: distilled, ablation lowers the target logit more than the "
                             "control: ablated - control change", (float(vs.mean()) if ok else np.nan,), "<", 0.0,
                             variant=v, preconditions=pre, interval=paired_interval(vs, np.mean) if ok else None,
                             spread=f"bootstrap over {len(vs)} target positions",
                             paper=official_code(f"{pd[0]:+.2f} vs random {pd[1]:+.2f}", src)))
    return out


CONFIGS = {
    "smoke": Fig7Config(crosscoders=CROSSCODERS_CONFIGS["smoke"], n_windows=6, fractions=(0.05, 0.2), n_control=1, n_boot=50),
    "quick": Fig7Config(crosscoders=CROSSCODERS_CONFIGS["quick"]),
    "paper": Fig7Config(crosscoders=CROSSCODERS_CONFIGS["paper"], n_windows=1000, n_control=4, batch_size=256),
}
# fmt: on


FIGURE = Figure(
    paper="distill_features",
    id="fig7",
    title="Dose-response of reasoning-latent ablation, base vs distilled (numbering: best guess)",
    configs=CONFIGS,
    compute=compute,
    needs=LATENT_NEEDS,
    plot=plot,
    claims=lambda result, cfg: claims_over_replicates(result, cfg, claims_one_replicate),
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 90, "paper": 900},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("ablation_dose",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
