"""Paper scale names the official models and data, and stops offline in one line that names the downloads."""

import importlib

import numpy as np
import pytest

from repro.figure import ReproError


@pytest.mark.parametrize(
    ("fig", "needle"),
    [
        (
            "fig4",
            "EleutherAI/pythia-1.4b-deduped",
        ),  # official stitching menu (Pythia, GPT-2, OPT) on The Pile
        ("fig5", "meta-llama/Llama-3.1-8B-Instruct"),  # official layer sweep
        ("fig7", "google/gemma-2-9b-it"),  # the five instruct LLMs of the v2 abstract
        ("fig8", "ericwtodd/function_vectors"),  # eval-mid.py's data sets, checked before any model
    ],
)
def test_paper_config_fails_offline_in_one_line_naming_the_models(fig, needle, tmp_path):
    """Through the cache, as a run: the stages the figure reads come first (the paper-scale in-context model is a
    named LLM, nothing trained; the tiny LMs of fig4 are not reached, its models and data are checked first)."""
    from repro.cache import Cache

    figure = importlib.import_module(f"graph_universality.figures.{fig}").FIGURE
    with pytest.raises(ReproError) as e:
        Cache(tmp_path).get_or_compute(
            figure, figure.configs["paper"], "paper", figure.compute, log=lambda m: None
        )
    msg = str(e.value)
    assert "\n" not in msg and "download" in msg and needle in msg


def test_paper_configs_name_the_official_models():
    from graph_universality.figures import fig4, fig5, fig7
    from graph_universality.paper_models import ICL_MODELS, STITCH_MODELS

    paper7 = fig7.FIGURE.configs["paper"]
    assert (paper7.icl.model, *paper7.models) == ICL_MODELS
    assert (
        fig5.FIGURE.configs["paper"].icl.model == ICL_MODELS[0]
        and fig5.FIGURE.configs["paper"].tree == "balanced"
    )
    menu = {m for ms in STITCH_MODELS.values() for m in ms}
    pairs = [p.split(">") for p in fig4.FIGURE.configs["paper"].official.pairs]
    assert pairs and all(a in menu and b in menu for a, b in pairs)
    assert fig4.FIGURE.configs["paper"].official.train_data == "monology/pile-uncopyrighted"


def test_paper_stitching_path_runs_on_tiny_local_models(tmp_path):
    """fig4's paper-scale stitching (stage lm_stitching: official stitching-mid.py, fixed) end to end on two tiny
    local GPT-2s that share a tokenizer, with local text files standing in for The Pile."""
    import torch

    from graph_universality.llm_arm import official_stitching
    from graph_universality.stages import LMStitchConfig
    from repro.models import build_tiny_model

    torch.set_num_threads(1)
    a = build_tiny_model(tmp_path / "a", arch="gpt2", d_model=16, n_layers=2, n_heads=2, seed=0)
    b = build_tiny_model(tmp_path / "b", arch="gpt2", d_model=32, n_layers=4, n_heads=2, seed=1)
    text = tmp_path / "docs.txt"
    text.write_text(
        "\n\n".join(f"the cat {i} sat on the mat and the dog ran away from it" for i in range(12))
    )
    cfg = LMStitchConfig(
        pairs=(f"{a}>{b}", f"{b}>{b}"),
        cuts=(0.5,),
        train_data=str(text),
        test_data=str(text),
        train_docs=8,
        test_docs=4,
        seq_len=8,
        stitch_steps=2,
        batch_size=4,
        device="cpu",
    )
    out = official_stitching(cfg)
    assert set(out) == {f"{a}>{b}", f"{b}>{b}"}
    for v in out.values():
        assert (
            v["degradation"].shape == (1,) and np.isfinite(v["degradation"]).all() and v["receiver_loss"] > 0
        )
