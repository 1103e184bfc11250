"""The GPT with a harmonic head, its trainer (single process, resume, torchrun/gloo), the word corpus and the
parallelogram analysis."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from harmonic_loss import word_corpus
from harmonic_loss.gpt import GPT, GPTConfig
from harmonic_loss.parallelogram import (
    cumulative_fraction,
    parallelogram_loss,
    pca_project,
    sample_quadruples,
    task_quadruples,
)
from harmonic_loss.train_lm import PRESETS, TRAINER_FILE, lr_at, train
from repro.figure import ReproError

TINY = GPTConfig(block_size=8, vocab_size=40, n_layer=1, n_head=2, n_embd=16)


@pytest.fixture(scope="module")
def token_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tokens")
    tokens = np.random.default_rng(0).integers(0, 128, 5000).astype(np.uint16)
    tokens.tofile(d / "train.bin")
    tokens[:1000].tofile(d / "val.bin")
    return d


@pytest.mark.parametrize("head", ["standard", "harmonic"])
def test_gpt_forward_shapes_and_tied_head(head):
    torch.manual_seed(0)
    model = GPT(GPTConfig(**{**TINY.__dict__, "head": head}))
    idx = torch.randint(0, 40, (2, 8))
    logits, none = model(idx)
    assert logits.shape == (2, 8, 40) and none is None
    _, loss = model(idx, idx)
    assert torch.isfinite(loss)
    loss.backward()
    assert model.wte.weight.grad is not None  # the head is the embedding
    assert not any(n.startswith("lm_head") for n, _ in model.named_parameters())


def test_harmonic_training_loss_matches_logits_path():
    torch.manual_seed(0)
    model = GPT(GPTConfig(**{**TINY.__dict__, "head": "harmonic"}))
    idx = torch.randint(0, 40, (2, 8))
    fused = model(idx, idx)[1]
    reference = torch.nn.functional.cross_entropy(model(idx)[0].reshape(-1, 40), idx.reshape(-1))
    torch.testing.assert_close(fused, reference, rtol=1e-5, atol=1e-6)


def test_official_probability_floor_bounds_the_loss():
    torch.manual_seed(0)
    cfg = GPTConfig(
        **{
            **TINY.__dict__,
            "head": "harmonic",
            "harmonic_convention": "code",
            "harmonic_n": 768.0,
            "prob_floor": 0.01 / 40,
        }
    )
    _, loss = GPT(cfg)(torch.randint(0, 40, (2, 8)), torch.randint(0, 40, (2, 8)))
    assert loss.item() <= -np.log(0.01 / 40) + 1e-4


def test_config_validation():
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="head"):
        GPTConfig(head="softmax")


def test_save_load_round_trip_and_truncation(tmp_path):
    model = GPT(TINY)
    model.save(tmp_path)
    again = GPT.load(tmp_path)
    for (n, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, msg=n)
    w = tmp_path / "model.safetensors"
    w.write_bytes(w.read_bytes()[:100])
    with pytest.raises(ReproError, match="cannot be loaded"):
        GPT.load(tmp_path)


def test_lr_schedule():
    cfg = PRESETS["tiny"][1]["standard"]
    assert lr_at(0, cfg) < cfg.lr and abs(lr_at(cfg.warmup_iters, cfg) - cfg.lr) < 1e-9
    assert abs(lr_at(cfg.max_iters, cfg) - cfg.min_lr) < 1e-9


def test_training_learns_and_resumes(tmp_path, token_dir):
    data = np.memmap(token_dir / "train.bin", dtype=np.uint16, mode="r") % 40  # vocab 40
    data = np.asarray(data, np.uint16)
    cfg = PRESETS["tiny"][1]["harmonic"]
    model_cfg = GPTConfig(**{**TINY.__dict__, "head": "harmonic"})
    short = train(
        model_cfg,
        cfg.__class__(**{**cfg.__dict__, "max_iters": 10}),
        data,
        data,
        out_dir=tmp_path,
        progress=False,
    )
    assert short["iters"] == 10 and json.loads((tmp_path / TRAINER_FILE).read_text())["iter"] == 10
    resumed = train(
        model_cfg,
        cfg.__class__(**{**cfg.__dict__, "max_iters": 20}),
        data,
        data,
        out_dir=tmp_path,
        progress=False,
    )
    assert resumed["iters"] == 20 and resumed["nonfinite_steps"] == 0
    assert len(resumed["history"]) > len(short["history"])


def test_torchrun_two_processes_on_cpu(tmp_path, token_dir):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "harmonic_loss.train_lm",
        "--preset",
        "tiny",
        "--head",
        "harmonic",
        "--data",
        str(token_dir),
        "--out",
        str(tmp_path / "ckpt"),
        "--set",
        "max_iters=6",
        "--set",
        "eval_interval=3",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    tiny = PRESETS["tiny"]
    assert (
        summary["iters"] == 6
        and summary["tokens"] == 6 * 2 * tiny[1]["harmonic"].batch_size * 2 * tiny[0].block_size
    )
    assert (tmp_path / "ckpt" / "model.safetensors").exists() and (
        tmp_path / "ckpt" / "optimizer.safetensors"
    ).exists()


def test_train_cli_bad_input_is_one_line(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "harmonic_loss.train_lm",
        "--preset",
        "tiny",
        "--head",
        "harmonic",
        "--data",
        str(tmp_path),
        "--out",
        str(tmp_path / "o"),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode != 0 and r.stderr.strip().count("\n") == 0 and "does not exist" in r.stderr


def test_word_corpus_is_seeded_and_tasks_are_in_vocabulary():
    a, vocab = word_corpus.generate(200, seed=1)
    b, _ = word_corpus.generate(200, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.max() < len(vocab.words) and len(set(vocab.words)) == len(vocab.words)
    for name, pairs in word_corpus.tasks().items():
        assert len(pairs) >= 10, name
        vocab.encode([w for p in pairs for w in p])  # every task word is a token


def test_parallelogram_loss_is_zero_for_exact_parallelograms_and_scale_free():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(50, 8))
    emb[10:20] = emb[0:10] + emb[49]  # pairs (i, i+10) share one offset: perfect parallelograms
    pairs = np.stack([np.arange(10), np.arange(10, 20)], 1)
    quads = sample_quadruples(pairs, 100, rng)
    assert np.all(quads[:, 0] != quads[:, 2])
    proj = pca_project(emb, 8)
    assert np.nanmax(parallelogram_loss(proj, quads)) < 1e-20
    np.testing.assert_allclose(
        parallelogram_loss(pca_project(3 * emb, 8), quads), parallelogram_loss(proj, quads), atol=1e-12
    )
    random = task_quadruples({"a": pairs, "b": pairs + 20}, 50, 200, seed=0)["a"]["random"]
    assert np.nanmedian(parallelogram_loss(proj, random)) > 0.1
    assert np.isnan(parallelogram_loss(proj, np.array([[1, 2, 1, 3]]))[0])  # degenerate quadruple dropped
    np.testing.assert_allclose(
        cumulative_fraction(np.array([0.5, 1.5, np.nan]), np.array([1.0, 2.0])), [0.5, 1.0]
    )


def test_paper_scale_inputs_missing_offline_are_one_line(tmp_path):
    from harmonic_loss.figures.fig6 import FIGURE
    from harmonic_loss.lm_parallelograms import load_embeddings
    from harmonic_loss.train_lm import prepare_openwebtext

    with pytest.raises(ReproError) as e:
        FIGURE.compute(FIGURE.config("paper"))
    assert "\n" not in str(e.value) and "harmonic_checkpoint" in str(e.value)
    with pytest.raises(ReproError) as e:
        load_embeddings("hf:gpt2")
    assert "\n" not in str(e.value) and (
        "gpt2" in str(e.value) or "transformers is not installed" in str(e.value)
    )
    with pytest.raises(ReproError) as e:
        prepare_openwebtext(tmp_path)
    assert "\n" not in str(e.value) and "prepare_openwebtext" in str(e.value)


def test_bpe_corpus_separates_bare_words_from_words_mid_text():
    """D14's setting at quick: the byte-level BPE trained on the corpus is deterministic; with its leading space
    every task word is one token (as common words are in GPT-2), while the bare word's last piece, the official
    analysis' rule, is another token."""
    a, tok = word_corpus.bpe_corpus(3000, seed=0, vocab_size=768)
    b, _ = word_corpus.bpe_corpus(3000, seed=0, vocab_size=768)
    np.testing.assert_array_equal(a, b)
    assert a.max() < tok.get_vocab_size() and (a == tok.token_to_id(word_corpus.EOS_TEXT)).sum() == 3000
    words = [w for pairs in word_corpus.tasks().values() for p in pairs for w in p]
    assert all(len(tok.encode(" " + w).ids) == 1 for w in words)
    differ = [word_corpus.last_piece(tok, w, False) != word_corpus.last_piece(tok, w, True) for w in words]
    assert np.mean(differ) > 0.5


