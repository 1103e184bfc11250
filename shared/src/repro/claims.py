"""Claims: a paper's statement measured over seeds, with an interval and one of four verdicts.

A claim is data: the statement, the per-seed values (or a point estimate with a bootstrap interval over items, where
the paper reports a single run), the relation and bound that the paper's statement implies, the paper's own value
with its source, and explicit preconditions. It ends in one of

- ``reproduced``: the whole 95 % interval lies on the paper's side of the bound;
- ``contradicted``: the whole interval lies on the other side;
- ``inconclusive``: the interval straddles the bound (or a single run gave no interval);
- ``not reached``: a stated precondition failed (the model did not train, ...), or the measurement is NaN/missing.

The interval over n seeds is Student's t interval of the mean (n >= 2): mean ± t(0.975, n-1) s / sqrt(n). It is
wide for n = 3, by design: a verdict must not hinge on one seed or on a machine's float rounding. A figure whose
claim is measured on a single run passes ``interval=`` from a bootstrap over items (``bootstrap_interval``). Where a
whole pipeline is repeated per seed (a model and the analysis on it), ``merge_seeds`` turns each seed's claims into one
claim with a value per seed; where the seeds carry their own intervals (a bootstrap, a count's Wilson interval) and
agree more closely than those allow (three counts of 0), the interval is widened to what they give for the mean.

Checks that hold by construction (identities, self-stitches, alpha = 0) are tests, not claims.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

RELATIONS = ("<", "<=", ">", ">=", "within")
VERDICTS = ("reproduced", "contradicted", "inconclusive", "not reached")
SOURCES = ("paper", "official code", "third party", "read off the plot", "our choice")
# A bare value passed as ``paper=`` (code written before provenance) is kept, marked "unsourced"; a test of the
# registry fails on any unsourced claim, so none reaches the committed tables.
UNSOURCED = "unsourced"
CONFIDENCE = 0.95
# Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom (scipy.stats.t.ppf(0.975, df)), so the
# claims module stays importable without scipy; beyond 30 the normal quantile is within 2 %.
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip


def t_quantile(df: int) -> float:
    return _T975[df - 1] if df <= len(_T975) else 1.96


@dataclass(frozen=True)
class Paper:
    """The paper's value for a claim and where it comes from (``source`` is one of ``SOURCES``).

    ``where`` names the place: a section/figure/table for ``paper``, file and commit for ``official code``, who for
    ``third party``, the panel for ``read off the plot``, the reason for ``our choice``.
    """

    value: float | str | None
    source: str
    where: str

    def __post_init__(self) -> None:
        if self.source not in (*SOURCES, UNSOURCED):
            raise ValueError(f"paper source must be one of {SOURCES}, got {self.source!r}")
        if not self.where:
            raise ValueError("a paper value needs `where` (section, file, who, panel or reason)")

    def text(self) -> str:
        return f"{fmt(self.value)} ({self.source}: {self.where})" if self.value is not None else self.source


def paper_text(value: float | str | None, where: str) -> Paper:
    """A value stated in the paper's text, figure or table (``where``: e.g. "Sec. 4.2" or "Fig. 3b")."""
    return Paper(value, "paper", where)


def official_code(value: float | str | None, where: str) -> Paper:
    """An output of the authors' code (``where``: file and commit, e.g. "final_figures.ipynb cell 4 @ 1a2b3c")."""
    return Paper(value, "official code", where)


def third_party(value: float | str | None, where: str) -> Paper:
    """A value from someone else's reproduction (``where``: who, e.g. "CoursIA notebook")."""
    return Paper(value, "third party", where)


def read_off_plot(value: float | str | None, where: str) -> Paper:
    """A value we read off one of the paper's plots (``where``: the panel)."""
    return Paper(value, "read off the plot", where)


def our_choice(value: float | str | None, why: str) -> Paper:
    """A bound the spec leaves open, chosen by us (``why``: the reason)."""
    return Paper(value, "our choice", why)


