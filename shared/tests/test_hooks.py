"""repro.hooks: site names, the blocks of every architecture the papers use, residual edits against HF's own
hidden states."""

import pytest
import torch

from repro.hooks import (
    decoder_layers,
    edit_embed,
    edit_resid_post,
    edit_resid_pre,
    edit_site,
    hook_name,
    parse_hook_name,
)


def test_hook_names_round_trip_and_refuse_others():
    assert hook_name(3) == "blocks.3.hook_resid_pre" and hook_name(0, "post") == "blocks.0.hook_resid_post"
    assert parse_hook_name("blocks.12.hook_resid_post") == (12, "post")
    with pytest.raises(ValueError, match="not a residual-stream hook name"):
        parse_hook_name("blocks.1.attn.hook_z")


@pytest.mark.parametrize("arch", ["qwen2", "gpt2", "llama", "gpt_neox"])
def test_edits_see_and_replace_the_hidden_states(tiny_dirs, arch):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_dirs[arch]).eval()
    ids = torch.randint(5, 100, (2, 7))
    with torch.no_grad():
        ref = model(ids, output_hidden_states=True)
        n = model.config.num_hidden_layers
        assert len(decoder_layers(model)) == n
        seen = {}

        def grab(x):
            seen["x"] = x.clone()
            return x

        with edit_resid_pre(model, 1, grab):
            same = model(ids).logits
        torch.testing.assert_close(
            seen["x"], ref.hidden_states[1]
        )  # blocks.1.hook_resid_pre = hidden_states[1]
        torch.testing.assert_close(same, ref.logits)
        with edit_resid_post(model, 0, grab):
            model(ids)
        torch.testing.assert_close(seen["x"], ref.hidden_states[1])  # block 0's output is block 1's input
        with edit_site(model, "blocks.1.hook_resid_pre", torch.zeros_like):
            edited = model(ids).logits
        assert not torch.allclose(edited, ref.logits)
        after = model(ids).logits  # the hook is gone after the block
        torch.testing.assert_close(after, ref.logits)
    with pytest.raises(ValueError, match="outside the model's blocks"), edit_resid_pre(model, n, grab):
        pass


@pytest.mark.parametrize("arch", ["gpt2", "gpt_neox"])
def test_edit_embed_sees_the_token_embeddings_and_leaves_the_positions(tiny_dirs, arch):
    """hook_embed is the token embedding alone: GPT-2 adds its learned positions after it (so zeroing it leaves the
    positions in block 0's input), GPT-NeoX has none to add."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_dirs[arch]).eval()
    ids = torch.randint(5, 100, (2, 7))
    with torch.no_grad():
        ref = model(ids).logits
        seen = {}

        def grab(x):
            seen["x"] = x.clone()
            return x

        with edit_embed(model, grab):
            torch.testing.assert_close(model(ids).logits, ref)
        torch.testing.assert_close(seen["x"], model.get_input_embeddings()(ids))
        with edit_embed(model, torch.zeros_like), edit_resid_pre(model, 0, grab):
            model(ids)
        positions = model.transformer.wpe(torch.arange(7))[None].expand(2, -1, -1) if arch == "gpt2" else 0
        torch.testing.assert_close(seen["x"], torch.zeros_like(seen["x"]) + positions)
        torch.testing.assert_close(model(ids).logits, ref)  # the hook is gone after the block
