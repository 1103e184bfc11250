"""The "in-context learning" arm: a tiny GPT-NeoX meta-trained to answer descendant questions about a family tree
described in its prompt, with fresh random trees and freshly drawn names in every sequence (so the answer can only
come from the prompt), then probed and patched like the official ``icl-rep.py`` / ``ablation.py``.

Prompt (the official format, minus the Alpaca instruction text, in the word-level vocabulary of
:mod:`graph_universality.tinylm`)::

    Family Tree : {P1} 's children : [ {C} , {C} ] . {P2} 's children : [ ... ] . Question : Is {X} a descendant of {Y} ?

and the next token is ``Yes`` or ``No``. Parent lines are in node order (the official unshuffled description).

Representations: residual stream (``hidden_states[l]``) at the last token of "... Question : Is {X}", one vector
per node per layer. Activation patching (official ``ablation.py``): for a clean question (x, y) with label 1 and a
corrupted one with x replaced by x' (not a descendant of y), run the corrupted prompt with the clean run's
activation at x's position in layer l patched in, fully (``full``), or only its projection on a 2-D subspace
(``pca2``: top-2 PCs of the 15 node vectors of that prompt at that layer; ``cone``: the row space of the cone
probe's W, mapped back from PCA-10 coordinates). Score: normalised logit difference
``(LD_patched - LD_corrupted) / (LD_clean - LD_corrupted)`` of LD = logit(Yes) - logit(No). Every other sample
swaps the clean and corrupted roles (as the official code) so both labels are patched.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from graph_universality import tinylm
from graph_universality.graphs import random_tree, relation_matrix
from graph_universality.stages import ICL_QUESTIONS
from repro.hooks import edit_resid_pre

EXTRA = ["Family", "Tree", "Question"]


def build_tokenizer(names: list[str]) -> Any:
    """The tinylm word-level tokenizer with the prompt's extra words (placed before the names)."""
    return tinylm.build_word_tokenizer([*EXTRA, *names])


def describe(parents: tuple[int, ...], labels: list[str], order: list[int] | None = None) -> str:
    """The tree in the word-level format; parent lines in node order, or in ``order`` (indices of the lines:
    the official ``--shuffle 1`` description)."""
    lines = tinylm.fact_texts(parents, labels)
    return "Family Tree : " + " ".join(lines if order is None else [lines[i] for i in order])


def prompt(
    parents: tuple[int, ...], labels: list[str], x: int, y: int, order: list[int] | None = None
) -> str:
    return f"{describe(parents, labels, order)} Question : Is {labels[x]} a descendant of {labels[y]} ?"


# The official prompt for real instruct LLMs (``eval-model.py``): the instruction text below in the Alpaca template
# (the template text is the standard Alpaca/Unsloth one: inferred from the code's Alpaca idioms).
INSTRUCTION = (
    "Answer a question about the family tree relationship based on the given data. If it's a yes/no question, "
    "answer with only one word: 'Yes' or 'No.' If it's a 'who' question, answer with the person's name(s)."
)
ALPACA = (
    "Below is an instruction that describes a task, paired with an input that provides further context. Write a "
    "response that appropriately completes the request.\n\n### Instruction:\n{}\n\n### Input:\n{}\n\n### Response:\n"
)


def alpaca_prompt(
    parents: tuple[int, ...], labels: list[str], x: int, y: int, order: list[int] | None = None
) -> str:
    kids: dict[int, list[int]] = {}
    for c, p in enumerate(parents):
        if p >= 0:
            kids.setdefault(p, []).append(c)
    lines = [
        f"{labels[p]}'s children: [{', '.join(labels[c] for c in cs)}]" for p, cs in sorted(kids.items())
    ]
    if order is not None:
        lines = [lines[i] for i in order]
    body = (
        "Family Tree:\n"
        + "\n".join(lines)
        + f"\nQuestion: Is {labels[x]} a direct descendant of {labels[y]}?"
    )
    return ALPACA.format(INSTRUCTION, body)


def alpaca_prefix(parents: tuple[int, ...], labels: list[str], x: int, order: list[int] | None = None) -> str:
    """The Alpaca prompt cut after "Question: Is {X}" (official ``icl-rep.py``: where the node is read)."""
    full = alpaca_prompt(parents, labels, x, 0 if x else 1, order)
    return full[: full.rindex("Question: Is ") + len("Question: Is ") + len(labels[x])]


