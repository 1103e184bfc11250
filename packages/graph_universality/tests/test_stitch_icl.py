"""V2-stitch-icl (stitch_icl): the tasks, the score, the embedding stitch, and the paper path on tiny local models."""

import json

import numpy as np
import pytest
import torch

from graph_universality import stitch_icl
from repro import lm_train
from repro.figure import ReproError


def test_synthetic_tasks_need_the_examples():
    tasks = stitch_icl.synthetic_tasks(12, 4, seed=0)
    for t in tasks:  # bijections
        assert len({x for x, _ in t}) == len({y for _, y in t}) == 12
    for i in range(12):  # a query word's answers differ under every task: from the query alone, 1 in 4
        assert len({tasks[k][i][1] for k in range(4)}) == 4
    prompts, answers, which = stitch_icl.episodes(tasks, 8, shots=3, seed=1)
    for p, a, k in zip(prompts, answers, which, strict=True):
        pairs = [q.split(" > ") for q in p.split(" ; ")]
        rule = dict(tasks[k])
        assert all(rule[x] == y for x, y in pairs[:-1]) and rule[pairs[-1][0].rstrip(" >")] == a
        assert len({x for x, *_ in pairs}) == 4  # the query is not among the examples


def test_icl_accuracy_reads_the_first_answer_token_at_the_last_prompt_position():
    tasks = stitch_icl.synthetic_tasks(6, 2, seed=0)
    tok = stitch_icl.build_tokenizer(tasks)
    prompts, answers, _ = stitch_icl.episodes(tasks, 6, shots=2, seed=0)
    prompts[0] += (
        " ; x0 > y0 ; x1 >"  # longer than the rest: read at its last real position, not the padded end
    )
    answers[0] = "y5"

    def oracle(right: bool):
        seen = [0]  # prompts already scored (batches come in order)

        def forward(ids, mask):
            logits = torch.zeros(*ids.shape, len(tok))
            for r in range(len(ids)):
                want = tok.convert_tokens_to_ids(answers[seen[0] + r]) if right else 0
                logits[r, int(mask[r].sum()) - 1, want] = 1.0
                if not mask[r, -1]:
                    logits[r, -1, 0] = 2.0  # a padded end says something else
            seen[0] += len(ids)
            return logits

        return forward

    assert stitch_icl.icl_accuracy(oracle(True), tok, prompts, answers, batch=4) == 1.0
    assert stitch_icl.icl_accuracy(oracle(False), tok, prompts, answers, batch=4) == 0.0


def _tiny_lm(tok, seed: int, d: int = 16):
    from graph_universality.tinylm import LMConfig, new_model

    return new_model(LMConfig(d, 2, 2, seed=seed), len(tok), n_ctx=32, rotary_pct=1.0).eval()


def test_embedding_stitch_lstsq_into_itself_is_the_model_and_zero_stitch_ignores_the_sender():
    from graph_universality.tinylm import Stitched

    torch.manual_seed(0)
    tasks = stitch_icl.synthetic_tasks(20, 2, seed=0)
    tok = stitch_icl.build_tokenizer(tasks)
    ids, mask = lm_train.encode(tok, stitch_icl.training_texts(tasks, 40, 4, seed=0))
    a, b = _tiny_lm(tok, 0), _tiny_lm(tok, 1)
    with torch.no_grad():
        own = a(ids, attention_mask=mask).logits
        self_stitch = Stitched(a, a, 0.0, init="lstsq", fit_ids=ids, fit_mask=mask)(ids, mask)
        assert torch.allclose(self_stitch, own, atol=1e-4)
        zero_ab = Stitched(a, b, 0.0, init="zero")(ids, mask)
        zero_bb = Stitched(b, b, 0.0, init="zero")(ids, mask)
        assert torch.equal(zero_ab, zero_bb) and not torch.allclose(
            zero_ab, b(ids, attention_mask=mask).logits
        )


def test_fv_tasks_read_the_function_vector_files_and_fail_in_one_line(tmp_path):
    (tmp_path / "a.json").write_text(
        json.dumps([{"input": "cat", "output": "chat"}, {"input": "dog", "output": "chien"}])
    )
    assert stitch_icl.fv_tasks(tmp_path, ("a",)) == [[("cat", "chat"), ("dog", "chien")]]
    with pytest.raises(ReproError) as e:
        stitch_icl.fv_tasks(tmp_path, ("a", "b"))
    assert "\n" not in str(e.value) and "ericwtodd/function_vectors" in str(e.value) and " b " in str(e.value)
    (tmp_path / "b.json").write_text('{"input": ')  # truncated
    with pytest.raises(ReproError, match="not a function-vector data set"):
        stitch_icl.fv_tasks(tmp_path, ("b",))


