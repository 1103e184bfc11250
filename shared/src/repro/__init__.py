"""repro: the layer the four paper packages stand on (figures, stages, cache, claims, models, activations).

For a notebook: ``repro.load_artifact("graph_universality.tiny_lm", scale="quick")`` opens a stage's trained
model in its ecosystem's format and ``repro.load_result(name, scale)`` a stage's numbers, computing either if
missing. Attributes load lazily, so ``import repro`` (and ``repro --help``) stays instant.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_artifact", "load_result"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from repro import stage

        return getattr(stage, name)
    raise AttributeError(f"module 'repro' has no attribute {name!r}")
