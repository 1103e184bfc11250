"""repro.activations: harvesting, the exactly-once shuffled reader, normalisation, bad caches, SAELens interop.

The first tests are the regression tests for the official crosscoder buffer (it trained on its first 32 sequences
only, and half of each batch was zero rows)."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter

import numpy as np
import pytest

from repro.activations import (
    FORMAT_VERSION,
    METADATA_FILE,
    ActivationCache,
    HarvestConfig,
    act_key,
    harvest,
)
from repro.figure import ReproError

# the hook points tests/conftest.py harvests (test_metadata_records_provenance checks they agree)
HOOKS = ("blocks.1.hook_resid_pre", "blocks.0.hook_resid_post")


def expected_rows(mask, drop_first):
    """(sequence, position) of every row a correct harvest stores: real tokens from position drop_first on."""
    keep = mask.bool().clone()
    keep[:, :drop_first] = False
    return {(int(s), int(p)) for s, p in keep.nonzero()}


def one_epoch(cache, batch_size=64, seed=0, epoch=0, normalise=False):
    return list(cache.reader(batch_size, normalise=normalise, seed=seed).epoch(epoch))


def test_every_row_exactly_once_per_epoch(tiny_cache, tiny_tokens):
    import torch

    ids, mask = tiny_tokens
    want = expected_rows(mask, drop_first=2)
    assert tiny_cache.n_rows == len(want) and len(tiny_cache.shards) > 1
    batches = one_epoch(tiny_cache, batch_size=64)  # 64 does not divide n_rows: the short last batch counts
    rows = torch.cat([b.rows for b in batches])
    assert len(rows) == tiny_cache.n_rows and len(set(rows.tolist())) == tiny_cache.n_rows
    seqs = tiny_cache.gather("sequences", rows.numpy())
    pos = tiny_cache.gather("positions", rows.numpy())
    got = set(zip(seqs.tolist(), pos.tolist(), strict=True))
    assert got == want  # the whole corpus, every sequence (not only the first few), nothing else
    assert {s for s, _ in got} == set(range(ids.shape[0]))


def test_no_zero_rows(tiny_cache):
    for b in one_epoch(tiny_cache, batch_size=50):
        for k, x in b.acts.items():
            assert bool((x.norm(dim=-1) > 0).all()), f"all-zero row in {k}"
    assert all(v == 0 for v in tiny_cache.meta["zero_rows"].values())


def test_shuffle_differs_by_seed_and_epoch_same_multiset(tiny_cache):
    import torch

    def order(seed, epoch):
        return torch.cat([b.rows for b in one_epoch(tiny_cache, 32, seed=seed, epoch=epoch)])

    a, b, a1 = order(0, 0), order(1, 0), order(0, 1)
    assert torch.equal(a, order(0, 0))  # deterministic
    assert not torch.equal(a, b) and not torch.equal(a, a1)
    assert torch.equal(a.sort().values, b.sort().values) and torch.equal(a.sort().values, a1.sort().values)
    assert not torch.equal(a, a.sort().values)  # actually shuffled
    # the rows' contents (not only their ids) form the same multiset
    key = act_key(0, HOOKS[0])
    ca = Counter(map(tuple, torch.cat([x.acts[key] for x in one_epoch(tiny_cache, 32, seed=0)]).tolist()))
    cb = Counter(map(tuple, torch.cat([x.acts[key] for x in one_epoch(tiny_cache, 32, seed=1)]).tolist()))
    assert ca == cb


def test_rows_paired_across_models_by_token(tiny_cache, tiny_pair, tiny_tokens):
    """Each batch row holds every model's activation at the same token, equal to a direct run_with_cache."""
    import torch

    ids, _ = tiny_tokens
    batch = one_epoch(tiny_cache, batch_size=40, seed=3)[0]
    seqs = torch.from_numpy(tiny_cache.gather("sequences", batch.rows.numpy()))
    pos = torch.from_numpy(tiny_cache.gather("positions", batch.rows.numpy())).long()
    assert torch.equal(batch.tokens.long(), ids[seqs, pos])
    for j, m in enumerate(tiny_pair):
        with torch.no_grad():
            _, cache = m.hooked.run_with_cache(ids, names_filter=lambda n: n in HOOKS)
        for h in HOOKS:
            assert torch.allclose(batch.acts[act_key(j, h)], cache[h][seqs, pos], atol=1e-6)
    stacked = batch.stack(HOOKS[0], n_models=2)
    assert stacked.shape == (40, 2, tiny_pair[0].d_model)


