"""The official grow-crystals per-run training loop against ours (stacked and single), side by side in one process.

    uv run python benchmarks/official_loop.py [--part all|loop|sweep] [--task circle] [--head harmonic]
                                              [--epochs 10] [--official-seeds 3] [--sweep-epochs 3] [--threads 1]
                                              [--clock cpu|wall]

Two parts, both on the official toy settings of :class:`harmonic_loss.toy_config.SweepConfig` (data size 1000, the
``official`` split drawn by :func:`harmonic_loss.toy_data.make_split`, train fraction 0.8, batch 32, AdamW lr 2e-3,
weight decay 0.01 (MLP) / 0.005 (transformer), embedding dim 16, group-lasso 0.01 on the embedding, code-n 1,
DistLayer eps 1e-4, transformer dropout 0.1):

``loop`` (stacked runs against the official loop): ms per seed-epoch of
- *official*: a reimplementation (written here, following the structure of ``customNNModule.train`` that
  ``train_single_model`` in ``src/utils/driver.py`` calls at grow-crystals 60a6722) of one run at a time:
  ``nn.Module`` models (:mod:`harmonic_loss.official_models`; MLP: embedding 16 per token -> concat ->
  Linear(L*16, 100) -> SiLU -> Linear(100, 16) -> tied head; transformer: ``nn.Embedding`` + N(0, 1) positional
  table, 2 x ``nn.TransformerEncoderLayer`` (d 16, 2 heads, FF 64, batch_first) each inside an extra residual, read
  at the last position), a
  ``torch.utils.data.DataLoader`` over a ``TensorDataset`` (batch 32, shuffle; test loader unshuffled), a Python
  loop over batches with ``torch.optim.AdamW``, ``loss.item()`` and the batch accuracy read back every step, and
  every epoch a pass over the test loader; the per-epoch train/test loss and accuracy are appended to lists, as the
  official loop returns them. Standard head: tied Linear (MLP, with bias) or ``h @ E^T`` (transformer) and
  cross-entropy; harmonic head: :func:`harmonic_loss.harmax.log_harmax` (code convention) to the tied embedding
  (MLP) or to untied centres (transformer), loss ``-mean log p_y``. The model is never put in eval mode (the official
  ``train(param_dict)`` shadows ``nn.Module.train``, defect D6), so transformer dropout is on in the test pass too.
  Timed: the whole run, from drawing the split and building the model to the last epoch's metrics.
- *ours*: :func:`harmonic_loss.toy_train.train_runs` with :class:`~harmonic_loss.toy_train.RunSpec` lists, evaluating
  train and test accuracy every epoch (``eval_every=1``, where the official loop evaluates its test set; the
  paper-scale stage evaluates every 5 epochs, so the sweep part's times are upper bounds), on the same seeds,
  split and settings:
  (i) ``--seeds`` (20) seeds stacked in one call, (ii) one seed per call ("single"). Timed: the whole call. Each
  eager (as the smoke and quick scales run) and compiled (``compile=True``: ``torch.compile`` of the loss's gradient
  as one ``torch.func.grad`` graph, the accuracy pass and the optimiser update, as the paper-scale sweep runs): the
  compiled rows are the steady state, the one-off compile per stack shape (wall-clock, its excess over a warm call;
  the on-disk inductor cache makes a second process's compile shorter) printed apart and charged once to a
  paper-length run.
The official side and ours-single run the first ``--official-seeds`` seeds one after another; ours-stacked runs all
``--seeds``. ms/seed-epoch = seconds / (runs x epochs). Ratio = official / ours, against the targets (>= 15x MLP
and >= 8x transformer stacked over 20 seeds, >= 2x a single run). Each measurement is repeated ``--repeat`` times,
interleaved, and the fastest is kept (the machine may be shared).

``sweep`` (the paper sweep, 4 models x 5 tasks x 20 seeds on the official split, extrapolated to its epochs): for
every (model, task) slice, ours trains the 20 seeds stacked in one ``train_runs`` call, compiled as the paper-scale
stage trains them (the compile's wall-clock, measured on a warm-up call, is added to the slice's fixed cost), for 1
and for ``1 + --sweep-epochs`` epochs; the difference gives the seconds per epoch of the slice, and the 1-epoch time
minus one epoch its fixed cost (splits, model, first/last evaluation). The official loop trains one seed of the
slice for ``--sweep-epochs`` epochs, its epochs timed apart from its setup. Every (model, task) is measured (nothing is
extrapolated across tasks); each slice's cost is extrapolated linearly to its full length: 7000 epochs, 10,000 for
permutation transformers (the official ``driver.py``; the issue's round 7000-everywhere figure is printed too).
Ours runs the 20 slices as 20 jobs on **2 single-thread processes in parallel on the 2 cores**, assigned longest
first (the makespan is printed); this assumes two 1-thread processes run as fast side by side as each alone (no
memory-bandwidth contention; measured here one at a time, on a machine that may be shared). The official loop is
extrapolated one run at a time (400 runs back to back, as each official SLURM job loops over its seeds), and also
two runs at a time on the 2 cores for a like-for-like comparison. Last (skip with ``--no-stacks``), the chunks that
the stage ``harmonic_loss.toy_sweep`` really trains for that sweep (:func:`~harmonic_loss.toy_config.sweep_chunks`:
one stack per architecture x task, both heads, 40 runs each, each its own cache entry, ``--jobs`` process or Ray
task) are each timed over 1 and ``1 + --sweep-epochs`` epochs and extrapolated per step (a stack takes its longest
run's steps: 7000 epochs x 25 = 175,000; a finished run stays in the stack, frozen); their makespan on 2
single-thread processes is what ``repro all --scale paper --jobs 2`` (or a 2-CPU Ray cluster) would take on the
CPU.

Timer: process CPU time by default (``--clock cpu``). Everything runs in this one process on ``--threads`` (1) torch
thread with no DataLoader workers, so its CPU time is the wall-clock time it would take on an idle core, and it is
much less disturbed than wall-clock when other work shares the cores (the load average is printed at the start and
the end); ``--clock wall`` times wall-clock instead.

Not measured: the official code's dataset generators (we draw the same split with ``make_split``), its tqdm bar,
checkpoint/JSON writing and crystal metrics; our results summaries (``summarise``) and cache writes; GPU runs.
Times are printed, never asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from harmonic_loss.official_models import OfficialMLP, OfficialTransformer
from harmonic_loss.toy_config import PAPER_SEEDS, TASKS, SweepConfig, sweep_chunks, with_epochs
from harmonic_loss.toy_data import make_split, task
from harmonic_loss.toy_train import RunSpec, chunk_specs, train_runs

# the sweep: official split, no D9 arm; compiled, as the paper-scale stage trains it (SWEEP_PAPER)
CFG = SweepConfig(variants=("official",), ablations=(), device="cpu", compile=True)
# the targets for official / ours, per seed-epoch
TARGETS = {
    ("mlp", "stacked"): 15.0,
    ("transformer", "stacked"): 8.0,
    ("mlp", "single"): 2.0,
    ("transformer", "single"): 2.0,
}
ARCHS = ("mlp", "transformer")
# The timer: process CPU time by default (one thread, no worker processes: the CPU time of the process is what an
# otherwise idle core would take in wall-clock, and it is far less disturbed by other work on a shared machine);
# ``--clock wall`` for wall-clock. Set by main().
clock = time.process_time
HEADS = ("standard", "harmonic")


# ---------------------------------------------------------------------------------------------------------------
# The official side: plain nn.Modules, one run at a time, DataLoader-driven.


def official_run(spec: RunSpec) -> tuple[dict, float, float]:
    """One run as the official ``train_single_model`` + ``customNNModule.train`` do it.

    Returns (per-epoch metric lists, setup seconds, epoch-loop seconds).
    """
    t0 = clock()
    torch.manual_seed(spec.seed)
    sp = make_split(spec.task, spec.split, spec.train_fraction, spec.seed, CFG.data_size)
    t = task(spec.task)
    if spec.arch == "mlp":
        model = OfficialMLP(t.vocab_size, t.seq_len, spec.harmonic, dim=CFG.dim, n=CFG.n, eps=CFG.eps)
    else:
        model = OfficialTransformer(
            t.vocab_size, t.seq_len, spec.harmonic, dim=CFG.dim, dropout=CFG.dropout, n=CFG.n, eps=CFG.eps
        )
    as_t = torch.from_numpy
    train_loader = DataLoader(
        TensorDataset(as_t(sp.train_x), as_t(sp.train_y)), batch_size=CFG.batch_size, shuffle=True
    )
    test_loader = DataLoader(
        TensorDataset(as_t(sp.test_x), as_t(sp.test_y)), batch_size=CFG.batch_size, shuffle=False
    )
    opt = torch.optim.AdamW(model.parameters(), lr=CFG.lr, weight_decay=spec.weight_decay)
    hist: dict[str, list[float]] = {"train_loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
    t1 = clock()
    for _ in range(spec.epochs):
        loss_sum, correct, total = 0.0, 0, 0
        for xb, yb in train_loader:
            xb, yb = xb.to("cpu"), yb.long().to("cpu")
            opt.zero_grad()
            out = model(xb)
            loss = model.task_loss(out, yb)
            (loss + CFG.penalty * model.group_lasso()).backward()
            opt.step()
            loss_sum += loss.item()
            correct += (out.argmax(1) == yb).sum().item()
            total += yb.size(0)
        hist["train_loss"].append(loss_sum / len(train_loader))
        hist["train_acc"].append(correct / total)
        loss_sum, correct, total = 0.0, 0, 0
        with torch.no_grad():  # still in training mode (D6): dropout on
            for xb, yb in test_loader:
                xb, yb = xb.to("cpu"), yb.long().to("cpu")
                out = model(xb)
                loss_sum += F.cross_entropy(out, yb).item()
                correct += (out.argmax(1) == yb).sum().item()
                total += yb.size(0)
        hist["test_loss"].append(loss_sum / len(test_loader))
        hist["test_acc"].append(correct / total)
    return hist, t1 - t0, clock() - t1


# ---------------------------------------------------------------------------------------------------------------
# Our side.


def ours(specs: list[RunSpec], compile: bool = CFG.compile) -> dict:
    return train_runs(
        specs,
        batch_size=CFG.batch_size,
        lr=CFG.lr,
        penalty=CFG.penalty,
        data_size=CFG.data_size,
        dim=CFG.dim,
        n=CFG.n,
        eps=CFG.eps,
        dropout=CFG.dropout,
        eval_every=CFG.eval_every,
        device="cpu",
        compile=compile,
    )


def specs_for(task_name: str, model: str, seeds, epochs: int) -> list[RunSpec]:
    wd = CFG.mlp_weight_decay if model.endswith("mlp") else CFG.transformer_weight_decay
    return [RunSpec(task_name, model, "official", int(s), CFG.train_fraction, wd, epochs) for s in seeds]


def timed(fn, *args) -> float:
    t0 = clock()
    fn(*args)
    return clock() - t0


# ---------------------------------------------------------------------------------------------------------------
# Part (a): the official loop against ours, stacked and single.


def part_loop(args: argparse.Namespace) -> None:
    E, S, K = args.epochs, args.seeds, args.official_seeds
    print(
        f"== official loop vs ours: {args.task}, {args.head} head, {E} epochs, official split, "
        f"{args.threads} thread(s), best of {args.repeat} ==\n"
        f"   official and ours-single: {K} seed(s) one after another; ours-stacked: {S} seeds in one call"
    )
    rows = []
    compile_s: dict[tuple[str, str], float] = {}
    for arch in ARCHS:
        model = f"{args.head}_{arch}"
        specs = specs_for(args.task, model, PAPER_SEEDS[:S], E)
        one = specs_for(args.task, model, PAPER_SEEDS[:1], 1)
        official_run(one[0])  # warm-up: allocator, lazy imports, the task table
        ours(one, compile=False)
        ours(specs_for(args.task, model, PAPER_SEEDS[:S], 1), compile=False)
        for how, sp in (("stacked", specs), ("single", specs[:1])):
            compile_s[(arch, how)] = warm_up(sp)  # printed apart, charged once to a paper-length run
        t = {key: float("inf") for key in ("official", "single", "stacked", "single-c", "stacked-c")}
        for _ in range(args.repeat):
            t0 = clock()
            off = [official_run(s)[0] for s in specs[:K]]
            t["official"] = min(t["official"], clock() - t0)
            for c in ("", "-c"):
                t0 = clock()
                for s in specs[:K]:
                    ours([s], compile=bool(c))
                t["single" + c] = min(t["single" + c], clock() - t0)
                t0 = clock()
                stacked = ours(specs, compile=bool(c))
                t["stacked" + c] = min(t["stacked" + c], clock() - t0)
        ms_off = 1e3 * t["official"] / (K * E)
        for how, n in (("stacked", S), ("single", K)):
            for c in ("", "-c"):
                ms = 1e3 * t[how + c] / (n * E)
                rows.append((arch, how + c, n, ms_off, ms, ms_off / ms, TARGETS[(arch, how)]))
        acc_off = np.mean([h["train_acc"][-1] for h in off])
        acc_ours = float(stacked["train_acc"][:K, -1].mean())
        print(
            f"   {model}: train accuracy after {E} epochs (first {K} seeds): official {acc_off:.3f}, "
            f"ours {acc_ours:.3f} (a sanity check: same data, different inits and batch orders)"
        )
    print()
    head = (
        f"{'model':<12} {'ours':<21} {'official ms/seed-ep':>20} {'ours ms/seed-ep':>16} {'ratio':>8} "
        f"{'target':>7} {'met?':>5}"
    )
    print(head)
    print("-" * len(head))
    for arch, how, n, ms_off, ms, ratio, target in rows:
        what = f"stacked-{n}" if how.startswith("stacked") else "single"
        what += ", compiled" if how.endswith("-c") else ", eager"
        met = "yes" if ratio >= target else "NO"
        print(f"{arch:<12} {what:<21} {ms_off:>20.2f} {ms:>16.2f} {ratio:>7.1f}x {target:>6.0f}x {met:>5}")
    print(
        "\ncompiled = torch.compile of the loss's gradient (forward + backward as one torch.func.grad graph), the\n"
        "accuracy pass and the optimiser update, as the paper-scale sweep runs (SweepConfig.compile); steady state,\n"
        "after a one-off compile per stack shape:"
    )
    for arch, how, n, ms_off, ms, _ratio, _target in rows:
        if not how.endswith("-c"):
            continue
        runs = n if how.startswith("stacked") else 1
        full = CFG.epochs_of(arch, args.task)
        # a whole paper-length run (per seed), the compile counted once per stack
        whole = (ms * full * runs / 1e3 + compile_s[(arch, how[:-2])]) / runs
        print(
            f"   {arch:<12} {how[:-2]:<8} compile {compile_s[(arch, how[:-2])]:5.1f} s (wall); over a {full}-epoch run "
            f"with it: {ms_off * full / 1e3 / whole:5.1f}x the official loop"
        )
    print()


# ---------------------------------------------------------------------------------------------------------------
# Part (b): a slice of every (model, task) of the paper sweep, extrapolated.


def makespan(jobs: list[float], workers: int) -> float:
    """Longest-first assignment of ``jobs`` (seconds) to ``workers`` processes: the time the last one finishes."""
    load = [0.0] * workers
    for j in sorted(jobs, reverse=True):
        load[load.index(min(load))] += j
    return max(load)


def steps(specs: list[RunSpec]) -> int:
    """Steps a stack of ``specs`` takes: its longest run's ``ceil(epochs * n_train / batch)``."""
    n_train = {t: len(make_split(t, "official", CFG.train_fraction, 0, CFG.data_size).train_y) for t in TASKS}
    return max(math.ceil(s.epochs * n_train[s.task] / CFG.batch_size) for s in specs)