def test_fig6_runs_on_trained_checkpoints(tmp_path):
    """The paper-scale path (checkpoints + function-vector task files, a BPE tokenizer file), on tiny checkpoints
    trained on the BPE corpus: both D14 variants are measured on the same models."""
    from dataclasses import replace

    from harmonic_loss.figures.fig6 import FIGURE

    tokens, tok = word_corpus.bpe_corpus(300, seed=0, vocab_size=768)
    for head in ("standard", "harmonic"):
        cfg = GPTConfig(**{**TINY.__dict__, "vocab_size": tok.get_vocab_size(), "head": head})
        tcfg = PRESETS["tiny"][1][head]
        train(cfg, replace(tcfg, max_iters=5), tokens, out_dir=tmp_path / head, progress=False)
    (tmp_path / "tasks").mkdir()
    for name, pairs in word_corpus.tasks().items():
        rows = [{"input": a, "output": b} for a, b in pairs]
        (tmp_path / "tasks" / f"{name}.json").write_text(json.dumps(rows))
    tok.save(str(tmp_path / "tokenizer.json"))
    cfg = replace(
        FIGURE.config("paper"),
        harmonic_checkpoint=str(tmp_path / "harmonic"),
        standard_checkpoint=str(tmp_path / "standard"),
        tasks_dir=str(tmp_path / "tasks"),
        tokenizer=f"bpe:{tmp_path / 'tokenizer.json'}",
        n_quadruples=200,
    )
    result = FIGURE.compute(cfg)
    assert result["tasks"] == sorted(word_corpus.tasks()) and result["same_token_fraction"] < 0.5
    claims = FIGURE.claims(result, cfg)
    # one claim per task and variant; one model per head: the interval is a bootstrap over the task's quadruples
    assert [c.variant for c in claims] == ["official"] * 4 + ["fixed"] * 4
    for c in claims:
        assert c.interval is not None and "bootstrap" in c.spread and len(c.preconditions) == 2
    official, fixed = claims[:4], claims[4:]
    assert any(o.values[0] != f.values[0] for o, f in zip(official, fixed, strict=True))  # other tokens
