"""Hugging Face hub access that fails in one line when offline, naming what to download and how."""

from __future__ import annotations

import os
import socket
from functools import cache

from repro.figure import ReproError

HUB_HOST = "huggingface.co"


@cache
def hub_reachable(timeout: float = 2.0) -> bool:
    """True when the hub answers a TCP connect; False when offline flags are set or the network is closed."""
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def go_offline_if_unreachable() -> bool:
    """Set the HF offline flags when the hub is unreachable (before importing transformers/datasets: they read the
    flags at import time), so that a missing file fails at once instead of after ~23 s of DNS retries.
    Returns True when offline."""
    if hub_reachable():
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    return True


def offline_error(what: str, how: str) -> ReproError:
    """The one-line error for a hub artefact that is not available locally."""
    return ReproError(
        f"{what} is not available offline; on a machine with network access run `{how}`, then retry"
    )
