"""The figure unit: configs per scale, ``compute`` (cached), ``plot`` (cheap), ``claims`` (numbers).

A figure module must stay light at import time (stdlib + this module): heavy libraries (torch, matplotlib) are
imported inside ``compute``/``plot`` so that ``repro list`` answers without loading them. A test enforces this.

Config conventions:
- each scale's config is an instance of one frozen dataclass;
- a field ``variants: tuple[str, ...]`` (when the figure has variants) selects which variants ``compute`` runs;
  ``--variant X`` narrows it to ``("X",)``;
- every random choice takes its seed from a config field (``seed`` or ``seeds``).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

SCALES = ("smoke", "quick", "paper")


class ReproError(Exception):
    """An error whose message is one line that names the problem and the fix; the CLI prints it without traceback."""


def closest(word: str, choices: typing.Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest choice, or an empty string."""
    m = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {m[0]}?)" if m else ""


@dataclass(frozen=True)
class Figure:
    """One figure of one paper. See the module docstring for the conventions."""

    paper: str
    id: str
    title: str
    configs: Mapping[str, Any]
    compute: Callable[[Any], dict[str, Any]]
    plot: Callable[[dict[str, Any], Any], Any]
    claims: Callable[[dict[str, Any], Any], list]
    variants: tuple[str, ...] = ()
    est_seconds: Mapping[str, float] = field(default_factory=dict)
    # What each scale needs to run in its estimated time: "cpu" or "cuda" (the paper-scale gate reads this).
    device: Mapping[str, str] = field(
        default_factory=lambda: {"smoke": "cpu", "quick": "cpu", "paper": "cpu"}
    )
    # torch threads for compute on CPU: tiny-op training is fastest on one thread (spec: 5-35x slower on two).
    cpu_threads: int = 1
    # Descriptive names accepted wherever the id is (``repro distill_features relative_norms``): for papers whose
    # figure numbering is a best guess, the name stays stable if the number changes.
    aliases: tuple[str, ...] = ()
    # The figure's control: a config transform (shuffled labels, an untrained model, the variant the paper argues
    # against) under which its claims do not all reproduce; tests/test_controls.py runs it at smoke scale and
    # requires at least one claim to end contradicted or not reached. It proves the claims can fail.
    control: Callable[[Any], Any] | None = None
    control_label: str = ""
    # The stages this figure reads (``repro.stage``): input name -> Need; ``compute(cfg, **inputs)`` receives
    # their results. A figure never imports another figure: two figures on one sweep both declare its stage.
    needs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.id in self.aliases:
            raise ValueError(f"{self.name}: alias {self.id!r} repeats the id")
        missing = [s for s in SCALES if s not in self.configs]
        if missing:
            raise ValueError(f"{self.name}: configs lack scales {missing}")
        for scale, cfg in self.configs.items():
            if not (dataclasses.is_dataclass(cfg) and type(cfg).__dataclass_params__.frozen):
                raise TypeError(f"{self.name}: config for {scale!r} must be a frozen dataclass instance")
            if self.variants:
                chosen = getattr(cfg, "variants", None)
                if chosen is None or not set(chosen) <= set(self.variants):
                    raise ValueError(f"{self.name}: config {scale!r} needs variants ⊆ {self.variants}")
        if self.needs:
            from repro.stage import _check_needs

            _check_needs(self.name, self.needs)

    @property
    def name(self) -> str:
        return f"{self.paper}:{self.id}"

    @property
    def module(self) -> str:
        return self.compute.__module__

    def config(
        self, scale: str, variant: str | None = None, overrides: Mapping[str, str] | None = None
    ) -> Any:
        """The config for ``scale``, narrowed to ``variant`` and with ``key=value`` overrides applied (typed)."""
        if scale not in SCALES:
            raise ReproError(
                f"unknown scale {scale!r}{closest(scale, SCALES)}; choose one of {', '.join(SCALES)}"
            )
        cfg = self.configs[scale]
        if variant is not None:
            if not self.variants:
                raise ReproError(f"{self.name} has no variants; drop --variant")
            if variant not in self.variants:
                raise ReproError(
                    f"{self.name} has no variant {variant!r}{closest(variant, self.variants)}; "
                    f"choose one of {', '.join(self.variants)}"
                )
            cfg = dataclasses.replace(cfg, variants=(variant,))
        if overrides:
            cfg = apply_overrides(cfg, overrides, self.name)
            for key in overrides:
                # an empty tuple where no scale has one (``--set fractions=``) would fail deep in the compute
                if field_at(cfg, key) == () and all(field_at(c, key) != () for c in self.configs.values()):
                    default = ",".join(str(v) for v in field_at(self.configs[scale], key))
                    raise ReproError(
                        f"{self.name}: --set {key}= leaves {key} empty; give at least one value "
                        f"(at {scale}: {key}={default})"
                    )
        if self.variants:
            chosen = tuple(getattr(cfg, "variants", ()))
            if not chosen or not set(chosen) <= set(self.variants):
                raise ReproError(
                    f"{self.name}: variants={','.join(chosen)} must be one or more of {', '.join(self.variants)}"
                )
        return cfg


