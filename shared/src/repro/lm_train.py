"""Small causal LMs trained from text: a word-level tokenizer, right-padded batches, the masked next-token loss
and one AdamW loop. Every paper package that trains a tiny ``transformers`` model from scratch (the knowledge-graph
LMs, the base / distilled reasoning pairs) uses these, so loss masking and seeding mean the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

PAD, EOS = "<pad>", "<eos>"


def build_word_tokenizer(words: Sequence[str], specials: Sequence[str] = (PAD, EOS)) -> Any:
    """A fast word-level tokenizer (whitespace split), one id per word: ``specials`` first (pad, then EOS, which is
    also BOS), then ``words`` in order. Unknown words map to pad, so a typo shows up as a pad id, never a crash."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for w in [*specials, *words]:
        if w in vocab:
            raise ValueError(f"word {w!r} appears twice in the vocabulary")
        vocab[w] = len(vocab)
    pad, eos = specials[0], specials[1]
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=pad))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=pad, eos_token=eos, bos_token=eos)


def encode(
    tokenizer: Any, texts: Sequence[str], max_len: int | None = None, eos: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids ``[B, T]`` (each text followed by EOS unless ``eos`` is false, cut to ``max_len``) and the
    attention mask. A tokenizer without a pad token (GPT-2's) pads with EOS: the mask hides it either way."""
    tail = [tokenizer.eos_token_id] if eos else []
    enc = [tokenizer.encode(t, add_special_tokens=False) + tail for t in texts]
    if max_len is not None:
        enc = [e[:max_len] for e in enc]
    T = max(len(e) for e in enc)
    pad = next((x for x in (tokenizer.pad_token_id, tokenizer.eos_token_id) if x is not None), 0)
    ids = torch.full((len(enc), T), pad, dtype=torch.long)
    mask = torch.zeros(len(enc), T, dtype=torch.long)
    for i, e in enumerate(enc):
        ids[i, : len(e)] = torch.tensor(e)
        mask[i, : len(e)] = 1
    return ids, mask


def lm_loss(
    logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, per_seq: bool = False
) -> torch.Tensor:
    """Mean next-token cross-entropy over the target tokens that ``mask`` marks (``mask[:, t]`` weighs the
    prediction of token t); ``per_seq`` gives one mean per sequence."""
    lp = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
    m = mask[:, 1:].float()
    if per_seq:
        return (lp * m).sum(1) / m.sum(1)
    return (lp * m).sum() / m.sum()


def fit(
    model: Any,
    ids: torch.Tensor,
    mask: torch.Tensor,
    loss_mask: torch.Tensor,
    steps: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    seed: int,
    desc: str | None = None,
    betas: tuple[float, float] = (0.9, 0.98),
    log_every: int = 50,
    batch_loss: Callable[[Any, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> list[float]:
    """AdamW (``repro.stack``, one run) on seeded random minibatches of ``ids``, with the next-token loss counted
    where ``loss_mask`` marks a target (see :func:`lm_loss`); returns the loss every ``log_every`` steps.
    ``batch_loss(model, ids, mask)``: the loss of a minibatch instead (``loss_mask`` unused), for a loss computed
    more cheaply than through every position's logits."""
    from repro.progress import track
    from repro.stack import StackedAdamW

    g = torch.Generator().manual_seed(seed)
    # one "run": every parameter gets a leading axis of 1 so the shared stacked AdamW applies unchanged
    params = dict(model.named_parameters())
    stacked = {n: p.data.unsqueeze(0) for n, p in params.items()}
    opt = StackedAdamW(stacked, lr=lr, weight_decay=weight_decay, betas=betas)
    model.train()
    curve = []
    it = range(steps)
    for step in track(it, desc) if desc else it:
        idx = torch.randint(0, len(ids), (batch_size,), generator=g)
        if batch_loss is None:
            loss = lm_loss(model(ids[idx], attention_mask=mask[idx]).logits, ids[idx], loss_mask[idx])
        else:
            loss = batch_loss(model, ids[idx], mask[idx])
        model.zero_grad(set_to_none=True)
        loss.backward()
        for n, p in params.items():
            stacked[n].grad = None if p.grad is None else p.grad.unsqueeze(0)
        opt.step()
        if step % log_every == 0:
            curve.append(float(loss.detach()))
    model.eval()
    return curve


def save_pretrained(model: Any, tokenizer: Any, path: Path) -> Path:
    """``save_pretrained`` of model and tokenizer into ``path`` (the format :func:`repro.models.load_model` reads)."""
    from transformers.utils import logging

    logging.disable_progress_bar()  # "Writing model shards" / "Loading weights" bars for a 100 kB model
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