def test_normalisation_round_trips(tiny_cache):
    import torch

    for k in tiny_cache.keys:
        raw = torch.cat([b.acts[k] for b in one_epoch(tiny_cache, 64, seed=5)])
        normed = torch.cat([b.acts[k] for b in one_epoch(tiny_cache, 64, seed=5, normalise=True)])
        d = raw.shape[1]
        # estimated over the whole cache: the normalised epoch has mean norm exactly sqrt(d)
        assert math.isclose(float(normed.norm(dim=-1).double().mean()), math.sqrt(d), rel_tol=1e-5)
        assert math.isclose(
            tiny_cache.meta["norm"][k]["mean_norm"], float(raw.norm(dim=-1).double().mean()), rel_tol=1e-5
        )
        assert torch.allclose(normed / tiny_cache.scale(k), raw, rtol=1e-6, atol=0)
    # per model and hook, not one global factor
    assert len({tiny_cache.scale(k) for k in tiny_cache.keys}) > 1
    assert tiny_cache.scales(HOOKS[0]) == [tiny_cache.scale(act_key(j, HOOKS[0])) for j in range(2)]


def test_reader_needs_explicit_normalise_choice(tiny_cache):
    with pytest.raises(TypeError):
        tiny_cache.reader(8)  # type: ignore[call-arg]


def test_cache_is_memory_mapped(tiny_cache):
    assert all(isinstance(a, np.memmap) for s in tiny_cache.shards for a in s.arrays.values())


def test_metadata_records_provenance(tiny_cache, tiny_pair, tiny_tokens):
    meta = tiny_cache.meta
    ids, mask = tiny_tokens
    assert [m["revision"] for m in meta["models"]] == [m.revision for m in tiny_pair]
    assert meta["hook_points"] == list(HOOKS) and meta["dtype"] == "float32"
    assert meta["drop_first"] == 2 and meta["positions_dropped"] == int(mask[:, :2].sum())
    assert meta["padding_dropped"] == int((mask[:, 2:] == 0).sum())
    assert meta["n_rows"] + meta["positions_dropped"] + meta["padding_dropped"] == ids.numel()
    assert len(meta["content_hash"]) == 20
    tiny_cache.verify()


def test_bfloat16_storage_and_no_padding_mask(tmp_path, tiny_pair, tiny_tokens):
    import torch

    ids, mask = tiny_tokens
    cfg = HarvestConfig(hook_points=(HOOKS[0],), drop_first=0, mask_padding=False, dtype="bfloat16")
    cache = harvest(tiny_pair[:1], ids[:6], tmp_path / "bf16", cfg, attention_mask=mask[:6])
    assert cache.n_rows == ids[:6].numel()
    x = next(iter(cache.reader(cache.n_rows, normalise=False))).acts[act_key(0, HOOKS[0])]
    assert x.dtype == torch.bfloat16
    with torch.no_grad():
        _, ref = tiny_pair[0].hooked.run_with_cache(ids[:6], names_filter=HOOKS[0])
    rows = next(iter(cache.reader(cache.n_rows, normalise=False))).rows
    seqs, pos = (torch.from_numpy(cache.gather(n, rows.numpy())).long() for n in ("sequences", "positions"))
    assert torch.allclose(x.float(), ref[HOOKS[0]][seqs, pos], rtol=1e-2, atol=1e-3)


# ----------------------------------------------------------------------------------------------- bad input
def copy_cache(cache, tmp_path):
    return shutil.copytree(cache.path, tmp_path / "copy")


def one_line(e):
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_truncated_shard(tiny_cache, tmp_path):
    d = copy_cache(tiny_cache, tmp_path)
    shard = d / tiny_cache.meta["shards"][1]["file"]
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(ReproError) as e:
        ActivationCache.open(d)
    msg = one_line(e)
    assert str(shard) in msg and "truncated" in msg and f"delete {d}" in msg


