"""Claims: intervals over seeds, the four verdicts, provenance, and the comparison `repro check` gates on."""

import math

import numpy as np
import pytest

from repro.claims import (
    Claim,
    Paper,
    bootstrap_interval,
    compare,
    counts_text,
    mean_interval,
    our_choice,
    paper_text,
    precondition,
)


def test_t_interval_matches_scipy():
    from scipy import stats

    for vals in ([0.9, 0.95, 0.99], [1.0, 2.0], list(np.linspace(0, 1, 20))):
        lo, hi = mean_interval(vals)
        ref = stats.t.interval(0.95, len(vals) - 1, loc=np.mean(vals), scale=stats.sem(vals))
        assert lo == pytest.approx(ref[0], rel=1e-4) and hi == pytest.approx(ref[1], rel=1e-4)
    assert mean_interval([1.0]) is None


@pytest.mark.parametrize(
    "values, relation, bound, verdict",
    [
        ([0.98, 0.99, 1.0], ">=", 0.9, "reproduced"),
        ([0.50, 0.52, 0.51], ">=", 0.9, "contradicted"),
        ([0.5, 0.9, 1.3], ">=", 0.9, "inconclusive"),
        ([0.01, 0.02, 0.015], "<", 0.1, "reproduced"),
        ([0.3, 0.31, 0.29], "<", 0.1, "contradicted"),
        ([1.0, 1.0, 1.0], ">=", 1.0, "reproduced"),
        ([1.0, 1.0, 1.0], ">", 1.0, "contradicted"),
        ([0.924, 0.926, 0.925], "within", 0.925, "reproduced"),
        ([0.5, 0.51, 0.52], "within", 0.925, "contradicted"),
        ([0.9], ">=", 0.5, "inconclusive"),  # one run: no interval, whatever the value
        ([0.9, math.nan, 0.95], ">=", 0.5, "not reached"),
    ],
)
def test_four_verdicts(values, relation, bound, verdict):
    c = Claim("x", values, relation, bound, tolerance=0.01 if relation == "within" else None)
    assert c.verdict == verdict, c.reason


def test_a_failed_precondition_is_not_reached_never_a_pass():
    trained = precondition("the model trained: train accuracy", [0.999, 0.97, 1.0], ">=", 0.99)
    c = Claim("test accuracy is high", [0.99, 0.99, 0.99], ">=", 0.9, preconditions=(trained,))
    assert not trained.met and c.verdict == "not reached" and "0.97" in c.reason
    assert not precondition("p", [math.nan], ">", 0).met


def test_bootstrap_interval_is_deterministic_and_covers_the_mean():
    rng = np.random.default_rng(1)
    items = rng.normal(1.0, 0.5, 300)
    a, b = bootstrap_interval(items), bootstrap_interval(items)
    assert a == b and a[0] < items.mean() < a[1]
    c = Claim("mean > 0", items.mean(), ">", 0, interval=a, spread="bootstrap over 300 items")
    assert c.verdict == "reproduced" and c.ci == a


def test_provenance_is_required_for_sources_and_round_trips():
    with pytest.raises(ValueError):
        Paper(0.9, "a blog", "x")
    with pytest.raises(ValueError):
        Paper(0.9, "paper", "")
    c = Claim(
        "s",
        [1.0, 2.0, 3.0],
        ">",
        0,
        paper=paper_text(2.0, "Fig. 3"),
        variant="fixed",
        preconditions=(precondition("p", [1, 1, 1], ">=", 1),),
    )
    back = Claim.from_dict(c.to_dict())
    assert back == c and back.verdict == c.verdict and back.paper.source == "paper"
    bare = Claim("s", [1.0, 2.0], ">", 0, paper=0.5)  # written before provenance: kept, marked unsourced
    assert bare.paper.source == "unsourced"


def test_compare_flags_flips_as_errors_and_inconclusive_moves_as_warnings():
    def claim(values, statement="s"):
        return Claim(statement, values, ">", 0.5, paper=our_choice(0.5, "test"))

    good, bad, unsure = [0.9, 0.91, 0.92], [0.1, 0.11, 0.12], [0.1, 0.5, 0.9]
    assert compare("f", [claim(good)], [claim(good)]) == []
    (flip,) = compare("f", [claim(good)], [claim(bad)])
    assert (flip.old, flip.new, flip.severity) == ("reproduced", "contradicted", "error")
    (soft,) = compare("f", [claim(good)], [claim(unsure)])
    assert soft.severity == "warning"
    nan = Claim("s", [math.nan], ">", 0.5)
    assert compare("f", [claim(good)], [nan])[0].severity == "error"  # to not reached
    new_and_gone = compare("f", [claim(good, "a")], [claim(good, "b")])
    assert {(c.old, c.new) for c in new_and_gone} == {(None, "reproduced"), ("reproduced", None)}
    assert all(c.severity == "warning" for c in new_and_gone)


