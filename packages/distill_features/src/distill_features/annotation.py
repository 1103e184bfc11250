"""Annotating the most model-specific latents (fig9; spec F-h) and scoring the annotation against the generator's
ground truth.

Per size and variant, the ``top_n`` latents on each side by r (``side_latents``: distilled side the largest r, base
side the smallest) get their ``k`` top contexts over the evaluation windows (``analysis.top_contexts``), cut to the
last ``context_words`` words as the paper's ``feat_annotation.py`` sent them to gpt-4o-mini. A deterministic
rule-based labeller (``analysis.label_latents`` with ``word_category``; no language model is reachable here) reads
only those words and gives each latent a category (math / general text / uninterpretable) and an optional reasoning
type (the marker categories; the paper's "self-correction" is ``self_reflection``).

The ground truth (``ground_truth``, ``analysis.ground_truth_label``): the majority class, with at least ``min_share``
of them, at the latent's top ``k`` activations under the crosscoder's real, normalised encoding, from each
position's span and marker label (``truth_class``): inside a self-correction / alternative / contrast span the span's
type; else a deductive, alternative or contrastive marker token (also in prose, where the generator uses them in
that sense) its type; else "math" in a problem or trace span and "general text" in generic prose ("Wait" in prose is
only the verb). The category-level truth is math vs general text by span alone. ``accuracy`` scores the labels
against chance (``chance_accuracy``: labels permuted across latents, and always the most common truth).
``markdown`` writes the counts table and example contexts.

Variants (``CONTEXTS_OF_VARIANT``): ``official`` = the L1 crosscoder, r from L1 norms (defect 5), all latents ranked
(as the official code did; the L1 penalty drives many decoder rows exactly to 0, so r = 0 or 1 ties are broken by
latent index), top contexts scored by x_raw W_enc without b_enc before the ReLU (defects 3 and 5); ``fixed`` = the
BatchTopK crosscoder, r from L2 norms, only latents that fire on the evaluation windows, top contexts by the real
activations (``Crosscoder.encode``).
"""

from __future__ import annotations

from typing import Any

VARIANTS = ("official", "fixed")
SIDES = ("distilled", "base")
REASONING = ("self_reflection", "deductive", "alternative", "contrastive")
CATEGORIES = ("math", "general text", "uninterpretable")
# variant -> (how the top contexts are scored, the norm of r)
CONTEXTS_OF_VARIANT = {"official": ("raw_pre_no_bias", 1), "fixed": ("normalised", 2)}
MATH_WORDS = frozenset(("+", "-", "*", "=", "check", "Problem", "Answer", "<think>", "</think>"))
IGNORED_WORDS = frozenset((".", ",", ":"))
SPAN_TYPE = {"self_correction": "self_reflection", "alternative": "alternative", "contrast": "contrastive"}
PAPER_SIZES = ("1.5B", "7B", "14B")
PAPER_COUNTS = {  # (size, side) -> (math, general, types)
    ("1.5B", "distilled"): (95, 5, "6 self-correction, 2 deductive"),
    ("1.5B", "base"): (76, 24, "6 self-correction, 1 alternative, 1 deductive"),
    ("7B", "distilled"): (94, 6, "none"),
    ("7B", "base"): (87, 13, "none"),
}


def check_config(cfg: Any) -> None:
    """Validation of fig9's config."""
    if min(cfg.top_n, cfg.k, cfg.context_words) < 1 or cfg.examples < 0:
        raise ValueError("top_n, k and context_words must be >= 1 and examples >= 0")
    if not 0 < cfg.min_share <= 1:
        raise ValueError(f"min_share must be in (0, 1], got {cfg.min_share}")
    if not cfg.variants or not set(cfg.variants) <= set(VARIANTS):
        raise ValueError(f"variants must be a non-empty subset of {VARIANTS}")


