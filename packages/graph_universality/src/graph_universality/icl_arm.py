"""The in-context arm end to end: meta-training the tiny model (stage ``graph_universality.icl_model``), evaluating
it (or a real instruct LLM) on fresh episodes with probes and patching (Fig. 5), and its accuracy on the official
balanced tree with the description ordered or shuffled (Fig. 7). Prompts, representations and the patch itself are
in :mod:`graph_universality.icl` and :mod:`graph_universality.patching`.

Meta-training (config ``stages.ICLModelConfig``; issue 16 item 2). Three recipes:

- ``fixed`` (the quick default): 16000 fixed texts of one 15-node tree and one question each, answer-token loss,
  AdamW lr 3e-3 constant, 1000 steps of 32, 2 layers, d 64, Pythia's rotary fraction 0.25 (92 s);
- ``online`` (opt-in: ``--set icl.recipe=online --set icl.rotary_pct=1``): fresh sequences every step, each a random
  tree with fresh names, its description and ``n_questions`` answered questions (half positive; loss on every
  answer token), tree sizes on a linear curriculum from ``min_nodes`` to the evaluation size, warm-up then cosine
  decay, gradients clipped at 1; rotary 1 (Pythia's 0.25 leaves 4 of 16 head dimensions to position);
- ``adaptive`` (opt-in: ``--set icl.recipe=adaptive --set icl.rotary_pct=1 --set icl.min_nodes=2 --set
  icl.steps=8000 --set icl.n_questions=4 --set icl.warmup=50``): ``online`` whose curriculum starts at 2-node trees
  and adds a node whenever the last 50 steps' answer loss is under ``grow_below`` (0.45); constant lr.

Questions (``icl.questions``, online / adaptive): ``pairs`` (default) draws (X, Y) uniformly among the descendant
pairs or the others, so Y alone predicts the answer (the root is Y of every 5th question and always "Yes", a leaf
always "No"); ``per_y`` draws Y first and makes Yes / No a coin flip for every inner Y; ``inner`` asks about inner
Y's only (``icl.episode_text``).

Measured on this machine (one torch thread, the other core busy; answer loss on balanced questions, ln 2 = 0.693):

- ``fixed`` and ``online`` stay on the ln 2 plateau: ``fixed`` 0.693; earlier diagnoses (1-8 questions, lr
  1e-3..1e-2, 2-4 layers, d 32/64, 20-400 names, 4-15 nodes, up to 2500 steps, a parent look-up auxiliary, a
  next-token loss on the whole sequence) 0.68-0.73; ``online`` 3/4 -> 15 nodes over 1500-4000 steps: 0.693.
- ``adaptive`` (``pairs``) leaves the plateau (2-node trees after ~1500 steps, 15 nodes by ~5600, loss 0.24-0.26
  after 8000 steps, 9 min) and scores F1 0.41 above chance on Fig. 5's episodes, but **without reading X**: for
  every Y its logit difference Yes - No is the same for all 14 X to within 0.1 (from +6.3 for the root to -9 for
  leaves), so a clean and a corrupted question never differ (0 usable patching samples), and its F1 is below the
  best answer from Y alone (:func:`x_blind_f1`, 0.63-0.76 on these episodes). On 2-node trees the only rule to
  learn is "Yes iff Y is the root"; growing the tree grew that shortcut (Y's number of descendants), not a look-up.
  (The previous note's "the look-up is learnable" and the calibration phase that met the accuracy precondition
  were this shortcut.) Fig. 5 now states it: F1 above the X-blind answer is a claim and, for the representation
  claims, a precondition.
- ``adaptive`` with ``per_y`` (8000 steps, 12 min): loss 0.26 at the end, but that is the forced questions
  (root, leaves) at ~0 and the inner ones at ~ln 2 (the curriculum grows on the mean); on Fig. 5's episodes F1
  0.31 above chance (below the X-blind answer), accuracy below all-No in 4 of 5 episodes, 0 usable patching
  samples. Throwaway runs on inner questions only (the answer a coin flip given Y), 3-7-node trees, 2 layers d 64,
  lr 3e-3: descendant vs other, 4 questions: 0.693 after 3000 steps; X a child of Y vs not a descendant (one hop),
  16 questions per sequence, 60 or 400 names: 0.693 after 3000 steps. On 3-node trees alone the look-up does form:
  0.42 after 1000 steps, 0.29 after 2000.
- ``adaptive`` with ``inner`` (``--set icl.questions=inner --set icl.min_nodes=3``, 8000 steps, 6.5 min): the
  curriculum now grows only when X is read; ln 2 - 0.03 until ~2800 steps, 0.46 on 3-node trees by 5200, 4 nodes
  at ~5500, 5 nodes at ~7600 (loss ~0.5). Every added node lengthens the paths to follow and adds distractors, so
  the 15-node episodes of Fig. 5 are many times that budget away.

The tiny model does learn to read X in context, but far too slowly for CPU minutes: quick keeps ``fixed`` (92 s)
and Fig. 5 reads ``not reached``, as it should for a model that does not do the task.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graph_universality.generalisation import x_blind_f1
from graph_universality.spread import f1_score

PATCHES = ("full", "pca2", "cone")
ORDERS = ("ordered", "shuffled")


# ---------------------------------------------------------------------------------------------------- the model
def meta_train(cfg: Any) -> dict[str, Any]:
    """Meta-train the tiny GPT-NeoX of a ``stages.ICLModelConfig`` on random trees with fresh names: its weights
    (``model_state``, numpy) and the answer-loss curve."""
    from graph_universality import icl
    from graph_universality.graphs import name_pool

    names = name_pool()
    tok = icl.build_tokenizer(names)
    model = _new_tiny(cfg, len(tok))
    tops: list[int] = []
    if cfg.recipe in ("online", "adaptive"):
        curve, tops = icl.meta_train_online(model, tok, names, cfg, desc="icl_model: meta-training")
    else:
        texts = icl.training_texts(cfg.n_train, cfg.n_nodes, names, cfg.seed)
        curve = icl.train_icl(
            model,
            tok,
            texts,
            cfg.steps,
            cfg.batch_size,
            cfg.lr,
            cfg.seed,
            "icl_model: meta-training",
            cfg.weight_decay,
        )
    return {
        "model_state": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()},
        "train_curve": np.array(curve),
        **({"curriculum_top": np.array(tops)} if tops else {}),  # tree size per block of 50 steps
    }


def _new_tiny(cfg: Any, vocab: int) -> Any:
    from graph_universality import tinylm

    lm_cfg = tinylm.LMConfig(cfg.d_model, cfg.n_layers, cfg.n_heads, seed=cfg.seed)
    return tinylm.new_model(lm_cfg, vocab, n_ctx=256, rotary_pct=cfg.rotary_pct)


def tiny_model(cfg: Any, result: dict[str, Any]) -> tuple[Any, Any, list[str]]:
    """The meta-trained model (eval mode) rebuilt from the stage's result, its tokenizer and the name pool."""
    import torch

    from graph_universality import icl
    from graph_universality.graphs import name_pool

    names = name_pool()
    tok = icl.build_tokenizer(names)
    model = _new_tiny(cfg, len(tok))
    model.load_state_dict({k: torch.as_tensor(v) for k, v in result["model_state"].items()})
    return model.eval(), tok, names


