"""Feature geometry of the zoo's models (fig8; spec F-g): the parallelogram loss of analogy word pairs in base vs
distilled, per size, variant, task and number of principal components, and the summaries the claims and panels read.

For a task's word pairs (a_i, b_i) the official ``src/parallelogram.py`` scores every pair of pairs (i, j) by
``||a_i - b_i - a_j + b_j|| / sqrt(||a_i||^2 + ||b_i||^2 + ||a_j||^2 + ||b_j||^2)`` after projecting the words on
``n_comp`` principal components (``geometry``). Tasks: the synthetic language's analogies
(``language.analogy_pairs``: number word <-> digit, singular <-> plural, present <-> past), pairs of single tokens.
Representations: ``blocks.{n_layers // 2}.hook_resid_pre`` (the crosscoder's site), one batched forward per model.

Variants (defect 6):
- ``official``: each word runs alone, its activation at position 0 (no BOS: TransformerLens sets
  ``default_prepend_bos=False`` for Qwen2 models, per the spec; not verifiable offline), PCA fitted separately per
  model. In the miniature, position 0 is always the EOS/BOS token in training, so a word there is out of
  distribution, as a content token at Qwen's attention-sink position is.
- ``fixed``: each word at the end of ``language.context_template(word)`` (``Tom has three`` / ``Tom has 3``; the
  same prefix for both words of a pair), run after the EOS/BOS token, activation at the word's position; one PCA
  basis shared by both models (each model's words centred on their own mean).
Both over ``n_comps``, each capped by d. Medians get percentile-bootstrap CIs that resample word pairs
(``geometry.bootstrap_medians``: pairs of pairs share word pairs, so they are not independent); base and distilled
share the resamples, so the difference has a paired CI. ``untrained_models`` (the control): every model replaced by a
random-init one of its architecture. Every zoo seed is analysed (``replicates``); the claims take one value per
seed and a t interval over seeds.
"""

from __future__ import annotations

from typing import Any

from distill_features.replicates import stage_replicates

VARIANTS = ("official", "fixed")


def check_config(cfg: Any) -> None:
    """Validation of fig8's config."""
    if not cfg.n_comps or list(cfg.n_comps) != sorted(set(cfg.n_comps)) or cfg.n_comps[0] < 1:
        raise ValueError(f"n_comps must be strictly increasing positive integers, got {cfg.n_comps}")
    if cfg.plot_n_comp not in cfg.n_comps:
        raise ValueError(f"plot_n_comp {cfg.plot_n_comp} must be one of n_comps {cfg.n_comps}")
    if cfg.n_boot < 10 or not 0 < cfg.level < 1:
        raise ValueError("n_boot must be >= 10 and level in (0, 1)")
    if not set(cfg.variants) <= set(VARIANTS) or not cfg.variants:
        raise ValueError(f"variants must be a non-empty subset of {VARIANTS}")


def geometry_experiment(cfg: Any, zoo: dict[str, Any]) -> dict[str, Any]:
    """Fig8's computation on the zoo stage's result: per size, variant, task and n_comp, the parallelogram losses of
    base and distilled and their bootstrap medians (see the module docstring); replicate 0 of the zoo in ``sizes``,
    the others in ``replicates`` (``replicates.stage_replicates`` gives one result per zoo seed)."""
    import torch

    from distill_features import geometry, pairs
    from distill_features import language as lang
    from distill_features.zoo import replicate_sizes

    torch.set_num_threads(1)
    tok, _ = pairs.zoo_from_result(zoo)
    tasks = {t: p for t, p in geometry.single_token_pairs(lang.analogy_pairs(), tok).items() if len(p) >= 2}
    out: dict[str, Any] = {
        "tasks": list(tasks),
        "pairs": {t: [list(p) for p in ps] for t, ps in tasks.items()},
        "variants": list(cfg.variants),
        "size_order": list(zoo["size_order"]),
    }
    reps = [_replicate(cfg, zoo, j, tasks) for j in range(len(replicate_sizes(zoo)))]
    out["sizes"], out["replicates"] = reps[0], reps[1:]
    return out


