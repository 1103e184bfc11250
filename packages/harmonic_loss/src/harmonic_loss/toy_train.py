"""Training many toy runs at once (through :mod:`repro.stack`) and the shared sweep of Figs. 2, 3a, 3c and 7.

:func:`train_runs` trains a list of :class:`RunSpec` of one architecture as one stacked model (each run pads to the
largest vocabulary/input length of its stack, see :mod:`harmonic_loss.toy_models`). The sweep trains one stack per
chunk, an architecture x D9 arm x task (``toy_config.sweep_chunks``: both heads, every split and seed), so a chunk's
numbers never depend on which other chunks run, and chunks run in parallel (``--jobs``, Ray, CI jobs). Each run has its own data set (drawn from its seed), its own training-set size, its own
minibatch order (one permutation per epoch), its own step budget (``epochs * n_train / batch``; a finished run is
frozen while the others go on), its own weight decay and its own embedding penalty (the D9 arms of the sweep).

Choices where the spec is silent: an epoch is ``n_train / batch`` steps (an epoch's last partial batch is filled
from the next epoch's permutation, so every step has exactly ``batch`` rows); the minibatch order of a stack is
drawn from one generator seeded by the stack's seeds; transformer dropout uses torch's global generator seeded the
same way. Accuracies: ``eval_dropout=True`` measures the transformers' curves with dropout active, as the official
code does (it cannot switch dropout off, D6), ``False`` in eval mode; the dropout masks of an evaluation come from
their own seed inside a forked RNG, so evaluating does not change the training (the same trained models either
way). At the end of training every transformer is evaluated both ways (``final_*_acc_dropout`` and
``final_*_acc_evalmode``; for MLPs, which have no dropout, the two are equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from harmonic_loss import metrics
from harmonic_loss.toy_config import SweepConfig, ToyStackConfig, sweep_chunks
from harmonic_loss.toy_data import make_split, task
from harmonic_loss.toy_models import StackedMLP, StackedTransformer
from repro.stack import EpochBatches, StackedAdamW, compiled_grad, require_compiler, train_stacked


@dataclass(frozen=True)
class RunSpec:
    task: str
    model: str  # standard_mlp | harmonic_mlp | standard_transformer | harmonic_transformer
    split: str  # official | unique
    seed: int
    train_fraction: float = 0.8
    weight_decay: float = 0.01
    epochs: int = 100
    penalty: float | None = None  # embedding group-lasso; None = train_runs' ``penalty``
    arm: str = "official"  # the sweep's D9 arm (see toy_config.ARMS)

    @property
    def arch(self) -> str:
        return self.model.split("_")[1]

    @property
    def harmonic(self) -> bool:
        return self.model.startswith("harmonic")


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _unseen_rows(train_x: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    """Indices of the test rows whose input does not occur among the training inputs."""
    seen = {tuple(r) for r in train_x.tolist()}
    return np.array([i for i, r in enumerate(test_x.tolist()) if tuple(r) not in seen], dtype=np.int64)


def _pad(arrays: Sequence[np.ndarray], length: int) -> np.ndarray:
    out = np.zeros((len(arrays), length), dtype=np.int64)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def _pad_inputs(arrays: Sequence[np.ndarray], length: int, width: int, right_align: bool) -> np.ndarray:
    out = np.zeros((len(arrays), length, width), dtype=np.int64)
    for i, a in enumerate(arrays):
        if right_align:
            out[i, : len(a), width - a.shape[1] :] = a
        else:
            out[i, : len(a), : a.shape[1]] = a
    return out


def train_runs(
    specs: Sequence[RunSpec],
    *,
    batch_size: int = 32,
    lr: float = 2e-3,
    penalty: float = 0.01,
    data_size: int = 1000,
    dim: int = 16,
    n: float = 1.0,
    eps: float = 1e-4,
    dropout: float = 0.1,
    eval_every: float = 1.0,
    eval_dropout: bool = False,
    device: str | torch.device = "cpu",
    desc: str | None = None,
    keep_params: bool = False,
    compile: bool = False,
) -> dict:
    """Train ``specs`` (all one architecture) as one stack. Returns per-run numpy arrays (leading axis = run).

    ``eval_every``: epochs (of the median run) between accuracy evaluations; 0 evaluates only at start and end.
    ``eval_dropout``: measure the transformers' accuracies with dropout active (the official code, D6); the end of
    training is evaluated both ways (``end_*_acc_dropout`` / ``end_*_acc_evalmode``).
    ``keep_params``: also return the trained parameters, ``params = {name: [run, ...]}`` (padded as stacked).
    ``compile``: ``torch.compile`` the loss's gradient (forward and backward as one ``torch.func.grad`` graph), the
    accuracy pass and the optimiser update (transformers: attention as broadcast sums, dropout masks from torch's
    generator): a few seconds to compile each stack, then 2-4x faster steps than eager for long runs (the paper
    sweep); float rounding differs from eager.
    """
    archs = {s.arch for s in specs}
    if len(archs) != 1:
        raise ValueError(f"one architecture per stack, got {archs}")
    arch = archs.pop()
    device = torch.device(device)
    if compile:  # before anything else checks (StackedAdamW would name its own keyword, not the CLI's)
        require_compiler(device, "run without it: --set sweep.compile=false")
    # The stack wants runs of one (task, head) contiguous; train in that order, hand results back in the caller's.
    order = sorted(range(len(specs)), key=lambda i: (specs[i].task, specs[i].harmonic))
    inverse = np.argsort(order)
    specs = [specs[i] for i in order]
    splits = [make_split(s.task, s.split, s.train_fraction, s.seed, data_size) for s in specs]
    tasks = [task(s.task) for s in specs]
    vocab = [t.vocab_size for t in tasks]
    seq_len = [t.seq_len for t in tasks]
    L = max(seq_len)
    n_train = np.array([len(sp.train_y) for sp in splits])
    n_test = np.array([len(sp.test_y) for sp in splits])
    as_t = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
    right = arch == "transformer"  # see toy_models: MLPs pad at the end, transformers in front
    train_x = as_t(_pad_inputs([sp.train_x for sp in splits], int(n_train.max()), L, right))
    train_y = as_t(_pad([sp.train_y for sp in splits], int(n_train.max())))
    test_x = as_t(_pad_inputs([sp.test_x for sp in splits], int(n_test.max()), L, right))
    test_y = as_t(_pad([sp.test_y for sp in splits], int(n_test.max())))
    n_train_t, n_test_t = as_t(n_train), as_t(n_test)
    # Test rows whose input never occurs in training (all of them on the unique split): the accuracy on these is
    # generalisation; on the official split the other test rows can be answered by memorisation (D1).
    unseen = [_unseen_rows(sp.train_x, sp.test_x) for sp in splits]
    n_unseen = np.array([len(u) for u in unseen])
    unseen_x = as_t(
        _pad_inputs(
            [sp.test_x[u] for sp, u in zip(splits, unseen, strict=True)], max(1, n_unseen.max()), L, right
        )
    )
    unseen_y = as_t(
        _pad([sp.test_y[u] for sp, u in zip(splits, unseen, strict=True)], max(1, n_unseen.max()))
    )

    seeds = [s.seed for s in specs]
    harmonic = [s.harmonic for s in specs]
    if arch == "mlp":
        model = StackedMLP(seeds, harmonic, vocab, seq_len, dim=dim, n=n, eps=eps, device=device)
    else:
        model = StackedTransformer(
            seeds, harmonic, vocab, seq_len, dim=dim, dropout=dropout, n=n, eps=eps, device=device
        )
    stack_seed = int(sum((i + 1) * 7919 * (s + 1) for i, s in enumerate(seeds)) % (2**31))
    torch.manual_seed(stack_seed)
    opt = StackedAdamW(model.params, lr=lr, weight_decay=[s.weight_decay for s in specs], compile=compile)
    penalties = np.array([penalty if s.penalty is None else s.penalty for s in specs], dtype=np.float64)
    run_penalty = penalty if (penalties == penalty).all() else as_t(penalties.astype(np.float32))
    batches = EpochBatches(n_train, batch_size, seed=stack_seed, device=device)
    budget = torch.cat([batches.steps_for(float(s.epochs))[i : i + 1] for i, s in enumerate(specs)])
    S = len(specs)
    model_accuracy = model.accuracy
    grads = None
    if compile:
        from torch._dynamo import config as dynamo_config

        # every stack (and every evaluated set) of a process is its own compiled graph; past the default limit
        # dynamo would quietly fall back to eager
        dynamo_config.recompile_limit = max(dynamo_config.recompile_limit, 256)
        # dropout masks from torch's generator (as eager draws them): inductor's own in-kernel random numbers are
        # slower on the CPU than the whole rest of the transformer step
        options = {"fallback_random": True}
        if arch == "transformer":
            model.broadcast_attention = True
        # forward and backward as one graph of torch.func.grad (no autograd engine between them)
        grads = compiled_grad(
            lambda params, x, y: model.loss(x, y, run_penalty, train=True, params=params), options
        )
        model_accuracy = torch.compile(model.accuracy, dynamic=False, options=options)

    def loss_fn(step: int) -> torch.Tensor | dict[str, torch.Tensor]:
        idx = batches.next()
        xb = train_x.gather(1, idx[..., None].expand(-1, -1, L))
        yb = train_y.gather(1, idx)
        if grads is not None:
            return grads(model.params, xb, yb)
        return model.loss(xb, yb, run_penalty, train=True)

    eval_steps: list[int] = []
    train_acc: list[torch.Tensor] = []
    test_acc: list[torch.Tensor] = []
    other_train_acc: list[torch.Tensor] = []  # transformers: the training accuracy in the other D6 mode too

    has_dropout = arch == "transformer" and dropout > 0
    curve_dropout = bool(eval_dropout) and has_dropout
    fork_devices = [device.index or 0] if device.type == "cuda" else []

    def acc(
        x: torch.Tensor, y: torch.Tensor, rows: torch.Tensor, with_dropout: bool, key: int
    ) -> torch.Tensor:
        if not with_dropout:
            return model_accuracy(x, y, rows)
        # Dropout masks from their own seed (the step and the data set, ``key``) in a forked RNG: the training's
        # dropout stream is left untouched, and an evaluation's masks do not depend on the evaluations before it.
        with torch.random.fork_rng(devices=fork_devices):
            torch.manual_seed((stack_seed + 104_729 * key) % 2**62)
            return model.accuracy(x, y, rows, train=True)

    def eval_fn(step: int) -> None:
        eval_steps.append(step)
        train_acc.append(acc(train_x, train_y, n_train_t, curve_dropout, 3 * step + 1))
        test_acc.append(acc(test_x, test_y, n_test_t, curve_dropout, 3 * step + 2))
        if has_dropout:
            other_train_acc.append(acc(train_x, train_y, n_train_t, not curve_dropout, 3 * step + 1))

    every = int(round(eval_every * float(np.median(n_train)) / batch_size)) if eval_every else 0
    train_stacked(loss_fn, opt, budget, eval_fn=eval_fn, eval_every=max(every, 1) if every else 0, desc=desc)

    steps = np.array(eval_steps, dtype=np.float64)
    budget_np = budget.cpu().numpy()
    # A run frozen before an evaluation keeps its final weights: its epoch count stops at its budget.
    epochs = np.minimum(steps[None, :], budget_np[:, None]) * batch_size / n_train[:, None]
    emb = model.embedding.detach().cpu().numpy()
    last = eval_steps[-1]
    unseen_acc = acc(unseen_x, unseen_y, as_t(n_unseen), curve_dropout, 3 * last + 3).cpu().numpy()
    # The end of training, both ways (D6): the curves' last points, and the other mode's test accuracy evaluated here.
    ends = {curve_dropout: (train_acc[-1], test_acc[-1])}
    train_curves = {
        curve_dropout: train_acc,
        not curve_dropout: other_train_acc if has_dropout else train_acc,
    }
    if has_dropout:
        other = not curve_dropout
        ends[other] = (other_train_acc[-1], acc(test_x, test_y, n_test_t, other, 3 * last + 2))
    else:
        ends[not curve_dropout] = ends[curve_dropout]
    end_acc = {
        f"end_{part}_acc_{'dropout' if on else 'evalmode'}": ends[on][j].cpu().numpy().astype(np.float64)
        for on in (True, False)
        for j, part in enumerate(("train", "test"))
    }
    out = {
        "unseen_test_acc": np.where(
            n_unseen > 0, unseen_acc.astype(np.float64), np.nan
        ),  # [S], at the end of training
        "epochs": epochs.astype(np.float32),  # [S, T]
        "train_acc": torch.stack(train_acc, 1).cpu().numpy().astype(np.float32),  # [S, T]
        "test_acc": torch.stack(test_acc, 1).cpu().numpy().astype(np.float32),
        # the training accuracy curve both ways (D6; the same as ``train_acc`` both ways without dropout)
        **{
            f"train_acc_{'dropout' if on else 'evalmode'}": torch.stack(train_curves[on], 1)
            .cpu()
            .numpy()
            .astype(np.float32)
            for on in (True, False)
        },
        "emb": [emb[i, : vocab[i]] for i in range(S)],
        "overlap": np.array([sp.overlap for sp in splits]),
        "n_train": n_train,
        "n_test": n_test,
        "penalty": penalties,
        **end_acc,
    }
    out = {k: [v[i] for i in inverse] if isinstance(v, list) else v[inverse] for k, v in out.items()}
    if keep_params:
        out["params"] = {k: p.detach().cpu().numpy()[inverse] for k, p in model.params.items()}
    return out


def summarise(specs: Sequence[RunSpec], out: dict, grok_window: float = 20.0) -> dict:
    """Per-run summaries: EV spectrum and task metric of the entity embeddings, final accuracies, grokking epochs."""
    ev, metric, grok_train, grok_test = [], [], [], []
    grok_train_mode: dict[str, list[float]] = {"dropout": [], "evalmode": []}
    for i, s in enumerate(specs):
        t = task(s.task)
        ent = out["emb"][i][t.entity_tokens]
        spec_ev = np.full(16, np.nan)
        e = metrics.explained_variance(ent)[:16]
        spec_ev[: len(e)] = e
        ev.append(spec_ev)
        metric.append(metrics.task_metric(s.task, ent, t.aux))
        grok_train.append(metrics.grok_epoch(out["train_acc"][i], out["epochs"][i], 0.9, grok_window))
        grok_test.append(metrics.grok_epoch(out["test_acc"][i], out["epochs"][i], 0.9, grok_window))
        for mode, epochs in grok_train_mode.items():
            epochs.append(metrics.grok_epoch(out[f"train_acc_{mode}"][i], out["epochs"][i], 0.9, grok_window))
    return {
        "ev": np.array(ev),
        "metric": np.array(metric),
        "grok_train": np.array(grok_train),
        "grok_test": np.array(grok_test),
        # the same rule on the training accuracy measured with dropout active / in eval mode (D6)
        **{f"grok_train_{mode}": np.array(epochs) for mode, epochs in grok_train_mode.items()},
        "final_train_acc": out["train_acc"][:, -1].astype(np.float64),
        "final_test_acc": out["test_acc"][:, -1].astype(np.float64),
    }


def concat_groups(groups: list[tuple[list[RunSpec], dict]], keep_curves: bool = True) -> dict:
    """Join several stacks' results into one flat, JSON/npz-ready result (run axis first, curves NaN-padded)."""
    specs = [s for g, _ in groups for s in g]
    outs = [o for _, o in groups]
    v_max = max(e.shape[0] for o in outs for e in o["emb"])
    dim = outs[0]["emb"][0].shape[1]
    emb = np.full((len(specs), v_max, dim), np.nan, dtype=np.float32)
    for i, e in enumerate(e for o in outs for e in o["emb"]):
        emb[i, : e.shape[0]] = e
    result = {
        "runs": {
            "task": [s.task for s in specs],
            "model": [s.model for s in specs],
            "split": [s.split for s in specs],
            "seed": np.array([s.seed for s in specs]),
            "train_fraction": np.array([s.train_fraction for s in specs]),
            "weight_decay": np.array([s.weight_decay for s in specs]),
            "epochs": np.array([s.epochs for s in specs]),
            "arm": [s.arm for s in specs],
            "penalty": np.concatenate([o["penalty"] for o in outs]),
        },
        "emb": emb,
        "overlap": np.concatenate([o["overlap"] for o in outs]),
        "final_unseen_test_acc": np.concatenate([o["unseen_test_acc"] for o in outs]),
        "n_train": np.concatenate([o["n_train"] for o in outs]),
        "n_test": np.concatenate([o["n_test"] for o in outs]),
    }
    for part in ("train", "test"):
        for mode in ("dropout", "evalmode"):
            result[f"final_{part}_acc_{mode}"] = np.concatenate([o[f"end_{part}_acc_{mode}"] for o in outs])
    summaries = [summarise(g, o) for g, o in groups]
    for k in summaries[0]:
        result[k] = np.concatenate([s[k] for s in summaries])
    if keep_curves:
        t_max = max(o["epochs"].shape[1] for o in outs)
        for k in ("epochs", "train_acc", "test_acc"):
            arr = np.full((len(specs), t_max), np.nan, dtype=np.float32)
            row = 0
            for o in outs:
                arr[row : row + len(o[k]), : o[k].shape[1]] = o[k]
                row += len(o[k])
            result[f"curve_{k}"] = arr
    return result


