"""The toy models of the paper, written over stacked parameters (a leading run axis ``[S, ...]``) for repro.stack.

MLP (official ``MLP`` / ``MLP_HS``): embed each input token (dim 16), concatenate, Linear(L*16, 100), SiLU,
Linear(100, 16), then the head. Standard head: the embedding matrix as a tied Linear *with* bias + softmax; harmonic
head: distance logits to the embedding rows, i.e. the class centres ARE the token embeddings (tied, as in the
official code), through :func:`harmonic_loss.harmax.harmonic_logits`.

Transformer (official ``customTransformer``): token embedding + learned positional table N(0, 1), two post-LN
``nn.TransformerEncoderLayer`` (d 16, 2 heads, FF 64, ReLU, dropout 0.1), each wrapped in an extra residual
(``x = layer(x) + x``, defect D8 kept for fidelity), read out at the last position. Standard head: ``h @ E^T`` (tied,
no bias); harmonic head: an *untied* set of centres (defect D7 kept: EV is still measured on the input embedding).

One stack may mix tasks: every run has its own vocabulary size and input length; inputs are padded to the longest
length (MLP: padded positions at the end, multiplied by 0, so they contribute nothing and get no gradient;
transformer: padding positions in front, masked out as attention keys),
runs are ordered in contiguous blocks of one (vocabulary, head) so that each block's logits cover exactly its own
classes, and the embedding penalty only sees a run's own rows. Standard and harmonic runs may share a stack.

Initialisation follows PyTorch's defaults for each layer (``nn.Linear``: U(+-1/sqrt(fan_in)) for weight and bias;
MHA in-projection: Xavier-uniform, zero biases; LayerNorm: ones/zeros) except the token embeddings and harmonic
centres, N(0, 1/D) as in the official code. Each run is initialised from its own seed on the CPU, so a run's initial
weights do not depend on what else is in its stack.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from harmonic_loss.harmax import harmonic_logits


def _uniform(g: torch.Generator, shape: tuple[int, ...], bound: float) -> Tensor:
    return (torch.rand(shape, generator=g) * 2 - 1) * bound


def group_lasso(emb: Tensor, vocab: Tensor) -> Tensor:
    """The official embedding penalty per run: mean over dims j of sqrt(mean over tokens i of E_ij^2) -> [S]."""
    rows = (torch.arange(emb.shape[1], device=emb.device) < vocab[:, None]).to(emb.dtype)  # [S, V]
    ms = (emb.pow(2) * rows[..., None]).sum(1) / vocab[:, None].to(emb.dtype)  # [S, D]
    return ms.clamp_min(1e-12).sqrt().mean(1)


class StackedToyModel:
    """Shared bits: parameters dict, blocks of runs with one vocabulary and head, per-run loss and accuracy."""

    params: dict[str, Tensor]

    def __init__(
        self,
        harmonic: Sequence[bool],
        vocab: Sequence[int],
        seq_len: Sequence[int],
        n: float,
        convention: str,
        eps: float,
        device,
    ):
        self.n_runs = len(harmonic)
        self.device = torch.device(device)
        self.harmonic = torch.tensor(list(harmonic), dtype=torch.bool, device=self.device)
        self.vocab = torch.tensor(list(vocab), dtype=torch.long, device=self.device)
        self.seq_len = torch.tensor(list(seq_len), dtype=torch.long, device=self.device)
        self.V, self.L = int(max(vocab)), int(max(seq_len))
        self.n, self.convention, self.eps = n, convention, eps
        # Runs are processed in contiguous blocks of one vocabulary size and one head type: each block's logits
        # are exactly [S_b, B, V_b] (no padded classes, no head computed for runs that do not use it).
        keys = list(zip(vocab, harmonic, strict=True))
        self.blocks: list[tuple[int, int, int, bool]] = []
        start = 0
        for i in range(1, self.n_runs + 1):
            if i == self.n_runs or keys[i] != keys[start]:
                self.blocks.append((start, i, int(keys[start][0]), bool(keys[start][1])))
                start = i
        if len({(v, h) for _, _, v, h in self.blocks}) != len(self.blocks):
            raise ValueError("order the runs so that equal (vocabulary, head) runs are contiguous")
        self.pos_mask = (torch.arange(self.L, device=self.device) < self.seq_len[:, None]).float()  # [S, L]

    def _finish(self, per_run: list[dict[str, Tensor]]) -> None:
        self.params = {
            k: torch.stack([p[k] for p in per_run]).to(self.device).requires_grad_(True) for k in per_run[0]
        }

    def _heads(self, h: Tensor, linear_w: Tensor, linear_b: Tensor | None, centres: Tensor) -> list[Tensor]:
        """[S, B, D] -> per block logits [S_b, B, V_b]: each run's own head over its own classes."""
        # One split per tensor (its backward is one concatenation) rather than a slice per block (whose backward
        # writes a full-size zero tensor per block).
        sizes = [b - a for a, b, _, _ in self.blocks]
        hs, ws, cs = h.split(sizes), linear_w.split(sizes), centres.split(sizes)
        bs = linear_b.split(sizes) if linear_b is not None else [None] * len(sizes)
        out = []
        for (_, _, v, harmonic), hb, wb, cb, bb in zip(self.blocks, hs, ws, cs, bs, strict=True):
            if harmonic:
                out.append(harmonic_logits(hb, cb[:, :v], self.n, self.convention, self.eps))
            else:
                logits = hb @ wb[:, :v].transpose(1, 2)
                out.append(logits if bb is None else logits + bb[:, None, :v])
        return out

    def logits(
        self, x: Tensor, train: bool = False, params: dict[str, Tensor] | None = None
    ) -> list[Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def embedding(self) -> Tensor:
        return self.params["emb"]

    def loss(
        self,
        x: Tensor,
        y: Tensor,
        penalty: float | Tensor,
        train: bool = True,
        params: dict[str, Tensor] | None = None,
    ) -> Tensor:
        """Per-run mean cross-entropy over the batch plus ``penalty`` (a number, or one per run [S]) x the
        embedding group-lasso -> [S]. ``params``: evaluate these parameters instead of ``self.params`` (the same
        names and shapes; a pure function of them, for ``torch.func.grad``)."""
        p = self.params if params is None else params
        parts = []
        for (a, b, _, _), logits in zip(self.blocks, self.logits(x, train=train, params=p), strict=True):
            ce = F.cross_entropy(logits.flatten(0, 1), y[a:b].flatten(), reduction="none")
            parts.append(ce.view(b - a, -1).mean(1))
        ce = torch.cat(parts)
        if isinstance(penalty, Tensor) or penalty:
            ce = ce + penalty * group_lasso(p["emb"], self.vocab)
        return ce

    @torch.no_grad()
    def accuracy(
        self, x: Tensor, y: Tensor, n_rows: Tensor, chunk: int = 1024, train: bool = False
    ) -> Tensor:
        """Per-run accuracy on padded rows ``x`` [S, N, L] of which the first ``n_rows[r]`` are real -> [S].

        ``train=True`` evaluates with dropout active, as the official transformer is evaluated (D6)."""
        correct = torch.zeros(self.n_runs, device=self.device)
        for start in range(0, x.shape[1], chunk):
            xb, yb = x[:, start : start + chunk], y[:, start : start + chunk]
            pred = torch.cat([logits.argmax(-1) for logits in self.logits(xb, train=train)])
            real = (torch.arange(start, start + xb.shape[1], device=self.device) < n_rows[:, None]).float()
            correct += ((pred == yb).float() * real).sum(1)
        return correct / n_rows.clamp_min(1)


class StackedMLP(StackedToyModel):
    def __init__(
        self,
        seeds: Sequence[int],
        harmonic: Sequence[bool],
        vocab: Sequence[int],
        seq_len: Sequence[int],
        dim: int = 16,
        hidden: int = 100,
        n: float = 1.0,
        convention: str = "code",
        eps: float = 1e-4,
        device="cpu",
    ):
        super().__init__(harmonic, vocab, seq_len, n, convention, eps, device)
        per_run = []
        for seed, v, L in zip(seeds, vocab, seq_len, strict=True):
            g = torch.Generator().manual_seed(int(seed))
            emb = torch.zeros(self.V, dim)
            emb[:v] = torch.randn(v, dim, generator=g) * dim**-0.5
            w1 = torch.zeros(self.L * dim, hidden)
            b_in = 1 / math.sqrt(L * dim)
            w1[: L * dim] = _uniform(g, (hidden, L * dim), b_in).T
            per_run.append(
                {
                    "emb": emb,
                    "w1": w1,
                    "b1": _uniform(g, (hidden,), b_in),
                    "w2": _uniform(g, (dim, hidden), 1 / math.sqrt(hidden)).T.contiguous(),
                    "b2": _uniform(g, (dim,), 1 / math.sqrt(hidden)),
                    "head_bias": _uniform(g, (self.V,), 1 / math.sqrt(dim)),
                }
            )
        self._finish(per_run)

    def hidden(self, x: Tensor, params: dict[str, Tensor] | None = None) -> Tensor:
        p = self.params if params is None else params
        S, B, _ = x.shape
        e = p["emb"].gather(1, x.reshape(S, -1, 1).expand(-1, -1, p["emb"].shape[2]))  # [S, B*L, D]
        e = e.view(S, B, self.L, -1) * self.pos_mask[:, None, :, None]
        h = F.silu(torch.baddbmm(p["b1"][:, None, :], e.reshape(S, B, -1), p["w1"]))
        return torch.baddbmm(p["b2"][:, None, :], h, p["w2"])

    def logits(self, x: Tensor, train: bool = False, params: dict[str, Tensor] | None = None) -> list[Tensor]:
        p = self.params if params is None else params
        return self._heads(self.hidden(x, p), p["emb"], p["head_bias"], p["emb"])


class StackedTransformer(StackedToyModel):
    def __init__(
        self,
        seeds: Sequence[int],
        harmonic: Sequence[bool],
        vocab: Sequence[int],
        seq_len: Sequence[int],
        dim: int = 16,
        heads: int = 2,
        ff: int = 64,
        layers: int = 2,
        dropout: float = 0.1,
        n: float = 1.0,
        convention: str = "code",
        eps: float = 1e-4,
        device="cpu",
    ):
        super().__init__(harmonic, vocab, seq_len, n, convention, eps, device)
        self.heads, self.n_layers, self.dropout = heads, layers, dropout
        # Attention over the 2-3 input tokens as batched matmuls of tiny matrices (eager) or as broadcast products
        # and sums, which torch.compile fuses with the softmax around them (a compiled stack sets it: ~17 % faster
        # compiled, slower eager). The same function, rounded differently (tested).
        self.broadcast_attention = False
        # Inputs are right-aligned (a shorter input is preceded by padding positions); padding positions are masked
        # out as attention keys, so they never reach a real position, and the output is read at the last position:
        # a run of input length L_r computes exactly what it would alone.
        self.key_mask = torch.arange(self.L, device=self.device) >= self.L - self.seq_len[:, None]  # [S, L]
        per_run = []
        for seed, v, length in zip(seeds, vocab, seq_len, strict=True):
            g = torch.Generator().manual_seed(int(seed))
            emb = torch.zeros(self.V, dim)
            emb[:v] = torch.randn(v, dim, generator=g) * dim**-0.5
            centres = torch.zeros(self.V, dim)
            centres[:v] = torch.randn(v, dim, generator=g) * dim**-0.5
            pos = torch.zeros(self.L, dim)
            pos[self.L - length :] = torch.randn(length, dim, generator=g)
            r = {"emb": emb, "centres": centres, "pos": pos}
            for i in range(layers):
                xavier = math.sqrt(6 / (dim + 3 * dim))
                r[f"{i}.wqkv"] = _uniform(g, (3 * dim, dim), xavier).T.contiguous()
                r[f"{i}.bqkv"] = torch.zeros(3 * dim)
                r[f"{i}.wo"] = _uniform(g, (dim, dim), 1 / math.sqrt(dim)).T.contiguous()
                r[f"{i}.bo"] = torch.zeros(dim)
                r[f"{i}.ln1w"], r[f"{i}.ln1b"] = torch.ones(dim), torch.zeros(dim)
                r[f"{i}.w1"] = _uniform(g, (ff, dim), 1 / math.sqrt(dim)).T.contiguous()
                r[f"{i}.b1"] = _uniform(g, (ff,), 1 / math.sqrt(dim))
                r[f"{i}.w2"] = _uniform(g, (dim, ff), 1 / math.sqrt(ff)).T.contiguous()
                r[f"{i}.b2"] = _uniform(g, (dim,), 1 / math.sqrt(ff))
                r[f"{i}.ln2w"], r[f"{i}.ln2b"] = torch.ones(dim), torch.zeros(dim)
            per_run.append(r)
        self._finish(per_run)

    def _ln(self, x: Tensor, w: Tensor, b: Tensor) -> Tensor:
        return F.layer_norm(x, x.shape[-1:]) * w[:, None, None, :] + b[:, None, None, :]

    def _layer(self, x: Tensor, i: int, train: bool, p: dict[str, Tensor]) -> Tensor:
        S, B, L, D = x.shape
        H, drop = self.heads, (self.dropout if train else 0.0)
        qkv = torch.baddbmm(p[f"{i}.bqkv"][:, None], x.reshape(S, B * L, D), p[f"{i}.wqkv"])
        q, k, v = qkv.view(S, B, L, 3, H, D // H).permute(3, 0, 1, 4, 2, 5)  # each [S, B, H, L, dh]
        if self.broadcast_attention:
            scores = (q[..., :, None, :] * k[..., None, :, :]).sum(-1) / math.sqrt(D // H)
        else:
            scores = q @ k.transpose(-1, -2) / math.sqrt(D // H)  # [S, B, H, L(query), L(key)]
        scores = scores.masked_fill(~self.key_mask[:, None, None, None, :], float("-inf"))
        att = torch.softmax(scores, -1)
        att = F.dropout(att, drop, train)
        a = (att[..., None] * v[..., None, :, :]).sum(-2) if self.broadcast_attention else att @ v
        a = a.transpose(2, 3).reshape(S, B * L, D)
        a = torch.baddbmm(p[f"{i}.bo"][:, None], a, p[f"{i}.wo"]).view(S, B, L, D)
        x = self._ln(x + F.dropout(a, drop, train), p[f"{i}.ln1w"], p[f"{i}.ln1b"])
        f = F.relu(torch.baddbmm(p[f"{i}.b1"][:, None], x.reshape(S, B * L, D), p[f"{i}.w1"]))
        f = torch.baddbmm(p[f"{i}.b2"][:, None], F.dropout(f, drop, train), p[f"{i}.w2"]).view(S, B, L, D)
        return self._ln(x + F.dropout(f, drop, train), p[f"{i}.ln2w"], p[f"{i}.ln2b"])

    def hidden(self, x: Tensor, train: bool = False, params: dict[str, Tensor] | None = None) -> Tensor:
        p = self.params if params is None else params
        S, B, L = x.shape
        h = p["emb"].gather(1, x.reshape(S, -1, 1).expand(-1, -1, p["emb"].shape[2])).view(S, B, L, -1)
        h = h + p["pos"][:, None]
        for i in range(self.n_layers):
            h = self._layer(h, i, train, p) + h  # the official extra residual around each layer
        return h[:, :, -1]

    def logits(self, x: Tensor, train: bool = False, params: dict[str, Tensor] | None = None) -> list[Tensor]:
        p = self.params if params is None else params
        return self._heads(self.hidden(x, train, p), p["emb"], None, p["centres"])
