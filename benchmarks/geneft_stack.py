"""Speed-up of GenEFT's stacked training over a per-run loop of the same model and optimiser, in one process.

    uv run python benchmarks/geneft_stack.py [--steps 300] [--threads 1]

Two cells, as the figures use them:
- phase diagram (Fig. 5): mod 3, concat combiner, decoder 3 x 50 tanh, fraction 0.75, 25 runs (a 5 x 5 lr grid);
- Goldilocks (Fig. 7): mod 3, decoder 3 x 10 tanh, fraction 0.3, 18 runs (seeds).

Per-run side: ``nn.Embedding`` + ``nn.Sequential`` (Linear/Tanh) + ``torch.optim.Adam`` with two parameter groups
(encoder and decoder learning rates), full-batch BCE, the 900-pair evaluation every 50 steps: one run after another.
Stacked side: :func:`geneft.train.train_stack` (hand-written stacked Adam, per-run lr tensors), the same steps and
evaluation, no early exit (so the ratio measures the stacking alone). The per-run side times a few runs and is
reported per run; the ratio is (per-run seconds per run) / (stacked seconds / runs). Both sides run ``--repeats``
times, alternating, and each keeps its best time (the machine may be shared).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from geneft.model import Arch
from geneft.task import all_pairs, labels, split
from geneft.train import Runs, train_stack


def per_run_loop(
    width: int, depth: int, fraction: float, lrs: list[tuple[float, float]], steps: int
) -> float:
    pairs = torch.as_tensor(all_pairs())
    y = torch.as_tensor(labels("mod3"))
    t0 = time.perf_counter()
    for seed, (lr_enc, lr_dec) in enumerate(lrs):
        torch.manual_seed(seed)
        tr, _ = split(fraction, seed)
        tr = torch.as_tensor(tr)
        emb = torch.nn.Embedding(30, 2)
        layers: list[torch.nn.Module] = []
        sizes = [4] + [width] * depth
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [torch.nn.Linear(a, b), torch.nn.Tanh()]
        dec = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))
        opt = torch.optim.Adam(
            [{"params": emb.parameters(), "lr": lr_enc}, {"params": dec.parameters(), "lr": lr_dec}]
        )

        def logits(idx: torch.Tensor, emb=emb, dec=dec) -> torch.Tensor:
            e = emb(pairs[idx])  # [B, 2, d]
            return dec(e.reshape(len(idx), -1))[:, 0]

        for step in range(steps):
            opt.zero_grad()
            F.binary_cross_entropy_with_logits(logits(tr), y[tr]).backward()
            opt.step()
            if step % 50 == 0:
                with torch.no_grad():
                    (logits(torch.arange(900)) > 0).eq(y > 0.5).float().mean()
    return (time.perf_counter() - t0) / len(lrs)


def stacked(width: int, depth: int, fraction: float, lrs: list[tuple[float, float]], steps: int) -> float:
    runs = Runs.grid(
        seeds=list(range(len(lrs))),
        fractions=fraction,
        lr_enc=[a for a, _ in lrs],
        lr_dec=[b for _, b in lrs],
        wd_dec=0.0,
    )
    t0 = time.perf_counter()
    train_stack("mod3", Arch(mode=1, depth=depth, width=width), runs, steps, stop=None, eval_every=50)
    return (time.perf_counter() - t0) / len(lrs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--loop-runs", type=int, default=4, help="runs timed on the per-run side")
    ap.add_argument(
        "--repeats", type=int, default=2, help="alternate both sides this often, keep each one's best"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    grid = [(float(a), float(b)) for a in np.logspace(-4, -2, 5) for b in np.logspace(-3, -1, 5)]
    cells = {
        "phase diagram (width 50, f 0.75, 25 runs)": (50, 3, 0.75, grid),
        "Goldilocks (width 10, f 0.3, 18 runs)": (10, 3, 0.3, [(1e-3, 1e-3)] * 18),
    }
    for name, (width, depth, fraction, lrs) in cells.items():
        # alternate the two sides and keep each one's best: the machine is shared, so single timings are noisy
        loop = stack = float("inf")
        for _ in range(args.repeats):
            loop = min(loop, per_run_loop(width, depth, fraction, lrs[: args.loop_runs], args.steps))
            stack = min(stack, stacked(width, depth, fraction, lrs, args.steps))
        print(
            f"{name}: per-run loop {loop / args.steps * 1e3:.3f} ms/step/run, stacked "
            f"{stack / args.steps * 1e3:.3f} ms/step/run, speed-up {loop / stack:.1f}x"
        )


if __name__ == "__main__":
    main()