@dataclass(frozen=True)
class Precondition:
    """What must hold for the claim to be testable at all (e.g. "the standard MLP trained: train acc >= 0.99").

    ``values`` are the per-seed measurements behind it (shown in the table); ``met`` is decided by the figure.
    """

    statement: str
    met: bool
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "met", bool(self.met))


def precondition(statement: str, values: Any, relation: str, bound: float) -> Precondition:
    """A precondition that every value (per seed) satisfies ``value <relation> bound``; NaN never satisfies it."""
    vals = _floats(values)
    ok = bool(vals) and all(_holds(v, relation, bound) for v in vals)
    detail = f"{', '.join(fmt(v) for v in vals)} (want each {relation} {fmt(bound)})"
    return Precondition(statement, ok, detail)


def _holds(v: float, relation: str, bound: float) -> bool:
    if math.isnan(v):
        return False
    return {
        "<": v < bound,
        "<=": v <= bound,
        ">": v > bound,
        ">=": v >= bound,
        "==": v == bound,
    }[relation]


def _floats(values: Any) -> tuple[float, ...]:
    if isinstance(values, (int, float)) or (hasattr(values, "ndim") and values.ndim == 0):
        return (float(values),)
    return tuple(float(v) for v in _flatten(values))


def _flatten(values: Any) -> Iterable[Any]:
    if hasattr(values, "tolist"):
        values = values.tolist()
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from _flatten(v)
        else:
            yield v


def mean_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """Student's t 95 % interval of the mean; None for fewer than two values."""
    n = len(values)
    if n < 2:
        return None
    if min(values) == max(values):  # no spread: exactly the value (a float sum would move it by an ulp)
        return (values[0], values[0])
    m = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - m) ** 2 for v in values) / (n - 1))
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    return (m - half, m + half)


