"""Interventions on the residual stream of HF models: the mechanics of the paper's ablation and steering (spec 3, 7.6,
7.7). Crosscoder-agnostic: callers hand in vectors (steering) or a delta function (ablation); the crosscoder module
decides what they are.

- ``edit_resid_pre(model, layer, fn)`` (``repro.hooks``, re-exported): within the block, the input ``x[B, T, d]``
  of decoder block ``layer`` (TransformerLens ``blocks.{layer}.hook_resid_pre``) is replaced by ``fn(x)``. Under
  KV-cache generation each forward pass carries only the positions being computed, so the edit applies to exactly
  those; earlier positions live in the cache as they were computed (edited or not).
- ``steer(vector, positions)``: adds a raw-units vector at every position ("all", the official ``hook_fn``) or only at
  generated positions ("generated", spec 7.7: the prompt is left untouched). ``pairs.generate`` marks which pass
  is running through ``phase.generation_phase``; outside generation "generated" edits nothing.
- ``ablation_eval``: the target-token logit and log-prob with and without subtracting ``delta(x)`` at positions
  [1, t) before each target token t. Position 0 (BOS) is never edited, as in the official script. Because the
  model is causal and the delta at a position depends only on that position's activation, one forward pass of a
  whole sequence (edited at every position >= 1) gives the edited logits of all its targets at once: an edit at
  positions >= t cannot reach the logit read at t - 1.
- ``steering_eval``: generation with a strength sweep (greedy, and sampled over seeds), scored by trace length,
  marker counts and answer accuracy; every prompt of a condition is one batch.
- ``bootstrap_ci``: percentile bootstrap of a mean.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from distill_features.analysis import bootstrap_ci as bootstrap_ci  # re-exported: one implementation
from distill_features.pairs import evaluate
from distill_features.phase import current_phase, generation_phase  # noqa: F401  (re-exported)
from repro.hooks import edit_resid_pre  # noqa: F401  (re-exported)


def steer(vector: Any, positions: str = "all") -> Callable[[torch.Tensor], torch.Tensor]:
    """An edit adding ``vector`` (raw residual units, shape [d]) at every position ("all") or only at generated
    positions ("generated", inside ``pairs.generate``)."""
    if positions not in ("all", "generated"):
        raise ValueError(f"positions must be 'all' or 'generated', got {positions!r}")
    v = torch.as_tensor(np.asarray(vector), dtype=torch.float32)
    if v.dim() != 1:
        raise ValueError(f"a steering vector is one direction [d], got shape {tuple(v.shape)}")

    def fn(x: torch.Tensor) -> torch.Tensor:
        if positions == "generated" and current_phase() != "generated":
            return x
        return x + v.to(x.device, x.dtype)

    return fn


# ----------------------------------------------------------------------------------------------- ablation
@torch.no_grad()
def ablation_eval(
    model: Any,
    layer: int,
    ids: torch.Tensor,
    mask: torch.Tensor,
    targets: np.ndarray,
    delta: Callable[[torch.Tensor], torch.Tensor] | None,
    batch_size: int = 64,
) -> dict[str, np.ndarray]:
    """Target-token logit and log-prob, original and with ``delta(x)`` subtracted from the residual stream
    entering block ``layer`` at positions [1, t) before each target.

    ``ids``/``mask`` are right-padded sequences [N, T]; ``targets`` is [K, 2] of (sequence, position t >= 1) of the
    target tokens (the logit of token ``ids[s, t]`` is read at position t - 1). ``delta`` maps x [B, T, d] to the
    part to remove, [B, T, d] (e.g. the chosen latents' decoded contribution, so the reconstruction error stays);
    None means "remove nothing". Returns arrays [K]: ``logit``, ``logit_edit``, ``logprob``, ``logprob_edit``."""
    targets = np.asarray(targets, dtype=np.int64).reshape(-1, 2)
    if len(targets) and (targets[:, 1].min() < 1 or targets[:, 1].max() >= ids.shape[1]):
        raise ValueError("target positions must lie in [1, T): position 0 has no prefix to predict it")
    device = next(model.parameters()).device
    out = {k: np.zeros(len(targets), np.float32) for k in ("logit", "logit_edit", "logprob", "logprob_edit")}

    def edit(x: torch.Tensor) -> torch.Tensor:
        if delta is None:
            return x
        keep_first = torch.ones(x.shape[1], 1, device=x.device, dtype=x.dtype)
        keep_first[0] = 0  # position 0 (BOS) is never edited
        return x - delta(x) * keep_first

    for seqs in np.array_split(
        np.unique(targets[:, 0]), max(1, -(-len(np.unique(targets[:, 0])) // batch_size))
    ):
        if not len(seqs):
            continue
        rows = {s: i for i, s in enumerate(seqs)}
        sel = np.isin(targets[:, 0], seqs).nonzero()[0]
        b = torch.as_tensor([rows[s] for s in targets[sel, 0]], device=device)
        t = torch.as_tensor(targets[sel, 1], device=device)
        x_ids, x_mask = ids[seqs].to(device), mask[seqs].to(device)
        tok = x_ids[b, t]
        for suffix, ctx in (("", contextlib.nullcontext()), ("_edit", edit_resid_pre(model, layer, edit))):
            with ctx:
                logits = model(input_ids=x_ids, attention_mask=x_mask).logits.float()
            at = logits[b, t - 1]
            out["logit" + suffix][sel] = at.gather(1, tok[:, None])[:, 0].cpu().numpy()
            out["logprob" + suffix][sel] = (
                torch.log_softmax(at, -1).gather(1, tok[:, None])[:, 0].cpu().numpy()
            )
    return out


# ----------------------------------------------------------------------------------------------- steering
def steering_eval(
    model: Any,
    tokenizer: Any,
    problems: Sequence[Any],
    layer: int,
    vector: Any,
    strengths: Sequence[float],
    positions: str = "generated",
    think: bool = True,
    seeds: Sequence[int] = (0, 1),
    temperature: float = 1.0,
    max_new_tokens: int = 128,
    n_examples: int = 3,
) -> dict[str, Any]:
    """Generate on ``problems`` with ``strength * vector`` added at block ``layer`` for each strength: greedy and
    sampled (one run per seed), every prompt of a condition in one batch. Returns per strength (axis 0; sampled
    runs add a seed axis): ``accuracy``, mean generated ``length``, mean ``markers[category]`` per trace, the
    share of traces that reach an answer, and the first ``n_examples`` greedy texts."""
    v = np.asarray(vector, dtype=np.float32)
    greedy, sampled, examples = [], [], []
    for alpha in strengths:
        edit = (layer, steer(float(alpha) * v, positions))
        r = evaluate(model, tokenizer, problems, think, max_new_tokens, 0.0, 0, edit)
        greedy.append(_summary(r))
        examples.append(r["texts"][:n_examples])
        runs = [
            evaluate(model, tokenizer, problems, think, max_new_tokens, temperature, s, edit) for s in seeds
        ]
        sampled.append([_summary(r) for r in runs])
    return {
        "strengths": np.asarray(strengths, dtype=np.float64),
        "greedy": _stack(greedy),
        "sampled": _stack(sampled),
        "examples": examples,
    }


def _summary(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "accuracy": r["accuracy"],
        "length": float(r["length"].mean()),
        "answered": float(r["answered"].mean()),
        "markers": {c: float(n.mean()) for c, n in r["markers"].items()},
    }


def _stack(items: list) -> Any:
    """A list (of lists) of equally shaped nested dicts -> one nested dict of arrays (list axes first)."""
    first = items[0]
    if isinstance(first, dict):
        return {k: _stack([it[k] for it in items]) for k in first}
    if isinstance(first, list):
        return _stack([_stack(it) for it in items])
    return np.asarray(items)
