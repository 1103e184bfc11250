"""ICL arm: prompts, answer-token loss mask, and the patching identity (full patch at layer 0 = the clean run)."""

import numpy as np
import pytest
import torch

from graph_universality import icl, tinylm
from graph_universality.graphs import name_pool


def _shift(amask: torch.Tensor) -> torch.Tensor:
    """``lm_loss`` reads ``mask[:, 1:]`` as "target position counts": move the '?' mark onto the answer."""
    out = torch.zeros_like(amask)
    out[:, 1:] = amask[:, :-1]
    return out


def test_full_patch_at_layer_zero_restores_the_clean_run():
    torch.set_num_threads(1)
    names = name_pool()[:40]
    tok = icl.build_tokenizer(names)
    model = tinylm.new_model(
        tinylm.LMConfig(d_model=16, n_layers=2, n_heads=2, seed=0), len(tok), n_ctx=128
    ).eval()
    ep = icl.sample_episode(np.random.default_rng(0), 6, names)
    clean, corrupt = icl.prompt(ep.parents, ep.labels, 3, 1), icl.prompt(ep.parents, ep.labels, 4, 1)
    ids, mask = tinylm.encode(tok, [clean])
    states, last = icl.node_states(model, tok, ep)
    pos = int(last[3])
    assert states.shape == (3, 6, 16) and tok.convert_ids_to_tokens(int(ids[0, pos])) == ep.labels[3]
    with torch.no_grad():
        src = model(ids, attention_mask=mask, output_hidden_states=True).hidden_states[0][:, pos]
    ld_clean = icl.logit_diffs(model, tok, [clean])
    ld_corr = icl.logit_diffs(model, tok, [corrupt])
    patched = icl.logit_diffs(
        model, tok, [corrupt], patch=(0, torch.tensor([pos]), lambda h, rows: src[rows].clone())
    )
    assert abs(ld_clean[0] - ld_corr[0]) > 1e-6
    assert np.allclose(patched, ld_clean, atol=1e-5)


def test_training_texts_and_answer_mask():
    names = name_pool()[:40]
    tok = icl.build_tokenizer(names)
    texts = icl.training_texts(20, 7, names, seed=0)
    assert texts == icl.training_texts(20, 7, names, seed=0)
    assert {t.split()[-1] for t in texts} == {"Yes", "No"}
    ids, mask = tinylm.encode(tok, texts)
    m = _shift(icl.answer_mask(tok, ids))
    answers = ids[m.bool()]
    assert set(tok.convert_ids_to_tokens(answers.tolist())) <= {"Yes", "No"} and len(answers) == 20


def test_real_llm_path_batched_equals_one_by_one(tmp_path):
    """The paper-scale path (Alpaca prompt, the model's own tokenizer, right padding) on a tiny local model."""
    import transformers

    from repro.models import build_tiny_model, load_tokenizer

    torch.set_num_threads(1)
    path = build_tiny_model(tmp_path / "m", arch="gpt_neox", d_model=16, n_layers=2, n_heads=2, n_ctx=1024)
    model = transformers.AutoModelForCausalLM.from_pretrained(path).eval()
    tok = load_tokenizer(str(path))
    ep = icl.Episode((-1, 0, 0, 1), ["Ann", "Bo", "Cy", "Dee"])  # names of different token lengths
    prompts = [icl.alpaca_prompt(ep.parents, ep.labels, x, y) for x, y in ((3, 0), (1, 2), (2, 1))]
    assert "Question: Is Dee a direct descendant of Ann?" in prompts[0] and prompts[0].endswith(
        "### Response:\n"
    )
    batched = icl.logit_diffs(model, tok, prompts, word_level=False)
    single = np.concatenate([icl.logit_diffs(model, tok, [p], word_level=False) for p in prompts])
    assert np.allclose(batched, single, atol=1e-4)
    states, last = icl.node_states(model, tok, ep, word_level=False)
    assert states.shape == (3, 4, 16)
    assert icl.alpaca_prefix(ep.parents, ep.labels, 3).endswith("Question: Is Dee")


