"""Regenerate README.md's gallery and claims table from paper_figures/*/figN.json: `uv run scripts/update_readme.py`."""

from pathlib import Path

from repro.gallery import update

root = Path(__file__).resolve().parents[1]
print("README.md updated" if update(root / "README.md", root) else "README.md already current")
