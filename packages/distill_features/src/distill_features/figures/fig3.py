"""Fig. 3 (numbering: best guess; spec F-b, ``figures/wait_plot.pdf``): relative decoder norms of the
self-reflection latents, per model size.

Per size of the zoo and its crosscoders (``latent_selection.selection_by_size``, whose docstring gives the variants
and the two checks the paper lacks), the latents are selected by the paper's rule (``run_wait_analysis.py``): a
"Wait latent" fires on more than ``select_frac`` (10 %) of the largest firing count over latents at the
self-reflection marker tokens ("Wait", matched by token id, so also the verb in generic prose, as the paper's " Wait"
id was). The histogram of their r (log count) has its extreme bins (r < ``extreme``, r > 1 - ``extreme``) in red.
The paper's density diagnostics are counted on the evaluation windows (latents firing at least once on a Wait token,
passing the cut, firing on every one), compared as fractions of the dictionary (8 x d here, 32,768 there); the
"fire at least once" count grows with the number of Wait tokens (3,565 in the paper, a few dozen here). Beside the
rule, a precision-based selection (at least ``precision_min`` of the latent's firings on Wait tokens, firing on at
least ``rate_min`` of them) shows what the count rule picks: the firing densities of both sets.
Variants: ``official`` = L1 crosscoder, raw x into W_enc (defect 3), L1 r (defect 5), also under the fixed
analysis; ``fixed`` = BatchTopK, normalised x, L2 r. Latent Scaling confirms extreme-r picks (max(nu_r, nu_eps) <
``ls_flag``). Choices the spec leaves open: 20 bins over [0, 1]; extreme bins r < 0.1 and r > 0.9 (spec: [0.01, 0.11] /
[0.89, 0.99]); the "middle" size is ``size_order[len // 2]``; precision_min 0.3, rate_min 0.1; ls_flag 0.5.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from distill_features.latent_selection import VARIANTS
from distill_features.replicates import claims_over_replicates
from distill_features.stages import CROSSCODERS_CONFIGS, LATENT_NEEDS, ReadsLatents
from repro.figure import Figure

PAPER_SIZES = ("1.5B", "7B", "14B")
PAPER_DICT = 32_768
PAPER_DENSITY = {
    "fire_once": (18_356, 20_836, 16_941),
    "pass_cut": (2_214, 2_520, 1_694),
    "every": (53, 66, 31),
}


@dataclass(frozen=True)
class Fig3Config(ReadsLatents):
    select_frac: float = 0.1
    precision_min: float = 0.3
    rate_min: float = 0.1
    extreme: float = 0.1
    ls_flag: float = 0.5
    bins: int = 20
    category: str = "self_reflection"
    variants: tuple[str, ...] = VARIANTS
    untrained_crosscoder: bool = False  # the control: the stage's crosscoders replaced by untrained ones

    def __post_init__(self) -> None:
        from distill_features.language import MARKERS
        from distill_features.latent_selection import check_selection_fields

        check_selection_fields(self)
        if self.category not in MARKERS[1:]:
            raise ValueError(f"category must be one of {MARKERS[1:]}, got {self.category!r}")


def compute(cfg: Fig3Config, zoo: dict[str, Any], crosscoders: dict[str, Any]) -> dict[str, Any]:
    from distill_features.latent_selection import selection_by_size
    from distill_features.replicates import per_replicate

    return per_replicate(zoo, crosscoders, selection_by_size, cfg)


# fmt: off
def plot(result: dict[str, Any], cfg: Fig3Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from distill_features import latent_selection as ls
    from distill_features.figures._common import hist_title, r_histogram
    from repro.plot import set_style

    set_style()
    c, s = ls.class_index(result, cfg), ls.summary_by_size(result, cfg)
    names, variants, ncol = result["size_order"], ls.result_variants(result), len(result["size_order"]) + 2
    fig, axes = plt.subplots(len(variants), ncol, figsize=(3.3 * ncol, 3.3 * len(variants)), squeeze=False)
    for i, v in enumerate(variants):
        how = "L1 r, raw x into W_enc" if v == "official" else "L2 r, normalised x"
        for j, size in enumerate(names):
            sel = result["sizes"][size][v]
            r = np.asarray(sel["r"], float)
            r_histogram(axes[i, j], r[np.asarray(sel["selected"][c], bool)], r[np.asarray(sel["precision_selected"][c], bool)],
                        cfg, hist_title(f"[{v}] {size} ({how})", s[f"{size}/{v}"], cfg))
        ax, x, w = axes[i, len(names)], np.arange(len(names)), 0.27
        for k, (key, label) in enumerate((("fire_once", "fire >= once on Wait"), ("pass_cut", "pass 10 % cut"),
                                          ("every", "fire on every Wait"))):
            ax.bar(x + (k - 1) * w, [s[f"{n}/{v}"][key] / s[f"{n}/{v}"]["dict"] for n in names], w, color=f"C{k}", label=label)
            paper = [p / PAPER_DICT for p in PAPER_DENSITY[key]]
            ax.scatter(x[: len(paper)] + (k - 1) * w, paper[: len(names)], marker="_", s=200, color="k", zorder=3)
        ax.set_yscale("log")
        ax.set(ylim=(1e-4, 1.5), xticks=x, xticklabels=names, ylabel="fraction of the dictionary",
               title=f"[{v}] density ({s[f'{names[0]}/{v}']['n_tokens']} Wait tokens; paper 3,565)\n"
                     "black dashes: paper 1.5B / 7B / 14B")
        ax.legend(fontsize=6, loc="lower left")
        ax = axes[i, len(names) + 1]
        data = [np.concatenate([s[f"{n}/{v}"][k] for n in names]) for k in ("density_all", "density_rule", "density_prec")]
        ax.boxplot([d[d > 0] if len(d[d > 0]) else np.array([np.nan]) for d in data],
                   tick_labels=["all firing latents", "paper rule", "precision"], showfliers=False)
        ax.set_yscale("log")
        ax.set(ylabel="share of eval tokens the latent fires on", title=f"[{v}] firing density of selected latents\n(all sizes pooled)")
    fig.suptitle(f"Wait-token ({cfg.category}) latents: r of the latents the paper's count rule selects, per size (red: "
                 f"extreme bins; LS-conf.: Latent Scaling max(nu_r, nu_eps) < {cfg.ls_flag:g}; correct analysis: the "
                 "official L1 crosscoder with normalised input and L2 r)", fontsize=10)
    fig.tight_layout()
    return fig


def claims_one_replicate(result: dict[str, Any], cfg: Fig3Config) -> list:
    """The paper (spec F-b): the Wait latents' r histogram has a populated r≈1 bin at 7B and r≈0 bin at 14B (read off
    ``wait_plot.pdf``); its L1 crosscoder is dense (official outputs: 56 / 64 / 52 % of the dictionary fire at least
    once on " Wait", 6.8 / 7.7 / 5.2 % pass the cut, 53 / 66 / 31 fire on every one). Counts at a threshold are fragile
    across machines, so each has a bootstrap interval over the dictionary's latents (one crosscoder per size, as in the
    paper). For BatchTopK (fixed) the claim is the fix's: far fewer latents fire on Wait than the paper's 56 %.
    Preconditions: the crosscoder reconstructs and the evaluation windows contain Wait tokens."""
    import numpy as np

    from distill_features import latent_selection as ls
    from distill_features.verdicts import count_interval, crosscoder_precondition, markers_precondition
    from repro.claims import Claim, bootstrap_interval, official_code, our_choice, read_off_plot

    c, s, names = ls.class_index(result, cfg), ls.summary_by_size(result, cfg), result["size_order"]
    mid, big = names[len(names) // 2], names[-1]
    hi, lo = f"r > {1 - cfg.extreme:g}", f"r < {cfg.extreme:g}"
    plot_src = "figures/wait_plot.pdf (spec F-b)"
    dens_src = "run_wait_analysis.py outputs, notebooks/figures.ipynb cell 2 @ 0f9e477"
    out = []
    for v in ls.result_variants(result):
        ind = {n: ls.indicators(result["sizes"][n][v], c, cfg) for n in names}
        pre = {n: (crosscoder_precondition(result.get("crosscoder_ev"), f"{n}/{v}"),
                   markers_precondition(s[f"{n}/{v}"]["n_tokens"], f"{n} evaluation windows (Wait)")) for n in names}
        every_pre = tuple(p for n in names for p in pre[n])

        def count(stmt: str, key: str, sizes: list[str], paper: Any, ind=ind, v=v, pre=pre, every_pre=every_pre) -> Claim:
            x = np.concatenate([ind[n][key] for n in sizes])
            return Claim(stmt, (float(x.sum()),), ">=", 1, paper=paper, variant=v, interval=count_interval(x),
                         spread=f"Wilson interval over {len(x)} latents", preconditions=every_pre if len(sizes) > 1 else pre[sizes[0]])

        def fraction(n: str, stmt: str, x: Any, rel: str, bound: float, paper: Any, v=v, pre=pre) -> Claim:
            return Claim(f"{n} {stmt}", (x.mean(),), rel, bound, variant=v, interval=bootstrap_interval(x),
                         preconditions=pre[n], spread=f"bootstrap over {len(x)} latents", paper=paper)

        out += [
            count(f"{mid} (middle size): Wait latents (paper rule) in the {hi} bin", "high", [mid],
                  read_off_plot("r≈1 bin populated (7B)", plot_src)),
            count(f"{big} (largest size): Wait latents (paper rule) in the {lo} bin", "low", [big],
                  read_off_plot("r≈0 bin populated (14B)", plot_src)),
            count(f"Wait latents (paper rule) in the {hi} bin, all sizes together", "high", names,
                  read_off_plot("yes (7B)", plot_src)),
            count(f"Wait latents (precision selection) in the {hi} bin, all sizes together", "prec_high", names,
                  our_choice(None, "the fix's selection: the paper did not compute it")),
            count(f"Wait latents (paper rule, {hi}) that Latent Scaling confirms (max(nu_r, nu_eps) < "
                  f"{cfg.ls_flag:g}), all sizes together", "high_confirmed", names,
                  our_choice(None, "Minder et al.'s check; the paper did not run it")),
        ]
        for i, n in enumerate(names):
            paper_size = PAPER_SIZES[min(i, len(PAPER_SIZES) - 1)]
            if v == "official":  # the paper's density criteria, for the L1 crosscoder they describe
                for key, what, bound in (("fire_once", "firing at least once on a Wait token", 0.5),
                                         ("pass_cut", "passing the 10 % cut", 0.05)):
                    p = PAPER_DENSITY[key][min(i, 2)]
                    out.append(fraction(n, f"(L1 crosscoder): fraction of the dictionary {what}", ind[n][key].astype(float),
                                        ">", bound, official_code(f"{p / PAPER_DICT:.3f} ({p:,} / 32,768, {paper_size})", dens_src)))
                out.append(count(f"{n} (L1 crosscoder): latents firing on every Wait token", "every", [n],
                                 official_code(f"{PAPER_DENSITY['every'][min(i, 2)]} ({paper_size})", dens_src)))
            else:  # BatchTopK: the fix's claim, that the density was an artifact
                p = PAPER_DENSITY["fire_once"][min(i, 2)] / PAPER_DICT
                out.append(fraction(n, "(BatchTopK crosscoder): fraction of the dictionary firing at least once on a Wait "
                                    "token, below the paper's L1 density", ind[n]["fire_once"].astype(float), "<", round(p, 3),
                                    official_code(f"{p:.3f} (L1, {paper_size})", dens_src)))
        rule = np.concatenate([s[f"{n}/{v}"]["density_rule"] for n in names])
        prec = np.concatenate([s[f"{n}/{v}"]["density_prec"] for n in names])
        out.append(Claim("the paper's rule selects denser latents than the precision selection (median firing density "
                         "ratio, sizes pooled; NaN if nothing passes the precision selection)", (ls.density_ratio(rule, prec),),
                         ">", 1, variant=v, interval=ls.ratio_of_medians_interval(rule, prec), preconditions=every_pre,
                         spread=f"bootstrap over {len(rule)} / {len(prec)} selected latents",
                         paper=our_choice(None, "the fix's diagnosis of the density the paper notes")))
    return out
# fmt: on


FIGURE = Figure(
    paper="distill_features",
    id="fig3",
    title="Relative decoder norms of self-reflection (Wait) latents by model size (numbering: best guess)",
    configs={s: Fig3Config(crosscoders=c) for s, c in CROSSCODERS_CONFIGS.items()},
    compute=compute,
    needs=LATENT_NEEDS,
    plot=plot,
    claims=lambda result, cfg: claims_over_replicates(result, cfg, claims_one_replicate),
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 30, "paper": 600},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("self_reflection_by_size",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
