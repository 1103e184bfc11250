"""Feature geometry (spec F-g): how close a task's word pairs come to parallelograms, in each model.

For word pairs (a_i, b_i) of one task (english -> spanish, singular -> plural, ...) with representations a_i, b_i,
the official ``src/parallelogram.py`` projects every word on n_comp principal components and scores every pair of
pairs (i, j) with

    loss_ij = ||a_i - b_i - a_j + b_j|| / sqrt(||a_i||^2 + ||b_i||^2 + ||a_j||^2 + ||b_j||^2)

(0 for a perfect parallelogram; the denominator makes it scale-free). Two projections:
- ``basis="separate"`` (official): PCA fitted per model on that model's words, so the two models' scores come from
  different subspaces;
- ``basis="shared"`` (fixed): each model's words are centred on their own mean, then one PCA is fitted on both
  models' words together and both are scored in that basis.
PCA is ``repro.pca`` (mean-centred, float64). Statistics: the loss matrix of P pairs has P(P-1)/2 entries that are
not independent (each pair appears in P-1 of them; defect 6), so medians get percentile-bootstrap CIs that
resample *word pairs*; a resample's score is the median over the pairs of distinct drawn word pairs (a pair drawn
twice scores 0 against itself, and is left out). Base and distilled are bootstrapped with the same resamples, so
the CI of their difference is paired.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from repro.pca import pca

BASES = ("separate", "shared")


def parallelogram_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[P, P] loss of every pair of word pairs from coordinates a, b [P, k] (NaN on the diagonal; symmetric)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    diff = a - b
    num = np.linalg.norm(diff[:, None, :] - diff[None, :, :], axis=-1)
    sq = (a**2).sum(1) + (b**2).sum(1)
    den = np.sqrt(sq[:, None] + sq[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = num / den
    np.fill_diagonal(loss, np.nan)
    return loss


def pair_values(loss: np.ndarray) -> np.ndarray:
    """The P(P-1)/2 losses of distinct pairs of word pairs (upper triangle)."""
    i, j = np.triu_indices(len(loss), k=1)
    return loss[i, j]


def project_pairs(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]], n_comp: int, basis: str = "separate"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Project each model's (a [P, d], b [P, d]) on ``n_comp`` principal components: fitted per model
    ("separate", official) or on all models' own-mean-centred words at once ("shared")."""
    if basis not in BASES:
        raise ValueError(f"basis {basis!r} is not one of {BASES}")
    if n_comp < 1:
        raise ValueError(f"n_comp must be >= 1, got {n_comp}")
    stacked = [np.concatenate([np.asarray(a, np.float64), np.asarray(b, np.float64)]) for a, b in pairs]
    P = [len(a) for a, _ in pairs]
    if basis == "separate":
        coords = [pca(s, n_comp)[0] for s in stacked]
    else:
        if len({s.shape[1] for s in stacked}) != 1:
            raise ValueError("a shared basis needs the same width in every model")
        joint = pca(np.concatenate([s - s.mean(0) for s in stacked]), n_comp)[0]
        coords = np.split(joint, np.cumsum([len(s) for s in stacked])[:-1])
    return [(c[:p], c[p:]) for c, p in zip(coords, P, strict=True)]


def parallelogram_losses(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]], n_comp: int, basis: str = "separate"
) -> list[np.ndarray]:
    """Loss matrices [P, P], one per model, after :func:`project_pairs`."""
    return [parallelogram_matrix(a, b) for a, b in project_pairs(pairs, n_comp, basis)]


def bootstrap_medians(
    losses: Sequence[np.ndarray], n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, np.ndarray]:
    """Median loss per model with a percentile-bootstrap CI over word pairs (the same resamples for every model),
    and, for two models, the paired difference (model 1 - model 0) with its CI.

    Returns ``median``, ``lo``, ``hi`` [M]; with two models also ``diff``, ``diff_lo``, ``diff_hi``."""
    mats = [np.asarray(m, np.float64) for m in losses]
    P = len(mats[0])
    if any(m.shape != (P, P) for m in mats):
        raise ValueError("every model's loss matrix must be [P, P] over the same word pairs")
    if P < 2:
        raise ValueError("need at least two word pairs")
    iu, ju = np.triu_indices(P, k=1)
    rng = np.random.default_rng(seed)
    boots = np.empty((n_boot, len(mats)))
    for n in range(n_boot):
        s = rng.integers(0, P, P)
        keep = s[iu] != s[ju]  # a word pair drawn twice is not a pair of pairs
        for m, mat in enumerate(mats):
            boots[n, m] = np.nanmedian(mat[s[iu[keep]], s[ju[keep]]]) if keep.any() else np.nan
    q = [(1 - level) / 2, (1 + level) / 2]
    out: dict[str, np.ndarray] = {"median": np.array([np.nanmedian(pair_values(m)) for m in mats])}
    out["lo"], out["hi"] = np.nanquantile(boots, q, axis=0)
    if len(mats) == 2:
        out["diff"] = np.asarray(out["median"][1] - out["median"][0])
        out["diff_lo"], out["diff_hi"] = np.nanquantile(boots[:, 1] - boots[:, 0], q)
    return out


