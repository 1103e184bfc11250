"""The GitHub Actions workflows validate against the official schema (offline: the schema ships in the package)."""

import shutil
import subprocess
from pathlib import Path

import pytest

WORKFLOWS = sorted((Path(__file__).resolve().parents[1] / ".github" / "workflows").glob("*.yml"))


def test_both_workflows_exist():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "reproduce.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_github_schema(workflow):
    exe = shutil.which("check-jsonschema")
    assert exe, "check-jsonschema is a dev dependency: run `uv sync`"
    r = subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", str(workflow)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    r = subprocess.run(
        [shutil.which("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0


def test_reproduce_matrix_comes_from_the_stage_graph():
    """`repro graph --json | scripts/stage_matrix.py` gives reproduce.yml its jobs: every stage of every figure
    once, in a wave after the stages it reads, and one figures job per paper; the workflow has every wave."""
    import json
    import sys

    from repro.stage import CI_WAVES

    root = Path(__file__).resolve().parents[1]
    graph = subprocess.run(
        [sys.executable, "-m", "repro.cli", "graph", "--scale", "paper", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    ).stdout
    out = subprocess.run(
        [sys.executable, str(root / "scripts" / "stage_matrix.py")],
        input=graph,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    matrices = dict(line.split("=", 1) for line in out.strip().splitlines())
    matrices = {k: json.loads(v) for k, v in matrices.items()}
    nodes = json.loads(graph)["nodes"]
    stages = {n["key"]: n for n in nodes if n["kind"] == "stage"}
    wave_of = {
        row["key"]: int(w.removeprefix("wave"))
        for w, rows in matrices.items()
        if w.startswith("wave")
        for row in rows
    }
    assert sorted(wave_of) == sorted(stages)
    for key, n in stages.items():
        assert all(wave_of[k] < wave_of[key] for k in n["needs"]), f"{n['name']} runs before what it reads"
    assert {r["paper"] for r in matrices["papers"]} == {
        n["name"].split(":")[0] for n in nodes if n["kind"] == "figure"
    }
    labels = [r["label"] for w, rows in matrices.items() if w.startswith("wave") for r in rows]
    assert len(set(labels)) == len(labels)  # one title per job, also for the chunks of a sweep
    assert sum(n["name"] == "harmonic_loss.toy_stack" for n in stages.values()) > 1  # chunks are jobs
    from repro.stage import read_configs

    assert set(stages) <= set(
        read_configs("paper")
    )  # each job's `repro stage NAME --key KEY` finds its config
    workflow = (root / ".github" / "workflows" / "reproduce.yml").read_text()
    for i in range(CI_WAVES):
        assert f"wave{i}: ${{{{ steps.graph.outputs.wave{i} }}}}" in workflow


def test_stage_matrix_refuses_a_graph_deeper_than_the_workflow():
    from repro.figure import ReproError
    from repro.stage import CI_WAVES, ci_matrix

    deep = {
        "nodes": [
            {
                "kind": "stage",
                "name": "p.s",
                "key": "k",
                "entry": "p/stage-s/k",
                "device": "cpu",
                "depth": CI_WAVES,
            }
        ]
    }
    with pytest.raises(ReproError, match="add a wave job"):
        ci_matrix(deep)


def test_stage_by_key_computes_one_chunk(tmp_path):
    """`repro stage NAME --key KEY` (a job of reproduce-stage.yml) computes exactly that node of the graph, here
    one chunk of the harmonic toy sweep; an unknown key is a one-line error naming how to list the keys."""
    import os
    import sys

    from harmonic_loss.stages import SWEEPS, TOY_STACK
    from harmonic_loss.toy_config import sweep_chunks
    from repro.cache import cache_key

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "REPRO_CACHE_DIR": str(tmp_path), "REPRO_PROGRESS": "0"}
    chunk = sweep_chunks(SWEEPS["smoke"])[3]
    key = cache_key(TOY_STACK, chunk)
    cmd = [sys.executable, "-m", "repro.cli", "stage", TOY_STACK.name, "--scale", "smoke", "--key"]
    r = subprocess.run([*cmd, key], capture_output=True, text=True, cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{TOY_STACK.name} (smoke): {key}"
    entries = [e.name for e in (tmp_path / "harmonic_loss" / TOY_STACK.id).iterdir() if e.is_dir()]
    assert entries == [key]  # that chunk, and no other
    bad = subprocess.run([*cmd, "0" * 16], capture_output=True, text=True, cwd=root, env=env)
    assert bad.returncode == 2 and "repro graph --scale smoke --json" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
