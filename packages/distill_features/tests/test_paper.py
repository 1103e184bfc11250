"""The paper-scale path on tiny local Qwen2 models and local data files (the hub is unreachable here)."""

import json

import pytest

from distill_features import paper
from repro.figure import ReproError


def test_offline_pair_is_one_line_naming_the_downloads():
    with pytest.raises(ReproError) as e:
        paper.require_pair(paper.PAIRS["1.5b"])
    msg = str(e.value)
    assert "\n" not in msg
    assert "Qwen/Qwen2.5-Math-1.5B" in msg and "DeepSeek-R1-Distill-Qwen-1.5B" in msg and "download" in msg


def test_pairs_read_the_middle_block():
    assert [p.hook for p in paper.PAIRS.values()] == [
        "blocks.14.hook_resid_pre",
        "blocks.14.hook_resid_pre",
        "blocks.24.hook_resid_pre",
    ]
    with pytest.raises(ReproError, match="unknown pair"):
        paper.pair("3b")


def test_openthoughts_rows_get_think_tags():
    row = {"conversations": [{"value": "Q?"}, {"value": "<|begin_of_thought|>hm<|end_of_thought|> 4"}]}
    assert paper.openthoughts_text(row) == "Q?\n<think>hm</think> 4"


def _local_pair_and_data(tmp_path):
    from repro.models import build_tiny_model, tiny_corpus

    base = build_tiny_model(tmp_path / "base", arch="qwen2", d_model=32, n_layers=2, seed=0)
    dist = build_tiny_model(tmp_path / "dist", arch="qwen2", d_model=32, n_layers=2, seed=1)
    texts = tiny_corpus(40, seed=3, words_per_sentence=30)
    (tmp_path / "gen.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts[:20]))
    rows = [{"conversations": [{"value": t}, {"value": "<|begin_of_thought|>" + t}]} for t in texts[20:]]
    (tmp_path / "reason.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return ["--pair", f"{base},{dist}", "--n-docs", "6", "--seq-len", "16",
            "--reasoning", str(tmp_path / "reason.jsonl"), "--generic", str(tmp_path / "gen.jsonl")]  # fmt: skip


def test_harvest_under_torchrun_equals_one_process(tmp_path):
    """Two gloo processes harvest one block each; rank 0 merges after the barrier: the same rows as one process."""
    import os
    import subprocess
    import sys

    import numpy as np

    from repro.activations import ActivationCache

    args = _local_pair_and_data(tmp_path)
    assert paper.main(["harvest", *args, "--out", str(tmp_path / "one")]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "distill_features.paper", "harvest", *args, "--out", str(tmp_path / "two")]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    one, two = ActivationCache.open(tmp_path / "one"), ActivationCache.open(tmp_path / "two")
    assert two.meta["parts"] == ["part-000", "part-001"] and two.n_rows == one.n_rows
    rows = np.arange(one.n_rows)
    for key in [*one.keys, "sequences", "positions"]:
        np.testing.assert_allclose(two.gather(key, rows), one.gather(key, rows), atol=1e-6)


def test_harvest_cli_on_local_models_and_files(tmp_path, capsys):
    from repro.activations import ActivationCache
    from repro.models import build_tiny_model, tiny_corpus

    base = build_tiny_model(tmp_path / "base", arch="qwen2", d_model=32, n_layers=2, seed=0)
    dist = build_tiny_model(tmp_path / "dist", arch="qwen2", d_model=32, n_layers=2, seed=1)
    texts = tiny_corpus(40, seed=3, words_per_sentence=30)
    (tmp_path / "gen.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts[:20]))
    rows = [{"conversations": [{"value": t}, {"value": "<|begin_of_thought|>" + t}]} for t in texts[20:]]
    (tmp_path / "reason.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "acts"
    argv = ["harvest", "--pair", f"{base},{dist}", "--out", str(out), "--n-docs", "6", "--seq-len", "16"]
    argv += ["--reasoning", str(tmp_path / "reason.jsonl"), "--generic", str(tmp_path / "gen.jsonl")]
    assert paper.main(argv) == 0
    cache = ActivationCache.open(out)
    assert cache.hook_points == ["blocks.1.hook_resid_pre"] and len(cache.models) == 2
    assert cache.n_rows == 12 * (16 - 2)  # 6 + 6 documents, first two positions dropped
    assert "harvested 168 rows" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="error: unknown pair"):
        paper.main(["harvest", "--pair", "nope", "--out", str(tmp_path / "x")])


def test_train_cli_on_a_tiny_cache(tmp_path):
    """harvest -> train -> load: the saved crosscoder reconstructs raw activations with its scales inside."""
    import torch

    from distill_features.crosscoder import load_crosscoder
    from repro.activations import ActivationCache, HarvestConfig, harvest, tokenize_texts
    from repro.models import ModelSpec, build_tiny_model, load_model, tiny_corpus

    dirs = [
        build_tiny_model(tmp_path / n, arch="qwen2", d_model=32, n_layers=2, seed=s)
        for n, s in (("b", 0), ("d", 1))
    ]
    models = [load_model(ModelSpec(str(p)), hooked=False) for p in dirs]
    ids, mask = tokenize_texts(models[0].tokenizer, tiny_corpus(30, seed=1), 16)
    harvest(models, ids, tmp_path / "acts", HarvestConfig(hook_points=("blocks.1.hook_resid_pre",)), mask)
    argv = ["train", "--acts", str(tmp_path / "acts"), "--out", str(tmp_path / "cc"), "--steps", "5"]
    assert paper.main([*argv, "--dict-size", "64", "--batch-size", "32", "--k", "4"]) == 0
    cc = load_crosscoder(tmp_path / "cc")
    cache = ActivationCache.open(tmp_path / "acts")
    assert cc.cfg.variant == "batchtopk" and cc.cfg.dict_size == 64
    assert torch.allclose(cc.scale, torch.tensor(cache.scales("blocks.1.hook_resid_pre")))
    with pytest.raises(SystemExit, match="not an activation cache"):
        paper.main(["train", "--acts", str(tmp_path), "--out", str(tmp_path / "x"), "--steps", "1"])


def test_paper_path_harvest_train_both_buffers_and_relative_norms(tmp_path, capsys):
    """The paper path at smoke: tiny local Qwen2 pair -> harvest -> crosscoders on the official and the fixed buffer
    -> figure F-a, through the CLI the hub models use."""
    import math

    from distill_features.crosscoder import load_crosscoder

    acts = tmp_path / "acts"
    assert paper.main(["harvest", *_local_pair_and_data(tmp_path), "--out", str(acts)]) == 0
    train = ["train", "--acts", str(acts), "--steps", "4"]
    train += ["--dict-size", "32", "--k", "4", "--batch-size", "32"]
    for buf in ("official", "fixed"):
        assert paper.main([*train, "--out", str(tmp_path / f"cc-{buf}"), "--buffer", buf]) == 0
    meta = {
        b: json.loads((tmp_path / f"cc-{b}" / "cfg.json").read_text())["metadata"]
        for b in ("official", "fixed")
    }
    assert meta["official"]["buffer"] == "official" and meta["fixed"]["buffer"] == "fixed"
    stats = meta["official"]["buffer_stats"]
    # defect 2: 12 sequences of 16 tokens (168 rows) in a buffer sized for 32 sequences of 2 x 16 - 1 rows
    assert stats["zero_fraction"] > 0.3
    assert stats["unique_rows"] == 168 and stats["buffer_rows"] == 32 * (2 * 16 - 1)
    assert "buffer_stats" not in meta["fixed"]

    out = tmp_path / "fig"
    norms = ["norms", "--crosscoder", f"official={tmp_path / 'cc-official'}"]
    assert paper.main([*norms, "--crosscoder", f"fixed={tmp_path / 'cc-fixed'}", "--out", str(out)]) == 0
    assert "relative_norms.png" in capsys.readouterr().out
    assert (out / "relative_norms.png").stat().st_size > 0
    summary = json.loads((out / "relative_norms.json").read_text())
    assert list(summary["crosscoders"]) == ["official", "fixed"]
    assert [s["buffer"] for s in summary["crosscoders"].values()] == ["official", "fixed"]
    for s in summary["crosscoders"].values():
        assert s["n_latents"] == 32 and sum(s["hist_l1"]) == 32 - s["n_undefined"]
        for key in ("mean_r_l1", "mean_r_l2"):
            assert math.isfinite(s[key]) and 0.0 <= s[key] <= 1.0
    direct = paper.relative_norms_summary({"x": load_crosscoder(tmp_path / "cc-fixed")})
    assert direct["crosscoders"]["x"]["mean_r_l1"] == summary["crosscoders"]["fixed"]["mean_r_l1"]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["relative_norms.json", "relative_norms.png"]  # atomic writes: no temporary files left

    with pytest.raises(SystemExit, match="error: .*nowhere") as e:
        paper.main(["norms", "--crosscoder", f"a={tmp_path / 'nowhere'}", "--out", str(out)])
    assert "\n" not in str(e.value)
    with pytest.raises(SystemExit, match="error: .*acts.*not a saved"):  # a harvested cache is no crosscoder
        paper.main(["norms", "--crosscoder", f"a={acts}", "--out", str(out)])
    with pytest.raises(SystemExit, match="error: .*cannot serve batches"):  # the official buffer is 992 rows
        paper.main([*train, "--batch-size", "512", "--out", str(tmp_path / "x"), "--buffer", "official"])
