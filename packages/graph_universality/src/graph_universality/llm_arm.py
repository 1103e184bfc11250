"""The "LLM training" arm end to end: tiny GPT-NeoX LMs trained on one family tree as text (stage
``graph_universality.tiny_lms``), their behaviour, probes, patching and LM-to-LM stitching (Fig. 4), and the
official stitching of real LMs on The Pile (stage ``graph_universality.lm_stitching``, paper scale).

The models, tokenizer, texts and stitch itself are in :mod:`graph_universality.tinylm`; probes in ``probes``,
patching in ``patching``. Every tiny LM is read back through :func:`repro.models.load_model` (the code path that
loads Pythia from the hub at paper scale) before it is measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from graph_universality.generalisation import y_rule_f1
from graph_universality.spread import f1_score

INITS = ("zero", "lstsq")
PATCHES = ("full", "pca2", "cone")


# ---------------------------------------------------------------------------------------------------- data
@dataclass
class TreeText:
    """One family tree as text (``stages.TinyLMsConfig``): names, tokenizer, the held-out split of the descendant
    links, and the encoded training text (facts + training questions) and held-out questions."""

    kg: Any
    names: list[str]
    tok: Any
    train: np.ndarray  # [E] bool: training links
    test: np.ndarray
    ids: Any  # training text
    mask: Any
    test_ids: Any  # held-out questions with their answers
    test_mask: Any
    questions: list[str]  # every link, without its answer


def tokenizer(cfg: Any) -> Any:
    from graph_universality import tinylm
    from graph_universality.graphs import name_pool

    return tinylm.build_word_tokenizer(name_pool()[: cfg.n_nodes])


def tree_text(cfg: Any) -> TreeText:
    from graph_universality import tinylm
    from graph_universality.graphs import KnowledgeGraph, name_pool, random_tree, split

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
    return TreeText(kg, names, tok, tr, te, ids, mask, test_ids, test_mask, questions)


# ---------------------------------------------------------------------------------------------------- the LMs
def _lm_config(cfg: Any, seed: int) -> Any:
    from graph_universality import tinylm

    return tinylm.LMConfig(
        cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.steps, cfg.batch_size, cfg.lr, 0.01, seed
    )


def train_lms(cfg: Any) -> dict[str, Any]:
    """One tiny LM per seed on the same text: ``{"models": {seed: {"state", "train_curve"}}}`` (weights in numpy).
    Each seed is its own job, in its own single-threaded worker process when the stage has the threads
    (:mod:`repro.parallel`): every LM seeds its own init and batches, so the numbers are those of one process."""
    from repro.parallel import map_single_threaded, n_workers

    trained = map_single_threaded(_train_lm, [(cfg, s) for s in cfg.seeds], n_workers(len(cfg.seeds)))
    return {"models": {str(s): m for s, m in zip(cfg.seeds, trained, strict=True)}}


def _train_lm(job: tuple[Any, int]) -> dict[str, Any]:
    from graph_universality import tinylm

    cfg, s = job
    data = tree_text(cfg)
    lm_cfg = _lm_config(cfg, s)
    m = tinylm.new_model(lm_cfg, len(data.tok))
    curve = tinylm.train_lm(m, data.ids, data.mask, lm_cfg, desc=f"tiny_lms: training tiny GPT-NeoX seed {s}")
    return {
        "state": {k: v.detach().numpy().copy() for k, v in m.state_dict().items()},
        "train_curve": np.array(curve),
    }


def models_from_states(cfg: Any, result: dict[str, Any], seeds: Any = None) -> dict[int, Any]:
    """``{seed: GPTNeoXForCausalLM}`` (eval mode) rebuilt from the stage's result, for ``seeds`` (default: all)."""
    import torch

    from graph_universality import tinylm

    vocab = len(tokenizer(cfg))
    out = {}
    for s in cfg.seeds if seeds is None else seeds:
        m = tinylm.new_model(_lm_config(cfg, s), vocab)
        m.load_state_dict({k: torch.as_tensor(v) for k, v in result["models"][str(s)]["state"].items()})
        out[s] = m.eval()
    return out


