"""Our stacked toy models against the official nn.Module structure: same function, and from the same init on the same
batches, the same training (each run of a stack with its own torch.optim.AdamW)."""

import numpy as np
import pytest
import torch

from harmonic_loss.official_models import OfficialMLP, OfficialTransformer
from harmonic_loss.toy_data import make_split, task
from harmonic_loss.toy_models import StackedMLP, StackedTransformer
from repro.stack import EpochBatches, StackedAdamW

# a stack mixing tasks of different vocabularies and input lengths (lattice: 3 tokens, circle: 2), and both heads
RUNS = [("lattice", False, 0), ("lattice", True, 1), ("circle", False, 2), ("circle", True, 3)]


def _stack(arch: str):
    tasks = [task(t) for t, _, _ in RUNS]
    args = (
        [s for *_, s in RUNS],
        [h for _, h, _ in RUNS],
        [t.vocab_size for t in tasks],
        [t.seq_len for t in tasks],
    )
    # dropout 0: the official module would draw its masks from another stream
    return StackedMLP(*args) if arch == "mlp" else StackedTransformer(*args, dropout=0.0)


def _official(stacked, arch: str, run: int):
    cls = OfficialMLP if arch == "mlp" else OfficialTransformer
    return cls.from_stacked(stacked, run)


def _data():
    splits = [make_split(t, "official", 0.8, s, 200) for t, _, s in RUNS]
    return [(torch.from_numpy(sp.train_x), torch.from_numpy(sp.train_y)) for sp in splits]


def _pad(stacked, xs: list[torch.Tensor], arch: str) -> torch.Tensor:
    # the stack's input layout: MLPs pad positions at the end, transformers in front (toy_models)
    out = torch.zeros(len(xs), xs[0].shape[0], stacked.L, dtype=torch.long)
    for r, x in enumerate(xs):
        if arch == "mlp":
            out[r, :, : x.shape[1]] = x
        else:
            out[r, :, stacked.L - x.shape[1] :] = x
    return out


@pytest.mark.parametrize("arch", ["mlp", "transformer"])
def test_a_stacked_run_computes_what_its_official_module_computes(arch):
    torch.manual_seed(0)
    stacked = _stack(arch)
    data = _data()
    xs = [x[:16] for x, _ in data]
    logits = stacked.logits(_pad(stacked, xs, arch))
    blocks = [lg[i] for lg in logits for i in range(len(lg))]  # runs in stack order (blocks are contiguous)
    for r, (_, harmonic, _) in enumerate(RUNS):
        ref = _official(stacked, arch, r)(xs[r])
        mine = torch.log_softmax(blocks[r], -1) if harmonic else blocks[r]
        assert torch.allclose(mine, ref, atol=1e-5), (arch, r, (mine - ref).abs().max())


@pytest.mark.parametrize("arch", ["mlp", "transformer"])
def test_same_init_same_batches_train_to_the_same_weights(arch):
    """40 AdamW steps with the embedding group-lasso: every run of the stack ends where its own official module, on
    its own ``torch.optim.AdamW``, ends (float32 rounding apart). Fails if a gradient, the penalty, the tied head or
    the optimiser differs from the official structure."""
    torch.manual_seed(0)
    stacked = _stack(arch)
    officials = [_official(stacked, arch, r) for r in range(len(RUNS))]
    wd, lr, penalty = 0.01, 2e-3, 0.01
    opt = StackedAdamW(stacked.params, lr=lr, weight_decay=wd)
    opts = [torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=wd) for m in officials]
    data = _data()
    batches = EpochBatches(np.array([len(y) for _, y in data]), 16, seed=5)
    for _ in range(40):
        idx = batches.next()  # [S, 16]
        xs = [data[r][0][idx[r]] for r in range(len(RUNS))]
        ys = torch.stack([data[r][1][idx[r]] for r in range(len(RUNS))])
        opt.zero_grad()
        stacked.loss(_pad(stacked, xs, arch), ys, penalty).sum().backward()
        opt.step()
        for r, (m, o) in enumerate(zip(officials, opts, strict=True)):
            o.zero_grad()
            out = m(xs[r])
            (m.task_loss(out, ys[r]) + penalty * m.group_lasso()).backward()
            o.step()
    dim = stacked.params["emb"].shape[-1]
    for r, m in enumerate(officials):
        trained = _official(stacked, arch, r)
        moved = (m.embedding - _official(_stack(arch), arch, r).embedding).abs().max()
        assert moved > 1e-2, (arch, r, moved)  # it trained
        for (name, a), b in zip(m.state_dict().items(), trained.state_dict().values(), strict=True):
            if name.endswith("in_proj_bias"):
                # The key bias adds q.b_k to every score of a query: softmax ignores it, so its gradient is 0 up
                # to rounding, which AdamW normalises into steps of ~lr: a random walk of its own in each
                # implementation, with no effect on any output (checked below).
                a, b = torch.cat([a[:dim], a[2 * dim :]]), torch.cat([b[:dim], b[2 * dim :]])
            assert torch.allclose(a, b, atol=2e-5), (arch, r, name, (a - b).abs().max())
        with torch.no_grad():
            x = data[r][0][:32]
            assert torch.allclose(m(x), trained(x), atol=1e-4), (arch, r)