def chunk_specs(chunk: ToyStackConfig) -> list[RunSpec]:
    """The runs of one chunk of the sweep (:func:`~harmonic_loss.toy_config.sweep_chunks`): both heads, every split,
    every seed, in that order."""
    mlp = chunk.arch == "mlp"
    return [
        RunSpec(
            chunk.task,
            f"{head}_{chunk.arch}",
            sp,
            seed,
            chunk.train_fraction,
            chunk.weight_decay,
            chunk.epochs,
            penalty=chunk.penalty if mlp else None,
            arm=chunk.arm,
        )
        for head in ("standard", "harmonic")
        for sp in chunk.variants
        for seed in chunk.seeds
    ]


def sweep_specs(cfg: SweepConfig) -> list[list[RunSpec]]:
    """The runs of the sweep, one list per chunk (one stack each; see ``sweep_chunks``)."""
    return [chunk_specs(c) for c in sweep_chunks(cfg)]


def _sweep_kwargs(cfg: SweepConfig | ToyStackConfig) -> dict:
    """The training settings every toy experiment takes from its sweep (or chunk) config."""
    return {
        "batch_size": cfg.batch_size,
        "lr": cfg.lr,
        "penalty": cfg.penalty,
        "data_size": cfg.data_size,
        "dim": cfg.dim,
        "n": cfg.n,
        "eps": cfg.eps,
        "compile": cfg.compile,
    }