def real_model(name: str, dtype: str, device: str) -> tuple[Any, Any, list[str]]:
    """A real instruct LLM (paper scale), its tokenizer and the names it reads as one token; one line naming the
    download when it is not available offline."""
    from graph_universality.graphs import name_pool, single_token_names
    from graph_universality.paper_models import require_models
    from repro.models import ModelSpec, load_model

    path = require_models([name])[name]
    loaded = load_model(ModelSpec(str(path), dtype=dtype, device=device), hooked=False)
    return loaded.hf, loaded.tokenizer, single_token_names(name_pool(), loaded.tokenizer)


# ---------------------------------------------------------------------------------------------------- Fig. 5
def patch_samples(ex: np.ndarray, desc: np.ndarray, n_nodes: int, n_patch: int, rng: Any) -> list[tuple]:
    """Up to ``n_patch`` (clean x, corrupted x, y): positives (x, y) with an x' that is not a descendant of y, the
    clean and corrupted roles alternating (official)."""
    samples = []
    for _, x, y, l_ in ex:
        cands = [c for c in range(n_nodes) if c != y and not desc[c, y]]
        if l_ != 1 or not cands or len(samples) >= n_patch:  # y = root: every node descends from it
            continue
        xc = cands[int(rng.integers(len(cands)))]
        samples.append((x, xc, y) if len(samples) % 2 == 0 else (xc, x, y))
    return samples


