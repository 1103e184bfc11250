"""Progress display and status messages for long work (rich), silenced with ``REPRO_PROGRESS=0``.

Figure code calls ``track(iterable, description)`` around its long loops; the CLI decides whether bars are shown.

When stderr is not a terminal (CI logs, ``nohup``, ``--jobs`` workers) rich draws nothing, so a long run would look
like a hang: there a plain line is printed instead, at least every ``REPRO_PROGRESS_INTERVAL`` seconds (30), with the
stage, step n/N, elapsed and estimated remaining time; a heartbeat thread keeps printing while one step is long.
``peak_memory()`` measures a stage's peak resident memory (Linux: the VmHWM counter, reset at the stage's start).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_console = None


def enabled() -> bool:
    return os.environ.get("REPRO_PROGRESS", "1") != "0"


def console():
    """The stderr console every status line goes to (stdout stays for tables and data)."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(stderr=True, highlight=False)
    return _console


def status(message: str) -> None:
    console().print(message, markup=False, soft_wrap=True)


def plain() -> bool:
    """Plain progress lines instead of bars: stderr is not a terminal (or ``REPRO_PROGRESS=plain``)."""
    mode = os.environ.get("REPRO_PROGRESS", "1")
    return mode == "plain" or (mode != "0" and not console().is_terminal)


def _interval() -> float:
    return float(os.environ.get("REPRO_PROGRESS_INTERVAL", "30"))


def fmt_duration(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class _Stage:
    def __init__(self, label: str, total: int | None = None, estimate: float | None = None):
        self.label, self.total, self.estimate = label, total, estimate
        self.n, self.t0 = 0, time.monotonic()

    def line(self) -> str:
        elapsed = time.monotonic() - self.t0
        parts = [f"  {self.label}:"]
        if self.total:
            parts.append(f"step {self.n}/{self.total},")
        parts.append(f"elapsed {fmt_duration(elapsed)}")
        if self.total and self.n:
            parts.append(f"- about {fmt_duration(elapsed / self.n * (self.total - self.n))} remaining")
        elif self.estimate:
            parts.append(f"- about {fmt_duration(max(self.estimate - elapsed, 0))} remaining (estimate)")
        return " ".join(parts)


_stages: list[_Stage] = []
_last_line = [time.monotonic()]
_lock = threading.Lock()


def _emit(stage: _Stage) -> None:
    with _lock:
        _last_line[0] = time.monotonic()
    status(stage.line())
    with contextlib.suppress(Exception):
        sys.stderr.flush()


def _heartbeat(stop: threading.Event) -> None:
    while not stop.wait(min(_interval(), 5.0) / 5):
        if _stages and time.monotonic() - _last_line[0] >= _interval():
            _emit(_stages[-1])


@contextlib.contextmanager
def stage(label: str, total: int | None = None, estimate: float | None = None):
    """A long stage: in plain mode a line at least every interval (from a heartbeat thread); otherwise nothing."""
    if not plain():
        yield None
        return
    st = _Stage(label, total, estimate)
    _stages.append(st)
    stop = threading.Event()
    beat = None
    if len(_stages) == 1:  # one heartbeat thread, for the outermost stage
        _last_line[0] = time.monotonic()
        beat = threading.Thread(target=_heartbeat, args=(stop,), daemon=True, name="repro-heartbeat")
        beat.start()
    try:
        yield st
    finally:
        stop.set()
        if beat is not None:
            beat.join(timeout=1)
        _stages.remove(st)


def track(iterable: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a rich progress bar (plain lines in a log, or silently when progress is disabled)."""
    if not enabled():
        yield from iterable
        return
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if plain():
        with stage(description, total) as st:
            for item in iterable:
                yield item
                st.n += 1
                if time.monotonic() - _last_line[0] >= _interval():
                    _emit(st)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("  {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        for item in iterable:
            yield item
            bar.advance(task)


# ------------------------------------------------------------------------------------------------ peak memory
_peaks: list[float] = []  # running maxima of the stages being measured (outermost first)


def _hwm_mb() -> float | None:
    """Peak resident memory of this process since the last reset (VmHWM), in MB; None where unknown."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _rusage_mb(who: int) -> float:
    import resource

    kb = resource.getrusage(who).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20  # macOS reports bytes


@contextlib.contextmanager
def peak_memory():
    """Measure the peak resident memory (MB) of the block, children included: ``with peak_memory() as m: ...``,
    then ``m["mb"]``. On Linux the process's high-water mark is reset at the start, so the peak is the block's own;
    elsewhere it is the process's peak so far (``ru_maxrss``), an upper bound."""
    import resource

    out: dict[str, float] = {}
    before = _hwm_mb()
    if _peaks and before is not None:  # an enclosing stage keeps what it reached before this one resets
        _peaks[-1] = max(_peaks[-1], before)
    reset = _reset_hwm()
    children_before = _rusage_mb(resource.RUSAGE_CHILDREN)
    _peaks.append(0.0)
    try:
        yield out
    finally:
        inner = _peaks.pop()
        own = _hwm_mb() if reset else None
        own = own if own is not None else _rusage_mb(resource.RUSAGE_SELF)
        children = _rusage_mb(resource.RUSAGE_CHILDREN)
        peak = max(own, inner, children if children > children_before else 0.0)
        if _peaks:
            _peaks[-1] = max(_peaks[-1], peak)
        out["mb"] = round(peak, 1)
