"""Every figure's claims can fail: under its control (shuffled labels, an untrained model, the variant the paper
argues against), run at smoke scale, at least one claim ends ``contradicted`` or ``not reached``."""

import pytest

from repro.registry import all_figures
from repro.run import prepare_torch

FIGURES = all_figures()


@pytest.mark.smoke
@pytest.mark.parametrize("fig", FIGURES, ids=lambda f: f.name)
def test_claims_do_not_all_reproduce_under_the_control(fig):
    assert fig.control is not None, f"{fig.name} declares no control (Figure(control=..., control_label=...))"
    assert fig.control_label, f"{fig.name}: say what the control is (control_label)"
    cfg = fig.config("smoke")
    control = fig.control(cfg)
    assert control != cfg, f"{fig.name}: the control config equals the figure's own"
    prepare_torch(fig)
    claims = list(fig.claims(fig.compute(control), control))
    failing = [c for c in claims if c.verdict in ("contradicted", "not reached")]
    assert failing, (
        f"{fig.name}: under the control ({fig.control_label}) no claim is contradicted or not reached: "
        + "; ".join(f"{c.statement}: {c.verdict}" for c in claims)
    )
