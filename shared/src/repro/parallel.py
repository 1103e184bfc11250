"""Independent pieces of one stage or figure in worker processes, each single-threaded, so its numbers do not depend
on how many run at once.

A unit (stage or figure) that declares ``cpu_threads=k`` runs with k torch threads. Intra-op threads help only
the larger GEMMs of these papers' small stacked models (most steps are dispatch-bound), and a result could then
depend on the thread count; independent pieces of the work (one stack per optimiser, per depth, per replicate) in
k single-threaded processes keep the k cores busy and give the same numbers with 1 worker or 8. The pieces are fixed
by the computation, never by the worker count: that is what keeps the numbers independent of it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Future


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
    return list(_single_threaded_pool(min(workers, len(jobs))).map(fn, jobs))


def map_after_single_threaded(
    fn: Callable[[Any, list], Any], jobs: Sequence[Any], needs: Sequence[Sequence[int]], workers: int
) -> list:
    """Jobs that read other jobs' results: job i runs as ``fn(jobs[i], [results of the jobs needs[i]])`` once
    those are done; the results in the jobs' order. Every job is single-threaded, as in :func:`map_single_threaded`
    (whose rules apply: module-level ``fn``, picklable jobs and results, and each job seeds what it draws, so the
    numbers do not depend on ``workers``). With ``workers`` > 1, a free worker takes the first ready job in list
    order (:func:`run_when_ready`), so a job starts as soon as what it reads is there instead of after a whole round
    (three LMs and three pairs of them on two workers: three rounds instead of four)."""
    import torch

    torch.set_num_threads(1)
    if any(j >= i for i in range(len(jobs)) for j in needs[i]):
        raise ValueError("a job may only need jobs listed before it")
    results: list = [None] * len(jobs)
    if workers <= 1 or len(jobs) <= 1:
        for i in range(len(jobs)):
            results[i] = fn(jobs[i], [results[j] for j in needs[i]])
        return results
    pool = _single_threaded_pool(min(workers, len(jobs)))
    ready_jobs = run_when_ready(
        range(len(jobs)),
        needs=lambda i: needs[i],
        submit=lambda i: pool.submit(fn, jobs[i], [results[j] for j in needs[i]]),
        limit=workers,
    )
    for i, result in ready_jobs:
        results[i] = result
    return results


def run_when_ready(
    jobs: Iterable[Any],
    needs: Callable[[Any], Collection[Hashable]],
    submit: Callable[[Any], Future],
    limit: int,
    key: Callable[[Any], Hashable] = lambda job: job,
    priority: Callable[[Any], Any] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(job, result)`` as jobs finish. A job is submitted (``submit(job)``, a future of a pool the caller
    owns) once every key in ``needs(job)`` is the ``key`` of a finished job, at most ``limit`` at once; ready jobs go
    in list order, or by ``priority`` (smallest first; ties in list order). The caller handles each result before
    the next submission, so a job can read what the jobs it needs returned. ``repro run --jobs`` schedules stages
    and figures with it, :func:`map_after_single_threaded` the jobs of one unit."""
    from concurrent.futures import FIRST_COMPLETED, wait

    waiting, running, done = list(jobs), {}, set()
    while waiting or running:
        ready = [j for j in waiting if all(k in done for k in needs(j))]
        if priority is not None:
            ready.sort(key=priority)
        for job in ready[: limit - len(running)]:
            waiting.remove(job)
            running[submit(job)] = job
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for fut in finished:
            job = running.pop(fut)
            result = fut.result()
            done.add(key(job))
            yield job, result


_POOL: dict[tuple, Any] = {}  # the process's one worker pool, under the key it was started with


def _single_threaded_pool(workers: int) -> Any:
    """``workers`` spawned processes, each set to one torch thread with flush-to-zero, kept for the life of this
    process: a fresh two-worker pool whose jobs import transformers took 4.7 s to return its first results (spawn,
    then imports), paid again by every unit of a run (graph_universality's quick figures start seven). Jobs
    seed what they draw, so a worker's earlier jobs do not change its later ones. A pool started under another
    working directory, ``sys.path`` or environment (a test's ``monkeypatch``), or broken by a dead worker, is
    replaced."""
    import multiprocessing
    import os
    import sys
    from concurrent.futures import ProcessPoolExecutor

    key = (workers, os.getcwd(), tuple(sys.path), tuple(sorted(os.environ.items())))
    pool = _POOL.get(key)
    if pool is None or getattr(pool, "_broken", False):
        for old in _POOL.values():
            old.shutdown(wait=False, cancel_futures=True)
        _POOL.clear()
        ctx = multiprocessing.get_context("spawn")  # no fork of a process whose torch thread pool is running
        pool = _POOL[key] = ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
        )
    return pool


def exit_with_parent(parent: int | None = None) -> None:
    """In a worker process (of ``--jobs``, or :func:`_single_threaded_pool`'s): exit once the process that started it
    is gone. Ctrl-C reaches the whole process group, but a parent killed on its own (``kill PID``, an OOM kill, a CI
    timeout) would leave its workers computing for nobody, or idle and holding their memory, on the cores the next
    run needs. ``parent``: the starting process's pid, passed in by it (default: this process's parent now): a worker
    whose parent died while it was still importing would otherwise watch the process it was re-parented to."""
    import os
    import threading
    import time

    parent = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)  # cache writes are atomic: what it was writing never appears

    threading.Thread(target=watch, name="repro-exit-with-parent", daemon=True).start()


def _worker_init(parent: int) -> None:
    import torch

    # the pool outlives a unit: an idle worker must not outlive a killed parent either
    exit_with_parent(parent)
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # as repro.environment.prepare_torch does in the parent
