"""The function-vector data sets (Todd et al., github.com/ericwtodd/function_vectors, ``dataset_files/abstractive``):
one ``{name}.json`` per task, a list of ``{"input": ..., "output": ...}`` word pairs (country -> capital, present ->
past, English -> French, ...). Two papers read them: harmonic_loss Fig. 6 (parallelograms) and graph_universality
Fig. 8 (in-context accuracy of stitched LMs). GitHub is not reachable at run time: download the folder once and
point the figure at it; a missing or broken file is one line naming the download.
"""

from __future__ import annotations

import json
from pathlib import Path

from repro.figure import ReproError

SOURCE = "github.com/ericwtodd/function_vectors (dataset_files/abstractive/*.json)"


def read_tasks(
    folder: str | Path | None, names: tuple[str, ...] | None = None, how_to_pass: str = ""
) -> dict[str, list[tuple[str, str]]]:
    """``{task: [(input, output), ...]}`` for ``names`` (default: every ``.json`` in ``folder``, sorted by name).
    ``how_to_pass`` (e.g. ``--set tasks_dir=FOLDER``) goes into the error that names what is missing."""
    root = Path(folder) if folder else None
    where = f"{root}" if root else "(no folder given)"
    hint = f"download {SOURCE} into one folder" + (f" and pass it as {how_to_pass}" if how_to_pass else "")
    if names is None:
        files = sorted(root.glob("*.json")) if root is not None and root.is_dir() else []
        if not files:
            raise ReproError(f"{where} holds no function-vector task files (.json input/output rows): {hint}")
    else:
        missing = [n for n in names if root is None or not (root / f"{n}.json").is_file()]
        if missing:
            raise ReproError(f"function-vector data set(s) {', '.join(missing)} not found in {where}: {hint}")
        files = [root / f"{n}.json" for n in names]
    out = {}
    for f in files:
        try:
            out[f.stem] = [(r["input"], r["output"]) for r in json.loads(f.read_text())]
        except (ValueError, KeyError, TypeError) as e:
            raise ReproError(
                f"{f} is not a function-vector data set (a JSON list of {{'input', 'output'}}): {e}; download it "
                f"again from {SOURCE}"
            ) from e
    return out
