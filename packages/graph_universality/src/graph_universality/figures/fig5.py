"""Fig. 5 (numbering: best guess): the "in-context learning" arm: a tiny GPT-NeoX meta-trained on random family
trees with fresh names per prompt; behaviour, PCA vs cone structure, probes and activation patching per layer
(v1 "LLM in-context learning" context; v2 V2-acc, V2-pca, V2-probe, V2-patch-layer in miniature).

Setting (``icl_arm``; prompts: ``icl``; patching: ``patching``): the stage ``graph_universality.icl_model``,
evaluated on fresh episodes (``eval_seeds``: new trees and names), every ordered pair, one question per prompt.
Probes: cone and L1 linear on PCA-10 of the node vectors per layer, fitted on 80 % of the node pairs, scored on the
rest. Patching at the input of each layer, up to ``n_patch`` positive pairs per episode, averaged over samples whose
clean and corrupted logit differences differ by >= 0.5 (the official code averages all).

Paper scale (Llama-3.1-8B-Instruct; nothing trained): the official layer sweep (``ablation.py --exp_type layer``,
``icl-rep.py``) in fp16, the 15-node balanced tree, five data seeds placing single-token names, the Alpaca prompt,
layers 0, 2, .. < 2L/3, up to 34 pairs per seed; X's position per prompt (defect 6), held-out probe pairs (defect 7).

Chance F1 (the paper's baseline) is a weak bar: a fixed answer per Y (Yes for the Y's with the most descendants,
X never read; ``generalisation.x_blind_f1``) beats it by far on 15-node trees, so the model must beat that answer too.
Recipes and why quick reads ``not reached``: ``icl_arm``. Spec silent: model size, steps, lr; parent order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from graph_universality.stages import ICL_MODEL, ICLModelConfig
from repro.figure import Figure
from repro.stage import Need

PATCHES = ("full", "pca2", "cone")  # as graph_universality.patching.PATCHES (kept light for import)
OFFICIAL_SEEDS = (100, 324, 549, 774, 999)  # the official data seeds, here for fresh episodes
ANSWERS = "the ICL model answers the task: accuracy above the all-No answer (per episode)"
READS_X = "it reads X: F1 above the best answer from Y alone (x-blind, per episode)"
X_BLIND = "the paper's baseline is chance F1, which a fixed answer per Y (X never read) beats by far"
USABLE = "usable patching samples (clean/corrupted logit differences >= 0.5 apart, all episodes) >= 10"
NOTE = "recipes and what each learns: graph_universality.icl_arm"
F1 = "ICL: descendant F1 on fresh trees and names minus chance"
F1_X = "ICL: descendant F1 minus the best answer from Y alone (x-blind)"
CONE = "cone probe held-out F1 at the best layer"
LAYER_SWEEP = "src/ablation.py --exp_type layer @ llm-tree (v2)"
PATCH = "2-D cone subspace recovers more than PCA-2 in the first half of the layers (mean difference)"


@dataclass(frozen=True)
class Fig5Config:
    icl: ICLModelConfig = field(default_factory=ICLModelConfig)  # the model (stage icl_model)
    n_nodes: int = 15  # evaluation trees
    eval_seeds: tuple[int, ...] = OFFICIAL_SEEDS
    n_patch: int = 20
    probe_steps: int = 1000
    pca_dims: int = 10
    tree: str = "random"  # evaluation trees: "random" (fresh per episode) or "balanced" (official, seed-free)
    patch_stride: int = 1  # patched layers: range(0, int(patch_until * L), patch_stride) (official: 2, 2/3)
    patch_until: float = 1.0
    dtype: str = "float16"  # a real LLM's (paper scale)
    device: str = "cuda"

    def __post_init__(self) -> None:
        if self.tree not in ("random", "balanced") or not 0 < self.patch_until <= 1 or self.patch_stride < 1:
            raise ValueError("tree must be random/balanced, patch_until in (0, 1], patch_stride >= 1")
        if self.n_nodes < 4 or not self.eval_seeds:
            raise ValueError("need n_nodes >= 4 and evaluation seeds")


def compute(cfg: Fig5Config, icl: dict[str, Any]) -> dict[str, Any]:
    from graph_universality import icl_arm

    if cfg.icl.model:
        model, tok, names = icl_arm.real_model(cfg.icl.model, cfg.dtype, cfg.device)
        return icl_arm.evaluate_episodes(cfg, model, tok, names, word_level=False)
    model, tok, names = icl_arm.tiny_model(cfg.icl, icl)
    out = icl_arm.evaluate_episodes(cfg, model, tok, names, word_level=True)
    return {**out, "train_curve": icl["train_curve"]}


def claims(result: dict[str, Any], cfg: Fig5Config) -> list:
    """v2 (V2-acc, V2-probe, V2-patch-layer) on one in-context model: it does the task in context (F1 above chance,
    the paper's baseline, and above the X-blind answer, ours); a cone probe decodes the tree from the node states
    (spec 4.4, inferred); patching the cone subspace recovers more than PCA-2 early on (v2 abstract). Bootstrap over
    the episodes (one model). Preconditions: accuracy above all-No in every episode; for the representation claims,
    F1 above X-blind; for patching, >= 10 usable samples. Full patch at layer 0 (= 1 by construction): a test."""
    import warnings

    from graph_universality.icl_arm import episode_values
    from graph_universality.spread import bootstrap_claim
    from repro.claims import official_code, our_choice, precondition

    with warnings.catch_warnings():  # an all-nan mean (nothing to patch) is reported as nan, not warned about
        warnings.simplefilter("ignore", RuntimeWarning)
        v = episode_values(result)
        a = (precondition(ANSWERS, v["above_all_no"], ">", 0.0),)
        ax = (*a, precondition(READS_X, v["above_x_blind"], ">", 0.0))
        au = (*ax, precondition(USABLE, v["usable"], ">=", 10))
        ctx = official_code("LLMs do the task in context", "src/eval-model.py @ david-baek/llm-tree (v2)")
        cone = our_choice(0.9, "spec 4.4 (inferred): cone-probe F1 >= 0.9 at about L/3")
        causal = official_code("the cone subspace is causal", LAYER_SWEEP)
        xb = our_choice(0, X_BLIND)
        return [
            bootstrap_claim(F1, v["f1_minus_chance"], ">", 0.2, paper=ctx, preconditions=a, note=NOTE),
            bootstrap_claim(F1_X, v["above_x_blind"], ">", 0.0, paper=xb, preconditions=a, note=NOTE),
            bootstrap_claim(CONE, v["cone_best"], ">=", 0.9, paper=cone, preconditions=ax, note=NOTE),
            bootstrap_claim(PATCH, v["cone_minus_pca2"], ">", 0.0, paper=causal, preconditions=au, note=NOTE),
        ]


def plot(result: dict[str, Any], cfg: Fig5Config):
    import matplotlib.pyplot as plt
    import numpy as np

    from graph_universality.figures._common import mean_with_rows, tree_picture
    from repro.plot import set_style

    set_style()
    eps = result["episodes"]
    keys = list(eps)
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6), constrained_layout=True)
    ax = axes[0]
    x = np.arange(len(keys))
    ax.bar(x, [eps[k]["f1"] for k in keys], color="C0", label="F1 (ICL model)")
    for key, c, lab in (("chance_f1", "k", "chance F1"), ("x_blind_f1", "C3", "best answer from Y alone")):
        ax.scatter(x, [eps[k][key] for k in keys], color=c, marker="_", s=200, label=lab, zorder=3)
    ax.set_xticks(x, keys, fontsize=6)
    ax.set_xlabel("evaluation episode (seed)")
    ax.set_title("(a) descendant questions, fresh trees + names")
    ax = axes[1]
    for name, key, ls in (("cone", "cone_test_f1", "-"), ("linear", "linear_test_f1", "--")):
        rows = [eps[k][key] for k in keys]  # thin: every episode
        mean_with_rows(ax, np.arange(int(result["n_layers"]) + 1), rows, ls, f"{name} probe (mean)")
    ax.set_xlabel("layer (hidden_states index)")
    ax.set_ylabel('held-out F1 at the last token of "Is {name}"')
    ax.set_title("(b) probes on PCA-10 (thin: each episode)")
    for ax in axes[:2]:
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=6.5)
    ax = axes[2]
    for kind in PATCHES:  # thin: every episode with usable samples
        mean_with_rows(ax, result["patch_layers"], [eps[k][f"patch_{kind}"] for k in keys], label=kind)
    ax.axhline(1, color="k", lw=0.8, ls=":")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("patched layer (input of block l)")
    ax.set_ylabel("normalised logit difference")
    ax.legend(fontsize=6.5)
    ax.set_title("(c) activation patching at x's position")
    if not sum(eps[k]["n_patch_kept"] for k in keys):
        loss = result.get("train_curve")
        text = "no sample where the clean and corrupted\nlogit differences differ by >= 0.5\n"
        text += f"(final answer loss {loss[-1]:.3f}; ln 2 = 0.693)" if loss is not None else ""
        ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=8)
    ax = axes[3]
    layer = max(1, int(result["n_layers"]) // 3)
    e = eps[keys[0]]
    sc = tree_picture(ax, e["pca2"][layer], e["parents"], arrows="grey", size=18, star=60)
    fig.colorbar(sc, ax=ax, label="depth")
    ax.set_title(f"(d) PCA-2 of node states, layer {layer}, episode {keys[0]}")
    m = cfg.icl
    what = (
        f"{m.model} (Alpaca prompt, {cfg.tree} {cfg.n_nodes}-node tree)"
        if m.model
        else f"{m.n_layers}-layer d={m.d_model} GPT-NeoX meta-trained {m.steps} steps on random {m.n_nodes}-node trees"
    )
    fig.suptitle(f'Fig. 5 (numbering: best guess): "in-context learning" arm, {what}', fontsize=10)
    return fig


FIGURE = Figure(
    paper="graph_universality",
    id="fig5",
    aliases=("in_context_arm", "patching_vs_layer", "pca_vs_cone", "probe_f1_vs_layer"),
    title='"In-context learning" arm: tiny GPT-NeoX meta-learner, probes and patching (numbering: best guess)',
    configs={
        "smoke": Fig5Config(
            icl=ICL_MODEL.configs["smoke"],
            n_nodes=6,
            eval_seeds=(100, 324, 549),
            n_patch=4,
            probe_steps=30,
            pca_dims=4,
        ),
        "quick": Fig5Config(icl=ICL_MODEL.configs["quick"]),
        # official layer sweep (ablation.py --exp_type layer): Llama-3.1-8B-Instruct, layers 0, 2, .. < 2L/3
        "paper": Fig5Config(
            icl=ICL_MODEL.configs["paper"],
            tree="balanced",
            patch_stride=2,
            patch_until=2 / 3,
            n_patch=34,
            probe_steps=3000,
        ),
    },
    needs={"icl": Need(ICL_MODEL, field="icl")},
    compute=compute,
    plot=plot,
    claims=claims,
    est_seconds={"smoke": 3, "quick": 20, "paper": 3600},  # the figure alone; `repro list` adds its stages
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    control=lambda cfg: dataclasses.replace(cfg, icl=dataclasses.replace(cfg.icl, steps=1)),
    control_label="untrained meta-learner (1 training step)",
)
