"""Bitwise equality of two benchmark results (nested dicts, lists and tuples of arrays, tensors and scalars): what
the benchmarks that compare two ways of computing the same thing print beside their ratio."""

from __future__ import annotations

from typing import Any


def equal(a: Any, b: Any) -> bool:
    """Same structure, and every array or tensor the same dtype, shape and bytes (so NaN equals NaN, -0.0 does not
    equal 0.0); scalars equal, or both NaN."""
    import numpy as np

    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "detach"):  # a torch tensor
        a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
    if isinstance(a, np.ndarray):
        b = np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a == b or (a != a and b != b)
