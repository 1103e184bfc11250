"""What the analysis figures work on, built from the two stage results (``stages.ZOO`` and ``stages.CROSSCODERS``)
a figure receives, so no figure retrains a model or a crosscoder.

``from_results(zoo, crosscoders)`` returns a :class:`LatentsSetup`: the tokenizer, each size's base / distilled
pair, the evaluation windows with the generator's span and marker labels, and per size the harvested evaluation
activations (raw units) and the trained crosscoders by variant (``official`` = the paper's L1 crosscoder,
``fixed`` = BatchTopK), for one replicate of the zoo and its crosscoders. ``replicates.py`` runs an analysis on every
replicate and merges a figure's claims over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

PAPER_SIZES = (
    "1.5B",
    "7B",
    "14B",
)  # the paper's pairs, mapped by rank onto the zoo: smallest, middle, largest


def zoo_size(size_order: list[str], size: str) -> str:
    """The zoo size a figure analyses: a zoo name (``d64``) as is, or the paper's pair mapped by rank (``1.5B`` ->
    the smallest width, ``7B`` -> the middle one, ``14B`` -> the largest), so each panel runs on the size the paper
    used for it."""
    if size in size_order:
        return size
    if size in PAPER_SIZES:
        return size_order[(0, len(size_order) // 2, len(size_order) - 1)[PAPER_SIZES.index(size)]]
    raise ValueError(f"size {size!r} is neither a zoo size {size_order} nor a paper size {PAPER_SIZES}")


@dataclass
class SizeSetup:
    name: str
    d_model: int
    layer: int  # the crosscoder reads blocks.{layer}.hook_resid_pre
    eval_acts: np.ndarray  # [N, 2, d] raw activations at the evaluation rows
    eval_sequences: np.ndarray  # [N] window index of each row
    eval_positions: np.ndarray  # [N] position of each row in its window
    crosscoders: dict[str, Any] = field(default_factory=dict)  # variant -> Crosscoder
    result: dict[str, Any] = field(default_factory=dict)  # this size's part of the crosscoders result

    zoo: dict[str, Any] = field(default_factory=dict, repr=False)
    replicate: int = 0  # which replicate of the zoo (and its crosscoders) this is
    _pair: Any = field(default=None, repr=False)

    @property
    def hook(self) -> str:
        return f"blocks.{self.layer}.hook_resid_pre"

    @property
    def pair(self) -> Any:
        """The base / distilled ``pairs.Pair``, rebuilt on first use (importing transformers costs seconds, and
        figures that read only activations and crosscoders never need it)."""
        if self._pair is None:
            from distill_features.pairs import Pair, PairConfig, model_from_arrays
            from distill_features.zoo import replicate_sizes

            r = replicate_sizes(self.zoo)[self.replicate][self.name]
            cfg, vocab_size = PairConfig(**r["config"]), len(self.zoo["vocab"]) + 2  # + pad, EOS
            base, distilled = (
                model_from_arrays(cfg, vocab_size, r[k]) for k in ("base_weights", "distilled_weights")
            )
            self._pair = Pair(cfg, base, distilled, list(r["base_curve"]), list(r["distill_curve"]))
        return self._pair


@dataclass
class LatentsSetup:
    size_order: list[str]
    sizes: dict[str, SizeSetup]
    eval_ids: torch.Tensor  # [W, T] evaluation windows
    eval_mask: torch.Tensor
    eval_spans: np.ndarray  # [W, T] index into language.SPANS
    eval_markers: np.ndarray  # [W, T] index into language.MARKERS
    zoo: dict[str, Any]  # the zoo stage's result
    crosscoders: dict[str, Any]  # the crosscoders stage's result
    _tokenizer: Any = field(default=None, repr=False)

    @property
    def vocab(self) -> list[str]:
        """Every word of the language; token id = index + 2 (after pad and EOS)."""
        return list(self.zoo["vocab"])

    @property
    def tokenizer(self) -> Any:
        """The language's word tokenizer (built on first use: it imports transformers)."""
        if self._tokenizer is None:
            from repro.lm_train import build_word_tokenizer

            self._tokenizer = build_word_tokenizer(self.vocab)
        return self._tokenizer

    def row_markers(self, size: str) -> np.ndarray:
        """Marker category index of each evaluation row of ``size``."""
        s = self.sizes[size]
        return self.eval_markers[s.eval_sequences, s.eval_positions]

    def row_spans(self, size: str) -> np.ndarray:
        s = self.sizes[size]
        return self.eval_spans[s.eval_sequences, s.eval_positions]


def from_results(zoo: dict[str, Any], crosscoders: dict[str, Any], replicate: int = 0) -> LatentsSetup:
    """The setup of replicate ``replicate`` of the two stage results (the crosscoders trained on that zoo)."""
    from distill_features.zoo import replicate_sizes
    from distill_features.zoo_crosscoders import crosscoder_from_arrays

    ev = crosscoders["eval"]
    sizes = {}
    for name in crosscoders["size_order"]:
        r = replicate_sizes(crosscoders)[replicate][name]
        sizes[name] = SizeSetup(
            name=name,
            d_model=int(r["d_model"]),
            layer=int(r["layer"]),
            zoo=zoo,
            replicate=replicate,
            eval_acts=np.asarray(r["eval_acts"]),
            eval_sequences=np.asarray(r["eval_sequences"]),
            eval_positions=np.asarray(r["eval_positions"]),
            crosscoders={v: crosscoder_from_arrays(r["variants"][v]["crosscoder"]) for v in r["variants"]},
            result=r,
        )
    return LatentsSetup(
        list(crosscoders["size_order"]),
        sizes,
        torch.as_tensor(np.asarray(ev["ids"])),
        torch.as_tensor(np.asarray(ev["mask"])),
        np.asarray(ev["spans"]),
        np.asarray(ev["markers"]),
        zoo,
        crosscoders,
    )
