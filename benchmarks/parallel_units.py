"""Units whose independent stacks run in worker processes (``repro.parallel``), against one after another, in one run.

    uv run python benchmarks/parallel_units.py [--units zoo,lr_sweep,toy_sweep,tiny_lms] [--workers 2]

Each unit runs twice on a shortened version of its quick config: with one torch thread (one process, every job in
turn: the baseline) and with ``--workers`` threads (the unit's ``cpu_threads``: that many spawned worker processes,
one thread each). Prints both wall times, the ratio, and whether the two results are bitwise equal (they must be:
every job is single-threaded either way).

- ``zoo``: ``distill_features.zoo.train_zoo``, the (replicate, size) pairs (``--base-steps``, ``--distill-steps``);
- ``lr_sweep``: ``geneft.phase.lr_sweep``, one stack per optimiser and seed (``--geneft-steps``);
- ``toy_sweep``: ``graph_universality`` toy sweep under the official recipe, one stack per relation count, each
  run capped at ``--toy-steps`` optimiser steps;
- ``tiny_lms``: ``graph_universality`` tiny LMs, one per seed (``--lm-steps``).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from bitwise import equal  # benchmarks/bitwise.py (a script's folder is on sys.path)


def _units(args):
    """``{name: (compute, cfg)}``: each unit's computation and its shortened quick config."""
    from distill_features import zoo
    from distill_features.stages import ZOO_CONFIGS
    from geneft.phase import lr_sweep
    from geneft.stages import LR_SWEEP
    from graph_universality.stages import TINY_LMS, TOY_SWEEP_OFFICIAL, tiny_lms, toy_sweep

    return {
        "zoo": (
            zoo.train_zoo,
            dataclasses.replace(
                ZOO_CONFIGS["quick"], base_steps=args.base_steps, distill_steps=args.distill_steps, n_seeds=3
            ),
        ),
        "lr_sweep": (lr_sweep, dataclasses.replace(LR_SWEEP.configs["quick"], steps=args.geneft_steps)),
        "toy_sweep": (
            toy_sweep,
            dataclasses.replace(TOY_SWEEP_OFFICIAL.configs["quick"], max_steps=args.toy_steps),
        ),
        "tiny_lms": (tiny_lms, dataclasses.replace(TINY_LMS.configs["quick"], steps=args.lm_steps)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", default="zoo,lr_sweep,toy_sweep,tiny_lms")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--base-steps", type=int, default=200)
    ap.add_argument("--distill-steps", type=int, default=150)
    ap.add_argument("--geneft-steps", type=int, default=1500)
    ap.add_argument("--toy-steps", type=int, default=3000)
    ap.add_argument("--lm-steps", type=int, default=300)
    args = ap.parse_args()

    import os

    os.environ.setdefault("REPRO_PROGRESS", "0")
    import torch

    units = _units(args)
    unknown = set(args.units.split(",")) - set(units)
    if unknown:
        raise SystemExit(f"unknown units {sorted(unknown)}; choose from {', '.join(units)}")
    torch.set_flush_denormal(True)
    for unit in args.units.split(","):
        compute, cfg = units[unit]
        walls, results = {}, {}
        for name, threads in (("one after another", 1), (f"{args.workers} workers", args.workers)):
            torch.set_num_threads(threads)
            t = time.perf_counter()
            results[name] = compute(cfg)
            walls[name] = time.perf_counter() - t
        base, par = walls.values()
        print(
            f"{unit}: one after another {base:.1f} s, {args.workers} workers {par:.1f} s, ratio {base / par:.2f}x; "
            f"bitwise equal: {equal(*results.values())}",
            flush=True,
        )


if __name__ == "__main__":
    main()