def n_parent_lines(parents: tuple[int, ...]) -> int:
    return len({p for p in parents if p >= 0})


@dataclass(frozen=True)
class Episode:
    parents: tuple[int, ...]
    labels: list[str]


def sample_episode(rng: np.random.Generator, n_nodes: int, names: list[str]) -> Episode:
    parents = random_tree(n_nodes, int(rng.integers(0, 2**31)))
    labels = [names[i] for i in rng.choice(len(names), size=n_nodes, replace=False)]
    return Episode(parents, labels)


def training_texts(n: int, n_nodes: int, names: list[str], seed: int, pos_frac: float = 0.5) -> list[str]:
    """``n`` episodes, each one question with its answer; positives drawn with probability ``pos_frac``."""
    rng = np.random.default_rng(seed)
    return [episode_text(rng, n_nodes, names, 1, pos_frac) for _ in range(n)]


def episode_text(
    rng: np.random.Generator,
    n_nodes: int,
    names: list[str],
    n_questions: int,
    pos_frac: float = 0.5,
    questions: str = "pairs",
) -> str:
    """One training sequence: a fresh tree of ``n_nodes`` with fresh names, its description, then ``n_questions``
    answered questions "Question : Is X a descendant of Y ? Yes/No" one after another. The first question follows
    the description exactly as in :func:`prompt`, so the evaluation prompt is a training prefix. ``questions``:

    - ``pairs``: positive with probability ``pos_frac``, (X, Y) uniform over the descendant (or the other) pairs,
      with replacement. Y alone then predicts the answer (the root is Y of 14 positive pairs and no negative one, a
      leaf of negatives only), and a model can score well while never reading X (measured: :mod:`icl_arm`);
    - ``per_y``: Y uniform over the nodes, then Yes or No with probability 1/2 each among Y's descendants and the
      other nodes (forced when Y is the root or a leaf): for every inner Y the answer is a coin flip given Y, so it
      can only come from X's place in the described tree;
    - ``inner``: as ``per_y`` with Y drawn among the inner nodes only (``per_y`` on a tree that has none): every
      answer depends on X, so the answer loss measures the look-up alone.
    """
    if questions not in ICL_QUESTIONS:
        raise ValueError(f"questions must be one of {ICL_QUESTIONS}, got {questions!r}")
    ep = sample_episode(rng, n_nodes, names)
    desc = relation_matrix(ep.parents, "descendant")  # desc[x, y]: x descends from y
    pos = np.argwhere(desc)
    neg = np.argwhere(~desc & ~np.eye(n_nodes, dtype=bool))
    # inner Y's: neither the root nor a leaf (the answer about them depends on X)
    inner = np.flatnonzero(desc.any(0) & (np.asarray(ep.parents) >= 0))
    qs = []
    for _ in range(n_questions):
        if questions in ("per_y", "inner"):
            y = (
                int(rng.integers(n_nodes))
                if questions == "per_y" or not len(inner)
                else int(rng.choice(inner))
            )
            below = np.flatnonzero(desc[:, y])
            other = np.flatnonzero(~desc[:, y] & (np.arange(n_nodes) != y))
            want = bool(len(below)) and (not len(other) or bool(rng.random() < 0.5))
            pool = below if want else other
            x = int(pool[int(rng.integers(len(pool)))])
        else:
            want = bool(rng.random() < pos_frac)
            pool = pos if want else neg
            x, y = pool[int(rng.integers(len(pool)))]
        qs.append(f"Question : Is {ep.labels[x]} a descendant of {ep.labels[y]} ? {'Yes' if want else 'No'}")
    return f"{describe(ep.parents, ep.labels)} {' '.join(qs)}"


def curriculum_size(step: int, steps: int, min_nodes: int, n_nodes: int, ramp: float) -> int:
    """The largest tree size at ``step``: ``min_nodes`` growing linearly to ``n_nodes`` over the first ``ramp``
    fraction of the steps (then ``n_nodes``)."""
    if ramp <= 0 or min_nodes >= n_nodes:
        return n_nodes
    frac = min(1.0, step / (ramp * steps))
    return int(round(min_nodes + frac * (n_nodes - min_nodes)))


