"""A real ``repro`` process over the toy paper, for the fault-injection tests (tests/test_faults.py).

    python fault_driver.py SRC cli ARGS...         the repro CLI, with the toy figures (SRC/toypaper) registered
    python fault_driver.py SRC kills N SEED ROOT   SIGKILL N forked writers at random points of fig1's store, each
                                                   followed by an uninterrupted rerun on the same cache; a JSON
                                                   summary goes to ROOT/summary.json

Fault injection without a tiny file system (not root, or mount not permitted): ``FAULT_ERRNO`` and ``FAULT_PREFIX``
make every open-for-writing and mkdir under the prefix fail with that errno, at the os/io boundary (``open``,
``os.open``, ``os.mkdir``); the code under test runs unchanged above it.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import signal
import sys
from pathlib import Path


def install_injector() -> None:
    prefix, code = os.environ.get("FAULT_PREFIX"), os.environ.get("FAULT_ERRNO")
    if not prefix or not code:
        return
    n = int(code)
    real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir

    def hit(path) -> bool:
        try:
            return os.path.abspath(os.fsdecode(path)).startswith(prefix)
        except TypeError:  # a file descriptor
            return False

    def fail(path):
        raise OSError(n, os.strerror(n), os.fsdecode(path))

    def open_(file, mode="r", *a, **k):
        if hit(file) and any(c in mode for c in "wax+"):
            fail(file)
        return real_open(file, mode, *a, **k)

    def os_open(path, flags, *a, **k):
        if hit(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            fail(path)
        return real_os_open(path, flags, *a, **k)

    def mkdir(path, *a, **k):
        if hit(path):
            fail(path)
        return real_mkdir(path, *a, **k)

    builtins.open = io.open = open_
    os.open, os.mkdir = os_open, mkdir


def register_toy(src: str):
    sys.path.insert(0, src)
    from toypaper.figures import fig1, fig2, fig3

    from repro import registry

    figs = (fig1.FIGURE, fig2.FIGURE, fig3.FIGURE)
    registry.all_figures = lambda: figs
    return figs


def plain(result):
    """A result as JSON-able data (arrays as lists), to compare runs exactly."""
    import numpy as np

    if isinstance(result, dict):
        return {k: plain(v) for k, v in result.items()}
    if isinstance(result, list):
        return [plain(v) for v in result]
    if isinstance(result, np.ndarray):
        return {"dtype": str(result.dtype), "data": result.tolist()}
    return result


def kills(n: int, seed: int, root: str) -> None:
    import random

    import torch  # noqa: F401 - imported once here, so each forked writer starts at once

    from repro.cache import Cache

    fig = register_toy(os.environ["TOY_SRC"])[0]
    cfg = fig.config("smoke")
    ops = {
        "open",
        "os.rename",
        "os.mkdir",
        "os.remove",
        "os.rmdir",
        "shutil.rmtree",
        "os.chmod",
        "os.truncate",
    }

    def writer(cache_dir: str, kill_at: int, out: str) -> int:
        """Fork a process that computes and stores fig1 into ``cache_dir`` (killing itself with SIGKILL before
        its ``kill_at``-th file operation in the cache, if given); returns its wait status."""
        pid = os.fork()
        if pid == 0:
            try:
                signal.alarm(120)  # a writer blocked by an orphaned lock would die here, not hang the suite
                count = [0]

                def hook(event, args):
                    if (
                        event in ops
                        and args
                        and isinstance(args[0], str | bytes | os.PathLike)
                        and os.fsdecode(args[0]).startswith(cache_dir)
                    ):
                        count[0] += 1
                        if count[0] == kill_at:
                            os.kill(os.getpid(), signal.SIGKILL)

                sys.addaudithook(hook)
                result, _, restored, _ = Cache(cache_dir).get_or_compute(
                    fig, cfg, "smoke", fig.compute, log=lambda m: None
                )
                with open(out, "w") as fh:
                    json.dump({"result": plain(result), "restored": restored, "events": count[0]}, fh)
                os._exit(0)
            except BaseException:
                import traceback

                traceback.print_exc()
                os._exit(3)
        return os.waitpid(pid, 0)[1]

    status = writer(f"{root}/reference/cache", 0, f"{root}/reference.json")
    assert status == 0, status
    reference = json.loads(Path(f"{root}/reference.json").read_text())
    total = reference["events"]
    rng = random.Random(seed)
    points = rng.sample(range(1, total + 1), n) if total >= n else [rng.randint(1, total) for _ in range(n)]
    trials = []
    for i, k in enumerate(points):
        cache_dir = f"{root}/trial{i}/cache"
        killed = writer(cache_dir, k, f"{root}/trial{i}/killed.json")
        rerun = writer(cache_dir, 0, f"{root}/trial{i}/rerun.json")
        entry = None
        if rerun == 0:
            entry = json.loads(Path(f"{root}/trial{i}/rerun.json").read_text())
        trials.append(
            {
                "kill_at": k,
                "killed_by_sigkill": os.WIFSIGNALED(killed) and os.WTERMSIG(killed) == signal.SIGKILL,
                "rerun_status": rerun,
                "rerun": entry,
                "cache": cache_dir,
            }
        )
    with open(f"{root}/summary.json", "w") as fh:
        json.dump({"events": total, "reference": reference, "trials": trials}, fh)


def main() -> int:
    src, mode, *rest = sys.argv[1:]
    os.environ["TOY_SRC"] = src
    if mode == "kills":
        kills(int(rest[0]), int(rest[1]), rest[2])
        return 0
    install_injector()
    register_toy(src)
    from repro.cli import main as repro_main

    return repro_main(rest)


if __name__ == "__main__":
    sys.exit(main())
