"""Every registered figure, at smoke scale, through the real CLI (parallel path), with its claims evaluated."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro.claims import VERDICTS
from repro.cli import main
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


@pytest.fixture(scope="session")
def smoke_cache(tmp_path_factory):
    """One cache for every smoke figure of the session: figures that read another's result compute it once.
    `.ci/run` points ``REPRO_SMOKE_CACHE`` at a folder that `repro check --scale smoke` then restores from, so CI
    computes each smoke figure once."""
    return Path(os.environ.get("REPRO_SMOKE_CACHE") or tmp_path_factory.mktemp("smoke-cache"))


@pytest.mark.smoke
@pytest.mark.parametrize("fig", FIGURES, ids=lambda f: f.name)
def test_figure_at_smoke_scale(fig, smoke_cache, monkeypatch, capsys):
    """The figure's whole pipeline through the CLI: files written, every claim a verdict, and no verdict flipped
    against the committed ``figN_smoke.json`` (the gate `repro check` applies)."""
    from repro.claims import compare
    from repro.run import committed_claims

    monkeypatch.setenv("REPRO_CACHE_DIR", str(smoke_cache))
    before = _committed_outputs()
    code = main([fig.name, "--scale", "smoke"])
    out, err = capsys.readouterr()
    assert code == 0, err
    stem = Path(os.environ["REPRO_FIGURES_DIR"]) / fig.paper / f"{fig.id}_smoke"
    for ext in (".png", ".pdf", ".json"):
        assert stem.with_suffix(ext).stat().st_size > 0, f"{ext} missing"
    report = json.loads(stem.with_suffix(".json").read_text())
    assert report["claims"], "the figure evaluates no claim"
    for c in report["claims"]:
        assert c["verdict"] in VERDICTS and (c["verdict"] == "not reached" or c["measured"] is not None)
    assert report["scale"] == "smoke" and report["config_hash"]
    assert _committed_outputs() == before, (
        "a figure wrote outside its output folder (REPRO_FIGURES_DIR/--out)"
    )
    from repro.claims import Claim

    committed = committed_claims(fig, "smoke")
    assert committed is not None, (
        f"no committed smoke verdicts: `uv run repro check {fig.name} --scale smoke --record`"
    )
    flips = [c for c in compare(fig.name, committed, [Claim.from_dict(c) for c in report["claims"]])]
    errors = [c for c in flips if c.severity == "error"]
    assert not errors, f"verdicts flipped against the committed smoke verdicts: {errors}"


def test_parallel_run_writes_the_claims_table_and_a_rerun_restores(capsys):
    """`--jobs 2` (the process-pool path) over two cheap figures; a second run is served from the cache."""
    names = ["harmonic_loss:fig1", "geneft:fig2"]
    assert main(["all", *names, "--scale", "smoke", "--jobs", "2"]) == 0
    out, _ = capsys.readouterr()
    assert "claims:" in out
    table = (Path(os.environ["REPRO_FIGURES_DIR"]) / "CLAIMS_smoke.md").read_text()
    assert "| figure | claim |" in table and all(f"`{n}`" in table for n in names)
    main(["all", *names, "--scale", "smoke"])
    assert capsys.readouterr().err.count("restored") == len(names)


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
