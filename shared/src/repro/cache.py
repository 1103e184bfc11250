"""Content-addressed store for figure results.

Key = sha256 of (figure id, resolved config, code fingerprint, torch version). The code fingerprint hashes the
*syntax tree* of the code that can change a result: the figure's module without its ``plot*``/``claims*`` functions,
its package's library modules (everything outside ``figures/``), and the compute modules of ``repro``. Comments,
docstrings and formatting do not count; editing a plot never recomputes, editing a model always does.

An entry is a directory ``<root>/<paper>/<fig>/<key>/`` holding ``data.json`` (structure and scalars), ``arrays.npz``
(numpy arrays, no pickles) and ``manifest.json`` (config, fingerprint, sha256 of both files). It is written to a
temporary directory and renamed into place, so a crash never leaves a half-written entry under the real key. On
load the checksums are verified; a truncated or corrupt entry is reported in one line, moved aside (never deleted)
and recomputed. ``<root>/<paper>/<fig>/latest-<scale>.json`` remembers the last entry made per scale, only so that
a miss can say *why* it recomputes ("no entry with this config (the last one computed differs: lr 0.001 -> 0.003)",
"code changed (...)").
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import functools
import hashlib
import importlib.util
import io
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from repro.figure import Figure, config_dict, config_diff
from repro.io import atomic_write_bytes, atomic_write_text, sha256_file  # noqa: F401  (re-exported)
from repro.stage import ARTIFACT_DIR

FORMAT_VERSION = 1
DATA_FILE, ARRAYS_FILE, MANIFEST_FILE = "data.json", "arrays.npz", "manifest.json"
# (stage name, config) already recomputed under --force in this process: a stage read by several figures is
# forced once.
_FORCED: set[tuple[str, str]] = set()
# repro modules that only present results: changing them never changes a computed number.
PRESENTATION_MODULES = {
    "cli",
    "plot",
    "registry",
    "claims",
    "cache",
    "figure",
    "run",
    "progress",
    "paths",
    "gallery",
    "report",
    "executor",
    "faults",
    "io",
    "environment",
    "stage",  # a stage's own code is fingerprinted from its module, like a figure's
}
# Figures whose results a running compute asked for (``repro.run.require``): name -> code fingerprint hash.
_DEPENDENCIES: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "repro_deps", default=None
)


class CorruptEntry(Exception):
    pass


# ----------------------------------------------------------------------------------------------- code fingerprint
def _normalised_tree(source: str, drop_presentation: bool) -> ast.Module:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]  # docstrings do not change results
    if drop_presentation:
        tree.body = [
            n
            for n in tree.body
            if not (
                isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                and n.name.lstrip("_").startswith(("plot", "claims"))
            )
        ]
    return tree


def _package_root(top: str) -> Path:
    """Folder holding the top-level package ``top`` (found without importing anything heavy)."""
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"cannot locate package {top}")
    return Path(next(iter(spec.submodule_search_locations))).parent


def _module_path(module: str, roots: dict[str, Path]) -> Path | None:
    """File of a first-party module by name (``a.b`` -> a/b.py or a/b/__init__.py), or None if not a module."""
    base = roots[module.split(".")[0]].joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                parts = module.split(".")
                base = parts[: len(parts) - node.level + (1 if is_package else 0)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{alias.name}" for alias in node.names)  # may be submodules
    return names


@functools.lru_cache(maxsize=4096)
def _file_summary(source: str, module: str, is_package: bool, is_figure: bool) -> tuple[str, frozenset]:
    """(hash of the normalised syntax tree, modules it imports), memoised on the source text: `repro list`
    fingerprints every figure, and most share their library modules (parsing is the cost, reading is cheap)."""
    tree = _normalised_tree(source, drop_presentation=is_figure)
    digest = hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()[:16]
    return digest, frozenset(_imported_modules(tree, module, is_package))


def code_fingerprint(fig: Figure) -> dict[str, str]:
    """Hashes of the code that can change ``fig``'s result: ``{file label: sha256[:16]}``.

    Starts at the figure's module and follows its imports (at any depth, also inside functions) through the
    first-party packages: its own paper package and ``repro``, except ``repro``'s presentation modules. Figure
    modules (the start, or another figure it imports) count without their ``plot*``/``claims*`` functions, so
    editing a plot never invalidates a result. A module the figure never imports does not count.
    """
    top = fig.module.split(".")[0]
    roots = {name: _package_root(name) for name in {top, "repro"}}
    out: dict[str, str] = {}
    queue, seen = [fig.module], set()
    while queue:
        module = queue.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_path(module, roots)
        if path is None:
            continue
        is_figure = module == fig.module or ".figures." in module
        source = path.read_text()
        digest, imports = _file_summary(source, module, path.name == "__init__.py", is_figure)
        out[str(path.relative_to(roots[module.split(".")[0]]))] = digest
        for name in imports:
            head = name.split(".")[0]
            if head in roots and not (head == "repro" and name.split(".")[-1] in PRESENTATION_MODULES):
                queue.append(name)
    return dict(sorted(out.items()))


def fingerprint_hash(fingerprint: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]


def record_dependency(fig: Figure) -> None:
    """Note that the compute now running used ``fig``'s result; its entry then goes stale when ``fig``'s code
    changes. (A dependency's *config* is fixed by the dependent's config or by the dependency's code, both
    already in a key.)"""
    deps = _DEPENDENCIES.get()
    if deps is not None:
        deps[fig.name] = fingerprint_hash(code_fingerprint(fig))


def _stale_dependencies(manifest: dict[str, Any]) -> list[str]:
    from repro.registry import resolve

    stale = []
    for name, digest in manifest.get("dependencies", {}).items():
        try:
            (dep,) = resolve([name])
        except Exception:  # the dependency no longer exists
            stale.append(name)
            continue
        if fingerprint_hash(code_fingerprint(dep)) != digest:
            stale.append(name)
    return stale


def _torch_version() -> str:
    # From the installed metadata, not ``import torch``: ``repro list`` must stay fast.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return ".".join(version("torch").split(".")[:2])
    except PackageNotFoundError:  # pragma: no cover - torch is a dependency
        return "none"


def cache_key(fig: Figure, cfg: Any, fingerprint: dict[str, str] | None = None) -> str:
    fingerprint = fingerprint if fingerprint is not None else code_fingerprint(fig)
    blob = json.dumps(
        {
            "figure": fig.name,
            "config": config_dict(cfg),
            "code": fingerprint,
            "torch": _torch_version(),
            "format": FORMAT_VERSION,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


# ----------------------------------------------------------------------------------------------- (de)serialisation
def _to_numpy(x: Any) -> np.ndarray | None:
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return None


def split_result(result: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """Split nested dicts/lists into JSON-able structure and a flat dict of arrays (referenced by path)."""
    arrays: dict[str, np.ndarray] = {}

    def walk(x: Any, path: str) -> Any:
        arr = _to_numpy(x)
        if arr is not None:
            if arr.dtype == object:
                raise TypeError(
                    f"result field {path!r} is an object array; results must be numeric/plain data"
                )
            arrays[path] = arr
            return {"__array__": path}
        if isinstance(x, dict):
            for k in x:
                if not isinstance(k, str):
                    raise TypeError(f"result keys must be strings, got {k!r} at {path!r}")
            return {k: walk(v, f"{path}/{k}" if path else k) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(x)]
        if isinstance(x, np.generic):
            return x.item()
        if x is None or isinstance(x, bool | int | float | str):
            return x
        raise TypeError(f"result field {path!r} has unsupported type {type(x).__name__}")

    return walk(result, ""), arrays


def join_result(structure: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(structure, dict):
        if set(structure) == {"__array__"}:
            return arrays[structure["__array__"]]
        return {k: join_result(v, arrays) for k, v in structure.items()}
    if isinstance(structure, list):
        return [join_result(v, arrays) for v in structure]
    return structure


def _first_forced(fig: Any, cfg: Any) -> bool:
    """True the first time ``fig`` at ``cfg`` is forced in this process, False after."""
    mark = (fig.name, json.dumps(config_dict(cfg), sort_keys=True))
    if mark in _FORCED:
        return False
    _FORCED.add(mark)
    return True


# ----------------------------------------------------------------------------------------------- the store
@dataclass
class Lookup:
    """What a cache lookup found: the result (or None) and a one-line account of why."""

    key: str
    result: dict[str, Any] | None
    message: str


@contextlib.contextmanager
def _key_lock(path: Path, log: Callable[[str], None]):
    """An exclusive advisory lock (POSIX ``flock``) on ``path``; a no-op where ``fcntl`` does not exist."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fh = open(path, "a")  # noqa: SIM115 - closed in the finally below, after the retry check
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log("waiting: another process is computing this result")
                fcntl.flock(fh, fcntl.LOCK_EX)
            # `repro clean --corrupt` may have removed an unused lock file between our open and our flock: then
            # the lock we hold is on a file nobody else sees, so take the one at the path now.
            try:
                same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                continue
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
            return
        finally:
            fh.close()


