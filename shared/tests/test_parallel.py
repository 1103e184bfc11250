"""repro.parallel: pieces in single-threaded worker processes, results in the jobs' order."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import torch

from repro.parallel import map_after_single_threaded, map_single_threaded, n_workers

# the job function must be importable by name in a spawned worker (a test module is not): a module of its own
PROBE = """
import os, torch
def probe(job):
    return job, torch.get_num_threads(), os.getpid()
def add(job, inputs):
    return job + sum(r for r, _ in inputs), torch.get_num_threads()
"""


def test_workers_are_single_threaded_and_keep_the_order(tmp_path, monkeypatch):
    (tmp_path / "parallel_probe.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers start with the parent's sys.path
    _threads_and_pid = importlib.import_module("parallel_probe").probe
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert n_workers(5, "cpu") == 2 and n_workers(1, "cpu") == 1 and n_workers(5, "cuda") == 1
        out = map_single_threaded(_threads_and_pid, list(range(5)), 2)
        assert [j for j, _, _ in out] == list(range(5))
        assert {t for _, t, _ in out} == {1}
        assert os.getpid() not in {p for _, _, p in out}  # in worker processes
        here = map_single_threaded(_threads_and_pid, [7], 2)  # one job: no pool
        assert here == [(7, 1, os.getpid())]
        # the workers are kept for the next unit (starting them costs seconds), and replaced when the
        # environment they were started in changes
        again = map_single_threaded(_threads_and_pid, list(range(5)), 2)
        assert {p for _, _, p in again} <= {p for _, _, p in out}
        monkeypatch.setenv("REPRO_TEST_POOL_ENV", "1")
        fresh = map_single_threaded(_threads_and_pid, list(range(5)), 2)
        assert not {p for _, _, p in fresh} & {p for _, _, p in out}
    finally:
        torch.set_num_threads(threads)


def test_jobs_that_read_other_jobs_get_their_results(tmp_path, monkeypatch):
    """``map_after_single_threaded``: a job runs with the results of the jobs it needs, in single-threaded workers;
    the same results with one worker or two; a need on a later job is refused."""
    import pytest

    (tmp_path / "parallel_probe.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    add = importlib.import_module("parallel_probe").add
    jobs, needs = [1, 10, 100, 1000], [(), (), (0, 1), (2, 0)]
    here = map_after_single_threaded(add, jobs, needs, 1)
    assert [r for r, _ in here] == [1, 10, 111, 1112]
    assert map_after_single_threaded(add, jobs, needs, 2) == here and {t for _, t in here} == {1}
    with pytest.raises(ValueError, match="listed before"):
        map_after_single_threaded(add, [1, 2], [(1,), ()], 2)


def test_unit_threads_are_capped_at_the_jobs_share_of_the_cores(monkeypatch):
    """A 2-thread unit under ``--jobs 2`` on 2 cores gets one thread (its jobs then run in turn, same numbers);
    alone it gets its two; ``REPRO_THREADS`` overrides both."""
    from types import SimpleNamespace

    from repro.environment import CPU_BUDGET_ENV, unit_threads

    two, one = SimpleNamespace(cpu_threads=2), SimpleNamespace(cpu_threads=1)
    monkeypatch.delenv("REPRO_THREADS", raising=False)
    monkeypatch.delenv(CPU_BUDGET_ENV, raising=False)
    assert unit_threads(two) == 2 and unit_threads(one) == 1
    monkeypatch.setenv(CPU_BUDGET_ENV, "1")
    assert unit_threads(two) == 1 and unit_threads(one) == 1
    monkeypatch.setenv(CPU_BUDGET_ENV, "8")
    assert unit_threads(two) == 2 and unit_threads(one) == 1  # a budget never adds threads
    monkeypatch.setenv("REPRO_THREADS", "3")
    assert unit_threads(two) == 3


def test_pool_workers_exit_when_their_parent_is_killed(tmp_path):
    """The pool outlives a unit, so its idle workers must go with a killed parent (an OOM kill, a CI timeout)."""
    import signal
    import subprocess
    import sys

    from processes import outlive

    (tmp_path / "parallel_probe.py").write_text(PROBE)
    parent = tmp_path / "parent.py"
    parent.write_text(
        "import sys, time, torch\n"
        "from parallel_probe import probe\n"
        "from repro.parallel import map_single_threaded\n"
        "if __name__ == '__main__':\n"
        "    torch.set_num_threads(2)\n"
        "    print(len(map_single_threaded(probe, list(range(8)), 2)), flush=True)\n"
        "    time.sleep(120)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(parent)], stdout=subprocess.PIPE, text=True, env=env)
    proc.stdout.readline()  # the jobs are done: both workers started
    # every process it started (the workers, also one that ran no job, and multiprocessing's resource tracker)
    workers = [int(w) for w in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    assert len(workers) >= 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    alive = outlive(workers, 20)
    assert not alive, f"pool workers {sorted(alive)} outlived their killed parent by 20 s"
