import os
import sys
from types import SimpleNamespace

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from toy_figure import make_toy_package  # noqa: E402


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy figure registered as the only figure: ``toy.fig``, ``toy.calls()`` (computes so far), ``toy.pkg``."""
    from repro import registry

    src = tmp_path / "src"
    fig = make_toy_package(src)
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    monkeypatch.setenv("TOY_CALLS", str(calls))
    monkeypatch.setattr(registry, "all_figures", lambda: (fig,))
    yield SimpleNamespace(fig=fig, calls=lambda: len(calls.read_text().splitlines()), pkg=src / "toypaper")
    sys.path.remove(str(src))
