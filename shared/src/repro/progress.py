"""Progress display and status messages for long work (rich), silenced with ``REPRO_PROGRESS=0``.

Figure code calls ``track(iterable, description)`` around its long loops; the CLI decides whether bars are shown.
"""

from __future__ import annotations

import os
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


def track(iterable: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a rich progress bar (or silently when progress is disabled)."""
    if not enabled():
        yield from iterable
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
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
