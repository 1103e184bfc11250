import numpy as np
import pytest
import torch

from distill_features import language as lang
from distill_features import pairs


def _logits(model, ids):
    with torch.no_grad():
        return model(ids).logits


def test_pack_keeps_documents_whole_after_an_eos(smoke_pair):
    tok = smoke_pair.tokenizer
    docs = lang.corpus(
        40, [("generic", 1), ("trace", 1)], __import__("random").Random(0), smoke_pair.lang_cfg
    )
    ids, mask = pairs.pack(docs, tok, 96)
    eos = tok.eos_token_id
    words = []
    for row, m in zip(ids, mask, strict=True):
        real = row[m.bool()].tolist()
        assert real[0] == eos and real[-1] == eos and m.tolist() == sorted(m.tolist(), reverse=True)
        words += [tok.convert_ids_to_tokens(i) for i in real[1:]]
    texts = " ".join(words).split(" <eos>")
    assert [t.strip() for t in texts if t.strip()] == [d.text for d in docs]
    with pytest.raises(ValueError):
        pairs.pack(docs, tok, 20)


def test_training_loss_falls_and_corpora_exclude_held_out(smoke_pair):
    p = smoke_pair.pair
    assert np.mean(p.base_curve[-2:]) < 0.7 * p.base_curve[0]
    assert np.mean(p.distill_curve[-2:]) < 0.7 * p.distill_curve[0]
    c = smoke_pair.corpora
    assert c.base_ids.shape == (smoke_pair.cfg.base_steps * smoke_pair.cfg.batch_size, smoke_pair.cfg.n_ctx)
    tok = smoke_pair.tokenizer
    sft = " ".join(tok.convert_ids_to_tokens(c.sft_ids[c.sft_mask.bool()].tolist()))
    base = " ".join(tok.convert_ids_to_tokens(c.base_ids[c.base_mask.bool()].tolist()))
    assert "<think>" in sft and "Wait" in sft and "<think>" not in base and "Answer" in base
    for prob in smoke_pair.held_out:
        assert lang.problem_prompt(prob, think=True) not in sft
        assert lang.problem_prompt(prob, think=False) not in base


def test_distilled_starts_from_the_base_weights(smoke_pair):
    cfg = pairs.PairConfig(**{**smoke_pair.cfg.__dict__, "base_steps": 10, "distill_steps": 0})
    p0 = pairs.train_pair(cfg, smoke_pair.corpora)
    for (n, a), b in zip(p0.base.state_dict().items(), p0.distilled.state_dict().values(), strict=True):
        assert torch.equal(a, b), n
    assert p0.distilled is not p0.base
    # after SFT the distilled model is much closer to its base than to a fresh init of the same seed
    p = smoke_pair.pair
    fresh = pairs.new_model(smoke_pair.cfg, len(smoke_pair.tokenizer))

    def dist(m1, m2):
        return sum(
            float((a - b).detach().pow(2).sum())
            for a, b in zip(m1.parameters(), m2.parameters(), strict=True)
        )

    assert 0 < dist(p.distilled, p.base) < 0.5 * dist(p.distilled, fresh)


def test_state_arrays_round_trip(smoke_pair):
    m = smoke_pair.pair.distilled
    arrays = pairs.state_arrays(m)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in arrays.values())
    rebuilt = pairs.model_from_arrays(smoke_pair.cfg, len(smoke_pair.tokenizer), arrays)
    ids = smoke_pair.corpora.sft_ids[:4]
    assert torch.equal(_logits(m, ids), _logits(rebuilt, ids))
    assert rebuilt.config.num_key_value_heads < rebuilt.config.num_attention_heads  # grouped-query attention
    assert not rebuilt.config.tie_word_embeddings


def test_saved_pair_loads_through_repro_models(smoke_pair, tmp_path):
    from repro.models import ModelSpec, load_model, load_tokenizer

    p = smoke_pair.pair
    base_dir, dist_dir = pairs.save_pair(p.base, p.distilled, smoke_pair.tokenizer, tmp_path)
    ids = smoke_pair.corpora.sft_ids[:2]
    for d, m in ((base_dir, p.base), (dist_dir, p.distilled)):
        loaded = load_model(ModelSpec(str(d)), hooked=False)
        assert loaded.architecture == "Qwen2ForCausalLM"
        assert torch.allclose(_logits(loaded.hf, ids), _logits(m, ids), atol=1e-5)
        assert load_tokenizer(str(d)).get_vocab() == smoke_pair.tokenizer.get_vocab()
        assert loaded.tokenizer.get_vocab() == smoke_pair.tokenizer.get_vocab()


