"""A two-model (n_models in general) acausal crosscoder: L1 (the paper's) and BatchTopK (the fix), trained fast on CPU.

The model (Anthropic's diffing crosscoder as ckkissane wrote it, which the paper's code copied):

    f      = ReLU(sum_m x_m W_enc[m] + b_enc)                 shared latents [B, F]
    x_hat_m = f W_dec[:, m] + b_dec[m]                          one decoder per model

Parameters ``W_enc [n_models, d, F]``, ``b_enc [F]``, ``W_dec [F, n_models, d]``, ``b_dec [n_models, d]``, fp32
(the paper kept bf16 parameters and a bf16 Adam state; defect 8). Initialisation as in the paper: every decoder row
``W_dec[i, m]`` has norm ``init_norm`` (0.08), ``W_enc = W_dec^T``, zero biases.

**Normalisation lives inside the model** (the paper's defect 3: analysis, ablation and steering fed raw activations
to an encoder trained on scaled ones). Buffer ``scale [n_models]`` multiplies raw activations so that each model's
mean norm over the training data is sqrt(d) (ckkissane; ``repro.activation_cache`` computes it over the whole
cache). ``encode(x_raw)`` normalises, ``decode(f)`` returns RAW units; ``encode_normalised``/``decode_normalised``
work in the training units. The scales are saved with the weights, so a loaded crosscoder reconstructs raw
activations identically.

Sparsity, two variants:
- ``l1`` (paper): loss = sum over models and d of the squared error (mean over the batch)
  + lambda(t) * sum_i f_i * sum_m ||W_dec[i, m]||_2, with lambda ramped linearly from 0 over the first
  ``l1_warmup_frac`` of the steps (Anthropic's diffing loss, ckkissane's schedule).
- ``batchtopk`` (Minder et al. 2504.02922; dictionary_learning's BatchTopKCrossCoder): latents are ranked by their
  activation times the latent's summed decoder norm, ``f_i * sum_m ||W_dec[i, m]||`` (its size in the output), and
  the top ``k * B`` of the whole batch are kept with their *unscaled* values. Ranking by the decoder-norm-weighted
  value makes the selection indifferent to how the norm is split between f and W_dec, which is what SAELens #565
  gets by treating the TopK decoder as unit norm; we do not renormalise the decoder (choice). The loss is the same
  squared error as L1's (choice; one dictionary_learning fork uses the unsquared norm) + ``aux_alpha`` * aux-k loss: each row's top ``aux_k`` (default d/2) *dead* latents (not fired
  for ``dead_after_tokens`` tokens, counting this batch's firings first) reconstruct the detached residual
  x - x_hat without the decoder bias, normalised by the residual's variance (OpenAI's normalisation, as
  dictionary_learning does). Inference uses a learned global threshold instead of top-k: an EMA (beta 0.999) of
  the smallest kept scaled activation, updated from ``threshold_start_frac`` of training on (choice: the first
  quarter of a short CPU run would otherwise bias the EMA with untrained values); a latent is active when
  ``f_i * sum_m ||W_dec[i, m]|| > threshold``.

Optimiser (paper): Adam, lr constant then linear decay to 0 over the last ``lr_decay_frac`` (20%), global gradient
norm clipped to ``grad_clip`` (1.0). Saved with ``repro.artifacts`` (SAELens layout: cfg.json with the config, the
scales and the threshold, + sae_weights.safetensors with weights and buffers).

Speed. ``Crosscoder.loss`` is the readable definition (autograd, dense). Training computes the same loss and
gradients by hand: ``sparse_loss_and_grads`` when the latents are sparse (always for BatchTopK on CPU; for L1 once
the previous step had fewer than ``SPARSE_MAX_DENSITY`` of the [B, F] activations positive, which is most of a
run), with one dense matmul for the encoder and sparse CSR products for everything else (decode, the decoder
gradient, the encoder gradient only where a latent fired) and an exact batch top-k that searches only the
candidates above a guess from the previous step's cutoff instead of sorting all B*F values; else
``dense_l1_loss_and_grads`` (the five dense products, one fused [B, n*d] x [n*d, F] matmul each). On a GPU
(``sparse="auto"``) BatchTopK uses autograd of the definition. Fused Adam. Tests check both paths' loss and
gradients against autograd of the definition; ``benchmarks/crosscoder.py`` times training against a plain
ckkissane-style implementation (matmul-bound dense L1 steps gain ~1.1x; sparse steps 2-3x).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

VARIANTS = ("l1", "batchtopk")
SPARSE_MODES = ("auto", "always", "never")
# L1 variant: the sparse CSR path beats dense matmuls below about this fraction of positive activations (measured
# on one CPU core for d=64..128, F=1024..2048, batch 512).
SPARSE_MAX_DENSITY = 0.08
ARCHITECTURE = "repro_crosscoder"  # the "architecture" of a saved artifact (cfg.json)


# ----------------------------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class CrosscoderConfig:
    """Architecture and training of one crosscoder (defaults: the paper's L1 recipe at CPU size)."""

    d_model: int
    dict_size: int
    n_models: int = 2
    variant: str = "l1"  # "l1" (paper) | "batchtopk" (fix)
    l1_coeff: float = 2.0  # paper
    l1_warmup_frac: float = 0.05  # lambda ramps linearly from 0 over this fraction of the steps (paper)
    k: int = 16  # BatchTopK: mean active latents per row
    aux_k: int | None = None  # BatchTopK: dead latents per row in the aux loss; None = d_model // 2
    aux_alpha: float = 1 / 32
    dead_after_tokens: int = 100_000  # a latent that has not fired for this many tokens is dead
    threshold_beta: float = 0.999  # EMA of the inference threshold
    threshold_start_frac: float = 0.25  # threshold EMA starts at this fraction of the steps
    lr: float = 5e-5  # paper
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 1.0
    lr_decay_frac: float = 0.2  # linear decay to 0 over the last 20% of steps (paper)
    steps: int = 2000
    batch_size: int = 512
    init_norm: float = 0.08  # norm of each model's decoder row at init (paper)
    seed: int = 0
    device: str = "cpu"
    sparse: str = (
        "auto"  # training computation: "auto" (sparse when it is faster, CPU only), "always", "never"
    )

    def __post_init__(self) -> None:
        if isinstance(self.betas, list):  # from cfg.json
            object.__setattr__(self, "betas", tuple(self.betas))
        if self.variant not in VARIANTS:
            raise ValueError(f"variant {self.variant!r} is not one of {VARIANTS}")
        if self.sparse not in SPARSE_MODES:
            raise ValueError(f"sparse {self.sparse!r} is not one of {SPARSE_MODES}")
        for name in ("d_model", "dict_size", "n_models", "k", "steps", "batch_size", "dead_after_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.aux_k is not None and self.aux_k < 1:
            raise ValueError(f"aux_k must be >= 1 or None, got {self.aux_k}")
        if self.variant == "batchtopk" and self.k > self.dict_size:
            raise ValueError(f"k={self.k} exceeds dict_size={self.dict_size}")
        for name in ("l1_warmup_frac", "lr_decay_frac", "threshold_start_frac"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.threshold_beta < 1.0:
            raise ValueError(f"threshold_beta must be in [0, 1), got {self.threshold_beta}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas}")
        for name in ("lr", "init_norm", "grad_clip"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.l1_coeff < 0 or self.aux_alpha < 0:
            raise ValueError("l1_coeff and aux_alpha must be >= 0")

    @property
    def aux_k_eff(self) -> int:
        return self.aux_k if self.aux_k is not None else max(1, self.d_model // 2)

    def l1_at(self, step: int) -> float:
        """lambda(step): linear ramp from 0 over the first ``l1_warmup_frac`` of the steps, then ``l1_coeff``."""
        warm = self.l1_warmup_frac * self.steps
        return self.l1_coeff * (min(1.0, step / warm) if warm > 0 else 1.0)

    def lr_at(self, step: int) -> float:
        """Constant, then linear decay to 0 over the last ``lr_decay_frac`` of the steps (ckkissane's schedule)."""
        start = (1.0 - self.lr_decay_frac) * self.steps
        if step < start or self.lr_decay_frac == 0:
            return self.lr
        return self.lr * max(0.0, 1.0 - (step - start) / (self.lr_decay_frac * self.steps))


# ----------------------------------------------------------------------------------------------- the model
class Crosscoder(nn.Module):
    """Acausal crosscoder over ``n_models`` activations of width ``d_model`` (see the module docstring)."""

    def __init__(self, cfg: CrosscoderConfig):
        super().__init__()
        self.cfg = cfg
        M, d, Fd = cfg.n_models, cfg.d_model, cfg.dict_size
        g = torch.Generator().manual_seed(cfg.seed)
        W_dec = torch.randn(Fd, M, d, generator=g)
        W_dec = W_dec * (cfg.init_norm / W_dec.norm(dim=-1, keepdim=True))
        self.W_enc = nn.Parameter(W_dec.permute(1, 2, 0).contiguous())  # W_enc = W_dec^T (paper)
        self.b_enc = nn.Parameter(torch.zeros(Fd))
        self.W_dec = nn.Parameter(W_dec)
        self.b_dec = nn.Parameter(torch.zeros(M, d))
        self.register_buffer("scale", torch.ones(M))  # raw * scale = training units (mean norm sqrt(d))
        # BatchTopK inference threshold on f_i * sum_m ||W_dec[i, m]|| (< 0: not learned yet)
        self.register_buffer("threshold", torch.tensor(-1.0))

    # -- units
    def set_scales(self, scales: Sequence[float] | Tensor) -> None:
        s = torch.as_tensor(scales, dtype=torch.float32).to(self.scale.device)
        if s.shape != self.scale.shape or not bool((s > 0).all()):
            raise ValueError(f"need {self.cfg.n_models} positive scales, got {s.tolist()}")
        self.scale.copy_(s)

    def normalise(self, x_raw: Tensor) -> Tensor:
        """Raw activations [B, n_models, d] -> training units."""
        return x_raw * self.scale[:, None]

    def denormalise(self, x: Tensor) -> Tensor:
        return x / self.scale[:, None]

    # -- pieces
    def decoder_norms(self) -> Tensor:
        """||W_dec[i, m]||_2: [F, n_models]."""
        return self.W_dec.norm(dim=-1)

    def pre_activations(self, x: Tensor) -> Tensor:
        """x [B, n_models, d] (training units) -> W_enc x + b_enc [B, F], one fused matmul over all models."""
        B = x.shape[0]
        return torch.addmm(self.b_enc, x.reshape(B, -1), self.W_enc.reshape(-1, self.cfg.dict_size))

    def encode_normalised(self, x: Tensor, use_threshold: bool = True) -> Tensor:
        """Latent activations [B, F] of x in training units. BatchTopK: the learned threshold when
        ``use_threshold`` (inference; falls back to batch top-k before a threshold is learned), else batch top-k."""
        f = F.relu(self.pre_activations(x))
        if self.cfg.variant == "l1":
            return f
        scaled = f * self.decoder_norms().sum(-1)
        if use_threshold and float(self.threshold) >= 0:
            return f * (scaled > self.threshold)
        return f * batch_topk_mask(scaled, self.cfg.k * x.shape[0])

    def decode_normalised(self, f: Tensor) -> Tensor:
        """Latents [B, F] -> reconstruction [B, n_models, d] in training units."""
        M, d = self.cfg.n_models, self.cfg.d_model
        return torch.addmm(self.b_dec.reshape(-1), f, self.W_dec.reshape(-1, M * d)).view(-1, M, d)

    def encode(self, x_raw: Tensor, use_threshold: bool = True) -> Tensor:
        """Latent activations [B, F] of RAW activations [B, n_models, d] (normalises first)."""
        return self.encode_normalised(self.normalise(x_raw), use_threshold)

    def decode(self, f: Tensor) -> Tensor:
        """Latents [B, F] -> reconstruction [B, n_models, d] in RAW units."""
        return self.denormalise(self.decode_normalised(f))

    def forward(self, x_raw: Tensor, use_threshold: bool = True) -> Tensor:
        """Reconstruction of raw activations, in raw units."""
        return self.decode(self.encode(x_raw, use_threshold))

    # -- the loss (the definition; training uses the equal, faster sparse_loss_and_grads when it can)
    def loss(
        self, x: Tensor, l1_coeff: float = 0.0, dead_candidates: Tensor | None = None
    ) -> dict[str, Tensor]:
        """Training loss of a batch x [B, n_models, d] in training units, with autograd.

        ``l1_coeff``: lambda of this step (L1 variant). ``dead_candidates`` [F] bool (BatchTopK): latents that
        are dead unless they fire in this batch (tokens since last fired + B >= dead_after_tokens).
        Returns loss, mse, sparsity (the L1 term or the aux-k loss, before its coefficient), f [B, F]."""
        B = x.shape[0]
        pre = self.pre_activations(x)
        f = F.relu(pre)
        norms = self.decoder_norms()  # [F, M]
        if self.cfg.variant == "batchtopk":
            scaled = (f * norms.sum(-1)).detach()
            f = f * batch_topk_mask(scaled, self.cfg.k * B)
        x_hat = self.decode_normalised(f)
        mse = (x_hat - x).pow(2).sum((1, 2)).mean()
        if self.cfg.variant == "l1":
            sparsity = (f * norms.sum(-1)).sum(-1).mean()
            return {"loss": mse + l1_coeff * sparsity, "mse": mse, "sparsity": sparsity, "f": f}
        sparsity = x.new_zeros(())
        if dead_candidates is not None:
            dead = dead_candidates & ~(f > 0).any(0)
            if bool(dead.any()):
                k_aux = min(self.cfg.aux_k_eff, int(dead.sum()))
                masked = torch.where(dead, scaled, -torch.inf)
                idx = masked.topk(k_aux, dim=1).indices
                keep = torch.zeros_like(pre, dtype=torch.bool).scatter_(1, idx, True)
                f_aux = F.relu(pre) * keep
                resid = (x - x_hat).detach()
                aux_hat = (f_aux @ self.W_dec.reshape(self.cfg.dict_size, -1)).view_as(x)
                denom = (resid - resid.mean(0)).pow(2).sum((1, 2)).mean()
                sparsity = ((resid - aux_hat).pow(2).sum((1, 2)).mean() / denom).nan_to_num(0.0)
        return {"loss": mse + self.cfg.aux_alpha * sparsity, "mse": mse, "sparsity": sparsity, "f": f}


# ----------------------------------------------------------------------------------------------- batch top-k
def batch_topk_mask(scaled: Tensor, n_keep: int) -> Tensor:
    """Bool mask of the ``n_keep`` largest entries of ``scaled`` [B, F] over the whole batch (only positive ones:
    fewer are kept when fewer are positive)."""
    flat = scaled.reshape(-1)
    n_keep = min(n_keep, flat.numel())
    top = flat.topk(n_keep, sorted=False)
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask[top.indices[top.values > 0]] = True
    return mask.view_as(scaled)


def batch_topk_indices(scaled: Tensor, n_keep: int, guess: float = 0.0) -> tuple[Tensor, float]:
    """Flat indices (sorted) of the ``n_keep`` largest positive entries of ``scaled`` and the smallest kept value;
    the same set as :func:`batch_topk_mask`. Sorting all B*F values is the slow part of a BatchTopK step, so only
    the entries >= ``guess`` are searched, then >= guess/2, when there are at least ``n_keep`` of them (the top
    set is then among them, so the answer is exact); else all positive entries."""
    flat = scaled.reshape(-1)
    cand = torch.empty(0, dtype=torch.long, device=flat.device)
    for g in (guess, guess / 2) if guess > 0 else ():
        cand = (flat >= g).nonzero().squeeze(1)
        if len(cand) >= n_keep:
            break
    if len(cand) < n_keep:
        cand = (flat > 0).nonzero().squeeze(1)
    vals = flat.index_select(0, cand)
    if len(cand) > n_keep:
        top = vals.topk(n_keep, sorted=False)
        cand, vals = cand.index_select(0, top.indices), top.values
    if len(cand) == 0:
        return cand, 0.0
    return cand.sort().values, float(vals.min())


# ----------------------------------------------------------------------------------------------- fast training step
def _csr(rows: Tensor, cols: Tensor, vals: Tensor, shape: tuple[int, int]) -> Tensor:
    """CSR matrix from (row-sorted) coordinates."""
    crow = torch.zeros(shape[0] + 1, dtype=torch.long, device=rows.device)
    crow[1:] = torch.bincount(rows, minlength=shape[0]).cumsum(0)
    with (
        warnings.catch_warnings()
    ):  # "sparse CSR is beta": the products used here are tested against dense ones
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, cols, vals, shape, check_invariants=False)


class _Sparse:
    """A sparse [B, F] pattern, given by its sorted flat (row-major) indices, with the products one step needs.
    Products with S^T use a CSR copy of the pattern in column-major order (CSC products are slow on CPU)."""

    def __init__(self, flat: Tensor, B: int, Fd: int):
        self.B, self.F = B, Fd
        self.rows, self.cols = flat // Fd, flat % Fd
        key_t, self.order = (self.cols * B + self.rows).sort()  # unique keys: the column-major order
        self.cols_t, self.rows_t = key_t // B, key_t % B

    def mm(self, vals: Tensor, W: Tensor) -> Tensor:
        """S @ W for S with values ``vals`` (row-major order): [B, F] x [F, n] -> [B, n]."""
        return _csr(self.rows, self.cols, vals, (self.B, self.F)) @ W

    def tmm(self, vals_t: Tensor, G: Tensor) -> Tensor:
        """S^T @ G for S with values ``vals_t`` in column-major order: [F, B] x [B, n] -> [F, n]."""
        return _csr(self.cols_t, self.rows_t, vals_t, (self.F, self.B)) @ G

    def sampled_t(self, W: Tensor, G: Tensor) -> Tensor:
        """(G @ W^T)[b, i] at the pattern, in column-major order (W [F, n], G [B, n])."""
        ones = torch.ones(len(self.rows_t), dtype=W.dtype, device=W.device)
        pattern = _csr(self.cols_t, self.rows_t, ones, (self.F, self.B))
        return torch.sparse.sampled_addmm(pattern, W, G.t(), beta=0.0).values()

    def to_t(self, vals: Tensor) -> Tensor:
        """Values in row-major order -> column-major order."""
        return vals.index_select(0, self.order)


def _l1_decoder_grad(W_dec: Tensor, norms: Tensor, f_sum: Tensor, coeff: float) -> Tensor:
    """d/dW_dec of coeff * sum_i f_sum_i * sum_m ||W_dec[i, m]||: [F, n_models * d]."""
    unit = W_dec / norms.clamp_min(1e-12)[..., None]
    return (unit * (coeff * f_sum)[:, None, None]).reshape(len(f_sum), -1)


def sparse_loss_and_grads(
    model: Crosscoder,
    x: Tensor,
    l1_coeff: float = 0.0,
    dead_candidates: Tensor | None = None,
    guess: float = 0.0,
) -> dict[str, Any]:
    """The loss of :meth:`Crosscoder.loss` and its gradients (``grads``: name -> tensor shaped like the
    parameter), computed with sparse products. Also returns ``fired`` [F] bool, ``l0`` (mean active per row) and
    ``cutoff`` (BatchTopK: the smallest kept scaled activation). ``guess``: a value at or below this batch's
    top-k cutoff, to search fewer candidates (any value is correct; 0 searches all)."""
    cfg = model.cfg
    B, M, d = x.shape
    Fd = cfg.dict_size
    with torch.no_grad():
        X = x.reshape(B, M * d)
        W_dec = model.W_dec.detach()
        Wd = W_dec.view(Fd, M * d)
        norms = W_dec.norm(dim=-1)  # [F, M]
        ns = norms.sum(-1)  # [F]
        pre = model.pre_activations(x)
        cutoff = 0.0
        if cfg.variant == "batchtopk":
            scaled = pre.clamp_min(0) * ns
            flat_idx, cutoff = batch_topk_indices(scaled, cfg.k * B, guess)
        else:
            flat_idx = (pre.reshape(-1) > 0).nonzero().squeeze(1)
        vals = pre.reshape(-1).index_select(0, flat_idx)
        S = _Sparse(flat_idx, B, Fd)
        x_hat = S.mm(vals, Wd) + model.b_dec.reshape(-1)
        err = x_hat - X
        mse = err.pow(2).sum() / B
        G = err * (2.0 / B)  # d loss / d x_hat
        vals_t = S.to_t(vals)
        grad_Wd = S.tmm(vals_t, G)
        dpre_t = S.sampled_t(Wd, G)  # d loss / d f at the active entries (= d pre: they are all positive)
        fired = torch.zeros(Fd, dtype=torch.bool, device=x.device)
        fired[S.cols] = True
        if cfg.variant == "l1":
            ns_t = ns.index_select(0, S.cols_t)
            sparsity = (vals_t * ns_t).sum() / B
            loss = mse + l1_coeff * sparsity
            if l1_coeff:
                f_sum = torch.bincount(S.cols_t, weights=vals_t, minlength=Fd)
                grad_Wd += _l1_decoder_grad(W_dec, norms, f_sum, l1_coeff / B)
                dpre_t = dpre_t + (l1_coeff / B) * ns_t
            parts = [(S, dpre_t)]
        else:
            sparsity = x.new_zeros(())
            parts = [(S, dpre_t)]
            dead = None if dead_candidates is None else dead_candidates & ~fired
            if dead is not None and bool(dead.any()):
                dead_idx = dead.nonzero().squeeze(1)
                k_aux = min(cfg.aux_k_eff, len(dead_idx))
                top = scaled.index_select(1, dead_idx).topk(k_aux, dim=1, sorted=False)
                j = top.indices.sort(dim=1).values  # increasing latent index within each row (CSR order)
                on = (scaled.gather(1, dead_idx[j]) > 0).reshape(-1)  # pre <= 0: adds nothing, no gradient
                a_flat = (torch.arange(B, device=x.device)[:, None] * Fd + dead_idx[j]).reshape(-1)[on]
                if len(a_flat):
                    A = _Sparse(a_flat, B, Fd)
                    a_vals = pre.reshape(-1).index_select(0, a_flat)
                    resid = -err
                    aux_hat = A.mm(a_vals, Wd)
                    denom = (resid - resid.mean(0)).pow(2).sum() / B
                    aux = (resid - aux_hat).pow(2).sum() / B / denom
                    if torch.isfinite(aux):
                        sparsity = aux
                        G_aux = (aux_hat - resid) * (2.0 * cfg.aux_alpha / (B * denom))
                        grad_Wd += A.tmm(A.to_t(a_vals), G_aux)
                        parts.append((A, A.sampled_t(Wd, G_aux)))
            loss = mse + cfg.aux_alpha * sparsity
        # encoder gradients: d pre is nonzero only at the active (and aux) entries
        grad_We_t = torch.zeros(Fd, M * d, device=x.device)
        grad_b_enc = torch.zeros(Fd, device=x.device)
        for P, dp in parts:
            grad_We_t += P.tmm(dp, X)
            grad_b_enc += torch.bincount(P.cols_t, weights=dp, minlength=Fd)
        grads = {
            "W_enc": grad_We_t.t().contiguous().view(M, d, Fd),
            "b_enc": grad_b_enc,
            "W_dec": grad_Wd.view(Fd, M, d),
            "b_dec": G.sum(0).view(M, d),
        }
    return {
        "loss": loss,
        "mse": mse,
        "sparsity": sparsity,
        "grads": grads,
        "fired": fired,
        "l0": len(vals) / B,
        "cutoff": cutoff,
    }


def dense_l1_loss_and_grads(model: Crosscoder, x: Tensor, l1_coeff: float = 0.0) -> dict[str, Any]:
    """:func:`sparse_loss_and_grads` for the L1 variant while many latents are active (early training): the same
    five dense [B, n*d] x [n*d, F] products autograd would run, without autograd's bookkeeping."""
    B, M, d = x.shape
    Fd = model.cfg.dict_size
    with torch.no_grad():
        X = x.reshape(B, M * d)
        W_dec = model.W_dec.detach()
        Wd = W_dec.view(Fd, M * d)
        norms = W_dec.norm(dim=-1)
        ns = norms.sum(-1)
        f = model.pre_activations(x).clamp_min_(0)
        err = torch.addmm(model.b_dec.reshape(-1), f, Wd).sub_(X)
        mse = err.pow(2).sum() / B
        G = err.mul_(2.0 / B)
        f_sum = f.sum(0)
        sparsity = (f_sum * ns).sum() / B
        grad_Wd = f.t() @ G + _l1_decoder_grad(W_dec, norms, f_sum, l1_coeff / B)
        active = f > 0
        dpre = torch.addmm((l1_coeff / B) * ns, G, Wd.t()).mul_(active)
        grads = {
            "W_enc": (X.t() @ dpre).view(M, d, Fd),
            "b_enc": dpre.sum(0),
            "W_dec": grad_Wd.view(Fd, M, d),
            "b_dec": G.sum(0).view(M, d),
        }
        l0 = float(active.sum()) / B
    return {
        "loss": mse + l1_coeff * sparsity,
        "mse": mse,
        "sparsity": sparsity,
        "grads": grads,
        "fired": f_sum > 0,
        "l0": l0,
        "cutoff": 0.0,
    }


# ----------------------------------------------------------------------------------------------- planted data
def planted_pairs(
    n: int,
    d_model: int,
    n_shared: int,
    n_base_only: int,
    n_distilled_only: int,
    p_active: float = 0.05,
    noise: float = 0.01,
    seed: int = 0,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Synthetic paired activations [n, 2, d] with a known dictionary: shared atoms write to both models (a random
    direction each, independently drawn per model), base-only atoms to model 0 only, distilled-only atoms to model
    1 only. Each atom fires independently with probability ``p_active`` with magnitude ~ U(0.5, 1.5); Gaussian
    noise of std ``noise`` per coordinate. Returns x and ``{"decoder": [A, 2, d] (zero rows where absent),
    "kind": [A] (0 shared, 1 base-only, 2 distilled-only)}``. The ground truth for crosscoder recovery tests."""
    g = torch.Generator().manual_seed(seed)
    A = n_shared + n_base_only + n_distilled_only
    dirs = torch.randn(A, 2, d_model, generator=g)
    dirs = dirs / dirs.norm(dim=-1, keepdim=True)
    kind = torch.tensor([0] * n_shared + [1] * n_base_only + [2] * n_distilled_only)
    dirs[kind == 1, 1] = 0.0
    dirs[kind == 2, 0] = 0.0
    on = torch.rand(n, A, generator=g) < p_active
    mag = (0.5 + torch.rand(n, A, generator=g)) * on
    x = torch.einsum("na,amd->nmd", mag, dirs) + noise * torch.randn(n, 2, d_model, generator=g)
    return x, {"decoder": dirs, "kind": kind}


# ----------------------------------------------------------------------------------------------- training
def norm_scales(x: Tensor) -> Tensor:
    """Per-model factors that bring the mean norm of raw activations x [N, n_models, d] to sqrt(d)."""
    return math.sqrt(x.shape[-1]) / x.norm(dim=-1).mean(0)


class Trainer:
    """One crosscoder's optimiser state and step (exposed so the benchmark times exactly what training runs)."""

    def __init__(self, model: Crosscoder):
        self.model, self.cfg = model, model.cfg
        kw = {"fused": True} if self.cfg.device == "cpu" or self.cfg.device.startswith("cuda") else {}
        self.opt = torch.optim.Adam(model.parameters(), lr=self.cfg.lr, betas=self.cfg.betas, **kw)
        self.since_fired = torch.zeros(self.cfg.dict_size, dtype=torch.long, device=model.W_dec.device)
        self.step_i = 0
        self.guess = 0.0  # BatchTopK: a little below the previous step's cutoff
        self.density = 1.0  # fraction of active latents in the previous step (decides L1's sparse path)
        self.sparse_ok = self.cfg.sparse == "always" or (
            self.cfg.sparse == "auto" and self.cfg.device == "cpu"
        )

    def step(self, x: Tensor) -> dict[str, float]:
        """One update on a batch x [B, n_models, d] in training units."""
        cfg, model = self.cfg, self.model
        B = x.shape[0]
        lam = cfg.l1_at(self.step_i)
        dead_cand = (self.since_fired + B) >= cfg.dead_after_tokens if cfg.variant == "batchtopk" else None
        params = dict(model.named_parameters())
        use_sparse = self.sparse_ok
        if use_sparse and cfg.variant == "l1" and cfg.sparse == "auto":
            use_sparse = self.density < SPARSE_MAX_DENSITY  # the previous step's density: free to know
        if use_sparse:
            out = sparse_loss_and_grads(model, x, lam, dead_cand, self.guess)
        elif cfg.variant == "l1":
            out = dense_l1_loss_and_grads(model, x, lam)
        else:  # BatchTopK without the sparse path (GPU): autograd of the definition
            self.opt.zero_grad(set_to_none=True)
            out = model.loss(x, lam, dead_cand)
            out["loss"].backward()
            f = out["f"].detach()
            out["fired"], out["l0"], out["cutoff"] = f.amax(0) > 0, float((f > 0).sum()) / B, 0.0
            if out["l0"]:
                out["cutoff"] = float((f * model.decoder_norms().detach().sum(-1))[f > 0].min())
        if "grads" in out:
            for n, p in params.items():
                p.grad = out["grads"][n]
        fired, l0, cutoff = out["fired"], out["l0"], out["cutoff"]
        torch.nn.utils.clip_grad_norm_(params.values(), cfg.grad_clip, foreach=True)
        for group in self.opt.param_groups:
            group["lr"] = cfg.lr_at(self.step_i)
        self.opt.step()
        for p in params.values():
            p.grad = None
        self.since_fired += B
        self.since_fired[fired] = 0
        self.density = l0 / cfg.dict_size
        if cfg.variant == "batchtopk":
            self.guess = 0.95 * cutoff
            if self.step_i >= cfg.threshold_start_frac * cfg.steps and cutoff > 0:
                t = float(model.threshold)
                new = cutoff if t < 0 else cfg.threshold_beta * t + (1 - cfg.threshold_beta) * cutoff
                model.threshold.fill_(new)
        self.step_i += 1
        return {
            "loss": float(out["loss"].detach()),
            "mse": float(out["mse"].detach()),
            "sparsity": float(out["sparsity"].detach()),
            "l0": l0,
            "lambda": lam,
            "dead": int((self.since_fired >= cfg.dead_after_tokens).sum()),
            "threshold": float(model.threshold),
        }


def _tensor_batches(x: Tensor, batch_size: int, seed: int) -> Iterator[Tensor]:
    """Endless batches of rows of x: seeded permutations back to back, so every row is seen once per epoch and
    every batch has exactly ``batch_size`` rows."""
    g = torch.Generator().manual_seed(seed)
    buf = torch.empty(0, dtype=torch.long)
    while True:
        while len(buf) < batch_size:
            buf = torch.cat([buf, torch.randperm(len(x), generator=g)])
        idx, buf = buf[:batch_size], buf[batch_size:]
        yield x[idx.to(x.device)]


def train_crosscoder(
    cfg: CrosscoderConfig,
    data: Any,
    *,
    hook: str | None = None,
    scales: Sequence[float] | None = None,
    log: Callable[[int, dict[str, float]], None] | None = None,
    log_every: int = 100,
    desc: str | None = "crosscoder",
) -> tuple[Crosscoder, dict[str, Any]]:
    """Train a crosscoder for ``cfg.steps`` steps on ``data``:

    - a ``repro.activation_cache.ActivationReader`` over paired activations (batches ``batch.stack(hook)``, any
      batch size the reader has); the normalisation scales are the cache's (``cache.scales(hook)``);
    - or a tensor [N, n_models, d] of RAW activations (tests, benchmark); scales from its own mean norms unless
      ``scales`` is given.

    Returns the model (in eval mode, scales inside) and the history: numpy arrays of the step metrics every
    ``log_every`` steps (``log(step, metrics)`` is called with them too). Deterministic given ``cfg.seed``."""
    import numpy as np

    from repro.progress import track

    torch.manual_seed(cfg.seed)
    model = Crosscoder(cfg).to(cfg.device)
    if isinstance(data, Tensor):
        if data.dim() != 3 or data.shape[1:] != (cfg.n_models, cfg.d_model):
            raise ValueError(
                f"activations must be [N, {cfg.n_models}, {cfg.d_model}], got {tuple(data.shape)}"
            )
        x_all = data.to(cfg.device, torch.float32)
        model.set_scales(norm_scales(x_all) if scales is None else scales)
        batches = _tensor_batches(model.normalise(x_all), cfg.batch_size, cfg.seed + 1)
    else:
        reader = data
        hooks = reader.cache.hook_points
        hook = hook or (hooks[0] if len(hooks) == 1 else None)
        if hook is None:
            raise ValueError(f"the cache has hook points {hooks}; say which one with hook=")
        if scales is not None and reader.normalise:
            raise ValueError(
                "the reader normalises with the cache's scales; pass scales only with normalise=False"
            )
        model.set_scales(scales if scales is not None else reader.cache.scales(hook))
        factor = None if reader.normalise else model.scale[:, None]

        def from_reader() -> Iterator[Tensor]:
            for batch in reader.forever():
                xb = batch.stack(hook, cfg.n_models).to(cfg.device, torch.float32)
                yield xb if factor is None else xb * factor

        batches = from_reader()
    trainer = Trainer(model)
    model.train()
    history: dict[str, list[float]] = {}
    steps = range(cfg.steps)
    for step in track(steps, desc) if desc else steps:
        metrics = trainer.step(next(batches))
        if step % log_every == 0 or step == cfg.steps - 1:
            metrics = {"step": step, "lr": cfg.lr_at(step), **metrics}
            for k, v in metrics.items():
                history.setdefault(k, []).append(v)
            if log is not None:
                log(step, metrics)
    model.eval()
    return model, {k: np.asarray(v) for k, v in history.items()}


# ----------------------------------------------------------------------------------------------- metrics
@torch.no_grad()
def evaluate(model: Crosscoder, x_raw: Tensor, batch_size: int = 4096) -> dict[str, Any]:
    """Explained variance per model (1 - SSE / total variance, in raw units; the normalisation is a per-model
    scale, so this is the same in training units), mean L0, and the fraction of latents that never fire on
    ``x_raw`` [N, n_models, d]. BatchTopK uses its learned threshold (inference)."""
    M = model.cfg.n_models
    sse = torch.zeros(M, dtype=torch.float64)
    l0 = 0.0
    fired = torch.zeros(model.cfg.dict_size, dtype=torch.bool, device=x_raw.device)
    for s in range(0, len(x_raw), batch_size):
        xb = x_raw[s : s + batch_size]
        f = model.encode(xb)
        sse += (model.decode(f) - xb).pow(2).sum((0, 2)).double().cpu()
        l0 += float((f > 0).sum())
        fired |= (f > 0).any(0)
    xd = x_raw.double()
    total = (xd - xd.mean(0)).pow(2).sum((0, 2)).cpu()
    ev = (1 - sse / total).tolist()
    return {
        "explained_variance": ev,
        "explained_variance_mean": float(sum(ev) / M),
        "l0": l0 / len(x_raw),
        "dead_fraction": float((~fired).float().mean()),
    }


def _hf(model: Any) -> Any:
    """The transformers model of a ``repro.models.LoadedModel`` or a transformers model itself."""
    from repro.figure import ReproError

    hf = getattr(model, "hf", model)
    if hf is None:
        raise ReproError(
            "splice_delta_ce needs the transformers model; load with load_model(..., keep_hf=True)"
        )
    return hf


@torch.no_grad()
def splice_delta_ce(
    models: Sequence[Any],
    layer: int,
    crosscoder: Crosscoder,
    ids: Tensor,
    mask: Tensor,
    skip_first: int = 1,
) -> dict[str, Any]:
    """Next-token loss (``repro.lm_train.lm_loss``) of each model when its resid_pre at block ``layer`` is replaced
    by the crosscoder's reconstruction (encoded from all models' activations at once), against the clean loss and
    zero-ablation (the same positions set to 0). The first ``skip_first`` positions are left alone (the crosscoder
    is trained without them: attention sinks). Per model: clean, spliced, zero, delta_ce = spliced - clean, and
    frac_recovered = (zero - spliced) / (zero - clean)."""
    from repro.hooks import edit_resid_pre
    from repro.lm_train import lm_loss

    hfs = [_hf(m) for m in models]
    if len(hfs) != crosscoder.cfg.n_models:
        raise ValueError(f"the crosscoder reads {crosscoder.cfg.n_models} models, got {len(hfs)}")
    dev = crosscoder.W_dec.device

    def run(hf: Any, replace: Tensor | None) -> tuple[Tensor, Tensor]:
        captured = {}

        def splice(h: Tensor) -> Tensor:
            captured["x"] = h
            if replace is None:
                return h
            new = h.clone()
            new[:, skip_first:] = replace[:, skip_first:].to(h.device, h.dtype)
            return new

        with edit_resid_pre(hf, layer, splice):
            logits = hf(input_ids=ids, attention_mask=mask, use_cache=False).logits
        return lm_loss(logits.float(), ids, mask), captured["x"]

    clean, acts = zip(*(run(hf, None) for hf in hfs), strict=True)
    x = torch.stack(acts, dim=2).float()  # [B, T, M, d]
    B, T, M, d = x.shape
    recon = crosscoder(x.reshape(B * T, M, d).to(dev)).view(B, T, M, d).cpu()
    spliced = [run(hf, recon[:, :, m])[0] for m, hf in enumerate(hfs)]
    zero = [run(hf, torch.zeros_like(recon[:, :, m]))[0] for m, hf in enumerate(hfs)]
    out: dict[str, Any] = {}
    for key, vals in (("clean", clean), ("spliced", spliced), ("zero", zero)):
        out[key] = [float(v) for v in vals]
    out["delta_ce"] = [s - c for s, c in zip(out["spliced"], out["clean"], strict=True)]
    out["frac_recovered"] = [
        (z - s) / (z - c) if z != c else float("nan")
        for z, s, c in zip(out["zero"], out["spliced"], out["clean"], strict=True)
    ]
    return out


# ----------------------------------------------------------------------------------------------- save / load
def save_crosscoder(
    model: Crosscoder,
    path: str | Path,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
    hook_point: str | None = None,
) -> Path:
    """SAELens-style artifact (``repro.artifacts``): cfg.json (the config, the hook point it reads, the
    normalisation scales and threshold, ``metadata`` such as model names) + the weights and buffers as safetensors."""
    from repro.artifacts import save_artifact

    cfg = {
        "architecture": ARCHITECTURE,
        **({"hook_point": hook_point} if hook_point else {}),
        **asdict(model.cfg),
        "normalisation_scales": model.scale.tolist(),
        "threshold": float(model.threshold),
        "metadata": metadata or {},
    }
    tensors = {k: v.detach() for k, v in model.state_dict().items()}
    return save_artifact(path, cfg, tensors, overwrite=overwrite)


def load_crosscoder(path: str | Path, device: str = "cpu") -> Crosscoder:
    """A crosscoder saved by :func:`save_crosscoder` (scales and threshold included), in eval mode."""
    from repro.artifacts import load_artifact
    from repro.figure import ReproError

    raw, tensors = load_artifact(path, device="cpu")
    if raw.get("architecture") != ARCHITECTURE:
        raise ReproError(f"{path} holds a {raw.get('architecture')!r}, not a {ARCHITECTURE}")
    fields = CrosscoderConfig.__dataclass_fields__
    cfg = CrosscoderConfig(**{k: v for k, v in raw.items() if k in fields})
    model = Crosscoder(cfg)
    model.load_state_dict(tensors)
    return model.to(device).eval()
