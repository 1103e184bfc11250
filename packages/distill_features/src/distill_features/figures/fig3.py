"""Fig. 3 (numbering: best guess; spec F-b, ``figures/wait_plot.pdf``): relative decoder norms of the
self-reflection latents, per model size.

Per size of the zoo and its crosscoders (stages ``distill_features.zoo`` and ``distill_features.crosscoders``,
analysed by ``latent_selection.selection_by_size``), the latents are selected by the paper's rule (``run_wait_analysis.py``): a latent is a "Wait latent" when it fires on more than
``select_frac`` (10 %) of the largest firing count over latents at the self-reflection marker tokens ("Wait",
matched by token id, so also the verb in generic prose, as the paper's " Wait" id was). The histogram of their r
(log count) has its extreme bins (r < ``extreme``, r > 1 - ``extreme``) in red. The paper's density diagnostics
are counted on the held-out evaluation windows: latents firing at least once on a Wait token, passing the cut, and
firing on every Wait token; with a dictionary of 8 x d instead of 32,768 they are compared as fractions of the
dictionary. Beside the rule, a precision-based selection (``selected_by_precision``: at least
``precision_min`` of the latent's firings are on Wait tokens and it fires on at least ``rate_min`` of them) shows
what the count rule picks: the firing density (share of all evaluation tokens a latent fires on) of both sets.

Variants (official code vs fix):
- ``official``: the L1 crosscoder; latent activity = ReLU(x W_enc + b_enc) on RAW activations (the analysis
  skipped the training normalisation: defect 3; the raw residual norms differ from the training units by each
  size's scale, at quick about 5x smaller at d=32 and 4x larger at d=128, so the official analysis under-fires at
  small sizes and over-fires at large ones); r from L1 norms of the decoder rows (defect 5).
- ``fixed``: the BatchTopK crosscoder, activations normalised as in training (``Crosscoder.encode``, learned
  threshold), r from L2 norms.

Two checks the paper lacks: Latent Scaling (Minder et al., ``analysis.latent_scaling_crosscoder`` on the real,
normalised activations) of every extreme-r latent a selection picks, counting it "confirmed" exclusive when
max(nu_r, nu_eps) < ``ls_flag`` (NaN, i.e. never firing under the real encoding: not confirmed); and, for the
official variant, the same L1 crosscoder under the fixed analysis, which tells whether a difference between the
variants comes from the crosscoder (L1 vs BatchTopK) or from the analysis defects. The paper's "fire at least once"
count grows with the number of Wait tokens (3,565 in the paper, a few dozen in the evaluation windows here).

Choices the spec leaves open: 20 bins over [0, 1]; the extreme bins are r < 0.1 and r > 0.9 (spec: the
[0.01, 0.11] / [0.89, 0.99] bins); the "middle" size is ``size_order[len // 2]``; precision_min 0.3, rate_min 0.1; ls_flag 0.5 (fig2's).
Claims over several sizes use the minimum over sizes where the paper gives a number per size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from distill_features.stages import CROSSCODERS_CONFIGS, LATENT_NEEDS, ReadsLatents
from repro.figure import Figure

VARIANTS = ("official", "fixed")
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
    from distill_features import latents_setup
    from distill_features.latent_selection import selection_by_size

    return selection_by_size(latents_setup.from_results(zoo, crosscoders), cfg)


def plot(result: dict[str, Any], cfg: Fig3Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from distill_features.figures._common import hist_title, r_histogram
    from distill_features.latent_selection import class_index, result_variants, summary_by_size
    from repro.plot import set_style

    set_style()
    c = class_index(result, cfg)
    s = summary_by_size(result, cfg)
    names, variants = result["size_order"], result_variants(result)
    ncol = len(names) + 2
    fig, axes = plt.subplots(len(variants), ncol, figsize=(3.3 * ncol, 3.3 * len(variants)), squeeze=False)
    for i, v in enumerate(variants):
        how = "L1 r, raw x into W_enc" if v == "official" else "L2 r, normalised x"
        for j, size in enumerate(names):
            sel = result["sizes"][size][v]
            r = np.asarray(sel["r"], float)
            q = s[f"{size}/{v}"]
            r_histogram(axes[i, j], r[np.asarray(sel["selected"][c], bool)],
                        r[np.asarray(sel["precision_selected"][c], bool)], cfg,
                        hist_title(f"[{v}] {size} ({how})", q, cfg))  # fmt: skip
        ax = axes[i, len(names)]
        x = np.arange(len(names))
        w = 0.27
        for k, (key, label) in enumerate((("fire_once", "fire >= once on Wait"), ("pass_cut", "pass 10 % cut"),
                                          ("every", "fire on every Wait"))):  # fmt: skip
            ours = [s[f"{n}/{v}"][key] / s[f"{n}/{v}"]["dict"] for n in names]
            ax.bar(x + (k - 1) * w, ours, w, color=f"C{k}", label=label)
            paper = [p / PAPER_DICT for p in PAPER_DENSITY[key]]
            ax.scatter(
                x[: len(paper)] + (k - 1) * w, paper[: len(names)], marker="_", s=200, color="k", zorder=3
            )
        ax.set_yscale("log")
        ax.set_ylim(1e-4, 1.5)
        ax.set(xticks=x, xticklabels=names, ylabel="fraction of the dictionary",
               title=f"[{v}] density ({s[f'{names[0]}/{v}']['n_tokens']} Wait tokens; paper 3,565)\n"
                     "black dashes: paper 1.5B / 7B / 14B")  # fmt: skip
        ax.legend(fontsize=6, loc="lower left")
        ax = axes[i, len(names) + 1]
        data = [
            np.concatenate([s[f"{n}/{v}"][k] for n in names])
            for k in ("density_all", "density_rule", "density_prec")
        ]
        data = [d[d > 0] if len(d[d > 0]) else np.array([np.nan]) for d in data]
        ax.boxplot(data, tick_labels=["all firing latents", "paper rule", "precision"], showfliers=False)
        ax.set_yscale("log")
        ax.set(ylabel="share of eval tokens the latent fires on",
               title=f"[{v}] firing density of selected latents\n(all sizes pooled)")  # fmt: skip
    fig.suptitle(
        f"Wait-token ({cfg.category}) latents: r of the latents the paper's count rule selects, per size (red: "
        f"extreme bins; LS-conf.: Latent Scaling max(nu_r, nu_eps) < {cfg.ls_flag:g}; correct analysis: the "
        "official L1 crosscoder with normalised input and L2 r)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def claims(result: dict[str, Any], cfg: Fig3Config) -> list:
    """What the paper shows (spec F-b): the Wait latents' r histogram has a populated r≈1 (distilled-exclusive)
    bin at 7B and a populated r≈0 (base-side) bin at 14B (read off ``wait_plot.pdf``), i.e. self-reflection
    latents exclusive to one model; and (official outputs) its L1 crosscoder is dense: 56 / 64 / 52 % of the
    dictionary fire at least once on a " Wait" token, 6.8 / 7.7 / 5.2 % pass the 10 % cut, 53 / 66 / 31 latents fire
    on every one. Counts of latents passing a threshold move when float rounding moves one latent across a cut,
    so every count has a 95 % bootstrap interval over the dictionary's latents (one crosscoder per size, as in the
    paper). The density criteria describe the paper's L1 crosscoder; for the BatchTopK crosscoder (fixed) the
    claim is the fix's: far fewer latents fire on Wait than the paper's 56 %. Preconditions: the crosscoder
    reconstructs (EV) and the evaluation windows contain Wait tokens.
    """
    import numpy as np

    from distill_features.latent_selection import (
        class_index,
        indicators,
        median_or_nan,
        ratio_of_medians_interval,
        result_variants,
        summary_by_size,
    )
    from distill_features.verdicts import count_interval, crosscoder_precondition, markers_precondition
    from repro.claims import Claim, bootstrap_interval, official_code, our_choice, read_off_plot

    c = class_index(result, cfg)
    s = summary_by_size(result, cfg)
    names = result["size_order"]
    mid, big = names[len(names) // 2], names[-1]
    hi, lo = f"r > {1 - cfg.extreme:g}", f"r < {cfg.extreme:g}"
    plot_src = "figures/wait_plot.pdf (spec F-b)"
    dens_src = "run_wait_analysis.py outputs, notebooks/figures.ipynb cell 2 @ 0f9e477"
    out = []
    for v in result_variants(result):
        ind = {n: indicators(result["sizes"][n][v], c, cfg) for n in names}
        pre = {n: (crosscoder_precondition(result.get("crosscoder_ev"), f"{n}/{v}"),
                   markers_precondition(s[f"{n}/{v}"]["n_tokens"], f"{n} evaluation windows (Wait)"))
               for n in names}  # fmt: skip
        every_pre = tuple(p for n in names for p in pre[n])

        def count(
            stmt: str, key: str, sizes: list[str], paper: Any, ind=ind, v=v, pre=pre, every_pre=every_pre
        ) -> Claim:  # noqa: E501
            x = np.concatenate([ind[n][key] for n in sizes])
            return Claim(stmt, (float(x.sum()),), ">=", 1, paper=paper, variant=v, interval=count_interval(x),
                         spread=f"bootstrap over {len(x)} latents", preconditions=every_pre if len(sizes) > 1
                         else pre[sizes[0]])  # fmt: skip

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
        ]  # fmt: skip
        for i, n in enumerate(names):
            paper_size = PAPER_SIZES[min(i, len(PAPER_SIZES) - 1)]
            if v == "official":  # the paper's density criteria, for the L1 crosscoder they describe
                for key, what, bound in (("fire_once", "firing at least once on a Wait token", 0.5),
                                         ("pass_cut", "passing the 10 % cut", 0.05)):  # fmt: skip
                    x = ind[n][key].astype(float)
                    p = PAPER_DENSITY[key][min(i, 2)]
                    out.append(Claim(f"{n} (L1 crosscoder): fraction of the dictionary {what}", (x.mean(),), ">",
                                     bound, variant=v, interval=bootstrap_interval(x), preconditions=pre[n],
                                     spread=f"bootstrap over {len(x)} latents",
                                     paper=official_code(f"{p / PAPER_DICT:.3f} ({p:,} / 32,768, {paper_size})",
                                                         dens_src)))  # fmt: skip
                out.append(
                    count(
                        f"{n} (L1 crosscoder): latents firing on every Wait token",
                        "every",
                        [n],
                        official_code(f"{PAPER_DENSITY['every'][min(i, 2)]} ({paper_size})", dens_src),
                    )
                )
            else:  # BatchTopK: the fix's claim, that the density was an artifact
                x = ind[n]["fire_once"].astype(float)
                p = PAPER_DENSITY["fire_once"][min(i, 2)] / PAPER_DICT
                out.append(Claim(f"{n} (BatchTopK crosscoder): fraction of the dictionary firing at least once on "
                                 "a Wait token, below the paper's L1 density", (x.mean(),), "<", round(p, 3),
                                 variant=v, interval=bootstrap_interval(x), preconditions=pre[n],
                                 spread=f"bootstrap over {len(x)} latents",
                                 paper=official_code(f"{p:.3f} (L1, {paper_size})", dens_src)))  # fmt: skip
        rule = np.concatenate([s[f"{n}/{v}"]["density_rule"] for n in names])
        prec = np.concatenate([s[f"{n}/{v}"]["density_prec"] for n in names])
        ratio = (
            median_or_nan(rule) / median_or_nan(prec)
            if len(prec) and median_or_nan(prec) > 0
            else float("nan")
        )
        out.append(Claim("the paper's rule selects denser latents than the precision selection (median firing "
                         "density ratio, sizes pooled; NaN if nothing passes the precision selection)", (ratio,), ">",
                         1, variant=v, interval=ratio_of_medians_interval(rule, prec), preconditions=every_pre,
                         spread=f"bootstrap over {len(rule)} / {len(prec)} selected latents",
                         paper=our_choice(None, "the fix's diagnosis of the density the paper notes")))  # fmt: skip
    return out


FIGURE = Figure(
    paper="distill_features",
    id="fig3",
    title="Relative decoder norms of self-reflection (Wait) latents by model size (numbering: best guess)",
    configs={s: Fig3Config(crosscoders=c) for s, c in CROSSCODERS_CONFIGS.items()},
    compute=compute,
    needs=LATENT_NEEDS,
    plot=plot,
    claims=claims,
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 30, "paper": 600},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("self_reflection_by_size",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
