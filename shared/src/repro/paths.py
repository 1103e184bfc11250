"""Where things are written: the repository root, a run's figures, the committed reference results, the cache.

A run writes to ``results/`` (git-ignored), never to the committed ``paper_figures/``: following the README must not
change what the tests compare. The reference results are refreshed on purpose, with ``--out paper_figures``.
"""

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
    """Where a run writes its figures: ``$REPRO_FIGURES_DIR`` or ``<root>/results`` (one sub-folder per paper)."""
    return Path(os.environ.get("REPRO_FIGURES_DIR") or repo_root() / "results")


def reference_dir() -> Path:
    """The committed reference results that ``repro check`` compares with: ``$REPRO_REFERENCE_DIR`` or
    ``<root>/paper_figures``."""
    return Path(os.environ.get("REPRO_REFERENCE_DIR") or repo_root() / "paper_figures")


def cache_dir() -> Path:
    """``$REPRO_CACHE_DIR`` or ``<root>/.repro-cache`` (git-ignored, safe to delete)."""
    return Path(os.environ.get("REPRO_CACHE_DIR") or repo_root() / ".repro-cache")
