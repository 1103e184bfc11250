"""The official toy recipe (``toy.train_toy_official``) against a plain per-run torch loop written like the official
``utils.train_one_seed``: DataLoader-style minibatches of 16 (last batch partial), ``torch.optim.AdamW``, the
training-set loss after every epoch, patience, best epoch restored."""

import numpy as np
import torch

from graph_universality.graphs import KnowledgeGraph, balanced_tree, random_tree, split
from graph_universality.toy import OFFICIAL, LoaderBatches, StackedLinkMLP, ToyRun, train_toy_official


def _reference(run: ToyRun, max_epochs: int, patience: int, batch_seed: int):
    """One run, the official loop, parameters taken from the stack's init (same generator)."""
    init = StackedLinkMLP([run])
    p = {k: v.detach()[0].clone().requires_grad_(True) for k, v in init.params.items()}
    opt = torch.optim.AdamW(list(p.values()), lr=run.lr, weight_decay=run.weight_decay)
    ex = torch.from_numpy(run.examples)
    rows = torch.from_numpy(np.flatnonzero(run.train))
    g = torch.Generator().manual_seed(batch_seed)

    def loss_of(idx):
        e = ex[idx]
        h = torch.relu(p["emb"][e[:, 1]] @ p["w1x"] + p["emb"][e[:, 2]] @ p["w1y"] + p["b1"])
        logit = h @ p["w2"] + p["b2"]
        return torch.nn.functional.binary_cross_entropy_with_logits(logit, e[:, 3].float())

    best, bad, best_p, epochs = float("inf"), 0, None, 0
    for _ in range(max_epochs + 1):
        order = rows[torch.randperm(len(rows), generator=g)]
        for b in range(0, len(order), 16):
            opt.zero_grad()
            loss_of(order[b : b + 16]).backward()
            opt.step()
        epochs += 1
        with torch.no_grad():
            val = float(loss_of(rows))
        if val + 1e-8 < best:
            best, bad, best_p = val, 0, {k: v.detach().clone() for k, v in p.items()}
        else:
            bad += 1
            if bad >= patience:
                break
    return best_p, epochs


def test_official_recipe_equals_the_official_loop():
    kg = KnowledgeGraph(balanced_tree(15))
    tr, te = split(kg, "all", 0.0, 0)
    kg2 = KnowledgeGraph(random_tree(12, 3))
    tr2, te2 = split(kg2, "heldout", 0.3, 0)  # another training-set size: other epoch boundaries
    a = ToyRun(kg.examples, tr, te, 15, 1, 2, 8, OFFICIAL["weight_decay"], OFFICIAL["lr"], seed=3)
    b = ToyRun(kg2.examples, tr2, te2, 12, 1, 3, 6, 0.1, OFFICIAL["lr"], seed=5, emb_init_std=1.0)
    model, met = train_toy_official([a, b], max_epochs=6, patience=30)
    for s, run in enumerate((a, b)):
        ref, epochs = _reference(run, 6, 30, run.seed + 7919)
        assert met["epochs"][s] == epochs == 7  # max_epochs + 1, as range(1, max_epochs + 2)
        n, d, h = run.n_nodes, run.emb_dim, run.hidden
        assert torch.allclose(model.params["emb"][s, :n, :d], ref["emb"][:n, :d], atol=1e-5)
        assert torch.allclose(model.params["w1x"][s, :d, :h], ref["w1x"][:d, :h], atol=1e-5)
        assert torch.allclose(model.params["w2"][s, :h], ref["w2"][:h], atol=1e-5)


def test_patience_stops_a_run_and_restores_its_best_epoch():
    kg = KnowledgeGraph(balanced_tree(7))
    tr, te = split(kg, "all", 0.0, 0)
    # lr 0: the loss never improves after the first epoch, so the run stops after 1 + patience epochs
    still = ToyRun(kg.examples, tr, te, 7, 1, 2, 8, 0.0, 0.0, seed=0)
    moving = ToyRun(kg.examples, tr, te, 7, 1, 2, 8, 0.0, 1e-3, seed=1)
    _, met = train_toy_official([still, moving], max_epochs=20, patience=3)
    assert met["epochs"][0] == 4 and met["best_epoch"][0] == 1
    assert met["epochs"][1] == 21 and met["best_epoch"][1] == 21


def test_loader_batches_are_dataloader_epochs():
    w = torch.zeros(2, 40)
    w[0, :35] = 1  # 35 rows: batches 16, 16, 3
    w[1, 5:21] = 1  # 16 rows: one batch
    batches = LoaderBatches(w, 16, [0, 1])
    assert batches.per_epoch.tolist() == [3, 1]
    seen = []
    for _ in range(3):
        rows, wt = batches.next()
        seen.append(rows[0][wt[0] > 0])
        assert set(rows[1][wt[1] > 0].tolist()) == set(range(5, 21))
    assert sorted(torch.cat(seen).tolist()) == list(range(35)) and len(seen[-1]) == 3
    assert batches.epoch_ends(3).tolist() == [True, True] and batches.epoch_ends(2).tolist() == [False, True]


