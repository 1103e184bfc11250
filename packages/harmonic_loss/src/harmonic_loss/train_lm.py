"""Train the GPT of :mod:`harmonic_loss.gpt` (standard or harmonic head) on a token file; single process or DDP.

    python -m harmonic_loss.train_lm --preset paper --head harmonic --data DIR --out DIR        # one GPU
    torchrun --standalone --nproc_per_node 8 -m harmonic_loss.train_lm --preset paper --head harmonic ...
    python -m harmonic_loss.train_lm --preset tiny --head standard --data DIR --out DIR --set max_iters=50

``DIR`` holds ``train.bin`` / ``val.bin`` (uint16 token ids, nanoGPT's format; ``prepare_openwebtext`` writes them).
After nanoGPT's ``train.py``: AdamW (decay on matrices only), linear warm-up then cosine decay, gradient
accumulation (``no_sync`` on all but the last micro-step under DDP), gradient clipping, autocast + GradScaler on GPU.
Checkpoints are the model's ``config.json`` + ``model.safetensors`` plus ``optimizer.safetensors`` and
``trainer.json``; a run resumes from them. Non-finite losses are not masked (the official code's ``nan_to_num``):
the step is skipped on every rank and counted in ``trainer.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from harmonic_loss.gpt import GPT, GPTConfig
from repro.cache import atomic_write_text
from repro.figure import ReproError, apply_overrides

OPTIMIZER_FILE, TRAINER_FILE = "optimizer.safetensors", "trainer.json"


@dataclass(frozen=True)
class TrainConfig:
    max_iters: int = 10_000
    batch_size: int = 6  # micro-batch per process
    grad_accum: int = 10  # micro-steps per optimizer step, per process
    lr: float = 6e-4
    min_lr: float = 6e-5
    warmup_iters: int = 2000
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    eval_interval: int = 500
    eval_iters: int = 50
    log_interval: int = 100
    seed: int = 1337
    compile: bool = False

    def __post_init__(self) -> None:
        if self.max_iters < 1 or self.batch_size < 1 or self.grad_accum < 1:
            raise ValueError("max_iters, batch_size and grad_accum must be >= 1")
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"dtype must be float32, bfloat16 or float16, got {self.dtype!r}")
        if not 0 <= self.min_lr <= self.lr:
            raise ValueError("need 0 <= min_lr <= lr")


# The paper's runs (spec 3.4): 8 GPUs x micro-batch 6 x accumulation 10 x 1024 tokens = 491,520 tokens per step,
# 10,000 steps. Harmonic: lr 6e-3 -> 3e-4, warm-up 1000, no weight decay, fp16. Standard: the notebook's block,
# lr 6e-4 -> 3e-5, warm-up 2000. (The committed harmonic model uses the code convention with n = 768; a commented
# path suggests n = 28 was used: see GPTConfig's options and spec D3.)
PAPER_MODEL = GPTConfig()
PAPER_TRAIN = {
    "harmonic": TrainConfig(lr=6e-3, min_lr=3e-4, warmup_iters=1000, weight_decay=0.0, dtype="float16"),
    "standard": TrainConfig(lr=6e-4, min_lr=3e-5, warmup_iters=2000, weight_decay=0.0, dtype="float16"),
}
PRESETS: dict[str, tuple[GPTConfig, dict[str, TrainConfig]]] = {
    "paper": (PAPER_MODEL, PAPER_TRAIN),
    # For launch tests: seconds on a CPU.
    "tiny": (
        GPTConfig(block_size=16, vocab_size=128, n_layer=1, n_head=2, n_embd=16),
        {
            h: TrainConfig(
                max_iters=20,
                batch_size=4,
                grad_accum=2,
                lr=1e-3,
                min_lr=1e-4,
                warmup_iters=5,
                eval_interval=10,
                eval_iters=2,
                log_interval=10,
            )
            for h in ("standard", "harmonic")
        },
    ),
}


def lr_at(it: int, cfg: TrainConfig) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``min_lr`` at ``max_iters``."""
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / (cfg.warmup_iters + 1)
    progress = min(1.0, (it - cfg.warmup_iters) / max(1, cfg.max_iters - cfg.warmup_iters))
    return cfg.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (cfg.lr - cfg.min_lr)


def load_tokens(path: str | Path) -> np.ndarray:
    p = Path(path)
    if not p.exists():
        raise ReproError(
            f"token file {p} does not exist; write one with harmonic_loss.train_lm.prepare_openwebtext"
        )
    return np.memmap(p, dtype=np.uint16, mode="r")