def _replicate(cfg: Any, zoo: dict[str, Any], j: int, tasks: dict[str, Any]) -> dict[str, Any]:
    """Replicate ``j`` of the zoo: ``{size name: that size's cells}``."""
    import dataclasses

    import numpy as np

    from distill_features import geometry, pairs
    from distill_features import language as lang
    from distill_features.zoo import replicate_sizes
    from repro.progress import status

    tok, pair_of = pairs.zoo_from_result(zoo, replicate=j)
    if cfg.untrained_models:
        for p in pair_of.values():
            p.base, p.distilled = (pairs.new_model(dataclasses.replace(p.cfg, seed=p.cfg.seed + k), len(tok))
                                   for k in (0, 1))  # fmt: skip
    held = [lang.parse_problem(t) for t in zoo["eval_problems"][: cfg.n_answer_check]]
    words = sorted({w for p in tasks.values() for pair in p for w in pair})
    row = {w: i for i, w in enumerate(words)}
    how = {"official": (None, "separate"), "fixed": (lang.context_template, "shared")}
    sizes: dict[str, Any] = {}
    for name, pair in pair_of.items():
        d, layer = pair.cfg.d_model, pair.cfg.n_layers // 2
        r1 = replicate_sizes(zoo)[j][name]
        r: dict[str, Any] = {
            "d_model": d,
            "layer": layer,
            "n_comp": np.array([min(k, d) for k in cfg.n_comps]),
            "base_accuracy": float(r1["base_accuracy"]),
            "distilled_accuracy": float(r1["distilled_accuracy"]),
            "answered": float(pairs.evaluate(pair.distilled.eval(), tok, held, True, 64)["answered"].mean()),
            "variants": {},
        }
        for v in cfg.variants:
            context, basis = how[v]
            reps = [
                geometry.word_representations(m, layer, tok, words, context)
                for m in (pair.base, pair.distilled)
            ]
            rv: dict[str, Any] = {
                "mean_norm": np.array([np.linalg.norm(x, axis=1).mean() for x in reps]),
                "tasks": {},
            }
            for t, ps in tasks.items():
                ia, ib = [row[a] for a, _ in ps], [row[b] for _, b in ps]
                per_model = [(x[ia], x[ib]) for x in reps]
                cell: dict[str, list] = {
                    k: [] for k in ("values", "median", "lo", "hi", "diff", "diff_lo", "diff_hi")
                }
                for k in r["n_comp"]:
                    losses = geometry.parallelogram_losses(per_model, int(k), basis)
                    boot = geometry.bootstrap_medians(losses, cfg.n_boot, cfg.seed, cfg.level)
                    cell["values"].append(np.stack([geometry.pair_values(m) for m in losses]))
                    for key in ("median", "lo", "hi", "diff", "diff_lo", "diff_hi"):
                        cell[key].append(boot[key])
                rv["tasks"][t] = {k: np.array(vals) for k, vals in cell.items()}
                rv["tasks"][t]["top2_share"] = np.array(
                    [geometry.top_variance_share(np.concatenate([a, b]), 2) for a, b in per_model]
                )
            r["variants"][v] = rv
            k0 = list(cfg.n_comps).index(cfg.plot_n_comp)
            meds = ", ".join(
                f"{t} {c['median'][k0][0]:.2f}/{c['median'][k0][1]:.2f}" for t, c in rv["tasks"].items()
            )
            status(
                f"fig8 seed {j} {name} {v}: median loss base/distilled at n_comp {cfg.plot_n_comp}: {meds}"
            )
        sizes[name] = r
    return sizes


# ----------------------------------------------------------------------------------------------- summaries
def plot_index(cfg: Any) -> int:
    """Index of ``cfg.plot_n_comp`` in ``cfg.n_comps``."""
    return list(cfg.n_comps).index(cfg.plot_n_comp)


def n_not_worse(result: dict[str, Any], name: str, v: str, k0: int) -> int:
    """Tasks where the distilled median loss is <= the base's at n_comp index ``k0``."""
    cells = result["sizes"][name]["variants"][v]["tasks"].values()
    return int(sum(c["median"][k0][1] <= c["median"][k0][0] for c in cells))


