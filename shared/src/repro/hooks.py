"""Model hooks, in one place for every package: TransformerLens site names, the blocks of any HF causal LM, and
edits of the residual stream.

- ``hook_name(layer, "pre")`` -> ``blocks.{layer}.hook_resid_pre``; ``parse_hook_name`` the inverse. These are the
  names TransformerLens gives the residual stream, and the names activation caches, crosscoders and patching use.
- ``decoder_layers(model)``: the ModuleList of transformer blocks of an HF causal LM (Qwen2/Llama ``model.layers``,
  GPT-2 ``transformer.h``, GPT-NeoX ``gpt_neox.layers``, OPT ``model.decoder.layers``). A forward pre-hook on
  block i sees ``blocks.i.hook_resid_pre`` (= HF ``hidden_states[i]``); a forward hook its ``hook_resid_post``.
- ``edit_resid_pre(model, layer, fn)`` / ``edit_resid_post(model, layer, fn)``: within the ``with`` block, the
  residual stream entering (leaving) block ``layer`` is replaced by ``fn(x)`` in every forward pass;
  ``edit_embed(model, fn)`` the token embeddings (``hook_embed``). Under KV-cache
  generation each pass carries only the positions being computed, so an edit applies to exactly those.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

from repro.figure import ReproError

RESID_RE = re.compile(r"^blocks\.(\d+)\.hook_resid_(pre|post)$")


def hook_name(layer: int, kind: str = "pre") -> str:
    """The TransformerLens name of the residual stream entering (``pre``) or leaving (``post``) block ``layer``."""
    if kind not in ("pre", "post"):
        raise ValueError(f"kind must be 'pre' or 'post', got {kind!r}")
    return f"blocks.{int(layer)}.hook_resid_{kind}"


def parse_hook_name(name: str) -> tuple[int, str]:
    """``blocks.3.hook_resid_pre`` -> ``(3, "pre")``; anything else is refused in one line."""
    m = RESID_RE.match(name)
    if not m:
        raise ValueError(f"{name!r} is not a residual-stream hook name (e.g. blocks.3.hook_resid_pre)")
    return int(m.group(1)), m.group(2)


def decoder_layers(model: Any) -> Any:
    """The ModuleList of transformer blocks of an HF causal LM (see the module docstring)."""
    base = model.base_model
    for name in ("layers", "h", "blocks", "decoder"):
        layers = getattr(base, name, None)
        if name == "decoder":  # OPT: model.decoder.layers
            layers = getattr(layers, "layers", None)
        if layers is not None and len(layers) == model.config.num_hidden_layers:
            return layers
    raise ReproError(f"cannot find the blocks of {type(model).__name__}; use backend='transformer_lens'")


def _block(model: Any, layer: int) -> Any:
    blocks = decoder_layers(model)
    if not 0 <= layer < len(blocks):
        raise ValueError(f"layer {layer} is outside the model's blocks 0..{len(blocks) - 1}")
    return blocks[layer]


@contextlib.contextmanager
def edit_resid_pre(model: Any, layer: int, fn: Callable[[Any], Any]) -> Iterator[None]:
    """Within the block, the residual stream entering block ``layer`` is replaced by ``fn(x)`` in every forward."""

    def hook(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        if args:
            return (fn(args[0]), *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": fn(kwargs["hidden_states"])}

    handle = _block(model, layer).register_forward_pre_hook(hook, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()


@contextlib.contextmanager
def edit_resid_post(model: Any, layer: int, fn: Callable[[Any], Any]) -> Iterator[None]:
    """Within the block, the residual stream leaving block ``layer`` is replaced by ``fn(x)`` in every forward."""

    def hook(module: Any, args: tuple, kwargs: dict, out: Any) -> Any:
        if isinstance(out, tuple):
            return (fn(out[0]), *out[1:])
        return fn(out)

    handle = _block(model, layer).register_forward_hook(hook, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()


@contextlib.contextmanager
def edit_embed(model: Any, fn: Callable[[Any], Any]) -> Iterator[None]:
    """Within the block, the token embeddings (TransformerLens ``hook_embed``: before a model with learned positions,
    GPT-2 or OPT, adds them, and before OPT's projection to the residual width) are replaced by ``fn(x)``."""
    handle = model.get_input_embeddings().register_forward_hook(lambda module, args, out: fn(out))
    try:
        yield
    finally:
        handle.remove()


@contextlib.contextmanager
def edit_site(model: Any, site: str, fn: Callable[[Any], Any]) -> Iterator[None]:
    """``edit_resid_pre``/``edit_resid_post`` by TransformerLens name: ``edit_site(m, "blocks.3.hook_resid_pre", f)``."""
    layer, kind = parse_hook_name(site)
    with (edit_resid_pre if kind == "pre" else edit_resid_post)(model, layer, fn):
        yield