def test_paper_arm_runs_on_tiny_local_models(tmp_path):
    """The paper path end to end: two tiny local GPT-2s of different widths sharing a tokenizer, two function-vector
    files, and a local text file standing in for The Pile; every stitch scored on every data set."""
    from graph_universality.stages import StitchICLConfig
    from repro.models import build_tiny_model

    torch.set_num_threads(1)
    a = build_tiny_model(tmp_path / "a", arch="gpt2", d_model=16, n_layers=2, n_heads=2, seed=0)
    b = build_tiny_model(tmp_path / "b", arch="gpt2", d_model=32, n_layers=2, n_heads=2, seed=1)
    fv = tmp_path / "fv"
    fv.mkdir()
    words = ["cat", "dog", "sun", "sea", "red", "big", "hat", "map"]
    for name, shift in (("t1", 1), ("t2", 3)):
        rows = [{"input": w, "output": words[(i + shift) % len(words)]} for i, w in enumerate(words)]
        (fv / f"{name}.json").write_text(json.dumps(rows))
    text = tmp_path / "docs.txt"
    text.write_text(
        "\n\n".join(f"the cat {i} sat on the mat and the dog ran away from it" for i in range(12))
    )
    cfg = StitchICLConfig(
        pairs=(f"{a}>{b}",), fv_data=str(fv), fv_tasks=("t1", "t2"), train_data=str(text), train_docs=8,
        seq_len=8, stitch_steps=2, batch_size=4, shots=3, n_eval=5,
    )  # fmt: skip
    out = stitch_icl.paper_arm(cfg)
    row = out[f"{a}>{b}"]
    assert set(row) == {*stitch_icl.STITCHES, *(f"loss_{k}" for k in stitch_icl.STITCHES)}
    for k, v in row.items():
        assert v.shape == (2,) and np.isfinite(v).all()
        assert (v > 0).all() if k.startswith("loss_") else ((v >= 0) & (v <= 1)).all()
    s = stitch_icl.summary(out)
    assert s["pairs"] == [f"{a}>{b}"] and s["items"]["trained"].shape == (1, 2)
    np.testing.assert_allclose(s["acc"]["receiver"], row["receiver"].mean(keepdims=True))
    np.testing.assert_allclose(s["loss"]["zero"], row["loss_zero"].mean(keepdims=True))


def test_embedding_stitch_keeps_the_receivers_learned_positions(tmp_path):
    """GPT-2 adds learned position embeddings to its token embeddings: the embedding stitch replaces the token part
    only, so a least-squares self-stitch is still the model (replacing block 0's whole input would drop them)."""
    from transformers import AutoModelForCausalLM

    from graph_universality.tinylm import Stitched
    from repro.models import build_tiny_model

    torch.manual_seed(0)
    path = build_tiny_model(tmp_path / "g", arch="gpt2", d_model=16, n_layers=2, n_heads=2, seed=0)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    ids = torch.randint(0, model.config.vocab_size, (8, 12))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        stitched = Stitched(model, model, 0.0, init="lstsq", fit_ids=ids, fit_mask=mask)(ids, mask)
        assert torch.allclose(stitched, model(ids).logits, atol=1e-4)


def test_embedding_stitch_maps_token_embeddings_narrower_than_the_residual():
    """OPT-350m embeds tokens in 512 dimensions and projects them to its 1024-wide residual: the embedding stitch
    maps token embeddings (before the projection), so a least-squares self-stitch of such a model is the model."""
    from transformers import OPTConfig, OPTForCausalLM

    from graph_universality.tinylm import Stitched

    torch.manual_seed(0)
    cfg = OPTConfig(
        vocab_size=40, hidden_size=16, word_embed_proj_dim=8, num_hidden_layers=2, ffn_dim=32,
        num_attention_heads=2, max_position_embeddings=32, pad_token_id=1, bos_token_id=2, eos_token_id=2,
    )  # fmt: skip
    model = OPTForCausalLM(cfg).eval()
    ids = torch.randint(3, 40, (8, 10))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        st = Stitched(model, model, 0.0, init="lstsq", fit_ids=ids, fit_mask=mask)
        assert st.map.weight.shape == (8, 8)
        assert torch.allclose(st(ids, mask), model(ids, attention_mask=mask).logits, atol=1e-4)
