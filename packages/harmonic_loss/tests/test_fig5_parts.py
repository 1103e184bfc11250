"""Figure 5's data loading (local MNIST files, offline hub) and its prototype metrics."""

import gzip
import struct

import numpy as np
import pytest

from harmonic_loss.digit_weights import peripheral_ratio, prototype_correlation
from harmonic_loss.image_data import load_digits_split, load_mnist
from repro.figure import ReproError


def fake_mnist(n=12):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def test_mnist_from_keras_npz(tmp_path):
    x, y = fake_mnist()
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x, y_train=y, x_test=x[:4], y_test=y[:4])
    x_tr, y_tr, x_te, y_te = load_mnist(str(path))
    assert x_tr.shape == (12, 784) and x_te.shape == (4, 784) and x_tr.max() <= 1.0
    np.testing.assert_array_equal(y_tr, y)


def test_mnist_from_gzipped_idx_folder(tmp_path):
    x, y = fake_mnist()
    for stem, arr in [
        ("train-images-idx3-ubyte", x),
        ("train-labels-idx1-ubyte", y),
        ("t10k-images-idx3-ubyte", x),
        ("t10k-labels-idx1-ubyte", y),
    ]:
        header = struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
        with gzip.open(tmp_path / f"{stem}.gz", "wb") as f:
            f.write(header + arr.tobytes())
    x_tr, y_tr, _, _ = load_mnist(str(tmp_path))
    np.testing.assert_allclose(x_tr, x.reshape(12, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_tr, y)


@pytest.mark.parametrize("path", [None, "/nonexistent/mnist.npz"])
def test_mnist_unavailable_is_one_line(path):
    with pytest.raises(ReproError) as e:
        load_mnist(path)
    msg = str(e.value)
    assert "\n" not in msg and ("load_dataset('ylecun/mnist')" in msg or "does not exist" in msg)


def test_digits_split_is_seeded_and_stratified():
    a = load_digits_split(0.2, seed=1)
    b = load_digits_split(0.2, seed=1)
    np.testing.assert_array_equal(a[0], b[0])
    assert len(a[0]) + len(a[2]) == 1797 and set(np.unique(a[3])) == set(range(10))


def test_prototype_metrics():
    means = np.random.default_rng(0).random((10, 16))
    assert np.allclose(prototype_correlation(2 * means + 1, means), 1.0)
    never_lit = np.zeros(16, bool)
    never_lit[:4] = True
    w = np.ones((10, 16))
    w[:, :4] = 0
    assert peripheral_ratio(w, never_lit) == 0.0
    assert np.isnan(peripheral_ratio(w, np.zeros(16, bool)))
