"""A GPT-2 style language model with a standard or a harmonic head, readable top to bottom (after nanoGPT).

Reference: karpathy/nanoGPT ``model.py``, and the paper's ``GPT2/model_l2loss.py`` (the only change there is the head).
- ``head="standard"``: logits = h W_e^T (tied to the token embedding), softmax cross-entropy.
- ``head="harmonic"``: logits = -n log ||h - w_e|| over the token embeddings w_e (tied), i.e. HarMax, computed by
  :func:`harmonic_loss.harmax.harmonic_logits` (fused: one GEMM, log space, never a [B, T, V, D] tensor).

The official code's choices are options, named as such, with the cleaner formulation as the default:
- ``harmonic_convention="code"`` with ``harmonic_n=768``: the exponent on the *squared* distance, as committed
  (paper-convention exponent 1536). Default: the paper's convention with n = sqrt(n_embd).
- ``prob_floor=0.01 / vocab``: the official code adds a uniform floor to the probabilities before the log, which
  bounds the loss and hides instabilities. Default 0 (plain cross-entropy on the harmonic logits).
- The official code wraps nearly every op in ``torch.nan_to_num``; we do not mask anything: the trainer counts
  non-finite losses and skips those steps, and reports the count.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from harmonic_loss.harmax import harmonic_logits, harmonic_loss

CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"


@dataclass(frozen=True)
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = 50304  # GPT-2's 50257 padded to a multiple of 64
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = False
    head: Literal["standard", "harmonic"] = "standard"
    harmonic_n: float | None = None  # None: sqrt(n_embd) (paper convention)
    harmonic_convention: Literal["paper", "code"] = "paper"
    harmonic_eps: float = 1e-6
    prob_floor: float = 0.0  # official code: 0.01 / vocab_size
    init_std: float = 0.02

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.head not in ("standard", "harmonic"):
            raise ValueError(f"head must be 'standard' or 'harmonic', got {self.head!r}")
        if self.harmonic_convention not in ("paper", "code"):
            raise ValueError(
                f"harmonic_convention must be 'paper' or 'code', got {self.harmonic_convention!r}"
            )
        if not 0 <= self.prob_floor < 1:
            raise ValueError(f"prob_floor must be in [0, 1), got {self.prob_floor}")

    @property
    def n(self) -> float:
        return self.harmonic_n if self.harmonic_n is not None else math.sqrt(self.n_embd)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.resid_dropout = nn.Dropout(cfg.dropout)
        self.n_head, self.dropout = cfg.n_head, cfg.dropout

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: residual projections scaled by 1/sqrt(2 n_layer)
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=cfg.init_std / math.sqrt(2 * cfg.n_layer))

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=self.cfg.init_std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def hidden(self, idx: Tensor) -> Tensor:
        """Final-layer representations [B, T, n_embd] (after the final LayerNorm), the head's input."""
        seq_len = idx.shape[1]
        if seq_len > self.cfg.block_size:
            raise ValueError(f"sequence length {seq_len} exceeds block_size {self.cfg.block_size}")
        pos = torch.arange(seq_len, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def logits(self, h: Tensor) -> Tensor:
        """Head logits (for generation and analysis; training uses :meth:`loss`, which never keeps them)."""
        if self.cfg.head == "standard":
            return h @ self.wte.weight.T
        c = self.cfg
        return harmonic_logits(h, self.wte.weight, c.n, c.harmonic_convention, c.harmonic_eps)

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor | None, Tensor | None]:
        """(logits, None) without targets; (None, loss) with targets (the [B, T, V] logits are never kept)."""
        h = self.hidden(idx)
        if targets is None:
            return self.logits(h), None
        return None, self.loss(h, targets)

    def loss(self, h: Tensor, targets: Tensor) -> Tensor:
        """Mean next-token loss of final hidden states ``h`` [B, T, D]; targets -1 are ignored."""
        c = self.cfg
        if c.head == "harmonic" and c.prob_floor == 0:
            return harmonic_loss(
                h, self.wte.weight, targets, c.n, c.harmonic_convention, c.harmonic_eps, fused=True
            )
        logits = self.logits(h).reshape(-1, c.vocab_size).float()
        y = targets.reshape(-1)
        if c.prob_floor == 0:
            return F.cross_entropy(logits, y, ignore_index=-1)
        # Official code: p + floor before the log, in log space: log(p + a) = logaddexp(log p, log a).
        logp = torch.log_softmax(logits, -1).gather(1, y.clamp_min(0)[:, None]).squeeze(1)
        floored = torch.logaddexp(logp, torch.tensor(math.log(c.prob_floor), device=logp.device))
        return -floored[y >= 0].mean()

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters()) - self.wpe.weight.numel()

    # ------------------------------------------------------------------------------------------- artifacts
    def save(self, directory: str | Path, extra: dict | None = None) -> None:
        """``config.json`` + ``model.safetensors`` (written atomically), the artifact every analysis loads."""
        from safetensors.torch import save_file

        from repro.cache import atomic_write_text

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{WEIGHTS_FILE}.tmp"
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(tmp))
        tmp.replace(d / WEIGHTS_FILE)
        atomic_write_text(d / CONFIG_FILE, json.dumps({"model": asdict(self.cfg), **(extra or {})}, indent=1))

    @classmethod
    def load(cls, directory: str | Path, device: str | torch.device = "cpu") -> GPT:
        from safetensors.torch import load_file

        from repro.figure import ReproError

        d = Path(directory)
        if not (d / CONFIG_FILE).exists() or not (d / WEIGHTS_FILE).exists():
            raise ReproError(
                f"{d} is not a GPT checkpoint (needs {CONFIG_FILE} and {WEIGHTS_FILE}); train one first"
            )
        cfg = GPTConfig(**json.loads((d / CONFIG_FILE).read_text())["model"])
        model = cls(cfg)
        try:
            model.load_state_dict(load_file(str(d / WEIGHTS_FILE), device=str(device)))
        except Exception as e:  # truncated or mismatched file: say which
            raise ReproError(
                f"{d / WEIGHTS_FILE} cannot be loaded ({type(e).__name__}: {str(e)[:120]}); re-save it"
            ) from None
        return model.to(device)
