"""Tiny GPT-NeoX LM arm: tokenizer, save/load through repro.models, representations, stitching controls."""

import pytest
import torch

from graph_universality import tinylm
from graph_universality.graphs import KnowledgeGraph, balanced_tree, name_pool


@pytest.fixture(scope="session")
def lm_pair(tmp_path_factory):
    from repro.models import ModelSpec, load_model

    torch.set_num_threads(1)
    names = name_pool()[:7]
    tok = tinylm.build_word_tokenizer(names)
    parents = balanced_tree(7)
    kg = KnowledgeGraph(parents)
    texts = tinylm.fact_texts(parents, names) + [
        tinylm.question_text(names[x], names[y], lab) for _, x, y, lab in kg.examples
    ]
    ids, mask = tinylm.encode(tok, texts)
    out = []
    for seed in (0, 1):
        cfg = tinylm.LMConfig(d_model=16, n_layers=2, n_heads=2, steps=5, batch_size=8, seed=seed)
        m = tinylm.new_model(cfg, len(tok))
        tinylm.train_lm(m, ids, mask, cfg)
        path = tinylm.save(m, tok, tmp_path_factory.mktemp(f"lm{seed}"))
        out.append(load_model(ModelSpec(str(path)), hooked=False).hf)
    return names, tok, ids, mask, out


def test_every_name_is_one_token(lm_pair):
    names, tok, *_ = lm_pair
    for n in names:
        assert len(tok.encode(n, add_special_tokens=False)) == 1
    assert tok.encode("Is Emily a descendant", add_special_tokens=False)[0] == tok.convert_tokens_to_ids("Is")


def test_representations_are_hidden_states_at_the_name(lm_pair):
    names, tok, _, _, (a, _) = lm_pair
    reps = tinylm.name_representations(a, tok, names)
    assert reps.shape == (3, len(names), 16)
    ids, mask = tinylm.encode(tok, [f"Is {names[2]}"])
    with torch.no_grad():
        h = a(ids, attention_mask=mask, output_hidden_states=True).hidden_states[1][0, 1]
    assert torch.allclose(torch.as_tensor(reps[1, 2]), h, atol=1e-6)


def test_self_stitch_is_exact_and_zero_init_is_not(lm_pair):
    _, _, ids, mask, (a, b) = lm_pair
    with torch.no_grad():
        ref = tinylm.lm_loss(b(ids, attention_mask=mask).logits, ids, mask)
        self_ = tinylm.Stitched(b, b, 0.5, init="lstsq", fit_ids=ids, fit_mask=mask)
        assert abs(float(tinylm.lm_loss(self_(ids, mask), ids, mask) - ref)) / float(ref) < 1e-3
        zero = tinylm.Stitched(a, b, 0.5, init="zero")
        assert float(tinylm.lm_loss(zero(ids, mask), ids, mask)) != pytest.approx(float(ref), rel=1e-3)
    before = zero.map.weight.detach().clone()
    tinylm.train_stitch(zero, ids, mask, steps=3, batch_size=8)
    assert not torch.equal(before, zero.map.weight.detach())
    assert all(not p.requires_grad for p in b.parameters())


def test_zero_stitch_baseline_is_the_receiver_reading_zeros(lm_pair):
    """The untrained zero stitch (Fig. 4's baseline) = receiver layers [l, L) run on a zero residual at the cut."""
    from repro.hooks import edit_resid_pre

    _, _, ids, mask, (a, b) = lm_pair
    with torch.no_grad():
        zero = tinylm.Stitched(a, b, 0.5, init="zero")(ids, mask)
        with edit_resid_pre(b, 1, torch.zeros_like):
            ref = b(ids, attention_mask=mask).logits
    assert torch.allclose(zero, ref, atol=1e-6)


def test_receiver_from_scratch_trains_only_the_upper_half(lm_pair):
    """``train_receiver=True`` (Fig. 4's "receiver from scratch" reference): the map and the receiver's layers
    [l, L), final norm and unembedding train; the receiver's lower layers, embeddings and the sender do not."""
    import copy

    _, _, ids, mask, (a, b) = lm_pair
    fresh = copy.deepcopy(b)
    st = tinylm.Stitched(a, fresh, 0.5, init="zero", train_receiver=True)
    before = {k: v.detach().clone() for k, v in fresh.named_parameters()}
    sender = {k: v.detach().clone() for k, v in a.named_parameters()}
    tinylm.train_stitch(st, ids, mask, steps=3, batch_size=8)
    moved = {k for k, v in fresh.named_parameters() if not torch.equal(v.detach(), before[k])}
    assert moved == set(st.receiver_params) and any(k.startswith("gpt_neox.layers.1.") for k in moved)
    unembed = next(k for k, v in fresh.named_parameters() if v is fresh.get_output_embeddings().weight)
    assert {unembed, "gpt_neox.final_layer_norm.weight"} <= moved
    assert not any(k.startswith(("gpt_neox.layers.0.", "gpt_neox.embed_in")) for k in moved)
    assert all(torch.equal(v.detach(), sender[k]) for k, v in a.named_parameters())
