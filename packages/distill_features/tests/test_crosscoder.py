"""The crosscoder: initialisation, normalisation inside the model, the loss (by hand and against autograd), the
schedules, BatchTopK selection / threshold / aux-k, recovery of a planted dictionary, save/load, splicing."""

from __future__ import annotations

import copy

import pytest
import torch

from distill_features.analysis import relative_decoder_norm
from distill_features.crosscoder import (
    Crosscoder,
    CrosscoderConfig,
    batch_topk_indices,
    batch_topk_mask,
    dense_l1_loss_and_grads,
    evaluate,
    load_crosscoder,
    norm_scales,
    planted_pairs,
    save_crosscoder,
    sparse_loss_and_grads,
    splice_delta_ce,
    train_crosscoder,
)

torch.set_num_threads(1)


def assert_close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1.3e-6, atol: float = 1e-5) -> None:
    """torch.testing.assert_close's float32 tolerances (its first call costs seconds of imports here)."""
    assert a.shape == b.shape, (a.shape, b.shape)
    assert torch.allclose(a, b, rtol=rtol, atol=atol), f"max abs diff {float((a - b).abs().max()):.3g}"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("REPRO_PROGRESS", "0")


@pytest.fixture(scope="module")
def planted():
    return planted_pairs(8000, 16, n_shared=12, n_base_only=4, n_distilled_only=4, p_active=0.08, seed=0)


@pytest.fixture(scope="module")
def trained(planted):
    """One L1 and one BatchTopK crosscoder trained on the planted dictionary (shared by several tests)."""
    x, _ = planted
    out = {}
    for variant in ("l1", "batchtopk"):
        cfg = CrosscoderConfig(
            d_model=16, dict_size=64, variant=variant, k=2, lr=3e-3, steps=1200, batch_size=256,
            dead_after_tokens=20_000,
        )  # fmt: skip
        out[variant] = train_crosscoder(cfg, x, desc=None)
    return out


def test_config_validation():
    with pytest.raises(ValueError, match="variant"):
        CrosscoderConfig(d_model=4, dict_size=8, variant="topk")
    with pytest.raises(ValueError, match="k=9"):
        CrosscoderConfig(d_model=4, dict_size=8, variant="batchtopk", k=9)
    with pytest.raises(ValueError, match="l1_warmup_frac"):
        CrosscoderConfig(d_model=4, dict_size=8, l1_warmup_frac=1.5)


def test_initialisation():
    m = Crosscoder(CrosscoderConfig(d_model=8, dict_size=32, n_models=3, seed=5))
    assert m.W_enc.shape == (3, 8, 32) and m.W_dec.shape == (32, 3, 8) and m.b_dec.shape == (3, 8)
    assert_close(m.W_enc, m.W_dec.permute(1, 2, 0))  # W_enc = W_dec^T
    assert_close(m.decoder_norms(), torch.full((32, 3), 0.08))
    assert m.b_enc.abs().sum() == 0 and m.b_dec.abs().sum() == 0
    assert all(p.dtype == torch.float32 for p in m.parameters())
    again = Crosscoder(CrosscoderConfig(d_model=8, dict_size=32, n_models=3, seed=5))
    assert_close(m.W_dec, again.W_dec)
    other = Crosscoder(CrosscoderConfig(d_model=8, dict_size=32, n_models=3, seed=6))
    assert not torch.equal(m.W_dec, other.W_dec)


