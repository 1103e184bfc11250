"""Which positions a forward pass is computing during generation: ``pairs.generate`` marks its passes as "prompt"
or "generated" (``generation_phase``), and steering edits read it (``current_phase``) to leave the prompt untouched.

In a module of its own so that ``pairs`` (generation) and ``interventions`` / ``latent_interventions`` (the edits,
which call ``pairs.generate``) both import it without importing each other.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

PHASES = ("prompt", "generated")
_PHASE: contextvars.ContextVar[str | None] = contextvars.ContextVar("distill_features_phase", default=None)


@contextlib.contextmanager
def generation_phase(phase: str) -> Iterator[None]:
    """Mark the forward passes inside as processing prompt or generated positions (set by ``pairs.generate``)."""
    if phase not in PHASES:
        raise ValueError(f"phase {phase!r} is not one of {PHASES}")
    token = _PHASE.set(phase)
    try:
        yield
    finally:
        _PHASE.reset(token)


def current_phase() -> str | None:
    """ "prompt" or "generated" inside ``pairs.generate``; None in a plain forward pass."""
    return _PHASE.get()
