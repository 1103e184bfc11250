"""repro.stack: stacked optimisers equal independent torch optimisers; per-run minibatches; the loop."""

import torch

from repro.stack import EpochBatches, StackedAdamW, StackedSGD, compiled_grad, per_run, train_stacked


def _problem(seed: int):
    # float64, so that a 1e-6 tolerance tests the update rule and not float32 rounding
    g = torch.Generator().manual_seed(seed)
    kw = {"generator": g, "dtype": torch.float64}
    return torch.randn(16, 5, **kw), torch.randn(16, 3, **kw), torch.randn(5, 3, **kw)


def _loss(w, x, y):
    return ((x @ w - y) ** 2).mean() + w.abs().sum() * 1e-3


def _compare(make_stacked, make_torch, steps=50, active_until=None):
    runs = [_problem(s) for s in range(4)]
    stacked = torch.stack([w0 for *_, w0 in runs]).requires_grad_(True)
    opt = make_stacked({"w": stacked})
    singles = [w0.clone().requires_grad_(True) for *_, w0 in runs]
    opts = [make_torch([w], i) for i, w in enumerate(singles)]
    for t in range(steps):
        active = None
        if active_until is not None:
            active = torch.tensor([t < a for a in active_until])
        opt.zero_grad()
        torch.stack([_loss(stacked[i], x, y) for i, (x, y, _) in enumerate(runs)]).sum().backward()
        opt.step(active)
        for i, ((x, y, _), w, o) in enumerate(zip(runs, singles, opts, strict=True)):
            if active_until is not None and t >= active_until[i]:
                continue
            o.zero_grad()
            _loss(w, x, y).backward()
            o.step()
    for i, w in enumerate(singles):
        assert torch.allclose(stacked[i], w, atol=1e-6, rtol=0), (i, (stacked[i] - w).abs().max())


def test_stacked_adamw_equals_independent_torch_adamw_with_per_run_hyperparameters():
    lrs, wds = [1e-2, 3e-3, 1e-3, 5e-2], [0.0, 0.01, 0.1, 0.5]
    _compare(
        lambda p: StackedAdamW(p, lr=lrs, weight_decay=wds, betas=(0.9, 0.98)),
        lambda ps, i: torch.optim.AdamW(ps, lr=lrs[i], weight_decay=wds[i], betas=(0.9, 0.98)),
    )


def test_compiled_stacked_adamw_equals_independent_torch_adamw():
    # the paper-scale sweep compiles the update (one fused loop per parameter); same rule, frozen runs included
    lrs, wds = [1e-2, 3e-3, 1e-3, 5e-2], [0.0, 0.01, 0.1, 0.5]
    _compare(
        lambda p: StackedAdamW(p, lr=lrs, weight_decay=wds, compile=True),
        lambda ps, i: torch.optim.AdamW(ps, lr=lrs[i], weight_decay=wds[i]),
        steps=20,
        active_until=[20, 5, 0, 12],
    )


def test_compiled_grad_trains_as_backward_does():
    # train_stacked with loss_fn returning compiled_grad's gradients: the same runs as with loss.backward(), frozen
    # runs included (float64: a tolerance that tests the gradient, not float32 rounding)
    runs = [_problem(s) for s in range(4)]
    x, y = torch.stack([r[0] for r in runs]), torch.stack([r[1] for r in runs])
    w0 = torch.stack([r[2] for r in runs])

    def loss(params, x, y):  # per-run losses [S], a pure function of params
        w = params["w"]
        return ((x @ w - y) ** 2).mean((1, 2)) + w.abs().sum((1, 2)) * 1e-3

    grads = compiled_grad(loss)
    finals = []
    for functional in (False, True):
        params = {"w": w0.clone().requires_grad_(True)}
        opt = StackedAdamW(params, lr=1e-2)
        fn = grads if functional else loss
        train_stacked(lambda step, p=params, fn=fn: fn(p, x, y), opt, steps=[20, 7, 0, 13])
        finals.append(params["w"].detach())
    assert torch.allclose(finals[0], finals[1], atol=1e-9, rtol=0), (finals[0] - finals[1]).abs().max()
    assert torch.equal(finals[1][2], w0[2]) and not torch.equal(finals[1][0], w0[0])


def test_compiling_without_a_compiler_is_a_one_line_error(monkeypatch):
    import shutil

    import pytest

    from repro.figure import ReproError

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ReproError, match=r"needs a C\+\+ compiler: install one \(apt-get install g\+\+\)"):
        StackedAdamW({"w": torch.zeros(2, 3, requires_grad=True)}, compile=True)


