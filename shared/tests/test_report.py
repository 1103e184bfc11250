"""`repro report`: one self-contained HTML page, opened in headless Chromium (Debian's, installed by .ci/run)."""

import os
import shutil

import pytest

from repro.cli import EXIT_BAD_INPUT, EXIT_OK, main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_without_a_run_is_one_line(capsys, tmp_path):
    code = main(["report", "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and err.count("\n") == 1 and "run one first" in err


def test_report_to_a_folder_that_cannot_be_made_is_one_line(toy, capsys, tmp_path):
    from repro.cli import EXIT_STORAGE

    assert main(["toypaper", "fig1"]) == EXIT_OK
    loop = tmp_path / "loop"
    loop.symlink_to(loop)  # mkdir under it fails with ELOOP, which no fix of faults.describe covers
    capsys.readouterr()
    code = main(["report", "--out", str(loop / "sub" / "report.html")])
    err = capsys.readouterr().err
    assert code == EXIT_STORAGE and err.count("\n") == 1 and "cannot be created" in err, err


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="no chromium on this machine")
def test_report_renders_in_headless_chromium_without_console_errors(toy, capsys, tmp_path):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "CI installs Debian's chromium (.ci/run): it is missing"
    assert main(["toypaper", "fig1"]) == EXIT_OK
    out = tmp_path / "report.html"
    assert main(["report", "--out", str(out)]) == EXIT_OK
    text = out.read_text()
    assert "http://" not in text and "https://" not in text, "the page must be self-contained"
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(out.as_uri())
        images = page.eval_on_selector_all("img", "els => els.map(e => e.complete && e.naturalWidth > 0)")
        rows = page.locator("#claims tbody tr")
        assert rows.count() == 2
        page.select_option("#f-verdict", "contradicted")
        hidden = page.eval_on_selector_all(
            "#claims tbody tr", "els => els.filter(e => e.style.display === 'none').length"
        )
        shown_text = page.text_content("#shown")
        browser.close()
    assert not errors, errors
    assert images == [True], "every image renders"
    assert hidden == 2 and shown_text == "0 claim(s) shown"  # the toy's claims are all reproduced
