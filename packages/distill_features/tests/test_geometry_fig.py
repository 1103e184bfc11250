"""Feature-geometry figure (fig8): representation capture at the crosscoder's site, the single-token filter, the
variance-share diagnostic and the figure's summaries (claims read them)."""

import numpy as np
import pytest
import torch

from distill_features import geometry, geometry_analysis, pairs
from distill_features import language as lang
from distill_features.figures import fig8


@pytest.fixture(scope="module")
def tiny():
    torch.set_num_threads(1)
    tok = lang.build_tokenizer()
    cfg = pairs.PairConfig(d_model=16, n_layers=2, n_heads=2, n_kv_heads=1, n_ctx=16)
    return tok, pairs.new_model(cfg, len(tok))


def test_single_token_filter_keeps_the_language_and_drops_unknown_words(tiny):
    tok, _ = tiny
    tasks = lang.analogy_pairs()
    assert geometry.single_token_pairs(tasks, tok) == tasks  # every analogy word is one token
    kept = geometry.single_token_pairs({"t": [("three", "3"), ("three", "zebra"), ("two words", "2")]}, tok)
    assert kept == {"t": [("three", "3")]}


def test_position0_representation_is_the_word_alone_and_matches_hidden_states(tiny):
    tok, model = tiny
    words = ["three", "3", "apples", "saw"]
    x = geometry.word_representations(model, 1, tok, words)
    ids = torch.tensor([tok.encode(w, add_special_tokens=False) for w in words])
    with torch.no_grad():
        ref = model(input_ids=ids, output_hidden_states=True).hidden_states[1][:, 0]
        # causal: what follows position 0 cannot change it
        longer = torch.cat([ids, ids.flip(0)], 1)
        ref_long = model(input_ids=longer, output_hidden_states=True).hidden_states[1][:, 0]
    np.testing.assert_allclose(x, ref.double().numpy(), atol=1e-5)
    np.testing.assert_allclose(x, ref_long.double().numpy(), atol=1e-5)
    # block 0's input is the embedding row
    emb = model.get_input_embeddings().weight[ids[:, 0]].detach().double().numpy()
    np.testing.assert_allclose(geometry.word_representations(model, 0, tok, words), emb, atol=1e-6)


def test_in_context_representation_is_batch_independent_and_context_dependent(tiny):
    tok, model = tiny
    words = ["three", "apples", "saw", "3"]  # prefixes of different lengths: padding in the batch
    batched = geometry.word_representations(model, 1, tok, words, lang.context_template)
    for i, w in enumerate(words):
        ids = torch.tensor(
            [[tok.bos_token_id, *tok.encode(lang.context_template(w), add_special_tokens=False)]]
        )
        with torch.no_grad():
            ref = model(input_ids=ids, output_hidden_states=True).hidden_states[1][0, -1]
        np.testing.assert_allclose(batched[i], ref.double().numpy(), atol=1e-5)
    alone = geometry.word_representations(model, 1, tok, words)
    assert np.abs(batched - alone).max() > 1e-3  # attention to the prefix changes the word's residual


def test_capture_rejects_padding_positions(tiny):
    _, model = tiny
    ids, mask = torch.tensor([[5, 6, 0]]), torch.tensor([[1, 1, 0]])
    with pytest.raises(ValueError, match="padding"):
        geometry.resid_pre_at(model, 1, ids, mask, [2])
    with pytest.raises(ValueError, match="position"):
        geometry.resid_pre_at(model, 1, ids, mask, [3])


def test_top_variance_share():
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(40, 2)) @ rng.normal(size=(2, 12)) + 5.0
    assert geometry.top_variance_share(plane, 2) == pytest.approx(1.0)
    iso = rng.normal(size=(4000, 10))
    assert geometry.top_variance_share(iso, 2) == pytest.approx(0.2, abs=0.03)


def _cell(base: list, distilled: list) -> dict:
    med = np.stack([base, distilled], 1)
    return {"median": med, "diff": med[:, 1] - med[:, 0]}


def test_summaries_count_shift_and_correlation():
    # three sizes x two tasks, n_comps (2, 5): distilled worse on both tasks at "s", not worse on both at "l"
    result = {
        "size_order": ["s", "m", "l"],
        "sizes": {
            "s": {"distilled_accuracy": 0.2, "variants": {"official": {"tasks": {
                "a": _cell([0.5, 0.5], [0.7, 0.72]), "b": _cell([0.4, 0.41], [0.6, 0.6])}}}},
            "m": {"distilled_accuracy": 0.5, "variants": {"official": {"tasks": {
                "a": _cell([0.5, 0.5], [0.5, 0.5]), "b": _cell([0.4, 0.4], [0.45, 0.45])}}}},
            "l": {"distilled_accuracy": 0.8, "variants": {"official": {"tasks": {
                "a": _cell([0.5, 0.6], [0.3, 0.3]), "b": _cell([0.4, 0.4], [0.35, 0.35])}}}},
        },
    }  # fmt: skip
    assert geometry_analysis.n_not_worse(result, "s", "official", 0) == 0
    assert geometry_analysis.n_not_worse(result, "m", "official", 0) == 1  # a tie counts as not worse
    assert geometry_analysis.n_not_worse(result, "l", "official", 0) == 2
    assert geometry_analysis.ncomp_shift(result, "official", 0) == pytest.approx(0.1)
    acc, diff, r = geometry_analysis.performance_correlation(result, "official", 0)
    np.testing.assert_allclose(diff, [0.2, 0.025, -0.125])
    assert r == pytest.approx(np.corrcoef([0.2, 0.5, 0.8], diff)[0, 1]) and r < -0.9
    result["sizes"]["m"]["distilled_accuracy"] = result["sizes"]["l"]["distilled_accuracy"] = 0.2
    assert np.isnan(
        geometry_analysis.performance_correlation(result, "official", 0)[2]
    )  # no spread: no correlation


def test_config_validation():
    with pytest.raises(ValueError, match="plot_n_comp"):
        fig8.Fig8Config(plot_n_comp=3)
    with pytest.raises(ValueError, match="increasing"):
        fig8.Fig8Config(n_comps=(5, 2))
    with pytest.raises(ValueError, match="variants"):
        fig8.Fig8Config(variants=("paper",))
