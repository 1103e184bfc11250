"""The official toy models as plain ``nn.Module``s, one run each, following the structure of grow-crystals' ``MLP``
/ ``MLP_HS`` and ``customTransformer`` (``src/utils/model.py`` at 60a6722; written here, not copied).

They are the reference our stacked models are checked against (``tests/test_official_models.py``: the same init and
the same batches train to the same weights) and the official side of ``benchmarks/official_loop.py``. A run of a
stack loads into one with :meth:`OfficialMLP.from_stacked` / :meth:`OfficialTransformer.from_stacked`, e.g. to hand
a trained run to code written for the official modules.

- MLP: embed each token (dim 16), concatenate, Linear(L*16, 100), SiLU, Linear(100, 16), head tied to the
  embedding (standard: a Linear *with* bias over the embedding rows; harmonic: distance logits to them).
- Transformer: ``nn.Embedding`` + N(0, 1) positional table, 2 post-LN ``nn.TransformerEncoderLayer`` (d 16, 2 heads,
  FF 64, ReLU, batch_first) each inside an extra residual (D8), read at the last position; standard head ``h @ E^T``,
  harmonic head to untied centres (D7).

``forward`` returns logits (standard) or log-probabilities (harmonic: :func:`harmonic_loss.harmax.log_harmax`, the
official code's exponent convention); ``task_loss`` is the matching -log p_y and ``group_lasso`` the official
embedding penalty, the training loss being ``task_loss + penalty * group_lasso``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from harmonic_loss.harmax import log_harmax
from harmonic_loss.toy_models import StackedMLP, StackedTransformer


class OfficialToyModel(nn.Module):
    """What both official toy models share: the head's output convention and the training loss."""

    def __init__(self, harmonic: bool, n: float, eps: float):
        super().__init__()
        self.harmonic, self.n, self.eps = harmonic, n, eps

    @property
    def embedding(self) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def task_loss(self, out: Tensor, y: Tensor) -> Tensor:
        """Mean -log p_y of ``forward``'s output: log-probabilities (harmonic) or logits (standard)."""
        return nn.functional.nll_loss(out, y) if self.harmonic else nn.functional.cross_entropy(out, y)

    def group_lasso(self) -> Tensor:
        """The official embedding penalty: mean over dimensions of sqrt(mean over tokens of E^2)."""
        return self.embedding.pow(2).mean(0).sqrt().mean()


class OfficialMLP(OfficialToyModel):
    def __init__(
        self,
        vocab: int,
        seq_len: int,
        harmonic: bool,
        dim: int = 16,
        hidden: int = 100,
        n: float = 1.0,
        eps: float = 1e-4,
    ):
        super().__init__(harmonic, n, eps)
        self.fc1 = nn.Linear(seq_len * dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.head = nn.Linear(dim, vocab, bias=not harmonic)  # its weight IS the token embedding (tied)
        nn.init.normal_(self.head.weight, std=dim**-0.5)

    @property
    def embedding(self) -> Tensor:
        return self.head.weight

    def forward(self, x: Tensor) -> Tensor:
        h = self.fc2(nn.functional.silu(self.fc1(self.embedding[x].reshape(len(x), -1))))
        if self.harmonic:
            return log_harmax(h, self.head.weight, self.n, "code", self.eps)
        return self.head(h)

    @classmethod
    @torch.no_grad()
    def from_stacked(cls, stacked: StackedMLP, run: int) -> OfficialMLP:
        """Run ``run`` of ``stacked`` (its own vocabulary and input length, padding dropped)."""
        p = {k: v[run].detach() for k, v in stacked.params.items()}
        vocab, seq_len = int(stacked.vocab[run]), int(stacked.seq_len[run])
        dim, hidden = p["emb"].shape[-1], p["b1"].shape[-1]
        m = cls(vocab, seq_len, bool(stacked.harmonic[run]), dim, hidden, stacked.n, stacked.eps)
        m.fc1.weight.copy_(p["w1"][: seq_len * dim].T)
        m.fc1.bias.copy_(p["b1"])
        m.fc2.weight.copy_(p["w2"].T)
        m.fc2.bias.copy_(p["b2"])
        m.head.weight.copy_(p["emb"][:vocab])
        if m.head.bias is not None:
            m.head.bias.copy_(p["head_bias"][:vocab])
        return m


class OfficialTransformer(OfficialToyModel):
    def __init__(
        self,
        vocab: int,
        seq_len: int,
        harmonic: bool,
        dim: int = 16,
        heads: int = 2,
        layers: int = 2,
        dropout: float = 0.1,
        n: float = 1.0,
        eps: float = 1e-4,
    ):
        super().__init__(harmonic, n, eps)
        self.emb = nn.Embedding(vocab, dim)
        nn.init.normal_(self.emb.weight, std=dim**-0.5)
        self.pos = nn.Parameter(torch.randn(seq_len, dim))
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout, batch_first=True) for _ in range(layers)
        )
        # harmonic: untied class centres (D7); standard: h @ E^T, tied, no bias
        self.centres = nn.Parameter(torch.randn(vocab, dim) * dim**-0.5) if harmonic else None

    @property
    def embedding(self) -> Tensor:
        return self.emb.weight

    def forward(self, x: Tensor) -> Tensor:
        h = self.emb(x) + self.pos
        for layer in self.layers:
            h = layer(h) + h  # the official extra residual (D8)
        h = h[:, -1]
        if self.centres is not None:
            return log_harmax(h, self.centres, self.n, "code", self.eps)
        return h @ self.emb.weight.T

    @classmethod
    @torch.no_grad()
    def from_stacked(cls, stacked: StackedTransformer, run: int) -> OfficialTransformer:
        """Run ``run`` of ``stacked`` (its own vocabulary and input length: the right-aligned positions)."""
        p = {k: v[run].detach() for k, v in stacked.params.items()}
        vocab, seq_len = int(stacked.vocab[run]), int(stacked.seq_len[run])
        dim, harmonic = p["emb"].shape[-1], bool(stacked.harmonic[run])
        m = cls(
            vocab,
            seq_len,
            harmonic,
            dim,
            stacked.heads,
            stacked.n_layers,
            stacked.dropout,
            stacked.n,
            stacked.eps,
        )
        m.emb.weight.copy_(p["emb"][:vocab])
        m.pos.copy_(p["pos"][stacked.L - seq_len :])
        if m.centres is not None:
            m.centres.copy_(p["centres"][:vocab])
        for i, layer in enumerate(m.layers):
            layer.self_attn.in_proj_weight.copy_(p[f"{i}.wqkv"].T)
            layer.self_attn.in_proj_bias.copy_(p[f"{i}.bqkv"])
            layer.self_attn.out_proj.weight.copy_(p[f"{i}.wo"].T)
            layer.self_attn.out_proj.bias.copy_(p[f"{i}.bo"])
            layer.linear1.weight.copy_(p[f"{i}.w1"].T)
            layer.linear1.bias.copy_(p[f"{i}.b1"])
            layer.linear2.weight.copy_(p[f"{i}.w2"].T)
            layer.linear2.bias.copy_(p[f"{i}.b2"])
            layer.norm1.weight.copy_(p[f"{i}.ln1w"])
            layer.norm1.bias.copy_(p[f"{i}.ln1b"])
            layer.norm2.weight.copy_(p[f"{i}.ln2w"])
            layer.norm2.bias.copy_(p[f"{i}.ln2b"])
        return m
