"""repro.lm_train: word tokenizer, padding, masked loss and the shared AdamW loop."""

import pytest
import torch

from repro import lm_train


def test_word_tokenizer_ids_and_padding():
    tok = lm_train.build_word_tokenizer(["a", "b", "Wait"])
    assert tok.convert_tokens_to_ids(["<pad>", "<eos>", "a", "b", "Wait"]) == [0, 1, 2, 3, 4]
    ids, mask = lm_train.encode(tok, ["a b Wait", "b"])
    assert ids.tolist() == [[2, 3, 4, 1], [3, 1, 0, 0]]
    assert mask.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    with pytest.raises(ValueError, match="twice"):
        lm_train.build_word_tokenizer(["a", "a"])


def test_lm_loss_counts_only_masked_targets():
    logits = torch.zeros(1, 3, 4)
    logits[0, 0, 1] = 10.0  # predicts token 1 at position 1: right
    ids = torch.tensor([[0, 1, 2]])
    full = lm_train.lm_loss(logits, ids, torch.tensor([[1, 1, 1]]))
    first = lm_train.lm_loss(logits, ids, torch.tensor([[1, 1, 0]]))
    assert float(first) < 1e-3 < float(full)


def test_fit_is_seeded_and_learns():
    import transformers

    tok = lm_train.build_word_tokenizer(["a", "b", "c"])
    ids, mask = lm_train.encode(tok, ["a b c a b c"] * 8)

    def run(batch_loss=None):
        torch.manual_seed(0)
        conf = transformers.Qwen2Config(
            vocab_size=len(tok),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=16,
        )
        m = transformers.Qwen2ForCausalLM(conf)
        return lm_train.fit(m, ids, mask, mask, 60, 4, 1e-2, 0.0, seed=3, log_every=10, batch_loss=batch_loss)

    a, b = run(), run()
    assert a == b
    assert a[-1] < 0.5 * a[0]
    # a batch loss of the caller's replaces the masked one: the same loss written out gives the same run, another
    # (only the first target of each row) another run
    same = run(lambda model, i, k: lm_train.lm_loss(model(i, attention_mask=k).logits, i, k))
    first = run(
        lambda model, i, k: lm_train.lm_loss(model(i, attention_mask=k).logits[:, :2], i[:, :2], k[:, :2])
    )
    assert same == a and first != a
