"""Batched latent interventions (``latent_interventions``): many ablation / steering conditions in one pass must
equal the one-at-a-time definitions. Random-init tiny models and crosscoders: no training needed."""

import dataclasses
import random

import numpy as np
import pytest
import torch

from distill_features import interventions as iv
from distill_features import language as lang
from distill_features import latent_interventions as li
from distill_features import pairs
from distill_features.crosscoder import Crosscoder, CrosscoderConfig

D, LAYER = 16, 1


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    tok = lang.build_tokenizer()
    cfg = pairs.PairConfig(d_model=D, n_layers=2, n_heads=2, n_kv_heads=1, n_ctx=40)
    models = [pairs.new_model(cfg, len(tok)), pairs.new_model(dataclasses.replace(cfg, seed=1), len(tok))]
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, len(tok), (6, 40), generator=g)
    ids[:, 0] = tok.eos_token_id
    mask = torch.ones_like(ids)
    mask[4, 30:] = 0  # one right-padded sequence
    cc = Crosscoder(CrosscoderConfig(d_model=D, dict_size=48, seed=0))
    with torch.no_grad():
        cc.b_enc.add_(0.05)  # some latents fire
        cc.b_dec.normal_(0, 0.1, generator=g)
    cc.set_scales([3.0, 5.0])
    problems = lang.sample_problems(5, random.Random(0), lang.LanguageConfig())
    return tok, models, ids, mask, cc, problems


def _latents(models, ids, mask, cc):
    x = torch.stack(
        [li.capture_resid_pre(m, LAYER, ids, mask, batch_size=4) for m in models], 2
    )  # [N, T, 2, d]
    N, T = x.shape[:2]
    return x, li.variant_latents(cc, x.reshape(N * T, 2, D), "fixed").reshape(N, T, -1)