def warm_up(specs: list[RunSpec]) -> float:
    """Compile a stack's shapes (the first compiled call); returns the compile's wall-clock seconds (the C++
    compiler runs in child processes) beyond a warm call: a one-off cost per stack shape."""
    t0 = time.perf_counter()
    ours(specs)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours(specs)
    return max(first - (time.perf_counter() - t0), 0.0)


def sweep_chunks_timed(E: int) -> list[tuple[str, str, int, int, float, float]]:
    """The sweep's chunks as the stage trains them (``sweep_chunks``, official split, no D9 arm: the issue's
    sweep): (arch, task, runs, steps, seconds per step, fixed seconds), each from 1 and ``1 + E`` epochs."""

    def chunks(e: int) -> list:
        return sweep_chunks(with_epochs(CFG, e))

    out = []
    for one, more, full in zip(chunks(1), chunks(1 + E), sweep_chunks(CFG), strict=True):
        a, b = chunk_specs(one), chunk_specs(more)
        compile_s = warm_up(a)
        t1, tE = timed(ours, a), timed(ours, b)
        per_step = max(tE - t1, 0.0) / (steps(b) - steps(a))
        n_steps = steps(chunk_specs(full))
        out.append(
            (full.arch, full.task, len(a), n_steps, per_step, max(t1 - steps(a) * per_step, 0.0) + compile_s)
        )
    return out


