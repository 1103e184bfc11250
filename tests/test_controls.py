"""Every figure's claims can fail: under its control (shuffled labels, an untrained model, the variant the paper
argues against), run at smoke scale, at least one claim ends ``contradicted`` or ``not reached``."""

from pathlib import Path

import pytest

from repro.cache import Cache
from repro.registry import all_figures

FIGURES = all_figures()


@pytest.fixture(scope="session")
def control_cache(tmp_path_factory):
    """One cache for the controls: stages the control configs share are computed once (apart from the figures'
    own smoke cache, whose configs differ)."""
    return Cache(Path(tmp_path_factory.mktemp("control-cache")))


@pytest.mark.smoke
@pytest.mark.parametrize("fig", FIGURES, ids=lambda f: f.name)
def test_claims_do_not_all_reproduce_under_the_control(fig, control_cache):
    assert fig.control is not None, f"{fig.name} declares no control (Figure(control=..., control_label=...))"
    assert fig.control_label, f"{fig.name}: say what the control is (control_label)"
    cfg = fig.config("smoke")
    control = fig.control(cfg)
    assert control != cfg, f"{fig.name}: the control config equals the figure's own"
    # through the cache, so the stages the figure reads are computed (for the control config) as in a real run
    result, *_ = control_cache.get_or_compute(fig, control, "smoke", fig.compute, log=lambda m: None)
    claims = list(fig.claims(result, control))
    failing = [c for c in claims if c.verdict in ("contradicted", "not reached")]
    assert failing, (
        f"{fig.name}: under the control ({fig.control_label}) no claim is contradicted or not reached: "
        + "; ".join(f"{c.statement}: {c.verdict}" for c in claims)
    )
