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
class Fig7Config:
    stage_scale: str = "quick"
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
        if self.stage_scale not in ("smoke", "quick", "paper"):
            raise ValueError(f"stage_scale must be smoke, quick or paper, got {self.stage_scale!r}")
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


def compute(cfg: Fig7Config) -> dict[str, Any]:
    import numpy as np
    import torch

    from distill_features import controls
    from distill_features import latent_interventions as li
    from repro.progress import status

    torch.set_num_threads(1)
    inp = li.AblationInputs.load(cfg.stage_scale, cfg.n_windows, cfg.seed)  # the same inputs as fig6
    rng = np.random.default_rng(cfg.seed)
    nf, nc = len(cfg.fractions), cfg.n_control
    ev = controls.prepare(inp.stage, cfg.untrained_crosscoder)
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
        controls = np.stack([li.control_sets(x, c.stats["freq"], nc, v == "fixed", rng) for x in chosen])
        r = c.ablate(np.concatenate([chosen, controls.reshape(nf * nc, -1)]), cfg.batch_size)
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


def summary(result: dict[str, Any], cfg: Fig7Config) -> dict[str, dict[str, Any]]:
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


def plot(result: dict[str, Any], cfg: Fig7Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    s = summary(result, cfg)
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

    from distill_features.verdicts import crosscoder_precondition, paired_interval
    from repro.claims import Claim, official_code, precondition

    s = summary(result, cfg)
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
        "smoke": Fig7Config(stage_scale="smoke", n_windows=6, fractions=(0.05, 0.2), n_control=1, n_boot=50),
        "quick": Fig7Config(),
        "paper": Fig7Config(stage_scale="paper", n_windows=1000, n_control=4, batch_size=256),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 90, "paper": 900},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("ablation_dose",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
