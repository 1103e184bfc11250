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
