"""Harmonic head vs standard head: forward+backward time and memory at GPT-2 size (vocab 50,304, d 768).

    uv run python benchmarks/harmonic_head.py [--tokens 64] [--repeats 10] [--device cpu|cuda]

Prints each head's median time and memory and their ratio to the standard head measured in the same run. Memory is
the peak allocated on CUDA; on CPU (where torch has no allocator statistics) it is the bytes autograd keeps for
the backward pass, which is the part that grows with batch size. Target: harmonic (fused) within 1.5x of standard.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from harmonic_loss.harmax import harmonic_loss


def standard(h, w, y):
    return F.cross_entropy(h @ w.T, y)


def harmonic_fused(h, w, y):
    return harmonic_loss(h, w, y, n=768**0.5, fused=True)


def harmonic_reference(h, w, y):
    return harmonic_loss(h, w, y, n=768**0.5)


def measure(fn, h, w, y, repeats: int, device: str) -> tuple[float, int]:
    saved = 0
    inputs = {h.data_ptr(), w.data_ptr()}

    def pack(t):  # bytes autograd keeps beyond the inputs themselves
        nonlocal saved
        if t.data_ptr() not in inputs:
            saved += t.numel() * t.element_size()
        return t

    times = []
    for i in range(repeats + 2):
        h.grad = w.grad = None
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        saved = 0
        t0 = time.perf_counter()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = fn(h, w, y)
        loss.backward()
        if device == "cuda":
            torch.cuda.synchronize()
        if i >= 2:  # warm-up
            times.append(time.perf_counter() - t0)
    memory = torch.cuda.max_memory_allocated() if device == "cuda" else saved
    return statistics.median(times), memory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=50304)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    torch.manual_seed(0)
    dev = args.device
    h = (torch.randn(args.tokens, args.dim, device=dev) * 0.5).requires_grad_()
    w = (torch.randn(args.vocab, args.dim, device=dev) * 0.02).requires_grad_()
    y = torch.randint(0, args.vocab, (args.tokens,), device=dev)
    kind = "peak allocated" if dev == "cuda" else "saved for backward"
    print(
        f"device {dev}, threads {torch.get_num_threads()}, tokens {args.tokens}, vocab {args.vocab}, d {args.dim}"
    )
    base_t, base_m = measure(standard, h, w, y, args.repeats, dev)
    for name, fn in [
        ("standard", standard),
        ("harmonic (fused)", harmonic_fused),
        ("harmonic (reference)", harmonic_reference),
    ]:
        t, m = measure(fn, h, w, y, args.repeats, dev) if fn is not standard else (base_t, base_m)
        print(
            f"{name:22s} {t * 1e3:8.1f} ms  ({t / base_t:4.2f}x)   {m / 2**20:8.1f} MiB {kind}  ({m / base_m:4.2f}x)"
        )


if __name__ == "__main__":
    main()
