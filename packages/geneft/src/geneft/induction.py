"""The induction gap (Fig. 3): networks' accuracy against the train fraction for each combiner mode and the ideal
one-ReLU decoders, beside f_UB (Eq. 5) (:func:`induction_sweep`), and the claims on their ordering
(:func:`induction_claims`).

Ideal decoders: mode 3 for mod 3 (started as ReLU(0.1 - |E_x1 - E_x2|^2), embeddings at N(0, 0.1^2) so that the
unit is alive: see :mod:`geneft.model`) and mode 2 for greater-than; all their parameters train.
"""

from __future__ import annotations

from typing import Any

import numpy as np

RELATIONS = ("mod3", "greater")
IDEAL_MODE = {"mod3": 3, "greater": 2}
IDEAL_INIT = {"mod3": "threshold", "greater": "default"}
IDEAL_EMB_STD = {"mod3": 0.1, "greater": 1.0}  # see geneft.model: ReLU(0.1 - x) needs embeddings within ~0.1


def induction_sweep(
    fractions: tuple[float, ...],
    seeds: tuple[int, ...],
    steps: int,
    lr: float,
    depth: int,
    width: int,
    eval_every: int,
) -> dict[str, Any]:
    """Accuracy on all 900 pairs (``acc``) and on the training pairs (``train_acc``), ``{relation: {decoder:
    [fractions, seeds]}}`` for decoders mode1-3 (MLP) and ideal, and ``f_ub`` per relation."""
    from geneft import theory as T
    from geneft.model import Arch
    from geneft.train import fraction_sweeps

    fr = np.array(fractions)
    # the MLP combiners train both relations in their stacks, each ideal decoder its own relation; every (decoder,
    # fraction group) stack goes to the figure's worker processes (geneft.train.fraction_sweeps), the MLPs' first
    # (they cost the most): the same numbers with one worker or several
    sweeps = [(Arch(mode=m, depth=depth, width=width), RELATIONS, f"fig3: mode {m}") for m in (1, 2, 3)] + [
        (
            Arch(mode=IDEAL_MODE[r], decoder="ideal", ideal_init=IDEAL_INIT[r], emb_std=IDEAL_EMB_STD[r]),
            (r,),
            f"fig3: ideal decoder, {r}",
        )
        for r in RELATIONS
    ]
    names = [f"mode{m}" for m in (1, 2, 3)] + ["ideal"] * len(RELATIONS)
    done = fraction_sweeps(sweeps, fractions, seeds, steps, lr, eval_every)
    acc: dict[str, dict[str, Any]] = {r: {} for r in RELATIONS}
    train: dict[str, dict[str, Any]] = {r: {} for r in RELATIONS}
    for decoder, (_, rels, _), res in zip(names, sweeps, done, strict=True):
        for r in rels:
            acc[r][decoder], train[r][decoder] = res["full"][r], res["train"][r]
    f_ub = {r: T.f_upper_bound(fr * 900, T.description_length_approx(r), T.p_star(r)) for r in RELATIONS}
    return {"fractions": fr, "acc": acc, "train_acc": train, "f_ub": f_ub}


def induction_claims(result: dict[str, Any], n_seeds: int) -> list:
    """Section 5.3's claims on :func:`induction_sweep`, one value per seed (accuracy averaged over the fractions):
    mod 3 ideal >= mode 3 >= mode 1, greater-than mode 2 the best MLP combiner, each ideal decoder within 0.05 of
    f_UB; each under the precondition that the Table III model (mode 1) fits its training sets."""
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
    spread = f"{n_seeds} seeds"
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