# ---------------------------------------------------------------------------------------------------- Fig. 4
def measure_lms(cfg: Any, lms_cfg: Any, lms: dict[str, Any]) -> dict[str, Any]:
    """Fig. 4's measurements (``cfg``: its config; ``lms``: the tiny_lms stage's result): per LM, behaviour,
    probes per layer and patching per layer; then the affine stitches seed i -> seed i+1 (cyclic) at each cut, with
    the receiver's random-sender control and the baselines. One job per LM, then one per stitch and one per pair's
    baselines, each started once its receiver is measured (:func:`repro.parallel.map_after_single_threaded`: in the
    figure's worker processes; every job seeds what it draws, so the numbers do not depend on the workers)."""
    from repro.parallel import map_after_single_threaded, n_workers

    seeds = list(lms_cfg.seeds)
    jobs: list[tuple] = [("lm", s) for s in seeds]
    needs: list[tuple[int, ...]] = [() for _ in seeds]
    for i, (a, b) in enumerate(stitch_pairs(lms_cfg.seeds)):
        inits = INITS if i == 0 else ("lstsq",)  # the official zero init on the first pair only (budget)
        for sender, init in (*((a, init) for init in inits), ("random", "lstsq"), (a, "baselines")):
            jobs.append((sender, b, init))
            needs.append((seeds.index(b),))
    done = map_after_single_threaded(
        _fig4_job, [(cfg, lms_cfg, lms, job) for job in jobs], needs, n_workers(len(jobs))
    )
    out: dict[str, Any] = {"models": {str(s): m for s, m in zip(seeds, done[: len(seeds)], strict=True)}}
    data = tree_text(lms_cfg)
    ex = data.kg.examples
    out["y_rule_f1"] = y_rule_f1(ex[data.train], ex[data.test])  # what ignoring X generalises to
    out["stitch"], out["stitch_baselines"] = {}, {}
    for (sender, b, init), row in zip(jobs[len(seeds) :], done[len(seeds) :], strict=True):
        if init == "baselines":
            out["stitch_baselines"].update(row)
        else:
            out["stitch"][f"{sender}->{b} [{init}]"] = row
    return out


def _fig4_job(job: tuple, inputs: list) -> Any:
    """One of :func:`measure_lms`'s jobs: ``("lm", seed)`` measures that LM; ``(sender, receiver, init)`` trains
    the stitch sender -> receiver at every cut (sender ``"random"``: the random-init control) and returns its
    degradations; ``(sender, receiver, "baselines")`` the pair's untrained stitches and receiver from scratch.
    ``inputs``: the receiver's measurements."""
    cfg, lms_cfg, lms, what = job
    data = tree_text(lms_cfg)
    if what[0] == "lm":
        return _measure_lm(cfg, lms_cfg, lms, data, what[1])
    sender, b, init = what
    loaded = _loaded_lms(lms_cfg, lms, {b} if sender == "random" else {sender, b}, data)
    models = {s: m.hf for s, m in loaded.items()}
    receiver_loss = inputs[0]["test_loss"]
    if init == "baselines":
        return stitch_baselines(cfg, lms_cfg, data, models[sender], models[b], sender, b, receiver_loss)
    if sender == "random":
        from graph_universality import tinylm

        lm_cfg = tinylm.LMConfig(lms_cfg.d_model, lms_cfg.n_layers, lms_cfg.n_heads, seed=10_000)
        models["random"] = tinylm.new_model(lm_cfg, len(data.tok)).eval()
    return stitch_row(cfg, lms_cfg, data, models[sender], models[b], init, receiver_loss)