def prepare_openwebtext(out_dir: str | Path, num_proc: int = 8) -> None:
    """nanoGPT's ``data/openwebtext/prepare.py``: the hub data set, GPT-2 BPE (tiktoken) -> train.bin / val.bin
    (~17 GB). Needs network access once."""
    from repro.hub import go_offline_if_unreachable, offline_error

    go_offline_if_unreachable()
    try:
        import datasets
        import tiktoken

        enc = tiktoken.get_encoding("gpt2")
        ds = datasets.load_dataset("Skylion007/openwebtext", num_proc=num_proc)
    except (OSError, ConnectionError, ValueError) as e:
        how = (
            "uv run python -c 'from harmonic_loss.train_lm import prepare_openwebtext as p; p(\"data/owt\")'"
        )
        raise offline_error(f"OpenWebText or the GPT-2 BPE ({type(e).__name__})", how) from None
    split = ds["train"].train_test_split(test_size=0.0005, seed=2357, shuffle=True)
    split["val"] = split.pop("test")

    def encode(example):
        ids = enc.encode_ordinary(example["text"]) + [enc.eot_token]
        return {"ids": ids, "len": len(ids)}

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, dset in split.items():
        tokenized = dset.map(encode, remove_columns=["text"], num_proc=num_proc)
        arr = np.memmap(
            out / f"{name}.bin.tmp", dtype=np.uint16, mode="w+", shape=(int(np.sum(tokenized["len"])),)
        )
        pos = 0
        for shard in range(1024):
            batch = tokenized.shard(num_shards=1024, index=shard, contiguous=True).with_format("numpy")
            ids = np.concatenate(batch["ids"]) if len(batch) else np.zeros(0, np.uint16)
            arr[pos : pos + len(ids)] = ids
            pos += len(ids)
        arr.flush()
        os.replace(out / f"{name}.bin.tmp", out / f"{name}.bin")


def get_batch(
    data: np.ndarray, block: int, batch: int, gen: torch.Generator, device: str
) -> tuple[torch.Tensor, torch.Tensor]:
    ix = torch.randint(len(data) - block - 1, (batch,), generator=gen)
    x = torch.stack([torch.from_numpy(data[i : i + block].astype(np.int64)) for i in ix.tolist()])
    y = torch.stack([torch.from_numpy(data[i + 1 : i + 1 + block].astype(np.int64)) for i in ix.tolist()])
    return x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def _save_optimizer(opt: torch.optim.Optimizer, path: Path) -> None:
    """Adam state as safetensors: ``{param index}.{exp_avg|exp_avg_sq|step}`` (no pickles)."""
    from safetensors.torch import save_file

    params = [p for g in opt.param_groups for p in g["params"]]
    flat = {}
    for i, p in enumerate(params):
        for k, v in opt.state.get(p, {}).items():
            flat[f"{i}.{k}"] = (v if torch.is_tensor(v) else torch.tensor(v)).detach().contiguous().cpu()
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(flat, str(tmp))
    tmp.replace(path)


def _load_optimizer(opt: torch.optim.Optimizer, path: Path, device: str) -> None:
    from safetensors.torch import load_file

    flat = load_file(str(path), device=device)
    params = [p for g in opt.param_groups for p in g["params"]]
    for key, v in flat.items():
        i, name = key.split(".", 1)
        opt.state[params[int(i)]][name] = v.cpu() if name == "step" else v