def stack_name(specs: Sequence[RunSpec]) -> str:
    return specs[0].arch if specs[0].arm == "official" else f"{specs[0].arch}_{specs[0].arm}"


def train_chunk(chunk: ToyStackConfig) -> dict:
    """Train one chunk of the sweep as one stack (the stage ``harmonic_loss.toy_stack``), with its parameters."""
    device = resolve_device(chunk.device)
    arm = "" if chunk.arm == "official" else f", {chunk.arm}"
    specs = chunk_specs(chunk)
    return train_runs(
        specs,
        **_sweep_kwargs(chunk),
        dropout=chunk.dropout,
        eval_every=chunk.eval_every,
        eval_dropout=chunk.eval_dropout,
        device=device,
        desc=f"toy sweep: {len(specs)} {chunk.arch} runs on {chunk.task}{arm}, stacked on {device.type}",
        keep_params=True,
    )


def merge_chunks(cfg: SweepConfig, outs: Sequence[dict]) -> dict:
    """The sweep's result from its chunks' (``outs``, in ``sweep_chunks(cfg)`` order): one runs table, and the
    trained parameters per stack name (``{"mlp": {name: [run, ...]}, "transformer": ..., "mlp_<arm>": ...}``, each
    run padded with NaN to the largest shape of its stack name)."""
    chunks = sweep_chunks(cfg)
    if len(outs) != len(chunks):
        raise ValueError(f"the sweep has {len(chunks)} chunks, got {len(outs)} results")
    groups = [(chunk_specs(c), o) for c, o in zip(chunks, outs, strict=True)]
    result = concat_groups(groups)
    result["device"] = resolve_device(cfg.device).type
    by_stack: dict[str, list[dict]] = {}
    for specs, out in groups:
        by_stack.setdefault(stack_name(specs), []).append(out["params"])
    result["params"] = {name: _concat_padded(parts) for name, parts in by_stack.items()}
    return result


