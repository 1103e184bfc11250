"""Figure 3: the induction gap: accuracy on all 900 pairs vs train fraction for the combiner modes and ideal decoders.

Setting (spec sections 1-2 [C]): (a) equivalence mod 3, (b) greater-than; n = 30, d = 2 embeddings. MLP decoders
3 x 50 tanh after combiner mode 1 (concat), 2 (difference) or 3 (squared difference). Ideal decoders: one ReLU unit,
mode 3 for mod 3 (started as ReLU(0.1 - |E_x1 - E_x2|^2), its embeddings at N(0, 0.1^2) so that the unit is
alive: see :mod:`geneft.model`) and mode 2 for greater-than. Adam lr 1e-3 (encoder and
decoder), full-batch BCE; the accuracy is on the whole data set (train + test) at the end of training, drawn against
f_UB (Eq. 5, Table II b). The induction gap is the distance between a network's curve and f_UB.

Choices the spec leaves open: the fractions, step budget (quick 2,000 with early exit once all pairs are right;
paper 10^4), seeds (3), and the ideal decoders' trainability (all their parameters train).

Claims (spec section 5.3), one value per seed (the accuracy averaged over the fractions, then differenced): mod 3
ideal >= mode 3 >= mode 1; greater-than: mode 2 the best MLP combiner; each ideal decoder within 0.05 of f_UB on
average (the spec's "tracks f_UB"; 0.05 is ours). Precondition: the Table III model (mode 1) fits its training sets
(mean train accuracy >= 0.9 per seed). Control: one step (untrained), which fails it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from repro.figure import Figure

RELATIONS = ("mod3", "greater")
IDEAL_MODE = {"mod3": 3, "greater": 2}
IDEAL_INIT = {"mod3": "threshold", "greater": "default"}
IDEAL_EMB_STD = {"mod3": 0.1, "greater": 1.0}  # see geneft.model: ReLU(0.1 - x) needs embeddings within ~0.1
DECODERS = ("mode1", "mode2", "mode3", "ideal")
LABELS = {
    "mode1": "MLP, mode 1 (concat)",
    "mode2": "MLP, mode 2 (difference)",
    "mode3": "MLP, mode 3 (squared difference)",
    "ideal": "ideal decoder: one ReLU unit",
}


@dataclass(frozen=True)
class Fig3Config:
    fractions: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5)
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 2000
    lr: float = 1e-3
    depth: int = 3
    width: int = 50
    eval_every: int = 50

    def __post_init__(self) -> None:
        if not all(0 < f < 1 for f in self.fractions) or not self.seeds or self.steps < 1:
            raise ValueError("fractions in (0, 1), at least one seed, steps >= 1")


def compute(cfg: Fig3Config) -> dict[str, Any]:
    import numpy as np

    from geneft import theory as T
    from geneft.figures._common import fraction_sweep
    from geneft.model import Arch

    fr = np.array(cfg.fractions)
    acc: dict[str, dict[str, Any]] = {r: {} for r in RELATIONS}
    train: dict[str, dict[str, Any]] = {r: {} for r in RELATIONS}
    for mode in (1, 2, 3):
        res = fraction_sweep(
            RELATIONS,
            cfg.fractions,
            cfg.seeds,
            Arch(mode=mode, depth=cfg.depth, width=cfg.width),
            cfg.steps,
            cfg.lr,
            cfg.eval_every,
            f"fig3: mode {mode}",
        )
        for r in RELATIONS:
            acc[r][f"mode{mode}"] = res["full"][r]
            train[r][f"mode{mode}"] = res["train"][r]
    for r in RELATIONS:
        arch = Arch(mode=IDEAL_MODE[r], decoder="ideal", ideal_init=IDEAL_INIT[r], emb_std=IDEAL_EMB_STD[r])
        res = fraction_sweep(
            (r,),
            cfg.fractions,
            cfg.seeds,
            arch,
            cfg.steps,
            cfg.lr,
            cfg.eval_every,
            f"fig3: ideal decoder, {r}",
        )
        acc[r]["ideal"], train[r]["ideal"] = res["full"][r], res["train"][r]
    f_ub = {r: T.f_upper_bound(fr * 900, T.description_length_approx(r), T.p_star(r)) for r in RELATIONS}
    return {"fractions": fr, "acc": acc, "train_acc": train, "f_ub": f_ub}


def claims(result: dict[str, Any], cfg: Fig3Config) -> list:
    import numpy as np

    from repro.claims import Claim, our_choice, precondition, third_party

    m = {
        r: {d: a.mean(0) for d, a in result["acc"][r].items()} for r in RELATIONS
    }  # per seed, over fractions
    pre = {
        r: precondition(
            f"{r}: the Table III model (mode 1) fits its training sets: mean train acc per seed",
            result["train_acc"][r]["mode1"].mean(0),
            ">=",
            0.9,
        )
        for r in RELATIONS
    }
    src = "CoursIA notebook 2.9b, reading the paper's Fig. 3"
    spread = f"{len(cfg.seeds)} seeds"
    out = [
        Claim(
            "mod 3: ideal >= mode 3 (mean accuracy over fractions, difference)",
            m["mod3"]["ideal"] - m["mod3"]["mode3"],
            ">=",
            0.0,
            paper=third_party("ideal > mode 3 > mode 2 > mode 1", src),
            preconditions=(pre["mod3"],),
            spread=spread,
        ),
        Claim(
            "mod 3: mode 3 >= mode 1 (mean accuracy over fractions, difference)",
            m["mod3"]["mode3"] - m["mod3"]["mode1"],
            ">=",
            0.0,
            paper=third_party("concat lags most", src),
            preconditions=(pre["mod3"],),
            spread=spread,
        ),
        Claim(
            "greater-than: mode 2 best MLP combiner (mode 2 - best other mode)",
            m["greater"]["mode2"] - np.maximum(m["greater"]["mode1"], m["greater"]["mode3"]),
            ">=",
            0.0,
            paper=third_party("difference best", src),
            preconditions=(pre["greater"],),
            spread=spread,
            note="the spec's ordering is secondhand [C]; measured here under Adam at the scale's step budget, where "
            "concat (mode 1) can beat the difference",
        ),
    ]
    for r in RELATIONS:
        gap = np.abs(result["acc"][r]["ideal"] - result["f_ub"][r][:, None]).mean(0)
        out.append(
            Claim(
                f"{r}: ideal decoder tracks f_UB (mean |acc - f_UB| over fractions)",
                gap,
                "<=",
                0.05,
                paper=our_choice(0.05, "the spec: 'the ideal decoders track f_UB'; 0.05 is ours"),
                preconditions=(pre[r],),
                spread=spread,
                note="the one-ReLU decoder lags f_UB most at the smallest fractions" if r == "mod3" else "",
            )
        )
    return out


def plot(result: dict[str, Any], cfg: Fig3Config):
    import matplotlib.pyplot as plt

    from geneft.figures._common import RELATION_LABELS, seed_line
    from repro.plot import set_style

    set_style()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True, layout="constrained")
    fr = result["fractions"]
    colours = {"mode1": "#4C72B0", "mode2": "#55A868", "mode3": "#DD8452", "ideal": "#8172B3"}
    for ax, r, tag in zip(axes, RELATIONS, "ab", strict=True):
        ax.plot(fr, result["f_ub"][r], color="k", lw=2, label="f_UB (Eq. 5)")
        for d in DECODERS:
            a = result["acc"][r][d]
            seed_line(
                ax,
                fr,
                a,
                colours[d],
                LABELS[d] + (f" [mode {3 if r == 'mod3' else 2}]" if d == "ideal" else ""),
                lw=1.3,
            )
        ax.set_xscale("log")
        ax.set_title(f"({tag}) {RELATION_LABELS[r]}, {len(cfg.seeds)} seeds (points) and 95% band")
        ax.set_xlabel("train fraction")
        ax.set_ylim(0.3, 1.02)
        if r == "greater":
            ax.text(
                0.06,
                0.53,
                "mode 3 is symmetric in (x1, x2): it cannot express an order",
                fontsize=6.5,
                color="#DD8452",
            )
    axes[0].set_ylabel("accuracy on all 900 pairs")
    for ax in axes:
        ax.legend(fontsize=6.5, loc="lower right")
    fig.suptitle("Fig. 3: the induction gap: decoders with the right symmetry approach f_UB", fontsize=10)
    return fig


FIGURE = Figure(
    paper="geneft",
    id="fig3",
    title="induction gap: combiner modes and ideal decoders vs f_UB",
    configs={
        "smoke": Fig3Config(fractions=(0.3,), seeds=(0, 1), steps=40, width=10, eval_every=20),
        "quick": Fig3Config(),
        "paper": Fig3Config(
            fractions=(0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75), seeds=(0, 1, 2), steps=10_000
        ),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    control=lambda cfg: dataclasses.replace(cfg, steps=1),
    control_label="untrained: one step",
    est_seconds={"smoke": 3, "quick": 60, "paper": 900},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
)
