"""Harvest activations at TransformerLens hook points into a sharded on-disk cache (read it with the reader).

Why this exists: the official crosscoder code (ckkissane, copied by deepseek-diff) trained on only its first 32
sequences because its activation buffer stopped refreshing, half of every batch was zero rows, and its analysis
forgot the normalisation. Harvesting once, to disk, removes the buffer altogether:

- ``harvest`` runs one or several models on the same token stream, keeps the rows asked for (dropping the first
  ``drop_first`` positions of every sequence, attention sinks with huge norms, and padded positions), and writes
  them as safetensors shards of bounded size: peak memory is one shard, not the corpus. Each model runs only up to
  the last hooked block, with the transformers forward (fused attention) when every hook is a residual-stream
  point, else through TransformerLens; tests check the two agree.
- The per-(model, hook) mean norm is accumulated over every stored row and saved with the cache, so normalising to
  mean norm sqrt(d) uses the whole cache, not a first batch (SAELens #467).
- The cache is written to a temporary sibling and renamed into place; an existing cache is reused only for the
  identical request and never overwritten.
- Under ``torchrun`` each rank harvests a contiguous block of sequences (``harvest_sharded``) and rank 0 merges
  the parts into one cache (``merge_caches``): same rows, values and normalisation as a single harvest.

The format, its validation and the exactly-once shuffled reader live in ``repro.activation_cache`` and are
re-exported here. Heavy imports (torch, transformers) stay inside functions: ``import repro.activations`` is cheap.

Typical use (two models, the crosscoder setting)::

    models = [load_model(ModelSpec(name), keep_hf=True) for name in (base, distilled)]
    ids, mask = tokenize_texts(models[0].tokenizer, texts, seq_len=1024)
    cache = harvest(models, ids, out_dir, HarvestConfig(hook_points=("blocks.14.hook_resid_pre",), drop_first=2),
                    attention_mask=mask)
    for batch in cache.reader(4096, normalise=True, seed=cfg.seed).forever():
        x = batch.stack("blocks.14.hook_resid_pre")          # [B, 2, d], each model at mean norm sqrt(d)
    raw = x / torch.tensor(cache.scales("blocks.14.hook_resid_pre"))[:, None]   # back to model units
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.activation_cache import (
    FORMAT_NAME,
    FORMAT_VERSION,
    METADATA_FILE,
    POSITIONS_KEY,
    SEQUENCES_KEY,
    SHARD_PATTERN,
    STORE_DTYPES,
    TOKENS_KEY,
    ActivationBatch,
    ActivationCache,
    ActivationReader,
    act_key,
    content_hash,
    sha256_file,
)
from repro.cache import atomic_write_text
from repro.figure import ReproError
from repro.hooks import RESID_RE, decoder_layers  # noqa: F401  (decoder_layers: re-exported for callers)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "ActivationBatch",
    "ActivationCache",
    "ActivationReader",
    "HarvestConfig",
    "act_key",
    "harvest",
    "tokenize_texts",
]

HOOK_RE = re.compile(r"^(blocks\.(\d+)\.)?[a-z_0-9.]*hook_[a-z_0-9]+$")
BACKENDS = ("auto", "transformer_lens", "hf")


# ----------------------------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class HarvestConfig:
    """What to harvest and how to store it."""

    hook_points: tuple[str, ...]
    batch_size: int = 8  # sequences per forward pass
    drop_first: int = 1  # positions dropped at the start of each sequence (attention sinks / BOS)
    mask_padding: bool = True  # drop padded positions (attention_mask == 0)
    dtype: str = "float32"  # storage dtype
    shard_rows: int = 1 << 16  # rows per shard (a shard is the unit of peak memory while writing)
    # "auto": the transformers model with layer hooks when every hook is a residual-stream point and the HF model
    # is loaded (faster: fused attention, stops before the first unneeded layer); else TransformerLens.
    backend: str = "auto"

    def __post_init__(self) -> None:
        if not self.hook_points:
            raise ValueError("hook_points is empty")
        if len(set(self.hook_points)) != len(self.hook_points):
            raise ValueError(f"hook_points has duplicates: {self.hook_points}")
        for h in self.hook_points:
            if not HOOK_RE.match(h):
                raise ValueError(f"{h!r} is not a TransformerLens hook name (e.g. blocks.3.hook_resid_pre)")
        if self.batch_size < 1 or self.shard_rows < 1:
            raise ValueError("batch_size and shard_rows must be >= 1")
        if self.drop_first < 0:
            raise ValueError(f"drop_first must be >= 0, got {self.drop_first}")
        if self.dtype not in STORE_DTYPES:
            raise ValueError(f"dtype {self.dtype!r} is not one of {STORE_DTYPES}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend {self.backend!r} is not one of {BACKENDS}")

    def stop_at_layer(self) -> int | None:
        """Run blocks only up to the last hooked one; None when a hook lies outside the blocks."""
        layers = [HOOK_RE.match(h).group(2) for h in self.hook_points]  # type: ignore[union-attr]
        if any(x is None for x in layers):
            return None
        return max(int(x) for x in layers) + 1  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------- tokens
def tokenize_texts(tokenizer: Any, texts: Sequence[str], seq_len: int) -> tuple[Any, Any]:
    """Token ids [n, seq_len] and attention mask, truncated and right-padded (causal models never look right,
    so right padding leaves every real position's activations unchanged)."""
    enc = tokenizer(
        list(texts),
        max_length=seq_len,
        truncation=True,
        padding="max_length",
        padding_side="right",
        return_tensors="pt",
    )
    return enc["input_ids"], enc["attention_mask"]


def _tokens_hash(tokens: Any, mask: Any) -> str:
    h = hashlib.sha256(tokens.to("cpu").long().numpy().tobytes())
    h.update(mask.to("cpu").long().numpy().tobytes())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------------------------- harvesting
def _request(
    models: Sequence[Any],
    cfg: HarvestConfig,
    tokens_sha: str,
    n_seq: int,
    seq_len: int,
    sequence_offset: int = 0,
) -> dict:
    """The part of the metadata that identifies what was asked for (compared when a cache already exists)."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "models": [m.describe() for m in models],
        "hook_points": list(cfg.hook_points),
        "dtype": cfg.dtype,
        "drop_first": cfg.drop_first,
        "mask_padding": cfg.mask_padding,
        "tokens_sha256": tokens_sha,
        "n_sequences": n_seq,
        "seq_len": seq_len,
        "sequence_offset": sequence_offset,
    }


def _backend(model: Any, cfg: HarvestConfig) -> str:
    """Which forward pass serves ``model``: "hf" (transformers + layer hooks) or "transformer_lens"."""
    hf_ok = model.hf is not None and all(RESID_RE.match(h) for h in cfg.hook_points)
    if cfg.backend == "hf" or (cfg.backend == "auto" and hf_ok):
        if not hf_ok:
            raise ReproError(
                f"backend 'hf' needs the transformers model (load_model(..., keep_hf=True)) and only "
                f"blocks.N.hook_resid_pre/post hooks; got {list(cfg.hook_points)} for {model.spec.name}"
            )
        return "hf"
    if model.hooked is None:
        raise ReproError(
            f"{model.spec.name} was loaded without TransformerLens and {list(cfg.hook_points)} needs it; "
            "load it with hooked=True"
        )
    return "transformer_lens"


def _n_layers(model: Any) -> int:
    if model.hooked is not None:
        return int(model.hooked.cfg.n_layers)
    return int(model.hf.config.num_hidden_layers)


def _check_models(models: Sequence[Any], cfg: HarvestConfig) -> list[str]:
    if not models:
        raise ReproError("harvest needs at least one model")
    vocab0 = models[0].tokenizer.get_vocab()
    backends = []
    for m in models:
        backends.append(_backend(m, cfg))
        n = _n_layers(m)
        if backends[-1] == "hf":
            missing = [h for h in cfg.hook_points if int(RESID_RE.match(h).group(1)) >= n]  # type: ignore[union-attr]
        else:
            missing = [h for h in cfg.hook_points if h not in m.hooked.hook_dict]
        if missing:
            raise ReproError(
                f"{m.spec.name} has no hook point {missing[0]} (it has {n} blocks); "
                f"choose hooks among blocks.0..{n - 1}"
            )
        if m.tokenizer.get_vocab() != vocab0:
            raise ReproError(
                f"{m.spec.name} and {models[0].spec.name} have different tokenizers; models harvested "
                "together must share one token stream"
            )
    return backends


class _StopForward(Exception):
    """Raised by the last needed hook so that the layers after it never run."""


def _capture_hf(hf: Any, ids: Any, hooks: Sequence[str]) -> dict[str, Any]:
    """Residual-stream activations with TransformerLens names from the HF model: ``blocks.i.hook_resid_pre`` is
    block i's input, ``hook_resid_post`` its output (tests check both against TransformerLens)."""
    layers = decoder_layers(hf)
    want = {h: (int(m.group(1)), m.group(2)) for h in hooks if (m := RESID_RE.match(h))}
    last = max((i if kind == "pre" else i + 0.5) for i, kind in want.values())
    acts: dict[str, Any] = {}
    handles = []

    def pre_hook(i: int):
        def fn(module: Any, args: tuple, kwargs: dict) -> None:
            x = args[0] if args else kwargs["hidden_states"]
            acts[f"blocks.{i}.hook_resid_pre"] = x
            if last == i:
                raise _StopForward

        return fn

    def post_hook(i: int):
        def fn(module: Any, args: tuple, kwargs: dict, out: Any) -> None:
            acts[f"blocks.{i}.hook_resid_post"] = out[0] if isinstance(out, tuple) else out
            if last == i + 0.5:
                raise _StopForward

        return fn

    try:
        for i, kind in want.values():
            if kind == "pre":
                handles.append(layers[i].register_forward_pre_hook(pre_hook(i), with_kwargs=True))
            else:
                handles.append(layers[i].register_forward_hook(post_hook(i), with_kwargs=True))
        with contextlib.suppress(_StopForward):
            hf.base_model(input_ids=ids, use_cache=False)
    finally:
        for h in handles:
            h.remove()
    return acts


def _capture_tl(hooked: Any, ids: Any, hooks: Sequence[str], stop: int | None) -> dict[str, Any]:
    acts: dict[str, Any] = {}

    def grab(x: Any, hook: Any) -> None:
        acts[hook.name] = x

    hooked.run_with_hooks(ids, fwd_hooks=[(h, grab) for h in hooks], stop_at_layer=stop, return_type=None)
    return acts


def harvest(
    models: Sequence[Any],
    tokens: Any,
    out_dir: str | Path,
    cfg: HarvestConfig,
    attention_mask: Any | None = None,
    sequence_offset: int = 0,
) -> ActivationCache:
    """Run ``models`` (``repro.models.LoadedModel``) on ``tokens`` [n_seq, seq_len] and write the activations at
    ``cfg.hook_points`` to ``out_dir``. Returns the opened cache. Which forward pass serves each model is
    ``cfg.backend`` (see HarvestConfig); the stored values are the same either way (to float tolerance).

    If ``out_dir`` already holds a cache of exactly this request it is reused; if it holds anything else this
    raises (nothing is overwritten). The cache is written to a temporary sibling and renamed into place, so an
    interrupted harvest never leaves a half-written cache under ``out_dir``. ``sequence_offset`` is added to the
    stored sequence indices (a rank's block of a larger token matrix, see :func:`harvest_sharded`)."""
    import torch
    from safetensors.torch import save_file

    from repro.progress import track

    out_dir = Path(out_dir)
    backends = _check_models(models, cfg)
    tokens = torch.as_tensor(tokens)
    if tokens.dim() != 2:
        raise ReproError(f"tokens must be [n_sequences, seq_len], got shape {tuple(tokens.shape)}")
    mask = torch.ones_like(tokens) if attention_mask is None else torch.as_tensor(attention_mask)
    if mask.shape != tokens.shape:
        raise ReproError(f"attention_mask shape {tuple(mask.shape)} != tokens shape {tuple(tokens.shape)}")
    if bool((mask[:, 1:] > mask[:, :-1]).any()):
        raise ReproError("attention_mask has left padding; pad on the right (tokenize_texts does)")
    n_seq, seq_len = tokens.shape
    request = _request(models, cfg, _tokens_hash(tokens, mask), n_seq, seq_len, sequence_offset)

    if (out_dir / METADATA_FILE).exists():
        cache = ActivationCache.open(out_dir)
        diff = [k for k in request if cache.meta.get(k) != request[k]]
        if diff:
            raise ReproError(
                f"{out_dir / METADATA_FILE} holds a cache with other {', '.join(diff)}; "
                f"delete {out_dir} or harvest into another directory"
            )
        return cache
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ReproError(f"{out_dir} exists and is not an activation cache; choose an empty or new directory")

    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    store_dtype = getattr(torch, cfg.dtype)
    keys = [act_key(j, h) for j in range(len(models)) for h in cfg.hook_points]
    norm_sum = dict.fromkeys(keys, 0.0)
    zero_rows = dict.fromkeys(keys, 0)
    widths: dict[str, int] = {}
    buf: dict[str, list] = {k: [] for k in [*keys, TOKENS_KEY, POSITIONS_KEY, SEQUENCES_KEY]}
    shards: list[dict[str, Any]] = []
    n_rows = buffered = 0
    stop = cfg.stop_at_layer()
    positions = torch.arange(seq_len)

    def flush() -> None:
        nonlocal buffered
        if not buffered:
            return
        tensors = {k: torch.cat(v).contiguous() for k, v in buf.items()}
        name = SHARD_PATTERN.format(len(shards))
        save_file(tensors, str(tmp / name), metadata={"format": FORMAT_NAME, "version": str(FORMAT_VERSION)})
        shards.append(
            {
                "file": name,
                "rows": buffered,
                "bytes": (tmp / name).stat().st_size,
                "sha256": sha256_file(tmp / name),
            }
        )
        for v in buf.values():
            v.clear()
        buffered = 0

    try:
        with torch.inference_mode():
            for start in track(range(0, n_seq, cfg.batch_size), f"harvest {len(models)} model(s)"):
                ids, m = tokens[start : start + cfg.batch_size], mask[start : start + cfg.batch_size]
                keep = positions.unsqueeze(0).expand_as(ids) >= cfg.drop_first
                if cfg.mask_padding:
                    keep = keep & m.bool()
                if not bool(keep.any()):
                    continue
                for j, model in enumerate(models):
                    if backends[j] == "hf":
                        dev_ids = ids.to(model.hf.device)
                        acts = _capture_hf(model.hf, dev_ids, cfg.hook_points)
                    else:
                        dev_ids = ids.to(model.hooked.cfg.device)
                        acts = _capture_tl(model.hooked, dev_ids, cfg.hook_points, stop)
                    dev_keep = keep.to(dev_ids.device)
                    for h in cfg.hook_points:
                        rows = acts[h][dev_keep].flatten(1).to(store_dtype)  # [rows, width] (heads flattened)
                        widths[act_key(j, h)] = rows.shape[1]
                        norms = rows.float().norm(dim=-1)
                        norm_sum[act_key(j, h)] += float(norms.double().sum())
                        zero_rows[act_key(j, h)] += int((norms == 0).sum())
                        buf[act_key(j, h)].append(rows.cpu())
                idx = keep.nonzero()
                buf[TOKENS_KEY].append(ids[keep].to(torch.int32))
                buf[POSITIONS_KEY].append(idx[:, 1].to(torch.int32))
                buf[SEQUENCES_KEY].append((idx[:, 0] + start + sequence_offset).to(torch.int64))
                buffered += int(keep.sum())
                n_rows += int(keep.sum())
                if buffered >= cfg.shard_rows:
                    flush()
        flush()
        if n_rows == 0:
            raise ReproError(f"no rows to store: every position was dropped (drop_first={cfg.drop_first})")
        first, real = (positions < cfg.drop_first).expand_as(tokens), mask.bool()
        norm = {}
        for k in keys:  # scale each model and hook to mean norm sqrt(width), over every stored row
            mean_norm = norm_sum[k] / n_rows
            target = math.sqrt(widths[k])
            norm[k] = {
                "width": widths[k],
                "mean_norm": mean_norm,
                "target": target,
                "scale": target / mean_norm,
            }
        meta = {
            **request,
            "n_rows": n_rows,
            # n_rows + positions_dropped + padding_dropped == n_sequences * seq_len
            "positions_dropped": int((first & real).sum()) if cfg.mask_padding else int(first.sum()),
            "padding_dropped": int((~first & ~real).sum()) if cfg.mask_padding else 0,
            "backends": backends,
            "zero_rows": zero_rows,
            "norm": norm,
            "shards": shards,
        }
        meta["content_hash"] = content_hash(meta)
        atomic_write_text(tmp / METADATA_FILE, json.dumps(meta, indent=1))
        if out_dir.exists():
            out_dir.rmdir()  # empty (checked above)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ActivationCache.open(out_dir)


# ----------------------------------------------------------------------------------------------- several processes
def rank_block(n_seq: int, rank: int, world_size: int) -> tuple[int, int]:
    """The contiguous block of sequences ``[start, stop)`` that ``rank`` of ``world_size`` harvests."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in [0, {world_size})")
    per = math.ceil(n_seq / world_size)
    return min(rank * per, n_seq), min((rank + 1) * per, n_seq)


def part_name(rank: int) -> str:
    return f"part-{rank:03d}"


def harvest_sharded(
    models: Sequence[Any],
    tokens: Any,
    out_dir: str | Path,
    cfg: HarvestConfig,
    attention_mask: Any | None = None,
    rank: int | None = None,
    world_size: int | None = None,
) -> ActivationCache | None:
    """Harvest under ``torchrun``: rank r runs its contiguous block of sequences into ``out_dir/part-r``; after a
    barrier (when ``torch.distributed`` is initialised), rank 0 merges the parts into one cache at ``out_dir`` and
    returns it (other ranks return None). ``rank``/``world_size`` default to torchrun's RANK / WORLD_SIZE.
    The merged cache is the same rows, values and normalisation as one ``harvest`` of all sequences."""
    import torch

    rank = int(os.environ.get("RANK", 0)) if rank is None else rank
    world_size = int(os.environ.get("WORLD_SIZE", 1)) if world_size is None else world_size
    out_dir = Path(out_dir)
    tokens = torch.as_tensor(tokens)
    mask = torch.ones_like(tokens) if attention_mask is None else torch.as_tensor(attention_mask)
    start, stop = rank_block(len(tokens), rank, world_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    if stop > start:
        harvest(models, tokens[start:stop], out_dir / part_name(rank), cfg, mask[start:stop], start)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
    if rank != 0:
        return None
    parts = [out_dir / part_name(r) for r in range(world_size) if (out_dir / part_name(r)).is_dir()]
    return merge_caches(parts, out_dir)


# what must agree between parts, and what adds up
_SAME = (
    "format",
    "format_version",
    "models",
    "hook_points",
    "dtype",
    "drop_first",
    "mask_padding",
    "seq_len",
)
_SUMS = ("n_rows", "n_sequences", "positions_dropped", "padding_dropped")


def merge_caches(parts: Sequence[str | Path], out_dir: str | Path) -> ActivationCache:
    """One cache over ``parts`` (caches inside ``out_dir``, in sequence order, contiguous): the metadata at
    ``out_dir`` lists every part's shards, row counts add up, and each mean norm is the row-weighted mean of the
    parts' (so normalisation is over every row, as for a single harvest). Shards are not copied. Reused when the
    same parts are already merged."""
    out_dir = Path(out_dir).resolve()
    caches = [ActivationCache.open(p) for p in parts]
    if not caches:
        raise ReproError(f"no activation caches to merge under {out_dir}; harvest the parts first")
    for c in caches:
        if c.path.resolve().parent != out_dir:
            raise ReproError(f"{c.path} is not inside {out_dir}; harvest the parts into subdirectories of it")
    first = caches[0].meta
    for c in caches[1:]:
        diff = [k for k in _SAME if c.meta.get(k) != first.get(k)]
        if diff:
            raise ReproError(
                f"{c.path} differs from {caches[0].path} in {', '.join(diff)}; harvest them alike"
            )
    offset = first.get("sequence_offset", 0)
    for c in caches:
        if c.meta.get("sequence_offset", 0) != offset:
            raise ReproError(
                f"{c.path} starts at sequence {c.meta.get('sequence_offset')}, expected {offset}"
            )
        offset += c.meta["n_sequences"]
    meta: dict[str, Any] = {k: first[k] for k in _SAME}
    meta.update({k: sum(c.meta[k] for c in caches) for k in _SUMS})
    meta["sequence_offset"] = first.get("sequence_offset", 0)
    meta["tokens_sha256"] = hashlib.sha256(
        "".join(c.meta["tokens_sha256"] for c in caches).encode()
    ).hexdigest()[:16]
    meta["parts"] = [c.path.name for c in caches]
    meta["backends"] = first["backends"]
    meta["zero_rows"] = {k: sum(c.meta["zero_rows"][k] for c in caches) for k in first["zero_rows"]}
    norm = {}
    for k, n0 in first["norm"].items():
        mean_norm = sum(c.meta["norm"][k]["mean_norm"] * c.meta["n_rows"] for c in caches) / meta["n_rows"]
        norm[k] = {**n0, "mean_norm": mean_norm, "scale": n0["target"] / mean_norm}
    meta["norm"] = norm
    meta["shards"] = [{**s, "file": f"{c.path.name}/{s['file']}"} for c in caches for s in c.meta["shards"]]
    meta["content_hash"] = content_hash(meta)
    mpath = out_dir / METADATA_FILE
    if mpath.exists():
        old = ActivationCache.open(out_dir)
        if old.meta["content_hash"] != meta["content_hash"]:
            raise ReproError(f"{mpath} holds another merged cache; delete {out_dir} and harvest again")
        return old
    atomic_write_text(mpath, json.dumps(meta, indent=1))
    return ActivationCache.open(out_dir)
