"""Tiny GPT-NeoX (Pythia-architecture) language models for the "LLM training" arm, and LM-to-LM stitching.

A word-level tokenizer over template words + single-token names (every name is one token by construction, the
tokenizer-level version of the official single-token filter). The "trained LM" learns the facts of one fixed family
tree as text:

    "{P} 's children : [ {C1} , {C2} ] ."          (every parent fact, always in training)
    "Is {X} a descendant of {Y} ? Yes" / "... ? No"   (descendant questions; held-out links never seen)

Models are ``transformers.GPTNeoXForCausalLM`` saved with ``save_pretrained`` and loaded back through
:func:`repro.models.load_model`, the code path that loads Pythia from the hub at paper scale. Representations are
the residual stream (HF ``hidden_states[l]`` = TransformerLens ``blocks.l.hook_resid_pre``; the last entry is after
the final layer norm) at the last token of "Is {name}", per layer.

Stitching (official ``stitching-mid.py``, defects fixed): sender layers [0, l_s) -> affine map (zero init as the
official code, or least-squares init on activations) -> receiver layers [l_r, L_r) + final norm + unembedding, at
the same relative depth ``l = int(c * n_layers)`` in both; only the map is trained (next-token loss); the score is
the relative next-token loss degradation ``(L_stitched - L_receiver) / L_receiver`` on held-out text. Both halves
use their own tokenizer's ids: here they share one tokenizer (checked), as within the Pythia family.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from repro import lm_train
from repro.hooks import decoder_layers, edit_embed, edit_resid_pre

TEMPLATE = ["Is", "a", "descendant", "of", "?", "Yes", "No", "'s", "children", ":", "[", "]", ",", "."]
PAD, EOS = lm_train.PAD, lm_train.EOS
encode = lm_train.encode
lm_loss = lm_train.lm_loss


def build_word_tokenizer(names: list[str]) -> Any:
    """A word-level fast tokenizer (whitespace split) with one id per template word and per name."""
    return lm_train.build_word_tokenizer([*TEMPLATE, *names], specials=(PAD, EOS))


def fact_texts(parents: tuple[int, ...], names: list[str]) -> list[str]:
    kids: dict[int, list[int]] = {}
    for c, p in enumerate(parents):
        if p >= 0:
            kids.setdefault(p, []).append(c)
    return [
        f"{names[p]} 's children : [ {' , '.join(names[c] for c in cs)} ] ." for p, cs in sorted(kids.items())
    ]


def question_text(x: str, y: str, label: int | None) -> str:
    q = f"Is {x} a descendant of {y} ?"
    return q if label is None else f"{q} {'Yes' if label else 'No'}"


@dataclass(frozen=True)
class LMConfig:
    d_model: int = 64
    n_layers: int = 4
    n_heads: int = 4
    steps: int = 1500
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.01
    seed: int = 0


def new_model(cfg: LMConfig, vocab_size: int, n_ctx: int = 32, rotary_pct: float = 0.25) -> Any:
    """A fresh GPT-NeoX (Pythia's rotary fraction 0.25 unless ``rotary_pct`` says otherwise)."""
    import transformers

    torch.manual_seed(cfg.seed)
    conf = transformers.GPTNeoXConfig(
        vocab_size=vocab_size,
        hidden_size=cfg.d_model,
        intermediate_size=4 * cfg.d_model,
        num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads,
        max_position_embeddings=n_ctx,
        rotary_pct=rotary_pct,
        use_parallel_residual=True,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=1,
        pad_token_id=0,
    )
    return transformers.GPTNeoXForCausalLM(conf)


def train_lm(
    model: Any, ids: torch.Tensor, mask: torch.Tensor, cfg: LMConfig, desc: str | None = None
) -> list[float]:
    """AdamW on random minibatches of the training texts (seeded); returns the loss every 50 steps."""
    return fit(model, ids, mask, mask, cfg.steps, cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.seed, desc)


fit = lm_train.fit


def save(model: Any, tokenizer: Any, path: Path) -> Path:
    return lm_train.save_pretrained(model, tokenizer, path)


@torch.no_grad()
def answer_logit_diff(model: Any, tokenizer: Any, questions: list[str]) -> np.ndarray:
    """logit(Yes) - logit(No) at the answer slot of each question (the text ends with '?')."""
    ids, mask = encode(tokenizer, questions)
    last = mask.sum(1) - 2  # position of '?' (EOS follows it)
    logits = model(ids, attention_mask=mask).logits[torch.arange(len(ids)), last]
    yes, no = tokenizer.convert_tokens_to_ids("Yes"), tokenizer.convert_tokens_to_ids("No")
    return (logits[:, yes] - logits[:, no]).numpy()


@torch.no_grad()
def name_representations(model: Any, tokenizer: Any, names: list[str]) -> np.ndarray:
    """``[n_layers + 1, N, d]`` residual stream at the last token of "Is {name}" (``hidden_states`` per layer)."""
    ids, mask = encode(tokenizer, [f"Is {n}" for n in names])
    out = model(ids, attention_mask=mask, output_hidden_states=True)
    last = mask.sum(1) - 2  # the name (EOS follows it)
    return np.stack([h[torch.arange(len(ids)), last].numpy() for h in out.hidden_states])


class Stitched(torch.nn.Module):
    """Sender layers [0, l_s) -> affine map -> receiver layers [l_r, L) (+ final norm, unembedding). ``cut`` 0 is
    the embedding stitch of the official ``eval-mid.py`` ("embed_to"): the sender's token embeddings, mapped, in
    place of the receiver's (the receiver adds its own positions, if it has learned ones)."""

    def __init__(
        self,
        sender: Any,
        receiver: Any,
        cut: float,
        init: str = "zero",
        fit_ids=None,
        fit_mask=None,
        train_receiver: bool = False,
    ):
        """``train_receiver``: the receiver's layers [l_r, L), final norm and unembedding train with the map (the
        "receiver from scratch" reference, given a freshly initialised receiver); otherwise only the map trains."""
        super().__init__()
        if cut < 0 or cut >= 1:
            raise ValueError("cut depth must be in [0, 1) (0: the embedding stitch)")
        self.sender, self.receiver = sender, receiver
        self.l_s = int(cut * sender.config.num_hidden_layers)
        self.l_r = int(cut * receiver.config.num_hidden_layers)
        # at cut 0 the map goes between token embeddings, which can be narrower than the residual (OPT-350m: 512,
        # projected to 1024 after the embedding)
        ds = sender.get_input_embeddings().embedding_dim if self.l_s == 0 else sender.config.hidden_size
        dr = receiver.get_input_embeddings().embedding_dim if self.l_r == 0 else receiver.config.hidden_size
        self.map = torch.nn.Linear(ds, dr)
        for p in (*sender.parameters(), *receiver.parameters()):
            p.requires_grad_(False)
        self.receiver_params: dict[str, torch.Tensor] = {}
        if train_receiver:  # everything after the cut: blocks [l_r, L), final norm, unembedding
            below = [receiver.get_input_embeddings(), *decoder_layers(receiver)[: self.l_r]]
            frozen = {id(p) for m in below for p in m.parameters()}
            self.receiver_params = {k: p for k, p in receiver.named_parameters() if id(p) not in frozen}
            for p in self.receiver_params.values():
                p.requires_grad_(True)
        with torch.no_grad():
            if init == "zero":  # the official init
                self.map.weight.zero_()
                self.map.bias.zero_()
            elif init == "lstsq":  # closed-form fit of receiver activations from sender activations
                from graph_universality.align import lstsq_affine

                xs, ys = self.activations(fit_ids, fit_mask)
                a, b = lstsq_affine(xs, ys)
                self.map.weight.copy_(torch.as_tensor(a.T, dtype=torch.float32))
                self.map.bias.copy_(torch.as_tensor(b, dtype=torch.float32))
            else:
                raise ValueError(f"init must be 'zero' or 'lstsq', got {init!r}")

    @staticmethod
    def _resid(model: Any, layer: int, ids, mask):
        """The residual stream entering block ``layer`` (HF ``hidden_states[layer]``; block 0's input is the token
        embeddings, read without running the model)."""
        if layer == 0:
            return model.get_input_embeddings()(ids)
        return model(ids, attention_mask=mask, output_hidden_states=True).hidden_states[layer]

    @torch.no_grad()
    def activations(self, ids, mask) -> tuple[np.ndarray, np.ndarray]:
        hs = self._resid(self.sender, self.l_s, ids, mask)
        hr = self._resid(self.receiver, self.l_r, ids, mask)
        keep = mask.bool()
        return hs[keep].cpu().numpy(), hr[keep].cpu().numpy()

    def forward(self, ids, mask):
        with torch.no_grad():
            hs = self._resid(self.sender, self.l_s, ids, mask)
        mapped = self.map(hs)
        # the embedding stitch replaces the receiver's token embeddings only: a receiver with learned positions
        # (GPT-2, OPT) still adds its own, which no map of token embeddings could supply
        with (
            edit_embed(self.receiver, lambda h: mapped)
            if self.l_r == 0
            else edit_resid_pre(self.receiver, self.l_r, lambda h: mapped)
        ):
            return self.receiver(ids, attention_mask=mask).logits


def train_stitch(
    stitched: Stitched,
    ids,
    mask,
    steps: int,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    loss_mask=None,
):
    """Train the map (official: AdamW lr 1e-3, wd 1e-4) on next-token loss, with the receiver's upper part when the
    stitch says so (``Stitched(train_receiver=True)``). ``loss_mask``: the targets the loss counts (default: every
    token of ``mask``), e.g. only the tokens the models themselves were trained to predict."""
    loss_mask = mask if loss_mask is None else loss_mask
    g = torch.Generator().manual_seed(seed)
    opt_params = {"w": stitched.map.weight, "b": stitched.map.bias, **stitched.receiver_params}
    from repro.stack import StackedAdamW

    stacked = {k: v.data.unsqueeze(0) for k, v in opt_params.items()}
    opt = StackedAdamW(stacked, lr=lr, weight_decay=1e-4)
    for _ in range(steps):
        idx = torch.randint(0, len(ids), (min(batch_size, len(ids)),), generator=g)
        loss = lm_loss(stitched(ids[idx], mask[idx]), ids[idx], loss_mask[idx])
        for v in opt_params.values():
            v.grad = None
        loss.backward()
        for k, v in opt_params.items():
            stacked[k].grad = v.grad.unsqueeze(0)
        opt.step()
