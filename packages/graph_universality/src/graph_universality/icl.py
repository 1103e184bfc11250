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

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from graph_universality import tinylm
from graph_universality.graphs import random_tree, relation_matrix

EXTRA = ["Family", "Tree", "Question"]


def build_tokenizer(names: list[str]) -> Any:
    """The tinylm word-level tokenizer with the prompt's extra words (placed before the names)."""
    return tinylm.build_word_tokenizer([*EXTRA, *names])


def describe(parents: tuple[int, ...], labels: list[str]) -> str:
    return "Family Tree : " + " ".join(tinylm.fact_texts(parents, labels))


def prompt(parents: tuple[int, ...], labels: list[str], x: int, y: int) -> str:
    return f"{describe(parents, labels)} Question : Is {labels[x]} a descendant of {labels[y]} ?"


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
    out = []
    for _ in range(n):
        ep = sample_episode(rng, n_nodes, names)
        desc = relation_matrix(ep.parents, "descendant")
        want = rng.random() < pos_frac
        xs, ys = np.nonzero(desc if want else (~desc & ~np.eye(n_nodes, dtype=bool)))
        k = int(rng.integers(len(xs)))
        out.append(f"{prompt(ep.parents, ep.labels, xs[k], ys[k])} {'Yes' if want else 'No'}")
    return out


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
) -> list[float]:
    """AdamW (repro.stack, one run) on the answer-token loss of random minibatches of ``texts``."""
    ids, mask = tinylm.encode(tokenizer, texts)
    # loss only where the next token is the answer (the names and the description are unpredictable)
    answer = _shift(answer_mask(tokenizer, ids))
    return tinylm.fit(model, ids, mask, answer, steps, batch_size, lr, 0.01, seed, desc)


def _shift(amask: torch.Tensor) -> torch.Tensor:
    """``lm_loss`` reads ``mask[:, 1:]`` as "target position counts": move the '?' mark onto the answer."""
    out = torch.zeros_like(amask)
    out[:, 1:] = amask[:, :-1]
    return out


@torch.no_grad()
def logit_diffs(model: Any, tokenizer: Any, prompts: list[str], patch=None) -> np.ndarray:
    """logit(Yes) - logit(No) after each prompt; ``patch`` = (layer, positions [B], fn(h [B, d]) -> h) optional."""
    ids, mask = tinylm.encode(tokenizer, prompts)
    handle = None
    if patch is not None:
        layer, pos, fn = patch
        rows = torch.arange(len(ids))

        def swap(module, args, kwargs):
            h = (args[0] if args else kwargs["hidden_states"]).clone()
            h[rows, pos] = fn(h[rows, pos])
            if args:
                return (h, *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": h}

        handle = model.gpt_neox.layers[layer].register_forward_pre_hook(swap, with_kwargs=True)
    try:
        last = mask.sum(1) - 2  # '?' (EOS follows)
        logits = model(ids, attention_mask=mask).logits[torch.arange(len(ids)), last]
    finally:
        if handle is not None:
            handle.remove()
    yes, no = tokenizer.convert_tokens_to_ids("Yes"), tokenizer.convert_tokens_to_ids("No")
    return (logits[:, yes] - logits[:, no]).numpy()


@torch.no_grad()
def node_states(model: Any, tokenizer: Any, ep: Episode) -> tuple[np.ndarray, int]:
    """``[n_layers + 1, N, d]`` residual at the last token of '... Question : Is {name}', and that position."""
    texts = [f"{describe(ep.parents, ep.labels)} Question : Is {n}" for n in ep.labels]
    ids, mask = tinylm.encode(tokenizer, texts)
    hs = model(ids, attention_mask=mask, output_hidden_states=True).hidden_states
    pos = int(mask.sum(1)[0]) - 2
    return np.stack([h[:, pos].numpy() for h in hs]), pos