# ----------------------------------------------------------------------------------------------- representations
def single_token_pairs(
    tasks: Mapping[str, Sequence[tuple[str, str]]], tokenizer: Any
) -> dict[str, list[tuple[str, str]]]:
    """Each task's word pairs whose two words are each exactly one known token (the official filter; an unknown
    word maps to the pad id in ``repro.lm_train``'s word tokenizer, so it counts as not a token)."""

    def one_token(word: str) -> bool:
        ids = tokenizer.encode(word, add_special_tokens=False)
        return len(ids) == 1 and ids[0] != tokenizer.pad_token_id

    return {
        task: [(a, b) for a, b in pairs if one_token(a) and one_token(b)] for task, pairs in tasks.items()
    }


def resid_pre_at(model: Any, layer: int, ids: Any, mask: Any, positions: Any) -> np.ndarray:
    """``blocks.{layer}.hook_resid_pre`` of sequence n at position ``positions[n]`` [N, d] (float64), from one
    batched forward of right-padded ``ids``/``mask`` [N, T] (causal, so the padding after a position never
    reaches it)."""
    import torch

    from repro.hooks import edit_resid_pre

    ids, mask = torch.as_tensor(ids), torch.as_tensor(mask)
    rows = torch.arange(len(ids))
    pos = torch.as_tensor(np.asarray(positions), dtype=torch.long)
    if pos.shape != rows.shape or (pos < 0).any() or (pos >= ids.shape[1]).any():
        raise ValueError(f"need one position in [0, {ids.shape[1]}) per sequence")
    if not bool(mask[rows, pos].all()):
        raise ValueError("a requested position is padding")
    seen: list[torch.Tensor] = []

    def record(x: torch.Tensor) -> torch.Tensor:
        seen.append(x[rows.to(x.device), pos.to(x.device)].detach())
        return x

    device = next(model.parameters()).device
    with torch.no_grad(), edit_resid_pre(model, layer, record):
        model(input_ids=ids.to(device), attention_mask=mask.to(device))
    return seen[0].to("cpu", torch.float64).numpy()


def word_representations(
    model: Any, layer: int, tokenizer: Any, words: Sequence[str], context: Callable[[str], str] | None = None
) -> np.ndarray:
    """Each word's residual stream entering block ``layer`` [N, d].

    ``context=None`` (official): the word runs alone, no BOS, and its activation at position 0 is taken;
    otherwise the word ends ``context(word)``, which is run after the EOS/BOS token every training document
    follows, and the activation at the word's position is taken."""
    import torch

    texts = list(words) if context is None else [context(w) for w in words]
    bos = [] if context is None else [tokenizer.bos_token_id]
    enc = [bos + tokenizer.encode(t, add_special_tokens=False) for t in texts]
    for w, e in zip(words, enc, strict=True):
        if tokenizer.encode(w, add_special_tokens=False) != e[-1:]:
            raise ValueError(f"{w!r} is not the single last token of its sequence {e}")
    T = max(len(e) for e in enc)
    ids = torch.full((len(enc), T), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros(len(enc), T, dtype=torch.long)
    for i, e in enumerate(enc):
        ids[i, : len(e)], mask[i, : len(e)] = torch.tensor(e), 1
    return resid_pre_at(model, layer, ids, mask, [len(e) - 1 for e in enc])


def top_variance_share(x: np.ndarray, k: int = 2) -> float:
    """Share of the variance of the rows of ``x`` on their top ``k`` principal components (the paper's red flag:
    near 1 means the words differ in about ``k`` directions, as with position-0 massive activations)."""
    from repro.pca import explained_variance_ratio

    return float(np.nansum(explained_variance_ratio(x)[:k]))