def test_altered_shard_fails_verify(tiny_cache, tmp_path):
    d = copy_cache(tiny_cache, tmp_path)
    shard = d / tiny_cache.meta["shards"][0]["file"]
    data = bytearray(shard.read_bytes())
    data[-3] ^= 0xFF
    shard.write_bytes(bytes(data))
    cache = ActivationCache.open(d)  # same size: only the hash notices
    with pytest.raises(ReproError) as e:
        cache.verify()
    assert str(shard) in one_line(e)


def test_metadata_mismatch(tiny_cache):
    names = [m["name"] for m in tiny_cache.models]
    ActivationCache.open(tiny_cache.path, expect_models=names, expect_hooks=HOOKS, expect_dtype="float32")
    for kw in (
        {"expect_models": [names[0], "other/model"]},
        {"expect_hooks": ["blocks.0.hook_resid_pre"]},
        {"expect_dtype": "bfloat16"},
    ):
        with pytest.raises(ReproError) as e:
            ActivationCache.open(tiny_cache.path, **kw)
        assert str(tiny_cache.path / METADATA_FILE) in one_line(e)


def test_older_format_version(tiny_cache, tmp_path):
    d = copy_cache(tiny_cache, tmp_path)
    meta = json.loads((d / METADATA_FILE).read_text())
    meta["format_version"] = FORMAT_VERSION - 1
    (d / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ReproError) as e:
        ActivationCache.open(d)
    assert f"v{FORMAT_VERSION - 1}" in one_line(e) and "harvest again" in str(e.value)


def test_edited_metadata(tiny_cache, tmp_path):
    d = copy_cache(tiny_cache, tmp_path)
    meta = json.loads((d / METADATA_FILE).read_text())
    meta["norm"][act_key(0, HOOKS[0])]["scale"] *= 2
    (d / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ReproError, match="edited"):
        ActivationCache.open(d)


def test_never_overwrites(tiny_cache, tiny_pair, tiny_tokens, tmp_path):
    ids, mask = tiny_tokens
    d = copy_cache(tiny_cache, tmp_path)
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    same = HarvestConfig(hook_points=HOOKS, batch_size=7, drop_first=2, shard_rows=97)
    reused = harvest(tiny_pair, ids, d, same, attention_mask=mask)  # same request: reused as is
    assert reused.meta["content_hash"] == tiny_cache.meta["content_hash"]
    for other in (
        HarvestConfig(hook_points=HOOKS, drop_first=1),
        HarvestConfig(hook_points=HOOKS[:1], drop_first=2),
        HarvestConfig(hook_points=HOOKS, drop_first=2, dtype="float16"),
    ):
        with pytest.raises(ReproError) as e:
            harvest(tiny_pair, ids, d, other, attention_mask=mask)
        assert str(d / METADATA_FILE) in one_line(e)
    with pytest.raises(ReproError):  # another model
        harvest(tiny_pair[::-1], ids, d, same, attention_mask=mask)
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("mine")
    with pytest.raises(ReproError, match="not an activation cache"):
        harvest(tiny_pair, ids, junk, same, attention_mask=mask)
    assert (junk / "notes.txt").read_text() == "mine"


def test_harvest_input_checks(tiny_pair, tiny_tokens, tmp_path):
    ids, mask = tiny_tokens
    cfg = HarvestConfig(hook_points=("blocks.7.hook_resid_pre",))
    with pytest.raises(ReproError, match="no hook point"):
        harvest(tiny_pair, ids, tmp_path / "a", cfg)
    left = mask.flip(1)
    with pytest.raises(ReproError, match="left padding"):
        harvest(tiny_pair, ids, tmp_path / "b", HarvestConfig(hook_points=HOOKS), attention_mask=left)
    with pytest.raises(ValueError):
        HarvestConfig(hook_points=("resid_pre",))
    assert not (tmp_path / "a").exists() and not list(tmp_path.glob(".*tmp*"))


