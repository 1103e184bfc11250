"""`--executor ray` on a real local Ray cluster (started with `ray start --head` on 127.0.0.1, no dashboard, two
CPUs): results bitwise equal to the local executor's, and a rerun after a killed worker computes only what is
missing."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
RAY = shutil.which("ray", path=str(Path(sys.executable).parent))
SWEEP = [
    "geneft:fig2",
    "geneft:fig4",
    "geneft:fig7",
    "harmonic_loss:fig1",
    "geneft:fig6",
    "harmonic_loss:fig2",
]  # geneft fig6 reads a stage; harmonic fig2 a stage that reads its chunks (one Ray task each)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    assert RAY, "ray is a workspace dependency: run `uv sync`"
    port = _free_port()
    tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths have a length limit
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    start = [RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
             "--num-gpus=0", "--include-dashboard=false", f"--temp-dir={tmp}", "--disable-usage-stats"]  # fmt: skip
    subprocess.run(start, check=True, capture_output=True, env=env, timeout=180)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


def _repro(args, cache: Path, out: Path, **kw):
    env = {**os.environ, "REPRO_CACHE_DIR": str(cache), "REPRO_FIGURES_DIR": str(out), "REPRO_PROGRESS": "0"}
    return subprocess.Popen([sys.executable, "-m", "repro.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)  # fmt: skip


def _results(cache: Path) -> dict[str, dict]:
    """Every cached result, loaded: figure or stage name -> (data, arrays); a stage read at several configs (the
    chunks of a sweep) as ``name@key``."""
    from repro.cache import Cache
    from repro.registry import resolve
    from repro.stage import find_stage

    out = {}
    for manifest in cache.glob("*/*/*/manifest.json"):
        key, unit_dir = manifest.parent.name, manifest.parent.parent
        paper, name = unit_dir.parent.name, unit_dir.name
        if name.startswith("stage-"):
            unit = find_stage(f"{paper}.{name.removeprefix('stage-')}")
        else:
            (unit,) = resolve([f"{paper}:{name}"])
        out.setdefault(unit.name, {})[key] = Cache(cache).load(unit, key)
    return {
        (n if len(by_key) == 1 else f"{n}@{k}"): r for n, by_key in out.items() for k, r in by_key.items()
    }


def _equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (a != a and b != b)  # NaN equals NaN here


def test_ray_results_equal_the_local_executor_bitwise(cluster, tmp_path):
    ray_run = _repro(["all", *SWEEP, "--scale", "smoke", "--executor", "ray", "--ray-address", cluster],
                     tmp_path / "ray-cache", tmp_path / "ray-out")  # fmt: skip
    out, _ = ray_run.communicate(timeout=600)
    assert ray_run.returncode == 0, out
    assert out.count("[ray ") == len(SWEEP), out
    local = _repro(["all", *SWEEP, "--scale", "smoke"], tmp_path / "local-cache", tmp_path / "local-out")
    out_local, _ = local.communicate(timeout=600)
    assert local.returncode == 0, out_local
    assert "[ray] stage geneft.lr_sweep done" in out, out  # the stage was its own task, before fig6's
    from harmonic_loss.stages import SWEEPS
    from harmonic_loss.toy_config import sweep_chunks

    n_chunks = len(sweep_chunks(SWEEPS["smoke"]))
    assert out.count("[ray] stage harmonic_loss.toy_stack done") == n_chunks, out  # a task per chunk
    a, b = _results(tmp_path / "ray-cache"), _results(tmp_path / "local-cache")
    chunks = {n for n in a if n.startswith("harmonic_loss.toy_stack@")}
    assert set(a) == set(b) and len(chunks) == n_chunks
    assert set(a) - chunks == {*SWEEP, "geneft.lr_sweep", "harmonic_loss.toy_sweep"}
    assert all(_equal(a[n], b[n]) for n in a), [n for n in a if not _equal(a[n], b[n])]
    ray_json = json.loads((tmp_path / "ray-out" / "geneft" / "fig2_smoke.json").read_text())
    local_json = json.loads((tmp_path / "local-out" / "geneft" / "fig2_smoke.json").read_text())
    assert ray_json["claims"] == local_json["claims"]


def _task_pid(name: str) -> int | None:
    """The worker process running the Ray task named ``repro <name>`` (Ray sets its process title)."""
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    for line in ps.splitlines():
        pid, _, args = line.strip().partition(" ")
        if f"ray::repro {name}" in args:
            return int(pid)
    return None


def test_a_killed_worker_fails_one_task_and_the_rerun_computes_only_what_is_missing(cluster, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    victim = "distill_features:fig1"
    stage = (
        "distill_features.zoo"  # the slowest smoke compute (it trains tiny LMs): still running when killed
    )
    targets = ["geneft:fig2", "geneft:fig7", victim]
    run = _repro(
        ["all", *targets, "--scale", "smoke", "--executor", "ray", "--ray-address", cluster], cache, out
    )
    deadline, pid = time.time() + 300, None
    while pid is None and time.time() < deadline and run.poll() is None:
        pid = _task_pid(stage)
        time.sleep(0.05)
    assert pid is not None, "the stage's task never started"
    os.kill(pid, signal.SIGKILL)
    first, _ = run.communicate(timeout=600)
    assert run.returncode == 1, first
    # the killed stage fails, and so does the figure that reads it; the others finish
    assert f"[ray] {stage} failed" in first and f"[ray] {victim} failed" in first, first
    assert "rerun the same command" in first
    finished = [n for n in targets if f"] {n} done" in first]
    assert victim not in finished
    rerun = _repro(
        ["all", *targets, "--scale", "smoke", "--executor", "ray", "--ray-address", cluster], cache, out
    )
    second, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, second
    for n in finished:  # restored from the cache, not recomputed
        assert f"] {n} done (cache" in second, second
    assert f"] {victim} done (" in second and f"] {victim} done (cache" not in second
    assert f"[ray] stage {stage} done" in second, second
    assert set(_results(cache)) == {*targets, stage}