def test_l1_loss_by_hand():
    """d=1, two latents, two models: f = relu(W_enc x + b) = [2.5, 0]; x_hat = [1.6, 1.8] against x = [2, 1]."""
    m = Crosscoder(CrosscoderConfig(d_model=1, dict_size=2))
    with torch.no_grad():
        m.W_enc.copy_(torch.tensor([[[1.0, -1.0]], [[0.5, 1.0]]]))
        m.b_enc.copy_(torch.tensor([0.0, 0.5]))
        m.W_dec.copy_(torch.tensor([[[0.6], [0.8]], [[1.0], [0.0]]]))
        m.b_dec.copy_(torch.tensor([[0.1], [-0.2]]))
    x = torch.tensor([[[2.0], [1.0]]])
    out = m.loss(x, l1_coeff=2.0)
    # squared error (1.6-2)^2 + (1.8-1)^2 = 0.8; L1 term 2.5 * (0.6 + 0.8) = 3.5; loss = 0.8 + 2 * 3.5
    assert out["mse"].item() == pytest.approx(0.8)
    assert out["sparsity"].item() == pytest.approx(3.5)
    assert out["loss"].item() == pytest.approx(7.8)
    for fast in (sparse_loss_and_grads(m, x, 2.0), dense_l1_loss_and_grads(m, x, 2.0)):
        assert float(fast["loss"]) == pytest.approx(7.8)


@pytest.mark.parametrize("variant", ["l1", "batchtopk"])
def test_fast_paths_equal_autograd(variant):
    """Training's manual sparse (and L1 dense) loss and gradients equal autograd of the definition, aux-k included."""
    torch.manual_seed(0)
    m = Crosscoder(CrosscoderConfig(d_model=12, dict_size=48, variant=variant, k=3))
    with torch.no_grad():
        m.b_enc.sub_(0.05 * torch.rand(48))
        m.b_dec.add_(0.1 * torch.randn(2, 12))
        m.W_dec.mul_(1 + torch.rand(48, 2, 1))  # unequal decoder norms
    x = torch.randn(40, 2, 12)
    dead = torch.arange(48) % 2 == 0
    ref = m.loss(x, 1.3, dead)
    ref["loss"].backward()
    if variant == "batchtopk":
        assert ref["sparsity"].item() > 0  # the aux-k term is exercised
    fast = [sparse_loss_and_grads(m, x, 1.3, dead)]
    if variant == "l1":
        fast.append(dense_l1_loss_and_grads(m, x, 1.3))
    for out in fast:
        assert out["loss"].item() == pytest.approx(ref["loss"].item(), rel=1e-6)
        for name, p in m.named_parameters():
            assert_close(out["grads"][name], p.grad, rtol=1e-5, atol=1e-6)


def test_schedules():
    cfg = CrosscoderConfig(d_model=4, dict_size=8, steps=1000, l1_coeff=2.0, lr=1e-3)
    assert cfg.l1_at(0) == 0.0
    assert cfg.l1_at(25) == pytest.approx(1.0)  # linear over the first 5% (50 steps)
    assert cfg.l1_at(50) == cfg.l1_at(999) == 2.0
    assert cfg.lr_at(0) == cfg.lr_at(799) == 1e-3
    assert cfg.lr_at(900) == pytest.approx(5e-4)  # linear decay over the last 20%
    assert cfg.lr_at(1000) == 0.0
    x, _ = planted_pairs(600, 4, 4, 1, 1, seed=1)
    _, hist = train_crosscoder(
        CrosscoderConfig(d_model=4, dict_size=8, steps=100, batch_size=32), x, log_every=1, desc=None
    )
    assert hist["lambda"][0] == 0.0 and hist["lambda"][2] == pytest.approx(0.8) and hist["lambda"][-1] == 2.0
    assert hist["lr"][-1] < hist["lr"][0]


