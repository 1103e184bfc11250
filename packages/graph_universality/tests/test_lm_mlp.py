"""LLM -> MLP stitching (``lm_mlp``): the sender reduction (``repro.pca``) and the width guard (the figure pipeline runs in
``test_figures`` at smoke scale)."""

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
