"""The `repro` command: resolution of targets, one-line errors, exit codes, and lazy imports."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_VERDICT_CHANGED, main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_and_list_do_not_import_torch():
    code = (
        "import sys, contextlib, io\n"
        "from repro.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['list']); main(['--help'])\n"
        "print(sorted(m for m in ('torch', 'matplotlib', 'transformers') if m in sys.modules))\n"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"heavy modules imported by help/list: {out}"
    # Not a timing assertion on the product: a sanity bound that catches an accidental torch import (~4 s).
    assert time.perf_counter() - t0 < 30


def test_list_shows_every_real_figure(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == EXIT_OK
    assert "harmonic_loss:fig1" in out and "harmonic_loss:fig5" in out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["fig99"], "no paper has a figure 'fig99'"),
        (["fig11"], "did you mean fig1?"),
        (["harmonic_los", "fig1"], "did you mean harmonic_loss?"),
        (["harmonic_loss:fig2x"], "harmonic_loss has no figure 'fig2x'"),
        (["fig1", "--scale", "quik"], "did you mean quick?"),
        (["fig1", "--scal", "quick"], "did you mean --scale?"),
        (["fig1", "--jobs", "0"], "--jobs must be at least 1"),
        (["harmonic_loss", "fig5", "--variant", "fixd"], "did you mean fixed?"),
        (["harmonic_loss", "fig1", "--variant", "fixed"], "has a variant 'fixed'"),
        (["harmonic_loss", "fig1", "--set", "stepz=3"], "did you mean steps?"),
        (["harmonic_loss", "fig1", "--set", "steps=abc"], "bad value for steps='abc'"),
        (["harmonic_loss", "fig1", "--set", "steps=3"], "steps must be >= 10"),
        (["harmonic_loss", "fig1", "--set", "steps"], "--set expects KEY=VALUE"),
        (["check", "--format", "html"], "unknown format"),
        (["list", "--paper", "geneftt"], "unknown paper"),
    ],
)
def test_bad_input_is_one_line_with_a_suggestion(capsys, argv, needle):
    code, out, err = run_cli(capsys, *argv)
    assert code == EXIT_BAD_INPUT
    assert err.startswith("repro: error: ") and err.count("\n") == 1, err
    assert needle in err


def test_target_spellings_resolve_to_the_same_figure():
    from repro.registry import resolve

    a = resolve(["harmonic_loss", "fig5"])
    b = resolve(["harmonic_loss:fig5"])
    c = [f for f in resolve(["fig5"]) if f.paper == "harmonic_loss"]
    assert [f.name for f in a] == [f.name for f in b] == [f.name for f in c] == ["harmonic_loss:fig5"]
    assert {f.name for f in resolve(["harmonic_loss"])} >= {"harmonic_loss:fig1", "harmonic_loss:fig5"}


def test_run_check_clean_and_exit_codes(toy, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_REFERENCE_DIR", str(tmp_path / "reference"))
    code, out, err = run_cli(capsys, "toypaper", "fig1")
    assert code == EXIT_OK, err
    assert "claims: 2 reproduced, 0 contradicted, 0 inconclusive, 0 not reached" in out
    assert "recomputing: not cached yet" in err
    written = list(Path(os.environ["REPRO_FIGURES_DIR"]).rglob("fig1.*"))
    assert {p.suffix for p in written} == {".png", ".pdf", ".json"}, written
    report = json.loads(next(p for p in written if p.suffix == ".json").read_text())
    assert report["verdicts"]["reproduced"] == 2 and report["config"]["n"] == 5 and len(report["claims"]) == 2
    claim = report["claims"][0]
    assert len(claim["values"]) == 3 and claim["interval"][0] <= claim["measured"] <= claim["interval"][1]
    assert claim["paper"] == {"value": 10, "source": "paper", "where": "Sec. 1"}
    assert report["environment"]["torch"] and "device" in report["environment"]

    # a contradicted claim is a finding: the run still exits 0
    code, out, _ = run_cli(capsys, "toypaper:fig1", "--set", "bound=1")
    assert code == EXIT_OK and "claims: 0 reproduced, 2 contradicted" in out

    # check without committed verdicts says how to record them, and passes
    calls = toy.calls()
    code, out, err = run_cli(capsys, "check", "toypaper:fig1")
    assert code == EXIT_OK and toy.calls() == calls and "--record" in err
    code, out, _ = run_cli(capsys, "check", "toypaper:fig1", "--record")
    assert code == EXIT_OK and (tmp_path / "reference" / "toypaper" / "fig1.json").is_file()
    code, out, _ = run_cli(capsys, "check", "--format", "markdown")
    assert "| figure | claim |" in out and "✅ reproduced" in out and "0 verdict(s) flipped" in out

    # a verdict that flips against the committed one fails the gate (exit 1), with a table of the change
    fig1 = toy.pkg / "figures" / "fig1.py"
    fig1.write_text(fig1.read_text().replace("bound: float = 100.0", "bound: float = 1.0"))
    from toy_figure import reload_toy

    reload_toy(toy)
    code, out, _ = run_cli(capsys, "check", "toypaper:fig1")
    assert code == EXIT_VERDICT_CHANGED and "2 verdict(s) flipped" in out and "reproduced" in out

    # one variant only: its own output file, one claim
    code, out, err = run_cli(capsys, "toypaper", "fig1", "--variant", "fixed")
    assert code == EXIT_OK and "claims: 0 reproduced, 1 contradicted" in out

    # clean drops the cache
    code, out, _ = run_cli(capsys, "clean")
    assert code == EXIT_OK and "removed cached results of 1 figure" in out


def test_check_warns_on_inconclusive_and_strict_fails(toy, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_REFERENCE_DIR", str(tmp_path / "reference"))
    assert run_cli(capsys, "check", "--record")[0] == EXIT_OK
    # the bound right at the totals (about 10): the interval straddles it, so reproduced -> inconclusive
    fig1 = toy.pkg / "figures" / "fig1.py"
    fig1.write_text(fig1.read_text().replace("bound: float = 100.0", "bound: float = 10.0"))
    from toy_figure import reload_toy

    reload_toy(toy)
    code, out, _ = run_cli(capsys, "check")
    assert code == EXIT_OK and "0 verdict(s) flipped, 2 moved" in out and "inconclusive" in out
    code, out, _ = run_cli(capsys, "check", "--strict")
    assert code == EXIT_VERDICT_CHANGED


def test_aliases_resolve_like_ids_and_show_in_list(toy, capsys):
    from repro import registry
    from repro.cli import main

    toy.monkeypatch.setattr(registry, "all_figures", lambda: (toy.fig, toy.fig2))
    by_alias = registry.resolve(["scaled_total"])
    assert [f.name for f in by_alias] == ["toypaper:fig2"]
    assert (
        registry.resolve(["toypaper", "scaled_total"])
        == registry.resolve(["toypaper:scaled_total"])
        == by_alias
    )
    assert main(["list"]) == 0
    assert "scaled_total" in capsys.readouterr().out
    assert main(["toypaper", "scaled_totl"]) == 2
    assert "did you mean scaled_total" in capsys.readouterr().err


def test_subcommands_have_their_own_help_and_version(capsys):
    for argv, needle in (
        (["check", "--help"], "--record"),
        (["run", "--help"], "--set"),
        (["fig3", "--help"], "--jobs"),
    ):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0 and needle in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("repro ")


def test_options_before_the_target_and_the_command_anywhere():
    from repro.cli import parse

    assert parse(["--scale", "smoke", "fig3"]).command == "run"
    args = parse(["--paper", "geneft", "list"])
    assert (args.command, args.paper) == ("list", "geneft")
    assert parse(["harmonic_loss", "fig1", "--jobs", "2"]).words == ["harmonic_loss", "fig1"]


def test_completion_script_names_commands_papers_and_figures(capsys):
    assert main(["completion", "bash"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "complete -F _repro repro" in out and "harmonic_loss:fig1" in out and " check " in out


def test_dotted_set_reaches_nested_configs_typed():
    from dataclasses import dataclass

    from repro.figure import ReproError, apply_overrides

    @dataclass(frozen=True)
    class Inner:
        lr: float = 1e-3
        steps: int = 10

    @dataclass(frozen=True)
    class Outer:
        sweep: Inner = Inner()
        name: str = "x"

    cfg = apply_overrides(Outer(), {"sweep.lr": "3e-3", "sweep.steps": "20", "name": "y"}, "t")
    assert cfg == Outer(Inner(3e-3, 20), "y")
    with pytest.raises(ReproError, match=r"no field 'lrr' \(did you mean lr\?\); fields: lr, steps"):
        apply_overrides(Outer(), {"sweep.lrr": "1"}, "t")
    with pytest.raises(ReproError, match="not a nested config"):
        apply_overrides(Outer(), {"name.x": "1"}, "t")


def test_jobs_workers_exit_when_their_parent_is_killed(tmp_path):
    """A --jobs worker must not compute on for nobody once `repro` itself is killed (not just interrupted)."""
    import signal

    from processes import outlive

    parent = tmp_path / "parent.py"
    parent.write_text(
        "import multiprocessing as mp, os, sys, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from repro.parallel import exit_with_parent\n"
        "if __name__ == '__main__':\n"
        "    pool = ProcessPoolExecutor(1, mp_context=mp.get_context('spawn'), initializer=exit_with_parent)\n"
        "    print(pool.submit(os.getpid).result(), flush=True)\n"
        "    pool.submit(time.sleep, 120)\n"
        "    time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, str(parent)], stdout=subprocess.PIPE, text=True)
    worker = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not outlive([worker], 20), "the worker outlived its killed parent by 20 s"


def test_fixed_length_tuples_parse_to_their_length_and_types():
    from repro.figure import parse_value

    assert parse_value("1e-3,3", tuple[float, int]) == (1e-3, 3)
    assert parse_value("1,2,3", tuple[int, ...]) == (1, 2, 3)
    for raw in ("1", "1,2,3", ""):
        with pytest.raises(ValueError, match="expected 2 comma-separated values"):
            parse_value(raw, tuple[float, float])
