"""The pieces of figs 3, 4 and 9: latent activations the correct and the official way, the count rule against the
precision selection, density counts, side selection by r, the token/truth category maps, the labeller on planted
contexts scored against the generator's truth, chance levels, and the Markdown rendering."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from distill_features import analysis, annotation, latent_selection
from distill_features.crosscoder import Crosscoder, CrosscoderConfig
from distill_features.language import MARKERS, SPANS

torch.set_num_threads(1)


def test_latent_activations_modes():
    cc = Crosscoder(CrosscoderConfig(d_model=4, dict_size=6, seed=1))
    with torch.no_grad():
        cc.b_enc.copy_(torch.linspace(-0.5, 0.5, 6))
    cc.set_scales([10.0, 20.0])
    x = torch.randn(5, 2, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        correct = cc.encode(x).numpy()
        manual_pre = torch.einsum("bmd,mdf->bf", x, cc.W_enc).numpy()
    assert latent_selection.latent_activations(cc, x, "normalised") == pytest.approx(correct, abs=1e-6)
    # official: raw activations into W_enc (no scaling), ReLU with b_enc
    raw = latent_selection.latent_activations(cc, x, "raw", batch_size=2)
    assert raw == pytest.approx(np.maximum(manual_pre + cc.b_enc.detach().numpy(), 0), abs=1e-6)
    assert not np.allclose(raw, correct)
    # official max-activating score: pre-ReLU, without b_enc
    pre = latent_selection.latent_activations(cc, x, "raw_pre_no_bias")
    assert pre == pytest.approx(manual_pre, abs=1e-6)
    assert (pre < 0).any()
    assert latent_selection.latent_activations(cc, x[:0]).shape == (0, 6)
    with pytest.raises(ValueError, match="mode"):
        latent_selection.latent_activations(cc, x, "bogus")


def test_rows_to_grid():
    g = annotation.rows_to_grid(np.array([[1.0, 2.0], [3.0, 4.0]]), [0, 1], [2, 0], (2, 3), fill=-1.0)
    assert g.shape == (2, 3, 2)
    assert g[0, 2].tolist() == [1.0, 2.0] and g[1, 0].tolist() == [3.0, 4.0]
    assert g[0, 0].tolist() == [-1.0, -1.0]


def _planted_markers(n: int = 400, seed: int = 0):
    """Rows labelled with marker indices; latent 0 fires everywhere (dense), latent 1 only on Wait, latent 2 on
    half of the Waits and a few others, latent 3 never."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(MARKERS), size=n, p=[0.8, 0.05, 0.05, 0.05, 0.05])
    wait = labels == MARKERS.index("self_reflection")
    acts = np.zeros((n, 4))
    acts[:, 0] = 1.0
    acts[wait, 1] = 2.0
    acts[np.flatnonzero(wait)[::2], 2] = 1.0
    acts[np.flatnonzero(~wait)[:3], 2] = 1.0
    return acts, labels, wait


def test_count_rule_selects_dense_latents_precision_does_not():
    acts, labels, wait = _planted_markers()
    sel = latent_selection.marker_selection(acts, labels, select_frac=0.1, precision_min=0.3, rate_min=0.1)
    c = MARKERS.index("self_reflection")
    assert sel["selected"][c].tolist() == [True, True, True, False]  # the dense latent passes the count rule
    assert sel["precision_selected"][c].tolist() == [False, True, True, False]
    assert sel["density"].tolist() == pytest.approx([1.0, wait.mean(), acts[:, 2].mean(), 0.0])
    d = latent_selection.density_stats(sel, c)
    assert d == {"fire_once": 3, "pass_cut": 3, "every": 2, "dict": 4, "n_tokens": int(wait.sum())}
    assert latent_selection.extreme_counts([0.05, 0.5, 0.95, 0.97, np.nan], 0.1) == (1, 2)


def test_selected_by_precision_thresholds():
    e = {"precision": np.array([[0.5, 0.2, np.nan]]), "rate": np.array([[0.05, 0.9, 0.0]]),
         "count": np.array([[1, 9, 0]])}  # fmt: skip
    assert latent_selection.selected_by_precision(e, 0.3, 0.0).tolist() == [[True, False, False]]
    assert latent_selection.selected_by_precision(e, 0.3, 0.1).tolist() == [[False, False, False]]
    assert latent_selection.selected_by_precision(e, 0.1, 0.1).tolist() == [[False, True, False]]


