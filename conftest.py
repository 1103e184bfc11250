"""Test-session set-up shared by every test in the workspace (root and packages).

The hub is unreachable here: the offline flags must be set before transformers/datasets are imported, or every
hub call retries DNS for ~23 s. Progress bars are off, and every test gets its own cache and figure folders, so a
test run never touches ``.repro-cache/`` or the committed ``paper_figures/``.
"""

import os

import pytest

for _flag in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_flag, "1")
os.environ["REPRO_PROGRESS"] = "0"


@pytest.fixture(autouse=True)
def _isolated_outputs(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("repro")
    monkeypatch.setenv("REPRO_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("REPRO_FIGURES_DIR", str(root / "figures"))
    return root