def test_patch_layers_full_patch_at_layer_zero_scores_one():
    """Moved from fig4/fig5's claims (it holds by construction): through ``patching.patch_layers`` (the path both
    figures use), replacing the whole residual of X at the input of layer 0 restores the clean run, so the normalised
    logit difference is 1 on every usable sample; a 2-D subspace patch is not an identity."""
    from graph_universality.patching import patch_layers

    torch.set_num_threads(1)
    names = name_pool()[:40]
    tok = icl.build_tokenizer(names)
    model = tinylm.new_model(
        tinylm.LMConfig(d_model=16, n_layers=2, n_heads=2, seed=1), len(tok), n_ctx=128
    ).eval()
    ep = icl.sample_episode(np.random.default_rng(0), 6, names)
    samples = [(3, 4, 1), (5, 2, 0), (2, 5, 1), (4, 3, 0)]
    clean = [icl.prompt(ep.parents, ep.labels, c, y) for c, _, y in samples]
    corrupt = [icl.prompt(ep.parents, ep.labels, c, y) for _, c, y in samples]
    _, node_pos = icl.node_states(model, tok, ep)
    hs, _ = icl.hidden_at(model, tok, clean, True)
    rng = np.random.default_rng(0)
    q = torch.as_tensor(np.linalg.qr(rng.normal(size=(16, 2)))[0].T, dtype=torch.float32)
    bases = {0: {"pca2": q, "cone": q}, 1: {"pca2": q, "cone": q}}
    res = patch_layers(
        lambda prompts, patch=None: icl.logit_diffs(model, tok, prompts, patch=patch),
        model,
        clean,
        corrupt,
        torch.as_tensor([int(node_pos[c]) for c, _, _ in samples]),
        hs,
        [0, 1],
        bases,
        min_gap=1e-4,
    )
    assert res["n_kept"] > 0
    assert abs(res["full"][0] - 1.0) < 1e-3
    assert abs(res["pca2"][0] - 1.0) > 1e-3


def test_episode_text_starts_with_the_evaluation_prompt_and_answers_every_question():
    from graph_universality.graphs import relation_matrix

    names = name_pool()[:40]
    tok = icl.build_tokenizer(names)
    text = icl.episode_text(np.random.default_rng(3), 7, names, n_questions=5)
    desc_text, *questions = text.split(" Question : ")
    assert desc_text.startswith("Family Tree : ") and len(questions) == 5
    assert all(q.split()[-1] in ("Yes", "No") for q in questions)
    ids, _ = tinylm.encode(tok, [text])
    assert int(_shift(icl.answer_mask(tok, ids)).sum()) == 5
    # the answers are the descendant relation of the described tree (rebuilt from the same generator)
    ep = icl.sample_episode(np.random.default_rng(3), 7, names)
    desc = relation_matrix(ep.parents, "descendant")
    for q in questions:
        w = q.split()
        x, y = ep.labels.index(w[1]), ep.labels.index(w[5])
        assert desc[x, y] == (w[-1] == "Yes")


def test_curriculum_grows_to_the_evaluation_size():
    sizes = [icl.curriculum_size(s, 100, 4, 15, 0.5) for s in range(100)]
    assert sizes[0] == 4 and sizes[50] == 15 and sizes[-1] == 15 and sizes == sorted(sizes)
    assert icl.curriculum_size(0, 100, 4, 15, 0.0) == 15


def test_online_recipe_trains_and_rebuilds():
    """The opt-in ``online`` recipe end to end at toy size: the curve is the answer loss, the model rebuilds from
    the stage's result with its rotary fraction and answers."""
    from graph_universality import icl_arm
    from graph_universality.stages import ICLModelConfig

    torch.set_num_threads(1)
    cfg = ICLModelConfig(
        recipe="online",
        n_nodes=6,
        min_nodes=3,
        d_model=16,
        n_heads=2,
        steps=3,
        batch_size=4,
        warmup=1,
        n_questions=2,
        rotary_pct=1.0,
    )
    result = icl_arm.meta_train(cfg)
    assert len(result["train_curve"]) == 1 and 0 < result["train_curve"][0] < 20
    model, tok, names = icl_arm.tiny_model(cfg, result)
    assert model.config.rope_parameters["partial_rotary_factor"] == 1.0
    ep = icl.sample_episode(np.random.default_rng(0), 6, names)
    assert np.isfinite(icl.logit_diffs(model, tok, [icl.prompt(ep.parents, ep.labels, 1, 0)])).all()


def test_adaptive_curriculum_adds_a_node_only_below_the_loss_threshold():
    """``adaptive``: the top tree size starts at ``min_nodes`` and grows by one after a block of 50 steps whose
    answer loss is under ``grow_below``: a threshold above any loss grows it every block, one below none never."""
    from graph_universality import icl_arm
    from graph_universality.stages import ICLModelConfig

    torch.set_num_threads(1)
    kw = dict(recipe="adaptive", n_nodes=5, min_nodes=2, d_model=16, n_heads=2, steps=151, batch_size=2)
    kw |= dict(warmup=1, n_questions=1)
    grows = icl_arm.meta_train(ICLModelConfig(**kw, grow_below=100.0))
    assert grows["curriculum_top"].tolist() == [2, 3, 4, 5]  # 3 full blocks + the last step's block
    stays = icl_arm.meta_train(ICLModelConfig(**kw, grow_below=0.0))
    assert stays["curriculum_top"].tolist() == [2, 2, 2, 2]
    with pytest.raises(ValueError, match="recipe one of"):
        ICLModelConfig(recipe="sometimes")


def _questions(text: str) -> list[tuple[str, str, str]]:
    """(X, Y, answer) of every question in a training sequence."""
    parts = text.split("Question : Is ")[1:]
    return [
        (p.split()[0], p.split(" a descendant of ")[1].split()[0], p.split("? ")[1].split()[0]) for p in parts
    ]


