"""OS-level failures on the cache, the output and artifact folders, turned into one line that names the path and
the fix (the CLI prints it without a traceback, exit 1).

No space, no permission, a read-only file system, a file where a folder should be: none of these is a bug in the
code, so the user should read what to do, not a traceback. The writers themselves stay atomic (temporary file or
folder, then rename; the temporary is removed on any failure), so a failure here never leaves a half-written
entry, figure or artifact behind.

Some writers (safetensors, torch) report an OS error as their own exception type with ``(os error 28)`` in the
text and no path; :func:`describe` then names the deepest folder that the failing frames were writing to.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
from pathlib import Path

# ``--out`` of the running command (set by the CLI), so a failure there suggests another ``--out``.
OUTPUT_DIR: Path | None = None
HANDLED = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOTDIR,
    errno.EISDIR,
}
_TEXT = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "not a directory (a file is in the way)",
    errno.EISDIR: "is a directory, not a file",
}
_OS_ERROR_IN_TEXT = re.compile(
    r"os error (\d+)|No space left on device|Permission denied|Read-only file system"
)


class StorageError(Exception):
    """An OS-level failure writing results, figures or artifacts: one line (path and fix), exit 1."""


def error_number(exc: BaseException) -> int | None:
    """The errno of an OS-level failure, also when a library wrapped it in its own exception type."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno is not None:
            return e.errno
        m = _OS_ERROR_IN_TEXT.search(str(e))
        if m:
            if m.group(1):
                return int(m.group(1))
            text = m.group(0)
            return {"No space left on device": errno.ENOSPC, "Permission denied": errno.EACCES}.get(
                text, errno.EROFS
            )
    return None


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _where(path: Path) -> str:
    """Which of repro's folders ``path`` is in, as the fix to suggest."""
    from repro import paths

    path = Path(path).absolute()
    for root, fix in (
        (paths.cache_dir(), "or set REPRO_CACHE_DIR to a folder on another disk"),
        (OUTPUT_DIR or paths.figures_dir(), "or choose another --out"),
    ):
        with contextlib.suppress(ValueError):
            path.relative_to(Path(root).absolute())
            return fix
    return "or write it somewhere else"


def _free_mb(path: Path) -> float | None:
    for p in (Path(path), *Path(path).parents):
        with contextlib.suppress(OSError):
            if p.exists():
                return shutil.disk_usage(p).free / 1e6
    return None


_PATH_LOCALS = ("path", "tmp", "save_directory", "filename", "file", "f", "final", "out_dir")


def _path_from_traceback(exc: BaseException) -> Path | None:
    """The deepest path-like local (``path``, ``tmp``, ``save_directory``...) of the frames that failed."""
    found = None
    for e in _chain(exc):
        tb = e.__traceback__
        while tb is not None:
            for name, value in tb.tb_frame.f_locals.items():
                if (
                    name in _PATH_LOCALS
                    and (isinstance(value, Path) or (isinstance(value, str) and value.startswith("/")))
                    and not _is_temporary(Path(value))
                ):
                    found = Path(value)
            tb = tb.tb_next
        if found is not None:
            return found
    return None


def _is_temporary(p: Path) -> bool:
    return any(
        part.startswith(".") and (".tmp" in part or ".old-" in part or part.startswith(".repro-probe"))
        for part in p.parts
    )


def describe(exc: BaseException, path: str | os.PathLike | None = None) -> str | None:
    """One line for an OS-level failure (``None`` when ``exc`` is not one): what failed, where, and the fix."""
    n = error_number(exc)
    if n not in HANDLED:
        return None
    filename = next(
        (e.filename for e in _chain(exc) if isinstance(e, OSError) and e.filename is not None), None
    )
    # the file or folder being written, rather than its temporary (``.x.tmp-…``), where one is known
    candidates = [filename, _path_from_traceback(exc), path, filename]
    target = next((Path(c) for c in candidates[:3] if c is not None and not _is_temporary(Path(c))), None)
    target = target or next((Path(c) for c in candidates if c is not None), None)
    where = f"writing {target}" if target is not None else "writing"
    alt = _where(target) if target is not None else "or write it somewhere else"
    if n in (errno.ENOSPC, errno.EDQUOT):
        free = _free_mb(target) if target is not None else None
        room = f" ({free:.1f} MB free there)" if free is not None else ""
        fix = f"free space on that disk{room} {alt}"
    elif n in (errno.EACCES, errno.EPERM):
        fix = f"make that folder writable for this user (chmod/chown) {alt}"
    elif n == errno.EROFS:
        fix = f"that file system is mounted read-only: {alt.removeprefix('or ')}"
    else:  # ENOTDIR, EISDIR
        fix = f"a file is where a folder is needed (or the other way round): remove or rename it {alt}"
    return f"{_TEXT.get(n, os.strerror(n))} {where}; {fix}"


@contextlib.contextmanager
def guard(path: str | os.PathLike | None = None):
    """Turn an OS-level failure inside the block into a :class:`StorageError` naming ``path`` (or the file the OS
    named); any other exception passes unchanged."""
    try:
        yield
    except StorageError:
        raise
    except Exception as e:
        line = describe(e, path)
        if line is None:
            raise
        raise StorageError(line) from e


def check_writable(folder: Path, what: str) -> None:
    """Fail early (before a long compute) when ``folder`` cannot hold files: create it and a probe file."""
    folder = Path(folder)
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                raise StorageError(
                    f"{what} {folder} cannot be created: {p} is a file, not a folder; "
                    f"remove it or choose another {what}"
                )
            break
    try:
        with guard(folder):
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".repro-probe-{os.getpid()}"
            try:
                with open(probe, "wb") as fh:
                    fh.write(b"ok")
                    fh.flush()
                    os.fsync(fh.fileno())
            finally:
                probe.unlink(missing_ok=True)
    except OSError as e:  # what guard() has no fix for: a symlink loop, a virtual file system (/proc), ...
        raise StorageError(
            f"{what} {folder} cannot be created ({e.strerror or e}); choose another {what}"
        ) from e
