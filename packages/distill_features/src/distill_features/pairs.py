"""Base and distilled model pairs in miniature: tiny Qwen2 LMs on the synthetic reasoning language (spec 7.2).

The paper's pairs are Qwen2.5(-Math) base models and the DeepSeek-R1-Distill models fine-tuned from them on R1
traces: same architecture, same initialisation, reasoning SFT in between. Here:

- **base**: a random-init ``transformers.Qwen2ForCausalLM`` (grouped-query attention, untied unembedding, RMSNorm,
  RoPE: the layout ``repro.models.build_tiny_model`` uses) pre-trained on generic prose + terse problems
  (``Problem : 3 + 4 * 2 Answer : 11``), share ``base_generic_frac`` generic.
- **distilled**: a copy of the base weights fine-tuned (SFT) on teacher traces with the loss on the whole trace,
  keeping ``distill_generic_frac`` of generic prose in the mix (so the distilled model still models ordinary text,
  as the real distills do, and the crosscoder's generic half is in-distribution for both models).

Training data are documents packed whole into windows of ``n_ctx`` tokens (``EOS doc EOS doc EOS ... pad``; EOS
doubles as BOS, so every document follows an EOS, as a prompt does at evaluation) and trained with
``repro.lm_train.fit``. Problems of the evaluation set are excluded from every training corpus.

Evaluation (``evaluate``): greedy generation on held-out problems; the base gets ``Problem : ... Answer :`` and
answers in one token, the distilled model gets ``Problem : ... <think>`` (as R1's chat template opens the thought)
and must think, then answer. Its accuracy is its "distillation performance".

``generate`` is a batched KV-cache decoder (left padding, explicit position ids) that stops a sequence at EOS or
once it has written ``Answer : N``; an optional ``edit=(layer, fn)`` rewrites the residual stream entering block
``layer`` (``repro.hooks.edit_resid_pre``; see ``distill_features.interventions``).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distill_features import language as lang
from distill_features.pair_config import PairConfig
from distill_features.phase import generation_phase
from repro.hooks import edit_resid_pre

LOG_EVERY = 10  # training loss logged every this many steps


# ----------------------------------------------------------------------------------------------- models
def new_model(cfg: PairConfig, vocab_size: int) -> Any:
    """A random-init tiny Qwen2 (seeded by ``cfg.seed``), pad id 0 and EOS/BOS id 1 as the word tokenizer."""
    import transformers

    conf = transformers.Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=cfg.d_model,
        intermediate_size=cfg.d_mlp_mult * cfg.d_model,
        num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads,
        num_key_value_heads=cfg.n_kv_heads,
        max_position_embeddings=cfg.n_ctx,
        tie_word_embeddings=False,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=1,
    )
    torch.manual_seed(cfg.seed)
    return transformers.Qwen2ForCausalLM(conf).eval()


def state_arrays(model: Any) -> dict[str, np.ndarray]:
    """Every weight as a float32 numpy array keyed by its state-dict name (a cacheable figure result)."""
    return {k: v.detach().to("cpu", torch.float32).numpy().copy() for k, v in model.state_dict().items()}


def model_from_arrays(cfg: PairConfig, vocab_size: int, arrays: dict[str, np.ndarray]) -> Any:
    """The model ``state_arrays`` was taken from (architecture from ``cfg``, weights from ``arrays``)."""
    model = new_model(cfg, vocab_size)
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}, strict=True)
    return model.eval()


def save_pair(base: Any, distilled: Any, tokenizer: Any, path: Path) -> tuple[Path, Path]:
    """``save_pretrained`` directories ``path/base`` and ``path/distilled`` (loadable with
    ``repro.models.load_model(ModelSpec(dir))``, the code path the real Qwen pairs take)."""
    from repro.lm_train import save_pretrained

    path = Path(path)
    return save_pretrained(base, tokenizer, path / "base"), save_pretrained(
        distilled, tokenizer, path / "distilled"
    )


# ----------------------------------------------------------------------------------------------- data
def pack(
    docs: Iterable[lang.Document], tokenizer: Any, n_ctx: int, n_windows: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Documents packed whole into windows ``EOS d1 EOS d2 EOS ... pad``: ids ``[N, n_ctx]`` and the mask of real
    tokens; stops after ``n_windows`` full windows when given (``docs`` may then be an endless iterator). A
    document longer than ``n_ctx - 2`` is an error (cutting it would lose its answer)."""
    ids, mask, _, _ = pack_labelled(docs, tokenizer, n_ctx, n_windows)
    return ids, mask


