"""Vectorised training of many small runs at once: stacked parameters, stacked optimisers, per-run minibatches.

Small models (toy MLPs and transformers, scans over seeds, learning rates or data sizes) are dominated by Python and
kernel-launch overhead, not by arithmetic. Training S of them as *one* model whose every parameter has a leading run
axis ``[S, ...]`` (``torch.bmm`` / ``einsum`` over that axis) costs about as much per step as training one, so a sweep
of S runs is close to S times faster. Nothing here knows about any paper: the model is whatever function the caller
writes over stacked parameters.

The pieces:
- :func:`per_run` turns a scalar or a sequence into a ``[S]`` tensor (per-run learning rates, weight decays, ...).
- :class:`StackedAdamW` / :class:`StackedSGD`: hand-written optimisers over ``{name: [S, ...]}`` parameters whose
  hyper-parameters are ``[S]`` tensors. ``param_lr`` / ``param_weight_decay`` (``{name: per-run value}``) override
  them for named parameters: per-parameter-group, per-run hyper-parameters (e.g. separate encoder and decoder
  learning rates, weight decay on the decoder only), like torch's parameter groups but with a value per run. ``step(active)`` updates only the runs where ``active`` is true, so finished
  runs stay frozen while the others go on (a frozen run's step counter does not advance either). ``subset(keep)``
  re-packs an optimiser (parameters and state) to the runs still going, so finished runs stop costing compute. The update is
  exactly ``torch.optim.AdamW`` / ``SGD`` per run (tested to 1e-6). ``StackedAdamW(compile=True)`` runs the update
  through ``torch.compile`` (one fused loop per parameter instead of ~10 kernels: ~3x faster for small stacks; a few
  seconds to compile, so for long runs only).
- :class:`EpochBatches`: per-run minibatch indices ``[S, B]``, each run shuffling its own training set of its own
  size every epoch (what a ``DataLoader(shuffle=True, drop_last=False)`` does, except that an epoch's last partial
  batch is completed from the next epoch's permutation, so every step has exactly B rows per run), computed a block
  of steps at a time.
- :func:`train_stacked`: the loop. The caller supplies ``loss_fn(step) -> [S]`` (per-run losses; their sum is
  back-propagated, and since runs share no parameters each run receives exactly its own gradient), and optionally
  ``eval_fn(step)`` every ``eval_every`` steps. Runs whose step budget ``steps[r]`` is used up are frozen; the loop
  ends when every run is finished, or when ``eval_fn`` returns a boolean ``[S]`` mask of runs that are done (early
  exit). Frozen runs are still carried through the forward pass (cheaper than re-packing the stack on every exit).
  ``loss_fn`` may return the gradients instead (``{name: [S, ...]}``), e.g. from :func:`compiled_grad`.
- :func:`compiled_grad`: ``torch.compile`` of ``torch.func.grad`` of a loss written as a pure function of the
  parameters: forward and backward in one graph, with no autograd engine or compiled-autograd wrappers between them
  (for a small stack, most of what a compiled ``loss.backward()`` step costs: ~1.4x faster steps for 20 toy MLPs,
  ~2x for a single run or for toy transformers).

Everything stays on the parameters' device; no DataLoader, no host round trips inside the loop except the optional
progress bar, so the same code runs on a GPU unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


def per_run(value: float | Sequence[float] | Tensor, n_runs: int, device=None, dtype=torch.float32) -> Tensor:
    """A ``[n_runs]`` tensor from a scalar (broadcast) or a sequence/tensor of length ``n_runs``."""
    t = torch.as_tensor(value, dtype=dtype, device=device)
    if t.dim() == 0:
        return t.expand(n_runs).clone()
    if t.shape != (n_runs,):
        raise ValueError(f"expected a scalar or {n_runs} per-run values, got shape {tuple(t.shape)}")
    return t.clone()


def require_compiler(device: torch.device, fix: str = "pass compile=False") -> None:
    """``torch.compile`` needs a C++ compiler on the CPU (inductor's kernels), triton and a C compiler (its
    launchers) on a GPU: a one-line error before compiling, naming the way round it (``fix``), instead of
    inductor's traceback at the first step."""
    import importlib.util
    import os
    import shutil

    from repro.figure import ReproError

    gpu = device.type == "cuda"
    if gpu and importlib.util.find_spec("triton") is None:
        raise ReproError(f"torch.compile on a GPU needs triton (pip install triton); or {fix}")
    names = (
        (os.environ.get("CC", ""), "gcc", "cc", "clang")
        if gpu
        else (os.environ.get("CXX", ""), "g++", "c++", "clang++")
    )
    if not any(shutil.which(c) for c in names if c):
        what, package = ("C", "gcc") if gpu else ("C++", "g++")
        raise ReproError(
            f"torch.compile needs a {what} compiler: install one (apt-get install {package}); or {fix}"
        )


