"""geneft task, model and stacked training: splits, phases, and stacked == per-run."""

import numpy as np
import pytest
import torch

from geneft.model import Arch, forward, init_params
from geneft.task import all_pairs, labels, split
from geneft.train import PHASES, Runs, classify, train_stack


def test_task_pairs_labels_and_seeded_splits():
    p = all_pairs()
    assert p.shape == (900, 2) and (p[31] == [1, 1]).all()
    y = labels("greater")
    assert y[0 * 30 + 1] == 1 and y[1 * 30 + 0] == 0 and y.sum() == 435
    tr, te = split(0.75, seed=3)
    assert len(tr) == 675 and len(te) == 225 and not set(tr) & set(te)
    assert (split(0.75, 3)[0] == tr).all() and not (split(0.75, 4)[0] == tr).all()
    with pytest.raises(ValueError):
        split(1.0, 0)


def test_classify_follows_table_four():
    t_train = np.array([100, 100, 100, -1])
    t_test = np.array([300, 1500, -1, -1])
    assert [PHASES[i] for i in classify(t_train, t_test, grok_gap=1000)] == [
        "generalization",
        "grokking",
        "memorization",
        "confusion",
    ]


@pytest.mark.parametrize("mode", [1, 2, 3])
def test_stacked_forward_equals_each_run_alone(mode):
    arch = Arch(mode=mode, depth=2, width=7)
    params = init_params(arch, [0, 1, 2], 30, torch.device("cpu"))
    x1, x2 = torch.tensor([0, 5, 29]), torch.tensor([3, 5, 1])
    out = forward(params, arch, x1, x2)
    for r in range(3):
        single = {k: v[r : r + 1] for k, v in params.items()}
        assert torch.allclose(out[r], forward(single, arch, x1, x2)[0], atol=1e-6)
    # per-run index tensors give the same as shared ones
    assert torch.allclose(forward(params, arch, x1.expand(3, -1), x2.expand(3, -1)), out)
    # the fast tanh equals torch.tanh, and so does its gradient
    x = torch.linspace(-6, 6, 101, requires_grad=True)
    from geneft.model import fast_tanh

    fast_tanh(x).sum().backward()
    g = x.grad.clone()
    x.grad = None
    torch.tanh(x).sum().backward()
    assert torch.allclose(g, x.grad, atol=1e-6) and torch.allclose(fast_tanh(x), torch.tanh(x), atol=1e-6)


def test_stack_trains_each_run_as_if_alone_and_early_exit_keeps_results():
    # a stack of 3 runs (different lr, fraction, optimiser state) equals each run trained alone, even when
    # finished runs are re-packed out of the stack
    kw = {"steps": 120, "eval_every": 20, "compact_every": 40}
    runs = Runs(
        seeds=[0, 1, 2],
        fractions=[0.5, 0.75, 0.6],
        lr_enc=[1e-2, 3e-3, 1e-2],
        lr_dec=[1e-2, 1e-2, 3e-3],
        wd_dec=[0.0, 0.1, 0.0],
    )
    arch = Arch(depth=2, width=8)
    together = train_stack("mod3", arch, runs, stop="phase", device="cpu", **kw)
    for r in range(3):
        one = Runs(*([getattr(runs, f)[r]] for f in ("seeds", "fractions", "lr_enc", "lr_dec", "wd_dec")))
        alone = train_stack("mod3", arch, one, stop="phase", device="cpu", **kw)
        for key in ("t_train", "t_test", "train_acc", "test_acc"):
            assert np.allclose(together[key][r], alone[key][0], atol=1e-5), (key, r)


def test_sgd_variant_and_per_run_relations():
    runs = Runs.grid(seeds=[0, 1], fractions=0.5, lr_enc=0.5, lr_dec=0.5, wd_dec=0.0)
    out = train_stack(
        ["mod3", "greater"],
        Arch(depth=1, width=8),
        runs,
        30,
        optimizer="sgd",
        stop=None,
        eval_every=10,
        device="cpu",
    )
    assert out["curve_train"].shape == (4, 2) and out["steps_run"] == 30


def test_zero_padded_widths_train_as_the_narrow_decoder_alone():
    runs = Runs.grid(seeds=[0, 1, 2], fractions=0.5, lr_enc=1e-2, lr_dec=1e-2, wd_dec=[0.0, 0.1, 0.0])
    widths = [3, 8, 5]
    kw = {"steps": 100, "eval_every": 20, "stop": None, "device": "cpu", "keep_embeddings": True}
    together = train_stack("mod3", Arch(depth=2, width=8), runs, widths=widths, **kw)
    for r, w in enumerate(widths):
        one = Runs(*([getattr(runs, f)[r]] for f in ("seeds", "fractions", "lr_enc", "lr_dec", "wd_dec")))
        alone = train_stack("mod3", Arch(depth=2, width=w), one, **kw)
        assert np.allclose(together["curve_train"][:, r], alone["curve_train"][:, 0], atol=1e-6)
        assert np.allclose(together["full_acc"][r], alone["full_acc"][0])
        assert np.allclose(together["embeddings"][r], alone["embeddings"][0], atol=1e-5)


def test_fraction_groups_bound_the_padding():
    from geneft.train import fraction_groups

    assert fraction_groups((0.05, 0.1, 0.2, 0.3, 0.5)) == [[0, 1], [2, 3], [4]]
    assert fraction_groups((0.5, 0.05)) == [[1], [0]]


def test_fraction_sweep_runs_each_run_as_alone():
    from geneft.train import fraction_sweep

    arch = Arch(depth=1, width=8)
    out = fraction_sweep(("mod3", "greater"), (0.1, 0.5), (0, 1), arch, 40, 1e-2, 10, "test")
    for r in ("mod3", "greater"):
        for fi, f in enumerate((0.1, 0.5)):
            for si, s in enumerate((0, 1)):
                one = Runs.grid(seeds=[s], fractions=f, lr_enc=1e-2, lr_dec=1e-2, wd_dec=0.0)
                alone = train_stack(r, arch, one, 40, eval_every=10, stop="perfect", device="cpu")
                assert np.isclose(out["full"][r][fi, si], alone["full_acc"][0], atol=1e-6), (r, f, s)