def test_counts_text_lists_every_verdict():
    cs = [Claim("a", [1, 1, 1], ">", 0), Claim("b", [1], ">", 0)]
    assert counts_text(cs) == "1 reproduced, 0 contradicted, 1 inconclusive, 0 not reached"


def test_identical_seeds_give_exactly_their_value():
    c = Claim("x", [0.8, 0.8, 0.8], ">=", 0.8)  # sum([0.8] * 3) / 3 is 0.8000000000000002
    assert c.measured == 0.8 and c.ci == (0.8, 0.8) and c.verdict == "reproduced"


def test_the_toy_control_fails_its_claims_and_the_real_config_does_not(toy):
    cfg = toy.fig.config("smoke")
    real = toy.fig.claims(toy.fig.compute(cfg), cfg)
    control = toy.fig.control(cfg)
    under_control = toy.fig.claims(toy.fig.compute(control), control)
    assert {c.verdict for c in real} == {"reproduced"}
    assert {c.verdict for c in under_control} == {"not reached"}


def test_a_nan_bootstrap_interval_round_trips_as_not_reached():
    c = Claim("x", [math.nan], ">", 0, interval=(math.nan, math.nan))
    back = Claim.from_dict(c.to_dict())
    assert back.verdict == c.verdict == "not reached"


def test_count_interval_is_wilson_and_never_zero_width_at_zero():
    from repro.claims import count_interval

    lo, hi = count_interval(0, 100)
    assert lo == 0.0 and 3.0 < hi < 4.0  # the rule of three, not [0, 0]
    lo, hi = count_interval(100, 100)
    assert hi == 100.0 and 96.0 < lo < 97.0
    lo, hi = count_interval(20, 100)  # Wilson 95 %: [0.1333, 0.2888]
    assert abs(lo - 13.33) < 0.01 and abs(hi - 28.88) < 0.01
    assert all(x != x for x in count_interval(0, 0))
    with pytest.raises(ValueError):
        count_interval(5, 3)


def test_fix_comparison_pairs_official_and_fixed_claims():
    """The results pages' "which findings survive the fix": a claim measured both ways gets an outcome; a claim
    measured one way only is left out."""
    from repro.gallery import fix_comparison, fix_section

    def claim(statement: str, variant: str, values: list[float]) -> Claim:
        return Claim(statement, values, ">", 0.0, variant=variant)

    rows = [
        ("`fig1`", claim("a", "official", [1.0, 1.1, 0.9])),
        ("`fig1`", claim("a", "fixed", [1.0, 1.2, 0.8])),
        ("`fig1`", claim("b", "official", [1.0, 1.1, 0.9])),
        ("`fig1`", claim("b", "fixed", [-1.0, -1.2, -0.8])),
        ("`fig2`", claim("b", "fixed", [1.0, 1.1, 0.9])),  # another figure, fixed only: not compared
    ]
    table = fix_comparison(rows)
    assert [(t[1], t[4]) for t in table] == [
        ("a", "survives the fix"),
        ("b", "official only: gone after the fix"),
    ]
    text = "\n".join(fix_section(rows))
    assert "Of 2 claims measured both ways" in text and "survives the fix: 1" in text
    assert fix_section(rows[4:]) == []


def test_fix_comparison_pairs_variants_that_differ_in_one_defect():
    """A paper's own axes (harmonic_loss: split, dropout at evaluation, an ablated group-lasso): variants that are one
    setting per defect pair up where exactly one setting changes from official to fixed."""
    from repro.gallery import fix_axes, fix_comparison

    axes = (
        ("split", "official", "unique"),
        ("dropout", "dropout at eval", "eval mode"),
        ("lasso", "", "no lasso"),
    )

    def claim(variant: str, values: list[float]) -> tuple[str, Claim]:
        return ("`fig7`", Claim("acc", values, ">", 0.0, variant=variant))

    rows = [
        claim("official, dropout at eval", [1.0, 1.1, 0.9]),
        claim("official, eval mode", [-1.0, -1.1, -0.9]),
        claim("unique, dropout at eval", [1.0, 1.2, 0.8]),
        claim("unique, eval mode", [1.0, 1.2, 0.8]),
        claim("official, dropout at eval, no lasso", [1.0, 1.2, 0.8]),
    ]
    table = {t[5]: t[4] for t in fix_comparison(rows, axes)}
    assert table == {
        "split: official, dropout at eval -> unique, dropout at eval": "survives the fix",
        "split: official, eval mode -> unique, eval mode": "fixed only: appears after the fix",
        "dropout: official, dropout at eval -> official, eval mode": "official only: gone after the fix",
        "dropout: unique, dropout at eval -> unique, eval mode": "survives the fix",
        "lasso: official, dropout at eval -> official, dropout at eval, no lasso": "survives the fix",
    }
    assert fix_axes("no_such_paper") == (("official vs fixed", "official", "fixed"),)