def _view(v: Tensor, like: Tensor) -> Tensor:
    """Reshape a per-run ``[S]`` tensor to broadcast against a stacked parameter ``[S, ...]``."""
    return v.view((-1,) + (1,) * (like.dim() - 1))


def _check(params: Mapping[str, Tensor]) -> int:
    sizes = {p.shape[0] for p in params.values()}
    if len(sizes) != 1:
        raise ValueError(f"stacked parameters disagree on the run axis: {sorted(sizes)}")
    return sizes.pop()


def _overrides(
    values: Mapping[str, float | Sequence[float] | Tensor] | None, params: Mapping[str, Tensor], n_runs: int
) -> dict[str, Tensor]:
    """Per-parameter ``[S]`` hyper-parameter tensors for the named parameters (unknown names rejected)."""
    out: dict[str, Tensor] = {}
    for name, v in (values or {}).items():
        if name not in params:
            raise ValueError(f"no stacked parameter named {name!r}; parameters: {', '.join(params)}")
        p = params[name]
        out[name] = per_run(v, n_runs, p.device, p.dtype)
    return out


def _subset_params(params: Mapping[str, Tensor], keep: Tensor) -> dict[str, Tensor]:
    return {k: p.detach()[keep].clone().requires_grad_(p.requires_grad) for k, p in params.items()}


