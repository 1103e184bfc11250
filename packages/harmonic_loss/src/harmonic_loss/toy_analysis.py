"""Analysis of toy-sweep results (Figs. 2, 3, 4, 7): selecting runs, per-seed values, and the claims built on them.

A sweep-like result (:func:`harmonic_loss.toy_train.concat_groups`) has one row per run: ``runs`` (task, model,
split, seed, ...) and per-run arrays (``ev``, ``metric``, ``final_train_acc``, ``grok_test``, ...). Runs of two models
with the same seed and split share their data set, so per-seed arrays of two models pair up by seed.
"""

from __future__ import annotations

from typing import Any

MODEL_LABELS = {
    "standard_mlp": "standard MLP",
    "harmonic_mlp": "harmonic MLP",
    "standard_transformer": "standard transformer",
    "harmonic_transformer": "harmonic transformer",
}


# ----------------------------------------------------------------------------------------------- selection
def indices(result: dict, **match: Any) -> list[int]:
    """Run indices whose ``runs`` fields equal every ``match`` value (a tuple value matches any of its items)."""
    runs = result["runs"]
    n = len(runs["task"])
    out = []
    for i in range(n):
        ok = True
        for k, v in match.items():
            x = runs[k][i]
            x = x.item() if hasattr(x, "item") else x
            if isinstance(v, tuple):
                ok &= x in v
            else:
                ok &= x == v
        if ok:
            out.append(i)
    return out


def sweep_runs(sweep: dict, drop: tuple[str, ...] = (), **match: Any) -> dict:
    """The runs of a toy-sweep result that match ``match`` (see :func:`indices`), without the trained parameters,
    the accuracy curves and the fields ``drop``: what a figure keeps of the sweep."""
    import numpy as np

    from harmonic_loss.toy_train import select

    out = select(sweep, np.array(indices(sweep, **match)))
    for k in [*drop, "params"] + [k for k in out if k.startswith("curve_")]:
        out.pop(k, None)
    return out


def per_seed(result: dict, values: Any, task: str, model: str, split: str, **match: Any) -> Any:
    """``values`` (one per run) of the runs (task, model, split), ordered by seed: a claim's per-seed values."""
    import numpy as np

    idx = indices(result, task=task, model=model, split=split, **match)
    idx = sorted(idx, key=lambda i: int(result["runs"]["seed"][i]))
    return np.asarray(values, dtype=float)[idx]


def ev2(result: dict) -> Any:
    """Top-2 explained variance of every run's entity embedding."""
    return result["ev"][:, :2].sum(1)


def trained(result: dict, task: str, model: str, split: str, level: float = 0.9, **match: Any):
    """The precondition "the model fitted its training set" (final train accuracy >= ``level`` on every seed)."""
    from repro.claims import precondition

    vals = per_seed(result, result["final_train_acc"], task, model, split, **match)
    return precondition(f"{MODEL_LABELS[model]} trained on {task}: final train acc", vals, ">=", level)


# ----------------------------------------------------------------------------------------------- EV claims (Figs. 2, 7)
# Fig. 7's table of top-2 EV (median over 20 seeds, read off the appendix gallery's panel titles, spec F7).
F7_EV = {
    ("lattice", "standard_mlp"): 0.90,
    ("lattice", "harmonic_mlp"): 1.00,
    ("circle", "standard_mlp"): 0.46,
    ("circle", "harmonic_mlp"): 1.00,
    ("equivalence", "standard_mlp"): 0.96,
    ("equivalence", "harmonic_mlp"): 0.80,
    ("genealogy", "standard_mlp"): 0.29,
    ("genealogy", "harmonic_mlp"): 0.51,
    ("lattice", "standard_transformer"): 0.76,
    ("lattice", "harmonic_transformer"): 1.00,
    ("circle", "standard_transformer"): 0.60,
    ("circle", "harmonic_transformer"): 0.64,
}
F7_WHERE = "Fig. 7 (appendix gallery) panel titles, median of 20 seeds"


def ev_gap_claim(result: dict, t: str, better: str, worse: str, sp: str, bound: float = 0.0, note: str = ""):
    """Top-2 EV of ``better`` minus ``worse``, paired by seed (same data set), both models trained."""
    from repro.claims import Claim, read_off_plot

    e = ev2(result)
    gap = per_seed(result, e, t, better, sp) - per_seed(result, e, t, worse, sp)
    paper = round(F7_EV[t, better] - F7_EV[t, worse], 2)
    return Claim(
        f"{t}: top-2 EV, {MODEL_LABELS[better]} - {MODEL_LABELS[worse]} (paired by seed)",
        gap,
        ">=" if bound else ">",
        bound,
        paper=read_off_plot(paper, f"{F7_WHERE}: {F7_EV[t, better]:.2f} vs {F7_EV[t, worse]:.2f}"),
        variant=sp,
        preconditions=(trained(result, t, better, sp), trained(result, t, worse, sp)),
        note=note,
    )


