"""Fig. 1 (numbering: best guess; the paper's Fig. 1 is probably a schematic): the miniature's model zoo, base and
R1-style distilled tiny Qwen2 pairs at three widths, the premise every later figure stands on.

The paper diffs Qwen2.5(-Math) 1.5B/7B/14B against DeepSeek-R1-Distill-Qwen models fine-tuned from them on R1
traces (AIME-24 pass@1 28.9 / 55.5 / 69.7: the "distillation performance" the paper relates its geometry to). Here
(spec 7.1-7.2) the zoo is the stage ``distill_features.zoo`` (``zoo.train_zoo``, whose docstring lists the training
choices): per width a random-init tiny ``Qwen2ForCausalLM`` pre-trained on the synthetic language's prose + terse
problems (base), copied and fine-tuned on teacher traces (distilled), evaluated by greedy generation on held-out
problems (the distilled model thinks, then answers), with reasoning markers counted in its traces. Scales: ``smoke``
(seconds), ``quick`` (d 32/64/128, ~4 min on a CPU thread), ``paper`` (d 256/384/512, GPU; real Qwen: ``paper.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from distill_features.stages import ZOO, ZOO_CONFIGS
from distill_features.zoo import MARKER_CATEGORIES, ZooConfig
from repro.figure import Figure
from repro.stage import Need

DEEPSEEK_AIME = "28.9 / 55.5 / 69.7 (AIME-24, R1-Distill-Qwen 1.5B / 7B / 14B)"


@dataclass(frozen=True)
class Fig1Config:
    zoo: ZooConfig = field(default_factory=ZooConfig)  # the zoo stage's config


def compute(cfg: Fig1Config, zoo: dict[str, Any]) -> dict[str, Any]:
    """The zoo's evaluation: the stage's result without the weights (every replicate)."""

    def light(sizes: dict[str, Any]) -> dict[str, Any]:
        return {n: {k: v for k, v in r.items() if not k.endswith("_weights")} for n, r in sizes.items()}

    return {**zoo, "sizes": light(zoo["sizes"]), "replicates": [light(r) for r in zoo.get("replicates", [])]}


# fmt: off
def claims(result: dict[str, Any], cfg: Fig1Config) -> list:
    """What the paper builds on, on our task: the distilled model beats its base at every size (R1-Distill-Qwen:
    MATH-500 83.9 / 92.8 / 93.9) and distillation performance grows with size (AIME-24 28.9 / 55.5 / 69.7, another
    task: only the direction, the smallest step between widths); t intervals over the zoo's seeds (one seed: a paired
    bootstrap over held-out problems). Marker
    counts are preconditions of fig5's claims, not claims. Precondition: the distilled model writes an answer."""
    import numpy as np

    from distill_features.verdicts import paired_interval
    from distill_features.zoo import replicate_sizes
    from repro.claims import Claim, precondition, third_party

    names, n_eval = result["size_order"], len(result["eval_problems"])
    reps = replicate_sizes(result)  # [seed][size name] -> that replicate's evaluation
    answers = [precondition(f"{n}: the distilled model writes an answer (share of greedy traces, every seed)",
                            [r[n]["distilled_answered"] for r in reps], ">=", 0.5) for n in names]
    seeds = {"spread": f"{len(reps)} zoo seeds (t interval), {n_eval} held-out problems each"} if len(reps) > 1 else {}
    out = []
    for n, pre in zip(names, answers, strict=True):
        gain = [r[n]["distilled_accuracy"] - r[n]["base_accuracy"] for r in reps]
        pair = np.stack([np.asarray(reps[0][n][k], float) for k in ("distilled_correct", "base_correct")], 1)
        one = {} if seeds else {"interval": paired_interval(pair, lambda x: float(x[:, 0].mean() - x[:, 1].mean())),
                                "spread": f"paired bootstrap over {n_eval} held-out problems (one zoo seed)"}
        out.append(Claim(f"{n}: distilled minus base answer accuracy (greedy, held-out problems)", gain, ">", 0.0,
                         preconditions=(pre,), **seeds, **one,
                         paper=third_party("R1-Distill-Qwen 83.9 / 92.8 / 93.9 on MATH-500", "DeepSeek-R1 report (spec F-g)")))
    step = [float(np.min(np.diff([r[n]["distilled_accuracy"] for n in names]))) for r in reps]
    acc = np.stack([np.asarray(reps[0][n]["distilled_correct"], float) for n in names], 1)  # [problems, sizes]
    one = {} if seeds else {"interval": paired_interval(acc, lambda x: float(np.min(np.diff(x.mean(0))))),
                            "spread": f"paired bootstrap over {n_eval} held-out problems (one zoo seed)"}
    out.append(Claim("on our task, distilled accuracy grows with size (the direction of the paper's trend): smallest "
                     "step between consecutive widths", step, ">", 0.0, **seeds, **one,
                     paper=third_party(DEEPSEEK_AIME, "DeepSeek-R1 report, cited by the paper (spec F-g); other task"),
                     preconditions=tuple(answers),
                     note="AIME-24 is a different task: only the sign of the trend is compared, on our held-out problems"))
    return out


