"""repro.models: real loading path on tiny local models, checked TransformerLens conversion, offline errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from repro.figure import ReproError
from repro.models import (
    HOOKED_ARCHITECTURES,
    ModelSpec,
    build_tiny_tokenizer,
    check_conversion,
    load_model,
    load_tokenizer,
    resolve_model_dir,
)


def test_import_is_cheap():
    """`repro list` must stay fast: importing the LM layer may not pull in torch or transformers."""
    code = (
        "import sys, repro.models, repro.activations, repro.artifacts; "
        "heavy = [m for m in ('torch', 'transformers', 'transformer_lens', 'sae_lens') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("arch", ["qwen2", "gpt2", "llama", "gpt_neox"])
def test_hooked_logits_match_hf(tiny_dirs, arch):
    """The TransformerLens view computes the HF model's function (own check, independent of load_model's)."""
    import torch

    m = load_model(ModelSpec(str(tiny_dirs[arch])), keep_hf=True)
    assert m.architecture in HOOKED_ARCHITECTURES
    assert m.max_logit_diff is not None and m.max_logit_diff < 1e-4
    ids = m.tokenizer(["the cat sat on the mat Wait Therefore", "one plus two equals three"], padding=True)
    ids = torch.tensor(ids["input_ids"])
    with torch.no_grad():
        hf = m.hf(ids, output_hidden_states=True)
        tl_logits, cache = m.hooked.run_with_cache(ids)
    assert torch.allclose(hf.logits, tl_logits, atol=1e-4, rtol=1e-4)
    assert hf.logits.abs().max() > 1e-3  # not a degenerate all-zero comparison
    for i in range(m.hooked.cfg.n_layers):  # hook names mean what they say
        assert torch.allclose(cache[f"blocks.{i}.hook_resid_pre"], hf.hidden_states[i], atol=1e-5)


def test_conversion_check_can_fail(tiny_pair):
    """A corrupted conversion is caught, in one line (the check is not vacuous)."""
    import copy

    import torch

    m = tiny_pair[0]
    broken = copy.deepcopy(m.hooked)
    with torch.no_grad():
        broken.blocks[0].mlp.W_out.add_(0.5)
    with pytest.raises(ReproError) as e:
        check_conversion(m.hf, broken, "float32", where="tiny")
    assert "\n" not in str(e.value) and "tiny" in str(e.value)


def test_tokenizer_roundtrip(tiny_dirs):
    """AutoTokenizer (Qwen2Tokenizer / GPT-2 style rebuild) reproduces the tokenizer the builder trained."""
    built = build_tiny_tokenizer()
    text = "the cat sat Wait Therefore 17 zebra!"
    for arch in ("qwen2", "gpt2"):
        tok = load_tokenizer(str(tiny_dirs[arch]))
        assert tok(text)["input_ids"] == built(text)["input_ids"]
        assert tok.pad_token is not None


def test_offline_error_is_one_line():
    with pytest.raises(ReproError) as e:
        load_model(ModelSpec("no-such-org/no-such-model", revision="v1"))
    msg = str(e.value)
    assert "\n" not in msg
    assert "no-such-org/no-such-model" in msg and "hf download no-such-org/no-such-model --revision v1" in msg


def test_bad_local_dirs(tmp_path, tiny_dirs):
    with pytest.raises(ReproError, match="does not exist"):
        resolve_model_dir(str(tmp_path / "missing" / "model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReproError, match="no config.json"):
        resolve_model_dir(str(tmp_path / "empty"))
    other = shutil.copytree(tiny_dirs["qwen2"], tmp_path / "other")
    cfg = json.loads((other / "config.json").read_text())
    cfg["architectures"] = ["MambaForCausalLM"]
    (other / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ReproError, match="hooked=False") as e:
        load_model(ModelSpec(str(other)))
    assert "\n" not in str(e.value)


def test_local_revision_tracks_content(tmp_path, tiny_dirs):
    """Caches record the model revision; for a local directory it must change when the weights do."""
    copy = shutil.copytree(tiny_dirs["gpt2"], tmp_path / "copy")
    _, rev_a = resolve_model_dir(str(tiny_dirs["gpt2"]))
    _, rev_b = resolve_model_dir(str(copy))
    assert rev_a == rev_b
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert resolve_model_dir(str(copy))[1] != rev_a


def test_spec_validation():
    with pytest.raises(ValueError):
        ModelSpec("x", dtype="float8")
    with pytest.raises(ValueError):
        ModelSpec("x", device="tpu")


@pytest.mark.parametrize("arch", ["qwen2", "gpt2"])
def test_half_precision_load(tiny_dirs, arch):
    """The chosen dtype reaches both views, and the conversion check holds at bf16 tolerance."""
    import torch

    m = load_model(ModelSpec(str(tiny_dirs[arch]), dtype="bfloat16"), keep_hf=True)
    assert m.hooked.cfg.dtype == torch.bfloat16 and next(m.hf.parameters()).dtype == torch.bfloat16
    assert m.max_logit_diff is not None and m.max_logit_diff < 0.05
    assert m.describe()["dtype"] == "bfloat16"


def test_online_fetch_failure_is_one_line(monkeypatch):
    """With a network, a failed fetch (gated, misspelt) names the model and the command, not 'offline'."""
    import huggingface_hub

    import repro.models as models

    def refuse(*args, **kwargs):
        raise PermissionError("401 gated repo\nmore detail on the next line")

    monkeypatch.setattr(models, "go_offline_if_unreachable", lambda: False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", refuse)
    with pytest.raises(ReproError) as e:
        resolve_model_dir("meta-llama/Llama-3.2-1B")
    msg = str(e.value)
    assert "\n" not in msg and "offline" not in msg
    assert "meta-llama/Llama-3.2-1B" in msg and "401 gated repo" in msg and "hf download" in msg


def test_word_level_tokenizer_of_a_qwen2_dir_loads_as_saved(tmp_path):
    """A tiny Qwen2 saved with a word-level tokenizer (as the pipelines train) keeps every word on reload."""
    import transformers

    from repro.lm_train import build_word_tokenizer
    from repro.models import load_tokenizer

    tok = build_word_tokenizer(["Problem", ":", "3", "+", "4", "Answer"])
    conf = transformers.Qwen2Config(
        vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1,
    )  # fmt: skip
    transformers.Qwen2ForCausalLM(conf).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    text = "Problem : 3 + 4 Answer :"
    assert load_tokenizer(str(tmp_path)).encode(text, add_special_tokens=False) == tok.encode(text)
