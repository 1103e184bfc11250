"""The content-addressed cache: reuse, invalidation by config and code, corrupt entries, atomic writes."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from repro import paths
from repro.cache import Cache, atomic_write_text, code_fingerprint, join_result, split_result
from repro.cli import main
from repro.run import run_figure


def cache_entries(fig):
    d = paths.cache_dir() / fig.paper / fig.id
    return sorted(p for p in d.iterdir() if p.is_dir()) if d.exists() else []


def test_second_run_is_restored_not_recomputed(toy, capsys):
    run_figure(toy.fig, "quick")
    r = run_figure(toy.fig, "quick")
    assert toy.calls() == 1 and r.restored
    assert "restored" in capsys.readouterr().err


def test_config_change_recomputes_and_says_why(toy, capsys):
    main(["toypaper:fig1"])
    capsys.readouterr()
    main(["toypaper:fig1", "--set", "n=7"])
    err = capsys.readouterr().err
    assert toy.calls() == 2
    assert "recomputing: no entry with this config (the last one computed differs: n 5 -> 7)" in err
    # the old entry is still there: going back restores it
    main(["toypaper:fig1"])
    assert toy.calls() == 2 and "restored" in capsys.readouterr().err


def test_code_change_recomputes_and_names_the_file(toy, capsys):
    run_figure(toy.fig, "quick")
    lib = toy.pkg / "lib.py"
    lib.write_text(lib.read_text().replace("1e-3", "2e-3"))
    capsys.readouterr()
    run_figure(toy.fig, "quick")
    assert toy.calls() == 2
    assert "code changed (toypaper/lib.py)" in capsys.readouterr().err


def test_a_miss_is_explained_against_the_entry_with_the_same_config(toy, capsys):
    # a chunked stage computes many configs in turn: after a code edit, each must read "code changed", not a
    # config change against whichever config happened to be computed last
    main(["toypaper:fig1"])
    main(["toypaper:fig1", "--set", "n=7"])
    lib = toy.pkg / "lib.py"
    lib.write_text(lib.read_text().replace("1e-3", "2e-3"))
    capsys.readouterr()
    main(["toypaper:fig1"])
    err = capsys.readouterr().err
    assert toy.calls() == 3
    assert "recomputing: code changed (toypaper/lib.py)" in err and "no entry with this config" not in err


def test_plot_comment_and_docstring_edits_do_not_recompute(toy):
    before = code_fingerprint(toy.fig)
    run_figure(toy.fig, "quick")
    fig_file = toy.pkg / "figures" / "fig1.py"
    src = fig_file.read_text()
    src = src.replace("ax.legend()", 'ax.legend(loc="upper left")  # plot-only edit')
    src = src.replace(
        '"""Toy figure for harness tests."""', '"""Toy figure, reworded docstring."""\n# a comment'
    )
    fig_file.write_text(src)
    assert code_fingerprint(toy.fig) == before
    run_figure(toy.fig, "quick")
    assert toy.calls() == 1
    # ... but an edit to compute does
    fig_file.write_text(src.replace("sign = -1.0", "sign = -2.0"))
    assert code_fingerprint(toy.fig) != before


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "arrays.npz").write_bytes((d / "arrays.npz").read_bytes()[:50]),  # truncated
        lambda d: (d / "data.json").write_text("{not json"),  # garbage
        lambda d: (d / "manifest.json").unlink(),  # half-deleted
        lambda d: (d / "data.json").write_text(
            (d / "data.json").read_text().replace("total", "totl")
        ),  # edited
    ],
    ids=["truncated-npz", "garbage-json", "missing-manifest", "edited-json"],
)
def test_corrupt_entry_is_reported_moved_aside_and_recomputed(toy, capsys, damage):
    first = run_figure(toy.fig, "quick")
    (entry,) = cache_entries(toy.fig)
    damage(entry)
    capsys.readouterr()
    again = run_figure(toy.fig, "quick")
    err = capsys.readouterr().err
    assert "is corrupt" in err and "recomputing" in err
    assert toy.calls() == 2 and not again.restored
    assert [c.measured for c in again.claims] == [c.measured for c in first.claims]
    aside = [p for p in entry.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1, "the damaged entry is kept for inspection, not deleted"


def test_failed_compute_leaves_no_entry(toy):
    def broken(cfg):
        return {"bad": object()}  # not serialisable

    broken.__module__ = toy.fig.module  # the figure's code is located through its compute function
    fig = toy.fig.__class__(**{**toy.fig.__dict__, "compute": broken})
    with pytest.raises(TypeError, match="unsupported type"):
        Cache(paths.cache_dir()).get_or_compute(fig, fig.config("quick"), "quick", broken, log=lambda m: None)
    d = paths.cache_dir() / fig.paper / fig.id
    assert not d.exists() or not any(d.iterdir()), "no partial or temporary entry may remain"


def test_atomic_write_keeps_old_content_when_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "fig.json"
    target.write_text("old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("repro.cache.os.replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.json"], "temporary file cleaned up"


def test_result_round_trip_keeps_structure_and_arrays():
    result = {
        "a": np.arange(6.0).reshape(2, 3),
        "t": torch.ones(2, dtype=torch.float32),
        "nested": {"list": [1, 2.5, "x", np.int64(3)], "none": None, "flag": True},
        "runs": [{"curve": np.zeros(3)}, {"curve": np.ones(3)}],
    }
    structure, arrays = split_result(result)
    json.dumps(structure)  # plain JSON, no pickles
    back = join_result(structure, arrays)
    np.testing.assert_array_equal(back["a"], result["a"])
    np.testing.assert_array_equal(back["t"], np.ones(2, np.float32))
    assert back["nested"] == {"list": [1, 2.5, "x", 3], "none": None, "flag": True}
    np.testing.assert_array_equal(back["runs"][1]["curve"], np.ones(3))
    with pytest.raises(TypeError, match="object array"):
        split_result({"o": np.array([object()])})


def test_cache_dir_is_isolated_in_tests():
    assert "repro" in str(paths.cache_dir()) and Path(paths.cache_dir()).parts[-1] == "cache"


def test_fingerprint_follows_imports_only():
    from repro.registry import resolve

    (fig1,) = resolve(["harmonic_loss:fig1"])
    files = set(code_fingerprint(fig1))
    # its module and the library modules its compute imports (the toy points and HarMax), not repro/models.py etc.
    assert files == {
        "harmonic_loss/figures/fig1.py",
        "harmonic_loss/toy_points.py",
        "harmonic_loss/harmax.py",
    }, files


def test_a_figure_built_on_another_goes_stale_when_that_code_changes(toy, capsys):
    from repro import registry

    toy.monkeypatch.setattr(registry, "all_figures", lambda: (toy.fig, toy.fig2))
    run_figure(toy.fig2, "quick")
    assert (toy.calls(), toy.calls2()) == (1, 1)
    run_figure(toy.fig2, "quick")
    assert (toy.calls(), toy.calls2()) == (1, 1), "restored"
    lib = toy.pkg / "lib.py"
    lib.write_text(lib.read_text().replace("1e-3", "2e-3"))  # fig1's code, not fig2's
    capsys.readouterr()
    r = run_figure(toy.fig2, "quick")
    err = capsys.readouterr().err
    assert "the code of toypaper:fig1 (used by this figure) changed" in err
    assert (toy.calls(), toy.calls2()) == (2, 2) and not r.restored
    assert run_figure(toy.fig2, "quick").restored  # and the replaced entry is current again


def test_two_processes_asking_for_one_result_compute_it_once(toy, tmp_path):
    """The second process waits on the key's lock, then restores (as `--jobs` with two figures on one sweep)."""
    import subprocess
    import sys

    src = toy.pkg.parent
    code = (
        f"import sys; sys.path.insert(0, {str(src)!r})\n"
        "from toypaper.figures.fig1 import FIGURE\n"
        "from repro import paths\n"
        "from repro.cache import Cache\n"
        "Cache(paths.cache_dir()).get_or_compute(FIGURE, FIGURE.config('quick'), 'quick', FIGURE.compute,"
        " log=lambda m: print(m, flush=True))\n"
    )
    env = {**os.environ, "TOY_SLEEP": "3"}  # long enough for the two to overlap
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert toy.calls() == 1, outs
    assert sum("computed by another process" in o for o in outs) <= 1


def test_atomic_writes_make_normal_files(tmp_path):
    import os
    import stat

    from repro.cache import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