def _concat_padded(parts: list[dict]) -> dict:
    """Concatenate per-chunk parameter arrays along the run axis, NaN-padding every other axis to the largest."""
    out = {}
    for k in parts[0]:
        arrays = [np.asarray(p[k]) for p in parts]
        shape = np.max([a.shape[1:] for a in arrays], axis=0)
        padded = np.full((sum(len(a) for a in arrays), *shape), np.nan, dtype=arrays[0].dtype)
        row = 0
        for a in arrays:
            padded[(slice(row, row + len(a)), *(slice(0, d) for d in a.shape[1:]))] = a
            row += len(a)
        out[k] = padded
    return out


def run_sweep(cfg: SweepConfig) -> dict:
    """Train every chunk of the sweep here, one after another, and merge them: the same numbers as the stage
    ``harmonic_loss.toy_sweep`` (which reads its chunks as stages, so they can run in parallel)."""
    return merge_chunks(cfg, [train_chunk(c) for c in sweep_chunks(cfg)])


def select(result: dict, keep: np.ndarray) -> dict:
    """The runs ``keep`` (indices) of a sweep-like result, every per-run field sliced alike."""
    n = len(result["runs"]["task"])
    out: dict = {}
    for k, v in result.items():
        if k == "runs":
            out[k] = {
                kk: [vv[i] for i in keep] if isinstance(vv, list) else np.asarray(vv)[keep]
                for kk, vv in v.items()
            }
        elif isinstance(v, np.ndarray) and v.ndim and v.shape[0] == n:
            out[k] = v[keep]
        else:
            out[k] = v
    return out


