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
    x: Tensor,
    weight: Tensor,
    n: float,
    convention: Convention = "paper",
    eps: float = 1e-6,
    fused: bool = False,
) -> Tensor:
    """z_i = -n log d_i (``paper``) or -n log d_i^2 (``code``), with d^2 floored by ``eps``. Shape [..., B, V].

    ``fused=True`` is the same function computed for large vocabularies (language-model heads): one [B, V] float32
    buffer updated in place, and a hand-written backward that keeps only the logits (1/d^2 is exp(z/k)). It
    needs a 2-D ``weight`` (no stacked runs) and returns float32 logits whatever the input dtype, because
    ||x||^2 + ||w||^2 - 2 x.w cancels catastrophically in half precision.
    """
    k = exponent_on_log_d2(n, convention)
    if fused:
        if weight.dim() != 2:
            raise ValueError("fused harmonic logits need a 2-D weight [V, D]")
        lead = x.shape[:-1]
        return _FusedHarmonicLogits.apply(x.reshape(-1, x.shape[-1]), weight, k, eps).reshape(*lead, -1)
    return -k * torch.log(squared_distances(x, weight) + eps)


class _FusedHarmonicLogits(torch.autograd.Function):
    """z = -k log(||x||^2 + ||w||^2 - 2 x.w + eps) for x [N, D], w [V, D], saving only z for backward."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, k: float, eps: float) -> Tensor:
        z = (x @ weight.T).float()
        z.mul_(-2).add_(x.float().pow(2).sum(-1, keepdim=True)).add_(weight.float().pow(2).sum(-1))
        z.clamp_min_(0).add_(eps).log_().mul_(-k)
        ctx.save_for_backward(x, weight, z)
        ctx.k = k
        return z

    @staticmethod
    def backward(ctx, grad_z: Tensor):
        x, weight, z = ctx.saved_tensors
        k = ctx.k
        # dz/d(d^2) = -k / (d^2 + eps) = -k exp(z / k). The clamp at 0 only bites at rounding-noise level, where
        # its zero gradient is ignored.
        g = torch.exp(z / k).mul_(grad_z).mul_(-k)
        xf, wf = x.float(), weight.float()
        grad_x = 2 * (xf * g.sum(1, keepdim=True) - g @ wf)
        grad_w = 2 * (wf * g.sum(0).unsqueeze(1) - g.T @ xf)
        return grad_x.to(x.dtype), grad_w.to(weight.dtype), None, None


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
) -> Tensor:
    """-log HarMax(x)_target: cross-entropy on the harmonic logits. ``x`` [B, D], ``target`` [B] class indices."""
    return F.cross_entropy(harmonic_logits(x, weight, n, convention, eps), target, reduction=reduction)


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
