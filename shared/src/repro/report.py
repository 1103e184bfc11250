"""``repro report``: one self-contained HTML page of a run's figures and verdicts.

It reads what a run wrote (``results/<paper>/figN[_scale].json`` and the PNG beside it), so it needs no compute and
no cache. The page embeds every image (base64), lists each figure with its cache status and run time, and holds the
claims table with filters by paper, figure and verdict; each claim's interval is drawn against its bound. It has no
external resources: it opens offline and can be attached to a CI run as one file.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from repro import paths
from repro.claims import VERDICTS, Claim, counts_text
from repro.figure import ReproError

COLOURS = {
    "reproduced": "#1a7f37",
    "contradicted": "#cf222e",
    "inconclusive": "#9a6700",
    "not reached": "#57606a",
}


def _reports(results: Path, scale: str, paper: str | None) -> list[tuple[dict[str, Any], Path]]:
    suffix = "" if scale == "quick" else f"_{scale}"
    out = []
    for js in sorted(results.glob(f"*/*{suffix}.json")):
        stem = js.stem
        if scale == "quick" and "_" in stem:  # another scale's or variant's file
            continue
        try:
            report = json.loads(js.read_text())
        except ValueError:
            continue
        if not isinstance(report, dict) or report.get("scale") != scale or "claims" not in report:
            continue
        if paper and not report["figure"].startswith(f"{paper}:"):
            continue
        out.append((report, js.with_suffix(".png")))
    return out


def interval_svg(c: Claim, width: int = 160, height: int = 18) -> str:
    """The claim's interval (bar), mean (dot) and bound (line; a band for ``within``), on a shared axis."""
    ci = c.ci or (c.measured, c.measured)
    pts = [x for x in (*ci, c.measured, c.bound) if not math.isnan(x)]
    if c.relation == "within":
        pts += [c.bound - (c.tolerance or 0), c.bound + (c.tolerance or 0)]
    if not pts:
        return ""
    lo, hi = min(pts), max(pts)
    pad = (hi - lo) * 0.1 or abs(hi) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return round(4 + (width - 8) * (v - lo) / (hi - lo), 1)

    colour = COLOURS[c.verdict]
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="interval">']
    if c.relation == "within":
        t = c.tolerance or 0
        parts.append(
            f'<rect x="{x(c.bound - t)}" y="2" width="{max(x(c.bound + t) - x(c.bound - t), 1)}" '
            f'height="{height - 4}" fill="#ddd"/>'
        )
    parts.append(f'<line x1="{x(c.bound)}" x2="{x(c.bound)}" y1="1" y2="{height - 1}" stroke="#000"/>')
    if not any(math.isnan(v) for v in ci):
        parts.append(
            f'<line x1="{x(ci[0])}" x2="{x(ci[1])}" y1="{height / 2}" y2="{height / 2}" '
            f'stroke="{colour}" stroke-width="4"/>'
        )
    if not math.isnan(c.measured):
        parts.append(f'<circle cx="{x(c.measured)}" cy="{height / 2}" r="3" fill="{colour}"/>')
    return "".join(parts) + "</svg>"