def run_data_efficiency(
    cfg: SweepConfig,
    tasks: Sequence[str],
    models: Sequence[str],
    fractions: Sequence[float],
    seeds: Sequence[int],
    splits: Sequence[str],
    epochs: int,
    budget: str = "epochs",
) -> dict:
    """Fig. 3b: final test accuracy vs train fraction (data size fixed), every run stacked (MLPs in one stack).

    ``budget="epochs"``: every run trains ``epochs`` epochs (the official setting, so small fractions take fewer
    steps); ``"steps"``: every run takes the steps that ``epochs`` epochs of the 0.8 split take (used at small scale,
    where a fixed, short epoch budget would leave the small fractions undertrained and confound data efficiency
    with training length).
    """
    device = resolve_device(cfg.device)

    def run_epochs(f: float) -> int:
        return epochs if budget == "epochs" else max(1, int(round(epochs * cfg.train_fraction / f)))

    groups = []
    for arch in ("mlp", "transformer"):
        arch_models = [m for m in models if m.endswith(arch)]
        for tg in [tuple(tasks)] if arch_models else []:
            wd = cfg.mlp_weight_decay if arch == "mlp" else cfg.transformer_weight_decay
            specs = [
                RunSpec(t, m, sp, seed, f, wd, run_epochs(f))
                for t in tg
                for m in arch_models
                for sp in splits
                for f in fractions
                for seed in seeds
            ]
            out = train_runs(
                specs,
                **_sweep_kwargs(cfg),
                dropout=cfg.dropout,
                eval_every=0,
                eval_dropout=cfg.eval_dropout,
                device=device,
                desc=f"data efficiency: {len(specs)} {arch} runs stacked on {device.type}",
            )
            groups.append((specs, out))
    result = concat_groups(groups, keep_curves=False)
    result.pop("emb")
    return result


def run_case_study(
    cfg: SweepConfig,
    task_name: str,
    seeds: Sequence[int],
    columns: Sequence[tuple[str, float]],
    splits: Sequence[str],
    epochs: int,
    lr: float,
    eval_every: float = 1.0,
) -> dict:
    """Fig. 4: a few MLP runs on one task, one per (model, weight decay) column, split and seed, with full curves."""
    specs = [
        RunSpec(task_name, model, sp, seed, cfg.train_fraction, wd, epochs)
        for sp in splits
        for model, wd in columns
        for seed in seeds
    ]
    device = resolve_device(cfg.device)
    out = train_runs(
        specs,
        **{**_sweep_kwargs(cfg), "lr": lr},
        eval_every=eval_every,
        device=device,
        desc=f"case study: {len(specs)} runs stacked on {device.type}",
    )
    return concat_groups([(specs, out)])