def field_at(cfg: Any, dotted: str) -> Any:
    """The value of a (dotted: ``sweep.lr``) config field."""
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def apply_overrides(cfg: Any, overrides: Mapping[str, str], who: str) -> Any:
    """Replace fields of a frozen dataclass from strings, typed by the field's annotation; unknown keys rejected.

    Dotted keys reach nested configs: ``sweep.lr=3e-3`` replaces ``lr`` of the ``sweep`` field's dataclass (and
    re-validates both levels)."""
    nested: dict[str, dict[str, str]] = {}
    flat: dict[str, str] = {}
    for key, raw in overrides.items():
        head, dot, rest = key.partition(".")
        if dot:
            nested.setdefault(head, {})[rest] = raw
        else:
            flat[key] = raw
    hints = typing.get_type_hints(type(cfg))
    names = [f.name for f in dataclasses.fields(cfg)]
    changes: dict[str, Any] = {}
    for key in [*flat, *nested]:
        if key not in names:
            raise ReproError(
                f"{who} config has no field {key!r}{closest(key, names)}; fields: {', '.join(names)}"
            )
    for key, raw in flat.items():
        try:
            changes[key] = parse_value(raw, hints[key])
        except (ValueError, TypeError) as e:
            raise ReproError(f"{who}: bad value for {key}={raw!r} ({e}); expected {hints[key]}") from None
    for key, sub in nested.items():
        inner = getattr(cfg, key)
        if not dataclasses.is_dataclass(inner):
            raise ReproError(
                f"{who}: {key} is a {type(inner).__name__}, not a nested config; use --set {key}=..."
            )
        changes[key] = apply_overrides(inner, sub, f"{who} {key}")
    try:
        return dataclasses.replace(cfg, **changes)
    except (ValueError, TypeError) as e:  # __post_init__ validation
        raise ReproError(f"{who}: invalid config: {e}") from None


def parse_value(raw: str, tp: Any) -> Any:
    """Parse a command-line string into the annotated type (bool, int, float, str, tuples, optionals)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if raw.lower() in ("none", "null"):
            return None
        for a in args:
            try:
                return parse_value(raw, a)
            except (ValueError, TypeError):
                continue
        raise ValueError(f"not one of {args}")
    if origin is tuple:
        args = typing.get_args(tp)
        parts = [p for p in raw.strip("()[]").split(",") if p.strip()]
        if args and args[-1] is not Ellipsis:  # a fixed-length tuple: tuple[float, float]
            if len(parts) != len(args):
                raise ValueError(f"expected {len(args)} comma-separated values, got {len(parts)}")
            return tuple(parse_value(p.strip(), a) for p, a in zip(parts, args, strict=True))
        elem = args[0] if args else str
        return tuple(parse_value(p.strip(), elem) for p in parts)
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if raw not in allowed:
            raise ValueError(f"must be one of {allowed}")
        return raw
    if tp is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("not a boolean")
    if tp is int:
        return int(float(raw)) if "e" in raw.lower() and float(raw).is_integer() else int(raw)
    if tp is float:
        return float(raw)
    if tp is str:
        return raw
    raise TypeError(f"cannot parse a {tp} from the command line")


def config_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config, tagged with its class name."""
    d = dataclasses.asdict(cfg)
    return {"__class__": type(cfg).__name__, **json.loads(json.dumps(d, default=str))}


def config_hash(cfg: Any) -> str:
    blob = json.dumps(config_dict(cfg), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def config_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """``lr 0.001 -> 0.003, steps 300 -> 10000`` for the fields that changed."""
    keys = sorted(set(old) | set(new))
    changes = [f"{k} {old.get(k)} -> {new.get(k)}" for k in keys if old.get(k) != new.get(k)]
    return ", ".join(changes)