def evaluate_episodes(cfg: Any, model: Any, tok: Any, names: list[str], word_level: bool) -> dict[str, Any]:
    """Fig. 5's measurements of ``model`` on the fresh episodes ``cfg.eval_seeds`` (see its docstring): F1 and
    accuracy on every ordered pair, cone / linear probes per layer on PCA of the node states, and full / PCA-2 /
    cone patching per layer."""
    import torch

    from graph_universality import icl
    from graph_universality.graphs import KnowledgeGraph, balanced_tree, relation_matrix, split
    from graph_universality.patching import patch_layers, subspace_bases
    from graph_universality.probes import cone_probe, linear_probe, pca

    prompt = icl.prompt if word_level else icl.alpaca_prompt
    n_layers = model.config.num_hidden_layers
    layers = list(range(0, max(1, int(cfg.patch_until * n_layers)), cfg.patch_stride))
    out: dict[str, Any] = {"episodes": {}, "n_layers": n_layers, "patch_layers": np.array(layers)}
    for es in cfg.eval_seeds:
        rng = np.random.default_rng(es)
        ep = icl.sample_episode(rng, cfg.n_nodes, names)
        if cfg.tree == "balanced":  # official: one tree, the data seed only places the names
            ep = icl.Episode(balanced_tree(cfg.n_nodes), ep.labels)
        kg = KnowledgeGraph(ep.parents)
        ex = kg.examples
        ld = icl.logit_diffs(
            model, tok, [prompt(ep.parents, ep.labels, x, y) for _, x, y, _ in ex], word_level=word_level
        )
        lab = ex[:, 3] == 1
        pred = ld > 0
        f1 = f1_score(pred, lab)
        states, node_pos = icl.node_states(model, tok, ep, word_level)  # [L+1, N, d], X's position per node
        reduced_arr = np.stack([pca(h, cfg.pca_dims)[0] for h in states])
        ptr, pte = split(kg, "heldout", 0.2, 0)
        cone = cone_probe(reduced_arr, ex[:, 1:], ptr, pte, cfg.probe_steps)
        lin = linear_probe(reduced_arr, ex[:, 1:], ptr, pte)
        samples = patch_samples(ex, relation_matrix(ep.parents, "descendant"), cfg.n_nodes, cfg.n_patch, rng)
        p_clean = [prompt(ep.parents, ep.labels, c, y) for c, _, y in samples]
        p_corr = [prompt(ep.parents, ep.labels, c, y) for _, c, y in samples]
        hs_clean, _ = icl.hidden_at(model, tok, p_clean, word_level)
        bases = {l_: subspace_bases(states[l_], reduced_arr[l_], cone["proj"][l_]) for l_ in layers}
        patch = patch_layers(
            lambda prompts, patch=None: icl.logit_diffs(
                model, tok, prompts, patch=patch, word_level=word_level
            ),
            model,
            p_clean,
            p_corr,
            torch.as_tensor([int(node_pos[c]) for c, _, _ in samples], dtype=torch.long),
            hs_clean,
            layers,
            bases,
        )
        out["episodes"][str(es)] = {
            "parents": np.array(ep.parents),
            "f1": f1,
            "accuracy": float((pred == lab).mean()),
            "chance_f1": float(lab.mean()),
            "x_blind_f1": x_blind_f1(ex),
            "cone_test_f1": cone["test_f1"],
            "linear_test_f1": lin["test_f1"],
            "pca2": reduced_arr[:, :, :2],
            "cone_proj": cone["proj"],
            "n_patch_kept": patch["n_kept"],
            **{f"patch_{k}": patch[k] for k in PATCHES},
        }
    return out