def test_normalisation_inside_the_model(planted):
    """The scales come from the data, encode() normalises, decode() returns raw units, and the metrics in raw
    units equal the training-unit ones (so an analysis cannot forget the normalisation)."""
    x, _ = planted
    raw = x * torch.tensor([1.0, 40.0])[None, :, None]  # the second model has 40x larger activations
    m, _ = train_crosscoder(
        CrosscoderConfig(d_model=16, dict_size=64, lr=3e-3, steps=300, batch_size=256), raw, desc=None
    )
    assert_close(m.scale, norm_scales(raw))
    assert_close(m.scale, norm_scales(x) / torch.tensor([1.0, 40.0]))
    f = m.encode(raw[:100])
    assert_close(f, m.encode_normalised(raw[:100] * m.scale[:, None]))
    assert_close(m.decode(f), m.decode_normalised(f) / m.scale[:, None])
    ev = evaluate(m, raw)["explained_variance"]
    assert min(ev) > 0.5  # decode forgot the scale: model 1's reconstruction would be 40x off
    xn = m.normalise(raw)
    err = m.decode_normalised(m.encode_normalised(xn)) - xn
    ev_norm = 1 - err.pow(2).sum((0, 2)) / (xn - xn.mean(0)).pow(2).sum((0, 2))
    assert ev == pytest.approx(ev_norm.tolist(), abs=1e-4)


def test_batch_topk_selection():
    torch.manual_seed(1)
    scaled = torch.randn(64, 100).clamp_min(0)
    want = batch_topk_mask(scaled, 5 * 64)
    assert int(want.sum()) == 5 * 64
    cutoff = float(scaled[want].min())
    for guess in (0.0, 0.9 * cutoff, cutoff, 1.5 * cutoff, 100.0):  # good, exact, too high, far too high
        idx, cut = batch_topk_indices(scaled, 5 * 64, guess)
        assert len(idx) == 5 * 64 and cut == cutoff
        assert torch.equal(torch.sort(idx).values, want.reshape(-1).nonzero().squeeze(1))
    few = torch.zeros(4, 10)
    few[0, :3] = 1.0  # fewer positive entries than k*B: keep only those
    assert int(batch_topk_mask(few, 8).sum()) == 3 and len(batch_topk_indices(few, 8)[0]) == 3


def test_batchtopk_keeps_k_per_row_and_threshold_matches(trained, planted):
    x, _ = planted
    m, hist = trained["batchtopk"]
    xb = m.normalise(x[:512])
    f = m.encode_normalised(xb, use_threshold=False)
    assert int((f > 0).sum()) == m.cfg.k * 512  # exactly k*B over the batch
    assert (hist["l0"] == m.cfg.k).all()
    assert float(m.threshold) > 0
    l0_thr = evaluate(m, x[4000:])["l0"]  # inference: the learned threshold instead of top-k
    assert l0_thr == pytest.approx(m.cfg.k, rel=0.25)


def test_aux_loss_zero_without_dead_latents():
    torch.manual_seed(2)
    m = Crosscoder(CrosscoderConfig(d_model=8, dict_size=32, variant="batchtopk", k=2))
    x = torch.randn(16, 2, 8)
    none_dead = torch.zeros(32, dtype=torch.bool)
    for dead in (None, none_dead):
        out = m.loss(x, dead_candidates=dead)
        assert out["sparsity"].item() == 0.0 and out["loss"].item() == out["mse"].item()
        assert float(sparse_loss_and_grads(m, x, 0.0, dead)["sparsity"]) == 0.0
    assert m.loss(x, dead_candidates=~none_dead)["sparsity"].item() > 0.0


@pytest.mark.parametrize("variant", ["l1", "batchtopk"])
def test_recovers_planted_dictionary(trained, planted, variant):
    """Every planted atom has a latent with decoder cosine > 0.85 (random: ~0.2); shared atoms get r near 0.5, base-only near 0,
    distilled-only near 1 (r = ||d_distilled|| / (||d_base|| + ||d_distilled||))."""
    _, truth = planted
    m, _ = trained[variant]
    dec = m.W_dec.detach().reshape(64, -1)
    true = truth["decoder"].reshape(len(truth["kind"]), -1)
    cos = (true / true.norm(dim=1, keepdim=True)) @ (dec / dec.norm(dim=1, keepdim=True).clamp_min(1e-9)).T
    best_cos, best = cos.max(1)
    assert float(best_cos.min()) > 0.85
    r = torch.as_tensor(relative_decoder_norm(m.W_dec.detach()))[best]
    kind = truth["kind"]
    assert float((r[kind == 0] - 0.5).abs().median()) < 0.1
    assert float(r[kind == 1].max()) < 0.1
    assert float(r[kind == 2].min()) > 0.75


