"""Paper scale: the official models and data, loaded from the hub or local directories, offline-aware.

- :data:`ICL_MODELS`: the five instruct LLMs of the v2 abstract / ``scripts/eval-script.sh`` (models 0-4).
- :data:`STITCH_MODELS`: the stitching menu of ``stitching-mid.py`` by tokenizer family (Pythia deduped, GPT-2,
  OPT). Stitching is only defined within a family: both halves read the same token ids
  (:func:`check_same_tokenizer`; the official code silently used the receiver's tokenizer for both halves).
- :func:`stitch_pairs`: every ordered (sender, receiver) pair within each family, receivers of every family
  included (the official code had no GPT-2 receiver branch; :func:`repro.hooks.decoder_layers`
  finds GPT-NeoX, GPT-2, OPT and Llama-like blocks).
- :func:`require_models`: resolve model names (hub ids or local directories) through :mod:`repro.models`; when one
  is not available offline, raise one line naming every missing model and the command that downloads it.
- :data:`FV_TASKS`: the function-vector data sets of ``eval-mid.py`` (V2-stitch-icl, :mod:`stitch_icl`).
- :func:`pile_texts`: documents of at least ``min_tokens`` tokens, truncated, from The Pile
  (``monology/pile-uncopyrighted`` for training the stitch, ``monology/pile-test-val`` for evaluation, as the
  official code) or from a local ``.jsonl``/``.txt`` file; offline failures are one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repro.figure import ReproError

ICL_MODELS = (
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Meta-Llama-3-8B-Instruct",
    "meta-llama/Llama-3.2-3B-Instruct",
    "google/gemma-2-2b-it",
    "google/gemma-2-9b-it",
)
# Fig. 4's paper-scale menu, within each tokenizer family: small -> large, large -> small and a self-stitch
PAPER_STITCH_PAIRS = (
    "EleutherAI/pythia-410m-deduped>EleutherAI/pythia-1.4b-deduped",
    "EleutherAI/pythia-1.4b-deduped>EleutherAI/pythia-410m-deduped",
    "EleutherAI/pythia-1.4b-deduped>EleutherAI/pythia-1.4b-deduped",
    "openai-community/gpt2-medium>openai-community/gpt2-large",
    "openai-community/gpt2-large>openai-community/gpt2-medium",
    "openai-community/gpt2-large>openai-community/gpt2-large",
    "facebook/opt-350m>facebook/opt-1.3b",
    "facebook/opt-1.3b>facebook/opt-350m",
    "facebook/opt-1.3b>facebook/opt-1.3b",
)
STITCH_MODELS = {
    "pythia": tuple(
        f"EleutherAI/pythia-{s}-deduped" for s in ("70m", "160m", "410m", "1.4b", "2.8b", "6.9b")
    ),
    "gpt2": (
        "openai-community/gpt2",
        "openai-community/gpt2-medium",
        "openai-community/gpt2-large",
        "openai-community/gpt2-xl",
    ),
    "opt": tuple(f"facebook/opt-{s}" for s in ("350m", "1.3b", "2.7b", "6.7b")),
}
# the function-vector data sets (github.com/ericwtodd/function_vectors, dataset_files/abstractive) eval-mid.py
# evaluates 10-shot (spec section 1.2)
FV_TASKS = (
    "english-french",
    "english-german",
    "english-spanish",
    "country-capital",
    "present-past",
    "singular-plural",
    "word_length",
    "person-sport",
    "product-company",
    "person-instrument",
    "person-occupation",
)
PILE_TRAIN = "monology/pile-uncopyrighted"
PILE_TEST = "monology/pile-test-val"


def stitch_pairs(families: tuple[str, ...] = tuple(STITCH_MODELS)) -> list[tuple[str, str]]:
    """Ordered (sender, receiver) pairs within each tokenizer family, self-stitches included (the control)."""
    out = []
    for fam in families:
        if fam not in STITCH_MODELS:
            raise ReproError(f"unknown model family {fam!r}; choose from {', '.join(STITCH_MODELS)}")
        out += [(a, b) for a in STITCH_MODELS[fam] for b in STITCH_MODELS[fam]]
    return out


def require_models(names: list[str] | tuple[str, ...]) -> dict[str, Path]:
    """Local directories of ``names``; one ReproError line naming every missing model and its download."""
    from repro.models import download_command, resolve_model_dir

    found, missing = {}, []
    for name in names:
        try:
            found[name] = resolve_model_dir(name)[0]
        except ReproError:
            missing.append(name)
    if missing:
        cmds = "; ".join(download_command(n) for n in missing)
        raise ReproError(
            f"{len(missing)} model(s) not available offline: {', '.join(missing)}; download: {cmds}"
        )
    return found


def check_same_tokenizer(a: Any, b: Any, names: tuple[str, str] = ("sender", "receiver")) -> None:
    """Stitching feeds one token stream to both halves: their vocabularies must agree."""
    if a.get_vocab() != b.get_vocab():
        raise ReproError(
            f"{names[0]} and {names[1]} tokenize differently; stitch within one tokenizer family "
            f"({', '.join(STITCH_MODELS)})"
        )


def pile_texts(
    source: str,
    tokenizer: Any,
    n_docs: int,
    min_tokens: int = 512,
    split: str = "train",
    seed: int = 42,
    shuffle_buffer: int = 20_000,
) -> list[list[int]]:
    """Token ids of ``n_docs`` documents with >= ``min_tokens`` tokens, truncated to ``min_tokens`` (official):
    :func:`repro.hub.token_documents` (a hub data set id, streamed and shuffled, or a local .jsonl / .txt file)."""
    from repro.hub import token_documents

    return token_documents(source, tokenizer, n_docs, min_tokens, split, seed, shuffle_buffer)
