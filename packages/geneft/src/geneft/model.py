"""The GenEFT autoencoder, stacked over runs: trainable d = 2 embeddings, a combiner, and an MLP decoder.

Every parameter has a leading run axis ``[S, ...]`` (see :mod:`repro.stack`), so S runs (different seeds, learning
rates, fractions, weight decays) train as one model.

- Encoder: an embedding table ``E [S, n, d]``, initialised N(0, emb_std^2) (``emb_std = 1`` is nn.Embedding's default).
- Combiner ("mode"): 1 concatenates [E_x1, E_x2] (input 2d), 2 takes E_x1 - E_x2, 3 takes (E_x1 - E_x2)^2 elementwise.
- Decoder: ``depth`` hidden layers of ``width`` units (tanh by default) and a linear output logit, nn.Linear's
  default init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.
- "Ideal" decoders (Fig. 3): one hidden ReLU unit on the combiner output, all parameters trainable. For mod 3
  (mode 3, ``ideal_init="threshold"``) the unit starts as ReLU(0.1 - |E_x1 - E_x2|^2) read out as logit = h/0.1 - 1.
  That threshold presumes embeddings that start within ~0.1 of each other: with N(0, 1) embeddings every pair starts
  outside it, the unit is dead and nothing trains (measured: accuracy stuck at 2/3), so Fig. 3 starts the mod-3 ideal
  decoder's embeddings at N(0, 0.1^2) (every pair "same class"; negatives then push the classes apart). For
  greater-than (mode 2) the unit starts from the default init.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

MODES = (1, 2, 3)
IDEAL_THRESHOLD = 0.1  # the mod-3 ideal decoder's ReLU(0.1 - |E_x1 - E_x2|^2)
DECODERS = ("mlp", "ideal")


@dataclass(frozen=True)
class Arch:
    """What every run of one stack shares."""

    mode: int = 1
    depth: int = 3
    width: int = 50
    d: int = 2
    decoder: str = "mlp"  # "mlp" (tanh) or "ideal" (one ReLU unit)
    emb_std: float = 1.0
    ideal_init: str = "default"  # "threshold": ReLU(0.1 - x) start (mod 3 ideal); "default": nn.Linear init

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode}")
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {self.decoder!r}")
        if self.depth < 1 or self.width < 1 or self.d < 1:
            raise ValueError("depth, width and d must be >= 1")

    @property
    def in_dim(self) -> int:
        return 2 * self.d if self.mode == 1 else self.d

    @property
    def layer_sizes(self) -> list[int]:
        if self.decoder == "ideal":
            return [self.in_dim, 1, 1]
        return [self.in_dim] + [self.width] * self.depth + [1]


def init_params(
    arch: Arch, seeds: list[int], n: int, device: torch.device, widths: list[int] | None = None
) -> dict[str, Tensor]:
    """Stacked parameters ``{name: [S, ...]}``, run r initialised from ``seeds[r]`` alone.

    ``widths`` (per run, each <= ``arch.width``) stacks decoders of different widths: run r is initialised exactly as
    a width-``widths[r]`` decoder and zero-padded to ``arch.width``. A padded hidden unit has zero weights in and out
    and zero bias, so its activation tanh(0) = 0 and every gradient reaching it is 0: it stays exactly zero under
    Adam(W) and SGD, and the run trains exactly as the narrower decoder alone (tested).
    """
    sizes = arch.layer_sizes
    per_run: dict[str, list[Tensor]] = {"emb": []}
    for i in range(len(sizes) - 1):
        per_run[f"W{i}"], per_run[f"b{i}"] = [], []
    if widths is not None and (
        len(widths) != len(seeds) or max(widths) > arch.width or arch.decoder != "mlp"
    ):
        raise ValueError("widths: one per run, each <= arch.width, MLP decoders only")
    for r, seed in enumerate(seeds):
        if widths is not None:
            own = [sizes[0]] + [widths[r]] * arch.depth + [1]
            padded = init_params(dataclasses.replace(arch, width=widths[r]), [seed], n, torch.device("cpu"))
            for k, v in padded.items():
                v = v.detach()[0]
                if k.startswith(("W", "b")):
                    i = int(k[1:])
                    full = torch.zeros(sizes[i + 1], sizes[i]) if k[0] == "W" else torch.zeros(sizes[i + 1])
                    if k[0] == "W":
                        full[: own[i + 1], : own[i]] = v
                    else:
                        full[: own[i + 1]] = v
                    v = full
                per_run[k].append(v)
            continue
        g = torch.Generator().manual_seed(int(seed))
        per_run["emb"].append(torch.randn(n, arch.d, generator=g) * arch.emb_std)
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            bound = 1 / np.sqrt(fan_in)
            w = (torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound
            b = (torch.rand(fan_out, generator=g) * 2 - 1) * bound
            if arch.decoder == "ideal" and arch.ideal_init == "threshold":
                if i == 0:  # the unit: ReLU(0.1 - |E_x1 - E_x2|^2)
                    w, b = -torch.ones(fan_in, fan_out), torch.full((fan_out,), IDEAL_THRESHOLD)
                else:  # read out with a positive sign (a live unit means "same class"): logit = h / 0.1 - 1
                    w, b = torch.full((fan_in, fan_out), 1 / IDEAL_THRESHOLD), torch.full((fan_out,), -1.0)
            per_run[f"W{i}"].append(w.T)  # stored [out, in], as nn.Linear (see forward)
            per_run[f"b{i}"].append(b)
    return {k: torch.stack(v).to(device).requires_grad_(True) for k, v in per_run.items()}


class _SigmoidTanh(torch.autograd.Function):
    """tanh(x) = 2 sigmoid(2x) - 1 forward, the fused ``tanh_backward`` backward.

    Why not ``torch.tanh``: on torch 2.15's CPU build its kernel runs at about 2.2 ns per element whatever the
    ATEN_CPU_CAPABILITY (not vectorised), sigmoid at 0.2 ns (AVX512), and tanh is the largest cost of a GenEFT step.
    Measured on the lr sweep's 75-run SGD stack (3 x 50 decoder, 675 pairs, 1 thread; 2 runs each): 46-54 ms per step
    with ``torch.tanh``, 35 ms with this (``benchmarks/geneft_step.py``). An earlier version of this trick had a
    three-kernel backward (g - g y y) and lost to ``torch.tanh``; the fused backward is what makes it pay. The two
    forms differ by at most 2e-7 (absolute, at |tanh| ~ 1): the same function to float precision, another rounding.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        y = torch.sigmoid(x * 2).mul_(2).sub_(1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)