def test_training_is_deterministic(planted):
    x, _ = planted
    cfg = CrosscoderConfig(d_model=16, dict_size=32, variant="batchtopk", k=2, steps=60, batch_size=128)
    a, ha = train_crosscoder(cfg, x, desc=None)
    b, hb = train_crosscoder(cfg, x, desc=None)
    assert all(
        torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
    assert (ha["loss"] == hb["loss"]).all()


def test_save_load_round_trip(trained, planted, tmp_path):
    x, _ = planted
    for variant, (m, _) in trained.items():
        path = save_crosscoder(m, tmp_path / variant, metadata={"hook": "blocks.1.hook_resid_pre"})
        back = load_crosscoder(path)
        assert back.cfg == m.cfg
        assert_close(back.scale, m.scale, rtol=0, atol=0)
        assert float(back.threshold) == float(m.threshold)
        raw = x[:200] * 3.0
        assert torch.equal(back(raw), m(raw))  # raw in, raw out, identical


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    """Two tiny Qwen2 models sharing a tokenizer, each briefly trained (a random model's loss is log V whatever
    is spliced in, so "splicing hurts" needs a model that has learned something)."""
    from repro.lm_train import encode, fit
    from repro.models import ModelSpec, build_tiny_model, load_model, tiny_corpus

    root = tmp_path_factory.mktemp("pair")
    models = []
    for i, name in enumerate(("base", "distilled")):
        build_tiny_model(root / name, arch="qwen2", d_model=32, n_layers=2, seed=i)
        m = load_model(ModelSpec(str(root / name)), hooked=False)
        ids, mask = encode(m.tokenizer, tiny_corpus(200, seed=i), max_len=32)
        fit(m.hf, ids, mask, mask, steps=80, batch_size=16, lr=3e-3, weight_decay=0.0, seed=i)
        models.append(m)
    return root, models


def test_splice_delta_ce(tiny_pair, monkeypatch):
    from repro.lm_train import encode
    from repro.models import tiny_corpus

    _, models = tiny_pair
    ids, mask = encode(models[0].tokenizer, tiny_corpus(4, seed=9), max_len=24)
    cc = Crosscoder(CrosscoderConfig(d_model=32, dict_size=64))
    random = splice_delta_ce(models, 1, cc, ids, mask)
    assert all(d > 0 for d in random["delta_ce"])
    identity = copy.deepcopy(cc)
    monkeypatch.setattr(identity, "forward", lambda x, use_threshold=True: x)  # a perfect reconstruction
    exact = splice_delta_ce(models, 1, identity, ids, mask)
    assert exact["clean"] == pytest.approx(random["clean"])
    assert max(abs(d) for d in exact["delta_ce"]) < 1e-5
    assert exact["frac_recovered"] == pytest.approx([1.0, 1.0], abs=1e-4)
    assert all(z != c for z, c in zip(exact["zero"], exact["clean"], strict=True))


def test_train_from_activation_reader(tiny_pair):
    """Training from a harvested cache: the cache's scales go into the model, whatever the reader's setting."""
    from repro.activations import HarvestConfig, harvest

    root, models = tiny_pair
    hook = "blocks.1.hook_resid_pre"
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, len(models[0].tokenizer), (16, 24), generator=g)
    cache = harvest(models, ids, root / "cache", HarvestConfig(hook_points=(hook,), shard_rows=100))
    cfg = CrosscoderConfig(d_model=32, dict_size=64, variant="batchtopk", k=4, steps=30, batch_size=64)
    a, _ = train_crosscoder(cfg, cache.reader(64, normalise=True, seed=0), desc=None)
    b, _ = train_crosscoder(cfg, cache.reader(64, normalise=False, seed=0), desc=None)
    assert_close(a.scale, torch.tensor(cache.scales(hook)))
    assert_close(a.W_dec, b.W_dec)