def test_claims_whose_verdict_depends_on_the_recipe_say_so():
    from graph_universality.spread import add_note, note_recipe_differences
    from repro.claims import Claim, our_choice

    paper = our_choice(0.0, "test")
    claims = [
        Claim("a", [1.0, 1.1, 0.9], ">", 0.0, paper=paper, variant="fast"),
        Claim("a", [-1.0, -1.1, -0.9], ">", 0.0, paper=paper, variant="official"),
        Claim("b", [1.0, 1.1, 0.9], ">", 0.0, paper=paper, variant="fast"),
        Claim("b", [1.0, 1.2, 0.9], ">", 0.0, paper=paper, variant="official"),
    ]
    out = note_recipe_differences(add_note(claims, "official", "official recipe"))
    assert "fast reproduced, official contradicted" in out[0].note and out[0].note.startswith("the verdict")
    assert out[1].note.startswith("official recipe; the verdict depends")
    assert out[2].note == "" and out[3].note == "official recipe"


def test_runs_that_stop_leave_the_stack_and_the_rest_train_on():
    """Re-packing the stack as runs stop (``compact_every``) gives every run the epochs, stops and parameters it
    gets in a stack that never shrinks (to float rounding: some kernels round by tensor size)."""
    kg = KnowledgeGraph(balanced_tree(7))
    tr, te = split(kg, "all", 0.0, 0)
    kg5 = KnowledgeGraph(random_tree(8, 1), ("parent", "child", "sibling", "grandparent", "descendant"))
    tr5, te5 = split(kg5, "heldout", 0.2, 0)
    runs = [
        ToyRun(kg.examples, tr, te, 7, 1, 2, 8, 0.0, 0.0, seed=0),  # lr 0: stops after 1 + patience epochs
        ToyRun(kg.examples, tr, te, 7, 1, 3, 8, 0.01, 1e-3, seed=1),
        ToyRun(kg5.examples, tr5, te5, 8, 5, 4, 6, 0.0, 0.0, seed=2),
        ToyRun(kg5.examples, tr5, te5, 8, 5, 2, 8, 0.01, 3e-3, seed=3, emb_init_std=1.0),
        ToyRun(kg.examples, tr, te, 7, 1, 2, 8, 0.01, 1e-3, seed=4),
    ]
    whole, a = train_toy_official(runs, max_epochs=40, patience=3, compact_every=10**9)
    packed, b = train_toy_official(runs, max_epochs=40, patience=3, compact_every=4)
    assert a["epochs"].tolist()[:3:2] == [4, 4] and a["epochs"].max() == 41  # some stop early, some go on
    for key in ("epochs", "best_epoch", "stopped_at", "epoch_cap"):
        assert np.array_equal(a[key], b[key]), key
    for k, v in whole.params.items():
        assert torch.allclose(v, packed.params[k], atol=1e-5), k
    assert np.allclose(a["train_loss"], b["train_loss"], atol=1e-6)


def test_hand_written_gradients_equal_autograd():
    """``batch_grads`` (the official recipe's step) against autograd of ``batch_losses`` on a stack of runs with
    different widths, relation counts and padding, trained a little first so no gradient is trivially zero."""
    kg = KnowledgeGraph(balanced_tree(7))
    tr, te = split(kg, "all", 0.0, 0)
    kg5 = KnowledgeGraph(random_tree(8, 1), ("parent", "child", "sibling", "grandparent", "descendant"))
    tr5, te5 = split(kg5, "heldout", 0.2, 0)
    runs = [
        ToyRun(kg.examples, tr, te, 7, 1, 2, 8, 0.0, 1e-2, seed=0, emb_init_std=1.0),
        ToyRun(kg5.examples, tr5, te5, 8, 5, 4, 6, 0.0, 1e-2, seed=2, emb_init_std=1.0),
        ToyRun(kg5.examples, tr5, te5, 8, 5, 3, 8, 0.01, 1e-2, seed=3),
    ]
    model, _ = train_toy_official(runs, max_epochs=3, patience=30)
    batches = LoaderBatches(model.train_w, 16, [1, 2, 3])
    for _ in range(4):  # full and partial batches (weights 0 on the missing rows)
        rows, w = batches.next()
        params = {k: v.detach().clone().requires_grad_(True) for k, v in model.params.items()}
        model.params = params
        model.batch_losses(rows, w).sum().backward()
        hand = model.batch_grads(rows, w)
        assert set(hand) == set(params)
        for k, p in params.items():
            assert hand[k].shape == p.shape, k
            torch.testing.assert_close(hand[k], p.grad, rtol=1e-5, atol=1e-7, msg=k)
        assert any(bool(hand[k].abs().sum() > 0) for k in ("emb", "wr", "w1y"))