def pack_labelled(
    docs: Iterable[lang.Document], tokenizer: Any, n_ctx: int, n_windows: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`pack`, plus the generator's labels of every token: span class (index into ``language.SPANS``) and
    marker category (index into ``language.MARKERS``); EOS and padding get span "generic" and marker "none"."""
    vocab = tokenizer.get_vocab()
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    span_id = {s: i for i, s in enumerate(lang.SPANS)}
    marker_id = {m: i for i, m in enumerate(lang.MARKERS)}
    blank = (span_id["generic"], marker_id["none"])
    windows: list[list[tuple[int, int, int]]] = []
    cur = [(eos, *blank)]
    for d in docs:
        toks = [
            (vocab[w], span_id[s], marker_id[m]) for w, s, m in zip(d.words, d.spans, d.markers, strict=True)
        ]
        toks.append((eos, *blank))
        if len(toks) + 1 > n_ctx:
            raise ValueError(f"a {d.kind} document of {len(d.words)} tokens does not fit n_ctx={n_ctx}")
        if len(cur) + len(toks) > n_ctx:
            windows.append(cur)
            cur = [(eos, *blank)]
            if n_windows is not None and len(windows) == n_windows:
                break
        cur += toks
    else:
        if len(cur) > 1:
            windows.append(cur)
    out = torch.full((len(windows), n_ctx), pad, dtype=torch.long)
    mask = torch.zeros_like(out)
    spans = torch.full_like(out, blank[0])
    markers = torch.full_like(out, blank[1])
    for i, w in enumerate(windows):
        t = torch.tensor(w)
        out[i, : len(w)], spans[i, : len(w)], markers[i, : len(w)] = t[:, 0], t[:, 1], t[:, 2]
        mask[i, : len(w)] = 1
    return out, mask, spans, markers


@dataclass
class Corpora:
    """Packed training windows of both stages: pre-training (generic + terse) and SFT (traces + generic)."""

    base_ids: torch.Tensor
    base_mask: torch.Tensor
    sft_ids: torch.Tensor
    sft_mask: torch.Tensor
    vocab_size: int


def make_corpora(
    cfg: PairConfig, lang_cfg: lang.LanguageConfig, tokenizer: Any, exclude: set[str], seed: int
) -> Corpora:
    """One epoch of windows for each stage (``steps * batch_size`` windows), drawn from ``seed``; problems in
    ``exclude`` (the evaluation set) never appear. A size sweep shares one ``Corpora``."""
    base_kinds = [("generic", cfg.base_generic_frac), ("terse", 1 - cfg.base_generic_frac)]
    sft_kinds = [("generic", cfg.distill_generic_frac), ("trace", 1 - cfg.distill_generic_frac)]
    out = []
    for i, (kinds, steps) in enumerate(((base_kinds, cfg.base_steps), (sft_kinds, cfg.distill_steps))):
        docs = lang.document_stream(kinds, random.Random(seed + i), lang_cfg, exclude)
        out += pack(docs, tokenizer, cfg.n_ctx, max(1, steps * cfg.batch_size))
    return Corpora(*out, vocab_size=len(tokenizer))


# ----------------------------------------------------------------------------------------------- training
@dataclass
class Pair:
    cfg: PairConfig
    base: Any
    distilled: Any
    base_curve: list[float]
    distill_curve: list[float]


def train_pair(cfg: PairConfig, corpora: Corpora, desc: str = "", device: str = "cpu") -> Pair:
    """Pre-train a random-init base on ``corpora.base_*``, copy it, fine-tune the copy on ``corpora.sft_*``."""
    from repro.lm_train import fit

    def train(
        model: Any, ids: torch.Tensor, mask: torch.Tensor, steps: int, seed: int, stage: str
    ) -> list[float]:
        ids, mask = ids.to(device), mask.to(device)
        return fit(
            model, ids, mask, mask, steps, cfg.batch_size, cfg.lr, cfg.weight_decay, seed,
            desc=f"{desc}{stage} d={cfg.d_model}", log_every=LOG_EVERY,
        )  # fmt: skip

    base = new_model(cfg, corpora.vocab_size).to(device)
    base_curve = train(base, corpora.base_ids, corpora.base_mask, cfg.base_steps, cfg.seed, "pre-train")
    distilled = copy.deepcopy(base)  # the distilled model starts from the base weights
    distill_curve = train(
        distilled, corpora.sft_ids, corpora.sft_mask, cfg.distill_steps, cfg.seed + 1, "distil"
    )
    return Pair(cfg, base.eval(), distilled.eval(), base_curve, distill_curve)


def zoo_from_result(
    result: dict[str, Any], device: str = "cpu", replicate: int = 0
) -> tuple[Any, dict[str, Pair]]:
    """The tokenizer and every pair of replicate ``replicate`` of a zoo stage result, rebuilt from its stored
    weights (no retraining): ``{size name: Pair}`` in ``result["size_order"]``."""
    from distill_features.zoo import replicate_sizes
    from repro.lm_train import build_word_tokenizer

    tok = build_word_tokenizer(list(result["vocab"]))
    sizes = replicate_sizes(result)[replicate]
    zoo = {}
    for name in result["size_order"]:
        r = sizes[name]
        cfg = PairConfig(**r["config"])
        base, distilled = (
            model_from_arrays(cfg, len(tok), r[k]).to(device) for k in ("base_weights", "distilled_weights")
        )
        zoo[name] = Pair(cfg, base, distilled, list(r["base_curve"]), list(r["distill_curve"]))
    return tok, zoo


# ----------------------------------------------------------------------------------------------- generation
def _cache_kwarg(model: Any) -> str:
    """transformers 5.x renamed ``past_key_values`` to ``cache`` (the old name is deprecated until 5.40)."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _word_ids(text: str, vocab: dict[str, int]) -> list[int]:
    try:
        return [vocab[w] for w in text.split()]
    except KeyError as e:
        raise ValueError(f"prompt {text!r} has a word outside the vocabulary: {e.args[0]!r}") from None


def _answer_done(seq: list[int], answer_id: int, colon_id: int, number_ids: set[int]) -> bool:
    return len(seq) >= 3 and seq[-3] == answer_id and seq[-2] == colon_id and seq[-1] in number_ids


@torch.no_grad()
def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    max_new_tokens: int,
    temperature: float = 0.0,
    seed: int = 0,
    edit: tuple[int, Callable[[torch.Tensor], torch.Tensor]] | None = None,
    batch_size: int = 256,
) -> list[str]:
    """Continuations of ``prompts`` (each prefixed with EOS as BOS): greedy when ``temperature == 0``, else
    sampled at ``temperature`` from a generator seeded by ``seed``. A sequence stops at EOS (not returned) or
    right after ``Answer : N``. ``edit=(layer, fn)`` applies ``fn`` to the residual stream entering block
    ``layer`` at every forward pass (prompt and generated positions; ``interventions.steer`` can restrict it)."""
    from transformers import DynamicCache

    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    vocab = tokenizer.get_vocab()
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    answer_id, colon_id = vocab["Answer"], vocab[":"]
    number_ids = {i for w, i in vocab.items() if w.isdigit()}
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    out: list[str] = []
    for start in range(0, len(prompts), batch_size):
        chunk = [[eos, *_word_ids(p, vocab)] for p in prompts[start : start + batch_size]]
        seqs = [list(c) for c in chunk]
        T0 = max(len(c) for c in chunk)
        ids = torch.tensor([[pad] * (T0 - len(c)) + c for c in chunk], device=device)  # left padding
        mask = torch.tensor([[0] * (T0 - len(c)) + [1] * len(c) for c in chunk], device=device)
        pos = (mask.cumsum(1) - 1).clamp(min=0)
        done = [False] * len(chunk)
        new: list[list[int]] = [[] for _ in chunk]
        cache = {_cache_kwarg(model): DynamicCache(config=model.config)}  # updated in place by each forward
        with edit_resid_pre(model, *edit) if edit is not None else contextlib.nullcontext():
            with generation_phase("prompt"):
                logits = model(
                    input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, **cache
                ).logits
            logits, last = logits[:, -1], pos[:, -1]
            for _ in range(max_new_tokens):
                if temperature == 0:
                    nxt = logits.argmax(-1)
                else:
                    probs = torch.softmax(logits.float() / temperature, -1).cpu()
                    nxt = torch.multinomial(probs, 1, generator=gen)[:, 0].to(device)
                for i, t in enumerate(nxt.tolist()):
                    if done[i]:
                        continue
                    if t == eos:
                        done[i] = True
                        continue
                    new[i].append(t)
                    seqs[i].append(t)
                    done[i] = _answer_done(seqs[i], answer_id, colon_id, number_ids)
                if all(done):
                    break
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], 1)
                last = last + 1
                with generation_phase("generated"):
                    logits = model(
                        input_ids=nxt[:, None],
                        attention_mask=mask,
                        position_ids=last[:, None],
                        use_cache=True,
                        **cache,
                    ).logits[:, -1]
        out += [" ".join(tokenizer.convert_ids_to_tokens(n)) for n in new]
    return out


