"""repro.function_vectors: the function-vector task files, and one-line errors naming the download."""

import json

import pytest

from repro.figure import ReproError
from repro.function_vectors import read_tasks


def test_reads_named_or_all_task_files(tmp_path):
    (tmp_path / "b.json").write_text(json.dumps([{"input": "cat", "output": "chat"}]))
    (tmp_path / "a.json").write_text(
        json.dumps([{"input": "go", "output": "went"}, {"input": "see", "output": "saw"}])
    )
    assert read_tasks(tmp_path) == {"a": [("go", "went"), ("see", "saw")], "b": [("cat", "chat")]}
    assert list(read_tasks(tmp_path, ("b",))) == ["b"]


@pytest.mark.parametrize("case", ["no folder", "empty folder", "missing name", "truncated"])
def test_problems_are_one_line_naming_the_download(tmp_path, case):
    folder, names = tmp_path, None
    if case == "no folder":
        folder = None
    elif case == "missing name":
        (tmp_path / "a.json").write_text("[]")
        names = ("a", "country-capital")
    elif case == "truncated":
        (tmp_path / "a.json").write_text('[{"input": "go", ')
    with pytest.raises(ReproError) as e:
        read_tasks(folder, names, how_to_pass="--set tasks_dir=FOLDER")
    msg = str(e.value)
    assert "\n" not in msg and "ericwtodd/function_vectors" in msg
    if case == "missing name":
        assert "country-capital" in msg and "--set tasks_dir=FOLDER" in msg