def plot(result: dict[str, Any], cfg: Fig1Config):
    import matplotlib.pyplot as plt
    import numpy as np

    from distill_features.figures._common import text_panel
    from distill_features.zoo import replicate_sizes
    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    fig = plt.figure(figsize=(13, 5.6), constrained_layout=True)
    grid = fig.add_gridspec(2, 3, height_ratios=[1.0, 0.2])
    names, d, n_eval = result["size_order"], np.array(cfg.zoo.d_models), cfg.zoo.n_eval
    sizes = [result["sizes"][n] for n in names]
    colours = plt.cm.viridis(np.linspace(0.15, 0.85, len(names)))
    ax = fig.add_subplot(grid[0, 0])
    for n, r, c in zip(names, sizes, colours, strict=True):
        every = int(np.ceil(r["config"]["base_steps"] / max(len(r["base_curve"]), 1)))
        ax.plot(np.arange(len(r["base_curve"])) * every, r["base_curve"], color=c, lw=1,
                label=f"{n} ({r['n_params'] / 1e3:.0f}k params)")
        ax.plot(r["config"]["base_steps"] + np.arange(len(r["distill_curve"])) * every, r["distill_curve"], color=c,
                lw=1, ls="--")
    ax.axvline(cfg.zoo.base_steps, color="grey", lw=0.8)
    ax.text(cfg.zoo.base_steps, ax.get_ylim()[1], " SFT on traces →", fontsize=7, va="top", color="grey")
    ax.set(xlabel="step (pre-training, then SFT from the base weights)", ylabel="train next-token loss (minibatch)",
           title="(a) training: base (solid) and distillation (dashed)")
    ax.legend(fontsize=6.5)
    ax = fig.add_subplot(grid[0, 1])
    reps = replicate_sizes(result)
    for key, label, colour in (("base_accuracy", "base (terse answer)", BASELINE),
                               ("distilled_accuracy", "distilled (thinks, greedy)", METHOD)):
        acc = np.array([[r[n][key] for n in names] for r in reps])  # [seed, size]
        ax.scatter(np.repeat(d[None], len(reps), 0), acc, color=colour, s=12, alpha=0.5)
        ax.plot(d, acc.mean(0), marker="o", color=colour, label=f"{label}: mean of {len(reps)} seeds (dots)")
    ax.plot(d, np.array([np.mean(r["distilled_sampled_accuracy"]) for r in sizes]), marker="s", ls=":", color=METHOD,
            alpha=0.7, label=f"distilled (sampled, T={cfg.zoo.temperature:g})")
    steps = np.asarray(result["eval_n_steps"])
    for k, mk in ((1, "^"), (3, "v")):
        for key, colour in (("base_correct", BASELINE), ("distilled_correct", METHOD)) if (steps == k).any() else ():
            ax.plot(d, [np.mean(np.asarray(r[key])[steps == k]) for r in sizes], mk, color=colour, alpha=0.45, ms=4)
        ax.plot([], [], mk, color="grey", alpha=0.5, ms=4, label=f"{k}-step problems only")
    ax.set_xscale("log", base=2)
    ax.set_xticks(d, [str(x) for x in d])
    ax.set(ylim=(0, 1), xlabel="d_model", ylabel=f"answer accuracy ({n_eval} held-out problems)",
           title="(b) distillation performance vs size")
    ax.legend(fontsize=6.5, loc="upper left")
    ax = fig.add_subplot(grid[0, 2])
    x, w = np.arange(len(MARKER_CATEGORIES)), 0.8 / len(names)
    for j, (n, r, c) in enumerate(zip(names, sizes, colours, strict=True)):
        xs = x - 0.4 + w * (j + 0.5)
        ax.bar(xs, [np.mean(r["sampled_markers"][k]) for k in MARKER_CATEGORIES], w, color=c, label=f"{n} sampled")
        ax.plot(xs, [r["greedy_markers"][k] for k in MARKER_CATEGORIES], "o", color="k", mfc=c, ms=4,
                label="greedy" if j == 0 else None)
    for xi, k in zip(x, MARKER_CATEGORIES, strict=True):
        ax.hlines(result["teacher_markers"][k], xi - 0.45, xi + 0.45, color="crimson", lw=1.5,
                  label="teacher" if xi == 0 else None)
    ax.set_xticks(x, ["self-reflection\n(Wait)", "deductive\n(Therefore/Thus)", "alternative", "contrastive\n(But/However)"])
    ax.set(ylabel="markers per trace (distilled model, held-out problems)", title="(c) reasoning markers in generated traces")
    ax.legend(fontsize=6.5)
    text_panel(fig.add_subplot(grid[1, :]), [f"greedy traces of the largest distilled model ({names[-1]}):"] + [
        "  " + (t if len(t) <= 200 else t[:197] + "...") for t in sizes[-1]["examples"][:3]], fontsize=6.6)
    fig.suptitle("Fig. 1 (numbering: best guess): the miniature's model zoo, base vs R1-style distilled tiny Qwen2 pairs",
                 fontsize=10)
    return fig


FIGURE = Figure(
    paper="distill_features",
    id="fig1",
    title="Model zoo: base vs distilled tiny Qwen2 pairs on a synthetic reasoning language (numbering: best guess)",
    configs={s: Fig1Config(zoo=z) for s, z in ZOO_CONFIGS.items()},
    compute=compute,
    plot=plot,
    claims=claims,
    needs={"zoo": Need(ZOO, field="zoo")},
    est_seconds={"smoke": 1, "quick": 1, "paper": 1},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},  # the stage it reads needs the GPU at paper scale
    aliases=("model_pairs",),
    control=lambda cfg: dataclasses.replace(cfg, zoo=dataclasses.replace(cfg.zoo, base_steps=0, distill_steps=0)),
    control_label="untrained pair: 0 pre-training and 0 SFT steps",
)
# fmt: on