def train(
    model_cfg: GPTConfig,
    cfg: TrainConfig,
    train_data: np.ndarray,
    val_data: np.ndarray | None = None,
    out_dir: str | Path | None = None,
    device: str | None = None,
    progress: bool = True,
) -> dict:
    """Train (or resume) one model; returns a summary (losses, steps, non-finite count, tokens, seconds).

    Under ``torchrun`` (``RANK`` set) it joins the process group (NCCL on GPU, gloo on CPU) and wraps the model in
    DDP; rank 0 evaluates, logs and saves.
    """
    ddp = int(os.environ.get("RANK", -1)) != -1
    if ddp:
        import torch.distributed as dist

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", 0))
        device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
        if torch.cuda.is_available():
            torch.cuda.set_device(device)
    else:
        rank, world = 0, 1
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    master = rank == 0
    torch.manual_seed(cfg.seed + rank)
    gen = torch.Generator().manual_seed(cfg.seed + rank)
    device_type = "cuda" if str(device).startswith("cuda") else "cpu"
    ptdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[cfg.dtype]
    if device_type == "cpu" and ptdtype == torch.float16:
        ptdtype = torch.bfloat16  # fp16 autocast is a GPU thing
    autocast = (
        torch.autocast(device_type=device_type, dtype=ptdtype)
        if ptdtype != torch.float32
        else contextlib.nullcontext()
    )
    scaler = torch.amp.GradScaler(device_type, enabled=ptdtype == torch.float16)

    model = GPT(model_cfg).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(cfg.beta1, cfg.beta2),
        fused=device_type == "cuda",
    )
    state = {"iter": 0, "nonfinite_steps": 0, "best_val_loss": None, "history": []}
    out = Path(out_dir) if out_dir else None
    if out and (out / TRAINER_FILE).exists():  # resume
        state = json.loads((out / TRAINER_FILE).read_text())
        model.load_state_dict(GPT.load(out, device).state_dict())
        _load_optimizer(opt, out / OPTIMIZER_FILE, device)
        gen.manual_seed(cfg.seed + rank + 7919 * state["iter"])  # a fresh, still deterministic data stream
    raw = model
    if cfg.compile:
        model = torch.compile(model)
    if ddp:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(
            model, device_ids=[int(os.environ.get("LOCAL_RANK", 0))] if device_type == "cuda" else None
        )

    def evaluate() -> dict[str, float]:
        raw.eval()
        out_losses = {}
        with torch.no_grad():
            for name, data in (("train", train_data), ("val", val_data)):
                if data is None:
                    continue
                eval_gen = torch.Generator().manual_seed(cfg.seed + 10_000)
                losses = [
                    raw(*get_batch(data, model_cfg.block_size, cfg.batch_size, eval_gen, device))[1].item()
                    for _ in range(cfg.eval_iters)
                ]
                out_losses[name] = float(np.mean(losses))
        raw.train()
        return out_losses

    def save() -> None:
        if out is None or not master:
            return
        raw.save(out, extra={"train": asdict(cfg)})
        _save_optimizer(opt, out / OPTIMIZER_FILE)
        atomic_write_text(out / TRAINER_FILE, json.dumps(state, indent=1))

    t0 = time.perf_counter()
    from repro.progress import track

    steps = range(state["iter"], cfg.max_iters)
    iterator = track(steps, f"training {model_cfg.head} GPT") if (progress and master) else steps
    for it in iterator:
        for group in opt.param_groups:
            group["lr"] = lr_at(it, cfg)
        total = torch.zeros((), device=device)
        for micro in range(cfg.grad_accum):
            sync = (not ddp) or micro == cfg.grad_accum - 1
            ctx = contextlib.nullcontext() if sync else model.no_sync()
            x, y = get_batch(train_data, model_cfg.block_size, cfg.batch_size, gen, device)
            with ctx, autocast:
                _, loss = model(x, y)
                loss = loss / cfg.grad_accum
            scaler.scale(loss).backward()
            total += loss.detach()
        scaler.unscale_(opt)
        norm = torch.nn.utils.clip_grad_norm_(raw.parameters(), cfg.grad_clip)
        finite = torch.isfinite(total) & torch.isfinite(norm)
        if ddp:  # every rank skips together
            flag = finite.float()
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
            finite = flag.bool()
        if bool(finite):
            scaler.step(opt)
        else:
            state["nonfinite_steps"] += 1
        scaler.update()
        opt.zero_grad(set_to_none=True)
        state["iter"] = it + 1
        if master and (it % cfg.log_interval == 0 or it + 1 == cfg.max_iters):
            state["history"].append({"iter": it, "loss": float(total), "lr": lr_at(it, cfg)})
        if (it + 1) % cfg.eval_interval == 0 or it + 1 == cfg.max_iters:
            if master:
                losses = evaluate()
                state["history"].append({"iter": it + 1, **{f"eval_{k}": v for k, v in losses.items()}})
                if "val" in losses:
                    best = state["best_val_loss"]
                    state["best_val_loss"] = losses["val"] if best is None else min(best, losses["val"])
            save()
    final = evaluate() if master else {}
    seconds = time.perf_counter() - t0
    if ddp:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    tokens = (state["iter"]) * cfg.batch_size * cfg.grad_accum * world * model_cfg.block_size
    return {
        "final": final,
        "iters": state["iter"],
        "nonfinite_steps": state["nonfinite_steps"],
        "tokens": tokens,
        "seconds": seconds,
        "history": state["history"],
        "model": raw,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description="Train the standard- or harmonic-head GPT (see module docstring)."
    )
    ap.add_argument("--preset", choices=sorted(PRESETS), default="paper")
    ap.add_argument("--head", choices=("standard", "harmonic"), required=True)
    ap.add_argument("--data", required=True, help="folder with train.bin (and val.bin)")
    ap.add_argument("--out", required=True, help="checkpoint folder (resumed if it holds one)")
    ap.add_argument("--set", dest="train_overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--model-set", dest="model_overrides", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    model_cfg, train_cfgs = PRESETS[args.preset]
    model_cfg = replace(model_cfg, head=args.head)

    def parse(items: list[str]) -> dict[str, str]:
        return dict(item.split("=", 1) for item in items)

    try:
        model_cfg = apply_overrides(model_cfg, parse(args.model_overrides), "GPTConfig")
        cfg = apply_overrides(train_cfgs[args.head], parse(args.train_overrides), "TrainConfig")
        data = Path(args.data)
        train_data = load_tokens(data / "train.bin")
        val_data = load_tokens(data / "val.bin") if (data / "val.bin").exists() else None
        if int(train_data.max()) >= model_cfg.vocab_size:
            raise ReproError(f"{data / 'train.bin'} has token ids >= vocab_size {model_cfg.vocab_size}")
    except ReproError as e:
        raise SystemExit(f"train_lm: error: {e}") from None
    summary = train(model_cfg, cfg, train_data, val_data, out_dir=args.out)
    if int(os.environ.get("RANK", 0)) == 0:
        print(json.dumps({k: v for k, v in summary.items() if k not in ("history", "model")}))


if __name__ == "__main__":
    main()
