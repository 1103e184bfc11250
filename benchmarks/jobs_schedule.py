"""``repro all --jobs N``'s schedule (``repro.stage.plan_jobs``: each job once what it reads is cached, the longest
chain of estimates first) against the stage waves it replaced (every uncached stage of a wave, a barrier, the next
wave, then the figures in order), replayed on measured unit times.

    uv run python benchmarks/jobs_schedule.py [--scale quick] [--jobs 2] [--times paper_figures] [--overhead 3]

Nothing is trained: both schedules are list-scheduled on ``--jobs`` workers with each unit's compute time as the
committed references record it (``<times>/<paper>/figN.json``: the figure's wall time and its stages' compute times;
a swept stage's time is split evenly over its chunks), plus ``--overhead`` seconds per job (a worker restoring what
it reads). The plan itself is the real one, from an empty cache, with the units' declared estimates as priorities.
Prints both makespans, their ratio, and the sum of the units' times over the workers (the bound no schedule beats).
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import tempfile
from pathlib import Path


def measured_seconds(times: Path, scale: str) -> tuple[dict[str, float], dict[str, float]]:
    """(figure name -> wall seconds, stage name -> compute seconds, all its chunks together) from the references."""
    suffix = "" if scale == "quick" else f"_{scale}"
    figures: dict[str, float] = {}
    stages: dict[str, float] = {}
    for path in sorted(times.glob(f"*/*{suffix}.json")):
        if suffix == "" and path.stem.count("_"):
            continue  # another scale's reference (fig2_smoke.json)
        d = json.loads(path.read_text())
        if "timings_seconds" not in d:
            continue
        t = d["timings_seconds"]
        figures[d["figure"]] = t["wall"]
        stages.update(t.get("stages", {}))
    return figures, stages


def makespan(jobs, duration, priority, workers: int) -> float:
    """List scheduling: whenever a worker is free, start the ready job that ``priority`` ranks first."""
    done: set[str] = set()
    waiting, running, now = list(jobs), [], 0.0
    while waiting or running:
        ready = sorted((j for j in waiting if j.needs <= done), key=priority)
        for j in ready[: workers - len(running)]:
            waiting.remove(j)
            heapq.heappush(running, (now + duration(j), id(j), j))
        now, _, j = heapq.heappop(running)
        done.add(j.key)
    return now


def waves_makespan(jobs, duration, workers: int) -> float:
    """The replaced schedule: stage waves by depth, each wave to its end, then the figures in their order."""
    by_key = {j.key: j for j in jobs}
    depth: dict[str, int] = {}

    def wave(j) -> int:
        if j.key not in depth:
            depth[j.key] = 1 + max((wave(by_key[k]) for k in j.needs), default=-1)
        return depth[j.key]

    stages = [j for j in jobs if j.is_stage]
    start = 0.0
    for w in range(1 + max((wave(j) for j in stages), default=-1)):
        free = [start] * workers
        for j in (j for j in stages if wave(j) == w):
            i = free.index(min(free))
            free[i] += duration(j)
        start = max(free)
    free = [start] * workers
    for j in (j for j in jobs if not j.is_stage):
        i = free.index(min(free))
        free[i] += duration(j)
    return max(free)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="quick")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--times", type=Path, default=Path("paper_figures"))
    ap.add_argument("--overhead", type=float, default=3.0)
    args = ap.parse_args()

    figure_s, stage_s = measured_seconds(args.times, args.scale)
    with tempfile.TemporaryDirectory() as empty:
        os.environ["REPRO_CACHE_DIR"] = empty
        from repro import paths, registry
        from repro.cache import Cache
        from repro.stage import plan_jobs

        figs = registry.all_figures()
        jobs = plan_jobs([(f, f.config(args.scale)) for f in figs], args.scale, Cache(paths.cache_dir()))
    chunks: dict[str, int] = {}
    for j in jobs:
        if j.is_stage:
            chunks[j.unit.name] = chunks.get(j.unit.name, 0) + 1
    missing = sorted(
        {j.unit.name for j in jobs if (stage_s if j.is_stage else figure_s).get(j.unit.name) is None}
    )
    if missing:
        raise SystemExit(
            f"no measured time in {args.times} for: {', '.join(missing)}; pass --times the --out folder of a "
            f"`repro all --scale {args.scale}` run"
        )

    def duration(j) -> float:
        own = stage_s[j.unit.name] / chunks[j.unit.name] if j.is_stage else figure_s[j.unit.name]
        return own + args.overhead

    total = sum(duration(j) for j in jobs)
    waves = waves_makespan(jobs, duration, args.jobs)
    planned = makespan(jobs, duration, lambda j: -j.critical_seconds, args.jobs)
    print(
        f"{len(jobs)} jobs ({sum(chunks.values())} stage chunks), {total:.0f} s of units, {args.jobs} workers"
    )
    print(f"  stage waves, then figures (baseline): {waves:7.0f} s")
    print(f"  plan_jobs, longest chain first:       {planned:7.0f} s   ratio {waves / planned:.2f}x")
    print(f"  units / workers (no schedule beats):  {total / args.jobs:7.0f} s")


if __name__ == "__main__":
    main()
