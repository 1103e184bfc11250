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


def prepare_torch(unit: Any) -> None:
    """Threads (the unit's ``cpu_threads`` unless ``REPRO_THREADS``) and flush-to-zero for a compute."""
    import torch

    torch.set_num_threads(int(os.environ.get("REPRO_THREADS", unit.cpu_threads)))
    torch.set_flush_denormal(True)  # denormals make tiny-weight training 10x slower on CPU
