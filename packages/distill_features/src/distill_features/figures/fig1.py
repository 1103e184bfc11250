"""Fig. 1 (numbering: best guess; the paper's Fig. 1 is probably a schematic): the miniature's model zoo, base and
R1-style distilled tiny Qwen2 pairs at three widths, the premise every later figure stands on.

The paper diffs Qwen2.5(-Math) 1.5B/7B/14B against DeepSeek-R1-Distill-Qwen models fine-tuned from them on R1
traces; DeepSeek reports AIME-24 pass@1 28.9 / 55.5 / 69.7 for the three distills (the "distillation performance"
the paper relates its geometry to). Here (spec 7.1-7.2): a synthetic reasoning language
(``distill_features.language``: arithmetic problems with programmatic answers, a rule-based R1-style teacher,
templated generic prose) and, per width, a random-init tiny ``Qwen2ForCausalLM`` pre-trained on generic prose +
terse problems (base), copied and fine-tuned on teacher traces (distilled). ``compute`` trains the zoo, evaluates
each model by greedy generation on held-out problems (base: ``Problem : ... Answer :``; distilled: ``Problem : ...
<think>``, it thinks, then answers), counts reasoning markers in the distilled model's traces (greedy, and sampled at
temperature 1 over ``eval_seeds``), and returns every model's weights, the vocabulary and the held-out problems, so
later figures ``require("distill_features:fig1", scale)`` and rebuild the models with
``pairs.zoo_from_result`` instead of retraining.

Choices the spec leaves open: widths/layers/heads per scale below (head dim 16 on CPU, grouped-query attention with
half as many KV heads, MLP 2x d, untied unembedding); numbers 0..20 as single tokens, factors <= 5; 1/2/3-step
problems in proportion 0.2/0.5/0.3; teacher probabilities as ``LanguageConfig`` defaults (contrast 0.6 when
precedence matters, slip + "Wait" 0.2 per step, alternative route 0.3, verification 0.6, "Therefore" 0.8);
pre-training mix 30 % generic / 70 % terse problem documents, SFT mix 10 % generic / 90 % traces with the loss on the
whole trace; documents packed whole into 96-token windows; AdamW (constant lr, wd 0.01, betas 0.9/0.98), batch 16
windows, lr 3e-3 at d=64 scaled as 1/sqrt(d) across widths (a single lr of 3e-3 left d=128 at base 0.21 / distilled
0.50 against 0.46 / 0.65 at 1.5e-3 in a development run, so wide models want a smaller step); one data stream shared
by all widths (``seed``), weights seeded per width; 400 held-out problems never seen in training. A marker counts when its token appears in the generated text; "Wait" in greedy traces is
only written after the model's own slip, so it is rare there and common when sampling.

Scales: ``smoke`` (seconds, tests), ``quick`` (d 32/64/128, about 4 min on one CPU thread), ``paper`` (a larger
synthetic zoo for a GPU, d 256/384/512; the real Qwen pairs are pretrained hub models and are handled by the
paper-scale Qwen module built later, not by this figure).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from repro.figure import Figure

MARKER_CATEGORIES = ("self_reflection", "deductive", "alternative", "contrastive")
DEEPSEEK_AIME = "28.9 / 55.5 / 69.7 (AIME-24, R1-Distill-Qwen 1.5B / 7B / 14B)"


def _default_language() -> Any:
    from distill_features.language import LanguageConfig

    return LanguageConfig()


@dataclass(frozen=True)
class Fig1Config:
    d_models: tuple[int, ...] = (32, 64, 128)
    n_layers: tuple[int, ...] = (2, 2, 2)
    n_heads: tuple[int, ...] = (2, 4, 8)
    n_kv_heads: tuple[int, ...] = (1, 2, 4)
    d_mlp_mult: int = 2
    n_ctx: int = 96
    base_steps: int = 800
    distill_steps: int = 600
    batch_size: int = 16
    lr: float = 3e-3  # at width lr_ref_width; each width gets lr * sqrt(lr_ref_width / d)
    lr_ref_width: int = 64
    weight_decay: float = 0.01
    base_generic_frac: float = 0.3
    distill_generic_frac: float = 0.1
    language: Any = field(default_factory=_default_language)
    n_eval: int = 400
    eval_seeds: tuple[int, ...] = (0, 1)
    temperature: float = 1.0
    max_new_tokens: int = 96
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        n = len(self.d_models)
        if n < 2:
            raise ValueError("the zoo needs at least two sizes")
        if any(len(t) != n for t in (self.n_layers, self.n_heads, self.n_kv_heads)):
            raise ValueError("d_models, n_layers, n_heads and n_kv_heads must have one entry per size")
        if list(self.d_models) != sorted(set(self.d_models)):
            raise ValueError(f"d_models must be strictly increasing, got {self.d_models}")
        if self.n_eval < 1 or not self.eval_seeds or self.temperature <= 0 or self.max_new_tokens < 8:
            raise ValueError(
                "n_eval >= 1, eval_seeds non-empty, temperature > 0 and max_new_tokens >= 8 needed"
            )
        for i in range(n):
            self.pair_config(i)  # validates every size's architecture (pair_config.py imports no torch)

    def pair_config(self, i: int) -> Any:
        from distill_features.pair_config import PairConfig

        return PairConfig(
            d_model=self.d_models[i],
            n_layers=self.n_layers[i],
            n_heads=self.n_heads[i],
            n_kv_heads=self.n_kv_heads[i],
            d_mlp_mult=self.d_mlp_mult,
            n_ctx=self.n_ctx,
            base_steps=self.base_steps,
            distill_steps=self.distill_steps,
            batch_size=self.batch_size,
            lr=self.lr * math.sqrt(self.lr_ref_width / self.d_models[i]),
            weight_decay=self.weight_decay,
            base_generic_frac=self.base_generic_frac,
            distill_generic_frac=self.distill_generic_frac,
            seed=self.seed + 100 * i,
        )


def held_out_problems(cfg: Fig1Config) -> list:
    """The evaluation problems (drawn before any training data, never used in training)."""
    import random

    from distill_features import language as lang

    return lang.sample_problems(cfg.n_eval, random.Random(cfg.seed + 12345), cfg.language)


def compute(cfg: Fig1Config) -> dict[str, Any]:
    import dataclasses
    import random

    import numpy as np

    from distill_features import language as lang
    from distill_features import pairs
    from repro.progress import status

    tok = lang.build_tokenizer(cfg.language)
    held = held_out_problems(cfg)
    exclude = {p.text for p in held}
    corpora = pairs.make_corpora(cfg.pair_config(0), cfg.language, tok, exclude, cfg.seed)
    n_steps = np.array([len(p.ops) for p in held])
    teacher_rng = random.Random(cfg.seed + 777)
    teacher = [lang.trace_metrics(lang.teacher_trace(p, teacher_rng, cfg.language).text) for p in held]
    out: dict[str, Any] = {
        "vocab": lang.vocabulary(cfg.language),
        "language": dataclasses.asdict(cfg.language),
        "eval_problems": [p.text for p in held],
        "eval_n_steps": n_steps,
        "teacher_markers": {c: float(np.mean([m[c] for m in teacher])) for c in MARKER_CATEGORIES},
        "teacher_length": float(np.mean([m["length"] for m in teacher])),
        "size_order": [],
        "sizes": {},
    }
    for i, d in enumerate(cfg.d_models):
        pcfg = cfg.pair_config(i)
        name = f"d{d}"
        pair = pairs.train_pair(pcfg, corpora, desc=f"fig1 [{i + 1}/{len(cfg.d_models)}] ", device=cfg.device)
        kw = {"max_new_tokens": cfg.max_new_tokens}
        base_eval = pairs.evaluate(pair.base, tok, held, think=False, **kw)
        dist_eval = pairs.evaluate(pair.distilled, tok, held, think=True, **kw)
        sampled = [
            pairs.evaluate(pair.distilled, tok, held, think=True, temperature=cfg.temperature, seed=s, **kw)
            for s in cfg.eval_seeds
        ]
        r = {
            "config": dataclasses.asdict(pcfg),
            "n_params": int(sum(p.numel() for p in pair.base.parameters())),
            "base_curve": np.array(pair.base_curve),
            "distill_curve": np.array(pair.distill_curve),
            "base_accuracy": base_eval["accuracy"],
            "distilled_accuracy": dist_eval["accuracy"],
            "distilled_sampled_accuracy": np.array([s["accuracy"] for s in sampled]),
            "base_correct": base_eval["correct"],
            "distilled_correct": dist_eval["correct"],
            "distilled_length": float(dist_eval["length"].mean()),
            "distilled_answered": float(dist_eval["answered"].mean()),
            "greedy_markers": {c: float(dist_eval["markers"][c].mean()) for c in MARKER_CATEGORIES},
            "sampled_markers": {
                c: np.array([s["markers"][c].mean() for s in sampled]) for c in MARKER_CATEGORIES
            },
            "examples": dist_eval["texts"][:4],
            "base_weights": pairs.state_arrays(pair.base),
            "distilled_weights": pairs.state_arrays(pair.distilled),
        }
        status(
            f"fig1 d={d}: base accuracy {r['base_accuracy']:.3f}, distilled {r['distilled_accuracy']:.3f} "
            f"(sampled {r['distilled_sampled_accuracy'].mean():.3f}), trace length {r['distilled_length']:.1f}"
        )
        out["size_order"].append(name)
        out["sizes"][name] = r
    return out


def claims(result: dict[str, Any], cfg: Fig1Config) -> list:
    """What the paper builds on, tested on our task (not on the paper's numbers).

    - The distilled model beats its base at every size: DeepSeek's R1-Distill-Qwen models are strong at math
      (MATH-500 83.9 / 92.8 / 93.9); the paper diffs each against its base. Measured: distilled minus base greedy
      accuracy on the same held-out problems, paired bootstrap over problems.
    - Distillation performance grows with size (AIME-24 28.9 / 55.5 / 69.7 across 1.5B / 7B / 14B: a different
      task, so only the direction of the trend is tested): the smallest step between consecutive widths, paired
      bootstrap over problems.
    The marker counts in the distilled model's sampled traces are preconditions of the steering claims (fig5),
    not claims: a trace language with markers is the setting, not a finding. Precondition here: the distilled
    model writes an answer (an untrained control does not).
    """
    import numpy as np

    from distill_features.verdicts import paired_interval
    from repro.claims import Claim, precondition, third_party

    names = result["size_order"]
    sizes = [result["sizes"][n] for n in names]
    n_eval = len(result["eval_problems"])
    answers = [
        precondition(f"{n}: the distilled model writes an answer (share of greedy traces)",
                     r["distilled_answered"], ">=", 0.5)
        for n, r in zip(names, sizes, strict=True)
    ]  # fmt: skip
    out = []
    for n, r, pre in zip(names, sizes, answers, strict=True):
        pair = np.stack([np.asarray(r["distilled_correct"], float), np.asarray(r["base_correct"], float)], 1)
        out.append(
            Claim(
                f"{n}: distilled minus base answer accuracy (greedy, held-out problems)",
                (r["distilled_accuracy"] - r["base_accuracy"],),
                ">",
                0.0,
                paper=third_party(
                    "R1-Distill-Qwen 83.9 / 92.8 / 93.9 on MATH-500", "DeepSeek-R1 report (spec F-g)"
                ),
                preconditions=(pre,),
                interval=paired_interval(pair, lambda x: float(x[:, 0].mean() - x[:, 1].mean())),
                spread=f"paired bootstrap over {n_eval} held-out problems",
            )
        )
    acc = np.stack([np.asarray(r["distilled_correct"], float) for r in sizes], 1)  # [problems, sizes]
    out.append(
        Claim(
            "on our task, distilled accuracy grows with size (the direction of the paper's trend): smallest "
            "step between consecutive widths",
            (float(np.min(np.diff(acc.mean(0)))),),
            ">",
            0.0,
            paper=third_party(DEEPSEEK_AIME, "DeepSeek-R1 report, cited by the paper (spec F-g); other task"),
            preconditions=tuple(answers),
            interval=paired_interval(acc, lambda x: float(np.min(np.diff(x.mean(0))))),
            spread=f"paired bootstrap over {n_eval} held-out problems",
            note="AIME-24 is a different task: only the sign of the trend is compared, on our held-out problems",
        )
    )
    return out


def plot(result: dict[str, Any], cfg: Fig1Config):
    import matplotlib.pyplot as plt
    import numpy as np

    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    fig = plt.figure(figsize=(13, 5.6), constrained_layout=True)
    grid = fig.add_gridspec(2, 3, height_ratios=[1.0, 0.2])
    names = result["size_order"]
    sizes = [result["sizes"][n] for n in names]
    d = np.array(cfg.d_models)
    colours = plt.cm.viridis(np.linspace(0.15, 0.85, len(names)))

    ax = fig.add_subplot(grid[0, 0])
    for n, r, c in zip(names, sizes, colours, strict=True):
        every = int(np.ceil(r["config"]["base_steps"] / max(len(r["base_curve"]), 1)))
        xb = np.arange(len(r["base_curve"])) * every
        xd = r["config"]["base_steps"] + np.arange(len(r["distill_curve"])) * every
        ax.plot(xb, r["base_curve"], color=c, lw=1, label=f"{n} ({r['n_params'] / 1e3:.0f}k params)")
        ax.plot(xd, r["distill_curve"], color=c, lw=1, ls="--")
    ax.axvline(cfg.base_steps, color="grey", lw=0.8)
    ax.text(cfg.base_steps, ax.get_ylim()[1], " SFT on traces →", fontsize=7, va="top", color="grey")
    ax.set_xlabel("step (pre-training, then SFT from the base weights)")
    ax.set_ylabel("train next-token loss (minibatch)")
    ax.set_title("(a) training: base (solid) and distillation (dashed)")
    ax.legend(fontsize=6.5)

    ax = fig.add_subplot(grid[0, 1])
    n_eval = cfg.n_eval
    for key, label, colour in (
        ("base_accuracy", "base (terse answer)", BASELINE),
        ("distilled_accuracy", "distilled (thinks, greedy)", METHOD),
    ):
        acc = np.array([r[key] for r in sizes])
        err = np.sqrt(acc * (1 - acc) / n_eval)
        ax.errorbar(d, acc, yerr=1.96 * err, marker="o", color=colour, label=label, capsize=3)
    samp = np.array([np.mean(r["distilled_sampled_accuracy"]) for r in sizes])
    ax.plot(
        d,
        samp,
        marker="s",
        ls=":",
        color=METHOD,
        alpha=0.7,
        label=f"distilled (sampled, T={cfg.temperature:g})",
    )
    steps = np.asarray(result["eval_n_steps"])
    for k, mk in ((1, "^"), (3, "v")):
        sel = steps == k
        if sel.any():
            for key, colour in (("base_correct", BASELINE), ("distilled_correct", METHOD)):
                ax.plot(
                    d, [np.mean(np.asarray(r[key])[sel]) for r in sizes], mk, color=colour, alpha=0.45, ms=4
                )
    ax.plot([], [], "^", color="grey", alpha=0.5, ms=4, label="1-step problems only")
    ax.plot([], [], "v", color="grey", alpha=0.5, ms=4, label="3-step problems only")
    ax.set_xscale("log", base=2)
    ax.set_xticks(d, [str(x) for x in d])
    ax.set_ylim(0, 1)
    ax.set_xlabel("d_model")
    ax.set_ylabel(f"answer accuracy ({n_eval} held-out problems, 95% CI)")
    ax.set_title("(b) distillation performance vs size")
    ax.legend(fontsize=6.5, loc="upper left")

    ax = fig.add_subplot(grid[0, 2])
    x = np.arange(len(MARKER_CATEGORIES))
    w = 0.8 / len(names)
    for j, (n, r, c) in enumerate(zip(names, sizes, colours, strict=True)):
        samp = [np.mean(r["sampled_markers"][k]) for k in MARKER_CATEGORIES]
        greedy = [r["greedy_markers"][k] for k in MARKER_CATEGORIES]
        xs = x - 0.4 + w * (j + 0.5)
        ax.bar(xs, samp, w, color=c, label=f"{n} sampled")
        ax.plot(xs, greedy, "o", color="k", mfc=c, ms=4, label="greedy" if j == 0 else None)
    teacher = [result["teacher_markers"][k] for k in MARKER_CATEGORIES]
    for xi, t in zip(x, teacher, strict=True):
        ax.hlines(t, xi - 0.45, xi + 0.45, color="crimson", lw=1.5, label="teacher" if xi == 0 else None)
    ax.set_xticks(
        x,
        [
            "self-reflection\n(Wait)",
            "deductive\n(Therefore/Thus)",
            "alternative",
            "contrastive\n(But/However)",
        ],
    )
    ax.set_ylabel("markers per trace (distilled model, held-out problems)")
    ax.set_title("(c) reasoning markers in generated traces")
    ax.legend(fontsize=6.5)

    ax = fig.add_subplot(grid[1, :])
    ax.axis("off")
    lines = [f"greedy traces of the largest distilled model ({names[-1]}):"]
    for t in sizes[-1]["examples"][:3]:
        lines.append("  " + (t if len(t) <= 200 else t[:197] + "..."))
    ax.text(0, 1, "\n".join(lines), family="monospace", fontsize=6.6, va="top", ha="left")
    fig.suptitle(
        "Fig. 1 (numbering: best guess): the miniature's model zoo, base vs R1-style distilled tiny Qwen2 pairs",
        fontsize=10,
    )
    return fig


FIGURE = Figure(
    paper="distill_features",
    id="fig1",
    title="Model zoo: base vs distilled tiny Qwen2 pairs on a synthetic reasoning language (numbering: best guess)",
    configs={
        "smoke": Fig1Config(
            d_models=(16, 24, 32),
            n_layers=(1, 2, 2),
            n_heads=(2, 2, 2),
            n_kv_heads=(1, 1, 1),
            base_steps=40,
            distill_steps=30,
            batch_size=8,
            n_eval=24,
            eval_seeds=(0,),
            max_new_tokens=64,
        ),
        "quick": Fig1Config(),
        "paper": Fig1Config(
            d_models=(256, 384, 512),
            n_layers=(4, 6, 8),
            n_heads=(4, 6, 8),
            n_kv_heads=(2, 3, 4),
            d_mlp_mult=4,
            n_ctx=128,
            base_steps=6000,
            distill_steps=3000,
            batch_size=64,
            lr=1e-3,
            lr_ref_width=256,
            n_eval=1000,
            eval_seeds=(0, 1, 2, 3),
            max_new_tokens=128,
            device="cuda",
        ),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    est_seconds={"smoke": 10, "quick": 240, "paper": 1800},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("model_pairs",),
    control=lambda cfg: dataclasses.replace(cfg, base_steps=0, distill_steps=0),
    control_label="untrained pair: 0 pre-training and 0 SFT steps",
)
