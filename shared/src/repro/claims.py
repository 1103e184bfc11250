"""Claims: a paper's statement checked as a number on a figure's result.

A claim is data (statement, measured value, relation, bound, the paper's own value), evaluated after the figure is
computed and written into ``figN.json`` and under the plot, so a reader sees paper vs reproduction side by side.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

RELATIONS = ("<", "<=", ">", ">=", "==", "within")


@dataclass(frozen=True)
class Claim:
    """One checkable statement.

    ``measured <relation> bound`` decides pass/fail. For ``within``, the claim passes when
    ``|measured - bound| <= tolerance``. ``paper`` is the paper's own value (number or short text), for display only.
    ``variant`` names the variant the claim was measured on (``official``/``fixed``) when a figure has several.
    """

    statement: str
    measured: float
    relation: str
    bound: float
    paper: float | str | None = None
    tolerance: float | None = None
    unit: str = ""
    variant: str | None = None

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"claim relation must be one of {RELATIONS}, got {self.relation!r}")
        if self.relation == "within" and self.tolerance is None:
            raise ValueError("a 'within' claim needs a tolerance")
        # Store plain floats so claims serialise to JSON whatever array type produced them.
        object.__setattr__(self, "measured", float(self.measured))
        object.__setattr__(self, "bound", float(self.bound))

    @property
    def passed(self) -> bool:
        m, b = self.measured, self.bound
        if math.isnan(m):
            return False
        if self.relation == "<":
            return m < b
        if self.relation == "<=":
            return m <= b
        if self.relation == ">":
            return m > b
        if self.relation == ">=":
            return m >= b
        if self.relation == "==":
            return m == b
        return abs(m - b) <= float(self.tolerance)  # within

    @property
    def expected(self) -> str:
        """The pass condition as text, e.g. ``< 0.001`` or ``0.925 ± 0.01``."""
        if self.relation == "within":
            return f"{fmt(self.bound)} ± {fmt(self.tolerance)}"
        return f"{self.relation} {fmt(self.bound)}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passed"] = self.passed
        d["expected"] = self.expected
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Claim:
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**fields)

    def line(self) -> str:
        """A one-line rendering for plot footers and terminals."""
        mark = "PASS" if self.passed else "FAIL"
        tag = f"[{self.variant}] " if self.variant else ""
        paper = f"; paper {fmt(self.paper)}" if self.paper is not None else ""
        unit = f" {self.unit}" if self.unit else ""
        return f"{mark} {tag}{self.statement}: {fmt(self.measured)}{unit} (want {self.expected}{paper})"


def fmt(x: Any) -> str:
    """Short human formatting for numbers of very different scales."""
    if isinstance(x, str) or x is None:
        return str(x)
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == 0:
        return "0"
    if x == int(x) and abs(x) < 1e6:
        return str(int(x))
    if abs(x) >= 1e4 or abs(x) < 1e-2:
        return f"{x:.2e}"
    return f"{x:.3g}"


def markdown_table(rows: list[tuple[str, Claim]]) -> str:
    """Render ``(figure label, claim)`` rows as a GitHub Markdown table."""
    out = [
        "| figure | claim | variant | measured | expected | paper | status |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(text: str) -> str:
        return text.replace("|", "\\|")  # statements like max|W - X| must not split the row

    for label, c in rows:
        status = "✅ pass" if c.passed else "❌ fail"
        unit = f" {c.unit}" if c.unit else ""
        out.append(
            f"| {label} | {cell(c.statement)} | {c.variant or ''} | {fmt(c.measured)}{unit} | {c.expected} | "
            f"{cell(fmt(c.paper)) if c.paper is not None else ''} | {status} |"
        )
    return "\n".join(out)