def test_merge_seeds_takes_one_value_per_seed_and_every_precondition():
    from repro.claims import merge_seeds, precondition

    trained = [precondition("trained", v, ">=", 0.9) for v in (0.95, 0.97, 0.5)]

    def seed(j: int, value: float, with_b: bool = True) -> list[Claim]:
        out = [
            Claim(
                "a",
                (value,),
                ">",
                0.0,
                interval=(value - 0.01, value + 0.01),
                spread="bootstrap",
                variant="x",
            )
        ]
        if with_b:
            out.append(Claim("b", (value,), ">", 0.0, variant="x", preconditions=(trained[j],)))
        return out

    a, b = merge_seeds([seed(0, 1.0), seed(1, 2.0), seed(2, 3.0)], what="crosscoder seeds")
    assert (
        a.values == (1.0, 2.0, 3.0)
        and a.interval is None
        and a.ci == pytest.approx((2 - 2.484, 2 + 2.484), abs=1e-3)
    )
    assert a.spread.startswith("3 crosscoder seeds (t interval)") and a.verdict == "inconclusive"
    assert b.verdict == "not reached" and "seed 2: 0.5" in b.preconditions[0].detail  # one seed did not train
    (a, b) = merge_seeds([seed(0, 1.0), seed(1, 1.1, with_b=False)])
    assert a.verdict == "reproduced" and math.isnan(b.values[1]) and b.verdict == "not reached"


def test_merge_seeds_widens_an_exact_agreement_to_the_seeds_own_intervals():
    """Three seeds that each count 0 latents of 512 agree exactly: the t interval is the point 0, certain as no three
    samples are. The merged interval reaches what the seeds' own (Wilson) intervals give for their mean, so "more
    than 0" is inconclusive, not contradicted; where the seeds differ more than their own intervals, the t interval
    stands (it is the wider)."""
    from repro.claims import count_interval, merge_seeds

    def seed(count: int) -> list[Claim]:
        return [Claim("latents", (count,), ">", 0.0, interval=count_interval(count, 512), spread="Wilson")]

    (zero,) = merge_seeds([seed(0), seed(0), seed(0)])
    hi = count_interval(0, 512)[1]
    assert zero.ci == pytest.approx((0.0, math.sqrt(3) * hi / 3)) and zero.verdict == "inconclusive"
    assert "widened to the seeds' own intervals" in zero.spread
    assert Claim.from_dict(zero.to_dict()).ci == zero.ci  # the committed reference keeps it
    (apart,) = merge_seeds([seed(0), seed(40), seed(80)])
    assert apart.interval is None and apart.ci == pytest.approx((40 - 99.36, 40 + 99.36), abs=0.01)
    assert "widened" not in apart.spread


def test_censored_values_block_the_verdict_they_could_overturn_and_round_trip():
    """A time to an event that a run never reached is a bound on the truth: a lower bound (">=") cannot support
    "below the bound" but can support "above" it, and the other way round; the numbers alone decide otherwise."""
    fast = [-300.0, -250.0, -280.0]  # "harmonic - standard epochs < 0": clearly below
    assert Claim("t", fast, "<", 0.0).verdict == "reproduced"
    # the standard model never got there: its time is at least the cap, the difference at most this (upper bound)
    assert Claim("t", fast, "<", 0.0, censored=("<=", "", "")).verdict == "reproduced"
    # the harmonic model never got there: the difference is at least this: it could be above 0
    blocked = Claim("t", fast, "<", 0.0, censored=("", ">=", ""))
    assert blocked.verdict == "inconclusive" and "censored" in blocked.reason
    assert Claim("t", [300.0, 250.0, 280.0], "<", 0.0, censored=(">=", "", "")).verdict == "contradicted"
    assert Claim("t", [300.0, 250.0, 280.0], "<", 0.0, censored=("<=", "", "")).verdict == "inconclusive"
    assert Claim("t", [300.0, 250.0, 280.0], ">", 0.0, censored=(">=", "", "")).verdict == "reproduced"
    assert Claim("t", [1.0, 1.0, 1.0], "within", 1.0, tolerance=0.1, censored=("<=", "", "")).verdict == (
        "inconclusive"
    )
    assert (
        Claim("t", fast, "<", 0.0, censored=("", "", "")).censored == ()
    )  # nothing censored: nothing stored
    back = Claim.from_dict(blocked.to_dict())
    assert back.censored == ("", ">=", "") and back.verdict == "inconclusive"
    assert "censored" not in Claim("t", fast, "<", 0.0).to_dict()
    with pytest.raises(ValueError, match="censored"):
        Claim("t", fast, "<", 0.0, censored=(">=",))
