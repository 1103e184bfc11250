"""LLM <-> MLP stitching (``lm_mlp``): the sender reduction (``repro.pca``), the width guard, the MLP -> LLM map on
the LM's own embeddings, the settings' checks (the figure pipeline runs in ``test_figures`` at smoke scale)."""

import numpy as np
import pytest

from graph_universality.lm_mlp import LMToMLPConfig, stitch_lms_into_mlps
from graph_universality.stages import TINY_LMS
from repro.pca import pca


def test_the_sender_reduction_keeps_the_top_directions_of_the_node_vectors():
    """Senders are reduced to the receiver's width by the shared ``repro.pca``."""
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(16, 16)))[0]
    x = (rng.normal(size=(15, 16)) * np.array([10.0, 5.0] + [0.01] * 14)) @ basis.T + 3.0
    z = pca(x, 2)[0]
    assert z.shape == (15, 2) and np.allclose(z.mean(0), 0, atol=1e-9)
    # two directions carry almost all the variance: pairwise distances survive the reduction
    d_full = np.linalg.norm(x[:, None] - x[None], axis=-1)
    d_two = np.linalg.norm(z[:, None] - z[None], axis=-1)
    assert np.abs(d_full - d_two).max() < 0.2


def test_a_receiver_as_wide_as_the_node_count_is_refused():
    lms_cfg = TINY_LMS.configs["smoke"]  # 7 nodes: widths must be < 6
    with pytest.raises(ValueError, match="< 6"):
        stitch_lms_into_mlps(LMToMLPConfig(emb_dims=(6,)), lms_cfg, {"models": {}})


def _trained_lm(seed: int = 0):
    """A tiny LM of the smoke config trained a few steps on its tree's text, and that text."""
    import torch

    from graph_universality import tinylm
    from graph_universality.llm_arm import _lm_config, tree_text

    torch.set_num_threads(1)
    cfg = TINY_LMS.configs["smoke"]
    data = tree_text(cfg)
    model = tinylm.new_model(_lm_config(cfg, seed), len(data.tok))
    tinylm.train_lm(model, data.ids, data.mask, _lm_config(cfg, seed))
    return model.eval(), data


def test_mlp_to_lm_with_the_lms_own_token_embeddings_is_the_lm():
    """MLP -> LLM at block 0 with the LM's own token embeddings of the names as the "MLP" table: the least-squares
    init is the identity on them, so the untrained stitch gives the LM's own held-out answers; zeroing X's vector
    changes them; training the map moves it, and leaves the LM as it was."""
    import torch

    from graph_universality.lm_mlp import stitch_mlps_into_lms

    model, data = _trained_lm()
    own = model.get_input_embeddings().weight[[data.tok.convert_tokens_to_ids(n) for n in data.names]]
    senders = {"trained": [own.detach().numpy()]}
    cfg = LMToMLPConfig(stitch_steps=0)
    out = stitch_mlps_into_lms(cfg, data, {0: model}, senders, 0)
    assert np.allclose(out["ld"][0], out["own_ld"][0], atol=1e-4) and out["f1"][0] == out["own_f1"][0]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trained = stitch_mlps_into_lms(LMToMLPConfig(stitch_steps=3), data, {0: model}, senders, 0)
    assert not np.allclose(trained["ld"][0], out["ld"][0], atol=1e-4)
    # only the map trains: the LM handed in is left as it was (each job stitches into its own copy)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    zeroed = torch.zeros(1, len(data.names), model.config.hidden_size).numpy()[0]
    blank = stitch_mlps_into_lms(cfg, data, {0: model}, {"random": [zeroed + 1e-3]}, 0)
    assert not np.allclose(blank["ld"][0], out["own_ld"][0], atol=1e-3)


def test_mlp_to_lm_settings_are_checked():
    from graph_universality.figures.fig3 import Fig3Config

    with pytest.raises(ValueError, match="to_lm_batch >= 1"):
        LMToMLPConfig(to_lm_batch=0)
    with pytest.raises(ValueError, match="to_lm_layer must be < 4"):
        Fig3Config(lm_mlp=LMToMLPConfig(to_lm_layer=4))
