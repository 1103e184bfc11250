"""Running one figure: config -> cached compute -> plot -> claims -> files (PNG, PDF, JSON) -> report."""

from __future__ import annotations

import contextvars
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro import paths
from repro.cache import Cache, CorruptEntry, cache_key, record_dependency
from repro.claims import Claim, counts
from repro.environment import environment, prepare_torch  # noqa: F401  (re-exported)
from repro.figure import Figure, ReproError, config_dict, config_hash
from repro.io import atomic_write_text
from repro.progress import status

_OUTPUT_STEM: contextvars.ContextVar[Path | None] = contextvars.ContextVar("repro_output_stem", default=None)


def current_output_stem() -> Path:
    """Inside ``plot``: where this figure is being written (``<out>/<paper>/figN[_suffix]``, no extension), for
    figures that write extra files beside their plot (tables as CSV/Markdown), honouring ``--out`` and suffixes."""
    stem = _OUTPUT_STEM.get()
    if stem is None:
        raise RuntimeError("current_output_stem() is only defined while repro draws a figure")
    return stem


@dataclass
class Report:
    """What running one figure produced; ``to_dict`` is the ``figN.json`` written beside the plot."""

    figure: Figure
    scale: str
    config: Any
    key: str
    claims: list[Claim]
    restored: bool
    timings: dict[str, float]
    environment: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    memory: dict[str, float | None] = field(default_factory=dict)  # peak resident MB per stage

    def to_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure.name,
            "title": self.figure.title,
            "scale": self.scale,
            "config": config_dict(self.config),
            "config_hash": config_hash(self.config),
            "cache_key": self.key,
            "restored_from_cache": self.restored,
            "claims": [c.to_dict() for c in self.claims],
            "verdicts": counts(self.claims),
            "timings_seconds": self.timings,
            "peak_rss_mb": self.memory,
            "environment": self.environment,
        }


def output_stem(
    fig: Figure,
    scale: str,
    variant: str | None,
    custom: bool,
    out_dir: Path | None,
    device: str | None = None,
) -> Path:
    """``<out>/<paper>/figN`` (default out: ``paper_figures``) at quick; other scales, single variants, overrides
    and a forced device get a suffix, so they never overwrite the committed quick figures."""
    base = (Path(out_dir) if out_dir else paths.figures_dir()) / fig.paper
    suffix = "" if scale == "quick" else f"_{scale}"
    if variant:
        suffix += f"_{variant}"
    if custom:
        suffix += "_custom"
    if device:
        suffix += f"_{device}"
    return base / f"{fig.id}{suffix}"


DEVICE_FIELDS = ("device", "paper_device")


def on_device(cfg: Any, device: str) -> Any:
    """``cfg`` with its device fields (``device``, ``paper_device``) set to ``device`` where they name another
    (``--device cpu`` for a cuda figure), also in nested configs (the stages a figure reads); the device is part
    of the config, so the result is cached apart."""
    import dataclasses

    changes: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name in DEVICE_FIELDS and isinstance(value, str) and value.split(":")[0] != device:
            changes[f.name] = device
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            moved = on_device(value, device)
            if moved is not value:
                changes[f.name] = moved
    return dataclasses.replace(cfg, **changes) if changes else cfg


def needs_device(fig: Figure, scale: str) -> str:
    """The device ``fig`` needs at ``scale`` to run in its estimated time: ``cuda`` when the figure or any stage
    it reads (``Figure.device``, ``Stage.device``) needs it."""
    from repro.stage import stages_of

    devices = [fig.device.get(scale, "cpu")] + [st.device.get(scale, "cpu") for st in stages_of(fig)]
    return next((d for d in devices if d.startswith("cuda")), devices[0])


