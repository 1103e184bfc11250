"""Fig. 7 (numbering: best guess; spec F-f, ``figures/ablation_logit.pdf`` from ``src/run_ablation.py``, 7B):
dose-response of latent ablation: the change in the target-marker logit as a growing fraction of the "active"
latents is ablated, distilled and base, each against a control.

Paper, at f = 0.2 (Wait / deductive / alternative / contrastive): distilled -1.71 / -5.75 / -3.93 / -4.06 against
random -0.52 / -2.29 / -2.59 / -0.69; base +0.05 / -1.81 / -0.80 / -1.21 against random +0.28 / -0.49 / -0.18 /
-0.43 (1,981 / 2,488 / 1,348 / 2,902 latents ablated, N = 49 / 50 / 50 / 44 positions).

Here (same setting and variants as fig6, ``figures/fig6.py``): for each marker category, the latents that fire at
least once on the category's tokens of the stage's evaluation rows are ranked by firing count (ties: summed
activation); the top fraction f of them (``latent_interventions.top_active``, at least one) are ablated when r >
``min_r``, at positions [1, t) of both models, and the logit of the marker at t is read at t - 1, on ``n_windows``
fresh windows. y = mean change of that logit against the unedited model, with percentile-bootstrap CIs over target
positions. Control per fraction: as many latents drawn uniformly from all latents (``official``, as
``run_ablation.py``) or matched on firing frequency (``fixed``, ``n_control`` sets averaged). ``official`` ablates
by reconstruction with the latents zeroed (error dropped, training units); ``fixed`` subtracts their contributions
(error kept). Selection positions as in fig6: ``marker`` (the paper's counting at the marker token) and, fixed
only, ``before`` (the position that predicts it). All fractions and controls of a category run as conditions of
one batched pass per model (``latent_interventions.ablate_targets``).
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
MODELS = ("base", "distilled")
PAPER_F02 = {  # change in target logit at f = 0.2: (ablated, random control)
    "distilled": {"self_reflection": (-1.71, -0.52), "deductive": (-5.75, -2.29), "alternative": (-3.93, -2.59),
                  "contrastive": (-4.06, -0.69)},
    "base": {"self_reflection": (0.05, 0.28), "deductive": (-1.81, -0.49), "alternative": (-0.80, -0.18),
             "contrastive": (-1.21, -0.43)},
}  # fmt: skip


@dataclass(frozen=True)
class Fig7Config(ReadsLatents):
    n_windows: int = 160
    fractions: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
    min_r: float = 0.5
    selections: tuple[str, ...] = SELECTIONS
    n_control: int = 2
    batch_size: int = 128
    n_boot: int = 500
    seed: int = 0
    variants: tuple[str, ...] = VARIANTS
    untrained_crosscoder: bool = False  # the control: the stage's crosscoders replaced by untrained ones

    def __post_init__(self) -> None:
        if not set(self.variants) <= set(VARIANTS) or not self.variants:
            raise ValueError(f"variants must be a non-empty subset of {VARIANTS}")
        if not set(self.selections) <= set(SELECTIONS) or "marker" not in self.selections:
            raise ValueError(f"selections must be a subset of {SELECTIONS} containing 'marker' (the paper's)")
        if not self.fractions or list(self.fractions) != sorted(set(self.fractions)):
            raise ValueError(f"fractions must be strictly increasing, got {self.fractions}")
        if not all(0 < f <= 1 for f in self.fractions):
            raise ValueError(f"fractions must lie in (0, 1], got {self.fractions}")
        if self.n_windows < 1 or self.n_control < 1 or self.batch_size < 1 or self.n_boot < 10:
            raise ValueError("n_windows, n_control, batch_size >= 1 and n_boot >= 10 needed")
        if not 0 <= self.min_r < 1:
            raise ValueError("min_r must lie in [0, 1)")


def compute(cfg: Fig7Config, zoo: dict[str, Any], crosscoders: dict[str, Any]) -> dict[str, Any]:
    from distill_features import latents_setup
    from distill_features.ablation import dose_response

    return dose_response(latents_setup.from_results(zoo, crosscoders), cfg)


def plot(result: dict[str, Any], cfg: Fig7Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from distill_features.ablation import dose_summary
    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    s = dose_summary(result, cfg)
    rows = list(s)
    fr = np.asarray(result["fractions"], dtype=np.float64)
    fig, axes = plt.subplots(len(rows), len(CATEGORIES), figsize=(16, 3.2 * len(rows)), constrained_layout=True,
                             squeeze=False)  # fmt: skip
    for i, key in enumerate(rows):
        for j, cat in enumerate(CATEGORIES):
            ax = axes[i, j]
            q = s[key][cat]
            for m, (model, colour) in enumerate(zip(MODELS, (BASELINE, METHOD), strict=True)):
                for arm, ls, label in (("ablated", "-o", "ablated"), ("control", "--s", "control")):
                    ci = q[arm][m]
                    ax.plot(fr, ci[:, 0], ls, color=colour, ms=3, mfc=colour if arm == "ablated" else "white",
                            label=f"{model}: {label}")  # fmt: skip
                    ax.fill_between(
                        fr, ci[:, 1], ci[:, 2], color=colour, alpha=0.12 if arm == "ablated" else 0.05
                    )
                pa, pc = PAPER_F02[model][cat]
                ax.plot([0.2], [pa], "*", color=colour, mec="k", ms=9, label=f"paper {model} (f=0.2)")
                ax.plot(
                    [0.2], [pc], "P", color=colour, mec="k", ms=7, alpha=0.7, label=f"paper {model} random"
                )
            ax.axhline(0, color="k", lw=0.6)
            ax.set_xscale("log")
            ax.set_xlabel(f"fraction of active latents ablated (r > {cfg.min_r:g})")
            if j == 0:
                ax.set_ylabel(f"{key}\nchange in target logit")
            n = q["n_latents"]
            ax.set_title(f"{key}: {cat.replace('_', '-')} ({q['n_active']} active, {n[0]}..{n[-1]} ablated, "
                         f"n={q['n_targets']})", fontsize=7)  # fmt: skip
            if i == 0 and j == 0:
                ax.legend(fontsize=5.5, ncol=2)
    fig.suptitle(f"Fig. 7 (numbering: best guess): dose-response of latent ablation, {result['size']} pair "
                 "(official: reconstruction with latents zeroed vs uniform random latents; fixed: contributions "
                 "subtracted vs frequency-matched latents; 95% CI over positions)", fontsize=9)  # fmt: skip
    return fig


def claims(result: dict[str, Any], cfg: Fig7Config) -> list:
    """The paper (``run_ablation.py`` outputs, 7B, f = 0.2): ablating the top-f active distilled-leaning latents
    lowers the target logit more in the distilled model than in the base (e.g. deductive -5.75 vs -1.81), and more
    than a random-latent control (-5.75 vs -2.29). Tested at the largest fraction as signs, with paired bootstrap
    intervals over target positions (one crosscoder, as in the paper); a delta inside that spread is inconclusive.
    Preconditions: the crosscoder reconstructs, some latent is ablated, targets exist."""
    import numpy as np

    from distill_features.ablation import dose_summary
    from distill_features.verdicts import crosscoder_precondition, paired_interval
    from repro.claims import Claim, official_code, precondition

    s = dose_summary(result, cfg)
    f, size = cfg.fractions[-1], result["size"]
    src = "src/run_ablation.py outputs, notebooks/figures.ipynb cell 6 @ 0f9e477"
    out = []
    for key, rows in s.items():
        v, sel = key.split("/")
        tag = "" if v == "official" else f" ({sel} selection)"
        for cat, q in rows.items():
            cell = result["variants"][v][sel][cat]
            pd, pb = PAPER_F02["distilled"][cat], PAPER_F02["base"][cat]
            a = np.asarray(cell["ablated"], dtype=np.float64)[:, -1]  # [2, K] change at the largest fraction
            c = np.asarray(cell["control"], dtype=np.float64)[:, -1]
            pre = (crosscoder_precondition(result.get("crosscoder_ev"), f"{size}/{v}"),
                   precondition(f"{cat}{tag}: latents ablated at f={f:g}", q["n_latents"][-1], ">=", 1),
                   precondition(f"{cat}: target marker positions", q["n_targets"], ">=", 2))  # fmt: skip
            ok = a.shape[1] > 0
            d = a.T  # [K, 2]

            def diff(x: Any) -> float:
                return float(x[:, 1].mean() - x[:, 0].mean())

            out.append(Claim(f"{cat}{tag}, f={f:g}: ablation lowers the target logit more in the distilled model "
                             "than in the base: change distilled - change base", (diff(d) if ok else np.nan,), "<",
                             0.0, variant=v, preconditions=pre, interval=paired_interval(d, diff) if ok else None,
                             spread=f"paired bootstrap over {d.shape[0]} target positions",
                             paper=official_code(f"{pd[0]:+.2f} vs {pb[0]:+.2f}", src),
                             note=f"{q['n_latents'][-1]} latents ablated"))  # fmt: skip
            vs = a[1] - c[1]
            out.append(Claim(f"{cat}{tag}, f={f:g}: distilled, ablation lowers the target logit more than the "
                             "control: ablated - control change", (float(vs.mean()) if ok else np.nan,), "<", 0.0,
                             variant=v, preconditions=pre, interval=paired_interval(vs, np.mean) if ok else None,
                             spread=f"bootstrap over {len(vs)} target positions",
                             paper=official_code(f"{pd[0]:+.2f} vs random {pd[1]:+.2f}", src)))  # fmt: skip
    return out


FIGURE = Figure(
    paper="distill_features",
    id="fig7",
    title="Dose-response of reasoning-latent ablation, base vs distilled (numbering: best guess)",
    configs={
        "smoke": Fig7Config(
            crosscoders=CROSSCODERS_CONFIGS["smoke"],
            n_windows=6,
            fractions=(0.05, 0.2),
            n_control=1,
            n_boot=50,
        ),
        "quick": Fig7Config(crosscoders=CROSSCODERS_CONFIGS["quick"]),
        "paper": Fig7Config(
            crosscoders=CROSSCODERS_CONFIGS["paper"], n_windows=1000, n_control=4, batch_size=256
        ),
    },
    compute=compute,
    needs=LATENT_NEEDS,
    plot=plot,
    claims=claims,
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 90, "paper": 900},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("ablation_dose",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
