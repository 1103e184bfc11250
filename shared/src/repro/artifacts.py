"""Saved dictionaries (SAEs, crosscoders): a folder of ``cfg.json`` + ``sae_weights.safetensors``, as SAELens saves.

Why: one artifact layout across the ecosystem, so a SAELens SAE and a crosscoder trained here are inspected by the
same tools, and the config (architecture, hook point, normalisation scales, model revisions) always travels with the
weights (SAELens #381/#354: a normalisation factor not saved with the weights is a normalisation forgotten at
analysis time). The file names are SAELens's own constants. Writes are atomic (temporary folder, then rename);
an existing artifact is only replaced when the caller says ``overwrite=True``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from repro.cache import atomic_write_text
from repro.figure import ReproError

# The same names as sae_lens.constants.SAE_CFG_FILENAME / SAE_WEIGHTS_FILENAME (a test checks they agree).
CFG_FILE = "cfg.json"
WEIGHTS_FILE = "sae_weights.safetensors"


def save_artifact(
    path: str | Path, cfg: dict[str, Any], tensors: dict[str, Any], overwrite: bool = False
) -> Path:
    """Write ``cfg`` (JSON-able; should name its ``architecture``) and ``tensors`` (name -> torch tensor)."""
    from safetensors.torch import save_file

    path = Path(path)
    if "architecture" not in cfg:
        raise ValueError("cfg must name its 'architecture' (how a loader knows what the weights are)")
    if path.exists() and any(path.iterdir()) and not overwrite:
        raise ReproError(f"{path} already holds files; pass overwrite=True or choose another directory")
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp / WEIGHTS_FILE))
        atomic_write_text(tmp / CFG_FILE, json.dumps(cfg, indent=1, sort_keys=True))
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def load_artifact(path: str | Path, device: str = "cpu") -> tuple[dict[str, Any], dict[str, Any]]:
    """(cfg, tensors) of an artifact folder written by ``save_artifact`` or by SAELens ``save_model``."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    for name in (CFG_FILE, WEIGHTS_FILE):
        if not (path / name).is_file():
            raise ReproError(
                f"{path} has no {name}, so it is not a saved SAE/crosscoder; save one there first"
            )
    try:
        cfg = json.loads((path / CFG_FILE).read_text())
        tensors = load_file(str(path / WEIGHTS_FILE), device=device)
    except (json.JSONDecodeError, SafetensorError, OSError) as e:
        raise ReproError(
            f"{path} is corrupt ({type(e).__name__}); delete it and train or download again"
        ) from None
    return cfg, tensors
