"""Fault injection with real processes and real files: SIGKILL in the middle of a store, a killed lock holder,
four concurrent processes on one cache, a full / read-only / forbidden file system under the cache, the output and
an artifact folder, a machine without the GPU a figure needs, and a cache written by older code.

Full and read-only file systems are real tiny tmpfs mounts where the tests run as root and may mount (CI); elsewhere
the same errno is injected at the os/io boundary of a real subprocess (``fault_driver.install_injector``). Root
ignores file permissions, so EACCES is always injected that way. Nothing is skipped: each case says which it used.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "fault_driver.py"
COUNTS = {"runs killed": 0, "faults injected": 0, "results compared": 0, "lost": 0}


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print("\nfault-injection counts: " + ", ".join(f"{k} {v}" for k, v in COUNTS.items()))


def drive(toy, *argv, env=None, timeout=240):
    """``repro ARGV`` in a fresh process over the toy paper; returns (rc, stdout, stderr)."""
    full_env = {**os.environ, **(env or {})}
    r = subprocess.run(
        [sys.executable, str(DRIVER), str(toy.pkg.parent), "cli", *argv],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    return r.returncode, r.stdout, r.stderr


def one_line_error(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("repro: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def claims_of(out_dir: Path, name: str = "fig1") -> list:
    report = json.loads((out_dir / "toypaper" / f"{name}.json").read_text())
    return [(c["statement"], c.get("variant"), c["measured"]) for c in report["claims"]]


def compare(a, b) -> None:
    COUNTS["results compared"] += 1
    if a != b:
        COUNTS["lost"] += 1
    assert a == b


# ------------------------------------------------------------------------------------------- file systems
def _can_mount() -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    probe = Path(f"/tmp/repro-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(probe)]).returncode == 0
        if ok:
            subprocess.run(["umount", str(probe)], check=True)
        return ok
    finally:
        probe.rmdir()


CAN_MOUNT = _can_mount()


@contextlib.contextmanager
def faulty_dir(tmp_path: Path, code: int):
    """A folder where writes fail with ``code``: (folder, env for the process, how, heal()).

    ENOSPC: a 64 KB tmpfs filled so that exactly one page is left (the early probe and the lock pass, the entry,
    figure or weights do not). EROFS: a read-only tmpfs. Otherwise, or without mount: the errno injected."""
    d = tmp_path / f"fs-{errno.errorcode[code]}"
    d.mkdir()
    mounted = False
    try:
        if CAN_MOUNT and code in (errno.ENOSPC, errno.EROFS):
            opts = "size=64k" + (",ro" if code == errno.EROFS else "")
            subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(d)], check=True)
            mounted = True
            filler = d / "filler"
            if code == errno.ENOSPC:
                fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * 4096)
                os.close(fd)
                os.truncate(filler, max(filler.stat().st_size - 4096, 0))

            def heal():
                if code == errno.ENOSPC:
                    filler.unlink()
                else:
                    subprocess.run(["mount", "-o", "remount,rw", str(d)], check=True)

            yield d, {}, "tmpfs", heal
        else:
            env = {"FAULT_ERRNO": str(code), "FAULT_PREFIX": str(d) + os.sep}
            yield d, env, "injected", lambda: None
    finally:
        COUNTS["faults injected"] += 1
        if mounted:
            subprocess.run(["umount", "-l", str(d)], check=False)


def _targets(d: Path) -> dict[str, Path]:
    # "x..." so that the injector's prefix (d/x) covers them and not the probe in d itself
    return {"cache": d / "xcache", "output": d / "xout", "artifact": d / "xart"}


CODES = [errno.ENOSPC, errno.EACCES, errno.EROFS]


@pytest.mark.parametrize("where", ["cache", "output", "artifact"])
@pytest.mark.parametrize("code", CODES, ids=[errno.errorcode[c] for c in CODES])
def test_os_failure_is_one_line_naming_the_path_and_nothing_is_left_half_written(toy, tmp_path, where, code):
    from repro.cli import main

    good_out = tmp_path / "good-out"
    assert main(["toypaper:fig1", "--out", str(good_out)]) == 0  # the reference, in this process
    reference = claims_of(good_out)
    with faulty_dir(tmp_path, code) as (d, env, how, heal):
        target = _targets(d)[where]
        env = dict(env)
        cache = Path(os.environ["REPRO_CACHE_DIR"])
        if where == "cache":
            cache = target
            env["REPRO_CACHE_DIR"] = str(cache)
        argv = ["toypaper:fig1", "--out", str(target if where == "output" else tmp_path / "out2")]
        if where == "artifact":
            env["TOY_ARTIFACT"] = str(target)
            argv.append("--force")
        if how == "injected" and where == "cache":
            # the early probe and the lock pass; the entry's folder and files fail (in the middle of the store)
            env["FAULT_PREFIX"] = str(cache / "toypaper")
        rc, out, err = drive(toy, *argv, env=env)
        line = one_line_error(err)
        assert rc == 1, err
        assert str(d) in line, line
        assert {
            errno.ENOSPC: "no space left",
            errno.EACCES: "permission denied",
            errno.EROFS: "read-only",
        }[code] in line
        fix = {"cache": "REPRO_CACHE_DIR", "output": "--out", "artifact": "free space|writable|read-only"}[
            where
        ]
        assert any(f in line for f in fix.split("|")), line
        # nothing half-written: no entry, no temporary folder or file anywhere under the faulty folder
        written = [p for p in d.rglob("*") if p.is_file() and p.name != "filler" and ".locks" not in p.parts]
        assert written == [], written
        if where == "cache":
            entries = list((cache / "toypaper" / "fig1").glob("*")) if (cache / "toypaper").exists() else []
            assert entries == [], entries
        heal()
        env.pop("FAULT_ERRNO", None)
        env.pop("FAULT_PREFIX", None)
        rc, _, err = drive(toy, *argv[:-1] if where == "artifact" else argv, env=env)
        assert rc == 0, (how, err)
        compare(claims_of(Path(argv[2])), reference)


def test_out_pointing_at_a_file_is_one_line(toy, tmp_path):
    f = tmp_path / "a-file"
    f.write_text("not a folder")
    rc, _, err = drive(toy, "toypaper:fig1", "--out", str(f))
    line = one_line_error(err)
    assert rc == 1 and str(f) in line and "--out" in line and "not a folder" in line
    assert toy.calls() == 0, "stopped before computing"
    assert f.read_text() == "not a folder"
    COUNTS["faults injected"] += 1


def test_out_that_cannot_be_created_is_one_line(toy, tmp_path):
    """An OS failure guard() has no fix for (here a symlink loop, ELOOP; /proc gives ENOENT) is still one line."""
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    out = loop / "results"
    rc, _, err = drive(toy, "toypaper:fig1", "--out", str(out))
    line = one_line_error(err)
    assert rc == 1 and str(out) in line and "--out" in line and "cannot be created" in line
    assert toy.calls() == 0, "stopped before computing"
    COUNTS["faults injected"] += 1


def test_bad_set_values_are_one_line_before_or_after_computing(toy, tmp_path):
    """Values the parser cannot check alone: an empty list where every scale has values, a variant the figure lacks
    (both stop before computing), and one the config accepts but the computation cannot use (a negative seed: the
    line names the override; REPRO_TRACEBACK=1 gives the traceback)."""
    out = str(tmp_path / "out")
    for value, words in (
        ("seeds=", "leaves seeds empty"),
        ("variants=nope", "one or more of official, fixed"),
    ):
        rc, _, err = drive(toy, "toypaper:fig1", "--set", value, "--out", out)
        line = one_line_error(err)
        assert rc == 2 and words in line, line
    assert toy.calls() == 0, "stopped before computing"
    rc, _, err = drive(toy, "toypaper:fig1", "--set", "seeds=-1", "--out", out)
    line = one_line_error(err)
    assert rc == 2 and "--set seeds=-1" in line and "ValueError" in line, line
    rc, _, err = drive(toy, "toypaper:fig1", "--set", "seeds=-1", "--out", out, env={"REPRO_TRACEBACK": "1"})
    assert rc != 0 and "Traceback" in err
    COUNTS["faults injected"] += 1


# ------------------------------------------------------------------------------------------- SIGKILL
def test_sigkill_at_random_points_of_a_store_then_a_rerun_is_identical(toy, tmp_path):
    n = 20
    r = subprocess.run(
        [sys.executable, str(DRIVER), str(toy.pkg.parent), "kills", str(n), "21", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["events"] >= 10, summary["events"]  # lock, lookup, temporary folder, files, renames...
    reference = summary["reference"]["result"]
    for t in summary["trials"]:
        assert t["killed_by_sigkill"], t
        COUNTS["runs killed"] += 1
        assert t["rerun_status"] == 0, f"the rerun after a kill at operation {t['kill_at']} failed or hung"
        compare(t["rerun"]["result"], reference)
    from repro.cache import Cache

    # the lock files of the killed writers stay behind and block nothing; their temporary folders are found
    # by `repro doctor` and removed by `repro clean --corrupt`
    fig = toy.fig
    left = 0
    for t in summary["trials"]:
        cache = Cache(Path(t["cache"]))
        left += len(cache.leftovers(fig))
        cache.clean_corrupt([fig])
        assert cache.leftovers(fig) == [] and cache.unheld_locks() == []
        assert len(cache.entries(fig)) == 1
    print(
        f"\n{n} writers killed at operations {sorted(t['kill_at'] for t in summary['trials'])}, "
        f"of {summary['events']}; {left} left a temporary folder"
    )


def test_killing_the_lock_holder_lets_the_waiting_process_compute(toy, tmp_path):
    """A holds the key's lock (computing, slow); B waits on it; A is SIGKILLed; B computes and stores."""
    outs = {k: tmp_path / f"out-{k}" for k in "AB"}
    a = subprocess.Popen(
        [sys.executable, str(DRIVER), str(toy.pkg.parent), "cli", "toypaper:fig1", "--out", str(outs["A"])],
        env={**os.environ, "TOY_SLEEP": "600"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        calls = Path(os.environ["TOY_CALLS"])
        while "call" not in calls.read_text():  # A is inside compute, holding the lock
            assert a.poll() is None, a.stderr.read()
            subprocess.run(["sleep", "0.1"])
        b = subprocess.Popen(
            [
                sys.executable,
                str(DRIVER),
                str(toy.pkg.parent),
                "cli",
                "toypaper:fig1",
                "--out",
                str(outs["B"]),
            ],
            env={**os.environ, "TOY_SLEEP": "0"},
            stderr=subprocess.PIPE,
            text=True,
        )
        seen = ""
        while "waiting: another process" not in seen:
            ln = b.stderr.readline()
            assert ln or b.poll() is None, seen
            seen += ln
        a.kill()
        a.wait()
        COUNTS["runs killed"] += 1
        rest = b.communicate(timeout=240)[1]
        assert b.returncode == 0, seen + rest
    finally:
        if a.poll() is None:
            a.kill()
    assert toy.calls() == 2  # A's compute (killed) and B's
    rc, _, err = drive(toy, "toypaper:fig1", "--out", str(tmp_path / "out-C"))
    assert rc == 0 and "restored" in err and toy.calls() == 2
    compare(claims_of(outs["B"]), claims_of(tmp_path / "out-C"))


# ------------------------------------------------------------------------------------------- concurrency
def test_four_processes_over_three_overlapping_figures_compute_each_once(toy, tmp_path):
    jobs = [["fig1", "fig2"], ["fig2", "fig3"], ["fig3", "fig1"], ["fig1", "fig2", "fig3"]]
    procs = []
    for i, figs in enumerate(jobs):
        argv = [f"toypaper:{f}" for f in figs] + ["--out", str(tmp_path / f"out{i}")]
        procs.append(
            subprocess.Popen(
                [sys.executable, str(DRIVER), str(toy.pkg.parent), "cli", *argv],
                env={**os.environ, "TOY_SLEEP": "1"},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = [p.communicate(timeout=280) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    assert (toy.calls(), toy.calls2(), toy.calls3()) == (1, 1, 1), results
    for name in ("fig1", "fig2", "fig3"):
        outs = [tmp_path / f"out{i}" for i, figs in enumerate(jobs) if name in figs]
        for other in outs[1:]:
            compare(claims_of(other, name), claims_of(outs[0], name))


# ------------------------------------------------------------------------------------------- device gate
def test_a_cuda_figure_on_a_machine_without_one_stops_before_computing(toy, tmp_path):
    env = {"CUDA_VISIBLE_DEVICES": ""}
    rc, _, err = drive(toy, "toypaper:fig3", "--scale", "paper", env=env)
    line = one_line_error(err)
    assert rc == 2 and "needs a cuda GPU" in line and "30min" in line and "--device cpu" in line, line
    assert toy.calls3() == 0
    rc, _, err = drive(toy, "toypaper:fig3", "--scale", "paper", "--device", "cpu", env=env)
    assert rc == 0, err
    assert "running on cpu as asked" in err
    report = json.loads(
        (Path(os.environ["REPRO_FIGURES_DIR"]) / "toypaper" / "fig3_paper_cpu.json").read_text()
    )
    assert report["config"]["device"] == "cpu" and report["environment"]["requested_device"] == "cpu"
    # the CPU result is cached apart from the cuda config's: the same command restores it
    rc, _, err = drive(toy, "toypaper:fig3", "--scale", "paper", "--device", "cpu", env=env)
    assert rc == 0 and "restored" in err


def test_the_real_paper_scale_gate_names_its_estimate():
    from repro.cli import _fmt_seconds
    from repro.registry import resolve
    from repro.stage import estimated_seconds

    (fig,) = resolve(["distill_features:fig1"])
    expect = f"distill_features:fig1 (~{_fmt_seconds(estimated_seconds(fig, 'paper'))})"  # the zoo stage's estimate
    r = subprocess.run(
        [sys.executable, "-m", "repro.cli", "distill_features", "fig1", "--scale", "paper"],
        capture_output=True,
        text=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        timeout=240,
    )
    line = one_line_error(r.stderr)
    assert r.returncode == 2 and expect in line and "--device cpu" in line


# ------------------------------------------------------------------------------------------- progress in logs
def test_progress_prints_plain_lines_when_stderr_is_a_log(toy):
    env = {"REPRO_PROGRESS": "1", "REPRO_PROGRESS_INTERVAL": "0.2", "TOY_SLEEP": "2"}
    rc, _, err = drive(toy, "toypaper:fig1", env=env)
    assert rc == 0, err
    beats = [ln for ln in err.splitlines() if "[toypaper:fig1 quick] computing: elapsed" in ln]
    assert beats, err
    assert "remaining" in beats[-1]


def test_track_prints_step_n_of_n_in_plain_mode(monkeypatch, capsys):
    from repro import progress

    monkeypatch.setenv("REPRO_PROGRESS", "plain")
    monkeypatch.setenv("REPRO_PROGRESS_INTERVAL", "0")
    assert list(progress.track(range(3), "toy loop")) == [0, 1, 2]
    err = capsys.readouterr().err
    assert "toy loop: step 3/3, elapsed" in err and "remaining" in err


# ------------------------------------------------------------------------------------------- older code, doctor
def test_a_cache_of_older_code_is_recomputed_never_served(toy, capsys):
    from repro.cli import main

    assert main(["toypaper:fig1"]) == 0
    lib = toy.pkg / "lib.py"
    lib.write_text(lib.read_text().replace("1e-3", "5e-3"))  # the code that wrote the cache is now older
    capsys.readouterr()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "stale:" in out and "older code (toypaper/lib.py)" in out and "1 stale" in out
    assert main(["check", "toypaper:fig1"]) == 0  # check recomputes: the older entry is never served
    assert toy.calls() == 2 and "code changed (toypaper/lib.py)" in capsys.readouterr().err
    assert main(["toypaper:fig1"]) == 0 and toy.calls() == 2
    assert main(["clean", "--stale"]) == 0 and "removed 1 entr" in capsys.readouterr().out
    assert main(["toypaper:fig1"]) == 0 and toy.calls() == 2, "the current entry is kept"
    COUNTS["faults injected"] += 1


def test_doctor_list_and_clean_corrupt_report_quarantined_entries(toy, capsys):
    from repro import paths
    from repro.cli import main

    assert main(["toypaper:fig1"]) == 0
    (entry,) = [p for p in (paths.cache_dir() / "toypaper" / "fig1").iterdir() if p.is_dir()]
    (entry / "arrays.npz").write_bytes(b"truncated")
    assert main(["doctor"]) == 1
    assert "corrupt:" in capsys.readouterr().out
    assert main(["toypaper:fig1"]) == 0  # moved aside and recomputed
    capsys.readouterr()
    assert main(["list"]) == 0
    assert "1 corrupt cache entry moved aside" in capsys.readouterr().out
    assert main(["doctor"]) == 1 and "quarantined:" in capsys.readouterr().out
    assert main(["clean", "--corrupt"]) == 0
    capsys.readouterr()
    assert main(["doctor"]) == 0
    assert "1 entr(ies) current and intact, 0 corrupt" in capsys.readouterr().out
    assert main(["list"]) == 0 and "moved aside" not in capsys.readouterr().out
    COUNTS["faults injected"] += 1


def test_peak_memory_is_recorded_and_listed(toy, capsys):
    from repro.cli import main

    assert main(["toypaper:fig1"]) == 0
    report = json.loads((Path(os.environ["REPRO_FIGURES_DIR"]) / "toypaper" / "fig1.json").read_text())
    assert report["peak_rss_mb"]["compute"] > 1 and report["peak_rss_mb"]["plot"] > 1
    capsys.readouterr()
    assert main(["list"]) == 0
    row = next(ln for ln in capsys.readouterr().out.splitlines() if "toypaper:fig1" in ln)
    # the process's peak RSS: "812 MB" on one machine, "1.1 GB" on another
    assert re.search(r"\d+(\.\d+)? [MG]B", row), row