def test_chance_accuracy():
    ch = annotation.chance_accuracy(["a", "a", "b", "b"], ["a", "a", "a", "b"])
    assert ch["permutation"] == pytest.approx(0.5 * 0.75 + 0.5 * 0.25)
    assert ch["majority"] == pytest.approx(0.75)
    assert np.isnan(annotation.chance_accuracy([], [])["permutation"])
    with pytest.raises(ValueError):
        annotation.chance_accuracy(["a"], [])


def test_side_latents():
    r = np.array([0.5, 0.9, 0.1, np.nan, 0.95, 0.3])
    s = annotation.side_latents(r, np.arange(6), 2)
    assert s["distilled"].tolist() == [4, 1] and s["base"].tolist() == [2, 5]
    s = annotation.side_latents(r, [0, 1, 2], 5)  # 3 candidates: one per side, never shared
    assert s["distilled"].tolist() == [1] and s["base"].tolist() == [2]


def test_word_and_truth_categories():
    assert [annotation.word_category(w) for w in ("Wait", "Thus", "But", "Alternatively", "12", "*", "Problem",
                                            "</think>", ".", ":", "<pad>", "apples", "Tom")] == [
        "self_reflection", "deductive", "contrastive", "alternative", "math", "math", "math", "math", "", "", "",
        "general text", "general text"]  # fmt: skip
    assert annotation.truth_class("self_correction", "none") == "self_reflection"
    assert annotation.truth_class("contrast", "contrastive") == "contrastive"
    assert annotation.truth_class("deduction", "deductive") == "deductive"  # "Therefore" opening a step
    assert annotation.truth_class("deduction", "none") == "math"
    assert annotation.truth_class("generic", "contrastive") == "contrastive"  # "But" in prose keeps its sense
    assert annotation.truth_class("generic", "self_reflection") == "general text"  # "Wait for Bob": the verb
    assert (
        annotation.truth_category("verification") == "math"
        and annotation.truth_category("generic") == "general text"
    )


def test_labels_scored_against_generator_truth():
    """Two planted latents over two windows: one fires right after "Wait" in self-correction spans, one on
    names in prose; the labeller and the truth agree on both, and a mislabelled prediction is caught."""
    vocab = ["<pad>", "Tom", "has", "3", "=", "Wait", ",", "4", "."]
    cats = [annotation.word_category(w) for w in vocab]
    tokens = np.array([[1, 2, 3, 8, 1, 2, 3, 8], [3, 4, 3, 5, 6, 3, 4, 7]])  # prose; "3 = 3 Wait , 3 = 4"
    span = np.full(tokens.shape, SPANS.index("generic"))
    span[1] = SPANS.index("self_correction")
    marker = np.zeros(tokens.shape, dtype=int)
    marker[1, 3] = MARKERS.index("self_reflection")
    acts = np.zeros((2, 8, 2))
    acts[1, 4, 0], acts[1, 5, 0] = 2.0, 1.0  # latent 0: "," and "3" right after "Wait"
    acts[0, 0, 1], acts[0, 4, 1] = 1.0, 1.5  # latent 1: "Tom"
    left = 3
    ctx = analysis.top_contexts(acts, tokens, k=2, left=left, right=0)
    labels = annotation.label_side(ctx["windows"], cats, left, 0.5)
    truth = annotation.ground_truth(ctx["seq"], ctx["pos"], span, marker, 0.5)
    assert labels["label"] == ["self_reflection", "general text"]
    assert truth["truth"] == ["self_reflection", "general text"]
    assert labels["category"] == ["math", "general text"] and truth["truth_category"] == [
        "math",
        "general text",
    ]
    assert analysis.labelling_accuracy(labels["label"], truth["truth"])["accuracy"] == 1.0
    assert analysis.labelling_accuracy(["math", "general text"], truth["truth"])["accuracy"] == 0.5


def test_markdown_decode_escapes_and_bolds():
    vocab = ["<pad>", "3", "*", "|", "<eos>"]
    assert annotation._decode(np.array([-1, 4, 1, 2, 3]), vocab, 3) == "&lt;eos&gt; 3 **\\*** \\|"


def test_latent_scaling_confirmation_counts():
    sel = {"ls_latents": np.array([3, 5, 7]), "ls_nu": np.array([0.1, 0.9, np.nan])}
    assert (
        latent_selection.confirmed(sel, [3, 5, 7, 9], 0.5) == 1
    )  # 5 is flagged, 7 never fires (NaN), 9 was not scaled
    assert latent_selection.confirmed(sel, [5], 1.0) == 1
    assert latent_selection.confirmed(sel, [], 0.5) == 0
