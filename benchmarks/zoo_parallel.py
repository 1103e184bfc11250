"""The distill zoo's (replicate, size) pairs trained in worker processes against one after another, in one run.

    uv run python benchmarks/zoo_parallel.py [--base-steps 200] [--distill-steps 150] [--seeds 3] [--workers 2]

Both sides run ``distill_features.zoo.train_zoo`` on the quick zoo's widths with shortened training: the baseline
with one torch thread (so one process, every pair in turn), the parallel side with ``--workers`` threads (the
stage's ``cpu_threads``: that many spawned worker processes, one thread each). Prints both wall times, the ratio,
and whether the two zoos are bitwise equal (they must be: each pair is single-threaded either way).
"""

from __future__ import annotations

import argparse
import dataclasses
import time


def _equal(a, b) -> bool:
    import numpy as np

    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b or (a != a and b != b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-steps", type=int, default=200)
    ap.add_argument("--distill-steps", type=int, default=150)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    import torch

    from distill_features import zoo
    from distill_features.stages import ZOO_CONFIGS

    cfg = dataclasses.replace(
        ZOO_CONFIGS["quick"], base_steps=args.base_steps, distill_steps=args.distill_steps, n_seeds=args.seeds
    )
    torch.set_flush_denormal(True)
    walls, zoos = {}, {}
    for name, threads in (("one after another", 1), (f"{args.workers} workers", args.workers)):
        torch.set_num_threads(threads)
        t = time.perf_counter()
        zoos[name] = zoo.train_zoo(cfg)
        walls[name] = time.perf_counter() - t
        print(f"{name}: {walls[name]:.1f} s")
    (base, par) = walls.values()
    print(
        f"ratio (one after another / workers): {base / par:.2f}x; zoos bitwise equal: {_equal(*zoos.values())}"
    )


if __name__ == "__main__":
    main()
