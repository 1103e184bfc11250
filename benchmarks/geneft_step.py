"""Cost of one training step of GenEFT's lr-sweep stack, and the floor it puts under the quick figures.

    uv run python benchmarks/geneft_step.py [--runs 75] [--steps 20] [--repeats 3] [--threads 1]

One step of the Fig. 5 stack (mod 3, concat, 3 x 50 tanh, fraction 0.75, full-batch BCE, stacked Adam; ``--runs``
runs, the 5 x 5 x 3-seed Adam grid by default) with the decoder's tanh three ways: :func:`geneft.model.fast_tanh`
(2 sigmoid(2x) - 1 forward, the fused ``tanh_backward`` backward), ``torch.tanh``, and an earlier 2 sigmoid(2x) - 1
with a three-kernel backward, alternating ``--repeats`` times (the machine may be shared; each keeps its best). The
ratio printed is ``torch.tanh``'s time over ``fast_tanh``'s. It then prints the floor that runs which
never finish early put under a phase diagram: memorising and confused cells train for the whole budget, so
(full-budget runs) x (steps) x (ms per run-step) is spent whatever the early exit does.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

import geneft.model as model
from geneft.model import Arch, init_params
from geneft.task import all_pairs, labels, split
from repro.stack import StackedAdamW, per_run


class _UnfusedSigmoidTanh(torch.autograd.Function):
    """An earlier tanh: 2 sigmoid(2x) - 1, backward grad - grad y^2."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = torch.sigmoid(2 * x).mul_(2).sub_(1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return grad - grad * y * y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=75)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--full-budget-runs", type=int, default=66, help="memorising/confused runs of both grids")
    ap.add_argument("--budget", type=int, default=6000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    S, arch = args.runs, Arch(mode=1, depth=3, width=50)
    pairs, y = torch.as_tensor(all_pairs(30)), torch.as_tensor(labels("mod3", 30))
    idx = torch.stack([torch.as_tensor(split(0.75, s % 3, 30)[0]) for s in range(S)])
    x1, x2, yt = pairs[idx, 0], pairs[idx, 1], y[idx].float()
    w = torch.full(idx.shape, 1 / idx.shape[1])
    opt = StackedAdamW(
        init_params(arch, [s % 3 for s in range(S)], 30, torch.device("cpu")),
        lr=per_run(1e-3, S),
        weight_decay=0.0,
    )

    def timed(tanh) -> float:
        model.fast_tanh = tanh
        t0 = time.perf_counter()
        for _ in range(args.steps):
            logits = model.forward(opt.params, arch, x1, x2)
            loss = (F.binary_cross_entropy_with_logits(logits, yt, reduction="none") * w).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return (time.perf_counter() - t0) / args.steps * 1e3

    fused = plain = unfused = float("inf")
    fast_tanh = model.fast_tanh
    for _ in range(args.repeats):
        unfused = min(unfused, timed(_UnfusedSigmoidTanh.apply))
        plain = min(plain, timed(torch.tanh))
        fused = min(fused, timed(fast_tanh))
    model.fast_tanh = fast_tanh
    per_run_step = fused / S
    print(
        f"{S} runs: fast_tanh {fused:.1f} ms/step ({per_run_step:.3f} ms/run-step), torch.tanh {plain:.1f}, "
        f"sigmoid trick with an unfused backward {unfused:.1f}"
    )
    print(f"speed-up of fast_tanh over torch.tanh {plain / fused:.2f}x")
    floor = args.full_budget_runs * args.budget * per_run_step / 1e3
    print(
        f"floor: {args.full_budget_runs} full-budget runs x {args.budget} steps = {floor:.0f} s at this rate"
    )


if __name__ == "__main__":
    main()