def part_sweep(args: argparse.Namespace) -> None:
    E, S = args.sweep_epochs, args.seeds
    print(
        f"== paper sweep: 4 models x {len(TASKS)} tasks x {S} seeds (official split); each slice measured over "
        f"{E} epoch(s) (ours: {S} seeds stacked, 1 vs {1 + E} epochs; official: 1 seed), best of "
        f"{args.sweep_repeat}, {args.threads} thread(s) =="
    )
    head = (
        f"{'model':<22} {'task':<12} {'ours s/ep (x' + str(S) + ')':>17} {'official s/ep (x1)':>19} "
        f"{'speed-up':>12} {'epochs':>7} {'ours h':>8} {'official h':>11}"
    )
    print(head)
    print("-" * len(head))
    ours_jobs, ours_jobs_7k, off_runs, off_runs_7k = [], [], [], []
    for arch in ARCHS:
        for h in HEADS:
            model = f"{h}_{arch}"
            for task_name in TASKS:
                one = specs_for(task_name, model, PAPER_SEEDS[:S], 1)
                more = specs_for(task_name, model, PAPER_SEEDS[:S], 1 + E)
                official_run(specs_for(task_name, model, PAPER_SEEDS[:1], 1)[0])  # warm-up
                compile_s = warm_up(one)
                t1 = tE = off_ep = off_setup = float("inf")
                for _ in range(args.sweep_repeat):
                    t1 = min(t1, timed(ours, one))
                    tE = min(tE, timed(ours, more))
                    _, setup, loop = official_run(specs_for(task_name, model, PAPER_SEEDS[:1], E)[0])
                    off_ep, off_setup = min(off_ep, loop / E), min(off_setup, setup)
                if tE <= t1:  # too few epochs: the difference is lost in the timer's noise
                    raise SystemExit(
                        f"official_loop.py: {model} on {task_name} took no longer for {1 + E} epochs than for 1 "
                        f"({tE:.3f} s vs {t1:.3f} s); rerun with a larger --sweep-epochs (default 3)"
                    )
                per_ep = (tE - t1) / E
                fixed = max(t1 - per_ep, 0.0) + compile_s
                n_ep = CFG.epochs_of(arch, task_name)
                ours_s = fixed + n_ep * per_ep
                off_s = S * (off_setup + n_ep * off_ep)
                ours_jobs.append(ours_s)
                ours_jobs_7k.append(fixed + 7000 * per_ep)
                off_runs += [off_setup + n_ep * off_ep] * S
                off_runs_7k += [off_setup + 7000 * off_ep] * S
                print(
                    f"{model:<22} {task_name:<12} {per_ep:>17.3f} {off_ep:>19.3f} "
                    f"{off_ep * S / per_ep:>11.1f}x {n_ep:>7} {ours_s / 3600:>8.2f} {off_s / 3600:>11.2f}"
                )
    print("-" * len(head))
    hours = lambda s: f"{s / 3600:6.2f} h"  # noqa: E731
    print(
        f"ours, 20 stacked slices as jobs on 2 processes (1 thread each, in parallel, longest first):\n"
        f"   makespan {hours(makespan(ours_jobs, 2))}   (sum of slices {hours(sum(ours_jobs))}); "
        f"7000 epochs everywhere: {hours(makespan(ours_jobs_7k, 2))}   target < 5 h: "
        f"{'met' if makespan(ours_jobs, 2) < 5 * 3600 else 'NOT met'}\n"
        f"official loop, {len(off_runs)} runs one at a time (as the SLURM scripts loop over seeds):\n"
        f"   {hours(sum(off_runs))}   (7000 epochs everywhere: {hours(sum(off_runs_7k))}); "
        f"2 runs at a time on the 2 cores: {hours(makespan(off_runs, 2))}\n"
        f"speed-up of the sweep, ours on 2 processes over the official loop one run at a time: "
        f"{sum(off_runs) / makespan(ours_jobs, 2):.1f}x (both on 2 processes: "
        f"{makespan(off_runs, 2) / makespan(ours_jobs, 2):.1f}x)"
    )
    if not args.stacks:
        return
    # What the stage harmonic_loss.toy_sweep really trains: its chunks, each one stack, on 2 processes.
    print(
        f"\nours as the toy_sweep stage trains it (its chunks; each measured over 1 vs {1 + E} epochs, once):"
    )
    totals = []
    for arch, task_name, n_runs, n_steps, per_step, fixed in sweep_chunks_timed(E):
        totals.append(fixed + n_steps * per_step)
        print(
            f"   {arch:<12} {task_name:<12} {n_runs} runs: {1e3 * per_step:6.1f} ms/step x {n_steps} steps "
            f"= {hours(totals[-1])}"
        )
    print(
        f"   {len(totals)} chunks one after another: {hours(sum(totals))}; on 2 processes in parallel (--jobs 2, or "
        f"2 Ray CPUs): {hours(makespan(totals, 2))}   target < 5 h: "
        f"{'met' if makespan(totals, 2) < 5 * 3600 else 'NOT met'}; against the official loop one run at a time: "
        f"{sum(off_runs) / makespan(totals, 2):.1f}x"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("all", "loop", "sweep"), default="all")
    ap.add_argument("--task", default="circle", choices=TASKS, help="task of the loop part")
    ap.add_argument("--head", default="harmonic", choices=HEADS, help="head of the loop part's models")
    ap.add_argument("--epochs", type=int, default=10, help="epochs per run in the loop part")
    ap.add_argument("--seeds", type=int, default=20, help="seeds stacked (both parts)")
    ap.add_argument("--official-seeds", type=int, default=3, help="runs of the official loop and ours-single")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sweep-epochs", type=int, default=3, help="epochs per slice measured in the sweep part")
    ap.add_argument("--sweep-repeat", type=int, default=2)
    ap.add_argument(
        "--no-stacks",
        dest="stacks",
        action="store_false",
        help="sweep part: skip timing the toy_sweep stage's own chunks",
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="process CPU time or wall-clock")
    args = ap.parse_args()
    if not 1 <= args.official_seeds <= args.seeds <= len(PAPER_SEEDS):
        ap.error(f"need 1 <= --official-seeds <= --seeds <= {len(PAPER_SEEDS)}")
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    load = lambda: "/".join(f"{x:.1f}" for x in os.getloadavg())  # noqa: E731
    print(
        f"timer: {'process CPU time' if args.clock == 'cpu' else 'wall-clock'}; torch {torch.__version__}, "
        f"{os.cpu_count()} CPU(s), load average {load()} (1/5/15 min)\n"
    )
    if args.part in ("all", "loop"):
        part_loop(args)
    if args.part in ("all", "sweep"):
        part_sweep(args)
    print(f"\nload average at the end {load()}")


if __name__ == "__main__":
    main()
