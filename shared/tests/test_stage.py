"""Stages (repro.stage): computed once per config and code, read by several figures, shown by `repro graph`,
artifacts in their format (checksummed with the entry), opened by name with `repro.load_artifact`."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import pytest

from repro.figure import ReproError

STAGES = '''
"""Toy stages: a sweep, and a model trained on it (with a safetensors artifact)."""
import json
import os
from dataclasses import dataclass

from repro.stage import Artifact, Need, Stage


@dataclass(frozen=True)
class SweepConfig:
    n: int = 4
    seeds: tuple[int, ...] = (0, 1, 2)


@dataclass(frozen=True)
class ModelConfig:
    width: int = 3


def _count(tag):
    with open(os.environ["STAGE_CALLS"], "a") as f:
        f.write(tag + "\\n")


def sweep(cfg):
    import numpy as np

    _count("sweep")
    return {"totals": np.array([float(np.arange(cfg.n).sum() + s) for s in cfg.seeds])}


def train(cfg, sweep):
    import numpy as np

    _count("model")
    return {"w": np.full((cfg.width,), float(sweep["totals"].mean()))}


def save_model(result, cfg, folder):
    import torch
    from safetensors.torch import save_file

    save_file({"w": torch.as_tensor(result["w"])}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"width": cfg.width}))


def open_model(folder):
    from safetensors.torch import load_file

    return json.loads((folder / "config.json").read_text()), load_file(str(folder / "model.safetensors"))


SCALES = ("smoke", "quick", "paper")
SWEEP = Stage("stagepaper.sweep", compute=sweep, configs={s: SweepConfig() for s in SCALES}, title="a sweep")
MODEL = Stage(
    "stagepaper.model",
    compute=train,
    configs={s: ModelConfig() for s in SCALES},
    needs={"sweep": Need(SWEEP)},
    artifact=Artifact("safetensors", save_model, open_model),
)
'''

FIG = '''
"""Toy figure {n} on the sweep stage."""
from dataclasses import dataclass, field

from repro.figure import Figure
from repro.stage import Need
from stagepaper.stages import MODEL, SWEEP, SweepConfig


@dataclass(frozen=True)
class Config:
    sweep: SweepConfig = field(default_factory=SweepConfig)
    factor: float = {n}.0


def compute(cfg, sweep, model):
    return {{"scaled": [cfg.factor * t for t in sweep["totals"]], "w": model["w"]}}


def claims(result, cfg):
    from repro.claims import Claim, our_choice

    return [Claim("scaled is positive", result["scaled"], ">", 0, paper=our_choice(0, "a toy"))]


def plot(result, cfg):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot(result["scaled"])
    return fig


FIGURE = Figure(
    paper="stagepaper",
    id="fig{n}",
    title="toy {n}",
    configs={{"smoke": Config(), "quick": Config(), "paper": Config()}},
    compute=compute,
    plot=plot,
    claims=claims,
    needs={{"sweep": Need(SWEEP, field="sweep"), "model": Need(MODEL)}},
)
'''


@pytest.fixture
def pkg(tmp_path, monkeypatch):
    from repro import registry

    src = tmp_path / "src"
    (src / "stagepaper").mkdir(parents=True)
    (src / "stagepaper" / "__init__.py").write_text("")
    (src / "stagepaper" / "stages.py").write_text(textwrap.dedent(STAGES))
    for n in (1, 2):
        (src / "stagepaper" / f"fig{n}.py").write_text(textwrap.dedent(FIG.format(n=n)))
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    monkeypatch.setenv("STAGE_CALLS", str(calls))
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    sys.path.insert(0, str(src))
    importlib.invalidate_caches()

    def load():
        for m in [m for m in sys.modules if m.startswith("stagepaper")]:
            del sys.modules[m]
        figs = tuple(importlib.import_module(f"stagepaper.fig{n}").FIGURE for n in (1, 2))
        monkeypatch.setattr(registry, "all_figures", lambda: figs)
        return figs

    figs = load()
    yield type(
        "Pkg",
        (),
        {
            "figs": figs,
            "load": staticmethod(load),
            "src": src / "stagepaper",
            "calls": staticmethod(lambda tag: calls.read_text().splitlines().count(tag)),
            "out": tmp_path / "out",
        },
    )
    sys.path.remove(str(src))
    for m in [m for m in sys.modules if m.startswith("stagepaper")]:
        del sys.modules[m]


def test_two_figures_share_one_stage_computed_once(pkg):
    from repro.run import run_figure

    fig1, fig2 = pkg.figs
    r1 = run_figure(fig1, "quick", out_dir=pkg.out)
    r2 = run_figure(fig2, "quick", out_dir=pkg.out)
    assert pkg.calls("sweep") == 1 and pkg.calls("model") == 1
    assert [list(c.values) for c in r2.claims] == [[2 * v for v in c.values] for c in r1.claims]
    # a figure restored from the cache never loads (or recomputes) its stages
    run_figure(fig1, "quick", out_dir=pkg.out)
    assert pkg.calls("sweep") == 1


def test_stage_recomputes_on_its_config_or_code_only(pkg):
    from repro.run import run_figure

    fig1, _ = pkg.figs
    run_figure(fig1, "quick", out_dir=pkg.out)
    run_figure(fig1, "quick", overrides={"sweep.n": "6"}, out_dir=pkg.out)  # the nested stage config
    assert pkg.calls("sweep") == 2 and pkg.calls("model") == 1  # the model reads the stage's own config
    # editing the figure's plot changes no key; editing the stage's code recomputes stage, model and figure
    path = pkg.src / "fig1.py"
    path.write_text(path.read_text().replace("figsize=(2, 2)", "figsize=(3, 2)"))
    fig1, _ = pkg.load()
    assert run_figure(fig1, "quick", out_dir=pkg.out).restored
    stages = pkg.src / "stages.py"
    stages.write_text(
        stages.read_text().replace("np.arange(cfg.n).sum() + s", "np.arange(cfg.n).sum() + 2 * s")
    )
    fig1, _ = pkg.load()
    r = run_figure(fig1, "quick", out_dir=pkg.out)
    assert not r.restored and pkg.calls("sweep") == 3 and pkg.calls("model") == 2


def test_graph_lists_stages_and_what_is_cached(pkg, capsys):
    from repro import paths
    from repro.cache import Cache
    from repro.cli import main
    from repro.run import run_figure
    from repro.stage import graph

    fig1, _ = pkg.figs
    nodes = graph(fig1, fig1.config("quick"), "quick", Cache(paths.cache_dir()))
    assert [n.name for n in nodes] == ["stagepaper.sweep", "stagepaper.model", "stagepaper:fig1"]
    assert not any(n.cached for n in nodes)
    assert nodes[1].inputs == {"sweep": nodes[0].key} and nodes[1].artifact == "safetensors"
    run_figure(fig1, "quick", out_dir=pkg.out)
    assert main(["graph", "stagepaper", "fig1", "fig2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    by_name = {n["name"]: n for n in out["nodes"]}
    assert by_name["stagepaper.sweep"]["cached"] and by_name["stagepaper:fig1"]["cached"]
    assert not by_name["stagepaper:fig2"]["cached"]
    assert sorted(by_name["stagepaper.sweep"]["read_by"]) == ["stagepaper:fig1", "stagepaper:fig2"]
    assert main(["graph", "stagepaper:fig2"]) == 0
    tree = capsys.readouterr().out
    assert (
        "model <- stagepaper.model" in tree and "sweep <- stagepaper.sweep" in tree and "not cached" in tree
    )


def test_load_artifact_by_name_computes_then_restores(pkg):
    import repro

    cfg, tensors = repro.load_artifact("stagepaper.model", scale="quick")
    assert cfg == {"width": 3} and tensors["w"].shape == (3,)
    assert pkg.calls("model") == 1
    repro.load_artifact("stagepaper.model", scale="quick")
    assert pkg.calls("model") == 1
    assert repro.load_result("stagepaper.sweep")["totals"].shape == (3,)
    with pytest.raises(ReproError, match="no stage named 'stagepaper.modle'.*did you mean stagepaper.model"):
        repro.load_artifact("stagepaper.modle")
    with pytest.raises(ReproError, match="writes no model artifact.*load_result"):
        repro.load_artifact("stagepaper.sweep")


def test_a_corrupt_artifact_is_caught_by_its_checksum(pkg):
    import repro
    from repro import paths
    from repro.cache import Cache, cache_key
    from repro.stage import artifact_dir, find_stage

    repro.load_artifact("stagepaper.model")
    st = find_stage("stagepaper.model")
    folder = artifact_dir(Cache(paths.cache_dir()), st, cache_key(st, st.config("quick")))
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4])  # truncated
    _, tensors = repro.load_artifact("stagepaper.model")
    assert pkg.calls("model") == 2 and tensors["w"].shape == (3,)


def test_jobs_wait_only_for_the_stages_they_read(pkg):
    from repro import paths
    from repro.cache import Cache
    from repro.stage import UNKNOWN_ESTIMATE_S, compute_stage, plan_jobs

    fig1, fig2 = pkg.figs
    cache = Cache(paths.cache_dir())
    units = [(fig1, fig1.config("quick")), (fig2, fig2.config("quick"))]

    def plan(**kw):
        return {j.unit.name: j for j in plan_jobs(units, "quick", cache, **kw)}

    jobs = plan()
    sweep, model, first, second = jobs.values()  # dependencies first
    assert [j.unit.name for j in (sweep, model)] == ["stagepaper.sweep", "stagepaper.model"]
    assert (first.unit, second.unit) == (fig1, fig2) and not first.is_stage and sweep.is_stage
    assert sweep.needs == set() and model.needs == {sweep.key} and first.needs == {sweep.key, model.key}
    # the longest chain of estimates first: sweep -> model -> a figure (none declares one: 30 s each)
    assert [j.critical_seconds for j in jobs.values()] == [3 * UNKNOWN_ESTIMATE_S, 2 * UNKNOWN_ESTIMATE_S] + [
        UNKNOWN_ESTIMATE_S
    ] * 2
    compute_stage(sweep.unit, sweep.cfg, "quick", cache)
    jobs = plan()
    assert list(jobs) == ["stagepaper.model", fig1.name, fig2.name] and jobs[fig1.name].needs == {model.key}
    forced = plan(force=True)  # under --force, cached stages are jobs too
    assert list(forced) == ["stagepaper.sweep", "stagepaper.model", fig1.name, fig2.name]


def test_jobs_compute_each_stage_once(pkg, monkeypatch):
    """`repro run --jobs 2` on two figures of one stage: the stage runs once (a worker process), then both."""
    from repro.cli import main

    monkeypatch.setattr(
        "repro.cli._run_one",
        lambda name, *a, **k: (name, [], {"compute": 0.0, "plot": 0.0, "wall": 0.0}, True),
    )
    from concurrent.futures import ThreadPoolExecutor

    # a thread pool stands in for the process pool here: what is tested is the job order, not spawn
    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor", lambda **k: ThreadPoolExecutor(2))
    assert main(["run", "stagepaper", "--scale", "quick", "--jobs", "2", "--out", str(pkg.out)]) == 0
    assert pkg.calls("sweep") == 1 and pkg.calls("model") == 1
    # --force recomputes the cached stages too, each once (a later job does not force an earlier one again)
    assert (
        main(["run", "stagepaper", "--scale", "quick", "--jobs", "2", "--force", "--out", str(pkg.out)]) == 0
    )
    assert pkg.calls("sweep") == 2 and pkg.calls("model") == 2


def test_stage_declarations_are_checked():
    from dataclasses import dataclass

    from repro.stage import Need, Stage

    @dataclass(frozen=True)
    class C:
        x: int = 1

    cfgs = {s: C() for s in ("smoke", "quick", "paper")}
    with pytest.raises(ValueError, match="must be '<paper>.<what>'"):
        Stage("nopaper", compute=lambda c: {}, configs=cfgs)
    with pytest.raises(ValueError, match="configs lack scales"):
        Stage("p.s", compute=lambda c: {}, configs={"quick": C()})
    st = Stage("p.s", compute=lambda c: {}, configs=cfgs)
    with pytest.raises(ValueError, match="identifier"):
        Stage("p.t", compute=lambda c: {}, configs=cfgs, needs={"not ok": Need(st)})
    with pytest.raises(TypeError, match="must be a repro.stage.Need"):
        Stage("p.t", compute=lambda c: {}, configs=cfgs, needs={"s": st})


def test_stage_command_computes_by_name_and_refuses_unknown_names(pkg, capsys):
    from repro.cli import main

    assert main(["stage", "stagepaper.model", "--scale", "smoke"]) == 0
    assert pkg.calls("sweep") == 1 and pkg.calls("model") == 1
    assert "stagepaper.model (smoke):" in capsys.readouterr().out
    assert main(["stage", "stagepaper.model", "stagepaper.swep", "--scale", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "did you mean stagepaper.sweep" in err and len(err.strip().splitlines()) == 1


def test_graph_nodes_carry_depth_and_cache_entry(pkg):
    from repro import paths
    from repro.cache import Cache
    from repro.stage import graph

    fig1, _ = pkg.figs
    cache = Cache(paths.cache_dir())
    nodes = graph(fig1, fig1.config("quick"), "quick", cache)
    assert [n.depth for n in nodes] == [0, 1, 2]
    assert nodes[0].entry == f"stagepaper/stage-sweep/{nodes[0].key}"
    assert (cache.root / nodes[0].entry) == cache.entry_dir(
        nodes[0] and pkg.figs[0].needs["sweep"].stage, nodes[0].key
    )


def test_a_stage_on_cuda_makes_its_figure_need_cuda_and_device_cpu_reaches_nested_configs():
    from dataclasses import dataclass, field

    from repro.figure import Figure
    from repro.run import needs_device, on_device
    from repro.stage import Need, Stage

    @dataclass(frozen=True)
    class Inner:
        device: str = "cuda"

    @dataclass(frozen=True)
    class Outer:
        inner: Inner = field(default_factory=Inner)
        paper_device: str = "cuda:0"

    scales = ("smoke", "quick", "paper")
    st = Stage("p.big", compute=lambda c: {}, configs={s: Inner() for s in scales},
               device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"})  # fmt: skip
    fig = Figure(paper="p", id="fig1", title="t", configs={s: Outer() for s in scales}, compute=lambda c, big: {},
                 plot=lambda r, c: None, claims=lambda r, c: [], needs={"big": Need(st, field="inner")})  # fmt: skip
    assert needs_device(fig, "paper") == "cuda" and needs_device(fig, "quick") == "cpu"
    moved = on_device(Outer(), "cpu")
    assert moved == Outer(inner=Inner(device="cpu"), paper_device="cpu")
