"""Stages: the expensive, reusable computations (a sweep, a model zoo, trained crosscoders) that figures read.

A :class:`Stage` is a named, typed, cached computation: ``compute(config, **inputs) -> dict``, one frozen-dataclass
config per scale, and the stages it reads declared as data (``needs``). Figures declare ``needs`` the same way, so
"where does this number come from" is answered by the figure file and by ``repro graph <paper> <fig>``:

    TOY_SWEEP = Stage("harmonic_loss.toy_sweep", compute=train_sweep, configs={"smoke": ..., "quick": ..., ...})
    FIGURE = Figure(..., needs={"sweep": Need(TOY_SWEEP, field="sweep")}, compute=compute)   # compute(cfg, sweep)

A need takes the stage's config from a field of the reader's config (``field="sweep"``: so ``--set sweep.lr=...``
reaches it and the reader's key covers it) or, without a field, the stage's own config at the reader's scale.

Caching is the figures' cache (:mod:`repro.cache`): a stage's entry lives under ``<cache>/<paper>/stage-<what>/<key>``,
its key hashes the stage's name, config and code fingerprint (its module and what that imports), and a reader's key
covers the stage through its own config (the nested field) and code (the figure module imports the stage's module).
The harness computes a stage once per config: a second reader restores it (two processes wait on one key lock).

A stage that trains a model can also write it as an **artifact** in its ecosystem's format, inside the same cache
entry (checksummed and atomic with it): HF ``save_pretrained`` for language models, a SAELens folder (``cfg.json`` +
``sae_weights.safetensors``) for crosscoders and SAEs, safetensors + JSON for toy models.
:func:`load_artifact` opens one by name in a notebook, computing it if missing.

Stage modules, like figure modules, stay light at import (heavy imports inside ``compute``): ``repro list`` and
``repro graph`` import them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.figure import SCALES, ReproError, apply_overrides, closest

ARTIFACT_DIR = "artifact"  # inside a stage's cache entry
ARTIFACT_FORMATS = ("transformers", "saelens", "safetensors")


@dataclass(frozen=True)
class Artifact:
    """How a stage's trained model is written and opened in its ecosystem's format.

    ``save(result, config, folder)`` writes into an empty ``folder`` (inside the entry being stored);
    ``open(folder)`` returns what a user of that ecosystem expects (a ``PreTrainedModel``, ``(cfg, tensors)``...).
    """

    format: str
    save: Callable[[dict[str, Any], Any, Path], None]
    open: Callable[[Path], Any]

    def __post_init__(self) -> None:
        if self.format not in ARTIFACT_FORMATS:
            raise ValueError(f"artifact format {self.format!r} is not one of {ARTIFACT_FORMATS}")


@dataclass(frozen=True)
class Stage:
    """A named, typed, cached computation; see the module docstring."""

    name: str  # "<paper>.<what>", e.g. "harmonic_loss.toy_sweep"
    compute: Callable[
        ..., dict[str, Any]
    ]  # compute(config, **inputs) -> result (numbers, arrays, nested dicts)
    configs: Mapping[str, Any]  # scale -> frozen dataclass instance
    title: str = ""
    needs: Mapping[str, Need] = field(default_factory=dict)
    artifact: Artifact | None = None
    est_seconds: Mapping[str, float] = field(default_factory=dict)
    device: Mapping[str, str] = field(
        default_factory=lambda: {"smoke": "cpu", "quick": "cpu", "paper": "cpu"}
    )
    cpu_threads: int = 1

    def __post_init__(self) -> None:
        paper, dot, what = self.name.partition(".")
        if not (dot and paper and what and "." not in what):
            raise ValueError(f"stage name {self.name!r} must be '<paper>.<what>'")
        missing = [s for s in SCALES if s not in self.configs]
        if missing:
            raise ValueError(f"stage {self.name}: configs lack scales {missing}")
        for scale, cfg in self.configs.items():
            if not (dataclasses.is_dataclass(cfg) and type(cfg).__dataclass_params__.frozen):
                raise TypeError(
                    f"stage {self.name}: config for {scale!r} must be a frozen dataclass instance"
                )
        _check_needs(self.name, self.needs)

    @property
    def paper(self) -> str:
        return self.name.partition(".")[0]

    @property
    def id(self) -> str:
        """The cache folder's name (``stage-<what>``: never a figure id)."""
        return "stage-" + self.name.partition(".")[2]

    @property
    def module(self) -> str:
        return self.compute.__module__

    def config(self, scale: str, overrides: Mapping[str, str] | None = None) -> Any:
        if scale not in SCALES:
            raise ReproError(
                f"unknown scale {scale!r}{closest(scale, SCALES)}; choose one of {', '.join(SCALES)}"
            )
        cfg = self.configs[scale]
        return apply_overrides(cfg, overrides, self.name) if overrides else cfg


