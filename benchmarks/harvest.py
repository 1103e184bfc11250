"""Speed of the activation layer against a straightforward ``run_with_cache`` loop, on two tiny models at once.

Prints tokens/s and peak extra memory (anonymous RSS above the level before the loop, sampled every 2 ms) of
  loop     for each batch and model: ``run_with_cache(names_filter=hook)``, keep positions >= drop_first, append to a
           list, ``torch.cat`` at the end (what one writes without this layer; the whole corpus sits in RAM);
  harvest_tl ``repro.activations.harvest`` of both models to a sharded cache on disk, TransformerLens forward;
  harvest  the same with the default backend (transformers forward + layer hooks, stops after the hooked block);
  reader   five shuffled epochs of ``ActivationReader`` (batch 4096, normalised, both models' rows per token).
Targets (issue 7): harvest >= 1x the loop with far less peak memory; reader >= 10x harvest.
Each mode runs in its own process so that peaks do not mix. Usage: ``uv run python benchmarks/harvest.py``
(``--tokens`` / ``--d-model`` / ``--threads`` to change the size; a few seconds at the defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("REPRO_PROGRESS", "0")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

SEQ_LEN = 128
DROP_FIRST = 1
READER_EPOCHS = 5


class PeakRSS:
    """Peak anonymous resident memory (RssAnon: tensors, not the page cache of memory-mapped files) above the level
    at entry, sampled in a thread."""

    def __enter__(self) -> PeakRSS:
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _rss(self) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no RssAnon in /proc/self/status")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.002)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self._rss())

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def build(workdir: Path, d_model: int, n_layers: int) -> None:
    from repro.models import build_tiny_model

    for i, name in enumerate(("base", "distilled")):
        if not (workdir / name).exists():
            build_tiny_model(
                workdir / name, arch="qwen2", d_model=d_model, n_layers=n_layers, seed=i, n_ctx=SEQ_LEN
            )


def load(workdir: Path, n_tokens: int, keep_hf: bool = False):
    from repro.activations import tokenize_texts
    from repro.models import ModelSpec, load_model, tiny_corpus

    models = [load_model(ModelSpec(str(workdir / n)), keep_hf=keep_hf) for n in ("base", "distilled")]
    n_seq = max(1, n_tokens // SEQ_LEN)
    texts = tiny_corpus(n_seq, seed=3, words_per_sentence=SEQ_LEN)  # long enough to fill SEQ_LEN tokens
    ids, mask = tokenize_texts(models[0].tokenizer, texts, SEQ_LEN)
    hook = f"blocks.{models[0].hooked.cfg.n_layers // 2}.hook_resid_pre"
    return models, ids, mask, hook


def run_mode(mode: str, workdir: Path, n_tokens: int, batch: int) -> dict:
    import torch

    from repro.activations import ActivationCache, HarvestConfig, act_key, harvest

    models, ids, mask, hook = load(workdir, n_tokens, keep_hf=mode == "harvest")
    n_rows = int(mask[:, DROP_FIRST:].sum())
    cache_dir = workdir / "cache"
    if mode == "loop":
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            out: list[list[torch.Tensor]] = [[] for _ in models]
            with torch.inference_mode():
                for s in range(0, len(ids), batch):
                    b, m = ids[s : s + batch], mask[s : s + batch].bool().clone()
                    m[:, :DROP_FIRST] = False
                    for j, model in enumerate(models):
                        _, cache = model.hooked.run_with_cache(b, names_filter=hook)
                        out[j].append(cache[hook][m].clone())
                acts = [torch.cat(o) for o in out]
            dt = time.perf_counter() - t0
        assert acts[0].shape[0] == n_rows
        return {"mode": mode, "tokens": n_rows, "seconds": dt, "extra_mb": mem.extra_mb}
    if mode in ("harvest", "harvest_tl"):
        backend = "auto" if mode == "harvest" else "transformer_lens"
        cfg = HarvestConfig(
            hook_points=(hook,), batch_size=batch, drop_first=DROP_FIRST, shard_rows=4096, backend=backend
        )
        out_dir = cache_dir if mode == "harvest" else workdir / "cache_tl"
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            cache = harvest(models, ids, out_dir, cfg, attention_mask=mask)
            dt = time.perf_counter() - t0
        assert cache.n_rows == n_rows
        return {
            "mode": mode,
            "tokens": n_rows,
            "seconds": dt,
            "extra_mb": mem.extra_mb,
            "backends": cache.meta["backends"],
        }
    if mode == "reader":
        cache = ActivationCache.open(cache_dir)
        reader = cache.reader(4096, normalise=True, seed=0)
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            seen = 0
            for epoch in range(READER_EPOCHS):  # several epochs: one is too short to time reliably
                for b in reader.epoch(epoch):
                    x = b.stack(hook, n_models=2)
                    seen += x.shape[0]
            dt = time.perf_counter() - t0
        assert seen == READER_EPOCHS * cache.n_rows and act_key(1, hook) in b.acts
        return {"mode": mode, "tokens": seen, "seconds": dt, "extra_mb": mem.extra_mb}
    raise ValueError(mode)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=65536, help="tokens in the stream (seq len 128)")
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=8, help="sequences per forward pass")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.mode:
        print(json.dumps(run_mode(args.mode, Path(args.workdir), args.tokens, args.batch)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-harvest-") as tmp:
        work = Path(tmp)
        build(work, args.d_model, args.layers)
        res = {}
        for mode in ("loop", "harvest_tl", "harvest", "reader"):
            cmd = [sys.executable, __file__, "--mode", mode, "--workdir", str(work)]
            cmd += ["--tokens", str(args.tokens), "--batch", str(args.batch), "--threads", str(args.threads)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                sys.exit(f"{mode} failed:\n{r.stderr[-3000:]}")
            res[mode] = json.loads(r.stdout.strip().splitlines()[-1])
    tps = {m: r["tokens"] / r["seconds"] for m, r in res.items()}
    print(
        f"two tiny Qwen2 models (d={args.d_model}, {args.layers} layers), {res['loop']['tokens']} tokens kept, "
        f"hook blocks.{args.layers // 2}.hook_resid_pre, {args.threads} torch thread(s)"
    )
    print(f"{'mode':<11}{'tokens/s':>12}{'seconds':>10}{'peak extra MB':>15}")
    for m, r in res.items():
        print(f"{m:<11}{tps[m]:>12,.0f}{r['seconds']:>10.3f}{r['extra_mb']:>15.1f}")
    h_vs_loop = tps["harvest"] / tps["loop"]
    r_vs_h = tps["reader"] / tps["harvest"]
    mem = res["loop"]["extra_mb"] / max(res["harvest"]["extra_mb"], 1e-9)
    print(f"harvest / loop speed  {h_vs_loop:6.2f}x  (target >= 1x)   {'ok' if h_vs_loop >= 1 else 'MISSED'}")
    print(
        f"harvest_tl / loop     {tps['harvest_tl'] / tps['loop']:6.2f}x  (TransformerLens forward too, stopped after the hooked block)"
    )
    print(f"loop / harvest memory {mem:6.2f}x  (target: far less)")
    print(f"reader / harvest      {r_vs_h:6.2f}x  (target >= 10x)  {'ok' if r_vs_h >= 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