def mlp_ev_claims(result: dict, splits: list[str]) -> list:
    """Fig. 2's claims: the harmonic MLP's embeddings are more structured than the standard MLP's (spec 7.2).

    The paper (author thread 4/9; Fig. 7's EV table) claims that harmonic MLPs learn perfect lattice/circle/tree
    structures regardless of seed. The lattice claim is "EV >= 0.99 on every seed" (paper: 100, range 100-100).
    On the circle the paper's own seeds range 51-100 (mean 0.87), so "EV >= 0.99" is not what its data show: the
    claim tested is the comparison with the standard MLP (100 vs 46). Genealogy: harmonic beats standard by >= 0.15
    (the spec's claim list; paper gap 0.22, ranges 41-60 vs 27-32). Equivalence is the paper's reported inversion
    (top-2 EV is the wrong metric for 5 clusters, D10). Every claim needs both models to have fitted their
    training sets.
    """
    from repro.claims import Claim, read_off_plot

    out = []
    e = ev2(result)
    for sp in splits:
        out.append(
            Claim(
                "lattice: top-2 EV, harmonic MLP",
                per_seed(result, e, "lattice", "harmonic_mlp", sp),
                ">=",
                0.99,
                paper=read_off_plot(1.00, f"{F7_WHERE} (range 100-100)"),
                variant=sp,
                preconditions=(trained(result, "lattice", "harmonic_mlp", sp),),
            )
        )
        out.append(ev_gap_claim(result, "circle", "harmonic_mlp", "standard_mlp", sp))
        out.append(ev_gap_claim(result, "genealogy", "harmonic_mlp", "standard_mlp", sp, bound=0.15))
        out.append(ev_gap_claim(result, "equivalence", "standard_mlp", "harmonic_mlp", sp))
    return out


def transformer_ev_claims(result: dict, splits: list[str]) -> list:
    """Fig. 7's own claims (the transformer rows, which only Fig. 7 draws): harmonic > standard transformer."""
    out = []
    for sp in splits:
        for t in ("lattice", "circle"):
            if indices(result, task=t, model="harmonic_transformer", split=sp):
                out.append(ev_gap_claim(result, t, "harmonic_transformer", "standard_transformer", sp))
    return out


# ----------------------------------------------------------------------------------------------- Fig. 4 (case study)
def case_study_runs(result: dict, model: str, wd: float, split: str) -> list[int]:
    """The run indices of one column (model, weight decay) and split, ordered by seed."""
    idx = [
        i
        for i in indices(result, model=model, split=split)
        if abs(result["runs"]["weight_decay"][i] - wd) < 1e-12
    ]
    if not idx:
        raise KeyError((model, wd, split))
    return sorted(idx, key=lambda i: int(result["runs"]["seed"][i]))


def case_study_claims(result: dict, columns, splits, paper_ev) -> list:
    """The paper's Fig. 4 (spec F4), one value per seed.

    The paper: standard wd 0 memorises (train 1.0, test ~0.5, EV 26%); standard wd 0.5 groks (EV 58%); harmonic
    wd 0 generalises (train = test = 1.0, EV 100%). Its "test ~0.5" is the train/test overlap of the leaky split
    (48.5%, D1): the standard wd 0 model answers the leaked test rows and nothing else. So "does not generalise"
    and "generalises" are measured as accuracy on the test inputs *unseen* in training: on the official split
    the non-leaked test rows, on the unique split every test row. Paper: (0.5 - 0.485) / (1 - 0.485) ~ 0.03 for
    standard wd 0; the spec's tolerance (test acc - overlap within 0.05) is 0.05 / 0.515 ~ 0.1 on the unseen rows,
    the bound used. Each claim needs the models it compares to have fitted their training sets.
    """
    import numpy as np

    from repro.claims import Claim, precondition, read_off_plot

    def fitted(col: int, sp: str):
        m, wd = columns[col]
        vals = result["final_train_acc"][case_study_runs(result, m, wd, sp)]
        return precondition(f"{MODEL_LABELS[m]} wd {wd:g} trained: final train acc", vals, ">=", 0.99)

    out = []
    for sp in splits:
        ev = [result["ev"][case_study_runs(result, m, wd, sp), :2].sum(1) for m, wd in columns]
        unseen = [result["final_unseen_test_acc"][case_study_runs(result, m, wd, sp)] for m, wd in columns]
        out += [
            Claim(
                "EV top-2, harmonic wd 0",
                ev[2],
                ">=",
                0.95,
                paper=read_off_plot(paper_ev[2], "Fig. 4 bottom row, panel titles"),
                variant=sp,
                preconditions=(fitted(2, sp),),
            ),
            Claim(
                "EV: harmonic wd 0 - standard wd 0.5 (paired by seed)",
                ev[2] - ev[1],
                ">",
                0,
                paper=read_off_plot(0.42, "Fig. 4 panel titles: EV 100% vs 58%"),
                variant=sp,
                preconditions=(fitted(2, sp), fitted(1, sp)),
            ),
            Claim(
                "EV: standard wd 0.5 - standard wd 0 (paired by seed)",
                ev[1] - ev[0],
                ">",
                0,
                paper=read_off_plot(0.32, "Fig. 4 panel titles: EV 58% vs 26%"),
                variant=sp,
                preconditions=(fitted(1, sp), fitted(0, sp)),
            ),
            Claim(
                "standard wd 0 does not generalise: accuracy on test inputs unseen in training",
                unseen[0],
                "<",
                0.1,
                paper=read_off_plot(
                    round((0.5 - 0.485) / (1 - 0.485), 2),
                    "Fig. 4 top left: test ~0.5 at 48.5% overlap (spec F4)",
                ),
                variant=sp,
                preconditions=(fitted(0, sp),),
                note=""
                if np.all(unseen[0] < 0.1)
                else "our standard wd 0 MLP generalises with 80% of the table",
            ),
            Claim(
                "harmonic wd 0 generalises: accuracy on test inputs unseen in training",
                unseen[2],
                ">=",
                0.99,
                paper=read_off_plot(1.0, "Fig. 4 top right: train = test = 1.0"),
                variant=sp,
                preconditions=(fitted(2, sp),),
            ),
        ]
    return out
