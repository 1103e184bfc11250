"""Image classification data for Figure 5: scikit-learn's bundled 8x8 digits (offline) and real MNIST.

Both return float32 pixels in [0, 1] (no further normalisation, as the official notebook) flattened to [N, D], with
integer labels, as numpy arrays: ``(x_train, y_train, x_test, y_test)``.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from repro.figure import ReproError
from repro.hub import go_offline_if_unreachable, offline_error

MNIST_HUB_ID = "ylecun/mnist"
Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def load_digits_split(test_fraction: float, seed: int) -> Split:
    """sklearn's 1,797 8x8 digits (pixels 0..16 -> [0, 1]), split stratified by class with a seeded shuffle."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return x_tr, y_tr, x_te, y_te


def load_mnist(path: str | None = None) -> Split:
    """Real MNIST (60k/10k): from ``path`` (a Keras-style ``mnist.npz`` or a folder of the four IDX files, gzipped or
    not), else from the Hugging Face hub data set ``ylecun/mnist`` (cached by ``datasets``)."""
    if path is not None:
        p = Path(path).expanduser()
        if not p.exists():
            raise ReproError(
                f"MNIST path {p} does not exist; pass an mnist.npz file or a folder of MNIST IDX files"
            )
        return _load_npz(p) if p.is_file() else _load_idx_dir(p)
    go_offline_if_unreachable()
    how = f"uv run python -c \"import datasets; datasets.load_dataset('{MNIST_HUB_ID}')\""
    try:
        import datasets

        ds = datasets.load_dataset(MNIST_HUB_ID)
    except (
        OSError,
        ConnectionError,
        ValueError,
    ) as e:  # offline / not cached: datasets raises OSError subclasses
        raise offline_error(
            f"MNIST ({MNIST_HUB_ID}; {type(e).__name__})", how + " or pass --set mnist_path=FILE"
        ) from None

    def to_numpy(split: str) -> tuple[np.ndarray, np.ndarray]:
        images = np.stack([np.asarray(im, dtype=np.uint8) for im in ds[split]["image"]])
        return images.reshape(len(images), -1).astype(np.float32) / 255.0, np.asarray(
            ds[split]["label"], np.int64
        )

    return (*to_numpy("train"), *to_numpy("test"))


def _load_npz(p: Path) -> Split:
    try:
        with np.load(p, allow_pickle=False) as z:
            parts = [z[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except (KeyError, ValueError, OSError) as e:
        raise ReproError(f"{p} is not an MNIST npz with x_train/y_train/x_test/y_test ({e})") from None
    x_tr, y_tr, x_te, y_te = parts
    scale = 255.0 if x_tr.max() > 1 else 1.0
    return (
        x_tr.reshape(len(x_tr), -1).astype(np.float32) / scale,
        y_tr.astype(np.int64),
        x_te.reshape(len(x_te), -1).astype(np.float32) / scale,
        y_te.astype(np.int64),
    )


def _read_idx(p: Path) -> np.ndarray:
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rb") as f:
        data = f.read()
    _, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if dtype_code != 0x08:
        raise ReproError(f"{p} is not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _load_idx_dir(d: Path) -> Split:
    def find(stem: str) -> Path:
        for name in (stem, stem + ".gz"):
            if (d / name).exists():
                return d / name
        raise ReproError(f"{d} lacks {stem}[.gz]; it needs the four MNIST IDX files")

    x_tr = _read_idx(find("train-images-idx3-ubyte"))
    y_tr = _read_idx(find("train-labels-idx1-ubyte"))
    x_te = _read_idx(find("t10k-images-idx3-ubyte"))
    y_te = _read_idx(find("t10k-labels-idx1-ubyte"))
    return (
        x_tr.reshape(len(x_tr), -1).astype(np.float32) / 255.0,
        y_tr.astype(np.int64),
        x_te.reshape(len(x_te), -1).astype(np.float32) / 255.0,
        y_te.astype(np.int64),
    )