def episode_values(result: dict[str, Any]) -> dict[str, Any]:
    """Fig. 5's claimed quantities per episode: accuracy minus the all-No answer's and F1 minus the best X-blind
    answer's (:func:`x_blind_f1`; preconditions), usable patching samples (all episodes), F1 minus chance, the
    cone probe's best held-out F1 over layers, and cone minus PCA-2 normalised logit difference averaged over the
    first half of the patched layers."""
    eps = list(result["episodes"].values())
    n_patched = len(result["patch_layers"])
    half = max(1, n_patched // 2 + (n_patched % 2))
    return {
        "above_all_no": [e["accuracy"] - (1 - e["chance_f1"]) for e in eps],
        "usable": sum(e["n_patch_kept"] for e in eps),
        "above_x_blind": [e["f1"] - e["x_blind_f1"] for e in eps],
        "f1_minus_chance": [e["f1"] - e["chance_f1"] for e in eps],
        "cone_best": [float(np.max(e["cone_test_f1"])) for e in eps],
        "cone_minus_pca2": [float(np.mean(e["patch_cone"][:half] - e["patch_pca2"][:half])) for e in eps],
    }


# ---------------------------------------------------------------------------------------------------- Fig. 7
def ordered_vs_shuffled(
    n_nodes: int, data_seeds: tuple[int, ...], shuffle_seed: int, names: list[str], run: Any
) -> dict[str, dict[str, np.ndarray]]:
    """F1 and accuracy per data seed on every ordered pair of ``balanced_tree(n_nodes)``, with the parent lines in
    node order and shuffled (``[shuffle_seed, data seed]``); ``run(parents, labels, pairs, order)`` -> logit
    differences Yes - No. Names are placed by ``default_rng(data seed)``."""
    from graph_universality import icl
    from graph_universality.graphs import KnowledgeGraph, balanced_tree

    parents = balanced_tree(n_nodes)
    ex = KnowledgeGraph(parents).examples
    pairs = [(int(x), int(y)) for _, x, y, _ in ex]
    lab = ex[:, 3] == 1
    n_lines = icl.n_parent_lines(parents)
    per = {o: {"f1": [], "accuracy": []} for o in ORDERS}
    for ds in data_seeds:
        rng = np.random.default_rng(ds)
        labels = [names[i] for i in rng.choice(len(names), size=n_nodes, replace=False)]
        for o in ORDERS:
            order = (
                None
                if o == "ordered"
                else list(np.random.default_rng([shuffle_seed, ds]).permutation(n_lines))
            )
            pred = run(parents, labels, pairs, order) > 0
            per[o]["f1"].append(f1_score(pred, lab))
            per[o]["accuracy"].append(float((pred == lab).mean()))
    return {o: {k: np.array(v) for k, v in d.items()} for o, d in per.items()}


def cells(result: dict[str, Any], order: str = "ordered", metric: str = "accuracy") -> np.ndarray:
    """Fig. 7's ``metric`` in every (model, data seed) cell for one description ``order``."""
    return np.concatenate([m[order][metric] for m in result["models"].values()])


def icl_accuracy(cfg: Any, icl_cfg: Any, icl_result: dict[str, Any]) -> dict[str, Any]:
    """Fig. 7: the in-context model (the tiny meta-learner, or the named LLM) and then every LLM in ``cfg.models``,
    each on the balanced tree ordered vs shuffled; with the chance baselines of that tree."""
    from graph_universality import icl
    from graph_universality.graphs import KnowledgeGraph, balanced_tree

    ex = KnowledgeGraph(balanced_tree(cfg.n_nodes)).examples
    p = float((ex[:, 3] == 1).mean())
    out: dict[str, Any] = {
        "models": {},
        "chance_f1": p,  # a random guess at the positive rate
        "x_blind_f1": x_blind_f1(ex),  # the best answer from Y alone
        "all_yes_f1": 2 * p / (1 + p),  # the best answer that ignores the question
        "majority_accuracy": 1 - p,
    }
    args = (cfg.n_nodes, cfg.data_seeds, cfg.shuffle_seed)
    if not icl_cfg.model:
        model, tok, names = tiny_model(icl_cfg, icl_result)

        def run_tiny(parents, labels, pairs, order):
            prompts = [icl.prompt(parents, labels, x, y, order) for x, y in pairs]
            return icl.logit_diffs(model, tok, prompts)

        label = f"tiny ICL ({icl_cfg.n_layers}L d{icl_cfg.d_model})"
        out["models"][label] = ordered_vs_shuffled(*args, names, run_tiny)
    real = (icl_cfg.model, *cfg.models) if icl_cfg.model else cfg.models
    if real:
        from graph_universality.paper_models import require_models

        require_models(real)  # one line naming every missing model when offline
        for i, name in enumerate(real):
            hf, tok, names = real_model(name, cfg.dtype, cfg.device)

            def run(parents, labels, pairs, order, hf=hf, tok=tok):
                prompts = [icl.alpaca_prompt(parents, labels, x, y, order) for x, y in pairs]
                return icl.logit_diffs(hf, tok, prompts, word_level=False)

            label = cfg.labels[i] if cfg.labels else name.rstrip("/").split("/")[-1]
            out["models"][label] = ordered_vs_shuffled(*args, names, run)
            del hf
    return out