def lock_is_held(path: Path) -> bool:
    """Whether a live process holds the lock file ``path`` (a lock left by a killed process is not held: the
    kernel drops a dead process's ``flock``)."""
    import fcntl

    try:
        with open(path, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
            return False
    except OSError:
        return False


def remove_unheld_lock(path: Path) -> bool:
    """Delete the lock file ``path`` if no process holds it (while holding it, so no one takes it meanwhile)."""
    import fcntl

    try:
        with open(path, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            path.unlink(missing_ok=True)
            fcntl.flock(fh, fcntl.LOCK_UN)
            return True
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leftover_pid(name: str) -> int | None:
    """The writer's pid in a temporary folder name ``.<key>.tmp-<pid>-xxxx`` / ``.<key>.old-<pid>`` (else None)."""
    import re

    m = re.search(r"\.(?:tmp|old)-(\d+)", name)
    return int(m.group(1)) if m else None


class Cache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def fig_dir(self, fig: Figure) -> Path:
        return self.root / fig.paper / fig.id

    def entry_dir(self, fig: Figure, key: str) -> Path:
        return self.fig_dir(fig) / key

    # -- reading
    def load(self, fig: Figure, key: str) -> dict[str, Any]:
        d = self.entry_dir(fig, key)
        try:
            manifest = json.loads((d / MANIFEST_FILE).read_text())
            if manifest.get("format") != FORMAT_VERSION:
                raise CorruptEntry(
                    f"written by cache format {manifest.get('format')}, this is {FORMAT_VERSION}"
                )
            for name, digest in manifest["sha256"].items():
                if sha256_file(d / name) != digest:
                    raise CorruptEntry(f"{name} checksum mismatch (truncated or edited)")
            structure = json.loads((d / DATA_FILE).read_text())
            with np.load(d / ARRAYS_FILE, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            return join_result(structure, arrays)
        except CorruptEntry:
            raise
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise CorruptEntry(f"{type(e).__name__}: {e}") from None

    def manifest(self, fig: Figure, key: str) -> dict[str, Any]:
        try:
            return json.loads((self.entry_dir(fig, key) / MANIFEST_FILE).read_text())
        except (OSError, ValueError):
            return {}

    def lookup(self, fig: Figure, cfg: Any, scale: str) -> Lookup:
        fingerprint = code_fingerprint(fig)
        key = cache_key(fig, cfg, fingerprint)
        d = self.entry_dir(fig, key)
        if d.is_dir():
            stale = _stale_dependencies(self.manifest(fig, key))
            if stale:
                return Lookup(
                    key, None, f"recomputing: the code of {', '.join(stale)} (used by this figure) changed"
                )
            try:
                return Lookup(key, self.load(fig, key), f"restored {key}")
            except CorruptEntry as e:
                aside = self._move_aside(d)
                return Lookup(
                    key, None, f"recomputing: cache entry {d} is corrupt ({e}); moved to {aside.name}"
                )
        return Lookup(key, None, "recomputing: " + self._why_missing(fig, cfg, scale, fingerprint))

    def _why_missing(self, fig: Figure, cfg: Any, scale: str, fingerprint: dict[str, str]) -> str:
        """Why there is no entry, against the newest entry with this very config (then only code or environment
        can differ) or else the last one computed: a stage cut into chunks computes many configs in turn, and its
        last entry is another chunk's, so a code edit would read as a config change for every chunk. Without an
        entry of this config the message says so and shows how the last one differs: on a cold cache that is a
        sibling chunk, not a change the user made."""
        config = config_dict(cfg)
        prev = self._newest_with_config(fig, config, scale)
        if prev is None:
            latest = self.fig_dir(fig) / f"latest-{scale}.json"
            try:
                prev = json.loads(latest.read_text())
            except (OSError, ValueError):
                return "not cached yet"
        reasons = []
        diff = config_diff(prev.get("config", {}), config)
        if diff:
            reasons.append(f"no entry with this config (the last one computed differs: {diff})")
        changed = sorted(
            k
            for k in set(prev.get("code", {})) | set(fingerprint)
            if prev["code"].get(k) != fingerprint.get(k)
        )
        if changed:
            reasons.append(f"code changed ({', '.join(changed)})")
        if not reasons:
            reasons.append(
                f"environment changed (torch {prev.get('torch')} -> {_torch_version()}) or entry removed"
            )
        return "; ".join(reasons)

    def _newest_with_config(self, fig: Figure, config: dict[str, Any], scale: str) -> dict[str, Any] | None:
        found = []
        for m in self.fig_dir(fig).glob(f"*/{MANIFEST_FILE}"):
            try:
                manifest = json.loads(m.read_text())
            except (OSError, ValueError):
                continue
            if manifest.get("scale") == scale and manifest.get("config") == config:
                found.append((str(manifest.get("created", "")), manifest))
        return max(found, key=lambda f: f[0])[1] if found else None

    def _move_aside(self, d: Path) -> Path:
        aside = d.with_name(f"{d.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        d.rename(aside)
        return aside

    # -- writing
    def store(
        self,
        fig: Figure,
        cfg: Any,
        scale: str,
        key: str,
        result: dict[str, Any],
        seconds: float,
        env: dict | None = None,
        dependencies: dict[str, str] | None = None,
        peak_rss_mb: float | None = None,
        export: Callable[[Path], None] | None = None,
    ) -> None:
        from repro.faults import guard

        structure, arrays = split_result(result)
        final = self.entry_dir(fig, key)
        with guard(final):
            self._store(
                fig, cfg, scale, key, structure, arrays, seconds, env, dependencies, peak_rss_mb, export
            )

    def _store(
        self, fig, cfg, scale, key, structure, arrays, seconds, env, dependencies, peak_rss_mb, export
    ):
        final = self.entry_dir(fig, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{key}.tmp-{os.getpid()}-"))
        try:
            (tmp / DATA_FILE).write_text(json.dumps(structure))
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            (tmp / ARRAYS_FILE).write_bytes(buf.getvalue())
            if export is not None:  # a stage's model in its ecosystem's format, checksummed with the entry
                (tmp / ARTIFACT_DIR).mkdir()
                export(tmp / ARTIFACT_DIR)
            files = [DATA_FILE, ARRAYS_FILE] + sorted(
                str(f.relative_to(tmp)) for f in (tmp / ARTIFACT_DIR).rglob("*") if f.is_file()
            )
            fingerprint = code_fingerprint(fig)
            manifest = {
                "format": FORMAT_VERSION,
                "figure": fig.name,
                "scale": scale,
                "key": key,
                "config": config_dict(cfg),
                "code": fingerprint,
                "torch": _torch_version(),
                "compute_seconds": seconds,
                "peak_rss_mb": peak_rss_mb,
                "environment": env or {},
                "dependencies": dependencies or {},
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "sha256": {n: sha256_file(tmp / n) for n in files},
            }
            (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))
            for f in tmp.rglob("*"):
                if f.is_file():
                    with open(f, "rb") as fh:
                        os.fsync(fh.fileno())
            if final.exists():  # a stale entry (its dependencies changed), or a twin process got there first
                old = final.with_name(f".{final.name}.old-{os.getpid()}")
                os.rename(final, old)
                os.rename(tmp, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        latest = {k: manifest[k] for k in ("key", "config", "code", "torch")}
        atomic_write_text(self.fig_dir(fig) / f"latest-{scale}.json", json.dumps(latest, indent=1))

    def get_or_compute(
        self,
        fig: Figure,
        cfg: Any,
        scale: str,
        compute: Callable[..., dict[str, Any]],
        force: bool = False,
        log: Callable[[str], None] = print,
        force_stages: bool | None = None,
    ) -> tuple[dict[str, Any], str, bool, float]:
        """Return (result, key, restored?, compute seconds), computing and storing on a miss.

        ``fig`` is a figure or a stage (:mod:`repro.stage`). On a miss, the stages it ``needs`` are restored or
        computed first (recursively) and passed to ``compute(cfg, **inputs)``; a hit never loads them. ``force``
        recomputes the stages it reads too (each once per process), unless ``force_stages=False``.

        Computing holds a lock on the key, so two processes asking for the same result (``--jobs``, or two
        figures built on one stage) compute it once: the second waits, then restores it.
        """
        from repro.faults import guard

        if force and fig.id.startswith("stage-"):  # a stage read by several figures is forced once
            force = _first_forced(fig, cfg)
        with guard(self.root):
            found = self.lookup(fig, cfg, scale)
        if found.result is not None and not force:
            log(found.message)
            return found.result, found.key, True, 0.0
        with guard(self.root):
            lock = _key_lock(self.root / ".locks" / f"{fig.paper}-{fig.id}-{found.key}.lock", log)
            lock.__enter__()
        try:
            if not force:  # another process may have computed it while we waited
                with guard(self.root):
                    again = self.lookup(fig, cfg, scale)
                if again.result is not None:
                    log(again.message + " (computed by another process)")
                    return again.result, again.key, True, 0.0
            inputs = self.inputs(fig, cfg, scale, force if force_stages is None else force_stages, log)
            return self._compute_and_store(fig, cfg, scale, found, compute, inputs, force, log)
        finally:
            lock.__exit__(None, None, None)

    def inputs(
        self, fig: Any, cfg: Any, scale: str, force: bool, log: Callable[[str], None]
    ) -> dict[str, Any]:
        """The results of the stages ``fig`` needs, by input name (restored or computed)."""
        out = {}
        for name, need in getattr(fig, "needs", {}).items():
            st = need.stage
            results = [
                self.get_or_compute(
                    st, sub, scale, st.compute, force=force, log=lambda m, st=st: log(f"needs {st.name}: {m}")
                )[0]
                for sub in need.configs(cfg, scale)
            ]
            out[name] = results if need.each is not None else results[0]
        return out

    def _compute_and_store(self, fig, cfg, scale, found, compute, inputs, force, log):
        log("recomputing: --force" if force else found.message)
        from repro.environment import environment, prepare_torch
        from repro.faults import guard
        from repro.progress import peak_memory, stage

        prepare_torch(fig)
        t0 = time.perf_counter()
        token = _DEPENDENCIES.set({})
        try:
            with (
                guard(),
                peak_memory() as mem,
                stage(f"[{fig.name} {scale}] computing", estimate=fig.est_seconds.get(scale)),
            ):
                result = compute(cfg, **inputs)
            deps = _DEPENDENCIES.get()
        finally:
            _DEPENDENCIES.reset(token)
        seconds = time.perf_counter() - t0
        artifact = getattr(fig, "artifact", None)
        export = (lambda folder: artifact.save(result, cfg, folder)) if artifact is not None else None
        self.store(fig, cfg, scale, found.key, result, seconds, environment(), deps, mem.get("mb"), export)
        # Hand back what a later restore would give, so a fresh run and a cached one behave identically.
        return self.load(fig, found.key), found.key, False, seconds

    def cached_manifest(self, fig: Figure, cfg: Any) -> dict[str, Any] | None:
        """The manifest of the current entry for ``cfg`` (current code), or None when there is none."""
        key = cache_key(fig, cfg)
        return self.manifest(fig, key) if self.has_entry(fig, key) else None

    # -- health: quarantined entries, leftovers of killed writers, unused locks, entries of older code
    def quarantined(self, fig: Figure) -> list[Path]:
        """Entries found corrupt and moved aside (``<key>.corrupt-<time>``)."""
        d = self.fig_dir(fig)
        return sorted(p for p in d.iterdir() if ".corrupt-" in p.name) if d.is_dir() else []

    def leftovers(self, fig: Figure) -> list[Path]:
        """Temporary folders of writers that died (SIGKILL, power loss) before renaming them into place."""
        d = self.fig_dir(fig)
        if not d.is_dir():
            return []
        out = []
        for p in d.iterdir():
            if p.name.startswith(".") and (".tmp-" in p.name or ".old-" in p.name):
                pid = _leftover_pid(p.name)
                if pid is None or pid == os.getpid() or not _pid_alive(pid):
                    out.append(p)
        return sorted(out)

    def unheld_locks(self) -> list[Path]:
        d = self.root / ".locks"
        return sorted(p for p in d.glob("*.lock") if not lock_is_held(p)) if d.is_dir() else []

    def entries(self, fig: Figure) -> list[Path]:
        d = self.fig_dir(fig)
        return (
            sorted(
                p
                for p in d.iterdir()
                if p.is_dir() and not p.name.startswith(".") and ".corrupt-" not in p.name
            )
            if d.is_dir()
            else []
        )

    def stale_reason(self, fig: Figure, entry: Path, fingerprint: dict[str, str]) -> str | None:
        """Why no current code can produce ``entry`` (older code, torch or format), or None if it is current."""
        m = self.manifest(fig, entry.name)
        if not m:
            return None  # no manifest: corrupt, reported as such
        if m.get("format") != FORMAT_VERSION:
            return f"cache format {m.get('format')}"
        if m.get("code") != fingerprint:
            changed = sorted(
                k
                for k in set(m.get("code", {})) | set(fingerprint)
                if m.get("code", {}).get(k) != fingerprint.get(k)
            )
            return f"older code ({', '.join(changed)})"
        if m.get("torch") != _torch_version():
            return f"torch {m.get('torch')}"
        stale = _stale_dependencies(m)
        if stale:
            return f"older code of {', '.join(stale)}"
        return None

    def clean_corrupt(self, figs: list[Figure]) -> tuple[int, int]:
        """Remove quarantined entries, leftovers of killed writers and unused lock files: (count, bytes)."""
        targets = [p for f in figs for p in (*self.quarantined(f), *self.leftovers(f))]
        n, size = 0, 0
        for t in targets:
            size += _size(t)
            shutil.rmtree(t, ignore_errors=True) if t.is_dir() else t.unlink(missing_ok=True)
            n += 1
        for lock in self.unheld_locks():
            if remove_unheld_lock(lock):
                n += 1
        return n, size

    def clean_stale(self, figs: list[Figure]) -> tuple[int, int]:
        """Remove entries that no current code can produce: (count, bytes)."""
        n, size = 0, 0
        for f in figs:
            fp = code_fingerprint(f)
            for e in self.entries(f):
                if self.stale_reason(f, e, fp) is not None:
                    size += _size(e)
                    shutil.rmtree(e, ignore_errors=True)
                    n += 1
        return n, size

    def has_entry(self, fig: Any, key: str) -> bool:
        """Whether ``fig`` (figure or stage) has a finished entry under ``key`` (not checked for corruption)."""
        return (self.entry_dir(fig, key) / MANIFEST_FILE).exists()

    def is_cached(self, fig: Figure, cfg: Any) -> bool:
        return self.has_entry(fig, cache_key(fig, cfg))

    def clean(self, fig: Figure, scale: str | None = None) -> int:
        """Delete ``fig``'s entries (of one scale, or all); returns bytes freed."""
        d = self.fig_dir(fig)
        if not d.exists():
            return 0
        targets = []
        for entry in d.iterdir():
            if scale is None or entry.name == f"latest-{scale}.json":
                targets.append(entry)
            elif entry.is_dir():
                try:
                    if json.loads((entry / MANIFEST_FILE).read_text()).get("scale") == scale:
                        targets.append(entry)
                except (OSError, ValueError):
                    pass
        size = 0
        for t in targets:
            files = [t] if t.is_file() else [p for p in t.rglob("*") if p.is_file()]
            size += sum(p.stat().st_size for p in files)
            shutil.rmtree(t) if t.is_dir() else t.unlink()
        return size


def _size(p: Path) -> int:
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