class StackedAdamW:
    """AdamW (Loshchilov & Hutter; the ``torch.optim.AdamW`` update) over stacked parameters, per-run lr and wd."""

    def __init__(
        self,
        params: Mapping[str, Tensor],
        lr: float | Sequence[float] | Tensor = 1e-3,
        weight_decay: float | Sequence[float] | Tensor = 1e-2,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        param_lr: Mapping[str, float | Sequence[float] | Tensor] | None = None,
        param_weight_decay: Mapping[str, float | Sequence[float] | Tensor] | None = None,
        compile: bool = False,
    ):
        self.params = dict(params)
        self.n_runs = _check(self.params)
        p0 = next(iter(self.params.values()))
        self.compile, self._compiled = compile, None
        self._layout: tuple | None = None  # the packing of the last step's parameters (see _update)
        if compile:
            require_compiler(p0.device)
        self.lr = per_run(lr, self.n_runs, p0.device, p0.dtype)
        self.weight_decay = per_run(weight_decay, self.n_runs, p0.device, p0.dtype)
        self.param_lr = _overrides(param_lr, self.params, self.n_runs)
        self.param_weight_decay = _overrides(param_weight_decay, self.params, self.n_runs)
        self.betas, self.eps = betas, eps
        self.exp_avg = {k: torch.zeros_like(p) for k, p in self.params.items()}
        self.exp_avg_sq = {k: torch.zeros_like(p) for k, p in self.params.items()}
        self.steps = torch.zeros(self.n_runs, dtype=p0.dtype, device=p0.device)

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    def subset(self, keep: Tensor) -> StackedAdamW:
        """A new optimiser over new leaf parameters holding only the runs in ``keep`` (a bool ``[S]`` mask or an
        index tensor), with their state: re-packing the stack when many runs have finished makes each step cheaper.
        The new parameters are ``.params`` of the result."""
        new = copy.copy(self)
        new.params = _subset_params(self.params, keep)
        new.n_runs = _check(new.params)
        new._compiled = None  # compiled for the old stack's shapes and tensors
        new._layout = None
        new.lr, new.weight_decay, new.steps = self.lr[keep], self.weight_decay[keep], self.steps[keep]
        new.param_lr = {k: v[keep] for k, v in self.param_lr.items()}
        new.param_weight_decay = {k: v[keep] for k, v in self.param_weight_decay.items()}
        new.exp_avg = {k: v[keep] for k, v in self.exp_avg.items()}
        new.exp_avg_sq = {k: v[keep] for k, v in self.exp_avg_sq.items()}
        return new

    @torch.no_grad()
    def step(self, active: Tensor | None = None) -> None:
        a = torch.ones_like(self.steps) if active is None else active.to(self.steps.dtype)
        if not self.compile:
            self._update(a)
            return
        if self._compiled is None:
            # One fused loop per parameter instead of ~10 kernels: the update is memory- and dispatch-bound
            self._compiled = torch.compile(self._update_per_parameter, dynamic=False)
        self._compiled(a)

    def _factors(self, a: Tensor) -> tuple[Tensor, Tensor]:
        """Advance the step counts; the bias corrections ``1 - b1^t`` and ``sqrt(1 - b2^t)`` per run ``[S]``."""
        b1, b2 = self.betas
        self.steps += a
        t = self.steps.clamp_min(1)  # a run that never stepped has nothing to correct
        return 1 - b1**t, (1 - b2**t).sqrt()

    def _update_per_parameter(self, a: Tensor) -> None:
        b1, b2 = self.betas
        bias1, root2 = self._factors(a)
        for k, p in self.params.items():
            if p.grad is None:
                continue
            lr = self.param_lr.get(k, self.lr)
            step_size = lr / bias1 * a
            decay = 1 - lr * self.param_weight_decay.get(k, self.weight_decay) * a
            g, m, v = p.grad, self.exp_avg[k], self.exp_avg_sq[k]
            av = _view(a, p)
            # the torch.optim.AdamW update, in as few passes over memory as possible (this is memory-bound)
            p.mul_(_view(decay, p))
            m.lerp_(g, (1 - b1) * av)
            v.lerp_(g * g, (1 - b2) * av)
            # m_hat / (sqrt(v_hat) + eps) with the bias corrections folded into two per-run factors:
            # = (lr / bias1) * sqrt(bias2) * m / (sqrt(v) + eps * sqrt(bias2))
            denom = v.sqrt().add_(_view(self.eps * root2, p))
            p.addcmul_(torch.div(m, denom), _view(-step_size * root2, p))

    def _update(self, a: Tensor) -> None:
        """:meth:`_update_per_parameter` over every parameter at once: parameters and gradients packed run-major into
        ``[S, P]`` (the moments live there), so the per-run factors broadcast as ``[S, 1]`` columns, and the result
        copied back. The same arithmetic per element, so the same numbers (tested bitwise); ~12 kernels a step
        instead of ~7 per parameter (a small stack's step is dispatch-bound: a 27-tensor LM has 189)."""
        names = tuple(k for k, p in self.params.items() if p.grad is not None)
        if len(names) < 2:
            self._update_per_parameter(a)
            return
        b1, b2 = self.betas
        bias1, root2 = self._factors(a)
        sizes, lr, wd, m, v = self._packing(names)
        S = self.n_runs
        params = [self.params[k].detach() for k in names]
        p = torch.cat([x.reshape(S, -1) for x in params], 1)
        g = torch.cat([self.params[k].grad.reshape(S, -1) for k in names], 1)
        av = a[:, None]
        # [S, 1] factors, or [S, P] where a parameter overrides the lr or weight decay
        step_size = lr / bias1[:, None] * av
        p.mul_(1 - lr * wd * av)
        m.lerp_(g, (1 - b1) * av)
        v.lerp_(g * g, (1 - b2) * av)
        denom = v.sqrt().add_((self.eps * root2)[:, None])
        p.addcmul_(torch.div(m, denom), -step_size * root2[:, None])
        torch._foreach_copy_(params, [y.view_as(x) for x, y in zip(params, p.split(sizes, 1), strict=True)])

    def _packing(self, names: tuple[str, ...]) -> tuple:
        """The run-major packing of ``names``: per-run sizes, the lr and weight decay as ``[S, 1]`` (or ``[S, P]``
        columns where parameters override them), and the two moments moved into ``[S, P]`` (``exp_avg`` /
        ``exp_avg_sq`` become views of them)."""
        if self._layout is not None and self._layout[0] == names:
            return self._layout[1:]
        S = self.n_runs
        sizes = [self.params[k].numel() // S for k in names]

        def columns(per_param: dict[str, Tensor], default: Tensor) -> Tensor:
            if not any(k in per_param for k in names):
                return default[:, None]
            return torch.cat(
                [per_param.get(k, default)[:, None].expand(S, q) for k, q in zip(names, sizes, strict=True)],
                1,
            )

        moments = []
        for state in (self.exp_avg, self.exp_avg_sq):
            f = torch.cat([state[k].reshape(S, -1) for k in names], 1)
            for k, part in zip(names, f.split(sizes, 1), strict=True):
                state[k] = part.view_as(self.params[k])
            moments.append(f)
        lr, wd = columns(self.param_lr, self.lr), columns(self.param_weight_decay, self.weight_decay)
        self._layout = (names, sizes, lr, wd, *moments)
        return self._layout[1:]


class StackedSGD:
    """SGD with optional momentum and (coupled, L2) weight decay, as ``torch.optim.SGD``, per-run lr and wd."""

    def __init__(
        self,
        params: Mapping[str, Tensor],
        lr: float | Sequence[float] | Tensor = 1e-2,
        momentum: float = 0.0,
        weight_decay: float | Sequence[float] | Tensor = 0.0,
        param_lr: Mapping[str, float | Sequence[float] | Tensor] | None = None,
        param_weight_decay: Mapping[str, float | Sequence[float] | Tensor] | None = None,
    ):
        self.params = dict(params)
        self.n_runs = _check(self.params)
        p0 = next(iter(self.params.values()))
        self.lr = per_run(lr, self.n_runs, p0.device, p0.dtype)
        self.weight_decay = per_run(weight_decay, self.n_runs, p0.device, p0.dtype)
        self.param_lr = _overrides(param_lr, self.params, self.n_runs)
        self.param_weight_decay = _overrides(param_weight_decay, self.params, self.n_runs)
        self.momentum = momentum
        self.buf: dict[str, Tensor | None] = {k: None for k in self.params}

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    def subset(self, keep: Tensor) -> StackedSGD:
        """As :meth:`StackedAdamW.subset`."""
        new = copy.copy(self)
        new.params = _subset_params(self.params, keep)
        new.n_runs = _check(new.params)
        new.lr, new.weight_decay = self.lr[keep], self.weight_decay[keep]
        new.param_lr = {k: v[keep] for k, v in self.param_lr.items()}
        new.param_weight_decay = {k: v[keep] for k, v in self.param_weight_decay.items()}
        new.buf = {k: None if b is None else b[keep] for k, b in self.buf.items()}
        return new

    @torch.no_grad()
    def step(self, active: Tensor | None = None) -> None:
        a = torch.ones_like(self.lr) if active is None else active.to(self.lr.dtype)
        for k, p in self.params.items():
            if p.grad is None:
                continue
            av = _view(a, p)
            d = p.grad + _view(self.param_weight_decay.get(k, self.weight_decay), p) * p
            if self.momentum:
                b = self.buf[k]
                # torch initialises the buffer with the first gradient; a frozen run keeps its buffer unchanged
                b = d.clone() if b is None else torch.where(av > 0, self.momentum * b + d, b)
                self.buf[k] = b
                d = b
            p.sub_(_view(self.param_lr.get(k, self.lr), p) * av * d)


class EpochBatches:
    """Per-run shuffled minibatch indices: ``next()`` gives ``[S, B]`` indices into each run's own training set.

    Run r draws from ``range(sizes[r])``: a fresh permutation every epoch, consumed B rows at a time; a batch that
    crosses an epoch boundary takes its remaining rows from the next permutation. So after k steps run r has seen
    ``k * B / sizes[r]`` epochs, each row once per epoch. Needs ``B <= min(sizes)``.
    """

    def __init__(
        self, sizes: Sequence[int] | Tensor, batch_size: int, seed: int, device=None, block: int = 64
    ):
        self.sizes = torch.as_tensor(sizes, dtype=torch.long, device=device)
        if batch_size > int(self.sizes.min()):
            raise ValueError(
                f"batch size {batch_size} exceeds the smallest training set ({int(self.sizes.min())})"
            )
        self.batch_size = batch_size
        self.n_runs, self.n_max = len(self.sizes), int(self.sizes.max())
        self.generator = torch.Generator(device=self.sizes.device).manual_seed(seed)
        # The cursors advance deterministically, so the host knows which runs start a new epoch without asking
        # the device (no synchronisation per step on a GPU).
        self.host_sizes = np.array(self.sizes.tolist(), dtype=np.int64)
        self.host_cursor = np.zeros_like(self.host_sizes)
        self.current = self._permutations(self.n_runs)
        self.upcoming = self._permutations(self.n_runs)
        # Indices are computed ``block`` steps at a time (a handful of tensor ops per block instead of per step:
        # the per-step cost of small stacks is Python and dispatch). A block never spans more than one epoch
        # boundary of any run, so it is the same stream, drawn in the same order, as one step at a time.
        self.block = max(1, min(block, int(self.host_sizes.min()) // batch_size))
        self.offsets = torch.arange(self.block * batch_size, device=self.sizes.device)
        self.prefetched: Tensor | None = None  # [block, S, B]
        self.taken = 0

    def _permutations(self, n: int, rows: Tensor | None = None) -> Tensor:
        """Row r: a random permutation of ``range(sizes[r])`` in its first sizes[r] entries."""
        sizes = self.sizes if rows is None else self.sizes[rows]
        keys = torch.rand(n, self.n_max, generator=self.generator, device=self.sizes.device)
        keys = keys.masked_fill(torch.arange(self.n_max, device=keys.device) >= sizes[:, None], 2.0)
        return keys.argsort(dim=1)

    def epochs(self, steps: int | Tensor) -> Tensor:
        """Epochs each run has seen after ``steps`` steps (float ``[S]``)."""
        return torch.as_tensor(steps, device=self.sizes.device) * self.batch_size / self.sizes

    def steps_for(self, epochs: float) -> Tensor:
        """Steps each run needs for ``epochs`` epochs (``[S]``, rounded up)."""
        return torch.ceil(epochs * self.sizes / self.batch_size).long()

    def _fill(self) -> None:
        """The next ``block`` steps' indices; then the per-step bookkeeping, in the order a step at a time does it
        (so the generator draws the same permutations in the same order)."""
        cursor = torch.from_numpy(self.host_cursor.copy()).to(self.sizes.device)
        pos = cursor[:, None] + self.offsets  # [S, block * B]: at most one epoch boundary per run
        n = self.sizes[:, None]
        idx = torch.where(
            pos >= n,
            self.upcoming.gather(1, (pos - n).clamp(0, self.n_max - 1)),
            self.current.gather(1, pos.clamp_max(self.n_max - 1)),
        )
        self.prefetched = idx.view(self.n_runs, self.block, self.batch_size).transpose(0, 1).contiguous()
        for _ in range(self.block):
            self.host_cursor += self.batch_size
            wrapped_rows = np.flatnonzero(self.host_cursor >= self.host_sizes)
            if len(wrapped_rows):
                self.host_cursor[wrapped_rows] -= self.host_sizes[wrapped_rows]
                rows = torch.from_numpy(wrapped_rows).to(self.sizes.device)
                self.current[rows] = self.upcoming[rows]
                self.upcoming[rows] = self._permutations(len(rows), rows)
        self.taken = 0

    def next(self) -> Tensor:
        """The next step's indices ``[S, B]``."""
        if self.prefetched is None or self.taken == self.block:
            self._fill()
        idx = self.prefetched[self.taken]
        self.taken += 1
        return idx


def compiled_grad(
    loss: Callable[..., Tensor], options: Mapping[str, object] | None = None
) -> Callable[..., dict[str, Tensor]]:
    """``grads(params, *args)``: the gradient of ``loss(params, *args).sum()`` with respect to every tensor of the
    ``params`` dict (``{name: [S, ...]}``), from one ``torch.compile``'d graph of ``torch.func.grad``.

    ``loss`` must be a pure function of its arguments (it reads the parameters it is given, not a model's own).
    ``options``: inductor options (e.g. ``{"fallback_random": True}`` to draw dropout masks from torch's generator).
    Compiled once per argument shape (``dynamic=False``); the parameters are passed detached, so nothing outside
    the graph records autograd history. Needs a compiler (see :func:`require_compiler`).
    """

    def grads(params: dict[str, Tensor], *args) -> dict[str, Tensor]:
        return torch.func.grad(lambda p, *a: loss(p, *a).sum())(params, *args)

    compiled = torch.compile(grads, dynamic=False, options=dict(options or {}))

    def call(params: Mapping[str, Tensor], *args) -> dict[str, Tensor]:
        return compiled({k: p.detach() for k, p in params.items()}, *args)

    return call


@dataclass
class TrainLog:
    """What :func:`train_stacked` did: steps run, and the step at which each run stopped."""

    steps_run: int
    stopped_at: Tensor  # [S] step count of each run when it was frozen (or the last step)


def train_stacked(
    loss_fn: Callable[[int], Tensor | Mapping[str, Tensor]],
    optimizer: StackedAdamW | StackedSGD,
    steps: int | Sequence[int] | Tensor,
    eval_fn: Callable[[int], Tensor | None] | None = None,
    eval_every: int = 0,
    desc: str | None = None,
) -> TrainLog:
    """Train every run of a stack; see the module docstring.

    ``steps``: the step budget, one for all runs or one per run (``[S]``). ``loss_fn(step)`` returns per-run losses
    ``[S]``, or the gradients of their sum (``{name: [S, ...]}`` for the optimiser's parameters). ``eval_fn(step)``
    is called before the first step, every ``eval_every`` steps, and after the last step (with the number of steps
    done); it may return a boolean ``[S]`` mask of runs to stop early.
    """
    n_runs = optimizer.n_runs
    device = optimizer.lr.device
    budget = per_run(steps, n_runs, device, torch.long)
    total = int(budget.max())
    finished = torch.zeros(n_runs, dtype=torch.bool, device=device)
    stopped_at = budget.clone()

    def evaluate(step: int) -> None:
        nonlocal finished
        if eval_fn is None:
            return
        done = eval_fn(step)
        if done is not None:
            newly = done.to(device) & ~finished & (budget > step)
            stopped_at[newly] = step
            finished = finished | done.to(device)

    iterator: range | object = range(total)
    if desc:
        from repro.progress import track

        iterator = track(range(total), desc)
    evaluate(0)
    done_steps = 0
    # The active mask changes only at a step where some run's budget ends, or after an evaluation that finished
    # runs (``finished`` is then a new tensor): recomputed there rather than every step (a small stack's step is
    # dispatch-bound).
    ends = set(budget.tolist())
    seen = None  # the ``finished`` the mask was computed from (None: not yet)
    for step in iterator:  # type: ignore[attr-defined]
        if seen is not finished or step in ends:
            active, seen = (budget > step) & ~finished, finished
        if step % 256 == 0 and step > 0 and not bool(active.any()):  # a host sync, so only now and then
            break
        optimizer.zero_grad()
        out = loss_fn(step)
        if isinstance(out, Mapping):
            for name, grad in out.items():
                optimizer.params[name].grad = grad
        else:
            out.sum().backward()
        optimizer.step(active)
        done_steps = step + 1
        if eval_every and done_steps % eval_every == 0 and done_steps < total:
            evaluate(done_steps)
    evaluate(done_steps)
    return TrainLog(steps_run=done_steps, stopped_at=torch.minimum(stopped_at, budget))
