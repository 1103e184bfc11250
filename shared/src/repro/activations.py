"""Harvest activations at TransformerLens hook points into a sharded on-disk cache, and read it back shuffled.

Why this exists: the official crosscoder code (ckkissane, copied by deepseek-diff) trained on only its first 32
sequences because its activation buffer stopped refreshing, half of every batch was zero rows, and its analysis
forgot the normalisation. This module makes each of those mistakes impossible by construction:

- **Harvest once, to disk.** ``harvest`` runs one or several HookedTransformers on the same token stream (forward
  only up to the last hook's block), keeps the rows you asked for (dropping the first ``drop_first`` positions of
  every sequence, which are attention sinks with huge norms, and padded positions), and writes them as safetensors
  shards of bounded size. Peak memory is one shard, not the corpus.
- **Read every row exactly once per epoch.** ``ActivationReader`` draws a permutation of *all* stored rows per
  epoch (seeded), gathers each batch from memory-mapped shards (the cache may exceed RAM), and yields the rows of
  every model for the same tokens together. There is no refill logic to get wrong and no zero padding to dilute
  batches: a batch holds only stored rows; the last one is short unless ``drop_last``.
- **Normalisation lives with the data.** The per-(model, hook) mean norm is computed over the whole cache while
  writing and stored in ``metadata.json``; the reader must be told ``normalise=True|False`` (no default, so it
  cannot be forgotten), and ``ActivationCache.scale`` gives the factor to undo it at analysis time.
- **Bad input fails in one line.** A truncated shard, a cache of another model/hook/dtype, or one written by an
  older format raises a ``ReproError`` naming the file and the fix; an existing cache is never overwritten.

On-disk format (version ``FORMAT_VERSION``), a directory:
``metadata.json``  models (name, revision, architecture, dtype, d_model), hook points, storage dtype, token-stream
                   hash, positions dropped, normalisation statistics, shard list (rows, bytes, sha256), content hash.
``shard_00000.safetensors``  tensors ``acts.{model_index}.{hook}`` [rows, d_model] plus ``tokens`` (int32 token
                   id), ``positions`` (int32 position in its sequence) and ``sequences`` (int64 sequence index), so
                   row r of every tensor in a shard describes the same token.
Heavy imports (torch, safetensors) stay inside functions: ``import repro.activations`` is cheap.

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
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from repro.cache import atomic_write_text
from repro.figure import ReproError

# ----------------------------------------------------------------------------------------------- format constants
FORMAT_NAME = "repro.activations"
FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"
SHARD_PATTERN = "shard_{:05d}.safetensors"
TOKENS_KEY, POSITIONS_KEY, SEQUENCES_KEY = "tokens", "positions", "sequences"
STORE_DTYPES = ("float32", "float16", "bfloat16")
# numpy views of the stored dtypes (bfloat16 is read as uint16 and reinterpreted by torch).
_NUMPY_DTYPE = {
    "F32": np.float32,
    "F16": np.float16,
    "BF16": np.uint16,
    "I32": np.int32,
    "I64": np.int64,
}
_ST_DTYPE = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}
HOOK_RE = re.compile(r"^(blocks\.(\d+)\.)?[a-z_0-9.]*hook_[a-z_0-9]+$")
RESID_RE = re.compile(r"^blocks\.(\d+)\.hook_resid_(pre|post)$")  # hook points the HF backend can serve
BACKENDS = ("auto", "transformer_lens", "hf")


def act_key(model_index: int, hook: str) -> str:
    """The tensor name of one model's activations at one hook point."""
    return f"acts.{model_index}.{hook}"


def _fix(path: Path) -> str:
    return f"delete {path} and harvest again"


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
def _request(models: Sequence[Any], cfg: HarvestConfig, tokens_sha: str, n_seq: int, seq_len: int) -> dict:
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


def _decoder_layers(hf: Any) -> Any:
    """The ModuleList of transformer blocks of an HF causal LM (Qwen2/Llama: model.layers, GPT-2: transformer.h)."""
    base = hf.base_model
    for name in ("layers", "h", "blocks"):
        layers = getattr(base, name, None)
        if layers is not None and len(layers) == hf.config.num_hidden_layers:
            return layers
    raise ReproError(f"cannot find the blocks of {type(hf).__name__}; use backend='transformer_lens'")


