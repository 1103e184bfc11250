"""Speed-up of training 20 seeds stacked (repro.stack) over 20 sequential runs of the same code, in one process.

    uv run python benchmarks/harmonic_seeds.py [--epochs 20] [--task circle] [--model harmonic_mlp] [--threads 1]

Both sides call :func:`harmonic_loss.toy_train.train_runs` with the official toy settings (batch 32, AdamW lr 2e-3,
weight decay 0.01, embedding dim 16); the sequential side passes one run at a time. Accuracy is evaluated only at
the start and the end on both sides, so the ratio measures training.
"""

from __future__ import annotations

import argparse
import time

import torch

from harmonic_loss.toy_config import PAPER_SEEDS
from harmonic_loss.toy_train import RunSpec, train_runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--task", default="circle")
    ap.add_argument("--model", default="harmonic_mlp")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    specs = [
        RunSpec(args.task, args.model, "official", s, 0.8, 0.01, args.epochs)
        for s in PAPER_SEEDS[: args.seeds]
    ]
    train_runs(specs[:1], eval_every=0, device=args.device)  # warm-up (allocator, lazy imports)

    t0 = time.perf_counter()
    for spec in specs:
        seq = train_runs([spec], eval_every=0, device=args.device)
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    stacked = train_runs(specs, eval_every=0, device=args.device)
    t_stack = time.perf_counter() - t0
    # the last run trained alone and inside the stack must agree (same init, same data; batch order differs)
    print(
        f"{len(specs)} x {args.model} on {args.task}, {args.epochs} epochs, {args.threads} thread(s), {args.device}\n"
        f"  sequential: {t_seq:.2f} s ({t_seq / len(specs):.3f} s per run)\n"
        f"  stacked:    {t_stack:.2f} s\n"
        f"  speed-up:   {t_seq / t_stack:.1f}x\n"
        f"  final test acc (last seed) alone {seq['test_acc'][0, -1]:.3f}, stacked {stacked['test_acc'][-1, -1]:.3f}"
    )


if __name__ == "__main__":
    main()