# ----------------------------------------------------------------------------------------------- the labels
def word_category(word: str) -> str:
    """What the labeller reads a word as: a marker word's reasoning type, "math" for numbers, operators and the
    problem scaffolding, "" (ignored) for punctuation and special tokens, else "general text"."""
    from distill_features.language import MARKER_OF

    if word in MARKER_OF:
        return MARKER_OF[word]
    if word.isdigit() or word in MATH_WORDS:
        return "math"
    if word in IGNORED_WORDS or not word or (word.startswith("<") and word not in MATH_WORDS):
        return ""
    return "general text"


def truth_class(span: str, marker: str) -> str:
    """The generator's label of one position (see the module docstring)."""
    if span in SPAN_TYPE:
        return SPAN_TYPE[span]
    if marker in REASONING and marker != "self_reflection":
        return marker
    return truth_category(span)


def truth_category(span: str) -> str:
    """math (problems and traces) or general text (generic prose), by span alone."""
    return "general text" if span == "generic" else "math"


def side_latents(r: Any, candidates: Any, top_n: int) -> dict[str, Any]:
    """The ``top_n`` candidates with the largest r (distilled side) and the smallest (base side), NaN r skipped;
    fewer when there are under 2 x top_n candidates (the sides never share a latent)."""
    import numpy as np

    r = np.asarray(r, dtype=float)
    cand = np.asarray(candidates, dtype=int)
    cand = cand[~np.isnan(r[cand])]
    n = min(top_n, len(cand) // 2)
    order = cand[np.argsort(r[cand], kind="stable")]
    return {"distilled": order[::-1][:n], "base": order[:n]}


def label_side(windows: Any, token_category: list[str], left: int, min_share: float) -> dict[str, list[str]]:
    """The labeller's answers for latents' context windows: ``label`` (a reasoning type if one is found, else the
    category) and ``category`` (math / general text / uninterpretable alone)."""
    from distill_features import analysis

    def run(reasoning: tuple[str, ...]) -> list[str]:
        return analysis.label_latents(windows, token_category, reasoning, ("math", "general text"), left=left,
                                      pad=-1, min_share=min_share)  # fmt: skip

    return {"label": run(REASONING), "category": run(())}


def ground_truth(seq: Any, pos: Any, spans: Any, markers: Any, min_share: float) -> dict[str, list[str]]:
    """Per latent (rows of ``seq``/``pos`` [L, k], -1 = no activation): ``truth`` and ``truth_category``."""
    import numpy as np

    from distill_features import analysis
    from distill_features.language import MARKERS, SPANS

    out: dict[str, list[str]] = {"truth": [], "truth_category": []}
    for s_row, p_row in zip(np.asarray(seq), np.asarray(pos), strict=True):
        at = [
            (SPANS[spans[s, p]], MARKERS[markers[s, p]]) for s, p in zip(s_row, p_row, strict=True) if p >= 0
        ]
        out["truth"].append(analysis.ground_truth_label([truth_class(*a) for a in at], min_share=min_share))
        out["truth_category"].append(
            analysis.ground_truth_label([truth_category(a[0]) for a in at], min_share=min_share)
        )
    return out


def rows_to_grid(
    values: Any, sequences: Any, positions: Any, shape: tuple[int, int], fill: float = 0.0
) -> Any:
    """Per-row values [N, ...] placed at their (sequence, position) in a [S, T, ...] array (``fill`` elsewhere)."""
    import numpy as np

    v = np.asarray(values)
    grid = np.full((*shape, *v.shape[1:]), fill, dtype=v.dtype if v.dtype.kind == "f" else np.float64)
    grid[np.asarray(sequences, dtype=int), np.asarray(positions, dtype=int)] = v
    return grid


def chance_accuracy(predicted: list[str], ground_truth: list[str]) -> dict[str, float]:
    """Chance levels for ``analysis.labelling_accuracy``: ``permutation`` = the expected accuracy when the
    predicted labels are shuffled across latents (sum over classes of p_pred(c) p_truth(c)); ``majority`` = the
    accuracy of always answering the most common true class."""
    from collections import Counter

    n = len(ground_truth)
    if len(predicted) != n:
        raise ValueError(f"{len(predicted)} predictions for {n} ground-truth labels")
    if n == 0:
        return {"permutation": float("nan"), "majority": float("nan")}
    p, t = Counter(predicted), Counter(ground_truth)
    return {"permutation": float(sum(p[c] * t[c] for c in t) / n**2), "majority": float(max(t.values()) / n)}


# ----------------------------------------------------------------------------------------------- compute
def annotate(st: Any, cfg: Any) -> dict[str, Any]:
    """Fig9's computation on a setup (``latents_setup.LatentsSetup``): per size, variant and side, the top latents
    by r, their top contexts, the rule labeller's labels and the generator's ground truth."""
    import numpy as np
    import torch

    from distill_features import analysis, controls
    from distill_features.latent_selection import latent_activations

    torch.set_num_threads(1)
    ev = controls.prepare(st, cfg.untrained_crosscoder)
    vocab = [
        "<pad>",
        "<eos>",
        *st.vocab,
    ]  # token ids: pad 0, EOS 1, then the language (no transformers import)
    token_category = [word_category(w) for w in vocab]
    tokens = st.eval_ids.numpy()
    shape = tokens.shape
    left = cfg.context_words - 1
    out: dict[str, Any] = {"size_order": list(st.size_order), "vocab": list(vocab), "left": left, "sizes": {}}
    out["crosscoder_ev"] = ev
    for size in st.size_order:
        s = st.sizes[size]
        row_mask = rows_to_grid(np.ones(len(s.eval_acts)), s.eval_sequences, s.eval_positions, shape)
        out["sizes"][size] = {}
        for v in cfg.variants:
            cc = s.crosscoders[v]
            mode, p = CONTEXTS_OF_VARIANT[v]
            r = analysis.relative_decoder_norm(cc.W_dec, p=p)
            real = latent_activations(cc, s.eval_acts, "normalised")
            scores = real if mode == "normalised" else latent_activations(cc, s.eval_acts, mode)
            candidates = np.arange(len(r)) if v == "official" else np.flatnonzero((real > 0).any(0))
            res = {}
            for side, lat in side_latents(r, candidates, cfg.top_n).items():
                ctx, tru = (
                    analysis.top_contexts(
                        rows_to_grid(a[:, lat], s.eval_sequences, s.eval_positions, shape),
                        tokens, cfg.k, left=left, right=0, mask=row_mask,
                    )
                    for a in (scores, real)
                )  # fmt: skip
                res[side] = {
                    "latents": lat, "r": r[lat], "windows": ctx["windows"], "values": ctx["value"],
                    **label_side(ctx["windows"], token_category, left, cfg.min_share),
                    **ground_truth(tru["seq"], tru["pos"], st.eval_spans, st.eval_markers, cfg.min_share),
                }  # fmt: skip
            out["sizes"][size][v] = res
    return out


# ----------------------------------------------------------------------------------------------- summaries
def result_variants(result: dict[str, Any]) -> list[str]:
    """The variants the result holds, in ``VARIANTS`` order."""
    return [v for v in VARIANTS if v in result["sizes"][result["size_order"][0]]]


def side_counts(side: dict[str, Any]) -> dict[str, Any]:
    """Category counts, reasoning-type counts and the number of latents of one side."""
    from collections import Counter

    cat, lab = Counter(side["category"]), Counter(side["label"])
    return {"n": len(side["label"]), **{c: cat[c] for c in CATEGORIES}, **{t: lab[t] for t in REASONING}}


def accuracy(
    result: dict[str, Any], v: str, sizes: list[str] | None = None, level: str = "label"
) -> dict[str, Any]:
    """Labelling accuracy of ``level`` ("label" or "category") pooled over sides and ``sizes``, with chance."""
    from distill_features import analysis

    truth_key = "truth" if level == "label" else "truth_category"
    pred, truth = [], []
    for size in sizes or result["size_order"]:
        for side in SIDES:
            q = result["sizes"][size][v][side]
            pred += list(q[level])
            truth += list(q[truth_key])
    acc = analysis.labelling_accuracy(pred, truth)
    return {**acc, **chance_accuracy(pred, truth)}


# ----------------------------------------------------------------------------------------------- the table
def is_math(result: dict[str, Any], size: str, v: str, side: str) -> Any:
    """1.0 per latent of that side labelled math, else 0.0."""
    import numpy as np

    return np.array([c == "math" for c in result["sizes"][size][v][side]["category"]], float)


def hits(result: dict[str, Any], v: str, level: str) -> Any:
    """1.0 per labelled latent (all sizes and sides) whose ``level`` label ("label" or "category") is the truth."""
    import numpy as np

    truth_key = "truth" if level == "label" else "truth_category"
    return np.array([p == t for n in result["size_order"] for side in SIDES
                     for p, t in zip(result["sizes"][n][v][side][level], result["sizes"][n][v][side][truth_key],
                                     strict=True)], float)  # fmt: skip


def _decode(window: Any, vocab: list[str], left: int) -> str:
    words = []
    for i, t in enumerate(window):
        if t < 0:
            continue
        w = vocab[int(t)].replace("|", "\\|").replace("*", "\\*").replace("<", "&lt;").replace(">", "&gt;")
        words.append(f"**{w}**" if i == left else w)
    return " ".join(words)


def markdown(result: dict[str, Any], cfg: Any) -> str:
    """The counts table (with the paper's) and example contexts, as Markdown."""
    names = result["size_order"]
    lines = ["# Annotation of the most model-specific latents (fig9)", "",
             f"Top {cfg.top_n} latents per side by r; rule-based labels from the last {cfg.context_words} words of "
             f"{cfg.k} top contexts; truth from the generator's span/marker labels at the top activations.", "",
             "| variant | size | side | n | math | general text | uninterpretable | types (labeller) | "
             "label accuracy | paper (math / general; types) |", "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for v in result_variants(result):
        for i, size in enumerate(names):
            for side in SIDES:
                q = result["sizes"][size][v][side]
                c = side_counts(q)
                types = ", ".join(f"{c[t]} {t}" for t in REASONING if c[t]) or "none"
                acc = sum(a == b for a, b in zip(q["label"], q["truth"], strict=True)) / max(1, c["n"])
                paper = PAPER_COUNTS.get((PAPER_SIZES[i], side)) if i < len(PAPER_SIZES) else None
                paper_txt = f"{paper[0]} / {paper[1]}; {paper[2]}" if paper else ""
                lines.append(f"| {v} | {size} | {side} | {c['n']} | {c['math']} | {c['general text']} | "
                             f"{c['uninterpretable']} | {types} | {acc:.2f} | {paper_txt} |")  # fmt: skip
    for v in result_variants(result):
        a, ac = accuracy(result, v), accuracy(result, v, level="category")
        lines += ["", f"**{v}**: label accuracy {a['accuracy']:.2f} over {a['n']} latents (chance: permuted "
                  f"{a['permutation']:.2f}, majority {a['majority']:.2f}); category accuracy {ac['accuracy']:.2f} "
                  f"(chance {ac['permutation']:.2f} / {ac['majority']:.2f})."]  # fmt: skip
    lines += ["", "## Example contexts (activating word in bold)", "",
              "| variant | size | side | latent | r | label | truth | top contexts |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for v in result_variants(result):
        for size in names:
            for side in SIDES:
                q = result["sizes"][size][v][side]
                for j in range(min(cfg.examples, len(q["label"]))):
                    ctx = " / ".join(_decode(w, result["vocab"], result["left"]) for w in q["windows"][j][:2]
                                     if w[result["left"]] >= 0) or "(never active)"  # fmt: skip
                    lines.append(f"| {v} | {size} | {side} | {int(q['latents'][j])} | {float(q['r'][j]):.3f} | "
                                 f"{q['label'][j]} | {q['truth'][j]} | {ctx} |")  # fmt: skip
    return "\n".join(lines) + "\n"