def _loaded_lms(lms_cfg: Any, lms: dict[str, Any], seeds: set, data: TreeText) -> dict[int, Any]:
    """``{seed: repro.models.LoadedModel}`` of the stage's LMs ``seeds``, each read back through
    :func:`repro.models.load_model` (the code path that loads Pythia from the hub at paper scale)."""
    import tempfile
    from pathlib import Path

    from graph_universality import tinylm
    from repro.models import ModelSpec, load_model

    rebuilt = models_from_states(lms_cfg, lms, sorted(seeds))
    with tempfile.TemporaryDirectory(prefix="gu-tinylm-") as tmp:
        return {
            s: load_model(
                ModelSpec(str(tinylm.save(rebuilt[s], data.tok, Path(tmp) / f"seed{s}"))), hooked=False
            )
            for s in sorted(seeds)
        }


def _measure_lm(cfg: Any, lms_cfg: Any, lms: dict[str, Any], data: TreeText, s: int) -> dict[str, Any]:
    """One LM's behaviour (F1, accuracy, held-out loss), probes per layer and patching per layer."""
    import torch

    from graph_universality import tinylm
    from graph_universality.graphs import split
    from graph_universality.probes import cone_probe, linear_probe, pca

    ex = data.kg.examples
    tr, te = data.train, data.test
    lab = ex[:, 3] == 1
    ptr, pte = split(data.kg, "heldout", 0.2, 0)  # probe split over node pairs
    loaded = _loaded_lms(lms_cfg, lms, {s}, data)[s]
    d = tinylm.answer_logit_diff(loaded.hf, loaded.tokenizer, data.questions)
    reps = tinylm.name_representations(loaded.hf, loaded.tokenizer, data.names)  # [L+1, N, d]
    reduced = np.stack([pca(r, cfg.pca_dims)[0] for r in reps])
    cone = cone_probe(reduced, ex[:, 1:], ptr, pte, cfg.probe_steps)
    lin = linear_probe(reduced, ex[:, 1:], ptr, pte)
    patch = patch_lm(cfg, lms_cfg, loaded.hf, loaded.tokenizer, data, reps, reduced, cone["proj"], s)
    with torch.no_grad():
        logits = loaded.hf(data.test_ids, attention_mask=data.test_mask).logits
        test_loss = float(tinylm.lm_loss(logits, data.test_ids, data.test_mask))
    return {
        "train_curve": lms["models"][str(s)]["train_curve"],
        "train_f1": f1_score(d[tr] > 0, lab[tr]),
        "test_f1": f1_score(d[te] > 0, lab[te]),
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


def stitch_pairs(seeds: tuple[int, ...]) -> list[tuple[int, int]]:
    """Seed i -> seed i+1 (cyclic): one stitch pair per seed."""
    seeds = list(seeds)
    return [(a, seeds[(i + 1) % len(seeds)]) for i, a in enumerate(seeds) if a != seeds[(i + 1) % len(seeds)]]


def stitch_row(
    cfg: Any, lms_cfg: Any, data: TreeText, sender: Any, receiver: Any, init: str, receiver_loss: float
) -> np.ndarray:
    """Relative held-out loss degradation per cut of the stitch ``sender`` -> ``receiver`` (``init``: zero or
    lstsq), trained on the training text. The self-stitch (exact by construction) is a test
    (tests/test_tinylm.py)."""
    from graph_universality import tinylm

    ids, mask = data.ids, data.mask
    row = []
    for c in cfg.cuts:
        st = tinylm.Stitched(sender, receiver, c, init=init, fit_ids=ids[:256], fit_mask=mask[:256])
        tinylm.train_stitch(st, ids, mask, cfg.stitch_steps, cfg.stitch_lr, lms_cfg.batch_size, seed=0)
        row.append(degradation(st, data, receiver_loss))
    return np.array(row)


def degradation(stitched: Any, data: TreeText, receiver_loss: float) -> float:
    """Relative held-out loss degradation of a stitched model, ``(L_stitched - L_receiver) / L_receiver`` (spec)."""
    import torch

    from graph_universality import tinylm

    with torch.no_grad():
        loss = float(tinylm.lm_loss(stitched(data.test_ids, data.test_mask), data.test_ids, data.test_mask))
    return (loss - receiver_loss) / receiver_loss


def stitch_baselines(
    cfg: Any, lms_cfg: Any, data: TreeText, sender: Any, receiver: Any, a: int, b: int, receiver_loss: float
) -> dict[str, np.ndarray]:
    """Untrained stitches of the pair ``a -> b`` (spec: recommended baselines), relative held-out loss degradation
    per cut: ``"{a}->{b} [zero stitch]"`` (the map outputs zeros: receiver layers [l, L) read nothing from the
    sender) and ``"{a}->{b} [lstsq, untrained]"`` (the closed-form least-squares map the trained lstsq stitch
    starts from); and the "receiver from scratch" reference ``"{a}->{b} [receiver from scratch]"``: B's
    architecture freshly initialised, its layers [l, L), final norm and unembedding trained together with the
    lstsq-initialised map for the trained stitch's steps, lr and batches (our reading of the spec's reference: what
    the same budget buys without B's training)."""

    from graph_universality import tinylm

    ids, mask = data.ids, data.mask
    out: dict[str, np.ndarray] = {}
    for init, label in (("zero", "zero stitch"), ("lstsq", "lstsq, untrained")):
        row = []
        for c in cfg.cuts:
            st = tinylm.Stitched(sender, receiver, c, init=init, fit_ids=ids[:256], fit_mask=mask[:256])
            row.append(degradation(st, data, receiver_loss))
        out[f"{a}->{b} [{label}]"] = np.array(row)
    row = []
    for c in cfg.cuts:
        fresh = tinylm.new_model(_lm_config(lms_cfg, 20_000 + b), len(data.tok))
        st = tinylm.Stitched(
            sender, fresh, c, init="lstsq", fit_ids=ids[:256], fit_mask=mask[:256], train_receiver=True
        )
        tinylm.train_stitch(st, ids, mask, cfg.stitch_steps, cfg.stitch_lr, lms_cfg.batch_size, seed=0)
        row.append(degradation(st.eval(), data, receiver_loss))
    out[f"{a}->{b} [receiver from scratch]"] = np.array(row)
    return out


def patch_lm(cfg: Any, lms_cfg: Any, model, tok, data: TreeText, reps, reduced, cone_proj, seed: int) -> dict:
    """Activation patching of X in "Is X a descendant of Y ?" at every layer (``graph_universality.patching``):
    up to ``n_patch`` positive questions, each with a corrupted X' that is not a descendant of Y, roles alternating.
    X sits at position 1 of every question, the position the node representations are read at."""
    import torch

    from graph_universality import icl, tinylm
    from graph_universality.graphs import relation_matrix
    from graph_universality.patching import patch_layers, subspace_bases

    kg, names = data.kg, data.names
    rng = np.random.default_rng([lms_cfg.tree_seed, seed])
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
    layers = list(range(lms_cfg.n_layers))
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


def lm_values(result: dict[str, Any], cuts: tuple[float, ...], seeds: tuple[int, ...], n_layers: int) -> dict:
    """Fig. 4's claimed quantities, per LM (seed) or per stitch pair: training accuracy minus the all-No answer's
    (precondition), usable patching samples, held-out F1 minus chance and minus the rule on Y alone
    (``generalisation.y_rule_f1``), the cone probe's best held-out F1, cone minus PCA-2 patching at layer L//3,
    random-sender, zero-stitch and receiver-from-scratch minus trained degradation at the middle cut, and the min
    degradation over the earlier cuts minus that at the last cut."""
    ms = list(result["models"].values())
    st = result["stitch"]
    mid, at = len(cuts) // 2, n_layers // 3
    pairs = stitch_pairs(seeds)
    trained = [st[f"{a}->{b} [lstsq]"] for a, b in pairs]
    rnd = [st[f"random->{b} [lstsq]"] for _, b in pairs]
    return {
        "above_all_no": [m["train_accuracy"] - (1 - m["train_chance"]) for m in ms],
        "usable": [m["n_patch_kept"] for m in ms],
        "f1_minus_chance": [m["test_f1"] - m["chance_f1"] for m in ms],
        "f1_minus_y_rule": [m["test_f1"] - result["y_rule_f1"] for m in ms],
        "cone_best": [np.max(m["cone_test_f1"]) for m in ms],
        "cone_minus_pca2": [m["patch_cone"][at] - m["patch_pca2"][at] for m in ms],
        "random_minus_trained": [r_[mid] - t[mid] for r_, t in zip(rnd, trained, strict=True)],
        "zero_minus_trained": [
            result["stitch_baselines"][f"{a}->{b} [zero stitch]"][mid] - t[mid]
            for (a, b), t in zip(pairs, trained, strict=True)
        ],
        "scratch_minus_trained": [
            result["stitch_baselines"][f"{a}->{b} [receiver from scratch]"][mid] - t[mid]
            for (a, b), t in zip(pairs, trained, strict=True)
        ],
        "early_minus_last": [np.min(t[:-1]) - t[-1] if len(t) > 1 else float("nan") for t in trained],
        "n_pairs": len(pairs),
    }


# ---------------------------------------------------------------------------------------------------- paper scale
def official_stitching(cfg: Any) -> dict[str, Any]:
    """The official ``stitching-mid.py`` (stage ``lm_stitching``, ``stages.LMStitchConfig``): nothing without pairs;
    otherwise every model and data set is checked first (offline: one line naming the downloads), then each pair."""
    if not cfg.pairs:
        return {}
    return paper_stitching(cfg, *paper_data(cfg))


def paper_data(cfg: Any):
    """Local directories of every paper-scale model and the token ids of the Pile documents (per tokenizer family,
    read with the receiver's tokenizer after checking that the sender's is the same)."""
    from graph_universality.paper_models import check_same_tokenizer, pile_texts, require_models
    from repro.models import load_tokenizer

    pairs = [tuple(p.split(">")) for p in cfg.pairs]
    dirs = require_models(sorted({n for p in pairs for n in p}))
    docs = {}
    for a, b in pairs:
        tok_a, tok_b = load_tokenizer(str(dirs[a])), load_tokenizer(str(dirs[b]))
        check_same_tokenizer(tok_a, tok_b, (a, b))
        if b not in docs:
            docs[b] = (
                pile_texts(cfg.train_data, tok_b, cfg.train_docs, cfg.seq_len),
                pile_texts(cfg.test_data, tok_b, cfg.test_docs, cfg.seq_len, split="test"),
            )
    return pairs, dirs, docs


def paper_stitching(cfg: Any, pairs, dirs, docs) -> dict[str, Any]:
    """Official stitching-mid.py with its defects fixed (spec 5.8-9): zero-init affine stitch (fp32) from the
    sender's first int(c L) blocks into the receiver's remaining blocks, only the stitch trained (AdamW lr 1e-3,
    wd 1e-4, seed 81), relative next-token loss degradation vs the receiver on the test documents."""
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

    dev = cfg.device
    out: dict[str, Any] = {}
    for a, b in pairs:
        sender = load_model(ModelSpec(str(dirs[a]), device=dev), hooked=False).hf
        receiver = load_model(ModelSpec(str(dirs[b]), device=dev), hooked=False).hf
        train = torch.tensor(docs[b][0], device=dev)
        test = torch.tensor(docs[b][1], device=dev)
        base = mean_loss(lambda x, m=receiver: m(x).logits, test)
        row = []
        for c in cfg.cuts:
            st = tinylm.Stitched(sender, receiver, c, init="zero").to(dev)
            tinylm.train_stitch(
                st, train, torch.ones_like(train), cfg.stitch_steps, 1e-3, cfg.batch_size, seed=81
            )
            row.append((mean_loss(lambda x, st=st: st(x, torch.ones_like(x)), test) - base) / base)
        out[f"{a}>{b}"] = {"degradation": np.array(row), "receiver_loss": base}
    return out
