"""Fig. 8 (numbering: best guess; spec F-g, ``figures/parallelogram_{2,5,10,20}.pdf``): feature geometry, the
"parallelogram loss" of analogy word pairs in base vs distilled models, per size of the zoo, over the zoo's seeds.
The official ``src/parallelogram.py`` scores every pair of a task's word pairs after PCA to ``n_comp`` dimensions;
the paper reads lower medians for the larger distills (14B distilled <= base on 5/5 tasks, 1.5B worse on 4/5) and
says this correlates with distillation performance (no code computes one). Here (``geometry_analysis``, whose
docstring gives the loss, variants and bootstrap): the language's analogies (number word <-> digit, singular <->
plural, present <-> past). ``official``: word alone at position 0, PCA per model; ``fixed``: word in context, one
shared PCA basis. Panels (seed 0): CDFs at ``plot_n_comp``; (b) median vs n_comp (the paper's red flag: <= 0.03);
(c) variance share on the top two components; (d) distilled-minus-base median vs distilled accuracy (Pearson r).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from distill_features.geometry_analysis import VARIANTS
from distill_features.stages import ZOO, ZOO_CONFIGS
from distill_features.zoo import ZooConfig
from repro.figure import Figure
from repro.stage import Need

PAPER_SIZES = ("1.5B", "7B", "14B")
# Median parallelogram loss (base, distilled) at n_comp = 2, from the official notebook's outputs (spec F-g).
PAPER_MEDIANS = {
    "1.5B": {"es": (0.64, 0.85), "de": (0.72, 0.76), "fr": (0.77, 0.81), "past": (0.60, 0.72), "plural": (0.71, 0.55)},
    "7B": {"es": (0.87, 0.76), "de": (0.70, 0.70), "fr": (0.79, 0.68), "past": (0.56, 0.65), "plural": (0.54, 0.69)},
    "14B": {"es": (0.77, 0.73), "de": (0.79, 0.73), "fr": (0.78, 0.68), "past": (0.62, 0.62), "plural": (0.55, 0.52)},
}  # fmt: skip
PAPER_14B = "; ".join(f"{t} {b:.2f}/{d:.2f}" for t, (b, d) in PAPER_MEDIANS["14B"].items())
PAPER_TASKS_OF = {"number": ("es", "de", "fr"), "plural": ("plural",), "past": ("past",)}
PAPER_NCOMP_SHIFT = 0.03  # the paper's medians move by at most this much from n_comp 2 to 20
STYLE, VCOL = {"official": "--", "fixed": "-"}, {"official": "#8172B3", "fixed": "#55A868"}


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
        from distill_features.geometry_analysis import check_config

        check_config(self)


def compute(cfg: Fig8Config, zoo: dict[str, Any]) -> dict[str, Any]:
    from distill_features.geometry_analysis import geometry_experiment

    return geometry_experiment(cfg, zoo)


# fmt: off
def claims(result: dict[str, Any], cfg: Fig8Config) -> list:
    """The paper: at 14B distilled median loss <= base on 5 of 5 tasks (1.5B: worse on 4 of 5). One value per zoo seed,
    t interval over seeds (one seed: the bootstraps over word pairs); the correlation is taken within each seed."""
    from distill_features import geometry_analysis as ga
    from repro.claims import Claim, official_code, our_choice

    k0, n_comp, names, tasks, reps = ga.plot_index(cfg), cfg.plot_n_comp, result["size_order"], result["tasks"], ga.stage_replicates(result)
    small, large, trained, src = names[0], names[-1], ga.answer_preconditions(result), "src/parallelogram.py outputs, notebooks/figures.ipynb cell 4 @ 0f9e477"
    bounds = "range allowed by the per-task 95% bootstrap intervals over word pairs"

    def spread(interval: tuple[float, float], how: str) -> dict[str, Any]:  # one seed: the bootstrap's interval
        return {"spread": f"{len(reps)} zoo seeds (t interval)"} if len(reps) > 1 else {"interval": interval, "spread": how}
    out = []
    for v in result["variants"]:
        cells, both = result["sizes"][large]["variants"][v]["tasks"], {"variant": v, "preconditions": trained}
        (lo, hi), (slo, shi) = ga.count_bounds(cells, k0), ga.count_bounds(result["sizes"][small]["variants"][v]["tasks"], k0)
        out.append(Claim(f"{large} (largest): tasks where the distilled median parallelogram loss <= base at n_comp "
                         f"{n_comp}", [ga.n_not_worse(r, large, v, k0) for r in reps], ">=", len(tasks),
                         **spread((lo, hi), bounds), paper=official_code(f"14B 5/5 ({PAPER_14B})", src), **both))
        for t, c in cells.items():
            paper = ", ".join(f"{p} {b:.2f}/{d:.2f}" for p, (b, d) in PAPER_MEDIANS["14B"].items() if p in PAPER_TASKS_OF.get(t, ()))
            out.append(Claim(f"{large} {t}: distilled minus base median loss at n_comp {n_comp}",
                             [r["sizes"][large]["variants"][v]["tasks"][t]["diff"][k0] for r in reps], "<=", 0.0,
                             **spread((c["diff_lo"][k0], c["diff_hi"][k0]), f"paired bootstrap over {len(result['pairs'][t])} word pairs"),
                             paper=official_code(f"14B {paper}", src), **both,
                             note=f"seed 0: base {c['median'][k0][0]:.2f} -> distilled {c['median'][k0][1]:.2f}"))
        out.append(Claim(f"more tasks with distilled <= base at the largest size than at the smallest ({small} -> "
                         f"{large}, of {len(tasks)})", [ga.n_not_worse(r, large, v, k0) - ga.n_not_worse(r, small, v, k0) for r in reps], ">", 0, **spread((lo - shi, hi - slo), bounds),
                         paper=official_code("1.5B 1/5 -> 14B 5/5", src), **both))
        out.append(Claim(f"medians barely change with n_comp: largest |median(n_comp) - median({cfg.n_comps[0]})| over "
                         f"sizes, tasks, models, n_comp in {cfg.n_comps} (capped by d)", [ga.ncomp_shift(r, v, 0) for r in reps],
                         "<=", PAPER_NCOMP_SHIFT, **spread(ga.shift_interval(result, v, seed=cfg.seed), "bootstrap over pairs of word pairs"),
                         **both, paper=official_code(f"<= {PAPER_NCOMP_SHIFT} from 2 to 20 (red flag: position-0 massive activations)", src)))
        corr = [ga.performance_correlation(r, v, k0)[2] for r in reps]
        out.append(Claim("distillation performance: Pearson r across sizes of (distilled - base median loss, task mean) "
                         "vs distilled accuracy, within each zoo seed", corr, "<", 0.0,
                         **spread((-1.0, 1.0), f"{len(names)} sizes, one seed: no interval possible (the whole range of r)"),
                         paper=our_choice("'correlates' (qualitative)", "the paper computes no statistic; Pearson r is ours"),
                         note=f"{len(names)} sizes per seed: tests the sign's consistency across seeds, not a trend", **both))
    return out


def plot(result: dict[str, Any], cfg: Fig8Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import NullFormatter

    from distill_features import geometry_analysis as ga
    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    names, tasks, variants, k0 = result["size_order"], result["tasks"], result["variants"], ga.plot_index(cfg)
    fig = plt.figure(figsize=(16, 3.1 * max(3, len(names))), constrained_layout=True)
    grid = fig.add_gridspec(max(3, len(names)), len(tasks) + 1, width_ratios=[1] * len(tasks) + [1.25])
    for i, n in enumerate(names):
        r = result["sizes"][n]
        for j, t in enumerate(tasks):
            ax, lines = fig.add_subplot(grid[i, j]), []
            for v in variants:
                c = r["variants"][v]["tasks"][t]
                for m, (label, colour) in enumerate((("base", BASELINE), ("distilled", METHOD))):
                    x = np.sort(np.asarray(c["values"])[k0, m])
                    ax.step(x, np.arange(1, len(x) + 1) / len(x), where="post", color=colour, ls=STYLE[v], lw=1.3,
                            label=f"{v} {label}" if i == j == 0 else None)
                (b, d), lo, hi = c["median"][k0], c["diff_lo"][k0], c["diff_hi"][k0]
                lines.append(f"{v}: {b:.2f}/{d:.2f} (Δ {d - b:+.2f} [{lo:+.2f},{hi:+.2f}])")
            ax.text(0.98, 0.03, "\n".join(lines), transform=ax.transAxes, ha="right", va="bottom", fontsize=6,
                    bbox={"fc": "white", "alpha": 0.8, "lw": 0})
            ax.set(xlim=(0, None), ylim=(0, 1), title=f"{t} ({len(result['pairs'][t])} pairs)" if i == 0 else "",
                   xlabel=f"parallelogram loss (n_comp {cfg.plot_n_comp})" if i == len(names) - 1 else "")
            paper_size = PAPER_SIZES[0] if i == 0 else PAPER_SIZES[-1] if i == len(names) - 1 else PAPER_SIZES[1]
            ax.set_ylabel(f"{n} (~{paper_size}) d={r['d_model']}\nCDF over pairs of pairs" if j == 0 else "")
            if i == j == 0:
                ax.legend(fontsize=6, loc="upper left")
    ax = fig.add_subplot(grid[0, -1])
    for v in variants:
        for r in result["sizes"].values():
            for c in r["variants"][v]["tasks"].values():
                med = np.asarray(c["median"])
                ax.plot(r["n_comp"], med - med[0], color=VCOL[v], ls=STYLE[v], marker=".", alpha=0.55, lw=0.9)
        ax.plot([], [], color=VCOL[v], ls=STYLE[v], label=f"{v}: max |shift| {ga.ncomp_shift(result, v, 0):.3f}")
    ax.axhspan(-PAPER_NCOMP_SHIFT, PAPER_NCOMP_SHIFT, color="grey", alpha=0.2, label="paper: within ±0.03")
    ax.set(xscale="log", xticks=list(cfg.n_comps), xticklabels=[str(k) for k in cfg.n_comps], xlabel="n_comp (capped by d)",
           ylabel=f"median(n_comp) - median({cfg.n_comps[0]})", title="(b) median vs n_comp: every size, task, model")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=6)
    ax, x = fig.add_subplot(grid[1, -1]), np.arange(len(names))
    bars = [(v, m) for v in variants for m in range(2)]
    for b, (v, m) in enumerate(bars):
        share, xs = ga.top2_share(result, v, m), x - 0.4 + 0.8 / len(bars) * (b + 0.5)
        ax.bar(xs, share, 0.8 / len(bars), color=(BASELINE, METHOD)[m], hatch="//" if v == "official" else None,
               edgecolor="white", label=f"{v} {('base', 'distilled')[m]}")
        for xi, s, n in zip(xs, share, names, strict=True):
            ax.text(xi, s + 0.01, f"|x| {result['sizes'][n]['variants'][v]['mean_norm'][m]:.3g}", rotation=90,
                    ha="center", va="bottom", fontsize=5.5)
    ax.set(xticks=x, xticklabels=names, ylim=(0, 1.25), ylabel="variance share on top 2 PCs (task mean)",
           title="(c) how 2-dimensional the words are (text: mean |x|)")
    ax.legend(fontsize=6, ncol=4, loc="upper center")
    ax = fig.add_subplot(grid[2, -1])
    for v in variants:
        for rep in ga.stage_replicates(result)[1:]:  # the other zoo seeds: their task means, unlabelled
            ax.scatter(*ga.performance_correlation(rep, v, k0)[:2], color=VCOL[v], marker="x", s=14, alpha=0.6)
        acc, diff, corr = ga.performance_correlation(result, v, k0)
        for t in tasks:
            ax.scatter(acc, [result["sizes"][n]["variants"][v]["tasks"][t]["diff"][k0] for n in names], color=VCOL[v],
                       s=10, alpha=0.4)
        ax.plot(acc, diff, color=VCOL[v], ls=STYLE[v], marker="o", label=f"{v}: task mean (Pearson r {corr:+.2f})")
        for a, dd, n in zip(acc, diff, names, strict=True):
            ax.annotate(n, (a, dd), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="distilled accuracy (fig1, greedy)", ylabel=f"distilled - base median loss (n_comp {cfg.plot_n_comp})",
           title="(d) 'distillation performance' (seed 0 line; x: other seeds)")
    ax.legend(fontsize=6)
    fig.suptitle("Fig. 8 (numbering: best guess): parallelogram loss of analogy pairs, base vs distilled (official: "
                 "word alone at position 0, PCA per model; fixed: in context, shared PCA)\n"
                 + "\n".join(ga.summary_lines(result, k0)), fontsize=10)
    return fig


FIGURE = Figure(
    paper="distill_features",
    id="fig8",
    title="Feature geometry: parallelogram loss of analogy pairs, base vs distilled, per size (numbering: best guess)",
    configs={"smoke": Fig8Config(zoo=ZOO_CONFIGS["smoke"], n_boot=50), "quick": Fig8Config(zoo=ZOO_CONFIGS["quick"]),
             "paper": Fig8Config(zoo=ZOO_CONFIGS["paper"], n_boot=2000)},
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
# fmt: on
