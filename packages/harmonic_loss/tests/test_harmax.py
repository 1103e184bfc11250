"""HarMax: scale invariance, the two exponent conventions, gradients at d = 0, and equality with cross-entropy."""

import math

import pytest
import torch
import torch.nn.functional as F

from harmonic_loss.harmax import HarmonicHead, harmax, harmonic_logits, harmonic_loss, squared_distances


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(7, 5, generator=g, dtype=torch.float64),
        torch.randn(4, 5, generator=g, dtype=torch.float64),
        torch.randint(0, 4, (7,), generator=g),
    )


def test_squared_distances_match_cdist(data):
    x, w, _ = data
    torch.testing.assert_close(squared_distances(x, w), torch.cdist(x, w) ** 2)


def test_equals_inverse_distance_weighting(data):
    x, w, _ = data
    n = 3.0
    d = torch.cdist(x, w)
    expected = d**-n / (d**-n).sum(-1, keepdim=True)
    torch.testing.assert_close(harmax(x, w, n, eps=0.0), expected)


def test_scale_invariance(data):
    x, w, _ = data
    for c in (1e-3, 0.5, 10.0, 1e4):
        torch.testing.assert_close(harmax(c * x, c * w, n=2.0, eps=0.0), harmax(x, w, n=2.0, eps=0.0))


def test_conventions_code_n_is_paper_2n(data):
    x, w, _ = data
    torch.testing.assert_close(
        harmonic_logits(x, w, n=1.5, convention="code"), harmonic_logits(x, w, n=3.0, convention="paper")
    )


def test_matches_official_code_form(data):
    """The official DistLayer: d2 /= rowmin(d2); p = d2^-n / sum; loss = -log p_y (code convention)."""
    x, w, y = data
    n, eps = 2.0, 1e-4
    d2 = (x**2).sum(1, keepdim=True) + (w**2).sum(1) - 2 * x @ w.T + eps
    d2 = d2 / d2.min(1, keepdim=True).values
    p = d2**-n / (d2**-n).sum(1, keepdim=True)
    official = -torch.log(p[torch.arange(len(y)), y]).mean()
    torch.testing.assert_close(harmonic_loss(x, w, y, n, convention="code", eps=eps), official)


def test_is_cross_entropy_on_minus_n_log_d(data):
    x, w, y = data
    n = 4.0
    expected = F.cross_entropy(-n * torch.log(torch.cdist(x, w)), y)
    torch.testing.assert_close(harmonic_loss(x, w, y, n, eps=0.0), expected)


def test_gradients_finite_when_x_sits_on_a_centre():
    w = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [0.0, -3.0]], dtype=torch.float64, requires_grad=True)
    x = w.detach()[:2].clone().requires_grad_(True)  # d = 0 to the target centre exactly
    for convention in ("paper", "code"):
        loss = harmonic_loss(x, w, torch.tensor([0, 1]), n=8.0, convention=convention)
        gx, gw = torch.autograd.grad(loss, (x, w))
        assert torch.isfinite(loss) and torch.isfinite(gx).all() and torch.isfinite(gw).all()
        assert loss.item() < 1e-6  # sitting on the centre is the (finite) optimum


def test_large_exponent_does_not_overflow(data):
    x, w, y = data
    loss = harmonic_loss(x.float(), w.float(), y, n=1536.0)  # GPT-2's effective exponent in the official code
    assert math.isfinite(loss.item())


def test_broadcasts_over_stacked_runs():
    g = torch.Generator().manual_seed(1)
    x, w = (
        torch.randn(3, 6, 4, generator=g, dtype=torch.float64),
        torch.randn(3, 5, 4, generator=g, dtype=torch.float64),
    )
    stacked = harmonic_logits(x, w, n=2.0)
    for s in range(3):
        torch.testing.assert_close(stacked[s], harmonic_logits(x[s], w[s], n=2.0))


def test_head_ties_weights_and_validates_convention():
    emb = torch.nn.Embedding(10, 4)
    head = HarmonicHead(4, 10, n=2.0, weight=emb.weight)
    assert head.weight is emb.weight
    assert head(torch.randn(3, 4)).shape == (3, 10)
    with pytest.raises(ValueError, match="convention"):
        HarmonicHead(4, 10, n=2.0, convention="squared")


@pytest.mark.parametrize("convention", ["paper", "code"])
def test_fused_loss_equals_reference_in_value_and_gradient(convention):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 5, 8, generator=g, requires_grad=True)
    w = torch.randn(11, 8, generator=g, requires_grad=True)
    y = torch.randint(0, 11, (2, 5), generator=g)
    y[0, 1] = -1  # ignored position
    results = []
    for fused in (False, True):
        loss = harmonic_loss(x, w, y, n=3.0, convention=convention, fused=fused)
        results.append((loss.detach(), *torch.autograd.grad(2.5 * loss, (x, w))))
    for ref, fast in zip(results[0], results[1], strict=True):
        torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-6)


def test_fused_loss_gradients_finite_on_a_centre_and_in_bfloat16():
    w = torch.randn(6, 4, requires_grad=True)
    x = w.detach()[:3].clone().requires_grad_(True)
    loss = harmonic_loss(x, w, torch.tensor([0, 1, 2]), n=2.0, fused=True)
    gx, gw = torch.autograd.grad(loss, (x, w))
    assert torch.isfinite(gx).all() and torch.isfinite(gw).all() and loss.item() < 1e-4
    xb, wb = x.detach().bfloat16().requires_grad_(), w.detach().bfloat16().requires_grad_()
    lb = harmonic_loss(xb, wb, torch.tensor([0, 1, 2]), n=2.0, fused=True)
    lb.backward()
    assert (
        lb.dtype == torch.float32
        and xb.grad.dtype == torch.bfloat16
        and torch.isfinite(wb.grad.float()).all()
    )