def run_figure(
    fig: Figure,
    scale: str = "quick",
    variant: str | None = None,
    overrides: Mapping[str, str] | None = None,
    force: bool = False,
    out_dir: Path | None = None,
    cache: Cache | None = None,
    device: str | None = None,
    force_stages: bool | None = None,
) -> Report:
    from repro.faults import guard
    from repro.progress import peak_memory

    cfg = fig.config(scale, variant, overrides)
    cache = cache or Cache(paths.cache_dir())

    def log(msg: str) -> None:
        status(f"[{fig.name} {scale}] {msg}")

    device = device or os.environ.get("REPRO_DEVICE") or None
    forced = None
    if device == "cpu" and needs_device(fig, scale).startswith("cuda"):
        cfg, forced = on_device(cfg, device), device
        log(
            f"running on {device} as asked (--device {device}); it needs {needs_device(fig, scale)} to run in its estimated time"
        )

    result, key, restored, compute_s = cache.get_or_compute(
        fig, cfg, scale, fig.compute, force=force, log=log, force_stages=force_stages
    )
    t0 = time.perf_counter()
    claims = list(fig.claims(result, cfg))
    stem = output_stem(fig, scale, variant, bool(overrides), out_dir, forced)
    token = _OUTPUT_STEM.set(stem)
    with peak_memory() as plot_mem, guard(stem.parent):
        try:
            plotted = fig.plot(result, cfg)
        finally:
            _OUTPUT_STEM.reset(token)
        from repro.plot import save_figure

        note = f"{fig.name} · scale {scale} · config {config_hash(cfg)} (full config and seeds in {stem.name}.json)"
        files = save_figure(plotted, stem, claims, note=note)
    plot_s = time.perf_counter() - t0
    manifest = cache.manifest(fig, key)
    timings = {
        "compute": round(
            manifest.get("compute_seconds", compute_s), 3
        ),  # when it was computed, if restored now
        "plot": round(plot_s, 3),
        "wall": round(compute_s + plot_s, 3),  # this invocation
    }
    stages = stage_seconds(fig, cfg, scale, cache)
    if (
        stages
    ):  # what the stages it reads took when they were computed (a shared stage counts for each reader)
        timings["stages"] = stages
        timings["compute_with_stages"] = round(timings["compute"] + sum(stages.values()), 3)
    report = Report(fig, scale, cfg, key, claims, restored, timings, manifest.get("environment", {}))
    report.memory = {"compute": manifest.get("peak_rss_mb"), "plot": plot_mem.get("mb")}
    json_path = stem.with_suffix(".json")
    with guard(json_path):
        atomic_write_text(json_path, json.dumps(report.to_dict(), indent=1) + "\n")
    report.files = [*files, json_path]
    log(f"wrote {', '.join(str(p) for p in report.files)}")
    return report


def stage_seconds(fig: Figure, cfg: Any, scale: str, cache: Cache) -> dict[str, float]:
    """Compute seconds of each stage ``fig`` reads, from their cache manifests (name -> seconds)."""
    from repro.stage import find_stage, graph

    out = {}
    for node in graph(fig, cfg, scale, cache)[:-1]:
        manifest = cache.manifest(find_stage(node.name), node.key) if node.cached else {}
        if "compute_seconds" in manifest:  # the chunks of a stage (Need.each) add up under its name
            out[node.name] = round(out.get(node.name, 0.0) + manifest["compute_seconds"], 3)
    return out


def cached_claims(fig: Figure, scale: str, cache: Cache | None = None) -> list[Claim] | None:
    """Claims re-evaluated from the cached result of the current config and code (None when not cached)."""
    cache = cache or Cache(paths.cache_dir())
    cfg = fig.config(scale)
    key = cache_key(fig, cfg)
    if not cache.entry_dir(fig, key).is_dir():
        return None
    try:
        result = cache.load(fig, key)
    except CorruptEntry as e:
        raise ReproError(
            f"cache entry for {fig.name} ({scale}) is corrupt ({e}); rerun `repro {fig.paper} {fig.id}`"
        ) from None
    return list(fig.claims(result, cfg))


def fresh_claims(fig: Figure, scale: str, cache: Cache | None = None) -> tuple[list[Claim], Report]:
    """The claims of the current code and config: restored from the cache, or computed (no figure files)."""
    cache = cache or Cache(paths.cache_dir())
    cfg = fig.config(scale)
    result, key, restored, compute_s = cache.get_or_compute(
        fig, cfg, scale, fig.compute, log=lambda m: status(f"[{fig.name} {scale}] {m}")
    )
    claims = list(fig.claims(result, cfg))
    manifest = cache.manifest(fig, key)
    timings = {
        "compute": round(manifest.get("compute_seconds", compute_s), 3),
        "plot": 0.0,
        "wall": compute_s,
    }
    return claims, Report(fig, scale, cfg, key, claims, restored, timings, manifest.get("environment", {}))


def reference_path(fig: Figure, scale: str) -> Path:
    """The committed ``figN[_scale].json`` whose verdicts ``repro check`` compares with."""
    return output_stem(fig, scale, None, False, paths.reference_dir()).with_suffix(".json")


def committed_claims(fig: Figure, scale: str) -> list[Claim] | None:
    """The claims recorded in the committed reference result (None when none is committed)."""
    path = reference_path(fig, scale)
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text())
        return [Claim.from_dict(c) for c in report["claims"]]
    except (ValueError, KeyError, TypeError) as e:
        raise ReproError(
            f"committed verdicts {path} are unreadable ({e}); restore it with `git checkout -- {path}` "
            f"or rewrite it with `repro check --record`"
        ) from None


def require(fig_name: str, scale: str, cfg: Any | None = None) -> dict[str, Any]:
    """Another figure's result (restored or computed): for figures that share one expensive sweep."""
    from repro.registry import resolve

    (dep,) = resolve([fig_name])
    cfg = cfg if cfg is not None else dep.config(scale)
    cache = Cache(paths.cache_dir())
    result, *_ = cache.get_or_compute(
        dep, cfg, scale, dep.compute, log=lambda m: status(f"[{dep.name} {scale}] {m}")
    )
    record_dependency(dep)  # the caller's cached result goes stale when dep's code changes
    return result