# ----------------------------------------------------------------------------------------------- SAELens interop
def test_saelens_trains_on_cache(tiny_cache, tmp_path):
    """A tiny SAELens SAE trains for a few steps on our cache; its saved artifact has our artifact layout."""
    import torch
    from sae_lens import SAE, StandardTrainingSAE, StandardTrainingSAEConfig
    from sae_lens.config import SAETrainerConfig
    from sae_lens.constants import SAE_CFG_FILENAME, SAE_WEIGHTS_FILENAME
    from sae_lens.training.sae_trainer import SAETrainer

    from repro.artifacts import CFG_FILE, WEIGHTS_FILE, load_artifact, save_artifact

    assert (CFG_FILE, WEIGHTS_FILE) == (SAE_CFG_FILENAME, SAE_WEIGHTS_FILENAME)
    key = act_key(1, HOOKS[0])
    torch.manual_seed(0)
    sae = StandardTrainingSAE(StandardTrainingSAEConfig(d_in=32, d_sae=64, l1_coefficient=1e-3))
    w0 = sae.W_enc.detach().clone()
    bs, steps = 64, 12
    trainer_cfg = SAETrainerConfig(
        total_training_samples=bs * steps,
        train_batch_size_samples=bs,
        lr=3e-3,
        lr_end=3e-3,
        n_batches_for_norm_estimate=2,
    )
    provider = tiny_cache.reader(bs, normalise=True, seed=0).tensors(key)
    x = next(tiny_cache.reader(256, normalise=True, seed=9).tensors(key))

    def mse(s):
        with torch.no_grad():
            return float(((s(x) - x) ** 2).sum(-1).mean())

    before = mse(sae)
    trained = SAETrainer(trainer_cfg, sae, provider).fit()
    assert not torch.equal(trained.W_enc.detach(), w0)
    assert mse(trained) < before
    trained.save_model(tmp_path / "sae")
    cfg, tensors = load_artifact(tmp_path / "sae")
    assert cfg["d_in"] == 32 and tensors["W_enc"].shape == (32, 64)
    assert isinstance(SAE.load_from_disk(tmp_path / "sae"), SAE)
    # a crosscoder saved by this project: the same two files, config beside the weights, never overwritten silently
    cc = {"W_enc": torch.randn(2, 32, 64), "W_dec": torch.randn(64, 2, 32)}
    meta = {"architecture": "crosscoder", "scales": [tiny_cache.scale(k) for k in tiny_cache.keys[:2]]}
    save_artifact(tmp_path / "cc", meta, cc)
    cfg2, t2 = load_artifact(tmp_path / "cc")
    assert cfg2 == meta and torch.equal(t2["W_dec"], cc["W_dec"])
    with pytest.raises(ReproError, match="overwrite=True"):
        save_artifact(tmp_path / "cc", meta, cc)


def test_backends_agree(tiny_pair, tiny_tokens, tmp_path):
    """The fast HF path (layer hooks, early stop) stores what TransformerLens's hook points hold, including the
    last block's resid_post (HF's last hidden_states entry is after the final norm: the hook must not use it)."""
    import torch

    ids, mask = tiny_tokens
    hooks = ("blocks.0.hook_resid_pre", "blocks.1.hook_resid_post")
    caches = {
        b: harvest(
            tiny_pair,
            ids[:9],
            tmp_path / b,
            HarvestConfig(hook_points=hooks, backend=b),
            attention_mask=mask[:9],
        )
        for b in ("hf", "transformer_lens")
    }
    assert caches["hf"].meta["backends"] == ["hf", "hf"]
    assert caches["transformer_lens"].meta["backends"] == ["transformer_lens"] * 2
    rows = np.arange(caches["hf"].n_rows)
    for k in caches["hf"].keys:
        a, b = (torch.from_numpy(c.gather(k, rows)) for c in caches.values())
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), k


