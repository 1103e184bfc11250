"""The ``repro`` command. Imports stay lazy: ``repro --help`` and ``repro list`` never load torch or matplotlib.

    repro fig3                              Figure 3 of every paper that has one (scale quick), into results/
    repro harmonic_loss fig1                one figure (also harmonic_loss:fig1); a bare paper name runs all its figures
    repro run TARGET... [options]           the same, spelled out (`repro fig3` is the shorthand)
    repro all [--paper P] [--scale S]       everything, then the claims table and the verdict counts
    repro list [--paper P]                  every figure: id, title, estimated time per scale, cached or not
    repro check [...] [--scale S]           fresh verdicts (cached or computed) against the committed ones
    repro graph [...] [--scale S] [--json]  the stages each figure reads, their cache keys, cached or not
    repro stage NAME... [--scale S]         compute (or restore) stages by name into the cache, e.g. a CI job's
    repro report [--out FILE]               one self-contained HTML page of the last run's figures and verdicts
    repro clean [...] [--scale S]           drop cached results (--corrupt: only quarantined entries and leftovers
                                            of killed runs; --stale: only entries of older code)
    repro doctor [...]                      check the cache: checksums, leftovers, unused locks, entries of older code
    repro completion bash|zsh               a shell completion script (`eval "$(repro completion bash)"`)

Each command has its own help: `repro check --help`.

Exit status: 0 when the command finished, whatever the verdicts (a contradicted claim is a finding); 1 when
`repro check` finds a verdict that flipped against the committed one (reproduced <-> contradicted, or to/from not
reached; with --strict also to/from inconclusive), when `repro doctor` finds damage, or on a disk/permission
failure (one line naming the path and the fix); 2 for bad input (one line naming the problem and the fix);
130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from repro.figure import SCALES, ReproError, closest

COMMANDS = ("run", "all", "list", "check", "graph", "stage", "report", "clean", "doctor", "completion")
EXIT_OK, EXIT_VERDICT_CHANGED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_STORAGE = 1  # an OS-level failure writing the cache, the output or an artifact (no space, permission...)
FORMATS = ("text", "markdown")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise ReproError(message)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"repro {version('repro-shared')}"
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "repro (not installed)"


def _targets(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "words",
        nargs="*",
        metavar="TARGET",
        help=f"figures to {what}: fig3, <paper> fig3, <paper>:fig3, <paper>",
    )
    p.add_argument("--paper", help="restrict to one paper")
    p.add_argument(
        "--scale", help="smoke (seconds), quick (default: minutes on a CPU), paper (the paper's own; GPU)"
    )


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--variant", help="run one variant only (e.g. official or fixed) where a figure has several"
    )
    p.add_argument("--force", action="store_true", help="recompute even when a cached result exists")
    p.add_argument("--jobs", type=int, default=1, help="run independent figures in N processes")
    p.add_argument(
        "--executor",
        default="local",
        help="where compute runs: local (default; --jobs processes) or ray (a Ray cluster; results in the cache)",
    )
    p.add_argument("--ray-address", help="the Ray cluster for --executor ray (default $RAY_ADDRESS)")
    p.add_argument(
        "--device",
        help="cpu: run a figure whose scale needs a cuda GPU on the CPU anyway (slow; cached and written apart)",
    )
    p.add_argument("--out", type=Path, help="write figures here (default results/<paper>/)")
    _set_option(
        p,
        "override one config field (typed, repeatable; sweep.lr=... for nested configs); outputs get a _custom suffix",
    )


def _set_option(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="repro",
        description="Regenerate the papers' figures and check their claims: verdicts over seeds.",
        epilog=__doc__.split("\n\n")[1] + "\n\n" + __doc__.split("\n\n")[3],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, allow_abbrev=False)

    run = command("run", "compute (or restore) figures, plot them into results/, print their verdicts")
    _targets(run, "run")
    _run_options(run)
    everything = command("all", "every figure (of --paper), then CLAIMS_<scale>.md beside the figures")
    _targets(everything, "run")
    _run_options(everything)
    listing = command(
        "list", "every figure: id, title, estimated time per scale, paper device, cached or not"
    )
    _targets(listing, "list")
    check = command("check", "fresh verdicts (restored or computed) against the committed ones: the gate")
    _targets(check, "check")
    check.add_argument("--format", default="text", help="claims table format: text or markdown")
    check.add_argument(
        "--strict", action="store_true", help="a move to or from inconclusive fails too (else a warning)"
    )
    check.add_argument(
        "--record",
        action="store_true",
        help="write the fresh verdicts as the committed reference (paper_figures/<paper>/figN[_scale].json)",
    )
    graph = command("graph", "the stages each figure reads (its stage graph): cache keys, cached or not")
    _targets(graph, "show")
    graph.add_argument(
        "--json", action="store_true", help="the graph as JSON (nodes with keys and needs: a CI job matrix)"
    )
    _set_option(graph, "the graph of an overridden config (--set sweep.lr=3e-3: that stage gets a new key)")
    stage = command("stage", "compute (or restore) stages by name into the cache (no figure drawn)")
    stage.add_argument("names", nargs="+", metavar="NAME", help="stage names, e.g. harmonic_loss.toy_sweep")
    stage.add_argument("--scale", help="smoke, quick (default) or paper")
    stage.add_argument("--force", action="store_true", help="recompute even when a cached result exists")
    stage.add_argument(
        "--key", help="the node of `repro graph --json` with this key (a chunk of a sweep): one NAME only"
    )
    report = command("report", "one self-contained HTML page of the figures and verdicts written by a run")
    report.add_argument("--scale", help="the scale of the run to report (default quick)")
    report.add_argument("--paper", help="restrict to one paper")
    report.add_argument("--results", type=Path, help="the run's output folder (default results/)")
    report.add_argument("--out", type=Path, help="the HTML file (default <results>/report_<scale>.html)")
    clean = command("clean", "drop cached results (every scale unless --scale)")
    _targets(clean, "clean")
    clean.add_argument(
        "--corrupt",
        action="store_true",
        help="remove only quarantined (corrupt) entries, leftovers of killed runs and unused locks",
    )
    clean.add_argument("--stale", action="store_true", help="remove only entries no current code can produce")
    doctor = command("doctor", "check the cache: checksums, leftovers, unused locks, entries of older code")
    _targets(doctor, "check")
    completion = command("completion", 'print a shell completion script: eval "$(repro completion bash)"')
    completion.add_argument("shell", choices=("bash", "zsh"))
    return p


VALUE_OPTIONS = (
    "--scale",
    "--paper",
    "--variant",
    "--jobs",
    "--out",
    "--set",
    "--format",
    "--results",
    "--executor",
    "--ray-address",
)


def _command_first(argv: list[str]) -> list[str]:
    """Put the command first, wherever it was written (`repro --paper geneft list`); no command means `run`
    (`repro fig3`, `repro --scale smoke fig3`). Values of options are not mistaken for targets."""
    if all(a in ("-h", "--help", "--version") for a in argv):
        return argv  # `repro`, `repro --help`, `repro --version`
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in VALUE_OPTIONS:
            i += 2
            continue
        if not a.startswith("-"):
            if a in COMMANDS:
                return [a, *argv[:i], *argv[i + 1 :]]
            break
        i += 1
    return ["run", *argv]


def parse(argv: list[str]) -> argparse.Namespace:
    argv = _command_first(list(argv))
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        sub = parser._subparsers._group_actions[0].choices.get(args.command) if args.command else parser
        opts = [o for a in sub._actions for o in a.option_strings]
        bad = unknown[0]
        raise ReproError(
            f"unknown option {bad!r}{closest(bad.split('=')[0], opts)}; see `repro {args.command or ''} --help`"
        )
    if getattr(args, "scale", None) is not None and args.scale not in SCALES:
        raise ReproError(
            f"unknown scale {args.scale!r}{closest(args.scale, SCALES)}; choose one of {', '.join(SCALES)}"
        )
    if getattr(args, "executor", "local") not in ("local", "ray"):
        raise ReproError(
            f"unknown executor {args.executor!r}{closest(args.executor, ('local', 'ray'))}; use local or ray"
        )
    device = getattr(args, "device", None)
    if device is not None and device not in ("cpu", "cuda"):
        raise ReproError(f"unknown device {device!r}{closest(device, ('cpu', 'cuda'))}; choose cpu or cuda")
    if getattr(args, "jobs", 1) < 1:
        raise ReproError(f"--jobs must be at least 1, got {args.jobs}")
    if getattr(args, "format", "text") not in FORMATS:
        raise ReproError(
            f"unknown format {args.format!r}{closest(args.format, FORMATS)}; use text or markdown"
        )
    overrides = {}
    for item in getattr(args, "overrides", []):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ReproError(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = value.strip()
    args.overrides = overrides
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = None
    try:
        args = parse(argv)
        return dispatch(args)
    except ReproError as e:
        print(f"repro: error: {e}", file=sys.stderr)
        from repro.executor import TasksFailed

        return 1 if isinstance(e, TasksFailed) else EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("repro: interrupted; finished results stay cached", file=sys.stderr)
        return 130
    except Exception as e:  # an OS-level failure on the cache, the output or an artifact: one line, exit 1
        from repro.faults import StorageError, describe

        line = str(e) if isinstance(e, StorageError) else describe(e)
        if line is not None:
            print(f"repro: error: {line}", file=sys.stderr)
            return EXIT_STORAGE
        sets = getattr(args, "overrides", None)
        if not sets or os.environ.get("REPRO_TRACEBACK"):
            raise
        # a value its config accepts but the computation cannot use: name the overrides, not a deep traceback
        given = " ".join(f"--set {k}={v}" for k, v in sets.items())
        print(
            f"repro: error: the computation failed under {given} ({type(e).__name__}: {e}); check those values "
            "against the defaults (the config in the figure's JSON beside its PNG); REPRO_TRACEBACK=1 shows where",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT


def dispatch(args: argparse.Namespace) -> int:
    from repro import registry

    command = args.command
    if command is None:
        build_parser().print_help()
        return EXIT_OK
    if command == "completion":
        print(completion_script(args.shell))
        return EXIT_OK
    if command == "report":
        from repro.report import write_report

        path = write_report(args.scale or "quick", args.paper, args.results, args.out)
        print(f"wrote {path}")
        return EXIT_OK
    if command == "stage":
        return cmd_stage(args.names, args.scale or "quick", args.force, args.key)
    words = list(args.words)
    if command == "run" and not words:
        raise ReproError(
            "name what to run: a figure (fig3), a paper (geneft), or `repro all`; see `repro list`"
        )
    if not words:
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
    if command == "graph":
        return cmd_graph(figs, args.scale, args.json, args.overrides)
    if command == "check":
        return cmd_check(figs, args.scale, args.format, args.strict, args.record)
    if args.variant and not any(args.variant in f.variants for f in figs):
        all_variants = sorted({v for f in figs for v in f.variants})
        raise ReproError(
            f"none of these figures has a variant {args.variant!r}{closest(args.variant, all_variants)}; "
            f"variants here: {', '.join(all_variants) or 'none'}"
        )
    with _device_env(args.device):
        return cmd_run(figs, args, claims_file=command == "all")


def completion_script(shell: str) -> str:
    """Completion of commands, papers, figure ids and options, from the registry as installed now."""
    from repro import registry

    figs = registry.all_figures()
    words = sorted({*COMMANDS, *registry.papers(), *(n for f in figs for n in (f.id, *f.aliases, f.name))})
    opts = sorted(
        {
            o
            for a in build_parser()._subparsers._group_actions[0].choices["all"]._actions
            for o in a.option_strings
        }
        | {"--format", "--strict", "--record", "--version"}
    )
    vocabulary = " ".join([*words, *opts])
    if shell == "bash":
        return (
            '_repro() { COMPREPLY=( $(compgen -W "' + vocabulary + '" -- "${COMP_WORDS[COMP_CWORD]}") ); }\n'
            "complete -F _repro repro"
        )
    return "#compdef repro\n_repro() { compadd " + vocabulary + " }\ncompdef _repro repro"


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
    from repro.run import needs_device
    from repro.stage import estimated_seconds

    quarantined = []
    for f in figs:
        est = [_fmt_seconds(estimated_seconds(f, s)) for s in SCALES]  # with the stages it reads
        manifest = cache.cached_manifest(f, f.config(scale))
        cached = "yes" if manifest is not None else "no"
        name = f"{f.name} ({', '.join(f.aliases)})" if f.aliases else f.name
        mem = _fmt_mb(manifest.get("peak_rss_mb")) if manifest is not None else "-"
        table.add_row(name, f.title, *est, needs_device(f, "paper"), ",".join(f.variants) or "-", cached, mem)
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


def cmd_graph(figs, scale: str, as_json: bool, overrides: dict | None = None) -> int:
    """Each figure's stage graph at ``scale``: a tree on a terminal, or JSON nodes (a stage read by several
    figures appears once, with every figure that reads it)."""
    import json

    from repro import paths
    from repro.cache import Cache
    from repro.stage import graph

    cache = Cache(paths.cache_dir())
    per_fig = {f.name: graph(f, f.config(scale, None, overrides or None), scale, cache) for f in figs}
    if as_json:
        nodes: dict[str, dict] = {}
        for fig_name, fig_nodes in per_fig.items():
            for n in fig_nodes:
                d = nodes.setdefault(n.key, {**n.to_dict(), "read_by": []})
                if n.kind == "stage":
                    d["read_by"].append(fig_name)
        print(json.dumps({"scale": scale, "nodes": list(nodes.values())}, indent=1))
        return EXIT_OK
    for fig_nodes in per_fig.values():
        _print_tree(fig_nodes[-1], {n.key: n for n in fig_nodes}, "", None)
    return EXIT_OK


def cmd_stage(names: list[str], scale: str, force: bool, key: str | None = None) -> int:
    from repro.stage import compute_stage, find_stage, read_configs

    stages = [find_stage(n) for n in names]  # every name checked before any compute
    # --key: one node of `repro graph --json` (a chunk of a sweep, or a stage at a reader's config)
    if key is not None:
        found = read_configs(scale).get(key)
        if len(stages) != 1 or found is None or found[0] is not stages[0]:
            raise ReproError(
                f"no node of the stage graph at scale {scale} has key {key} and name {', '.join(names)}; "
                f"list the nodes with `repro graph --scale {scale} --json`"
            )
        jobs = [found]
    else:
        jobs = [(st, st.config(scale)) for st in stages]
    for st, cfg in jobs:
        _, got = compute_stage(st, cfg, scale, force=force)
        print(f"{st.name} ({scale}): {got}")
    return EXIT_OK


def _print_tree(n, by_key: dict, prefix: str, input_name: str | None) -> None:
    est = f", ~{_fmt_seconds(n.est_seconds)}" if n.est_seconds else ""
    art = f", artifact: {n.artifact}" if n.artifact else ""
    what = f"{input_name} <- " if input_name else ""
    print(f"{prefix}{what}{n.name}  [{n.key[:12]} {'cached' if n.cached else 'not cached'}{est}{art}]")
    inner = prefix.replace("└─ ", "   ").replace("├─ ", "│  ")
    for i, (name, key) in enumerate(n.inputs.items()):
        _print_tree(by_key[key], by_key, inner + ("└─ " if i == len(n.inputs) - 1 else "├─ "), name)


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
    if args.executor == "ray":  # compute on the cluster into the cache, then restore and plot here
        from repro import paths
        from repro.executor import compute_on_ray

        compute_on_ray(
            figs, args.scale, args.variant, args.overrides, args.force, args.ray_address, paths.cache_dir()
        )
        args.force = False
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
    _print_claims(rows, timings=timings)
    return EXIT_OK


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
            from repro.stage import estimated_seconds

            each = ", ".join(
                f"{f.name} (~{_fmt_seconds(estimated_seconds(f, args.scale))})" for f in gpu_figs
            )
            raise ReproError(
                f"scale {args.scale} needs a cuda GPU and this machine has none: {each} estimated on a GPU; "
                f"run on the CPU anyway with --device cpu (many times slower), or use --scale quick"
            )


def _write_claims_markdown(rows, timings, args) -> None:
    """``repro all`` leaves ``CLAIMS_<scale>[_<paper>].md`` beside the figures (CI puts it in the job summary)."""
    import platform

    from repro import paths
    from repro.cache import atomic_write_text
    from repro.claims import markdown_table, paper_counts_markdown

    flat = [(f"`{name}`", c) for name, claims in rows for c in claims]
    out_dir = args.out or paths.figures_dir()
    path = out_dir / f"CLAIMS_{args.scale}{f'_{args.paper}' if args.paper else ''}.md"
    wall = ", ".join(f"`{n}` {t['wall']:.1f} s" for n, t in timings.items())
    text = (
        f"# Claims at `{args.scale}` scale\n\n{paper_counts_markdown(rows)}\n\n{markdown_table(flat)}\n\n"
        f"wall time: {wall}\n\n"
        f"host: {platform.node()}, python {platform.python_version()}; device and versions per figure in figN.json\n"
    )
    atomic_write_text(path, text)
    from repro.progress import status

    status(f"wrote {path}")


def _run_one(name: str, scale: str, variant: str | None, overrides: dict, force: bool, out: Path | None):
    """One figure in a --jobs worker; its stages were computed (and forced, under --force) beforehand."""
    # bars from several processes would garble the terminal; plain lines (every 30 s) do not
    os.environ["REPRO_PROGRESS"] = "0" if os.environ.get("REPRO_PROGRESS") == "0" else "plain"
    from repro import registry
    from repro.run import run_figure

    (f,) = registry.resolve([name])
    r = run_figure(
        f, scale, variant if variant in f.variants else None, overrides, force, out, force_stages=False
    )
    return name, [c.to_dict() for c in r.claims], r.timings, r.restored


def _jobs_worker(cpu_budget: int, parent: int) -> None:
    """Initializer of a ``--jobs`` worker: exits with its parent, and caps the threads of the units it computes at
    its share of the cores (``repro.environment.unit_threads``)."""
    from repro.environment import CPU_BUDGET_ENV
    from repro.parallel import exit_with_parent

    os.environ[CPU_BUDGET_ENV] = str(cpu_budget)
    exit_with_parent(parent)


def _run_parallel(figs, args):
    """``--jobs N``: the uncached stages and the figures as one graph of jobs (``repro.stage.plan_jobs``) on N
    worker processes. A job starts once what it reads is cached, the longest chain of estimates first, and at most
    N run at once, so a ready job always has a free worker (a stage read by several figures runs once, before
    them; without this two figures on one stage would wait for each other's lock)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from repro import paths
    from repro.cache import Cache
    from repro.claims import Claim
    from repro.parallel import run_when_ready
    from repro.progress import status
    from repro.stage import plan_jobs

    units = [
        (f, f.config(args.scale, args.variant if args.variant in f.variants else None, args.overrides))
        for f in figs
    ]
    jobs = plan_jobs(units, args.scale, Cache(paths.cache_dir()), force=args.force)
    n_stages = sum(j.is_stage for j in jobs)
    out, stages_done = [], 0
    spawn = mp.get_context("spawn")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    budget = max(1, cores // args.jobs)
    with ProcessPoolExecutor(
        max_workers=args.jobs, mp_context=spawn, initializer=_jobs_worker, initargs=(budget, os.getpid())
    ) as pool:

        def submit(job):
            if job.is_stage:
                status(f"stage {job.unit.name} started")
                return pool.submit(_compute_stage_job, job.unit.name, job.cfg, args.scale, args.force)
            return pool.submit(
                _run_one, job.unit.name, args.scale, args.variant, args.overrides, args.force, args.out
            )

        finished = run_when_ready(
            jobs,
            needs=lambda j: j.needs,
            submit=submit,
            limit=args.jobs,
            key=lambda j: j.key,
            priority=lambda j: -j.critical_seconds,
        )
        for job, result in finished:
            if job.is_stage:
                stages_done += 1
                status(f"stage {job.unit.name} done ({stages_done}/{n_stages})")
                continue
            name, claims, timings, restored = result
            how = "cache" if restored else f"{timings['compute']:.1f}s compute"
            status(f"[{len(out) + 1}/{len(figs)}] {name} done ({how})")
            out.append((name, [Claim.from_dict(c) for c in claims], timings, restored))
    order = {f.name: i for i, f in enumerate(figs)}
    return sorted(out, key=lambda r: order[r[0]])


def _compute_stage_job(name: str, cfg, scale: str, force: bool) -> str:
    os.environ["REPRO_PROGRESS"] = "0" if os.environ.get("REPRO_PROGRESS") == "0" else "plain"
    from repro.stage import compute_stage, find_stage

    # under --force, the stages it reads were recomputed by earlier jobs (another process)
    return compute_stage(find_stage(name), cfg, scale, force=force, force_stages=False)[1]


def cmd_check(figs, scale: str, fmt: str, strict: bool = False, record: bool = False) -> int:
    """Fresh verdicts (restored from the cache or computed) against the committed reference, as a gate."""
    import json

    from repro.cache import atomic_write_text
    from repro.claims import compare
    from repro.progress import status
    from repro.run import committed_claims, fresh_claims, reference_path

    rows, changes, unrecorded = [], [], []
    for f in figs:
        claims, report = fresh_claims(f, scale)
        rows.append((f.name, claims))
        try:
            committed = committed_claims(f, scale)
        except ReproError:
            if not record:
                raise
            committed = None  # --record rewrites an unreadable reference
        if committed is None:
            unrecorded.append(f.name)
        else:
            changes += compare(f.name, committed, claims)
        if record:
            path = reference_path(f, scale)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(report.to_dict(), indent=1) + "\n")
            status(f"recorded {path}")
    _print_claims(rows, fmt=fmt)
    if unrecorded and not record:
        status(
            f"no committed verdicts at scale {scale} for {len(unrecorded)} figure(s) ({', '.join(unrecorded)}): "
            f"record them with `repro check --scale {scale} --record`"
        )
    errors = [c for c in changes if c.severity == "error"]
    warnings = [c for c in changes if c.severity == "warning"]
    if changes:
        _print_changes(changes)
    failing = errors + (warnings if strict else [])
    if record:
        print(f"check: recorded the verdicts of {len(figs)} figure(s) at scale {scale}")
        return EXIT_OK
    print(
        f"check: {len(errors)} verdict(s) flipped, {len(warnings)} moved to/from inconclusive or new/gone "
        f"({'failing' if strict else 'warnings'}), against {len(figs) - len(unrecorded)} committed figure(s)"
    )
    return EXIT_VERDICT_CHANGED if failing else EXIT_OK


def _print_changes(changes) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from repro.claims import fmt as num

    table = Table(title="verdicts that differ from the committed ones")
    for col in ("figure", "claim", "variant", "committed", "now", "interval now", "edge to bound", ""):
        table.add_column(col, overflow="fold")
    for c in changes:
        cells = (
            c.figure,
            c.statement,
            c.variant,
            c.old or "(new)",
            c.new or "(gone)",
            c.interval,
            num(c.margin),
        )
        mark = "[red]error[/red]" if c.severity == "error" else "[yellow]warning[/yellow]"
        table.add_row(*(Text(x) for x in cells), Text.from_markup(mark))
    Console(width=170).print(table)


def cmd_clean(figs, scale: str | None) -> int:
    from repro import paths
    from repro.cache import Cache

    cache = Cache(paths.cache_dir())
    freed = sum(cache.clean(f, scale) for f in figs)
    print(
        f"removed cached results of {len(figs)} figure(s){f' at scale {scale}' if scale else ''}: {freed / 1e6:.1f} MB"
    )
    return EXIT_OK


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
    return EXIT_OK if not (corrupt or quarantined or leftovers) else EXIT_STORAGE


def _print_claims(rows, fmt: str = "text", timings: dict | None = None) -> None:
    from repro.claims import VERDICT_MARK, counts_text, markdown_table, paper_counts_markdown

    flat = [(name, c) for name, claims in rows for c in claims]
    if fmt == "markdown":
        print(paper_counts_markdown(rows) + "\n")
        print(markdown_table(flat))
        print(f"\nclaims: {counts_text(c for _, c in flat)}")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    colour = {
        "reproduced": "green",
        "contradicted": "red",
        "inconclusive": "yellow",
        "not reached": "bright_black",
    }
    table = Table(title="claims (mean [95% interval] over seeds, or a bootstrap where the paper has one run)")
    for col in ("figure", "claim", "variant", "measured", "paper's side", "paper (source)", "verdict"):
        table.add_column(col, overflow="fold")
    for name, c in flat:
        verdict = f"[{colour[c.verdict]}]{VERDICT_MARK[c.verdict]} {c.verdict}[/{colour[c.verdict]}]"
        if c.verdict == "not reached":
            verdict += f": {c.reason}"
        plain = (name, c.statement, c.variant or "", c.measured_text(), c.expected)
        paper = c.paper.text() if c.paper is not None else ""
        table.add_row(*(Text(x) for x in (*plain, paper)), Text.from_markup(verdict))
    Console(width=170).print(table)
    if timings:
        print("time: " + ", ".join(f"{n} {t['wall']:.1f}s" for n, t in timings.items()))
    papers: dict[str, list] = {}
    for name, c in flat:
        papers.setdefault(name.split(":")[0], []).append(c)
    for paper, cs in papers.items():
        print(f"{paper}: {counts_text(cs)}")
    print(f"claims: {counts_text(c for _, c in flat)}")


if __name__ == "__main__":
    sys.exit(main())