def bootstrap_interval(
    items: Any,
    statistic: Callable[[Any], float] | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile 95 % bootstrap interval of ``statistic`` (default: the mean) over the rows of ``items``.

    For claims whose paper reports one run (one crosscoder, one LLM): resample the items (latents, windows, pairs)
    with a fixed seed, so the interval is the same on every machine up to float rounding.
    """
    import numpy as np

    arr = np.asarray(items)
    if len(arr) == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(arr), size=(n_resamples, len(arr)))
    if statistic is None:
        stats = arr[idx].mean(axis=1) if arr.ndim == 1 else arr[idx].mean(axis=1).mean(axis=-1)
    else:
        stats = np.array([statistic(arr[i]) for i in idx], dtype=float)
    lo, hi = np.nanpercentile(stats, [2.5, 97.5])
    return (float(lo), float(hi))


def count_interval(successes: int, trials: int) -> tuple[float, float]:
    """95 % Wilson score interval of a count ``successes`` out of ``trials`` (in counts, not a fraction).

    For counts of items passing a threshold (latents, pairs): a bootstrap of 0 out of n gives the interval [0, 0],
    as if a count of zero were certain; the Wilson interval of 0/n reaches about 3.8 items (the rule of three),
    so a zero count is never more certain than its sample size allows."""
    if trials <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    z = 1.959963984540054
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return (lo * trials, hi * trials)


@dataclass(frozen=True)
class Claim:
    """One checkable statement of the paper, measured over seeds. See the module docstring for the verdicts.

    ``values``: one number per seed (a float is a single run). ``interval``: pass it when the spread comes from a
    bootstrap over items rather than from seeds; otherwise it is the t interval of ``values``. ``relation`` and
    ``bound`` state which side of the bound the paper's statement is on; ``within`` means ``|x - bound| <= tolerance``.
    ``preconditions`` must all be met for the claim to be tested. ``paper``: the paper's value and its source.
    ``variant``: the variant (``official``/``fixed``/...) the claim was measured on, when a figure has several.
    ``censored``: per value, ``">="`` where it is only a lower bound of the truth (a time to an event that the run
    stopped before) or ``"<="`` an upper bound; such values can block a verdict, never make one.
    """

    statement: str
    values: Any
    relation: str
    bound: float
    paper: Paper | None = None
    tolerance: float | None = None
    unit: str = ""
    variant: str | None = None
    preconditions: tuple[Precondition, ...] = ()
    interval: tuple[float, float] | None = None
    spread: str = ""  # how the interval was made: "3 seeds", "bootstrap over 412 latents", ...
    note: str = ""  # why the verdict came out as it did, when the numbers alone do not say
    # per value: "" (exact), ">=" (the true value is at least this: a run stopped before the event it times) or "<="
    censored: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        relation = self.relation
        if relation == "==":  # an exact equality is a within-claim with no tolerance
            object.__setattr__(self, "relation", "within")
            object.__setattr__(self, "tolerance", self.tolerance or 0.0)
        elif relation not in RELATIONS:
            raise ValueError(f"claim relation must be one of {RELATIONS}, got {relation!r}")
        if self.relation == "within" and self.tolerance is None:
            raise ValueError("a 'within' claim needs a tolerance")
        if self.paper is not None and not isinstance(self.paper, Paper):
            object.__setattr__(self, "paper", Paper(self.paper, UNSOURCED, "no source given"))
        # Plain floats so claims serialise to JSON whatever array type produced them.
        object.__setattr__(self, "values", _floats(self.values))
        object.__setattr__(self, "bound", float(self.bound))
        object.__setattr__(self, "preconditions", tuple(self.preconditions))
        if self.interval is not None:
            lo, hi = (float(x) for x in self.interval)
            object.__setattr__(self, "interval", (lo, hi))
        censored = tuple(self.censored)
        if censored and (len(censored) != len(self.values) or not set(censored) <= {"", ">=", "<="}):
            raise ValueError("censored needs one of '', '>=', '<=' per value")
        object.__setattr__(self, "censored", censored if any(censored) else ())
        if not self.spread:
            n = len(self.values)
            spread = "bootstrap" if self.interval is not None else f"{n} seed{'s' * (n != 1)}"
            object.__setattr__(self, "spread", spread)

    # ---------------------------------------------------------------------------------------------- the numbers
    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def measured(self) -> float:
        """The mean over seeds (the point estimate when one value is given)."""
        if not self.values:
            return math.nan
        if min(self.values) == max(self.values):
            return self.values[0]
        return math.fsum(self.values) / len(self.values)

    @property
    def ci(self) -> tuple[float, float] | None:
        """The 95 % interval: the bootstrap one when given, else the t interval over seeds (None for n = 1)."""
        if self.interval is not None:
            return self.interval
        return mean_interval(self.values)

    # --------------------------------------------------------------------------------------------- the verdict
    @property
    def unmet(self) -> list[Precondition]:
        return [p for p in self.preconditions if not p.met]

    @property
    def verdict(self) -> str:
        return self._decide()[0]

    @property
    def reason(self) -> str:
        """Why the verdict is what it is, in a few words (the table's last column)."""
        return self._decide()[1]

    def _decide(self) -> tuple[str, str]:
        if self.unmet:
            return "not reached", "; ".join(f"{p.statement}: {p.detail or 'not met'}" for p in self.unmet)
        if not self.values or any(math.isnan(v) for v in self.values):
            return "not reached", "the measurement is missing or NaN"
        ci = self.ci
        if ci is None:
            return "inconclusive", "a single run has no interval"
        lo, hi = ci
        if math.isnan(lo) or math.isnan(hi):
            return "not reached", "the interval is NaN"
        b = self.bound
        if self.relation == "within":
            t = float(self.tolerance or 0.0)
            inside = b - t <= lo and hi <= b + t
            outside = hi < b - t or lo > b + t
        elif self.relation in (">", ">="):
            inside = lo > b if self.relation == ">" else lo >= b
            outside = hi <= b if self.relation == ">" else hi < b
        else:
            inside = hi < b if self.relation == "<" else hi <= b
            outside = lo >= b if self.relation == "<" else lo > b
        # a censored value is a bound on the truth: a lower bound could hide a larger value, an upper bound a smaller
        # one, so the interval can only stand on the side that such values would push it further into
        low, high = ">=" in self.censored, "<=" in self.censored
        if self.relation == "within":
            blocks_inside = blocks_outside = low or high
        elif self.relation in ("<", "<="):  # the paper's side is below the bound
            blocks_inside, blocks_outside = low, high
        else:
            blocks_inside, blocks_outside = high, low
        if inside and blocks_inside or outside and blocks_outside:
            return (
                "inconclusive",
                "censored values (bounds, not exact) could move the interval across the bound",
            )
        if inside:
            return "reproduced", "the whole interval is on the paper's side"
        if outside:
            return "contradicted", "the whole interval is on the other side"
        return "inconclusive", "the interval straddles the bound"

    @property
    def passed(self) -> bool:
        """True only for ``reproduced`` (kept for plots that colour a claim)."""
        return self.verdict == "reproduced"

    @property
    def margin(self) -> float:
        """Distance from the interval's nearer edge to the bound (how close a verdict is to moving), >= 0."""
        ci = self.ci or (self.measured, self.measured)
        edges = [self.bound]
        if self.relation == "within":
            t = float(self.tolerance or 0.0)
            edges = [self.bound - t, self.bound + t]
        return min(abs(e - x) for e in edges for x in ci)

    @property
    def expected(self) -> str:
        """The paper's side of the bound as text, e.g. ``< 0.001`` or ``0.925 ± 0.01``."""
        if self.relation == "within":
            return f"{fmt(self.bound)} ± {fmt(self.tolerance)}"
        return f"{self.relation} {fmt(self.bound)}"

    @property
    def key(self) -> tuple[str, str]:
        """What identifies a claim across runs (``repro check`` matches committed and fresh verdicts on it)."""
        return (self.statement, self.variant or "")

    def measured_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        ci = self.ci
        if ci is None:
            return f"{fmt(self.measured)}{unit} (n={self.n})"
        return f"{fmt(self.measured)}{unit} [{fmt(ci[0])}, {fmt(ci[1])}] ({self.spread})"

    # ------------------------------------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        ci = self.ci
        return {
            "statement": self.statement,
            "variant": self.variant,
            "values": list(self.values),
            "measured": _json_float(self.measured),
            "interval": [_json_float(x) for x in ci] if ci else None,
            "spread": self.spread,
            "relation": self.relation,
            "bound": self.bound,
            "tolerance": self.tolerance,
            "unit": self.unit,
            "expected": self.expected,
            "paper": None
            if self.paper is None
            else {"value": self.paper.value, "source": self.paper.source, "where": self.paper.where},
            "preconditions": [
                {"statement": p.statement, "met": p.met, "detail": p.detail} for p in self.preconditions
            ],
            "verdict": self.verdict,
            "reason": self.reason,
            "note": self.note,
            "bootstrap_interval": self.interval is not None,
            **({"censored": list(self.censored)} if self.censored else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Claim:
        paper = d.get("paper")
        values = d.get("values")
        if values is None:  # written before claims had seeds: one value
            values = (d["measured"],)
        return cls(
            statement=d["statement"],
            values=tuple(math.nan if v is None else v for v in values),
            relation=d["relation"],
            bound=d["bound"],
            paper=Paper(**paper) if isinstance(paper, dict) else None,
            tolerance=d.get("tolerance"),
            unit=d.get("unit", ""),
            variant=d.get("variant"),
            preconditions=tuple(Precondition(**p) for p in d.get("preconditions", ())),
            interval=tuple(math.nan if x is None else x for x in d["interval"])
            if d.get("bootstrap_interval") and d.get("interval")
            else None,
            spread=d.get("spread", ""),
            note=d.get("note", ""),
            censored=tuple(d.get("censored", ())),
        )

    def line(self) -> str:
        """A one-line rendering for plot footers and terminals."""
        tag = f"[{self.variant}] " if self.variant else ""
        paper = f"; paper {fmt(self.paper.value)} ({self.paper.source})" if self.paper is not None else ""
        return f"{self.verdict.upper()} {tag}{self.statement}: {self.measured_text()} (want {self.expected}{paper})"


def _json_float(x: float) -> float | None:
    return None if math.isnan(x) else x


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


def counts(claims: Iterable[Claim]) -> dict[str, int]:
    """How many claims ended in each verdict, in the order of ``VERDICTS``."""
    out = dict.fromkeys(VERDICTS, 0)
    for c in claims:
        out[c.verdict] += 1
    return out


def counts_text(claims: Iterable[Claim]) -> str:
    """``41 reproduced, 6 contradicted, 5 inconclusive, 2 not reached``."""
    return ", ".join(f"{n} {v}" for v, n in counts(claims).items())


def paper_counts_markdown(rows: Iterable[tuple[str, Sequence[Claim]]]) -> str:
    """A table of verdict counts per paper from ``(figure name, claims)`` rows (names are ``paper:fig``)."""
    papers: dict[str, list[Claim]] = {}
    for name, claims in rows:
        papers.setdefault(name.strip("`").split(":")[0], []).extend(claims)
    out = ["| paper | " + " | ".join(VERDICTS) + " |", "|---|" + "---|" * len(VERDICTS)]
    for paper, cs in papers.items():
        out.append(f"| {paper} | " + " | ".join(str(n) for n in counts(cs).values()) + " |")
    return "\n".join(out)


VERDICT_MARK = {"reproduced": "✅", "contradicted": "❌", "inconclusive": "❔", "not reached": "⛔"}


def markdown_table(rows: list[tuple[str, Claim]]) -> str:
    """Render ``(figure label, claim)`` rows as a GitHub Markdown table."""
    out = [
        "| figure | claim | variant | measured [95% interval] | paper's side | paper (source) | verdict |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace(
            "\n", " "
        )  # statements like max|W - X| must not split the row

    for label, c in rows:
        verdict = f"{VERDICT_MARK[c.verdict]} {c.verdict}"
        if c.verdict == "not reached":
            verdict += f": {cell(c.reason)}"
        paper = cell(c.paper.text()) if c.paper is not None else "no source"
        out.append(
            f"| {label} | {cell(c.statement)} | {c.variant or ''} | {cell(c.measured_text())} | "
            f"{cell(c.expected)} | {paper} | {verdict} |"
        )
    return "\n".join(out)


@dataclass(frozen=True)
class Change:
    """A claim whose fresh verdict differs from the committed one (``repro check``)."""

    figure: str
    statement: str
    variant: str
    old: str | None  # None: a new claim
    new: str | None  # None: the claim is gone
    interval: str = ""
    margin: float = math.nan

    @property
    def severity(self) -> str:
        """``error`` for a flip between reproduced and contradicted or to/from not reached; else ``warning``."""
        if self.old is None or self.new is None:
            return "warning"
        pair = {self.old, self.new}
        if pair == {"reproduced", "contradicted"} or "not reached" in pair:
            return "error"
        return "warning"


def compare(figure: str, committed: Sequence[Claim], fresh: Sequence[Claim]) -> list[Change]:
    """The verdict changes between a committed and a fresh list of claims (matched by statement and variant)."""
    old = {c.key: c for c in committed}
    new = {c.key: c for c in fresh}
    changes = []
    for k, c in new.items():
        before = old.get(k)
        if before is None or before.verdict != c.verdict:
            changes.append(
                Change(
                    figure,
                    k[0],
                    k[1],
                    before.verdict if before else None,
                    c.verdict,
                    c.measured_text(),
                    c.margin,
                )
            )
    changes += [Change(figure, k[0], k[1], c.verdict, None) for k, c in old.items() if k not in new]
    return changes


@dataclass(frozen=True)
class ClaimSet:
    """A helper for figures: the same seeds and variant for a run of claims (keeps claim lists short)."""

    variant: str | None = None
    preconditions: tuple[Precondition, ...] = field(default_factory=tuple)

    def claim(self, statement: str, values: Any, relation: str, bound: float, **kw: Any) -> Claim:
        kw.setdefault("variant", self.variant)
        kw["preconditions"] = (*self.preconditions, *kw.get("preconditions", ()))
        return Claim(statement, values, relation, bound, **kw)


def merge_seeds(per_seed: Sequence[Sequence[Claim]], what: str = "seeds") -> list[Claim]:
    """One claim per (statement, variant) from the claims each independent seed produced on its own (each seed a
    whole pipeline: its own model, its own crosscoder, ...): the values are the seeds' point estimates (NaN where a
    seed lacks the claim, so it cannot pass), the interval the t interval over seeds (each seed's own bootstrap is
    dropped: the spread between seeds is the larger one), a precondition is met only when every seed meets it.
    Statement, bound, paper value and variant come from the first seed that has the claim; its note is kept."""
    keyed: dict[tuple[str, str | None], list[Claim | None]] = {}
    for j, claims in enumerate(per_seed):
        for c in claims:
            keyed.setdefault((c.statement, c.variant), [None] * len(per_seed))[j] = c
    out = []
    for slots in keyed.values():
        first = next(c for c in slots if c is not None)
        pres: dict[str, list[str]] = {}
        met: dict[str, bool] = {}
        for j, c in enumerate(slots):
            for p in c.preconditions if c is not None else ():
                pres.setdefault(p.statement, []).append(f"seed {j}: {p.detail}" if p.detail else f"seed {j}")
                met[p.statement] = met.get(p.statement, True) and p.met
        preconditions = tuple(Precondition(s, met[s], "; ".join(d)) for s, d in pres.items())
        values = [c.measured if c is not None else math.nan for c in slots]
        # None: the t interval of the values stands
        interval = _widened(values, [c.interval if c is not None else None for c in slots])
        spread = f"{len(slots)} {what} (t interval{'' if interval is None else WIDENED})" + (
            f"; within a seed: {first.spread}" if first.spread else ""
        )
        out.append(
            Claim(
                first.statement,
                values,
                first.relation,
                first.bound,
                paper=first.paper,
                tolerance=first.tolerance,
                unit=first.unit,
                variant=first.variant,
                preconditions=preconditions,
                interval=interval,
                spread=spread,
                note=first.note,
            )  # fmt: skip
        )
    return out


WIDENED = ", widened to the seeds' own intervals"


def _widened(
    values: Sequence[float], own: Sequence[tuple[float, float] | None]
) -> tuple[float, float] | None:
    """The t interval of ``values``, widened on either side to what the seeds' own intervals (``own``: a bootstrap or
    count interval per seed) give for the mean of independent estimates, m -/+ sqrt(sum of the seeds' squared
    half-widths on that side) / n; None where that widens nothing (the t interval stands), where a seed has no
    interval of its own, or for fewer than two seeds. Three seeds can agree exactly by chance (a count of 0 latents
    in each): their t interval is then a point, as certain as no sample of that size allows."""
    n = len(values)
    t = mean_interval(values)
    if t is None or any(o is None for o in own) or any(math.isnan(v) for v in values):
        return None
    m = math.fsum(values) / n
    below = math.sqrt(math.fsum((v - lo) ** 2 for v, (lo, _) in zip(values, own, strict=True))) / n
    above = math.sqrt(math.fsum((hi - v) ** 2 for v, (_, hi) in zip(values, own, strict=True))) / n
    if math.isnan(below) or math.isnan(above):
        return None
    wide = (min(t[0], m - below), max(t[1], m + above))
    return None if wide == t else wide