@dataclass(frozen=True)
class Need:
    """A reader (figure or stage) reads ``stage``; its config is the reader's ``field`` (or the stage's own at the
    reader's scale when ``field`` is None).

    ``each``: the reader reads ``stage`` once per config of ``each(reader_cfg)`` (a function of the reader's config:
    the chunks of a sweep), and its input is the list of those results, in that order. Each chunk is a cache entry
    of its own, so chunks run in parallel (``--jobs``, one Ray task each), a changed reader recomputes only the
    chunks whose configs changed, and a rerun after a lost worker computes only the missing chunks."""

    stage: Stage
    field: str | None = None
    each: Callable[[Any], Sequence[Any]] | None = None
    label: Callable[[Any], str] | None = None  # a chunk's name in `repro graph` (default: its index)

    def __post_init__(self) -> None:
        if self.each is not None and self.field is not None:
            raise ValueError(f"a need of {self.stage.name} takes `field` or `each`, not both")

    def config(self, reader_cfg: Any, scale: str) -> Any:
        if self.each is not None:
            raise TypeError(f"the need of {self.stage.name} is one per chunk: use Need.configs")
        if self.field is None:
            return self.stage.configs[scale]
        return self._checked(getattr(reader_cfg, self.field), scale, self.field)

    def configs(self, reader_cfg: Any, scale: str) -> list[Any]:
        """The stage configs the reader reads: one, or one per chunk (``each``)."""
        if self.each is None:
            return [self.config(reader_cfg, scale)]
        return [self._checked(c, scale, f"chunk {i}") for i, c in enumerate(self.each(reader_cfg))]

    def _checked(self, cfg: Any, scale: str, what: str) -> Any:
        if type(cfg) is not type(self.stage.configs[scale]):
            raise TypeError(
                f"{what} holds a {type(cfg).__name__}, but {self.stage.name} takes a "
                f"{type(self.stage.configs[scale]).__name__}"
            )
        return cfg

    def input_names(self, name: str, cfgs: Sequence[Any]) -> list[str]:
        """The names of a reader's input ``name`` in the stage graph: ``name``, or ``name[i]`` per chunk (``i``, or
        the chunk's ``label``)."""
        if self.each is None:
            return [name]
        return [f"{name}[{self.label(c) if self.label else i}]" for i, c in enumerate(cfgs)]


def _check_needs(who: str, needs: Mapping[str, Any]) -> None:
    for name, need in needs.items():
        if not isinstance(need, Need):
            raise TypeError(f"{who}: needs[{name!r}] must be a repro.stage.Need")
        if not name.isidentifier():
            raise ValueError(f"{who}: input name {name!r} must be an identifier (it is a keyword of compute)")


# ---------------------------------------------------------------------------------------------------- lookup
def all_stages() -> dict[str, Stage]:
    """Every stage some registered figure reads (directly or through another stage), by name."""
    from repro.registry import all_figures

    found: dict[str, Stage] = {}
    todo = [need.stage for fig in all_figures() for need in fig.needs.values()]
    while todo:
        st = todo.pop()
        if st.name in found:
            if found[st.name] is not st:
                raise RuntimeError(f"two different stages are named {st.name}")
            continue
        found[st.name] = st
        todo.extend(need.stage for need in st.needs.values())
    return dict(sorted(found.items()))


def stages_of(unit: Any) -> list[Stage]:
    """The stages ``unit`` (figure or stage) reads, directly or not, each once."""
    out: dict[str, Stage] = {}
    todo = [n.stage for n in unit.needs.values()]
    while todo:
        st = todo.pop()
        if st.name not in out:
            out[st.name] = st
            todo.extend(n.stage for n in st.needs.values())
    return list(out.values())


def stages_read(units: list[tuple[Any, Any]], scale: str) -> list[tuple[Stage, Any]]:
    """Every (stage, config) that ``units`` ((figure or stage, config) pairs) read at ``scale``, directly or not,
    each once (each chunk of a sweep apart)."""
    found: dict[tuple[str, Any], tuple[Stage, Any]] = {}

    def visit(u: Any, c: Any) -> None:
        for need in u.needs.values():
            for sub in need.configs(c, scale):
                if (need.stage.name, sub) not in found:
                    found[(need.stage.name, sub)] = (need.stage, sub)
                    visit(need.stage, sub)

    for u, c in units:
        visit(u, c)
    return list(found.values())


def estimated_seconds(unit: Any, scale: str) -> float | None:
    """The unit's own estimate plus those of the stages it reads at ``scale`` (from an empty cache; a stage read
    at several configs, such as the chunks of a sweep, counts once per config)."""
    parts = [unit.est_seconds.get(scale)]
    parts += [st.est_seconds.get(scale) for st, _ in stages_read([(unit, unit.configs[scale])], scale)]
    return sum(p for p in parts if p) if any(parts) else None


