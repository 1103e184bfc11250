"""Paper-scale helpers: model menus, offline errors, tokenizer-family check, layer lists of every family."""

import pytest
import torch

from graph_universality import paper_models, tinylm
from repro.figure import ReproError


def test_menus_and_pairs():
    assert len(paper_models.ICL_MODELS) == 5
    pairs = paper_models.stitch_pairs(("gpt2",))
    assert ("openai-community/gpt2", "openai-community/gpt2-xl") in pairs and len(pairs) == 16
    with pytest.raises(ReproError):
        paper_models.stitch_pairs(("bert",))


def test_missing_models_fail_in_one_line_naming_the_download(tmp_path):
    with pytest.raises(ReproError) as e:
        paper_models.require_models([str(tmp_path / "no-such-model"), "EleutherAI/pythia-70m-deduped"])
    msg = str(e.value)
    assert "\n" not in msg and "download" in msg


def test_local_text_source_and_lengths(tmp_path):
    from graph_universality.graphs import name_pool

    tok = tinylm.build_word_tokenizer(name_pool()[:20])
    f = tmp_path / "docs.txt"
    f.write_text("Is Emily a descendant of\n\nIs ?\n\nIs a a a a a")
    docs = paper_models.pile_texts(str(f), tok, n_docs=2, min_tokens=3)
    assert [len(d) for d in docs] == [3, 3]
    with pytest.raises(ReproError):
        paper_models.pile_texts(str(f), tok, n_docs=3, min_tokens=3)


@pytest.mark.parametrize("arch", ["gpt2", "gpt_neox"])
def test_stitching_runs_on_every_family(tmp_path, arch):
    import transformers

    from repro.models import build_tiny_model, load_tokenizer

    path = build_tiny_model(tmp_path / arch, arch=arch, d_model=16, n_layers=2, n_heads=2)
    model = transformers.AutoModelForCausalLM.from_pretrained(path).eval()
    tok = load_tokenizer(str(path))
    paper_models.check_same_tokenizer(tok, tok)
    ids = torch.tensor([tok.encode("the cat sat on the mat")])
    mask = torch.ones_like(ids)
    st = tinylm.Stitched(model, model, 0.5, init="lstsq", fit_ids=ids, fit_mask=mask)
    with torch.no_grad():
        assert torch.allclose(st(ids, mask), model(ids, attention_mask=mask).logits, atol=1e-4)
