"""Harmonic logits and HarMax: the one implementation every model in this package uses.

Paper (Baek et al. 2025): with d_i = ||w_i - x||_2 the distance from the representation x to class centre w_i,

    HarMax(x)_i = d_i^(-n) / sum_j d_j^(-n)          harmonic loss = -log HarMax(x)_y

which is a softmax of the logits z_i = -n log d_i, so harmonic loss is plain cross-entropy on those logits. We
compute it that way, in log space: no power of a distance is ever formed, so nothing overflows, and d -> 0 gives a
large finite logit (d^2 is floored by ``eps``) instead of NaN.

Two exponent conventions are named, because the official code differs from the paper's formula:
- ``"paper"``: z_i = -n log d_i (the formula as written). Recommended n ~ sqrt(D).
- ``"code"``:  z_i = -n log d_i^2 = -2n log d_i: the official ``DistLayer`` raises the *squared* distance to -n, so its
  ``n`` is half the paper's exponent (toy runs n=1 -> paper n=2; MNIST n=28 -> 56; GPT-2 n=768 -> 1536).
``harmonic_logits(..., n=k, convention="code") == harmonic_logits(..., n=2k, convention="paper")`` exactly.

The official code's other steps (dividing d^2 by its row minimum, or by n_embd) rescale every distance in a row by
the same factor; by scale invariance they change nothing and are omitted. Distances use one GEMM
(||x||^2 + ||w||^2 - 2 x.w), so memory is O(batch x classes), never O(batch x classes x dim).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Convention = Literal["paper", "code"]
CONVENTIONS: tuple[str, ...] = ("paper", "code")


def squared_distances(x: Tensor, weight: Tensor) -> Tensor:
    """||x - w_i||^2 for every row of ``x`` [..., B, D] and class centre ``weight`` [..., V, D] -> [..., B, V].

    Leading dimensions broadcast, so stacked runs ([S, B, D] with [S, V, D]) work unchanged. Clamped at 0 because the
    GEMM expansion can go slightly negative by rounding when x is at a centre.
    """
    xw = x @ weight.transpose(-1, -2)
    x2 = x.pow(2).sum(-1, keepdim=True)
    w2 = weight.pow(2).sum(-1).unsqueeze(-2)
    return (x2 + w2 - 2 * xw).clamp_min(0)


def exponent_on_log_d2(n: float, convention: Convention) -> float:
    """The factor k in z = -k log(d^2): n/2 for the paper's convention, n for the official code's."""
    if convention == "paper":
        return n / 2
    if convention == "code":
        return n
    raise ValueError(f"unknown harmonic exponent convention {convention!r}; use one of {CONVENTIONS}")


def harmonic_logits(
    x: Tensor, weight: Tensor, n: float, convention: Convention = "paper", eps: float = 1e-6
) -> Tensor:
    """z_i = -n log d_i (``paper``) or -n log d_i^2 (``code``), with d^2 floored by ``eps``. Shape [..., B, V]."""
    return -exponent_on_log_d2(n, convention) * torch.log(squared_distances(x, weight) + eps)


def harmax(
    x: Tensor, weight: Tensor, n: float, convention: Convention = "paper", eps: float = 1e-6
) -> Tensor:
    """HarMax probabilities d_i^-n / sum_j d_j^-n (computed as a softmax of the harmonic logits)."""
    return torch.softmax(harmonic_logits(x, weight, n, convention, eps), dim=-1)


def log_harmax(
    x: Tensor, weight: Tensor, n: float, convention: Convention = "paper", eps: float = 1e-6
) -> Tensor:
    return torch.log_softmax(harmonic_logits(x, weight, n, convention, eps), dim=-1)


def harmonic_loss(
    x: Tensor,
    weight: Tensor,
    target: Tensor,
    n: float,
    convention: Convention = "paper",
    eps: float = 1e-6,
    reduction: str = "mean",
    fused: bool = False,
) -> Tensor:
    """-log HarMax(x)_target: cross-entropy on the harmonic logits. ``x`` [..., D], ``target`` [...] class indices
    (-1 = ignore).

    ``fused=True`` computes the same loss for large vocabularies (language-model heads, [N, V] with V ~ 50k): the
    distance, log, log-softmax and loss in one float32 [N, V] buffer updated in place, and a hand-written backward
    that keeps only the log-probabilities (the logits are log p + logsumexp, and 1/d^2 = exp(z / k)), so it holds
    as much memory as a standard linear head + cross-entropy. It takes a 2-D ``weight`` and mean reduction, and
    works in float32 whatever the input dtype, because ||x||^2 + ||w||^2 - 2 x.w cancels in half precision.
    """
    if fused:
        if weight.dim() != 2 or reduction != "mean":
            raise ValueError("fused harmonic loss needs a 2-D weight [V, D] and reduction='mean'")
        k = exponent_on_log_d2(n, convention)
        return _FusedHarmonicCrossEntropy.apply(
            x.reshape(-1, x.shape[-1]), weight, target.reshape(-1), k, eps
        )
    logits = harmonic_logits(x, weight, n, convention, eps)
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction=reduction, ignore_index=-1
    )


class _FusedHarmonicCrossEntropy(torch.autograd.Function):
    """mean_i -log softmax(-k log(||x_i - w||^2 + eps))[y_i] for x [N, D], w [V, D], y [N] (-1 ignored)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, target: Tensor, k: float, eps: float) -> Tensor:
        xf, wf = x.float(), weight.float()
        w2 = torch.linalg.vector_norm(wf, dim=-1).square()
        x2 = torch.linalg.vector_norm(xf, dim=-1).square()
        z = torch.addmm(w2[None, :], xf, wf.T, alpha=-2)  # ||w||^2 - 2 x.w, one GEMM
        z.add_(x2[:, None]).clamp_min_(0).add_(eps).log_().mul_(-k)  # harmonic logits, in place
        lse = torch.logsumexp(z, dim=-1)
        logp = z.sub_(lse[:, None])  # log-probabilities, still the same buffer
        valid = target >= 0
        count = valid.sum().clamp_min(1)
        picked = logp.gather(1, target.clamp_min(0)[:, None]).squeeze(1)
        loss = -(picked * valid).sum() / count
        ctx.save_for_backward(x, weight, target, logp, lse, count)
        ctx.k = k
        return loss

    @staticmethod
    def backward(ctx, grad_loss: Tensor):
        x, weight, target, logp, lse, count = ctx.saved_tensors
        k = ctx.k
        valid = (target >= 0).float()[:, None]
        g = logp.exp()  # dL/dz = (softmax - onehot) * grad / count, masked rows zero
        g.scatter_add_(1, target.clamp_min(0)[:, None], -torch.ones_like(g[:, :1]))
        g.mul_(valid * (grad_loss / count))
        # dz/d(d^2) = -k / (d^2 + eps) = -k exp(z / k), with z = log p + lse. The clamp at 0 only bites at
        # rounding-noise level, where its zero gradient is ignored.
        g.mul_((logp + lse[:, None]).div_(k).exp_()).mul_(-k)  # now dL/d(d^2)
        xf, wf = x.float(), weight.float()
        grad_x = torch.addmm(xf * (2 * g.sum(1))[:, None], g, wf, alpha=-2)
        grad_w = torch.addmm(wf * (2 * g.sum(0))[:, None], g.T, xf, alpha=-2)
        return grad_x.to(x.dtype), grad_w.to(weight.dtype), None, None, None


class HarmonicHead(nn.Module):
    """A classification head whose logits are harmonic: one learnable centre per class (``weight`` [V, D]).

    ``init_std`` defaults to 1/sqrt(D), the official code's choice (the centres start at the data's scale).
    Pass ``weight=`` to tie the centres to an existing parameter (e.g. a token embedding).
    """

    def __init__(
        self,
        dim: int,
        n_classes: int,
        n: float,
        convention: Convention = "paper",
        eps: float = 1e-6,
        init_std: float | None = None,
        weight: nn.Parameter | None = None,
    ):
        super().__init__()
        exponent_on_log_d2(n, convention)  # validate early
        self.n, self.convention, self.eps = n, convention, eps
        if weight is None:
            weight = nn.Parameter(
                torch.randn(n_classes, dim) * (init_std if init_std is not None else dim**-0.5)
            )
        self.weight = weight

    def forward(self, x: Tensor) -> Tensor:
        return harmonic_logits(x, self.weight, self.n, self.convention, self.eps)

    def extra_repr(self) -> str:
        return f"classes={self.weight.shape[0]}, dim={self.weight.shape[1]}, n={self.n}, convention={self.convention}"