def render(reports: list[tuple[dict[str, Any], Path]], scale: str) -> str:
    e = html.escape
    figures, rows, all_claims = [], [], []
    for report, png in reports:
        name = report["figure"]
        claims = [Claim.from_dict(c) for c in report["claims"]]
        all_claims += claims
        t = report.get("timings_seconds", {})
        cache = "restored from the cache" if report.get("restored_from_cache") else "computed"
        img = ""
        if png.is_file():
            data = base64.b64encode(png.read_bytes()).decode()
            img = f'<img alt="{e(name)}" src="data:image/png;base64,{data}">'
        figures.append(
            f'<section class="fig" id="{e(name)}"><h2>{e(name)}: {e(report.get("title", ""))}</h2>'
            f"<p>{e(counts_text(claims))} · {cache} · compute {t.get('compute', 0):.1f} s, "
            f"this run {t.get('wall', 0):.1f} s · config <code>{e(report.get('config_hash', ''))}</code></p>"
            f"{img}</section>"
        )
        paper = name.split(":")[0]
        for c in claims:
            source = e(c.paper.text()) if c.paper is not None else ""
            rows.append(
                f'<tr data-paper="{e(paper)}" data-figure="{e(name)}" data-verdict="{e(c.verdict)}">'
                f"<td>{e(name)}</td><td>{e(c.statement)}</td><td>{e(c.variant or '')}</td>"
                f"<td>{e(c.measured_text())}</td><td>{interval_svg(c)}</td><td>{e(c.expected)}</td>"
                f"<td>{source}</td>"
                f'<td style="color:{COLOURS[c.verdict]}">{e(c.verdict)}'
                f"{': ' + e(c.reason) if c.verdict == 'not reached' else ''}</td></tr>"
            )

    def options(values: list[str]) -> str:
        return '<option value="">all</option>' + "".join(
            f'<option value="{e(v)}">{e(v)}</option>' for v in values
        )

    papers = sorted({r["figure"].split(":")[0] for r, _ in reports})
    names = [r["figure"] for r, _ in reports]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>paper-repro report ({e(scale)})</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1f2328; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #ddd; padding: 3px 6px;
vertical-align: top; text-align: left; }} img {{ max-width: 100%; }} .fig {{ margin: 2em 0; }}
label {{ margin-right: 1em; }}
</style></head><body>
<h1>paper-repro: verdicts at <code>{e(scale)}</code> scale</h1>
<p>{len(reports)} figure(s); claims: {e(counts_text(all_claims))}. Each claim: the mean over seeds with its 95%
interval (or a bootstrap over items where the paper has one run); the black line is the bound.</p>
<p><label>paper <select id="f-paper">{options(papers)}</select></label>
<label>figure <select id="f-figure">{options(names)}</select></label>
<label>verdict <select id="f-verdict">{options(list(VERDICTS))}</select></label>
<span id="shown"></span></p>
<table id="claims"><thead><tr><th>figure</th><th>claim</th><th>variant</th><th>measured [95% interval]</th>
<th>interval vs bound</th><th>paper's side</th><th>paper (source)</th><th>verdict</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
{"".join(figures)}
<script>
function applyFilters() {{
  const want = {{paper: document.getElementById("f-paper").value,
                figure: document.getElementById("f-figure").value,
                verdict: document.getElementById("f-verdict").value}};
  let shown = 0;
  for (const row of document.querySelectorAll("#claims tbody tr")) {{
    const ok = Object.entries(want).every(([k, v]) => !v || row.dataset[k] === v);
    row.style.display = ok ? "" : "none";
    shown += ok ? 1 : 0;
  }}
  document.getElementById("shown").textContent = shown + " claim(s) shown";
}}
for (const id of ["f-paper", "f-figure", "f-verdict"]) {{
  document.getElementById(id).addEventListener("change", applyFilters);
}}
applyFilters();
</script>
</body></html>
"""


def write_report(
    scale: str = "quick", paper: str | None = None, results: Path | None = None, out: Path | None = None
) -> Path:
    """Write the page for the run at ``scale`` found under ``results`` (default ``results/``); returns its path."""
    from repro.cache import atomic_write_text

    results = Path(results) if results else paths.figures_dir()
    reports = _reports(results, scale, paper)
    if not reports:
        raise ReproError(
            f"no figures of a {scale}-scale run under {results}: run one first (`repro fig3 --scale {scale}`) "
            "or point --results at a run's output folder"
        )
    out = Path(out) if out else results / f"report_{scale}.html"
    from repro.faults import check_writable

    check_writable(out.parent, "--out folder")  # one line, not a traceback, when it cannot be made or written
    atomic_write_text(out, render(reports, scale))
    return out
