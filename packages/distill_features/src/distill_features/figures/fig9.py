"""Fig. 9 (numbering: best guess; spec F-h, probably an appendix table): annotation of the most model-specific
latents, and how accurate that annotation is.

The paper labels the top 100 latents per side by r (distilled-unique: largest r; base-unique: smallest) from their
top contexts with gpt-4o-mini and reports the counts (1.5B distilled-unique: 95 math / 5 general, 6 self-correction,
2 deductive; base-unique: 76 / 24, 6 self-correction, 1 alternative, 1 deductive; 7B: 94 / 6 and 87 / 13).
Here (``annotation.annotate``, whose docstring gives the labeller, the ground truth and the variants) per size and
variant, the ``top_n`` latents per side get their ``k`` top contexts of ``context_words`` words and a deterministic
rule-based label. What the paper could not do: score the labels. The generator knows what every token is doing, so
each latent has a ground truth, and the labels' accuracy is compared with chance (labels permuted across latents,
and always the most common truth; the claims use the larger).

Variants: ``official`` = L1 crosscoder, L1 r, all latents ranked, contexts scored by x_raw W_enc without b_enc
(defects 3 and 5); ``fixed`` = BatchTopK, L2 r, only latents that fire, contexts by the real activations.
Outputs: the plot (stacked category and type counts per side and size; accuracy against chance; the confusion of the
pooled labels) and a Markdown file beside it (``<figure stem>.md``: counts table, example contexts). Choices the spec
leaves open: top_n 20 at quick (the paper's 100 of 32,768; 8 x d latents here), k 10 contexts of 10 words (the
paper's), min_share 0.5, the token -> category map (``annotation.word_category``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from distill_features.annotation import VARIANTS
from distill_features.replicates import claims_over_replicates
from distill_features.stages import CROSSCODERS_CONFIGS, LATENT_NEEDS, ReadsLatents
from repro.figure import Figure


@dataclass(frozen=True)
class Fig9Config(ReadsLatents):
    top_n: int = 20
    k: int = 10
    context_words: int = 10
    min_share: float = 0.5
    examples: int = 3
    variants: tuple[str, ...] = VARIANTS
    untrained_crosscoder: bool = False  # the control: the stage's crosscoders replaced by untrained ones

    def __post_init__(self) -> None:
        from distill_features.annotation import check_config

        check_config(self)


def compute(cfg: Fig9Config, zoo: dict[str, Any], crosscoders: dict[str, Any]) -> dict[str, Any]:
    from distill_features.annotation import annotate
    from distill_features.replicates import per_replicate

    return per_replicate(zoo, crosscoders, annotate, cfg)


def write_markdown(result: dict[str, Any], cfg: Fig9Config) -> Any:
    """``<figure stem>.md`` beside the figure being drawn (follows ``--out`` and the scale suffix)."""
    from distill_features.annotation import markdown
    from repro.cache import atomic_write_text
    from repro.run import current_output_stem

    path = current_output_stem().with_suffix(".md")
    atomic_write_text(path, markdown(result, cfg))
    return path


# fmt: off
def plot(result: dict[str, Any], cfg: Fig9Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from distill_features import annotation as an
    from repro.plot import set_style

    set_style()
    write_markdown(result, cfg)
    names, variants = result["size_order"], an.result_variants(result)
    fig, axes = plt.subplots(len(variants), 4, figsize=(18, 3.8 * len(variants)), squeeze=False)
    bars = [(size, side) for size in names for side in an.SIDES]
    x, groups, w = np.arange(len(bars)), [*names, "pooled"], 0.38
    for i, v in enumerate(variants):
        counts = [an.side_counts(result["sizes"][size][v][side]) for size, side in bars]
        for ax, keys, title in ((axes[i, 0], an.CATEGORIES, "category"), (axes[i, 1], (*an.REASONING, "none"), "type")):
            bottom = np.zeros(len(bars))
            for k, key in enumerate(keys):
                h = np.array([c["n"] - sum(c[t] for t in an.REASONING) if key == "none" else c[key] for c in counts])
                ax.bar(x, h, bottom=bottom, color="lightgrey" if key == "none" else f"C{k}", label=key)
                bottom += h
            ax.set(xticks=x, ylabel="latents", ylim=(0, 1.35 * max(1.0, bottom.max())),
                   title=f"[{v}] {title} of the top {cfg.top_n} per side (rule labeller)")
            ax.set_xticklabels([f"{size}\n{side}" for size, side in bars], fontsize=7)
            ax.legend(fontsize=6, ncol=3, loc="upper center")
        ax = axes[i, 2]
        for k, level in enumerate(("label", "category")):
            accs = [an.accuracy(result, v, [g] if g != "pooled" else None, level) for g in groups]
            xs = np.arange(len(groups)) + (k - 0.5) * w
            ax.bar(xs, [a["accuracy"] for a in accs], w, color=f"C{k}", label=f"{level} accuracy")
            ax.scatter(xs, [a["permutation"] for a in accs], marker="_", s=250, color="k", zorder=3,
                       label="chance (permuted)" if k == 0 else None)
            ax.scatter(xs, [a["majority"] for a in accs], marker="x", s=25, color="C3", zorder=3,
                       label="majority class" if k == 0 else None)
        ax.set(xticks=np.arange(len(groups)), xticklabels=groups, ylim=(0, 1.3), ylabel="share correct",
               title=f"[{v}] labelling accuracy vs generator truth")
        ax.legend(fontsize=6, ncol=2, loc="upper center")
        ax, a = axes[i, 3], an.accuracy(result, v)
        conf = np.asarray(a["confusion"], float)
        ax.imshow(np.log1p(conf), cmap="Blues")
        for (t, p), n in np.ndenumerate(conf):
            if n:
                ax.text(p, t, int(n), ha="center", va="center", fontsize=7, color="white" if n > conf.max() / 2 else "black")
        ax.set_xticks(range(len(a["classes"])), a["classes"], rotation=35, ha="right", fontsize=7)
        ax.set_yticks(range(len(a["classes"])), a["classes"], fontsize=7)
        ax.set(xlabel="rule label", ylabel="generator truth", title=f"[{v}] confusion (all sizes and sides)")
        ax.grid(False)
    fig.suptitle("Annotation of the most model-specific latents (paper 1.5B distilled top 100: 95 math / 5 general; "
                 "base: 76 / 24); table and example contexts in the .md beside this figure", fontsize=10)
    fig.tight_layout()
    return fig


def claims_one_replicate(result: dict[str, Any], cfg: Fig9Config) -> list:
    """The paper's counts (``feat_annotation.py`` outputs, top 100 per side): at 1.5B 95 distilled-unique latents are
    math against 76 base-unique, 6 self-correction; at 7B 94 math. Measured on our top ``top_n`` per side of one
    crosscoder, bootstrap over those latents. The labeller's accuracy against the generator's truth is the fix's claim
    (the paper could not score its labels), against the larger chance level. Precondition: the crosscoder reconstructs."""
    import numpy as np

    from distill_features import annotation as an
    from distill_features.verdicts import count_interval, crosscoder_precondition, mean_diff_interval
    from repro.claims import Claim, bootstrap_interval, official_code, our_choice

    names = result["size_order"]
    small, mid = names[0], names[len(names) // 2]
    src = "src/run_analysis.py + src/feat_annotation.py outputs (gpt-4o-mini labels) @ 0f9e477"
    out = []
    for v in an.result_variants(result):
        pre = {n: (crosscoder_precondition(result.get("crosscoder_ev"), f"{n}/{v}"),) for n in names}
        every = tuple(p for n in names for p in pre[n])

        def share(n: str, side: str, paper: Any, v: str = v, pre: dict = pre) -> Claim:
            x = an.is_math(result, n, v, side)
            return Claim(f"{n}: {side}-side top latents labelled math (share)", (x.mean() if len(x) else np.nan,),
                         ">=", 0.5, paper=paper, variant=v, preconditions=pre[n],
                         interval=bootstrap_interval(x) if len(x) else None, spread=f"bootstrap over {len(x)} latents")

        xd, xb = an.is_math(result, small, v, "distilled"), an.is_math(result, small, v, "base")
        sr = np.array([lab == "self_reflection" for lab in result["sizes"][small][v]["distilled"]["label"]])
        out += [
            share(small, "distilled", official_code("0.95 (95 / 100, 1.5B)", src)),
            Claim(f"{small}: math share distilled side minus base side", (xd.mean() - xb.mean(),), ">", 0,
                  variant=v, preconditions=pre[small], interval=mean_diff_interval(xd, xb),
                  spread=f"bootstrap over {len(xd)} + {len(xb)} latents",
                  paper=official_code("0.95 - 0.76 = 0.19 (1.5B)", src)),
            Claim(f"{small}: distilled-side latents labelled self-reflection (self-correction)", (float(sr.sum()),),
                  ">=", 1, variant=v, preconditions=pre[small], interval=count_interval(sr),
                  spread=f"Wilson interval over {len(sr)} latents", paper=official_code("6 of 100 (1.5B)", src)),
            share(mid, "distilled", official_code("0.94 (94 / 100, 7B)", src)),
        ]
        for level, what in (("label", "category + type"), ("category", "math / general / uninterpretable")):
            a, hit = an.accuracy(result, v, level=level), an.hits(result, v, level)
            chance = max(a["permutation"], a["majority"])
            out.append(Claim(f"rule labeller's {level} accuracy ({what}) vs generator truth, above chance (the larger "
                             "of permuted labels and the majority class)", (a["accuracy"],), ">", chance, variant=v,
                             preconditions=every, interval=bootstrap_interval(hit),
                             spread=f"bootstrap over {len(hit)} labelled latents",
                             paper=our_choice(round(chance, 3), "chance level; the paper's LLM labels had no ground "
                                                                "truth to score against")))
    return out
# fmt: on


FIGURE = Figure(
    paper="distill_features",
    id="fig9",
    title="Annotation of the top model-specific latents and its accuracy (numbering: best guess)",
    configs={
        "smoke": Fig9Config(crosscoders=CROSSCODERS_CONFIGS["smoke"], top_n=5, k=5, examples=1),
        "quick": Fig9Config(crosscoders=CROSSCODERS_CONFIGS["quick"]),
        "paper": Fig9Config(crosscoders=CROSSCODERS_CONFIGS["paper"], top_n=100),
    },
    compute=compute,
    needs=LATENT_NEEDS,
    plot=plot,
    claims=lambda result, cfg: claims_over_replicates(result, cfg, claims_one_replicate),
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 40, "paper": 600},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("annotation",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