def fast_tanh(x: Tensor) -> Tensor:
    """tanh for the decoders (see :class:`_SigmoidTanh` for why not ``torch.tanh``)."""
    return _SigmoidTanh.apply(x)


def combine(e1: Tensor, e2: Tensor, mode: int) -> Tensor:
    """Combine two embeddings laid out feature-major, ``[S, d, B]``."""
    if mode == 1:
        return torch.cat([e1, e2], 1)
    diff = e1 - e2
    return diff if mode == 2 else diff * diff


def forward(params: dict[str, Tensor], arch: Arch, x1: Tensor, x2: Tensor) -> Tensor:
    """Logits ``[S, B]`` for pairs ``x1, x2`` (``[B]`` shared by all runs, or ``[S, B]`` per run).

    Activations are feature-major, ``[S, features, B]``, and weights ``[S, out, in]``: each layer is then
    ``bmm(W, h)``, whose long batch dimension is the GEMM's output width. For narrow decoders (width 10) that is 5-9x
    faster on CPU than the row-major ``bmm(h, W)`` (MKL's batched GEMM handles a long N far better than a long M).
    """
    emb_t = params["emb"].transpose(1, 2)  # [S, d, n]
    if x1.dim() == 1:
        e1, e2 = emb_t[:, :, x1], emb_t[:, :, x2]
    else:
        shape = (emb_t.shape[0], emb_t.shape[1], x1.shape[1])
        e1 = emb_t.gather(2, x1[:, None, :].expand(shape))
        e2 = emb_t.gather(2, x2[:, None, :].expand(shape))
    h = combine(e1, e2, arch.mode)
    n_layers = len(arch.layer_sizes) - 1
    act = torch.relu if arch.decoder == "ideal" else fast_tanh
    for i in range(n_layers):
        h = torch.baddbmm(params[f"b{i}"][:, :, None], params[f"W{i}"], h)
        if i < n_layers - 1:
            h = act(h)
    return h[:, 0, :]