def answer_mask(tokenizer: Any, ids: torch.Tensor) -> torch.Tensor:
    """1 at the positions that predict the answer token (the '?' before Yes/No), 0 elsewhere."""
    q = tokenizer.convert_tokens_to_ids("?")
    m = torch.zeros_like(ids)
    m[:, :-1] = (ids[:, :-1] == q).long()
    return m


def train_icl(
    model: Any,
    tokenizer: Any,
    texts: list[str],
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    desc: str | None = None,
    weight_decay: float = 0.01,
) -> list[float]:
    """AdamW (repro.stack, one run) on the answer-token loss of random minibatches of fixed ``texts``: loss only
    where the next token is the answer (the names and the description are unpredictable), through
    :func:`answer_loss` (the unembedding at the answer positions only: 54 instead of 71 ms a step at quick)."""
    ids, mask = tinylm.encode(tokenizer, texts)
    return tinylm.fit(
        model,
        ids,
        mask,
        None,
        steps,
        batch_size,
        lr,
        weight_decay,
        seed,
        desc,
        batch_loss=lambda m, i, k: answer_loss(m, tokenizer, i, k),
    )


def meta_train_online(
    model: Any, tokenizer: Any, names: list[str], cfg: Any, desc: str | None = None
) -> tuple[list[float], list[int]]:
    """Meta-training on fresh sequences every step (:func:`episode_text`, ``cfg.n_questions`` answered questions
    per sequence drawn as ``cfg.questions`` says, tree sizes drawn uniformly in [``cfg.min_nodes``, top]), loss on
    every answer token (:func:`answer_loss`);
    ``torch.optim.AdamW`` (betas 0.9/0.98, weight decay ``cfg.weight_decay``), linear warm-up over ``cfg.warmup``
    steps, gradients clipped at norm 1. ``cfg.recipe``:

    - ``online``: top grows linearly (:func:`curriculum_size`); cosine decay to 10 % after the warm-up;
    - ``adaptive``: top starts at ``min_nodes`` and grows by one node whenever the answer loss of the last block of
      50 steps is below ``cfg.grow_below`` (the model answers the trees it has); constant lr after the warm-up (a
      decayed lr would starve the later, larger trees). What it learns (a rule on Y alone, not a look-up of X)
      is measured in :mod:`icl_arm`.

    Returns the answer loss averaged over each block of 50 steps and the curriculum's top tree size per block."""
    import math

    from repro.progress import track

    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.98))
    adaptive = cfg.recipe == "adaptive"

    def factor(s: int) -> float:
        warm = min(1.0, (s + 1) / max(cfg.warmup, 1))
        return warm if adaptive else warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * s / cfg.steps)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    model.train()
    curve, tops, block, top = [], [], [], cfg.min_nodes
    it = range(cfg.steps)
    for step in track(it, desc) if desc else it:
        if not adaptive:
            top = curriculum_size(step, cfg.steps, cfg.min_nodes, cfg.n_nodes, cfg.ramp)
        sizes = rng.integers(min(cfg.min_nodes, top), top + 1, size=cfg.batch_size)
        texts = [episode_text(rng, int(n), names, cfg.n_questions, questions=cfg.questions) for n in sizes]
        ids, mask = tinylm.encode(tokenizer, texts)
        loss = answer_loss(model, tokenizer, ids, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        block.append(float(loss.detach()))
        if len(block) == 50 or step == cfg.steps - 1:
            curve.append(float(np.mean(block)))
            tops.append(top)
            if adaptive and curve[-1] < cfg.grow_below and top < cfg.n_nodes:
                top += 1
            block = []
    model.eval()
    return curve, tops


def answer_loss(model: Any, tokenizer: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the answer tokens (``tinylm.lm_loss`` with the answer mask), with the unembedding
    applied at the answer positions only: the full-vocabulary logits of every position cost a quarter of a step."""
    b, t = answer_mask(tokenizer, ids)[:, :-1].nonzero(as_tuple=True)  # the '?' before each answer
    h = model.gpt_neox(input_ids=ids, attention_mask=mask).last_hidden_state[b, t]
    return torch.nn.functional.cross_entropy(model.get_output_embeddings()(h), ids[b, t + 1])


def _yes_no(tokenizer: Any, word_level: bool) -> tuple[int, int]:
    if word_level:
        return tokenizer.convert_tokens_to_ids("Yes"), tokenizer.convert_tokens_to_ids("No")
    return tokenizer.encode("Yes")[-1], tokenizer.encode("No")[-1]  # official: last id of tokenizer.encode


def _encode(
    tokenizer: Any, texts: list[str], word_level: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ids, mask and the index of each text's last token. Word level: the tinylm encoding (EOS
    appended); otherwise the model's own tokenizer with its special tokens (BOS for Llama/Gemma), no EOS."""
    if word_level:
        ids, mask = tinylm.encode(tokenizer, texts)
        return ids, mask, mask.sum(1) - 2
    enc = [tokenizer.encode(t) for t in texts]
    T = max(len(e) for e in enc)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(enc), T), pad, dtype=torch.long)
    mask = torch.zeros(len(enc), T, dtype=torch.long)
    for i, e in enumerate(enc):
        ids[i, : len(e)] = torch.tensor(e)
        mask[i, : len(e)] = 1
    return ids, mask, mask.sum(1) - 1