def read_configs(scale: str) -> dict[str, tuple[Stage, Any]]:
    """Every (stage, config) that the registered figures read at ``scale`` (each chunk of a sweep apart), by cache
    key: what ``repro stage NAME --key KEY`` computes (one job per stage node of ``repro graph --json``)."""
    from repro.cache import cache_key
    from repro.registry import all_figures

    figures = [(fig, fig.config(scale)) for fig in all_figures()]
    return {cache_key(st, cfg): (st, cfg) for st, cfg in stages_read(figures, scale)}


def find_stage(name: str) -> Stage:
    stages = all_stages()
    if name not in stages:
        raise ReproError(
            f"no stage named {name!r}{closest(name, stages)}; stages: {', '.join(stages) or 'none'}"
        )
    return stages[name]


# ---------------------------------------------------------------------------------------------------- graph
@dataclass
class Node:
    """One unit of a figure's stage graph at one scale: what it is, its cache key, whether it is cached."""

    name: str
    kind: str  # "figure" or "stage"
    scale: str
    key: str
    cached: bool
    needs: list[str]  # keys of the nodes it reads
    inputs: dict[str, str]  # input name -> node key
    est_seconds: float | None
    device: str
    artifact: str | None = None
    depth: int = 0  # 0: reads no stage; else 1 + the deepest node it reads (what can run in parallel)
    entry: str = ""  # its cache entry relative to the cache root (<paper>/<id>/<key>)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def graph(unit: Any, cfg: Any, scale: str, cache: Any) -> list[Node]:
    """The nodes ``unit`` (a figure or stage) reads, dependencies first, ending with ``unit`` itself; a stage
    read twice appears once."""
    from repro.cache import cache_key

    nodes: dict[str, Node] = {}

    def visit(u: Any, c: Any) -> str:
        key = cache_key(u, c)
        if key in nodes:
            return key
        inputs = {}
        for name, need in u.needs.items():
            cfgs = need.configs(c, scale)
            for label, sub in zip(need.input_names(name, cfgs), cfgs, strict=True):
                inputs[label] = visit(need.stage, sub)
        depth = 1 + max((nodes[k].depth for k in inputs.values()), default=-1)
        artifact = getattr(u, "artifact", None)
        nodes[key] = Node(
            name=u.name,
            kind="stage" if isinstance(u, Stage) else "figure",
            scale=scale,
            key=key,
            cached=cache.has_entry(u, key),
            needs=sorted(set(inputs.values())),
            inputs=inputs,
            est_seconds=u.est_seconds.get(scale),
            device=u.device.get(scale, "cpu"),
            artifact=artifact.format if artifact else None,
            depth=depth,
            entry=f"{u.paper}/{u.id}/{key}",
        )
        return key

    visit(unit, cfg)
    return list(nodes.values())


@dataclass
class Job:
    """One piece of a ``--jobs`` run: an uncached stage to compute, or a figure to run once what it reads is
    cached. ``needs`` are the keys of the jobs it waits for; ``critical_seconds`` is its estimate plus the longest
    chain of estimates of the jobs that wait on it (what to start first when several are ready)."""

    key: str
    unit: Any
    cfg: Any
    needs: set[str]
    est_seconds: float
    critical_seconds: float = 0.0

    @property
    def is_stage(self) -> bool:
        return isinstance(self.unit, Stage)


UNKNOWN_ESTIMATE_S = 30.0  # a unit that declares no estimate at this scale


def plan_jobs(units: list[tuple[Any, Any]], scale: str, cache: Any, force: bool = False) -> list[Job]:
    """The jobs that running ``units`` ((figure, config) pairs) takes: every uncached stage they read (every stage
    under ``force``) once, then each figure, in dependency order. A scheduler may start any job whose ``needs`` are
    done, longest ``critical_seconds`` first: the zoo -> crosscoders -> figures chain starts at once instead of
    waiting for a wave of unrelated stages to end, and short figures fill the gaps."""
    from repro.cache import cache_key

    jobs: dict[str, Job] = {}
    pending: dict[str, bool] = {}  # stage key -> must it be computed

    def visit(u: Any, c: Any, key: str) -> None:
        """Place ``u`` (under ``key``) after the pending stages it reads; a cached stage whose inputs are cached
        is not a job."""
        needs: set[str] = set()
        for n in u.needs.values():
            for sub in n.configs(c, scale):
                sub_key = cache_key(n.stage, sub)
                if sub_key not in pending:
                    visit(n.stage, sub, sub_key)
                if pending[sub_key]:
                    needs.add(sub_key)
        if isinstance(u, Stage):
            pending[key] = force or bool(needs) or not cache.has_entry(u, key)
            if not pending[key]:
                return
        jobs[key] = Job(key, u, c, needs, u.est_seconds.get(scale) or UNKNOWN_ESTIMATE_S)

    for u, c in units:
        visit(u, c, f"figure:{u.name}")
    waiting_on = {k: [j for j in jobs.values() if k in j.needs] for k in jobs}
    for job in reversed(list(jobs.values())):  # dependencies are placed first, so readers are scored first
        job.critical_seconds = job.est_seconds + max(
            (r.critical_seconds for r in waiting_on[job.key]), default=0
        )
    return list(jobs.values())


