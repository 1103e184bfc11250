"""Fig. 8 (numbering: best guess; spec F-g, ``figures/parallelogram_{2,5,10,20}.pdf``): feature geometry, the
"parallelogram loss" of analogy word pairs in base vs distilled models, per size of the ``fig1`` zoo.

For a task's word pairs (a_i, b_i) the official ``src/parallelogram.py`` scores every pair of pairs (i, j) by
``||a_i - b_i - a_j + b_j|| / sqrt(||a_i||^2 + ||b_i||^2 + ||a_j||^2 + ||b_j||^2)`` after projecting the words
on ``n_comp`` principal components (``distill_features.geometry``), and draws the CDF of these losses for base
and distilled (rows sizes, columns tasks). The paper reads lower medians for the larger distills ("larger distilled
models are more structured": 14B distilled <= base on 5/5 tasks, 1.5B distilled worse on 4/5) and says this
correlates with distillation performance (no code computes a correlation).

Tasks: the synthetic language's analogies (``language.analogy_pairs``: number word <-> digit, singular <->
plural, present <-> past), keeping pairs whose two words are single tokens (all are, in the word-level tokenizer);
the paper's english-{spanish,german,french} / present-past / singular-plural (Todd et al.'s function-vector
JSONs). The paper's medians are quoted beside ours: plural and past against the paper's tasks of the same name,
number word <-> digit against the three translation tasks (the nearest analogue: one concept, two surface forms).

Representations: ``blocks.{n_layers // 2}.hook_resid_pre`` (the crosscoder's site), captured with a forward
pre-hook (``repro.hooks.edit_resid_pre``), one batched forward per model and condition. The models come from the
zoo stage (``distill_features.zoo``, rebuilt by ``pairs.zoo_from_result``); no crosscoder is involved. Computed by
``geometry_analysis.geometry_experiment``.

Variants (defect 6):
- ``official``: each word runs alone, its activation at position 0 (no BOS: TransformerLens sets
  ``default_prepend_bos=False`` for Qwen2 models, per the spec; not verifiable offline), PCA fitted separately per
  model, no confidence intervals in the paper (we add them to both variants). In the miniature, position 0 is
  always the EOS/BOS token in training, so a word there is out of distribution, as a content token at Qwen's
  attention-sink position is.
- ``fixed``: each word at the end of ``language.context_template(word)`` (``Tom has three`` / ``Tom has 3``; the
  same prefix for both words of a pair), run after the EOS/BOS token every training document follows, activation
  at the word's position; one PCA basis shared by both models (each model's words centred on their own mean).
Both over ``n_comps`` (2, 5, 10, 20), each capped by d. Medians get 95 % percentile-bootstrap CIs that resample
word pairs (``geometry.bootstrap_medians``: pairs of pairs share word pairs, so they are not independent); base and
distilled share the resamples, so the difference has a paired CI.

Panels: CDFs at ``n_comp = plot_n_comp`` (rows sizes, columns tasks; official dashed, fixed solid); the change of
each median from n_comp 2 to larger n_comp (the paper's red flag: <= 0.03, i.e. the variance sits in about 2
directions, consistent with position-0 massive activations), with the share of variance on the top two
components as its diagnostic; and the "distillation performance" correlation: distilled-minus-base median
(mean over tasks) against the distilled model's fig1 accuracy, across sizes. Three sizes make three points: the
panel and its Pearson r show only the mechanics, not evidence.

Choices the spec leaves open: bootstrap ``n_boot`` resamples, seed ``seed`` (the same resamples in every cell);
the correlation statistic (Pearson r over sizes of the task-mean difference at n_comp 2); the zoo's sizes map to
the paper's 1.5B / 7B / 14B by order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from distill_features.stages import ZOO, ZOO_CONFIGS
from distill_features.zoo import ZooConfig
from repro.figure import Figure
from repro.stage import Need

VARIANTS = ("official", "fixed")
PAPER_SIZES = ("1.5B", "7B", "14B")
# Median parallelogram loss (base, distilled) at n_comp = 2, from the official notebook's outputs (spec F-g).
PAPER_MEDIANS = {
    "1.5B": {"es": (0.64, 0.85), "de": (0.72, 0.76), "fr": (0.77, 0.81), "past": (0.60, 0.72), "plural": (0.71, 0.55)},
    "7B": {"es": (0.87, 0.76), "de": (0.70, 0.70), "fr": (0.79, 0.68), "past": (0.56, 0.65), "plural": (0.54, 0.69)},
    "14B": {"es": (0.77, 0.73), "de": (0.79, 0.73), "fr": (0.78, 0.68), "past": (0.62, 0.62), "plural": (0.55, 0.52)},
}  # fmt: skip
PAPER_TASKS_OF = {"number": ("es", "de", "fr"), "plural": ("plural",), "past": ("past",)}
PAPER_NCOMP_SHIFT = 0.03  # the paper's medians move by at most this much from n_comp 2 to 20


@dataclass(frozen=True)
class Fig8Config:
    zoo: ZooConfig = field(default_factory=ZooConfig)  # the zoo whose models are analysed
    n_comps: tuple[int, ...] = (2, 5, 10, 20)
    plot_n_comp: int = 2
    n_boot: int = 1000
    level: float = 0.95
    seed: int = 0
    variants: tuple[str, ...] = VARIANTS
    untrained_models: bool = (
        False  # the control: every model replaced by a random-init one of its architecture
    )
    n_answer_check: int = 40  # held-out problems the distilled model must answer (the claims' precondition)

    def __post_init__(self) -> None:
        if not self.n_comps or list(self.n_comps) != sorted(set(self.n_comps)) or self.n_comps[0] < 1:
            raise ValueError(f"n_comps must be strictly increasing positive integers, got {self.n_comps}")
        if self.plot_n_comp not in self.n_comps:
            raise ValueError(f"plot_n_comp {self.plot_n_comp} must be one of n_comps {self.n_comps}")
        if self.n_boot < 10 or not 0 < self.level < 1:
            raise ValueError("n_boot must be >= 10 and level in (0, 1)")
        if not set(self.variants) <= set(VARIANTS) or not self.variants:
            raise ValueError(f"variants must be a non-empty subset of {VARIANTS}")


def compute(cfg: Fig8Config, zoo: dict[str, Any]) -> dict[str, Any]:
    from distill_features.geometry_analysis import geometry_experiment

    return geometry_experiment(cfg, zoo)


def _paper_size(result: dict[str, Any], name: str) -> str:
    """The paper's size at the same rank (smallest -> 1.5B, largest -> 14B, the middle ones -> 7B)."""
    i, n = result["size_order"].index(name), len(result["size_order"])
    return PAPER_SIZES[0] if i == 0 else PAPER_SIZES[-1] if i == n - 1 else PAPER_SIZES[1]