@torch.no_grad()
def logit_diffs(
    model: Any, tokenizer: Any, prompts: list[str], patch=None, word_level: bool = True, batch: int = 64
) -> np.ndarray:
    """logit(Yes) - logit(No) after each prompt. ``patch`` = (layer, positions [B], fn(h [b, d], rows) -> h), optional:
    the input of block ``layer`` (``blocks.{layer}.hook_resid_pre``, edited through ``repro.hooks.edit_resid_pre``)
    is replaced at each prompt's position; ``rows`` = the slice of the prompts in this minibatch.
    ``word_level=False``: a real LLM and its tokenizer (the official answer ids)."""
    yes, no = _yes_no(tokenizer, word_level)
    device = next(model.parameters()).device
    out = []
    for a in range(0, len(prompts), batch):
        ids, mask, last = _encode(tokenizer, prompts[a : a + batch], word_level)
        ids, mask = ids.to(device), mask.to(device)
        rows = torch.arange(len(ids), device=device)
        edit = contextlib.nullcontext()
        if patch is not None:
            layer, pos, fn = patch
            pos_b = pos[a : a + batch].to(device)
            sl = slice(a, a + len(ids))

            def swap(h, sl=sl, rows=rows, pos_b=pos_b, fn=fn):
                h = h.clone()
                h[rows, pos_b] = fn(h[rows, pos_b], sl).to(h.dtype)
                return h

            edit = edit_resid_pre(model, layer, swap)
        with edit:
            logits = model(ids, attention_mask=mask).logits[rows, last.to(device)].float()
        out.append((logits[:, yes] - logits[:, no]).cpu().numpy())
    return np.concatenate(out)


@torch.no_grad()
def hidden_at(
    model: Any, tokenizer: Any, texts: list[str], word_level: bool = True
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Hidden states ``[B, T, d]`` per layer (``hidden_states``; CPU) of the texts, and each text's last index."""
    device = next(model.parameters()).device
    ids, mask, last = _encode(tokenizer, texts, word_level)
    hs = model(ids.to(device), attention_mask=mask.to(device), output_hidden_states=True).hidden_states
    return tuple(h.float().cpu() for h in hs), last


def node_states(
    model: Any, tokenizer: Any, ep: Episode, word_level: bool = True
) -> tuple[np.ndarray, torch.Tensor]:
    """``[n_layers + 1, N, d]`` residual at the last token of '... Question : Is {name}' (word level) or of the
    Alpaca prompt cut after "Question: Is {name}" (real LLMs), and that position per node (computed per prompt,
    not from one reference prompt: official defect 6)."""
    if word_level:
        texts = [f"{describe(ep.parents, ep.labels)} Question : Is {n}" for n in ep.labels]
    else:
        texts = [alpaca_prefix(ep.parents, ep.labels, x) for x in range(len(ep.labels))]
    hs, last = hidden_at(model, tokenizer, texts, word_level)
    rows = torch.arange(len(texts))
    return np.stack([h[rows, last].numpy() for h in hs]), last