def n_resolved(result: dict[str, Any], v: str, k0: int) -> int:
    """(size, task) cells whose bootstrap CI of distilled - base median excludes 0 at n_comp index ``k0``."""
    cells = [c for r in result["sizes"].values() for c in r["variants"][v]["tasks"].values()]
    return int(sum(c["diff_lo"][k0] > 0 or c["diff_hi"][k0] < 0 for c in cells))


def ncomp_shift(result: dict[str, Any], v: str, k0: int) -> float:
    """Largest |median(n_comp) - median(n_comp at k0)| over sizes, tasks, models and n_comps."""
    import numpy as np

    shifts = [
        np.abs(np.asarray(c["median"]) - np.asarray(c["median"])[k0]).max()
        for r in result["sizes"].values()
        for c in r["variants"][v]["tasks"].values()
    ]
    return float(np.max(shifts))


def performance_correlation(result: dict[str, Any], v: str, k0: int) -> tuple[Any, Any, float]:
    """(distilled accuracy per size, task-mean distilled-minus-base median per size, Pearson r across sizes)."""
    import numpy as np

    names = result["size_order"]
    acc = np.array([result["sizes"][n]["distilled_accuracy"] for n in names])
    diff = np.array(
        [np.mean([c["diff"][k0] for c in result["sizes"][n]["variants"][v]["tasks"].values()]) for n in names]
    )
    if len(names) < 3 or np.ptp(acc) == 0 or np.ptp(diff) == 0:
        return acc, diff, float("nan")
    return acc, diff, float(np.corrcoef(acc, diff)[0, 1])


def count_bounds(cells: dict[str, Any], k0: int) -> tuple[int, int]:
    """(tasks whose whole CI of distilled - base is <= 0, tasks whose CI reaches <= 0): the range of the count of
    tasks with distilled <= base that the per-task 95 % intervals allow."""
    lo = sum(c["diff_hi"][k0] <= 0 for c in cells.values())
    hi = sum(c["diff_lo"][k0] <= 0 for c in cells.values())
    return int(lo), int(hi)


def shift_interval(result: dict[str, Any], v: str, n_boot: int = 500, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of :func:`ncomp_shift` (pairs of word pairs resampled per cell, the same resample at
    every n_comp; pairs of pairs share word pairs, so this interval is too narrow rather than too wide)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    boots = np.zeros(n_boot)
    for r in result["sizes"].values():
        for c in r["variants"][v]["tasks"].values():
            vals = np.asarray(c["values"], float)  # [K, M, n]
            idx = rng.integers(0, vals.shape[-1], (n_boot, vals.shape[-1]))
            med = np.nanmedian(vals[:, :, idx], axis=-1)  # [K, M, B]
            boots = np.maximum(boots, np.abs(med - med[:1]).max((0, 1)))
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return float(lo), float(hi)


def top2_share(result: dict[str, Any], v: str, m: int) -> list[float]:
    """Per size: model ``m``'s share of variance on the top two principal components, mean over tasks."""
    import numpy as np

    return [float(np.mean([c["top2_share"][m] for c in result["sizes"][n]["variants"][v]["tasks"].values()]))
            for n in result["size_order"]]  # fmt: skip


def summary_lines(result: dict[str, Any], k0: int) -> list[str]:
    """One line per variant: tasks not worse at the largest and smallest size, n_comp shift, resolved cells."""
    names, tasks = result["size_order"], result["tasks"]
    return [f"{v}: largest size distilled <= base on {n_not_worse(result, names[-1], v, k0)}/{len(tasks)} tasks, "
            f"smallest {n_not_worse(result, names[0], v, k0)}/{len(tasks)}, n_comp shift {ncomp_shift(result, v, 0):.3f}, "
            f"CI of the difference excludes 0 in {n_resolved(result, v, k0)}/{len(names) * len(tasks)} cells"
            for v in result["variants"]]  # fmt: skip


def answer_preconditions(result: dict[str, Any]) -> tuple:
    """Fig8's claims' preconditions: each size's distilled model answers held-out problems, in every zoo seed (an
    untrained one does not)."""
    from repro.claims import precondition

    reps = stage_replicates(result)
    return tuple(precondition(f"{n}: the distilled model answers held-out problems (share with an answer, every seed)",
                              [r["sizes"][n].get("answered", float("nan")) for r in reps], ">=", 0.5)
                 for n in result["size_order"])  # fmt: skip