def test_attention_hook_rows_are_flattened(tiny_pair, tiny_tokens, tmp_path):
    """Hooks with head dimensions (TransformerLens backend) store one flattened row per token."""
    ids, mask = tiny_tokens
    hook = "blocks.0.attn.hook_z"
    cache = harvest(
        tiny_pair[:1], ids[:4], tmp_path / "z", HarvestConfig(hook_points=(hook,)), attention_mask=mask[:4]
    )
    cfg = tiny_pair[0].hooked.cfg
    assert cache.meta["backends"] == ["transformer_lens"]
    assert cache.meta["norm"][act_key(0, hook)]["width"] == cfg.n_heads * cfg.d_head
    with pytest.raises(ReproError, match="backend 'hf'"):
        harvest(tiny_pair[:1], ids[:4], tmp_path / "z2", HarvestConfig(hook_points=(hook,), backend="hf"))


def test_harvest_without_transformer_lens(tiny_dirs, tiny_pair, tiny_tokens, tmp_path):
    """Residual hooks need no TransformerLens conversion at all (what a 14B model on one GPU wants)."""
    import torch

    from repro.models import ModelSpec, load_model

    ids, mask = tiny_tokens
    plain = load_model(ModelSpec(str(tiny_dirs["qwen2"])), hooked=False)
    assert plain.hooked is None and plain.d_model == tiny_pair[0].d_model
    cfg = HarvestConfig(hook_points=("blocks.1.hook_resid_pre",))
    cache = harvest([plain], ids[:5], tmp_path / "plain", cfg, attention_mask=mask[:5])
    ref = harvest(tiny_pair[:1], ids[:5], tmp_path / "ref", cfg, attention_mask=mask[:5])
    rows = np.arange(cache.n_rows)
    key = act_key(0, "blocks.1.hook_resid_pre")
    assert torch.equal(torch.from_numpy(cache.gather(key, rows)), torch.from_numpy(ref.gather(key, rows)))
    with pytest.raises(ReproError, match="hooked=True"):
        harvest([plain], ids[:5], tmp_path / "z", HarvestConfig(hook_points=("blocks.0.attn.hook_z",)))


def test_malformed_metadata(tiny_cache, tmp_path):
    from repro.activation_cache import content_hash

    d = copy_cache(tiny_cache, tmp_path)
    meta = json.loads((d / METADATA_FILE).read_text())
    del meta["shards"][0]["rows"]
    meta["content_hash"] = content_hash(meta)  # consistent hash, broken layout
    (d / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ReproError, match="malformed") as e:
        ActivationCache.open(d)
    one_line(e)


def test_sharded_harvest_equals_one_harvest(tiny_pair, tiny_tokens, tmp_path):
    """Three ranks (as under torchrun) harvest blocks of sequences; rank 0's merge equals a single harvest."""
    from repro.activations import harvest_sharded, merge_caches, rank_block

    ids, mask = tiny_tokens
    cfg = HarvestConfig(hook_points=HOOKS, batch_size=5, drop_first=1, shard_rows=50)
    one = harvest(tiny_pair, ids, tmp_path / "one", cfg, attention_mask=mask)
    out = tmp_path / "sharded"
    for rank in (1, 2, 0):  # any finishing order; rank 0 merges what is there
        merged = harvest_sharded(tiny_pair, ids, out, cfg, mask, rank=rank, world_size=3)
        assert (merged is None) == (rank != 0)
    assert [rank_block(len(ids), r, 3) for r in range(3)][-1][1] == len(ids)
    assert merged.n_rows == one.n_rows and len(merged.meta["parts"]) == 3
    for k in one.keys:
        assert merged.scale(k) == pytest.approx(one.scale(k), rel=1e-9)
    rows = np.arange(one.n_rows)
    for key in [*one.keys, "sequences", "positions", "tokens"]:
        np.testing.assert_array_equal(merged.gather(key, rows), one.gather(key, rows))
    reopened = ActivationCache.open(out)  # a reused merge, and the reader visits every row once
    assert reopened.meta["content_hash"] == merged.meta["content_hash"]
    seen = np.concatenate([b.rows.numpy() for b in one_epoch(reopened)])
    assert sorted(seen.tolist()) == rows.tolist()
    assert merge_caches([out / "part-000", out / "part-001", out / "part-002"], out).n_rows == one.n_rows
    with pytest.raises(ReproError, match="starts at sequence"):
        merge_caches([out / "part-000", out / "part-002"], tmp_path / "sharded")