# ---------------------------------------------------------------------------------------------------- notebooks
def compute_stage(
    stage: Stage,
    cfg: Any,
    scale: str,
    cache: Any = None,
    force: bool = False,
    force_stages: bool | None = None,
) -> tuple[dict, str]:
    """(result, key) of ``stage`` at ``cfg``: restored from the cache or computed (with what it reads) and stored.
    ``force_stages=False``: under ``force``, the stages it reads were already recomputed (by earlier jobs)."""
    from repro import paths
    from repro.cache import Cache
    from repro.progress import status

    cache = cache or Cache(paths.cache_dir())
    result, key, *_ = cache.get_or_compute(
        stage,
        cfg,
        scale,
        stage.compute,
        force=force,
        log=lambda m: status(f"[{stage.name} {scale}] {m}"),
        force_stages=force_stages,
    )
    return result, key


def load_result(
    name: str, scale: str = "quick", overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A stage's result (numbers and arrays) by name, computing it if missing: ``load_result("geneft.lr_sweep")``."""
    stage = find_stage(name)
    return compute_stage(stage, stage.config(scale, overrides), scale)[0]


def load_artifact(name: str, scale: str = "quick", overrides: Mapping[str, str] | None = None) -> Any:
    """A stage's trained model in its ecosystem's format, by name, computing it if missing.

    ``load_artifact("graph_universality.icl_model")`` is a ``transformers`` model; a crosscoder is ``(cfg, tensors)``
    of its SAELens folder. A stage without an artifact raises a one-line error naming :func:`load_result`."""
    from repro import paths
    from repro.cache import Cache

    stage = find_stage(name)
    if stage.artifact is None:
        with_artifacts = [n for n, s in all_stages().items() if s.artifact is not None]
        raise ReproError(
            f"stage {name} writes no model artifact; use repro.load_result({name!r}) for its numbers "
            f"(stages with artifacts: {', '.join(with_artifacts) or 'none'})"
        )
    cache = Cache(paths.cache_dir())
    _, key = compute_stage(stage, stage.config(scale, overrides), scale, cache)
    return stage.artifact.open(artifact_dir(cache, stage, key))


def artifact_dir(cache: Any, stage: Stage, key: str) -> Path:
    """Where the artifact of ``stage``'s entry ``key`` lies (a folder the ecosystem's loader opens)."""
    return cache.entry_dir(stage, key) / ARTIFACT_DIR


# ---------------------------------------------------------------------------------------------------- CI fan-out
CI_WAVES = 3  # reproduce.yml has this many stage jobs in a row; a deeper graph is refused in one line


def ci_matrix(graph_json: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """GitHub Actions matrices from ``repro graph --json``: ``wave0..wave{CI_WAVES-1}`` (one job per stage, each
    wave's stages reading only earlier waves') and ``papers`` (one job per paper: its figures' analysis, plots
    and the verdict gate). Each stage entry names its cache entry, so a job caches exactly that stage's result."""
    stages = [n for n in graph_json["nodes"] if n["kind"] == "stage"]
    deepest = max((n["depth"] for n in stages), default=-1)
    if deepest >= CI_WAVES:
        deep = next(n["name"] for n in stages if n["depth"] == deepest)
        raise ReproError(
            f"stage {deep} sits {deepest + 1} stages deep; reproduce.yml runs {CI_WAVES} waves: add a wave job"
        )
    out: dict[str, list[dict[str, Any]]] = {f"wave{i}": [] for i in range(CI_WAVES)}
    repeated = {n["name"] for n in stages if sum(m["name"] == n["name"] for m in stages) > 1}
    for n in sorted(stages, key=lambda n: (n["name"], n["key"])):
        # the job's title: the stage, and its key where the stage has several nodes (the chunks of a sweep)
        label = f"{n['name']} {n['key'][:8]}" if n["name"] in repeated else n["name"]
        out[f"wave{n['depth']}"].append(
            {"name": n["name"], "label": label, "key": n["key"], "entry": n["entry"], "device": n["device"]}
        )
    papers = sorted({n["name"].split(":")[0] for n in graph_json["nodes"] if n["kind"] == "figure"})
    out["papers"] = [{"paper": p} for p in papers]
    return out
