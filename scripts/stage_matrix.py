"""Job matrices for reproduce.yml from the stage graph: `uv run repro graph ... --json | uv run scripts/stage_matrix.py`.

Prints `waveN=<json>` and `papers=<json>` lines for $GITHUB_OUTPUT (see `repro.stage.ci_matrix`); a wave with no
stage prints `[]`, and its job is skipped.
"""

import json
import sys

from repro.figure import ReproError
from repro.stage import ci_matrix

try:
    matrices = ci_matrix(json.load(sys.stdin))
except ReproError as e:
    sys.exit(f"stage_matrix: {e}")
for name, rows in matrices.items():
    print(f"{name}={json.dumps(rows, separators=(',', ':'))}")
