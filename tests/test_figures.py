"""Every registered figure, at smoke scale, through the real CLI (parallel path), with its claims evaluated."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro.claims import VERDICTS
from repro.cli import EXIT_BAD_INPUT, main
from repro.figure import SCALES
from repro.registry import all_figures

FIGURES = all_figures()


def test_registry_is_not_empty_and_ids_are_unique():
    names = [f.name for f in FIGURES]
    assert names and len(names) == len(set(names))


@pytest.mark.parametrize("fig", FIGURES, ids=lambda f: f.name)
def test_figure_declares_every_scale_and_the_paper_device(fig):
    for scale in SCALES:
        cfg = fig.config(scale)
        assert hash(cfg) is not None  # frozen, hashable
        assert fig.est_seconds.get(scale), f"{fig.name} lacks an estimated time at {scale}"
    assert fig.device.get("paper") in ("cpu", "cuda"), "the paper-scale gate needs to know the device"
    assert sys.modules[fig.module].__doc__, f"{fig.module} must document its setting and choices"


def test_figure_modules_import_without_torch_or_matplotlib():
    mods = [f.module for f in FIGURES]
    code = f"import importlib, sys\nfor m in {mods!r}: importlib.import_module(m)\n" + (
        "print(sorted(x for x in ('torch', 'matplotlib', 'numpy', 'transformers') if x in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"figure modules import heavy libraries at import time: {out}"


def _committed_outputs() -> dict[str, int]:
    """Smoke-scale files in the repository's own paper_figures/ (a test run must write none there)."""
    root = Path(__file__).resolve().parents[1] / "paper_figures"
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*smoke*") if p.is_file()}


def test_every_figure_at_smoke_scale_in_parallel(capsys):
    before = _committed_outputs()
    code = main(["all", "--scale", "smoke", "--jobs", "2"])
    out, err = capsys.readouterr()
    assert code != EXIT_BAD_INPUT, err
    out_dir = Path(os.environ["REPRO_FIGURES_DIR"])
    for fig in FIGURES:
        stem = out_dir / fig.paper / f"{fig.id}_smoke"
        for ext in (".png", ".pdf", ".json"):
            assert stem.with_suffix(ext).stat().st_size > 0, f"{fig.name}: {ext} missing"
        report = json.loads(stem.with_suffix(".json").read_text())
        assert report["claims"], f"{fig.name} evaluates no claim"
        for c in report["claims"]:
            assert c["verdict"] in VERDICTS and (c["verdict"] == "not reached" or c["measured"] is not None)
        assert report["scale"] == "smoke" and report["config_hash"]
    assert "claims:" in out
    assert _committed_outputs() == before, (
        "a figure wrote outside its output folder (REPRO_FIGURES_DIR/--out)"
    )
    table = (out_dir / "CLAIMS_smoke.md").read_text()
    assert "| figure | claim |" in table and all(f"`{f.name}`" in table for f in FIGURES)
    # a second run is served from the cache
    main(["all", "--scale", "smoke"])
    assert capsys.readouterr().err.count("restored") == len(FIGURES)


def test_readme_gallery_and_results_pages_are_current():
    """README counts and the results pages come from the committed paper_figures/*/figN.json (committed files
    compared with committed files); regenerate with `uv run scripts/update_readme.py`."""
    from repro.gallery import START, pages, render

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    assert START in readme
    assert render(root) in readme, "README gallery is stale: run `uv run scripts/update_readme.py`"
    for path, text in pages(root).items():
        assert path.is_file() and path.read_text() == text, (
            f"{path} is stale: run `uv run scripts/update_readme.py`"
        )


@pytest.mark.parametrize("fig", FIGURES, ids=lambda f: f.name)
def test_committed_claims_have_seeds_an_interval_and_a_source(fig):
    """Every committed quick claim: per-seed values (>= 3) or a bootstrap interval, and a sourced paper value."""
    from repro.claims import SOURCES, Claim

    path = Path(__file__).resolve().parents[1] / "paper_figures" / fig.paper / f"{fig.id}.json"
    report = json.loads(path.read_text())
    for d in report["claims"]:
        c = Claim.from_dict(d)
        where = f"{fig.name}: {c.statement!r}"
        assert c.paper is not None and c.paper.source in SOURCES, f"{where} has no paper value with a source"
        assert c.interval is not None or c.n >= 3 or c.verdict == "not reached", f"{where}: {c.n} seed(s)"
        assert d["verdict"] == c.verdict, f"{where}: the committed verdict does not follow from its numbers"