def test_frozen_runs_stop_updating_and_resume_nothing():
    _compare(
        lambda p: StackedAdamW(p, lr=1e-2),
        lambda ps, i: torch.optim.AdamW(ps, lr=1e-2),
        steps=30,
        active_until=[30, 10, 0, 20],
    )


def test_stacked_sgd_with_momentum_equals_torch_sgd():
    lrs = [1e-2, 3e-2, 1e-3, 5e-2]
    _compare(
        lambda p: StackedSGD(p, lr=lrs, momentum=0.9, weight_decay=0.01),
        lambda ps, i: torch.optim.SGD(ps, lr=lrs[i], momentum=0.9, weight_decay=0.01),
    )


def test_epoch_batches_visit_every_row_once_per_epoch_per_run():
    sizes = [8, 12, 20]
    sampler = EpochBatches(sizes, batch_size=4, seed=0)
    seen = [[] for _ in sizes]
    for _ in range(30):  # 120 rows per run: 15, 10 and 6 epochs
        idx = sampler.next()
        assert idx.shape == (3, 4)
        for r in range(3):
            seen[r] += idx[r].tolist()
    for r, n in enumerate(sizes):
        for e in range(120 // n):
            assert sorted(seen[r][e * n : (e + 1) * n]) == list(range(n))
    assert torch.allclose(sampler.epochs(30), torch.tensor([15.0, 10.0, 6.0]))
    assert sampler.steps_for(2.0).tolist() == [4, 6, 10]


def test_epoch_batches_prefetched_in_blocks_are_the_step_at_a_time_stream():
    # blocks of steps are computed at once; the indices (and the generator's draws) must not change
    for sizes, batch in (([8, 12, 20], 4), ([800, 640, 111], 32), ([33], 32), ([100, 200], 7)):
        one = EpochBatches(sizes, batch, seed=3, block=1)
        many = EpochBatches(sizes, batch, seed=3)
        assert many.block > 1 or min(sizes) < 2 * batch
        for _ in range(300):
            assert torch.equal(one.next(), many.next())


def test_train_stacked_respects_budgets_and_early_exit():
    w = torch.zeros(3, 2, requires_grad=True)
    opt = StackedSGD({"w": w}, lr=0.1)
    evals = []

    def loss_fn(step):
        return ((w - 1.0) ** 2).sum(1)

    def eval_fn(step):
        evals.append(step)
        return torch.tensor([False, False, step >= 4])

    log = train_stacked(loss_fn, opt, steps=[10, 6, 10], eval_fn=eval_fn, eval_every=2)
    assert log.steps_run == 10
    assert log.stopped_at.tolist() == [10, 6, 4]
    assert evals == [0, 2, 4, 6, 8, 10]
    # run 1 stopped after 6 steps, run 2 after 4: fewer updates, further from the optimum 1
    assert w[0, 0] > w[1, 0] > w[2, 0] > 0
    assert per_run(0.5, 3).tolist() == [0.5, 0.5, 0.5]


def test_per_parameter_per_run_hyperparameters_equal_torch_parameter_groups():
    # two stacked parameters ("enc", "dec") with their own per-run lr and wd, as torch's parameter groups
    g = torch.Generator().manual_seed(0)
    kw = {"generator": g, "dtype": torch.float64}
    x, y = torch.randn(16, 5, **kw), torch.randn(16, 3, **kw)
    enc0, dec0 = torch.randn(3, 5, 4, **kw), torch.randn(3, 4, 3, **kw)
    lr_enc, lr_dec, wd_dec = [1e-2, 3e-3, 2e-2], [1e-3, 3e-2, 5e-3], [0.0, 0.1, 0.5]

    def loss(e, d):
        return ((torch.tanh(x @ e) @ d - y) ** 2).mean()

    for make_stacked, make_torch in (
        (
            lambda p: StackedAdamW(
                p,
                lr=1.0,
                weight_decay=0.0,
                param_lr={"enc": lr_enc, "dec": lr_dec},
                param_weight_decay={"dec": wd_dec},
            ),
            lambda e, d, i: torch.optim.AdamW(
                [
                    {"params": [e], "lr": lr_enc[i], "weight_decay": 0.0},
                    {"params": [d], "lr": lr_dec[i], "weight_decay": wd_dec[i]},
                ]
            ),
        ),
        (
            lambda p: StackedSGD(p, lr=lr_dec, param_lr={"enc": lr_enc}, param_weight_decay={"dec": wd_dec}),
            lambda e, d, i: torch.optim.SGD(
                [
                    {"params": [e], "lr": lr_enc[i]},
                    {"params": [d], "lr": lr_dec[i], "weight_decay": wd_dec[i]},
                ]
            ),
        ),
    ):
        enc, dec = enc0.clone().requires_grad_(True), dec0.clone().requires_grad_(True)
        opt = make_stacked({"enc": enc, "dec": dec})
        singles = [
            (enc0[i].clone().requires_grad_(True), dec0[i].clone().requires_grad_(True)) for i in range(3)
        ]
        opts = [make_torch(e, d, i) for i, (e, d) in enumerate(singles)]
        for _ in range(20):
            opt.zero_grad()
            torch.stack([loss(enc[i], dec[i]) for i in range(3)]).sum().backward()
            opt.step()
            for (e, d), o in zip(singles, opts, strict=True):
                o.zero_grad()
                loss(e, d).backward()
                o.step()
        for i, (e, d) in enumerate(singles):
            assert torch.allclose(enc[i], e, atol=1e-6) and torch.allclose(dec[i], d, atol=1e-6)


def test_unknown_parameter_override_is_rejected():
    import pytest

    with pytest.raises(ValueError, match="no stacked parameter"):
        StackedAdamW({"w": torch.zeros(2, 3)}, param_lr={"v": 1.0})


def test_subset_continues_the_kept_runs_exactly():
    for make in (
        lambda p: StackedAdamW(
            p, lr=[1e-2, 2e-2, 3e-2], weight_decay=0.1, param_lr={"v": [1e-3, 2e-3, 3e-3]}
        ),
        lambda p: StackedSGD(p, lr=[1e-2, 2e-2, 3e-2], momentum=0.9, param_weight_decay={"v": 0.1}),
    ):
        g = torch.Generator().manual_seed(0)
        w0, v0 = torch.randn(3, 4, generator=g), torch.randn(3, 2, generator=g)

        def loss(w, v):
            return ((w.sum(1) - 1) ** 2 + (v * w[:, :2]).sum(1) ** 2).sum()

        full = make({"w": w0.clone().requires_grad_(True), "v": v0.clone().requires_grad_(True)})
        part = make({"w": w0.clone().requires_grad_(True), "v": v0.clone().requires_grad_(True)})
        for t in range(10):
            for o in (full, part):
                o.zero_grad()
                loss(o.params["w"], o.params["v"]).backward()
                o.step()
            if t == 4:
                part = part.subset(torch.tensor([True, False, True]))
                assert part.n_runs == 2 and part.params["w"].is_leaf
        for k in ("w", "v"):
            assert torch.allclose(part.params[k], full.params[k][[0, 2]], atol=1e-6)


def test_flat_update_is_the_per_parameter_update_bitwise():
    """StackedAdamW updates all parameters as one packed vector (fewer kernels): the same floats as its update
    parameter by parameter, with per-parameter overrides, runs frozen part of the way, a parameter without a
    gradient at some steps, and a subset of the runs half-way."""

    def make():
        g = torch.Generator().manual_seed(0)
        params = {
            "w": torch.randn(4, 5, 3, generator=g).requires_grad_(True),
            "b": torch.randn(4, 3, generator=g).requires_grad_(True),
            "e": torch.randn(4, 7, generator=g).requires_grad_(True),
        }
        return StackedAdamW(
            params,
            lr=[1e-2, 3e-3, 1e-3, 5e-2],
            weight_decay=[0.0, 0.01, 0.1, 0.5],
            param_lr={"b": [1e-1, 1e-2, 1e-3, 1e-4]},
            param_weight_decay={"e": 0.0},
        )

    flat, ref = make(), make()
    ref._update = ref._update_per_parameter  # the reference: one parameter at a time
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(1))
    keep = torch.tensor([True, False, True, True])
    for t in range(30):
        active = torch.tensor([t < 25, t < 10, True, t % 3 > 0])
        active = active[keep] if t > 15 else active
        for o in (flat, ref):
            o.zero_grad()
            p = o.params
            out = torch.einsum("bi,sij->sbj", x, p["w"]) + p["b"][:, None]
            loss = (out.tanh() ** 2).sum() + (p["e"] ** 2).sum() * (t % 4 != 0)
            loss.backward()
            if t % 4 == 0:
                p["e"].grad = None  # no gradient this step: that parameter is not updated at all
            o.step(active)
        if t == 15:
            flat, ref = (
                flat.subset(torch.tensor([True, False, True, True])),
                ref.subset(torch.tensor([True, False, True, True])),
            )
            ref._update = ref._update_per_parameter
    assert flat._layout is not None  # the flat path ran
    for k in flat.params:
        assert torch.equal(flat.params[k], ref.params[k]), k
        assert torch.equal(flat.exp_avg_sq[k], ref.exp_avg_sq[k]), k
