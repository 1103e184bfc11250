"""Where things are written: the repository root, the committed figures, the cache."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """``$REPRO_ROOT``, else the nearest parent of the working directory holding ``uv.lock``, else the cwd."""
    if env := os.environ.get("REPRO_ROOT"):
        return Path(env)
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "uv.lock").exists() and (d / "shared").is_dir():
            return d
    return here


def figures_dir() -> Path:
    """``$REPRO_FIGURES_DIR`` or ``<root>/paper_figures`` (one sub-folder per paper)."""
    return Path(os.environ.get("REPRO_FIGURES_DIR") or repo_root() / "paper_figures")


def cache_dir() -> Path:
    """``$REPRO_CACHE_DIR`` or ``<root>/.repro-cache`` (git-ignored, safe to delete)."""
    return Path(os.environ.get("REPRO_CACHE_DIR") or repo_root() / ".repro-cache")
