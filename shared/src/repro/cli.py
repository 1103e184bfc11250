"""The ``repro`` command. Imports stay lazy: ``repro --help`` and ``repro list`` never load torch or matplotlib.

    repro list [--paper P]                  every figure: id, title, estimated time per scale, cached or not
    repro fig3                              Figure 3 of every paper that has one (scale quick)
    repro harmonic_loss fig1                one figure (also harmonic_loss:fig1); a bare paper name runs all its figures
    repro all [--paper P] [--scale S]       everything, then the claims table
    repro check [...] [--format markdown]   claims re-evaluated from cached results, no compute
    repro clean [...] [--scale S]           drop cached results (--corrupt: only quarantined entries and leftovers
                                            of killed runs; --stale: only entries of older code)
    repro doctor [...]                      check the cache: checksums, leftovers, unused locks, entries of older code

Exit status: 0 when every claim passes, 1 when a claim fails (or a disk/permission failure, one line naming the
path and the fix), 2 for bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from repro.figure import SCALES, ReproError, closest

COMMANDS = ("list", "all", "check", "clean", "doctor")
EXIT_STORAGE = 1  # an OS-level failure writing the cache, the output or an artifact (no space, permission...)
EXIT_OK, EXIT_CLAIM_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise ReproError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="repro",
        description="Regenerate the papers' figures and check their claims as numbers.",
        epilog=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    p.add_argument("words", nargs="*", metavar="TARGET", help="command (list/all/check/clean) or figures")
    p.add_argument("--scale", help="smoke (seconds), quick (default: minutes on a CPU), paper (GPU)")
    p.add_argument("--paper", help="restrict all/list/check/clean to one paper")
    p.add_argument(
        "--variant", help="run one variant only (e.g. official or fixed) where a figure has several"
    )
    p.add_argument("--force", action="store_true", help="recompute even when a cached result exists")
    p.add_argument("--jobs", type=int, default=1, help="run independent figures in N processes")
    p.add_argument("--out", type=Path, help="write figures here instead of paper_figures/<paper>/")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config field (typed, repeatable); outputs get a _custom suffix",
    )
    p.add_argument("--format", default="text", help="claims table format for check: text or markdown")
    p.add_argument(
        "--device",
        help="cpu: run a figure whose scale needs a cuda GPU on the CPU anyway (slow; cached and written apart)",
    )
    p.add_argument(
        "--corrupt",
        action="store_true",
        help="clean: remove only quarantined (corrupt) entries, leftovers of killed runs and unused locks",
    )
    p.add_argument(
        "--stale", action="store_true", help="clean: remove only entries no current code can produce"
    )
    p.add_argument(
        "--no-claims-gate",
        action="store_true",
        help="exit 0 even when a claim fails (smoke runs check that pipelines run, not claims)",
    )
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        opts = [o for a in parser._actions for o in a.option_strings]
        bad = unknown[0]
        raise ReproError(f"unknown option {bad!r}{closest(bad.split('=')[0], opts)}; see `repro --help`")
    if args.scale is not None and args.scale not in SCALES:
        raise ReproError(
            f"unknown scale {args.scale!r}{closest(args.scale, SCALES)}; choose one of {', '.join(SCALES)}"
        )
    if args.device is not None and args.device not in ("cpu", "cuda"):
        raise ReproError(
            f"unknown device {args.device!r}{closest(args.device, ('cpu', 'cuda'))}; choose cpu or cuda"
        )
    if args.jobs < 1:
        raise ReproError(f"--jobs must be at least 1, got {args.jobs}")
    if args.format not in ("text", "markdown"):
        raise ReproError(
            f"unknown format {args.format!r}{closest(args.format, ('text', 'markdown'))}; use text or markdown"
        )
    overrides = {}
    for item in args.overrides:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ReproError(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = value.strip()
    args.overrides = overrides
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse(argv)
        return dispatch(args)
    except ReproError as e:
        print(f"repro: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("repro: interrupted; finished results stay cached", file=sys.stderr)
        return 130
    except Exception as e:  # an OS-level failure on the cache, the output or an artifact: one line, exit 1
        from repro.faults import StorageError, describe

        line = str(e) if isinstance(e, StorageError) else describe(e)
        if line is None:
            raise
        print(f"repro: error: {line}", file=sys.stderr)
        return EXIT_STORAGE


def dispatch(args: argparse.Namespace) -> int:
    from repro import registry

    words = list(args.words)
    command = words.pop(0) if words and words[0] in COMMANDS else None
    if command is None and not words:
        build_parser().print_help()
        return EXIT_OK
    if command in COMMANDS and not words:
        figs = [f for f in registry.all_figures() if args.paper in (None, f.paper)]
        if args.paper and not figs:
            registry.resolve([], paper=args.paper)  # raises the one-line unknown-paper error
    else:
        figs = registry.resolve(words, paper=args.paper)
    if command == "clean" and (args.corrupt or args.stale):
        return cmd_clean_damaged(figs, args.corrupt, args.stale)
    if command == "clean":  # without --scale, every scale
        return cmd_clean(figs, args.scale)
    if command == "doctor":
        return cmd_doctor(figs)
    args.scale = args.scale or "quick"
    if command == "list":
        return cmd_list(figs, args.scale)
    if command == "check":
        return cmd_check(figs, args.scale, args.format)
    if args.variant and not any(args.variant in f.variants for f in figs):
        all_variants = sorted({v for f in figs for v in f.variants})
        raise ReproError(
            f"none of these figures has a variant {args.variant!r}{closest(args.variant, all_variants)}; "
            f"variants here: {', '.join(all_variants) or 'none'}"
        )
    with _device_env(args.device):
        code = cmd_run(figs, args, claims_file=command == "all")
    return EXIT_OK if args.no_claims_gate and code == EXIT_CLAIM_FAILED else code


# ------------------------------------------------------------------------------------------------------ commands
def cmd_list(figs, scale: str) -> int:
    from rich.console import Console
    from rich.table import Table

    from repro import paths
    from repro.cache import Cache

    cache = Cache(paths.cache_dir())
    table = Table(title=f"figures (cached = a result for the current config and code at scale {scale})")
    for col in (
        "figure",
        "title",
        "smoke",
        "quick",
        "paper",
        "paper device",
        "variants",
        "cached",
        "peak mem",
    ):
        table.add_column(col)
    quarantined = []
    for f in figs:
        est = [_fmt_seconds(f.est_seconds.get(s)) for s in SCALES]
        manifest = cache.cached_manifest(f, f.config(scale))
        cached = "yes" if manifest is not None else "no"
        name = f"{f.name} ({', '.join(f.aliases)})" if f.aliases else f.name
        mem = _fmt_mb(manifest.get("peak_rss_mb")) if manifest is not None else "-"
        table.add_row(
            name, f.title, *est, f.device.get("paper", "cpu"), ",".join(f.variants) or "-", cached, mem
        )
        quarantined += cache.quarantined(f)
    Console(width=170).print(table)
    print(
        f"peak mem: peak resident memory of the cached compute at scale {scale} (? = cached before it was measured)"
    )
    if quarantined:
        from repro.cache import _size

        mb = sum(_size(p) for p in quarantined) / 1e6
        print(
            f"note: {len(quarantined)} corrupt cache entr{'y' if len(quarantined) == 1 else 'ies'} moved aside "
            f"({mb:.1f} MB, e.g. {quarantined[0]}); remove them with `repro clean --corrupt`"
        )
    return EXIT_OK


def _fmt_mb(mb: float | None) -> str:
    if mb is None:
        return "?"
    return f"{mb:.0f} MB" if mb < 1024 else f"{mb / 1024:.1f} GB"


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "?"
    return f"{s:.0f}s" if s < 90 else f"{s / 60:.0f}min" if s < 5400 else f"{s / 3600:.1f}h"


def cmd_run(figs, args, claims_file: bool = False) -> int:
    from repro.progress import status

    for f in figs:  # validate every config before any long run starts
        f.config(args.scale, args.variant if args.variant in f.variants else None, args.overrides)
    _check_before_compute(figs, args)
    reports = []
    if args.jobs > 1 and len(figs) > 1:
        reports = _run_parallel(figs, args)
    else:
        from repro.run import run_figure

        for f in figs:
            status(f"── {f.name}: {f.title} ({args.scale})")
            variant = args.variant if args.variant in f.variants else None
            r = run_figure(f, args.scale, variant, args.overrides, args.force, args.out)
            reports.append((f.name, r.claims, r.timings, r.restored))
    rows = [(name, claims) for name, claims, *_ in reports]
    timings = {n: t for n, _, t, _ in reports}
    if claims_file:
        _write_claims_markdown(rows, timings, args)
    return _print_claims(rows, timings=timings)


def _write_claims_markdown(rows, timings, args) -> None:
    """``repro all`` leaves ``CLAIMS_<scale>[_<paper>].md`` beside the figures (CI puts it in the job summary)."""
    import platform

    from repro import paths
    from repro.cache import atomic_write_text
    from repro.claims import markdown_table

    flat = [(f"`{name}`", c) for name, claims in rows for c in claims]
    failed = sum(not c.passed for _, c in flat)
    out_dir = args.out or paths.figures_dir()
    path = out_dir / f"CLAIMS_{args.scale}{f'_{args.paper}' if args.paper else ''}.md"
    wall = ", ".join(f"`{n}` {t['wall']:.1f} s" for n, t in timings.items())
    text = (
        f"# Claims at `{args.scale}` scale\n\n{markdown_table(flat)}\n\n"
        f"{len(flat) - failed} passed, {failed} failed\n\nwall time: {wall}\n\n"
        f"host: {platform.node()}, python {platform.python_version()}; device and versions per figure in figN.json\n"
    )
    atomic_write_text(path, text)
    from repro.progress import status

    status(f"wrote {path}")


@contextlib.contextmanager
def _device_env(device: str | None):
    """``--device`` as ``REPRO_DEVICE`` while figures run: run_figure and --jobs workers read it, the result
    records it."""
    old = os.environ.get("REPRO_DEVICE")
    if device:
        os.environ["REPRO_DEVICE"] = device
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("REPRO_DEVICE", None)
        else:
            os.environ["REPRO_DEVICE"] = old


def _check_before_compute(figs, args) -> None:
    """Before any long run: the cache and output folders can hold files, and every figure that needs a GPU at
    this scale has one (or ``--device cpu`` says to run it on the CPU anyway); a cached result needs neither."""
    from repro import faults, paths
    from repro.cache import Cache
    from repro.run import needs_device, on_device

    faults.OUTPUT_DIR = args.out
    if args.out is not None:
        faults.check_writable(Path(args.out), "--out")
    cache = Cache(paths.cache_dir())
    faults.check_writable(cache.root, "cache folder (REPRO_CACHE_DIR)")
    gpu_figs = []
    for f in figs:
        need = needs_device(f, args.scale)
        if not need.startswith("cuda") or args.device == "cpu":
            continue
        cfg = f.config(args.scale, args.variant if args.variant in f.variants else None, args.overrides)
        if not args.force and cache.is_cached(f, on_device(cfg, args.device) if args.device else cfg):
            continue  # restoring needs no GPU
        gpu_figs.append(f)
    if gpu_figs:
        import torch

        if not torch.cuda.is_available():
            each = ", ".join(f"{f.name} (~{_fmt_seconds(f.est_seconds.get(args.scale))})" for f in gpu_figs)
            raise ReproError(
                f"scale {args.scale} needs a cuda GPU and this machine has none: {each} estimated on a GPU; "
                f"run on the CPU anyway with --device cpu (many times slower), or use --scale quick"
            )


def _run_one(name: str, scale: str, variant: str | None, overrides: dict, force: bool, out: Path | None):
    # bars from several processes would garble the terminal; plain lines (every 30 s) do not
    os.environ["REPRO_PROGRESS"] = "0" if os.environ.get("REPRO_PROGRESS") == "0" else "plain"
    from repro import registry
    from repro.run import run_figure

    (f,) = registry.resolve([name])
    r = run_figure(f, scale, variant if variant in f.variants else None, overrides, force, out)
    return name, [c.to_dict() for c in r.claims], r.timings, r.restored


def _run_parallel(figs, args):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from repro.claims import Claim
    from repro.progress import status

    out = []
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn")) as pool:
        futs = {
            pool.submit(_run_one, f.name, args.scale, args.variant, args.overrides, args.force, args.out): f
            for f in figs
        }
        for i, fut in enumerate(as_completed(futs), 1):
            name, claims, timings, restored = fut.result()
            how = "cache" if restored else f"{timings['compute']:.1f}s compute"
            status(f"[{i}/{len(figs)}] {name} done ({how})")
            out.append((name, [Claim.from_dict(c) for c in claims], timings, restored))
    order = {f.name: i for i, f in enumerate(figs)}
    return sorted(out, key=lambda r: order[r[0]])


def cmd_check(figs, scale: str, fmt: str) -> int:
    from repro.run import cached_claims

    rows, missing = [], []
    for f in figs:
        claims = cached_claims(f, scale)
        if claims is None:
            missing.append(f.name)
        else:
            rows.append((f.name, claims))
    if missing:
        print(f"repro: not cached at scale {scale} (run them first): {', '.join(missing)}", file=sys.stderr)
    code = _print_claims(rows, fmt=fmt)
    return code if not missing else max(code, EXIT_CLAIM_FAILED)


def cmd_clean_damaged(figs, corrupt: bool, stale: bool) -> int:
    from repro import paths
    from repro.cache import Cache

    cache = Cache(paths.cache_dir())
    if corrupt:
        n, size = cache.clean_corrupt(figs)
        print(
            f"removed {n} quarantined entr(ies), leftovers of killed runs and unused locks: {size / 1e6:.1f} MB"
        )
    if stale:
        n, size = cache.clean_stale(figs)
        print(f"removed {n} entr(ies) of older code: {size / 1e6:.1f} MB")
    return EXIT_OK


def cmd_doctor(figs) -> int:
    """Check the cache and say what was found: exit 0 when healthy, 1 when something needs attention."""
    from repro import paths, registry
    from repro.cache import Cache, CorruptEntry, _size, code_fingerprint

    cache = Cache(paths.cache_dir())
    ok = corrupt = stale = 0
    problems: list[str] = []
    quarantined, leftovers = [], []
    for f in figs:
        fp = code_fingerprint(f)
        for entry in cache.entries(f):
            try:
                cache.load(f, entry.name)
            except CorruptEntry as e:
                corrupt += 1
                problems.append(f"corrupt: {entry} ({e}); the next run moves it aside and recomputes")
                continue
            reason = cache.stale_reason(f, entry, fp)
            if reason:
                stale += 1
                problems.append(
                    f"stale: {entry} was made by {reason}; never served, `repro clean --stale` removes it"
                )
            else:
                ok += 1
        quarantined += cache.quarantined(f)
        leftovers += cache.leftovers(f)
    for p in quarantined:
        problems.append(f"quarantined: {p} ({_size(p) / 1e6:.2f} MB); `repro clean --corrupt` removes it")
    for p in leftovers:
        problems.append(f"leftover of a killed run: {p}; never served, `repro clean --corrupt` removes it")
    locks = cache.unheld_locks()
    if locks:
        problems.append(
            f"unused lock files: {len(locks)} in {cache.root / '.locks'} (left by finished or killed runs; "
            "they block nothing, `repro clean --corrupt` removes them)"
        )
    known = {(f.paper, f.id) for f in figs}
    orphans = []
    if cache.root.is_dir() and len(figs) == len(registry.all_figures()):
        for paper_dir in sorted(p for p in cache.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            orphans += [
                d for d in sorted(paper_dir.iterdir()) if d.is_dir() and (paper_dir.name, d.name) not in known
            ]
    for d in orphans:
        problems.append(
            f"unknown figure: {d} (no current figure writes there); delete it by hand if unneeded"
        )
    for line in problems:
        print(line)
    print(
        f"cache {cache.root}: {ok} entr(ies) current and intact, {corrupt} corrupt, {stale} stale, "
        f"{len(quarantined)} quarantined, {len(leftovers)} leftover(s), {len(locks)} unused lock(s)"
        + (f", {len(orphans)} unknown figure folder(s)" if orphans else "")
    )
    return EXIT_OK if not (corrupt or quarantined or leftovers) else EXIT_CLAIM_FAILED


def cmd_clean(figs, scale: str | None) -> int:
    from repro import paths
    from repro.cache import Cache

    cache = Cache(paths.cache_dir())
    freed = sum(cache.clean(f, scale) for f in figs)
    print(
        f"removed cached results of {len(figs)} figure(s){f' at scale {scale}' if scale else ''}: {freed / 1e6:.1f} MB"
    )
    return EXIT_OK


def _print_claims(rows, fmt: str = "text", timings: dict | None = None) -> int:
    from repro.claims import fmt as num
    from repro.claims import markdown_table

    flat = [(name, c) for name, claims in rows for c in claims]
    failed = sum(not c.passed for _, c in flat)
    if fmt == "markdown":
        print(markdown_table(flat))
        print(f"\n{len(flat) - failed} passed, {failed} failed")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="claims")
        for col in ("figure", "claim", "variant", "measured", "expected", "paper", ""):
            table.add_column(col, overflow="fold")
        for name, c in flat:
            mark = "[green]PASS[/green]" if c.passed else "[red]FAIL[/red]"
            unit = f" {c.unit}" if c.unit else ""
            table.add_row(
                name,
                c.statement,
                c.variant or "",
                num(c.measured) + unit,
                c.expected,
                num(c.paper) if c.paper is not None else "",
                mark,
            )
        Console(width=170).print(table)
        if timings:
            print("time: " + ", ".join(f"{n} {t['wall']:.1f}s" for n, t in timings.items()))
        print(f"claims: {len(flat) - failed} passed, {failed} failed")
    return EXIT_CLAIM_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