def test_per_y_questions_leave_y_uninformative():
    """``questions="per_y"``: given an inner Y (neither the root nor a leaf), Yes and No are equally likely, so Y
    alone does not predict the answer; ``inner`` asks about inner Y's only; under ``pairs`` it does (the root, Y
    of more than 1 in 5 questions, always gets Yes). Every answer is the tree's truth."""
    from graph_universality.graphs import relation_matrix

    names = name_pool()[:40]
    counts: dict[str, dict[str, list[int]]] = {"pairs": {}, "per_y": {}, "inner": {}}
    for how in counts:
        rng = np.random.default_rng(0)
        for _ in range(400):
            state = rng.bit_generator.state
            text = icl.episode_text(rng, 7, names, 6, questions=how)
            rng_ep = np.random.default_rng()
            rng_ep.bit_generator.state = state  # the same draws give the episode back
            ep = icl.sample_episode(rng_ep, 7, names)
            desc = relation_matrix(ep.parents, "descendant")
            for x, y, ans in _questions(text):
                xi, yi = ep.labels.index(x), ep.labels.index(y)
                assert (ans == "Yes") == bool(desc[xi, yi])
                inner = ep.parents[yi] >= 0 and desc[:, yi].any()
                kind = "root" if ep.parents[yi] < 0 else ("inner" if inner else "leaf")
                counts[how].setdefault(kind, []).append(ans == "Yes")
    assert abs(np.mean(counts["per_y"]["inner"]) - 0.5) < 0.05
    # inner: Y is an inner node whenever the tree has one (a 7-node tree without one is a star: root and leaves)
    assert abs(np.mean(counts["inner"]["inner"]) - 0.5) < 0.05
    assert len(counts["inner"]["inner"]) > 0.9 * sum(len(v) for v in counts["inner"].values())
    assert np.mean(counts["per_y"]["root"]) == 1 and np.mean(counts["per_y"]["leaf"]) == 0
    assert np.mean(counts["pairs"]["root"]) == 1 and len(counts["pairs"]["root"]) > 0.2 * sum(
        len(v) for v in counts["pairs"].values()
    )
    with pytest.raises(ValueError, match="questions must be one of"):
        icl.episode_text(np.random.default_rng(0), 7, names, 1, questions="balanced")


def test_x_blind_f1_is_the_best_answer_from_y_alone():
    """``generalisation.x_blind_f1`` equals a brute force over every set of Y's answered "Yes" (a 5-node tree),
    and a model answering from Y alone cannot beat it while the true answer (which reads X) scores F1 = 1."""
    from itertools import combinations

    from graph_universality.generalisation import x_blind_f1
    from graph_universality.graphs import KnowledgeGraph

    ex = KnowledgeGraph((-1, 0, 0, 1, 1)).examples
    lab = ex[:, 3] == 1
    best = 0.0
    for k in range(6):
        for yes in combinations(range(5), k):
            pred = np.isin(ex[:, 2], yes)
            best = max(best, 2 * (pred & lab).sum() / (pred.sum() + lab.sum()))
    assert x_blind_f1(ex) == pytest.approx(best) and 0.5 < best < 1


def test_answer_loss_equals_the_masked_lm_loss():
    """Unembedding only the answer positions gives the same loss as the full logits under the answer mask."""
    torch.set_num_threads(1)
    names = name_pool()[:40]
    tok = icl.build_tokenizer(names)
    model = tinylm.new_model(tinylm.LMConfig(d_model=16, n_layers=2, n_heads=2, seed=0), len(tok), n_ctx=256)
    rng = np.random.default_rng(0)
    ids, mask = tinylm.encode(tok, [icl.episode_text(rng, n, names, 3, questions="per_y") for n in (4, 7, 9)])
    with torch.no_grad():
        full = tinylm.lm_loss(model(ids, attention_mask=mask).logits, ids, _shift(icl.answer_mask(tok, ids)))
        assert float(icl.answer_loss(model, tok, ids, mask)) == pytest.approx(float(full), rel=1e-5)


def test_y_rule_f1_learns_a_rule_on_y_from_the_training_links():
    """``generalisation.y_rule_f1``: "Yes" for the Y's whose training pairs say "Yes" often enough, the threshold
    chosen on the training links, scored on the held-out ones; it never reads X."""
    from graph_universality.generalisation import y_rule_f1

    # training: Y = 0 always "Yes", Y = 1 never; held out: two pairs about Y = 0 (one "No"), one about Y = 1 ("Yes")
    train = np.array([[0, 1, 0, 1], [0, 2, 0, 1], [0, 0, 1, 0], [0, 2, 1, 0]])
    test = np.array([[0, 3, 0, 1], [0, 4, 0, 0], [0, 3, 1, 1]])
    assert y_rule_f1(train, test) == pytest.approx(2 * 1 / (2 + 2))  # says Yes, Yes, No: TP 1, 2 said, 2 true
    shuffled_x = test.copy()
    shuffled_x[:, 1] = shuffled_x[::-1, 1]
    assert y_rule_f1(train, shuffled_x) == y_rule_f1(train, test)
