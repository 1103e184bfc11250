"""repro.pca: the shared PCA."""

import numpy as np

from repro.pca import explained_variance_ratio, pca


def test_pca_recovers_a_planted_plane_with_stable_signs():
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(200, 2)) * [5.0, 2.0]
    basis = np.linalg.qr(rng.normal(size=(6, 6)))[0][:2]
    x = plane @ basis + 3.0 + 1e-6 * rng.normal(size=(200, 6))
    coords, ratios = pca(x, 3)
    assert coords.shape == (200, 3) and ratios[:2].sum() > 0.999999
    assert abs(np.corrcoef(coords[:, 0], plane[:, 0])[0, 1]) > 0.999 and np.abs(coords[:, 2]).max() < 1e-4
    flipped, _ = pca(-x, 3)
    np.testing.assert_allclose(flipped, coords, atol=1e-9)  # signs do not depend on the data's orientation
    ev = explained_variance_ratio(x)
    assert np.isclose(ev.sum(), 1) and np.all(np.diff(ev) <= 1e-12)
    assert np.isnan(explained_variance_ratio(np.ones((4, 3)))).all()