# ----------------------------------------------------------------------------------------------- evaluation
def evaluate(
    model: Any,
    tokenizer: Any,
    problems: Sequence[lang.Problem],
    think: bool,
    max_new_tokens: int = 96,
    temperature: float = 0.0,
    seed: int = 0,
    edit: tuple[int, Callable] | None = None,
) -> dict[str, Any]:
    """Generate on ``problems`` (terse or thinking prompt) and score: accuracy, per-problem correctness, the
    full texts and ``language.trace_metrics`` of each (length counts only the generated tokens)."""
    prompts = [lang.problem_prompt(p, think) for p in problems]
    conts = generate(model, tokenizer, prompts, max_new_tokens, temperature, seed, edit)
    texts = [f"{p} {c}".strip() for p, c in zip(prompts, conts, strict=True)]
    metrics = [lang.trace_metrics(t) for t in texts]
    correct = np.array([m["answer"] == p.answer for m, p in zip(metrics, problems, strict=True)])
    lengths = np.array([len(c.split()) for c in conts])
    counts = {cat: np.array([m[cat] for m in metrics]) for cat in lang.MARKERS[1:]}
    return {
        "accuracy": float(correct.mean()),
        "correct": correct,
        "length": lengths,
        "markers": counts,
        "answered": np.array([m["answer"] is not None for m in metrics]),
        "texts": texts,
    }
