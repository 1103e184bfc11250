"""Where a run's compute happens: here (the default: in-process, or ``--jobs N`` local processes) or on a Ray
cluster (``--executor ray``), with no scheduler of our own.

On Ray, each uncached stage the figures read (``repro.stage``) and each figure's compute is one Ray task that
declares the CPUs (``cpu_threads``) and GPUs (one where its device at that scale is ``cuda``) it needs; a task
takes the tasks of the stages it reads as arguments, so Ray itself orders them (a stage read by several figures is
one task) and places them. The task computes into the
content-addressed cache, which on a cluster is a shared filesystem path (``REPRO_CACHE_DIR`` on every node), and
returns only its key and timings: results never travel through Ray's object store. The driver then restores each
result, plots and evaluates claims locally. A rerun after a lost worker finds the finished results in the cache and
computes only what is missing; two tasks that need one result (a figure built on another's sweep) compute it once,
under the cache's key lock, as two local processes would.

Cluster set-up is Ray's own: ``ray start --head`` on one machine and ``ray start --address=HEAD:6379`` on the others,
Ray's SLURM recipe (``sbatch`` a script that starts the head on the first node and workers on the rest), or KubeRay's
``RayCluster`` on Kubernetes; then ``repro all --scale paper --executor ray --ray-address HEAD:6379``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from repro.figure import Figure, ReproError

EXECUTORS = ("local", "ray")


class TasksFailed(ReproError):
    """Some tasks did not finish (a worker died): the CLI exits 1, not 2 (the input was fine)."""


def _compute_remote(
    name: str,
    scale: str,
    variant: str | None,
    overrides: Mapping[str, str],
    force: bool,
    cache_dir: str,
    *upstream: Any,
) -> dict[str, Any]:
    """The body of one figure's Ray task: compute (or find) its result in the shared cache. Ray starts it once the
    tasks of the stages it reads (``upstream``) have finished."""
    os.environ["REPRO_PROGRESS"] = "0"
    from repro.cache import Cache
    from repro.registry import resolve

    (fig,) = resolve([name])
    cfg = fig.config(scale, variant if variant in fig.variants else None, dict(overrides) or None)
    t0 = time.perf_counter()
    messages: list[str] = []
    _, key, restored, seconds = Cache(Path(cache_dir)).get_or_compute(
        fig, cfg, scale, fig.compute, force=force, log=messages.append, force_stages=False
    )
    import socket

    return {
        "name": name,
        "key": key,
        "restored": restored,
        "compute_seconds": seconds,
        "task_seconds": time.perf_counter() - t0,
        "node": socket.gethostname(),
        "log": messages,
    }


def _compute_stage_remote(
    name: str, cfg: Any, scale: str, force: bool, cache_dir: str, *upstream: Any
) -> str:
    """The body of one stage's Ray task (``upstream``: the finished tasks of the stages it reads)."""
    os.environ["REPRO_PROGRESS"] = "0"
    from repro.cache import Cache
    from repro.stage import compute_stage, find_stage

    return compute_stage(find_stage(name), cfg, scale, Cache(Path(cache_dir)), force, force_stages=False)[1]


def _submit_stages(ray: Any, figs: list[Figure], cfgs: list[Any], scale: str, force: bool, cache_dir: Path):
    """One Ray task per uncached stage (all of them under ``force``), each taking the tasks of the stages it
    reads as arguments; returns (refs per figure, stage task refs -> name)."""
    from repro.cache import Cache, cache_key

    cache, task = Cache(cache_dir), ray.remote(max_retries=0)(_compute_stage_remote)
    refs: dict[str, Any] = {}
    names: dict[Any, str] = {}

    def submit(st: Any, cfg: Any) -> Any | None:
        key = cache_key(st, cfg)
        if key not in refs:
            up = [
                r
                for n in st.needs.values()
                for sub in n.configs(cfg, scale)
                if (r := submit(n.stage, sub)) is not None
            ]
            cached = cache.has_entry(st, key)
            refs[key] = (
                None
                if cached and not up and not force
                else task.options(name=f"repro {st.name}", **resources(st, scale)).remote(
                    st.name, cfg, scale, force, str(cache_dir), *up
                )
            )
            if refs[key] is not None:
                names[refs[key]] = st.name
        return refs[key]

    per_fig = [
        [
            r
            for n in f.needs.values()
            for sub in n.configs(c, scale)
            if (r := submit(n.stage, sub)) is not None
        ]
        for f, c in zip(figs, cfgs, strict=True)
    ]
    return per_fig, names


def resources(fig: Any, scale: str) -> dict[str, float]:
    """What one figure's or stage's compute asks Ray for at ``scale``."""
    return {"num_cpus": float(fig.cpu_threads), "num_gpus": 1.0 if fig.device.get(scale) == "cuda" else 0.0}


def compute_on_ray(
    figs: list[Figure],
    scale: str,
    variant: str | None,
    overrides: Mapping[str, str],
    force: bool,
    address: str | None,
    cache_dir: Path,
) -> list[dict[str, Any]]:
    """Submit every figure's compute as a Ray task and wait; one line per finished task. A task whose worker died
    is reported in one line; the finished results stay cached, so the same command resumes."""
    from repro.progress import status

    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        raise ReproError(
            "--executor ray needs a cluster: pass --ray-address HOST:PORT or set RAY_ADDRESS "
            "(start one with `uv run ray start --head`)"
        )
    try:
        import ray
    except ImportError:  # pragma: no cover - ray is a dependency of the workspace
        raise ReproError("--executor ray needs Ray: run `uv sync` (it installs ray)") from None
    try:
        ray.init(address=address, log_to_driver=False, include_dashboard=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ReproError(
            f"cannot reach the Ray cluster at {address} ({e}); is `ray start --head` running?"
        ) from None
    try:
        task = ray.remote(max_retries=0)(_compute_remote)
        cfgs = [
            f.config(scale, variant if variant in f.variants else None, dict(overrides) or None) for f in figs
        ]
        upstream, stage_names = _submit_stages(ray, figs, cfgs, scale, force, Path(cache_dir))
        pending = dict(stage_names)
        for f, up in zip(figs, upstream, strict=True):
            ref = task.options(name=f"repro {f.name}", **resources(f, scale)).remote(
                f.name, scale, variant, dict(overrides), force, str(cache_dir), *up
            )
            pending[ref] = f.name
        done, failed = [], []
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                name = pending.pop(ref)
                try:
                    info = ray.get(ref)
                except ray.exceptions.RayError as e:
                    failed.append(name)
                    status(f"[ray] {name} failed: {type(e).__name__} (its worker died or raised)")
                    continue
                if name in stage_names.values() and isinstance(info, str):
                    status(f"[ray] stage {name} done ({info})")
                    continue
                done.append(info)
                how = "cache" if info["restored"] else f"{info['compute_seconds']:.1f}s compute"
                status(
                    f"[ray {len(done) + len(failed)}/{len(figs)}] {name} done ({how}, node {info['node']})"
                )
        if failed:
            raise TasksFailed(
                f"{len(failed)} task(s) failed on the Ray cluster ({', '.join(failed)}); finished results are "
                "cached: rerun the same command to compute only what is missing"
            )
        return done
    finally:
        ray.shutdown()
