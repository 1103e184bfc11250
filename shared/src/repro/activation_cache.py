"""The activation cache on disk and its reader: format, validation, memory-mapped rows, exactly-once shuffles.

Written by ``repro.activations.harvest``; this module owns the format (every name and version below) and reading.
Why it is shaped like this (the official crosscoder buffer trained on its first 32 sequences and half-zero
batches; its analysis forgot the normalisation):

- **Every row exactly once per epoch.** ``ActivationReader`` draws a seeded permutation of *all* stored rows per
  epoch and cuts it into batches, gathered from memory-mapped shards (the cache may exceed RAM). There is no refill
  logic to get wrong and no zero padding: a batch holds only stored rows; the last one is short unless
  ``drop_last``. Rows of every model at the same token come together (paired by construction).
- **Normalisation lives with the data.** The per-(model, hook) mean norm over the whole cache is in
  ``metadata.json``; the reader must be told ``normalise=True|False`` (no default, so it cannot be forgotten), and
  ``ActivationCache.scale``/``scales`` give the factors to undo it at analysis time.
- **Bad input fails in one line.** A missing or truncated shard, a cache of another model/hook/dtype, an edited
  metadata file, or one written by another format version raises a ``ReproError`` naming the file and the fix.

On-disk format (version ``FORMAT_VERSION``), a directory:
``metadata.json``  models (name, revision, architecture, dtype, d_model), hook points, storage dtype, token-stream
                   hash, positions and padding dropped, normalisation statistics, shard list (rows, bytes, sha256),
                   content hash (of all the rest, shard hashes included).
``shard_00000.safetensors``  tensors ``acts.{model_index}.{hook}`` [rows, width] plus ``tokens`` (int32 token
                   id), ``positions`` (int32 position in its sequence) and ``sequences`` (int64 sequence index), so
                   row r of every tensor in a shard describes the same token.
Random-row reads suit page-cached or SSD-resident caches (one small read per row); torch is imported lazily.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from repro.cache import sha256_file
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


def act_key(model_index: int, hook: str) -> str:
    """The tensor name of one model's activations at one hook point."""
    return f"acts.{model_index}.{hook}"


def fix_hint(path: Path) -> str:
    """The fix for a bad cache, to end a one-line error with."""
    return f"delete {path} and harvest again"


def content_hash(meta: dict[str, Any]) -> str:
    body = {k: v for k, v in meta.items() if k != "content_hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20]


# ----------------------------------------------------------------------------------------------- the cache on disk
def _read_header(path: Path, expected_bytes: int, cache_dir: Path) -> tuple[int, dict[str, Any]]:
    """(offset of the data section, tensor table) of a safetensors file, checking it is complete."""
    size = path.stat().st_size
    if size != expected_bytes:
        raise ReproError(
            f"{path} is truncated or altered ({size} bytes, metadata says {expected_bytes}); {fix_hint(cache_dir)}"
        )
    with open(path, "rb") as f:
        raw = f.read(8)
        (n,) = struct.unpack("<Q", raw) if len(raw) == 8 else (size,)
        if n > size - 8:
            raise ReproError(f"{path} has a corrupt header; {fix_hint(cache_dir)}")
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ReproError(f"{path} has a corrupt header; {fix_hint(cache_dir)}") from None
    header.pop("__metadata__", None)
    end = max((t["data_offsets"][1] for t in header.values()), default=0)
    if 8 + n + end > size:
        raise ReproError(f"{path} is truncated (its header needs {8 + n + end} bytes); {fix_hint(cache_dir)}")
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
        try:
            return cls._open(path, expect_models, expect_hooks, expect_dtype)
        except (KeyError, TypeError, IndexError, ValueError) as e:  # a hand-edited or foreign metadata layout
            raise ReproError(
                f"{path / METADATA_FILE} is malformed ({type(e).__name__}: {e}); {fix_hint(path)}"
            ) from None

    @classmethod
    def _open(
        cls,
        path: Path,
        expect_models: Sequence[str] | None,
        expect_hooks: Sequence[str] | None,
        expect_dtype: str | None,
    ) -> ActivationCache:
        mpath = path / METADATA_FILE
        if not mpath.is_file():
            raise ReproError(f"{path} is not an activation cache (no {METADATA_FILE}); harvest into it first")
        try:
            meta = json.loads(mpath.read_text())
        except json.JSONDecodeError:
            raise ReproError(f"{mpath} is not valid JSON; {fix_hint(path)}") from None
        if meta.get("format") != FORMAT_NAME:
            raise ReproError(f"{mpath} is not a {FORMAT_NAME} cache; point to a directory written by harvest")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ReproError(
                f"{mpath} was written by activation-cache format v{meta.get('format_version')}, this code reads "
                f"v{FORMAT_VERSION}; {fix_hint(path)}"
            )
        if meta.get("content_hash") != content_hash(meta):
            raise ReproError(
                f"{mpath} was edited after it was written (content hash differs); {fix_hint(path)}"
            )
        names = [m["name"] for m in meta["models"]]
        for what, want, have in (
            ("models", expect_models, names),
            ("hook points", expect_hooks, meta["hook_points"]),
        ):
            if want is not None and list(want) != list(have):
                raise ReproError(
                    f"{mpath} holds {what} {have}, not {list(want)}; {fix_hint(path)} with yours"
                )
        if expect_dtype is not None and expect_dtype != meta["dtype"]:
            raise ReproError(
                f"{mpath} stores {meta['dtype']}, not {expect_dtype}; {fix_hint(path)} with yours"
            )
        _allow_open_files(len(meta["shards"]) + 64)
        shards, start = [], 0
        for s in meta["shards"]:
            spath = path / s["file"]
            if not spath.is_file():
                raise ReproError(f"{spath} is missing; {fix_hint(path)}")
            data_start, header = _read_header(spath, s["bytes"], path)
            shard = _Shard(spath, s["rows"], start)
            whole = np.memmap(spath, dtype=np.uint8, mode="r")  # one map (one descriptor) per shard file
            for name, t in header.items():
                if t["shape"][0] != s["rows"]:
                    raise ReproError(
                        f"{spath}: {name} has {t['shape'][0]} rows, not {s['rows']}; {fix_hint(path)}"
                    )
                lo, hi = (data_start + o for o in t["data_offsets"])
                shard.arrays[name] = whole[lo:hi].view(_NUMPY_DTYPE[t["dtype"]]).reshape(t["shape"])
            shards.append(shard)
            start += s["rows"]
        if start != meta["n_rows"]:
            raise ReproError(
                f"{mpath}: shards hold {start} rows, metadata says {meta['n_rows']}; {fix_hint(path)}"
            )
        return cls(path, meta, shards)

    def verify(self) -> None:
        """Re-hash every shard (reads the whole cache) and raise on the first that changed."""
        for s, rec in zip(self.shards, self.meta["shards"], strict=True):
            if sha256_file(s.path) != rec["sha256"]:
                raise ReproError(f"{s.path} does not match its recorded sha256; {fix_hint(self.path)}")

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
