"""Test helper: whether processes are gone (for the tests that kill a parent and watch its workers)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def outlive(pids: list[int], seconds: float = 20.0) -> set[int]:
    """The ``pids`` still running after ``seconds`` (each then killed, so a failing test leaves none behind). A
    zombie (exited, not yet reaped by init) counts as gone: it runs nothing."""
    alive, deadline = set(pids), time.monotonic() + seconds
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
            except FileNotFoundError:
                state = "Z"
            if state == "Z":
                alive.discard(pid)
        time.sleep(0.2)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return alive