def _capture_hf(hf: Any, ids: Any, hooks: Sequence[str]) -> dict[str, Any]:
    """Residual-stream activations with TransformerLens names from the HF model: ``blocks.i.hook_resid_pre`` is
    block i's input, ``hook_resid_post`` its output (tests check both against TransformerLens)."""
    layers = _decoder_layers(hf)
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
) -> ActivationCache:
    """Run ``models`` (``repro.models.LoadedModel``) on ``tokens`` [n_seq, seq_len] and write the activations at
    ``cfg.hook_points`` to ``out_dir``. Returns the opened cache. Which forward pass serves each model is
    ``cfg.backend`` (see HarvestConfig); the stored values are the same either way (to float tolerance).

    If ``out_dir`` already holds a cache of exactly this request it is reused; if it holds anything else this
    raises (nothing is overwritten). The cache is written to a temporary sibling and renamed into place, so an
    interrupted harvest never leaves a half-written cache under ``out_dir``."""
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
    request = _request(models, cfg, _tokens_hash(tokens, mask), n_seq, seq_len)

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
                "sha256": _sha256(tmp / name),
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
                buf[SEQUENCES_KEY].append((idx[:, 0] + start).to(torch.int64))
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
        meta["content_hash"] = _content_hash(meta)
        atomic_write_text(tmp / METADATA_FILE, json.dumps(meta, indent=1))
        if out_dir.exists():
            out_dir.rmdir()  # empty (checked above)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ActivationCache.open(out_dir)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _content_hash(meta: dict[str, Any]) -> str:
    body = {k: v for k, v in meta.items() if k != "content_hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20]


# ----------------------------------------------------------------------------------------------- the cache on disk
def _read_header(path: Path, expected_bytes: int, cache_dir: Path) -> tuple[int, dict[str, Any]]:
    """(offset of the data section, tensor table) of a safetensors file, checking it is complete."""
    size = path.stat().st_size
    if size != expected_bytes:
        raise ReproError(
            f"{path} is truncated or altered ({size} bytes, metadata says {expected_bytes}); {_fix(cache_dir)}"
        )
    with open(path, "rb") as f:
        raw = f.read(8)
        (n,) = struct.unpack("<Q", raw) if len(raw) == 8 else (size,)
        if n > size - 8:
            raise ReproError(f"{path} has a corrupt header; {_fix(cache_dir)}")
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ReproError(f"{path} has a corrupt header; {_fix(cache_dir)}") from None
    header.pop("__metadata__", None)
    end = max((t["data_offsets"][1] for t in header.values()), default=0)
    if 8 + n + end > size:
        raise ReproError(f"{path} is truncated (its header needs {8 + n + end} bytes); {_fix(cache_dir)}")
    return 8 + n, header


def _allow_open_files(n: int) -> None:
    """Raise the soft limit on open files to ``n`` (up to the hard limit): each memory-mapped shard holds one
    descriptor, and a paper-scale cache has thousands of shards."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Linux/macOS
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < n:
        target = n if hard == resource.RLIM_INFINITY else min(n, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@dataclass
class _Shard:
    path: Path
    rows: int
    start: int  # global index of its first row
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # memory maps, one per tensor


class ActivationCache:
    """An activation cache on disk: metadata plus memory-mapped shards. Open with ``ActivationCache.open``."""

    def __init__(self, path: Path, meta: dict[str, Any], shards: list[_Shard]):
        self.path, self.meta, self.shards = path, meta, shards
        self.offsets = np.array([s.start for s in shards] + [self.n_rows], dtype=np.int64)

    # -- opening and validation
    @classmethod
    def open(
        cls,
        path: str | Path,
        expect_models: Sequence[str] | None = None,
        expect_hooks: Sequence[str] | None = None,
        expect_dtype: str | None = None,
    ) -> ActivationCache:
        """Open and validate a cache. ``expect_*`` state what the caller needs (model names, hook points, storage
        dtype); a mismatch, a missing or truncated shard, or another format version is a one-line ``ReproError``.
        The shards' sizes and headers are checked here; ``verify()`` also re-hashes their bytes."""
        path = Path(path)
        mpath = path / METADATA_FILE
        if not mpath.is_file():
            raise ReproError(f"{path} is not an activation cache (no {METADATA_FILE}); harvest into it first")
        try:
            meta = json.loads(mpath.read_text())
        except json.JSONDecodeError:
            raise ReproError(f"{mpath} is not valid JSON; {_fix(path)}") from None
        if meta.get("format") != FORMAT_NAME:
            raise ReproError(f"{mpath} is not a {FORMAT_NAME} cache; point to a directory written by harvest")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ReproError(
                f"{mpath} was written by activation-cache format v{meta.get('format_version')}, this code reads "
                f"v{FORMAT_VERSION}; {_fix(path)}"
            )
        if meta.get("content_hash") != _content_hash(meta):
            raise ReproError(f"{mpath} was edited after it was written (content hash differs); {_fix(path)}")
        names = [m["name"] for m in meta["models"]]
        for what, want, have in (
            ("models", expect_models, names),
            ("hook points", expect_hooks, meta["hook_points"]),
        ):
            if want is not None and list(want) != list(have):
                raise ReproError(f"{mpath} holds {what} {have}, not {list(want)}; {_fix(path)} with yours")
        if expect_dtype is not None and expect_dtype != meta["dtype"]:
            raise ReproError(f"{mpath} stores {meta['dtype']}, not {expect_dtype}; {_fix(path)} with yours")
        _allow_open_files(len(meta["shards"]) + 64)
        shards, start = [], 0
        for s in meta["shards"]:
            spath = path / s["file"]
            if not spath.is_file():
                raise ReproError(f"{spath} is missing; {_fix(path)}")
            data_start, header = _read_header(spath, s["bytes"], path)
            shard = _Shard(spath, s["rows"], start)
            whole = np.memmap(spath, dtype=np.uint8, mode="r")  # one map (one descriptor) per shard file
            for name, t in header.items():
                if t["shape"][0] != s["rows"]:
                    raise ReproError(
                        f"{spath}: {name} has {t['shape'][0]} rows, not {s['rows']}; {_fix(path)}"
                    )
                lo, hi = (data_start + o for o in t["data_offsets"])
                shard.arrays[name] = whole[lo:hi].view(_NUMPY_DTYPE[t["dtype"]]).reshape(t["shape"])
            shards.append(shard)
            start += s["rows"]
        if start != meta["n_rows"]:
            raise ReproError(
                f"{mpath}: shards hold {start} rows, metadata says {meta['n_rows']}; {_fix(path)}"
            )
        return cls(path, meta, shards)

    def verify(self) -> None:
        """Re-hash every shard (reads the whole cache) and raise on the first that changed."""
        for s, rec in zip(self.shards, self.meta["shards"], strict=True):
            if _sha256(s.path) != rec["sha256"]:
                raise ReproError(f"{s.path} does not match its recorded sha256; {_fix(self.path)}")

    # -- description
    @property
    def n_rows(self) -> int:
        return int(self.meta["n_rows"])

    @property
    def hook_points(self) -> list[str]:
        return list(self.meta["hook_points"])

    @property
    def models(self) -> list[dict[str, Any]]:
        return list(self.meta["models"])

    @property
    def keys(self) -> list[str]:
        return [act_key(j, h) for j in range(len(self.models)) for h in self.hook_points]

    def key(self, model: int | str, hook: str) -> str:
        """The tensor name for a model (index or name) and hook point."""
        if isinstance(model, str):
            names = [m["name"] for m in self.models]
            if model not in names:
                raise ReproError(f"{self.path} has no model {model!r}; it has {names}")
            model = names.index(model)
        if hook not in self.hook_points:
            raise ReproError(f"{self.path} has no hook point {hook!r}; it has {self.hook_points}")
        return act_key(model, hook)

    def scale(self, key: str) -> float:
        """Multiply raw activations by this to get mean norm sqrt(width) over the cache (divide to undo)."""
        return float(self.meta["norm"][key]["scale"])

    def scales(self, hook: str) -> list[float]:
        """Per-model scales at ``hook``, in model order (what a crosscoder stores to undo the normalisation)."""
        return [self.scale(self.key(j, hook)) for j in range(len(self.models))]

    # -- row access
    def locate(self, rows: np.ndarray) -> list[tuple[_Shard, np.ndarray]]:
        """Split *sorted* global row indices into (shard, local indices) pieces."""
        bounds = np.searchsorted(rows, self.offsets)
        return [
            (s, rows[bounds[i] : bounds[i + 1]] - s.start)
            for i, s in enumerate(self.shards)
            if bounds[i] < bounds[i + 1]
        ]

    def gather(self, name: str, rows: Any, plan: list[tuple[_Shard, np.ndarray]] | None = None) -> np.ndarray:
        """Rows (global indices) of tensor ``name``, read from the memory-mapped shards. Any order is accepted;
        with a ``plan`` from ``locate`` (sorted rows) the sort is done once for many tensors."""
        if plan is None:
            rows = np.asarray(rows, dtype=np.int64)
            order = np.argsort(rows, kind="stable")
            out = np.empty(
                (len(rows), *self.shards[0].arrays[name].shape[1:]), self.shards[0].arrays[name].dtype
            )
            out[order] = self.gather(name, None, self.locate(rows[order]))
            return out
        pieces = [s.arrays[name][local] for s, local in plan]
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def reader(
        self,
        batch_size: int,
        *,
        normalise: bool,
        seed: int = 0,
        keys: Sequence[str] | None = None,
        drop_last: bool = False,
        device: str = "cpu",
    ) -> ActivationReader:
        return ActivationReader(
            self, batch_size, normalise=normalise, seed=seed, keys=keys, drop_last=drop_last, device=device
        )


# ----------------------------------------------------------------------------------------------- the reader
@dataclass
class ActivationBatch:
    """One batch: ``acts[key]`` [B, d] for each requested key, and for every row its token id and global row."""

    acts: dict[str, Any]
    tokens: Any
    rows: Any

    def stack(self, hook: str, n_models: int | None = None) -> Any:
        """[B, n_models, d]: the models' activations at ``hook`` side by side (a crosscoder's input)."""
        import torch

        ks = sorted((k for k in self.acts if k.split(".", 2)[2] == hook), key=lambda k: int(k.split(".")[1]))
        if n_models is not None and len(ks) != n_models:
            raise ReproError(f"batch has {len(ks)} models at {hook}, expected {n_models}")
        return torch.stack([self.acts[k] for k in ks], dim=1)


class ActivationReader:
    """Shuffled batches over a cache: each epoch is one seeded permutation of all rows, cut into batches, so every
    stored row is visited exactly once per epoch; rows of all models at one token come together (paired by
    construction). Within a batch rows come in file order (cheaper reads; a batch's loss does not depend on it)."""

    def __init__(
        self,
        cache: ActivationCache,
        batch_size: int,
        *,
        normalise: bool,
        seed: int = 0,
        keys: Sequence[str] | None = None,
        drop_last: bool = False,
        device: str = "cpu",
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.cache, self.batch_size, self.normalise = cache, batch_size, normalise
        self.seed, self.drop_last, self.device = seed, drop_last, device
        self.keys = list(keys) if keys is not None else cache.keys
        unknown = [k for k in self.keys if k not in cache.keys]
        if unknown:
            raise ReproError(f"{cache.path} has no tensor {unknown[0]}; it has {cache.keys}")

    def __len__(self) -> int:
        n = self.cache.n_rows
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self.cache.n_rows)

    def epoch(self, epoch: int = 0) -> Iterator[ActivationBatch]:
        import torch

        perm = self.permutation(epoch)
        dtype = self.cache.meta["dtype"]
        for b in range(len(self)):
            # a random set of rows, read in file order (sorted) for locality; order within a batch is irrelevant
            rows = np.sort(perm[b * self.batch_size : (b + 1) * self.batch_size])
            plan = self.cache.locate(rows)
            acts = {}
            for k in self.keys:
                x = torch.from_numpy(self.cache.gather(k, rows, plan))
                if dtype == "bfloat16":
                    x = x.view(torch.bfloat16)
                x = x.to(self.device)
                if self.normalise:
                    x = x * self.cache.scale(k)
                acts[k] = x
            tokens = torch.from_numpy(self.cache.gather(TOKENS_KEY, rows, plan)).to(self.device)
            yield ActivationBatch(acts, tokens, torch.from_numpy(rows).to(self.device))

    def __iter__(self) -> Iterator[ActivationBatch]:
        return self.epoch(0)

    def forever(self) -> Iterator[ActivationBatch]:
        """Epoch after epoch, each with its own permutation."""
        e = 0
        while True:
            yield from self.epoch(e)
            e += 1

    def tensors(self, key: str) -> Iterator[Any]:
        """Endless [B, d] tensors of one key: a SAELens ``DataProvider`` (``SAETrainer(cfg, sae, provider)``)."""
        if key not in self.keys:
            raise ReproError(f"reader has no key {key}; it reads {self.keys}")
        for batch in self.forever():
            yield batch.acts[key]