def _paper_text(paper_size: str, task: str) -> str:
    med = PAPER_MEDIANS[paper_size]
    return ", ".join(f"{p} {med[p][0]:.2f}/{med[p][1]:.2f}" for p in PAPER_TASKS_OF.get(task, ()))


def claims(result: dict[str, Any], cfg: Fig8Config) -> list:
    """The paper (official ``parallelogram.py`` outputs, spec F-g): larger distilled models are more structured:
    at 14B the distilled median parallelogram loss is <= the base's on 5 of 5 tasks (1.5B: worse on 4 of 5), and
    this "correlates with distillation performance" (qualitative; no code computes it). Tested per task at the
    largest size as the sign of distilled - base median with the paired bootstrap over word pairs; the task
    counts carry the range the per-task intervals allow. The medians barely moving with n_comp (<= 0.03, the red
    flag) is tested with a bootstrap over pairs of pairs. The correlation across sizes has 3 points, so no
    interval is possible: it is inconclusive by design (interval = the whole range of r) and claims no trend.
    Precondition: the distilled model answers held-out problems (an untrained control does not)."""
    from distill_features.geometry_analysis import (
        count_bounds,
        n_not_worse,
        ncomp_shift,
        performance_correlation,
        plot_index,
        shift_interval,
    )
    from repro.claims import Claim, official_code, our_choice, precondition

    k0 = plot_index(cfg)
    names, tasks = result["size_order"], result["tasks"]
    small, large = names[0], names[-1]
    n_comp = cfg.plot_n_comp
    src = "src/parallelogram.py outputs, notebooks/figures.ipynb cell 4 @ 0f9e477"
    paper_14b = "; ".join(f"{t} {b:.2f}/{d:.2f}" for t, (b, d) in PAPER_MEDIANS["14B"].items())
    trained = tuple(
        precondition(f"{n}: the distilled model answers held-out problems (share with an answer)",
                     result["sizes"][n].get("answered", float("nan")), ">=", 0.5)
        for n in names
    )  # fmt: skip
    out = []
    for v in result["variants"]:
        cells = result["sizes"][large]["variants"][v]["tasks"]
        lo, hi = count_bounds(cells, k0)
        out.append(Claim(
            f"{large} (largest): tasks where the distilled median parallelogram loss <= base at n_comp {n_comp}",
            (n_not_worse(result, large, v, k0),), ">=", len(tasks), variant=v, preconditions=trained,
            interval=(lo, hi), spread="range allowed by the per-task 95% bootstrap intervals over word pairs",
            paper=official_code(f"14B 5/5 ({paper_14b})", src),
        ))  # fmt: skip
        for t, c in cells.items():
            b, d = c["median"][k0]
            out.append(Claim(
                f"{large} {t}: distilled minus base median loss at n_comp {n_comp}", (c["diff"][k0],), "<=", 0.0,
                variant=v, preconditions=trained, interval=(c["diff_lo"][k0], c["diff_hi"][k0]),
                spread=f"paired bootstrap over {len(result['pairs'][t])} word pairs",
                paper=official_code(f"14B {_paper_text('14B', t)}", src), note=f"base {b:.2f} -> distilled {d:.2f}",
            ))  # fmt: skip
        slo, shi = count_bounds(result["sizes"][small]["variants"][v]["tasks"], k0)
        gain = n_not_worse(result, large, v, k0) - n_not_worse(result, small, v, k0)
        out.append(Claim(
            f"more tasks with distilled <= base at the largest size than at the smallest ({small} -> {large}, "
            f"of {len(tasks)})", (gain,), ">", 0, variant=v, preconditions=trained, interval=(lo - shi, hi - slo),
            spread="range allowed by the per-task 95% bootstrap intervals over word pairs",
            paper=official_code("1.5B 1/5 -> 14B 5/5", src),
        ))  # fmt: skip
        out.append(Claim(
            f"medians barely change with n_comp: largest |median(n_comp) - median({cfg.n_comps[0]})| over "
            f"sizes, tasks, models, n_comp in {cfg.n_comps} (capped by d)",
            (ncomp_shift(result, v, 0),), "<=", PAPER_NCOMP_SHIFT, variant=v, preconditions=trained,
            interval=shift_interval(result, v, seed=cfg.seed), spread="bootstrap over pairs of word pairs",
            paper=official_code(f"<= {PAPER_NCOMP_SHIFT} from 2 to 20 (red flag: position-0 massive activations)",
                                src),
        ))  # fmt: skip
        _, _, corr = performance_correlation(result, v, k0)
        out.append(Claim(
            "distillation performance: Pearson r across sizes of (distilled - base median loss, task mean) vs "
            "distilled accuracy", (corr,), "<", 0.0, variant=v, preconditions=trained, interval=(-1.0, 1.0),
            spread=f"{len(names)} sizes: no interval possible (the whole range of r)",
            paper=our_choice("'correlates' (qualitative)", "the paper computes no statistic; Pearson r is ours"),
            note=f"inconclusive by design: {len(names)} points cannot support a trend",
        ))  # fmt: skip
    return out


