"""Session fixtures for the language-model layer: tiny random-init models saved to temporary directories and an
activation cache harvested from two of them, built once per session (TransformerLens is slow to import)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("REPRO_PROGRESS", "0")

SEQ_LEN = 24
N_SEQ = 40
HOOKS = ("blocks.1.hook_resid_pre", "blocks.0.hook_resid_post")


@pytest.fixture(scope="session")
def torch_one_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory, torch_one_thread):
    """Saved tiny models: a Qwen2 'base', a Qwen2 'distilled' (other seed), a GPT-2, a Llama and a GPT-NeoX (Pythia)."""
    from repro.models import build_tiny_model

    root = tmp_path_factory.mktemp("tiny-models")
    return {
        "qwen2": build_tiny_model(root / "qwen2", arch="qwen2", seed=0),
        "qwen2b": build_tiny_model(root / "qwen2b", arch="qwen2", seed=1),
        "gpt2": build_tiny_model(root / "gpt2", arch="gpt2", seed=0),
        "llama": build_tiny_model(root / "llama-tiny", arch="llama", seed=0),
        "gpt_neox": build_tiny_model(root / "neox", arch="gpt_neox", seed=0),
    }


@pytest.fixture(scope="session")
def tiny_pair(tiny_dirs):
    """Two hooked models that share a tokenizer (a Qwen2 and a GPT-2), loaded through the real path."""
    from repro.models import ModelSpec, load_model

    return [load_model(ModelSpec(str(tiny_dirs[k])), keep_hf=True) for k in ("qwen2", "gpt2")]


@pytest.fixture(scope="session")
def tiny_tokens(tiny_pair):
    """Token ids [N_SEQ, SEQ_LEN] and mask; sentences of varied length so some sequences are right-padded."""
    from repro.activations import tokenize_texts
    from repro.models import tiny_corpus

    texts = [" ".join(s.split()[: 3 + i % 9]) for i, s in enumerate(tiny_corpus(N_SEQ, seed=7))]
    ids, mask = tokenize_texts(tiny_pair[0].tokenizer, texts, SEQ_LEN)
    assert 0 < int(mask.sum()) < mask.numel(), "the fixture must contain padding"
    return ids, mask


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory, tiny_pair, tiny_tokens):
    from repro.activations import HarvestConfig, harvest

    ids, mask = tiny_tokens
    cfg = HarvestConfig(hook_points=HOOKS, batch_size=7, drop_first=2, shard_rows=97)
    return harvest(tiny_pair, ids, tmp_path_factory.mktemp("acts") / "cache", cfg, attention_mask=mask)


# ------------------------------------------------------------------ harness tests: a throw-away paper package
import sys  # noqa: E402
from types import SimpleNamespace  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from toy_figure import make_toy_package  # noqa: E402


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy figure registered as the only figure: ``toy.fig``, ``toy.calls()`` (computes so far), ``toy.pkg``;
    ``toy.fig2`` reuses fig1's result (register it with ``toy.monkeypatch`` where a test needs it)."""
    from repro import registry

    src = tmp_path / "src"
    fig, fig2 = make_toy_package(src)
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    monkeypatch.setenv("TOY_CALLS", str(calls))
    monkeypatch.setattr(registry, "all_figures", lambda: (fig,))
    yield SimpleNamespace(
        fig=fig,
        fig2=fig2,
        calls=lambda: calls.read_text().splitlines().count("call"),
        calls2=lambda: calls.read_text().splitlines().count("call2"),
        calls3=lambda: calls.read_text().splitlines().count("call3"),
        pkg=src / "toypaper",
        monkeypatch=monkeypatch,
    )
    sys.path.remove(str(src))