def test_batched_generation_equals_one_by_one(smoke_pair):
    tok, m = smoke_pair.tokenizer, smoke_pair.pair.distilled
    probs = smoke_pair.held_out[:8]
    prompts = [lang.problem_prompt(p, think=i % 2 == 0) for i, p in enumerate(probs)]  # mixed lengths
    assert len({len(p.split()) for p in prompts}) > 1
    batched = pairs.generate(m, tok, prompts, 40)
    single = [pairs.generate(m, tok, [p], 40)[0] for p in prompts]
    assert batched == single
    assert pairs.generate(m, tok, prompts, 40, batch_size=3) == batched
    s1 = pairs.generate(m, tok, prompts, 40, temperature=1.0, seed=5)
    assert s1 == pairs.generate(m, tok, prompts, 40, temperature=1.0, seed=5)
    assert s1 != pairs.generate(m, tok, prompts, 40, temperature=1.0, seed=6)


def test_generation_stops_after_the_answer(smoke_pair):
    from repro.lm_train import encode

    tok = smoke_pair.tokenizer
    base = pairs.new_model(smoke_pair.cfg, len(tok))
    # teach a fresh model one sentence so greedy decoding follows it, then check where it stops
    text = "Problem : 1 + 2 <think> 1 + 2 = 3 . Thus the answer is 3 . </think> Answer : 3 Problem : 9"
    ids, mask = encode(tok, [f"<eos> {text}"])
    from repro.lm_train import fit

    fit(base, ids, mask, mask, 150, 1, 1e-2, 0.0, 0)
    out = pairs.generate(base, tok, ["Problem : 1 + 2 <think>"], 60)[0]
    assert out == "1 + 2 = 3 . Thus the answer is 3 . </think> Answer : 3"


def test_evaluate_scores_against_the_answers(smoke_pair):
    tok = smoke_pair.tokenizer
    probs = smoke_pair.held_out[:6]
    r = pairs.evaluate(smoke_pair.pair.base, tok, probs, think=False, max_new_tokens=4)
    assert r["length"].max() <= 4 and len(r["texts"]) == 6
    for text, ok, p in zip(r["texts"], r["correct"], probs, strict=True):
        assert text.startswith(lang.problem_prompt(p, think=False))
        assert ok == (lang.parse_answer(text) == p.answer)
    assert r["accuracy"] == pytest.approx(r["correct"].mean())
    assert set(r["markers"]) == set(lang.MARKERS[1:])


def test_pair_config_validates():
    with pytest.raises(ValueError):
        pairs.PairConfig(d_model=30, n_heads=4)
    with pytest.raises(ValueError):
        pairs.PairConfig(n_heads=4, n_kv_heads=3)


def test_zoo_result_rebuilds_the_zoo_without_retraining():
    import dataclasses

    from distill_features import zoo as zoo_stage
    from distill_features.stages import ZOO
    from repro.cache import join_result, split_result

    cfg = dataclasses.replace(ZOO.config("smoke"), n_eval=8, max_new_tokens=24)
    structure, arrays = split_result(zoo_stage.train_zoo(cfg))  # what the harness stores: JSON + arrays
    result = join_result(structure, arrays)
    tok, zoo = pairs.zoo_from_result(result)
    held = [lang.parse_problem(t) for t in result["eval_problems"]]
    assert [p.text for p in held] == [p.text for p in zoo_stage.held_out_problems(cfg)]
    assert list(zoo) == result["size_order"] == ["d16", "d24", "d32"]
    for name, pair in zoo.items():
        r = result["sizes"][name]
        assert pair.cfg.d_model == int(name[1:])
        again = pairs.evaluate(pair.distilled, tok, held, think=True, max_new_tokens=24)
        assert np.array_equal(again["correct"], r["distilled_correct"])
        assert (
            pairs.evaluate(pair.base, tok, held, think=False, max_new_tokens=24)["accuracy"]
            == r["base_accuracy"]
        )


def test_crosscoders_of_the_replicates_are_the_same_in_worker_processes():
    """The crosscoders stage trains its replicates in worker processes when it has two threads: every array of the
    result (crosscoders, metrics, the evaluation windows it records) equals training them one after another."""
    import dataclasses

    import torch

    from distill_features import zoo as zoo_stage
    from distill_features.stages import CROSSCODERS, ZOO
    from distill_features.zoo_crosscoders import train_crosscoders
    from repro.cache import split_result

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        zoo = zoo_stage.train_zoo(dataclasses.replace(ZOO.config("smoke"), n_eval=4, max_new_tokens=8))
        cfg = dataclasses.replace(CROSSCODERS.config("smoke"), steps=10)
        results = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            results[threads] = split_result(train_crosscoders(cfg, zoo))
    finally:
        torch.set_num_threads(before)
    (s1, a1), (s2, a2) = results[1], results[2]
    assert s1 == s2 and a1.keys() == a2.keys() and len(zoo["replicates"]) >= 1
    for k in a1:
        assert np.array_equal(a1[k], a2[k], equal_nan=True), k