# ----------------------------------------------------------------------------------------------- plot
def plot(result: dict[str, Any], cfg: Fig8Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import NullFormatter

    from distill_features.geometry_analysis import (
        n_not_worse,
        n_resolved,
        ncomp_shift,
        performance_correlation,
        plot_index,
    )
    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    names, tasks, variants = result["size_order"], result["tasks"], result["variants"]
    k0 = plot_index(cfg)
    style = {"official": "--", "fixed": "-"}
    vcol = {"official": "#8172B3", "fixed": "#55A868"}
    fig = plt.figure(figsize=(16, 3.1 * max(3, len(names))), constrained_layout=True)
    grid = fig.add_gridspec(max(3, len(names)), len(tasks) + 1, width_ratios=[1] * len(tasks) + [1.25])

    for i, n in enumerate(names):
        r = result["sizes"][n]
        for j, t in enumerate(tasks):
            ax = fig.add_subplot(grid[i, j])
            lines = []
            for v in variants:
                c = r["variants"][v]["tasks"][t]
                for m, (label, colour) in enumerate((("base", BASELINE), ("distilled", METHOD))):
                    x = np.sort(np.asarray(c["values"])[k0, m])
                    ax.step(x, np.arange(1, len(x) + 1) / len(x), where="post", color=colour, ls=style[v],
                            lw=1.3, label=f"{v} {label}" if i == j == 0 else None)  # fmt: skip
                (b, d), lo, hi = c["median"][k0], c["diff_lo"][k0], c["diff_hi"][k0]
                lines.append(f"{v}: {b:.2f}/{d:.2f} (Δ {d - b:+.2f} [{lo:+.2f},{hi:+.2f}])")
            ax.text(0.98, 0.03, "\n".join(lines), transform=ax.transAxes, ha="right", va="bottom", fontsize=6,
                    bbox={"fc": "white", "alpha": 0.8, "lw": 0})  # fmt: skip
            ax.set_xlim(0, None)
            ax.set_ylim(0, 1)
            if i == 0:
                ax.set_title(f"{t} ({len(result['pairs'][t])} pairs)")
            if j == 0:
                ax.set_ylabel(f"{n} (~{_paper_size(result, n)}) d={r['d_model']}\nCDF over pairs of pairs")
            if i == len(names) - 1:
                ax.set_xlabel(f"parallelogram loss (n_comp {cfg.plot_n_comp})")
            if i == j == 0:
                ax.legend(fontsize=6, loc="upper left")

    ax = fig.add_subplot(grid[0, -1])
    for v in variants:
        for n in names:
            r = result["sizes"][n]
            for t in tasks:
                med = np.asarray(r["variants"][v]["tasks"][t]["median"])
                for m in range(2):
                    ax.plot(r["n_comp"], med[:, m] - med[0, m], color=vcol[v], ls=style[v], marker=".",
                            alpha=0.55, lw=0.9)  # fmt: skip
        ax.plot([], [], color=vcol[v], ls=style[v], label=f"{v}: max |shift| {ncomp_shift(result, v, 0):.3f}")
    ax.axhspan(-PAPER_NCOMP_SHIFT, PAPER_NCOMP_SHIFT, color="grey", alpha=0.2, label="paper: within ±0.03")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(list(cfg.n_comps), [str(k) for k in cfg.n_comps])
    ax.set(xlabel="n_comp (capped by d)", ylabel=f"median(n_comp) - median({cfg.n_comps[0]})",
           title="(b) median vs n_comp: every size, task, model")  # fmt: skip
    ax.legend(fontsize=6)

    ax = fig.add_subplot(grid[1, -1])
    x = np.arange(len(names))
    bars = [(v, m) for v in variants for m in range(2)]
    w = 0.8 / len(bars)
    for b, (v, m) in enumerate(bars):
        share = [
            np.mean([result["sizes"][n]["variants"][v]["tasks"][t]["top2_share"][m] for t in tasks])
            for n in names
        ]
        norms = [result["sizes"][n]["variants"][v]["mean_norm"][m] for n in names]
        xs = x - 0.4 + w * (b + 0.5)
        ax.bar(xs, share, w, color=(BASELINE, METHOD)[m], hatch="//" if v == "official" else None,
               edgecolor="white", label=f"{v} {('base', 'distilled')[m]}")  # fmt: skip
        for xi, s, nm in zip(xs, share, norms, strict=True):
            ax.text(xi, s + 0.01, f"|x| {nm:.3g}", rotation=90, ha="center", va="bottom", fontsize=5.5)
    ax.set(xticks=x, xticklabels=names, ylim=(0, 1.25), ylabel="variance share on top 2 PCs (task mean)",
           title="(c) how 2-dimensional the words are (text: mean |x|)")  # fmt: skip
    ax.legend(fontsize=6, ncol=4, loc="upper center")

    ax = fig.add_subplot(grid[2, -1])
    for v in variants:
        acc, diff, corr = performance_correlation(result, v, k0)
        for t in tasks:
            td = [result["sizes"][n]["variants"][v]["tasks"][t]["diff"][k0] for n in names]
            ax.scatter(acc, td, color=vcol[v], s=10, alpha=0.4)
        ax.plot(
            acc, diff, color=vcol[v], ls=style[v], marker="o", label=f"{v}: task mean (Pearson r {corr:+.2f})"
        )
        for a, dd, n in zip(acc, diff, names, strict=True):
            ax.annotate(n, (a, dd), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="distilled accuracy (fig1, greedy)", ylabel=f"distilled - base median loss (n_comp {cfg.plot_n_comp})",
           title=f"(d) 'distillation performance': {len(names)} points, mechanics only")  # fmt: skip
    ax.legend(fontsize=6)

    summary = "\n".join(
        f"{v}: largest size distilled <= base on {n_not_worse(result, names[-1], v, k0)}/{len(tasks)} tasks, "
        f"smallest {n_not_worse(result, names[0], v, k0)}/{len(tasks)}, n_comp shift {ncomp_shift(result, v, 0):.3f}, "
        f"CI of the difference excludes 0 in {n_resolved(result, v, k0)}/{len(names) * len(tasks)} cells"
        for v in variants
    )
    fig.suptitle(
        "Fig. 8 (numbering: best guess): parallelogram loss of analogy pairs, base vs distilled "
        "(official: word alone at position 0, PCA per model; fixed: in context, shared PCA)\n" + summary,
        fontsize=10,
    )
    return fig


FIGURE = Figure(
    paper="distill_features",
    id="fig8",
    title="Feature geometry: parallelogram loss of analogy pairs, base vs distilled, per size (numbering: best guess)",
    configs={
        "smoke": Fig8Config(zoo=ZOO_CONFIGS["smoke"], n_boot=50),
        "quick": Fig8Config(zoo=ZOO_CONFIGS["quick"]),
        "paper": Fig8Config(zoo=ZOO_CONFIGS["paper"], n_boot=2000),
    },
    compute=compute,
    needs={"zoo": Need(ZOO, field="zoo")},
    plot=plot,
    claims=claims,
    variants=VARIANTS,
    est_seconds={"smoke": 3, "quick": 30, "paper": 120},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("geometry",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_models=True),
    control_label="random-init base and distilled models (untrained)",
)
