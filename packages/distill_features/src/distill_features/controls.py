"""The analysis figures' control: the crosscoders stage's crosscoders replaced by untrained ones (the same configuration,
initialisation and normalisation scales, zero training steps), and the explained variance of the crosscoders a
figure actually used, which its claims take as a precondition."""

from __future__ import annotations

from typing import Any


def untrained_like(model: Any) -> Any:
    """A fresh crosscoder with ``model``'s config and normalisation scales, never trained."""
    from distill_features.crosscoder import Crosscoder

    fresh = Crosscoder(model.cfg)
    fresh.set_scales(model.scale.detach().clone())
    return fresh.eval()


def prepare(st: Any, untrained: bool) -> dict[str, list[float]]:
    """Replace every crosscoder of the setup ``st`` (``latents_setup.LatentsSetup``) by an untrained one when
    ``untrained``; return the explained variance per model of each crosscoder now in ``st``: ``{"<size>/<variant>": [EV base, EV distilled]}``."""
    import torch

    from distill_features.crosscoder import evaluate

    out = {}
    for name, s in st.sizes.items():
        x = torch.as_tensor(s.eval_acts).float()
        for v, cc in list(s.crosscoders.items()):
            if untrained:
                s.crosscoders[v] = cc = untrained_like(cc)
            with torch.no_grad():
                out[f"{name}/{v}"] = [float(e) for e in evaluate(cc, x)["explained_variance"]]
    return out