def test_capture_matches_hidden_states(setup):
    tok, models, ids, mask, cc, _ = setup
    x = li.capture_resid_pre(models[1], LAYER, ids, mask, batch_size=4)
    with torch.no_grad():
        hidden = models[1](input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[LAYER]
    torch.testing.assert_close(x, hidden, atol=1e-5, rtol=1e-5)


def test_target_logits_conditions_equal_separate_runs(setup):
    tok, models, ids, mask, cc, _ = setup
    m = models[1]
    targets = np.array([[0, 3], [0, 17], [2, 5], [4, 29], [5, 39], [5, 1]])
    vs = torch.randn(3, D, generator=torch.Generator().manual_seed(4))

    def delta_of(v):
        return lambda x: (x @ v)[..., None] * v / v.dot(v)  # remove the component along v

    def edit(c, s, x):
        return x - torch.stack([delta_of(vs[int(k)])(row) for k, row in zip(c, x, strict=True)])

    together = li.target_logits(m, LAYER, ids, mask, targets, edit, n_conditions=3, batch_size=5)
    for k in range(3):
        alone = iv.ablation_eval(m, LAYER, ids, mask, targets, delta_of(vs[k]))
        np.testing.assert_allclose(together["logit_edit"][k], alone["logit_edit"], atol=1e-4)
        np.testing.assert_allclose(together["logprob_edit"][k], alone["logprob_edit"], atol=1e-4)
        np.testing.assert_allclose(together["logit"], alone["logit"], atol=1e-4)
    assert np.abs(together["logit_edit"] - together["logit"]).max() > 1e-3
    ident = li.target_logits(m, LAYER, ids, mask, targets, lambda c, s, x: x, n_conditions=2)
    np.testing.assert_allclose(ident["logit_edit"], np.stack([ident["logit"]] * 2), atol=1e-5)
    with pytest.raises(ValueError):
        li.target_logits(m, LAYER, ids, mask, np.array([[0, 0]]))


def test_latent_ablation_edits(setup):
    tok, models, ids, mask, cc, _ = setup
    x, f = _latents(models, ids, mask, cc)
    F = cc.cfg.dict_size
    fired = np.flatnonzero((f > 0).flatten(0, 1).any(0).numpy())
    assert len(fired) >= 3
    masks = np.zeros((3, F), bool)
    masks[1, fired[:2]] = True
    masks[2] = True
    c, s = torch.tensor([0, 1, 2, 1]), torch.tensor([0, 0, 3, 5])
    for m in (0, 1):
        xm = x[s, :, m]
        out = li.latent_ablation_edit(cc, f, masks, m, "subtract")(c, s, xm)
        torch.testing.assert_close(out[0], xm[0])  # nothing ablated: unchanged (error kept)
        recon = cc.decode(f[s].flatten(0, 1)).view(4, -1, 2, D)[:, :, m]
        # everything ablated: only the error and the decoder bias (raw units) remain
        torch.testing.assert_close(
            out[2], xm[2] - recon[2] + cc.b_dec[m].detach() / cc.scale[m], atol=1e-5, rtol=1e-4
        )
        D_raw = torch.stack([torch.as_tensor(li.decoder_vector(cc, j, m)) for j in fired[:2]])
        expect = xm[1] - f[s[1]][:, fired[:2]] @ D_raw
        torch.testing.assert_close(out[1], expect, atol=1e-5, rtol=1e-4)
        rec = li.latent_ablation_edit(cc, f, masks, m, "reconstruct")(c, s, xm)
        torch.testing.assert_close(rec[0], recon[0], atol=1e-5, rtol=1e-4)  # the plain reconstruction
        torch.testing.assert_close(rec[2], (cc.b_dec[m] / cc.scale[m]).detach().expand_as(rec[2]))
        raw_units = li.latent_ablation_edit(cc, f, masks, m, "reconstruct", unscaled=True)(c, s, xm)
        torch.testing.assert_close(
            raw_units[0], recon[0] * cc.scale[m], atol=1e-5, rtol=1e-4
        )  # the units defect
    with pytest.raises(ValueError):
        li.latent_ablation_edit(cc, f, masks[:, :5], 0)
    with pytest.raises(ValueError):
        li.latent_ablation_edit(cc, f, masks, 0, "zero")


def test_batched_steering_equals_one_condition_at_a_time(setup):
    tok, models, ids, mask, cc, problems = setup
    m = models[1]
    V = np.random.default_rng(0).normal(size=(3, D)).astype(np.float32) * 2
    V[0] = 0
    r = li.steered_generations(m, tok, problems, LAYER, V, max_new_tokens=12)
    assert r["length"].shape == (3, 5) and r["markers"]["deductive"].shape == (3, 5)
    plain = pairs.evaluate(m, tok, problems, True, 12)
    assert r["texts"][0] == plain["texts"]  # a zero row is the unsteered model
    for k in (1, 2):
        alone = pairs.evaluate(m, tok, problems, True, 12, edit=(LAYER, iv.steer(V[k], "generated")))
        assert r["texts"][k] == alone["texts"]
        assert np.array_equal(r["correct"][k], alone["correct"])
    assert r["texts"][1] != r["texts"][0]
    prompt_only = li.steered_generations(m, tok, problems, LAYER, V, max_new_tokens=1)
    assert prompt_only["texts"][1] == prompt_only["texts"][0]  # "generated": the first token is unsteered
    everywhere = li.steered_generations(m, tok, problems, LAYER, V * 50, positions="all", max_new_tokens=1)
    assert everywhere["texts"][1] != everywhere["texts"][0]
    with pytest.raises(ValueError):
        li.steer_rows(V[0])


def test_decoder_vectors_and_calibration(setup):
    *_, cc, _ = setup
    for m in (0, 1):
        raw = li.decoder_vector(cc, 7, m, "raw")
        np.testing.assert_allclose(
            raw, cc.W_dec[7, m].detach().numpy() / float(cc.scale[m]), rtol=1e-5, atol=1e-7
        )
        np.testing.assert_array_equal(
            li.decoder_vector(cc, 7, m, "normalised"), cc.W_dec[7, m].detach().numpy()
        )
    assert li.typical_max_activation([0, 5, 1, 3, 0], top=2) == 4.0
    assert li.typical_max_activation(np.zeros(4)) == 0.0
    x = np.array([[1.0, 0], [3, 0], [0, 1], [0, 3]])
    np.testing.assert_allclose(li.diffmean_direction(x, [1, 1, 0, 0]), [2, -2])
    assert not li.diffmean_direction(x, [0, 0, 0, 0]).any()
    R = li.random_directions(D, 4, seed=1)
    np.testing.assert_allclose(np.linalg.norm(R, axis=1), 1, rtol=1e-5)
    assert np.array_equal(R, li.random_directions(D, 4, seed=1))


def test_select_latent_rules():
    counts = np.array([10, 8, 3, 0, 5])
    fires = np.array([100, 10, 3, 50, 5])
    r = np.array([0.9, 0.8, 0.9, 0.9, 0.2])
    pick = li.select_latent(counts, fires, n_class=20, r=r)
    assert pick["latent"] == 2 and pick["precision"] == 1.0 and pick["rule"].startswith("r > min_r, rate")
    # latent 4 is as precise as latent 2 but base-leaning; with a higher rate bar, latent 1 (0.4 >= 0.3) wins
    assert li.select_latent(counts, fires, 20, r, min_rate=0.3)["latent"] == 1
    assert li.select_latent(counts, fires, 20, np.full(5, 0.1))["rule"] == "any r, fires on the category"
    assert li.select_latent(np.zeros(5), fires, 20, r)["latent"] == -1


def test_top_active():
    counts = np.array([0, 5, 5, 9, 1, 0, 2, 7, 3, 4])  # 8 active latents
    assert list(li.top_active(counts, 0.01)) == [3]  # at least one
    assert list(li.top_active(counts, 0.25)) == [3, 7]
    assert list(li.top_active(counts, 0.5)) == [1, 2, 3, 7]
    assert list(li.top_active(counts, 0.4)) == [1, 3, 7]  # round(3.2) = 3: of the tied 5s, the lower index
    assert list(li.top_active(counts, 0.4, tiebreak=np.arange(10))) == [2, 3, 7]  # ... or the larger tiebreak
    assert len(li.top_active(np.zeros(4), 0.5)) == 0
    sizes = [len(li.top_active(counts, f)) for f in (0.1, 0.2, 0.5, 1.0)]
    assert sizes == sorted(sizes) and sizes[-1] == 8


def test_steering_groups_and_labels(setup):
    tok, models, ids, mask, cc, problems = setup
    V = np.random.default_rng(1).normal(size=(4, D)).astype(np.float32)
    one = li.steered_generations(models[1], tok, problems, LAYER, V, max_new_tokens=10)
    grouped = li.steered_generations(
        models[1], tok, problems, LAYER, V, max_new_tokens=10, max_rows=2 * len(problems)
    )
    assert grouped["texts"] == one["texts"]  # greedy: grouping changes nothing
    markers = np.array([[0, 1, 0, 2], [3, 0, 0, 1]])
    np.testing.assert_array_equal(
        li.position_labels(markers, [0, 0, 1, 1], [0, 3, 2, 3], "marker"), [0, 2, 0, 1]
    )
    np.testing.assert_array_equal(
        li.position_labels(markers, [0, 0, 1, 1], [0, 3, 2, 3], "before"), [1, 0, 1, 0]
    )
    m = np.ones_like(markers)
    m[1, 3] = 0
    np.testing.assert_array_equal(
        li.marker_targets(markers, m, 1), [[0, 1]]
    )  # padding and position 0 excluded
    assert len(li.marker_targets(markers, m, 3)) == 0


def test_control_sets():
    rng = np.random.default_rng(0)
    freq = np.r_[np.linspace(0.001, 0.5, 40), np.zeros(10)]
    chosen = np.zeros(50, bool)
    chosen[[5, 20, 30]] = True
    matched = li.control_sets(chosen, freq, 4, True, rng)
    assert matched.shape == (4, 50) and (matched.sum(1) == 3).all() and not (matched & chosen).any()
    # matched on frequency: each control set's mean log-frequency is close to the chosen set's
    assert np.allclose(np.log(freq[matched[0]]).mean(), np.log(freq[chosen]).mean(), atol=0.5)
    uniform = li.control_sets(chosen, freq, 200, False, rng)
    assert (uniform.sum(1) == 3).all() and (
        uniform[:, freq == 0]
    ).any()  # unmatched: never-firing latents too
    assert not li.control_sets(np.zeros(50, bool), freq, 2, True, rng).any()


def test_steering_at_alpha_zero_is_the_unsteered_model(setup):
    """Moved from fig5's claims (it holds by construction): alpha = 0 times a latent's decoder vector leaves the
    greedy generations identical to the unsteered model's, while alpha = 2 changes them."""
    tok, models, ids, mask, cc, problems = setup
    m = models[1]
    d = li.decoder_vector(cc, 3, 1, "raw")
    V = np.stack([a * 20 * d for a in (0.0, 2.0)]).astype(np.float32)
    plain = pairs.evaluate(m, tok, problems, True, 12)
    greedy = li.steered_generations(m, tok, problems, LAYER, V, max_new_tokens=12)
    assert greedy["texts"][0] == plain["texts"]
    assert np.array_equal(greedy["length"][0], plain["length"])
    assert greedy["texts"][1] != greedy["texts"][0]
