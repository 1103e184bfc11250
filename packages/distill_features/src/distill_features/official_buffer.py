"""The official crosscoder buffer, defects included (spec section 4, defects 1 and 2), over a harvested cache.

deepseek-diff trains with ckkissane's ``Buffer`` (``crosscoder_diff/buffer.py``). With the official config
(``batch_size`` 1024, ``buffer_mult`` 128, ``seq_len`` 4096, ``model_batch_size`` 4) it behaves as follows:

- its size is ``buffer_batches * (seq_len - 1)`` rows with ``buffer_batches = batch_size * buffer_mult // (seq_len - 1)``
  = 32 sequences, zero-initialised;
- the first fill runs the models on ``all_tokens[0:32]``: sequences of 2048 tokens, BOS dropped, so 32 x 2047 rows are
  written and the other half of the buffer stays **zero** (defect 2: ``seq_len`` 4096 against 2048-token sequences);
- the buffer is permuted; ``next()`` returns the next ``batch_size`` rows; once the pointer passes half the buffer it
  "refreshes": the slice ``all_tokens[token_pointer : min(token_pointer + 4, num_batches)]`` with ``token_pointer``
  >= 32 and ``num_batches`` = 16 is empty, so nothing new is written (defect 1), and the whole buffer is permuted
  again. Every later batch is drawn from the same 32 sequences and their zero rows.

:class:`OfficialBuffer` replays exactly this on a ``repro.activation_cache.ActivationCache``: the rows of the cache's
first ``n_sequences`` sequences (the official 32) fill a zero buffer of ``n_sequences * (seq_len_factor * L - 1)`` rows,
``L`` the harvested sequence length and ``seq_len_factor`` the configured / actual length ratio (official 2); then
permute, slice, re-permute after each half. The miniature keeps the official sequence count and length ratio (so
about half of every batch is zero and the data are the first 32 windows), not the official 131k-row size, which
would exceed the whole quick cache. It duck-types ``ActivationReader`` (``cache``, ``normalise``, ``forever()``)
for ``crosscoder.train_crosscoder``; zero rows carry token and row -1. Normalisation uses the cache's scales over all
its rows (the official estimate, over 400 sequences including position 0, is not reproduced).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

OFFICIAL_SEQUENCES = 32  # buffer_batches: 1024 * 128 // (4096 - 1)
OFFICIAL_SEQ_LEN_FACTOR = 2  # seq_len 4096 configured, 2048-token sequences


@dataclass(frozen=True)
class BufferStats:
    """What the official buffer trains on: unique rows, buffer rows, the zero share and passes per unique row."""

    unique_rows: int
    buffer_rows: int
    zero_fraction: float
    visits_per_row: float

    @classmethod
    def every_row(cls, n_rows: int, steps: int, batch_size: int) -> BufferStats:
        """The same numbers for the correct reader (``ActivationReader``): every one of ``n_rows`` rows, no zeros."""
        return cls(n_rows, n_rows, 0.0, steps * batch_size / n_rows)


def first_sequences_rows(cache: Any, n_sequences: int, chunk: int = 1 << 16) -> np.ndarray:
    """Rows of the cache's sequences 0..n_sequences-1. Harvesting writes sequences in order, so the rows are read
    chunk by chunk from the start and the scan stops at the first later sequence (a paper-scale cache holds ~82M
    rows); a cache not in sequence order is scanned whole."""
    from repro.activation_cache import SEQUENCES_KEY

    rows: list[np.ndarray] = []
    last = -1
    for start in range(0, cache.n_rows, chunk):
        idx = np.arange(start, min(start + chunk, cache.n_rows))
        seqs = cache.gather(SEQUENCES_KEY, idx)
        if seqs[0] < last or np.any(np.diff(seqs) < 0):  # not in order: the whole scan
            every = np.arange(cache.n_rows)
            return every[cache.gather(SEQUENCES_KEY, every) < n_sequences]
        rows.append(idx[seqs < n_sequences])
        last = int(seqs[-1])
        if last >= n_sequences:
            break
    return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)


class OfficialBuffer:
    """Batches as the official (defective) buffer yields them, from an ``ActivationCache`` (see the module doc)."""

    def __init__(
        self,
        cache: Any,
        batch_size: int,
        *,
        normalise: bool = True,
        n_sequences: int = OFFICIAL_SEQUENCES,
        seq_len_factor: int = OFFICIAL_SEQ_LEN_FACTOR,
        seq_len: int | None = None,
        seed: int = 0,
        device: str = "cpu",
    ):
        import torch

        from repro.activation_cache import TOKENS_KEY

        if batch_size < 1 or n_sequences < 1 or seq_len_factor < 1:
            raise ValueError("batch_size, n_sequences and seq_len_factor must be >= 1")
        self.cache, self.batch_size, self.normalise, self.device = cache, batch_size, normalise, device
        filled = first_sequences_rows(cache, n_sequences)  # the first fill: the first n_sequences sequences
        if seq_len is None:  # the harvested length: the longest sequence's rows plus the dropped positions
            seq_len = int(cache.gather("positions", filled).max()) + 1
        self.buffer_rows = n_sequences * (seq_len_factor * seq_len - 1)
        if self.buffer_rows // 2 <= batch_size:
            raise ValueError(f"a buffer of {self.buffer_rows} rows cannot serve batches of {batch_size}")
        self.filled_rows = min(len(filled), self.buffer_rows)
        filled = filled[: self.filled_rows]
        self.acts: dict[str, Any] = {}
        for k in cache.keys:
            x = torch.from_numpy(cache.gather(k, filled).astype(np.float32))
            if normalise:
                x = x * cache.scale(k)
            buf = torch.zeros((self.buffer_rows, x.shape[1]), dtype=torch.float32)
            buf[: len(x)] = x
            self.acts[k] = buf
        self.tokens = torch.full((self.buffer_rows,), -1, dtype=torch.long)
        self.tokens[: self.filled_rows] = torch.from_numpy(cache.gather(TOKENS_KEY, filled).astype(np.int64))
        self.rows = torch.full((self.buffer_rows,), -1, dtype=torch.long)
        self.rows[: self.filled_rows] = torch.from_numpy(filled)
        self.generator = torch.Generator().manual_seed(seed)

    def stats(self, steps: int) -> BufferStats:
        """The buffer's make-up, and how often each unique row is seen in ``steps`` batches."""
        return BufferStats(
            unique_rows=self.filled_rows,
            buffer_rows=self.buffer_rows,
            zero_fraction=1.0 - self.filled_rows / self.buffer_rows,
            visits_per_row=steps * self.batch_size / self.buffer_rows,
        )

    def forever(self) -> Iterator[Any]:
        """``ActivationBatch``es: permute, slice until the pointer passes half the buffer, permute again."""
        import torch

        from repro.activation_cache import ActivationBatch

        B, half = self.batch_size, self.buffer_rows // 2
        while True:  # each pass is one (empty) "refresh": the same rows, newly permuted
            perm = torch.randperm(self.buffer_rows, generator=self.generator)
            pointer = 0
            while True:
                idx = perm[pointer : pointer + B]
                pointer += B
                acts = {k: v[idx].to(self.device) for k, v in self.acts.items()}
                yield ActivationBatch(acts, self.tokens[idx].to(self.device), self.rows[idx].to(self.device))
                if pointer > half - B:
                    break
