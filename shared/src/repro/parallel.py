"""Independent pieces of one stage or figure in worker processes, each single-threaded, so its numbers do not depend
on how many run at once.

A unit (stage or figure) that declares ``cpu_threads=k`` runs with k torch threads. Intra-op threads help only
the larger GEMMs of these papers' small stacked models (most steps are dispatch-bound), and a result could then
depend on the thread count; independent pieces of the work (one stack per optimiser, per depth, per replicate) in
k single-threaded processes keep the k cores busy and give the same numbers with 1 worker or 8. The pieces are fixed
by the computation, never by the worker count: that is what keeps the numbers independent of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def n_workers(n_jobs: int, device: str | None = None) -> int:
    """Worker processes for ``n_jobs`` pieces: the unit's torch threads (its ``cpu_threads``, or ``REPRO_THREADS``)
    on the CPU, capped at the pieces; one on a GPU (the pieces then share it one after another). ``device``: where
    the pieces compute (None: a GPU where there is one, as the trainers choose). Ask before the unit's first
    :func:`map_single_threaded`, which leaves this process at one thread (so what the unit computes itself after
    the jobs does not depend on the thread count either)."""
    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return max(1, min(n_jobs, torch.get_num_threads())) if device == "cpu" else 1


def map_single_threaded(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int) -> list:
    """``[fn(job) for job in jobs]`` with every job single-threaded, so its numbers do not depend on how many run at
    once: in ``workers`` spawned processes when more than one, else here, one after another (this process is set to
    one thread either way). ``fn`` must be a module-level function; jobs and results must pickle."""
    import torch

    torch.set_num_threads(1)
    if workers <= 1 or len(jobs) <= 1:
        return [fn(job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")  # no fork of a process whose torch thread pool is running
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx, initializer=_worker_init) as pool:
        return list(pool.map(fn, jobs))


def map_after_single_threaded(
    fn: Callable[[Any, list], Any], jobs: Sequence[Any], needs: Sequence[Sequence[int]], workers: int
) -> list:
    """Jobs that read other jobs' results: job i runs as ``fn(jobs[i], [results of the jobs needs[i]])`` once
    those are done; the results in the jobs' order. Every job is single-threaded, as in :func:`map_single_threaded`
    (whose rules apply: module-level ``fn``, picklable jobs and results, and each job seeds what it draws, so the
    numbers do not depend on ``workers``). With ``workers`` > 1, a free worker takes the first ready job in list
    order, so a job starts as soon as what it reads is there instead of after a whole round (three LMs and three
    pairs of them on two workers: three rounds instead of four)."""
    import torch

    torch.set_num_threads(1)
    order = list(range(len(jobs)))
    if any(j >= i for i in order for j in needs[i]):
        raise ValueError("a job may only need jobs listed before it")
    results: list = [None] * len(jobs)
    if workers <= 1 or len(jobs) <= 1:
        for i in order:
            results[i] = fn(jobs[i], [results[j] for j in needs[i]])
        return results
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = multiprocessing.get_context("spawn")
    done: set[int] = set()
    waiting = order
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx, initializer=_worker_init) as pool:
        running: dict[Any, int] = {}
        while waiting or running:
            ready = [i for i in waiting if set(needs[i]) <= done]
            for i in ready[: workers - len(running)]:
                running[pool.submit(fn, jobs[i], [results[j] for j in needs[i]])] = i
                waiting = [k for k in waiting if k != i]
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                i = running.pop(fut)
                results[i] = fut.result()
                done.add(i)
    return results


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # as repro.environment.prepare_torch does in the parent
