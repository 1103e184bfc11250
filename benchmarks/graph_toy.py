"""Speed-up of training the toy grid of graph_universality stacked (repro.stack) over a per-run loop.

    uv run python benchmarks/graph_toy.py [--steps 300] [--seeds 5] [--threads 1]

The grid is the universality grid of Fig. 3 (emb {2, 4, 8, 16} x weight decay {0, 0.1} x seeds, 15-node random tree,
descendant relation, 20 % of the links held out). Both sides call :func:`graph_universality.toy.train_toy` with
the same runs for the same number of steps (early exit off); the per-run side passes one run at a time. That a
stacked run computes exactly the per-run model is checked first on a 20-step run (float round-off only; over
hundreds of steps round-off differences grow, as between any two BLAS call orders).
"""

from __future__ import annotations

import argparse
import time

import torch

from graph_universality.graphs import KnowledgeGraph, random_tree, split
from graph_universality.toy import ToyRun, train_toy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    kg = KnowledgeGraph(random_tree(15, 0))
    tr, te = split(kg, "heldout", 0.2, 0)
    runs = [
        ToyRun(kg.examples, tr, te, 15, 1, emb_dim=d, hidden=50, weight_decay=wd, seed=s, emb_init_std=1.0)
        for d in (2, 4, 8, 16)
        for wd in (0.0, 0.1)
        for s in range(args.seeds)
    ]
    short = [train_toy([r], 20, stop_loss=0.0)[0].embeddings()[0].detach() for r in runs]  # also the warm-up
    both = train_toy(runs, 20, stop_loss=0.0)[0].embeddings().detach()
    err = max(
        float((e[:, : r.emb_dim] - both[i, :, : r.emb_dim]).abs().max())
        for i, (r, e) in enumerate(zip(runs, short, strict=True))
    )
    print(f"max |embedding difference| stacked vs per-run after 20 steps: {err:.2e}")

    t0 = time.perf_counter()
    for r in runs:
        train_toy([r], args.steps, stop_loss=0.0)
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_toy(runs, args.steps, stop_loss=0.0)
    t_stack = time.perf_counter() - t0

    print(f"{len(runs)} toy runs x {args.steps} steps, {args.threads} thread(s)")
    print(f"per-run loop: {t_loop:.2f} s   stacked: {t_stack:.2f} s   speed-up: {t_loop / t_stack:.1f}x")


if __name__ == "__main__":
    main()