def test_official_buffer_replays_defects_1_and_2(tiny_pair):
    """The official buffer: only the first n sequences' rows, as many zero rows again (seq_len twice the real
    length), each half-buffer pass a permutation without repeats, then the same rows re-permuted; training runs
    from it. The correct reader (``ActivationReader``) is the contrast: every row once per epoch, no zero rows."""
    import numpy as np

    from distill_features.official_buffer import OfficialBuffer
    from repro.activations import HarvestConfig, harvest

    root, models = tiny_pair
    hook = "blocks.1.hook_resid_pre"
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(0, len(models[0].tokenizer), (16, 24), generator=g)
    cache = harvest(models, ids, root / "cache-official", HarvestConfig(hook_points=(hook,), drop_first=1))
    buf = OfficialBuffer(cache, 32, n_sequences=4, seed=0)
    assert buf.buffer_rows == 4 * (2 * 24 - 1) and buf.filled_rows == 4 * 23
    stats = buf.stats(steps=100)
    assert stats.zero_fraction == pytest.approx(1 - 92 / 188) and stats.visits_per_row == pytest.approx(
        3200 / 188
    )
    seqs = cache.gather("sequences", np.arange(cache.n_rows))
    allowed = set(np.flatnonzero(seqs < 4).tolist())
    it = buf.forever()
    per_pass = (188 // 2 - 32) // 32 + 1  # batches until the pointer passes half the buffer
    for _ in range(3):
        rows = torch.cat([next(it).rows for _ in range(per_pass)])
        real = rows[rows >= 0].tolist()
        assert (
            len(real) == len(set(real)) and set(real) <= allowed
        )  # no repeats within a pass, first fill only
    batch = next(it)
    x = batch.stack(hook, 2)
    zero = batch.rows < 0
    assert zero.any() and (~zero).any() and bool((x[zero] == 0).all()) and bool((x[~zero] != 0).any(-1).all())
    again = OfficialBuffer(cache, 32, n_sequences=4, seed=0).forever()
    assert torch.equal(
        next(again).rows, next(OfficialBuffer(cache, 32, n_sequences=4, seed=0).forever()).rows
    )
    cfg = CrosscoderConfig(d_model=32, dict_size=64, steps=20, batch_size=32)
    cc, hist = train_crosscoder(cfg, buf, desc=None)
    assert_close(cc.scale, torch.tensor(cache.scales(hook))) and np.isfinite(hist["loss"]).all()
    with pytest.raises(ValueError, match="cannot serve"):
        OfficialBuffer(cache, 512, n_sequences=4)


def test_first_sequences_rows_stops_early_and_handles_any_order():
    import numpy as np

    from distill_features.official_buffer import first_sequences_rows

    class Cache:  # rows of 10 sequences x 7 positions, in harvest order (or shuffled)
        def __init__(self, seqs):
            self.seqs, self.n_rows, self.reads = np.asarray(seqs), len(seqs), 0

        def gather(self, name, rows):
            self.reads += len(rows)
            return self.seqs[rows]

    ordered = Cache(np.repeat(np.arange(10), 7))
    assert first_sequences_rows(ordered, 3, chunk=8).tolist() == list(range(21))
    assert ordered.reads == 24  # three chunks of 8, not the 70 rows
    shuffled = Cache(np.random.default_rng(0).permutation(np.repeat(np.arange(10), 7)))
    expect = np.flatnonzero(shuffled.seqs < 3)
    assert first_sequences_rows(shuffled, 3, chunk=8).tolist() == expect.tolist()
