"""What a result was computed with (versions, device, host), and the torch settings a compute runs under."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
from typing import Any


def environment() -> dict[str, Any]:
    """Versions, device and host: what a reader needs to judge whether numbers should match theirs."""
    from importlib.metadata import PackageNotFoundError, version

    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
    }
    for pkg in ("torch", "numpy", "repro-shared", "transformers", "transformer-lens", "sae-lens"):
        with contextlib.suppress(PackageNotFoundError):
            env[pkg] = version(pkg)
    import torch

    env["device"] = (
        torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({os.cpu_count()} cores)"
    )
    env["cuda"] = torch.version.cuda if torch.cuda.is_available() else None
    env["torch_threads"] = torch.get_num_threads()
    env["dtype"] = str(torch.get_default_dtype()).removeprefix("torch.")
    if os.environ.get("REPRO_DEVICE"):  # `--device cpu`: a cuda figure run on the CPU on purpose
        env["requested_device"] = os.environ["REPRO_DEVICE"]
    return env


CPU_BUDGET_ENV = "REPRO_CPU_BUDGET"  # set in each ``--jobs N`` worker: its share of the cores


def unit_threads(unit: Any) -> int:
    """The torch threads a compute runs with: ``REPRO_THREADS`` when set, else the unit's ``cpu_threads`` capped at
    this process's share of the cores under ``--jobs`` (a 2-thread unit beside another job would oversubscribe a
    2-core machine; its jobs then run one after another, with the same numbers: :mod:`repro.parallel`)."""
    if os.environ.get("REPRO_THREADS"):
        return int(os.environ["REPRO_THREADS"])
    return max(1, min(unit.cpu_threads, int(os.environ.get(CPU_BUDGET_ENV, unit.cpu_threads))))


def prepare_torch(unit: Any) -> None:
    """Threads (:func:`unit_threads`) and flush-to-zero for a compute."""
    import torch

    torch.set_num_threads(unit_threads(unit))
    torch.set_flush_denormal(True)  # denormals make tiny-weight training 10x slower on CPU
