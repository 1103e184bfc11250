"""Paper scale: the three Qwen base / R1-distilled pairs of the paper and their data, from the hub or local copies.

What the official code did (deepseek-diff, spec sections 1 and 4) and what this module does instead:

- Pairs (:data:`PAIRS`): Qwen2.5-Math-1.5B -> DeepSeek-R1-Distill-Qwen-1.5B, Qwen2.5-Math-7B -> ...-7B,
  Qwen2.5-14B (general, not Math: the paper's confound, kept and stated) -> ...-14B; activations at
  ``blocks.{n_layers // 2}.hook_resid_pre`` (14 of 28, 14 of 28, 24 of 48).
- Data: OpenThoughts-114k (question + R1 trace, ``<|begin_of_thought|>`` -> ``<think>``) mixed 50/50 with
  RedPajama-Data-1T-Sample, documents of >= ``seq_len`` tokens cut to ``seq_len`` (2048), shuffled together with seed
  49 (official). Either source may be a local ``.jsonl`` file (same fields) instead of a hub id.
- Tokenisation: the official code tokenised everything with the base (Math) tokenizer, so the distilled model saw
  ``<think>`` as sub-word pieces (defect 7). ``tokenizer="distilled"`` (the default) uses the distilled model's
  tokenizer, after checking that both tokenizers give the same ids on ordinary text; ``"base"`` is the official.
- Harvesting: once, to disk, with ``repro.activations`` (no refresh buffer: defects 1 and 2), the first
  ``drop_first`` = 2 positions dropped (attention-sink norms), normalisation over every row stored in the cache.
  Under ``torchrun`` each rank harvests a block of sequences on its own GPU and rank 0 merges the parts::

      uv run torchrun --nproc-per-node 4 -m distill_features.paper harvest --pair 1.5b --out /data/acts-1.5b

- Crosscoder training on one GPU from the merged cache (the shuffled reader visits every row once per epoch),
  saved as ``cfg.json`` + safetensors with the normalisation inside::

      uv run python -m distill_features.paper train --acts /data/acts-1.5b --variant batchtopk --out /data/cc-1.5b

  ``l1`` = the paper's recipe (32,768 latents, L1 coefficient 2 with 5 % warm-up, Adam 5e-5, batch 1024);
  ``batchtopk`` = the fix (k 100, aux-k 1/32, lr 1e-4, batch 2048; diffing-toolkit defaults). ``--buffer fixed``
  (default) reads the cache through the shuffled reader; ``--buffer official`` replays the official buffer, defects 1
  and 2 included (:class:`distill_features.official_buffer.OfficialBuffer`: only the first 32 sequences, about half of
  every batch zero rows); the buffer kind and its statistics are saved in the crosscoder's metadata.
- Figure F-a (relative decoder norms) from saved crosscoders, one ``NAME=DIR`` each (the last one's histogram is drawn)::

      uv run python -m distill_features.paper norms --crosscoder 1.5b=/data/cc-1.5b --crosscoder 7b=/data/cc-7b \\
          --crosscoder 14b=/data/cc-14b --out /data/fig-relative-norms

  writes ``relative_norms.json`` (per crosscoder: mean r with L1 norms, the paper's, and with L2 norms; the counts in
  the paper's bins; a 50-bin histogram) and ``relative_norms.png`` (mean r per name against the official notebook's
  hard-coded 0.5042 / 0.4924 / 0.5400; the histogram of r, log count).
- Offline, a missing model or data set is one line naming the ``hf download`` command.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro.figure import ReproError

if TYPE_CHECKING:
    from distill_features.crosscoder import Crosscoder


@dataclass(frozen=True)
class QwenPair:
    """One base / distilled pair and where the crosscoder reads it."""

    base: str
    distilled: str
    n_layers: int
    d_model: int

    @property
    def layer(self) -> int:
        return self.n_layers // 2  # official: the middle block's resid_pre

    @property
    def hook(self) -> str:
        return f"blocks.{self.layer}.hook_resid_pre"


PAIRS = {
    "1.5b": QwenPair("Qwen/Qwen2.5-Math-1.5B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", 28, 1536),
    "7b": QwenPair("Qwen/Qwen2.5-Math-7B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", 28, 3584),
    "14b": QwenPair("Qwen/Qwen2.5-14B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", 48, 5120),
}
OPENTHOUGHTS = "open-thoughts/OpenThoughts-114k"
REDPAJAMA = "togethercomputer/RedPajama-Data-1T-Sample"


@dataclass(frozen=True)
class PaperData:
    reasoning: str = OPENTHOUGHTS
    generic: str = REDPAJAMA
    n_docs: int = 20_000  # per source; 2 x 20k x 2046 rows ~ 82M activation pairs
    seq_len: int = 2048
    seed: int = 49
    tokenizer: str = "distilled"  # "base" = official
    drop_first: int = 2

    def __post_init__(self) -> None:
        if self.tokenizer not in ("base", "distilled"):
            raise ValueError(f"tokenizer must be 'base' (official) or 'distilled', got {self.tokenizer!r}")
        if self.n_docs < 1 or self.seq_len <= self.drop_first:
            raise ValueError("n_docs must be >= 1 and seq_len > drop_first")


def pair(name_or_dirs: str) -> QwenPair:
    """A pair by name (``1.5b``, ``7b``, ``14b``), or ``BASE_DIR,DISTILLED_DIR`` for local models (tests)."""
    if name_or_dirs in PAIRS:
        return PAIRS[name_or_dirs]
    parts = name_or_dirs.split(",")
    if len(parts) == 2 and all(Path(p).is_dir() for p in parts):
        import json

        conf = json.loads((Path(parts[0]) / "config.json").read_text())
        return QwenPair(parts[0], parts[1], conf["num_hidden_layers"], conf["hidden_size"])
    raise ReproError(
        f"unknown pair {name_or_dirs!r}; choose {', '.join(PAIRS)} or pass BASE_DIR,DISTILLED_DIR"
    )


def require_pair(p: QwenPair) -> None:
    """Both models available (hub cache or local directories), else one line naming every download."""
    from repro.hub import go_offline_if_unreachable
    from repro.models import download_command, resolve_model_dir

    go_offline_if_unreachable()
    missing = []
    for name in (p.base, p.distilled):
        try:
            resolve_model_dir(name)
        except ReproError:
            missing.append(name)
    if missing:
        raise ReproError(
            f"model(s) not available offline: {', '.join(missing)}; download: "
            + "; ".join(download_command(n) for n in missing)
        )


def openthoughts_text(row: dict[str, Any]) -> str:
    """Question + R1 trace of one OpenThoughts row, the thought markers written as R1's ``<think>`` tags."""
    if "conversations" in row:
        text = "\n".join(turn["value"] for turn in row["conversations"])
    else:
        text = row["text"]
    return text.replace("<|begin_of_thought|>", "<think>").replace("<|end_of_thought|>", "</think>")


def check_tokenizers_agree(base: Any, distilled: Any, probe: str) -> None:
    """The crosscoder reads both models on one token stream: their ids must agree on ordinary text."""
    a = base.encode(probe, add_special_tokens=False)
    b = distilled.encode(probe, add_special_tokens=False)
    if a != b:
        raise ReproError(
            "base and distilled tokenizers disagree on ordinary text; they cannot share one token stream"
        )


def paper_tokens(data: PaperData, base_tok: Any, distilled_tok: Any) -> Any:
    """Token ids ``[2 n_docs, seq_len]``: reasoning and generic documents shuffled together (seed ``data.seed``)."""
    import numpy as np
    import torch

    from repro.hub import token_documents

    tok = distilled_tok if data.tokenizer == "distilled" else base_tok
    generic = token_documents(data.generic, tok, data.n_docs, data.seq_len, seed=data.seed)
    check_tokenizers_agree(base_tok, distilled_tok, base_tok.decode(generic[0][:256]))
    reasoning = token_documents(
        data.reasoning, tok, data.n_docs, data.seq_len, seed=data.seed, text_of=openthoughts_text
    )
    docs = np.array(reasoning + generic, dtype=np.int64)
    order = np.random.default_rng(data.seed).permutation(len(docs))
    return torch.from_numpy(docs[order])


def harvest_pair(
    p: QwenPair, data: PaperData, out_dir: str | Path, batch_size: int = 8, dtype: str = "bfloat16"
):
    """Harvest both models of ``p`` at the middle block on ``data`` into ``out_dir`` (sharded under torchrun)."""
    import os

    from repro.activations import HarvestConfig, harvest_sharded
    from repro.models import ModelSpec, load_model

    require_pair(p)
    local = int(os.environ.get("LOCAL_RANK", 0))
    import torch

    device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
    if int(os.environ.get("WORLD_SIZE", 1)) > 1 and not torch.distributed.is_initialized():
        # under torchrun: rank 0 may merge only after every rank has written its part (the barrier needs a group)
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    models = [
        load_model(
            ModelSpec(name, dtype=dtype if device != "cpu" else "float32", device=device), hooked=False
        )
        for name in (p.base, p.distilled)
    ]
    tokens = paper_tokens(data, models[0].tokenizer, models[1].tokenizer)
    cfg = HarvestConfig(hook_points=(p.hook,), batch_size=batch_size, drop_first=data.drop_first)
    return harvest_sharded(models, tokens, out_dir, cfg)


# paper recipes per crosscoder variant (spec sections 1 and 5)
CROSSCODER_RECIPES: dict[str, dict[str, Any]] = {
    "l1": {"dict_size": 32_768, "l1_coeff": 2.0, "lr": 5e-5, "batch_size": 1024},
    "batchtopk": {"dict_size": 32_768, "k": 100, "lr": 1e-4, "batch_size": 2048},
}


BUFFERS = ("fixed", "official")


def train_paper_crosscoder(
    acts: str | Path,
    variant: str,
    out: str | Path,
    steps: int,
    device: str | None = None,
    buffer: str = "fixed",
    **overrides: Any,
) -> Path:
    """Train a crosscoder of ``variant`` on a harvested cache and save it to ``out``.

    ``buffer="fixed"`` reads every row of the cache once per epoch, shuffled; ``"official"`` replays the official
    buffer (defects 1 and 2: the first 32 sequences and as many zero rows). The metadata records which, and the
    official buffer's statistics (``OfficialBuffer.stats``)."""
    import dataclasses

    import torch

    from distill_features.crosscoder import CrosscoderConfig, save_crosscoder, train_crosscoder
    from distill_features.official_buffer import OfficialBuffer
    from repro.activations import ActivationCache

    if variant not in CROSSCODER_RECIPES:
        raise ReproError(f"unknown crosscoder variant {variant!r}; choose {', '.join(CROSSCODER_RECIPES)}")
    if buffer not in BUFFERS:
        raise ReproError(f"unknown buffer {buffer!r}; choose {', '.join(BUFFERS)}")
    cache = ActivationCache.open(acts)
    if len(cache.models) != 2 or len(cache.hook_points) != 1:
        raise ReproError(f"{acts} must hold two models at one hook point; harvest it with `harvest`")
    hook = cache.hook_points[0]
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    d = int(cache.meta["norm"][cache.key(0, hook)]["width"])
    recipe = {**CROSSCODER_RECIPES[variant], **overrides}
    cfg = CrosscoderConfig(d_model=d, variant=variant, steps=steps, device=device, **recipe)
    meta: dict[str, Any] = {
        "models": [m["name"] for m in cache.models],
        "hook": hook,
        "activations": str(Path(acts).resolve()),
        "buffer": buffer,
    }
    if buffer == "official":  # raises ValueError when the buffer cannot serve batches of cfg.batch_size
        reader: Any = OfficialBuffer(cache, cfg.batch_size, seed=cfg.seed, device=device)
        meta["buffer_stats"] = dataclasses.asdict(reader.stats(steps))
    else:
        reader = cache.reader(cfg.batch_size, normalise=True, seed=cfg.seed, drop_last=True, device=device)
    model, _ = train_crosscoder(cfg, reader, hook=hook, desc=f"crosscoder {variant} ({buffer} buffer)")
    return save_crosscoder(model.cpu(), out, metadata=meta)


# ----------------------------------------------------------------------------------------------- figure F-a
# the official notebook's mean r per size (figures.ipynb cell 1, typed in, not computed; spec section 2, F-a)
OFFICIAL_MEAN_R = {"1.5b": 0.5042, "7b": 0.4924, "14b": 0.5400}
# the paper's bins of r (notebooks/analysis.ipynb): (low, high, high included)
R_BINS = {
    "[0.01, 0.11]": (0.01, 0.11, True),
    "[0.89, 0.99]": (0.89, 0.99, True),
    "[0.50, 0.60)": (0.50, 0.60, False),
}
N_HIST_BINS = 50


def _finite(x: float) -> float | None:
    """``x``, or None where it is NaN or infinite (JSON has no NaN)."""
    import math

    return float(x) if math.isfinite(x) else None


def relative_norms_summary(crosscoders: dict[str, Crosscoder]) -> dict[str, Any]:
    """Figure F-a's numbers for each named crosscoder (``Crosscoder``, W_dec [F, 2, d], 0 = base, 1 = distilled).

    Per name: ``n_latents``; ``n_undefined`` (both decoder rows zero: r is undefined and left out); ``mean_r_l1``
    (the paper's r = |d_R|_1 / (|d_B|_1 + |d_R|_1)), ``std_r_l1``, ``mean_r_l2``; ``bins_l1`` / ``bins_l2``, the
    counts in the paper's bins :data:`R_BINS`; ``hist_l1`` / ``hist_l2``, counts over :data:`N_HIST_BINS` equal bins
    of [0, 1] (edges in ``hist_edges``). ``official_mean_r_l1`` holds the notebook's hard-coded values."""
    import numpy as np

    from distill_features.analysis import relative_decoder_norm

    if not crosscoders:
        raise ValueError("relative_norms_summary needs at least one crosscoder")
    edges = np.linspace(0.0, 1.0, N_HIST_BINS + 1)
    out: dict[str, Any] = {}
    for name, cc in crosscoders.items():
        entry: dict[str, Any] = {"n_latents": int(cc.W_dec.shape[0])}
        for tag, p in (("l1", 1), ("l2", 2)):
            r = relative_decoder_norm(cc.W_dec, p=p)
            r = r[np.isfinite(r)]
            entry["n_undefined"] = entry["n_latents"] - len(r)
            entry[f"mean_r_{tag}"] = _finite(r.mean()) if len(r) else None
            if tag == "l1":
                entry["std_r_l1"] = _finite(r.std()) if len(r) else None
            entry[f"bins_{tag}"] = {
                label: int(((r >= lo) & ((r <= hi) if closed else (r < hi))).sum())
                for label, (lo, hi, closed) in R_BINS.items()
            }
            entry[f"hist_{tag}"] = np.histogram(r, bins=edges)[0].tolist()
        out[name] = entry
    return {"crosscoders": out, "hist_edges": edges.tolist(), "official_mean_r_l1": dict(OFFICIAL_MEAN_R)}


def plot_relative_norms(summary: dict[str, Any], path: str | Path) -> Path:
    """Figure F-a as a PNG at ``path`` (written atomically): left, mean r (L1, the paper's) per crosscoder with the
    official notebook's hard-coded values as markers where the names match; right, the histogram of r of the last
    crosscoder, log count."""
    import io

    import matplotlib.pyplot as plt
    import numpy as np

    from repro.io import atomic_write_bytes
    from repro.plot import BASELINE, METHOD, VARIANT_PALETTE, set_style

    set_style()
    ccs = summary["crosscoders"]
    names = list(ccs)
    means = [np.nan if ccs[n]["mean_r_l1"] is None else ccs[n]["mean_r_l1"] for n in names]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    x = np.arange(len(names))
    ax[0].bar(x, means, 0.6, color=[VARIANT_PALETTE.get(n, BASELINE) for n in names], label="this run")
    for xi, m in zip(x, means, strict=True):
        if np.isfinite(m):
            ax[0].text(xi, 0.03, f"{m:.4f}", ha="center", va="bottom", fontsize=7, color="white",
                       transform=ax[0].get_xaxis_transform())  # fmt: skip
    official = [(xi, summary["official_mean_r_l1"][n]) for xi, n in zip(x, names, strict=True)
                if n in summary["official_mean_r_l1"]]  # fmt: skip
    if official:
        ax[0].scatter(*zip(*official, strict=True), marker="D", s=30, color=METHOD, edgecolor="k", zorder=3,
                      label="official notebook (hard-coded)")  # fmt: skip
    ax[0].axhline(0.5, color="k", lw=0.6, ls=":")
    vals = [m for m in means if np.isfinite(m)] + [v for _, v in official]
    lo, hi = min([0.3, *[v - 0.05 for v in vals]]), max([0.7, *[v + 0.08 for v in vals]])
    ax[0].set(xticks=x, xticklabels=names, ylim=(max(0.0, lo), min(1.0, hi)), ylabel="mean relative norm r",
              title="(a) mean r = |d_R|_1 / (|d_B|_1 + |d_R|_1) per crosscoder")  # fmt: skip
    ax[0].legend(loc="upper left", frameon=True)
    last = names[-1]
    edges = np.asarray(summary["hist_edges"])
    counts = np.asarray(ccs[last]["hist_l1"])
    ax[1].stairs(counts, edges, fill=True, color=VARIANT_PALETTE.get(last, BASELINE), alpha=0.8)
    for i, (lo_r, hi_r, _) in enumerate(v for k, v in R_BINS.items() if k != "[0.50, 0.60)"):
        ax[1].axvspan(
            lo_r, hi_r, color="0.5", alpha=0.15, lw=0, label="paper's exclusive bins" if i == 0 else None
        )
    if counts.any():
        ax[1].set_yscale("log")
        ax[1].set_ylim(bottom=0.5)  # a bin of one latent stays visible
    ax[1].legend(loc="upper right", frameon=True)
    ax[1].set(xlim=(0, 1), xlabel="r (L1 norms; 0 = base only, 1 = distilled only)", ylabel="latents (log)",
              title=f"(b) r over the {ccs[last]['n_latents']} latents of {last}")  # fmt: skip
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


def relative_norms_figure(crosscoders: dict[str, str | Path], out: str | Path) -> tuple[Path, Path]:
    """Load each ``name -> saved crosscoder dir``, write ``out/relative_norms.json`` (the summary, plus each one's
    path, buffer kind and models from its metadata) and ``out/relative_norms.png``."""
    import json

    from distill_features.crosscoder import load_crosscoder
    from repro.artifacts import CFG_FILE
    from repro.io import atomic_write_text

    loaded = {}
    for name, d in crosscoders.items():
        try:
            loaded[name] = load_crosscoder(d)
        except ReproError as e:
            raise ReproError(f"--crosscoder {name}={d}: {e}") from None
    summary = relative_norms_summary(loaded)
    for name, d in crosscoders.items():
        meta = json.loads((Path(d) / CFG_FILE).read_text()).get("metadata", {})
        entry = summary["crosscoders"][name]
        entry.update(path=str(Path(d).resolve()), buffer=meta.get("buffer"), models=meta.get("models"))
    out = Path(out)
    json_path = out / "relative_norms.json"
    atomic_write_text(json_path, json.dumps(summary, indent=1) + "\n")
    return json_path, plot_relative_norms(summary, out / "relative_norms.png")


def _named_dirs(specs: list[str]) -> dict[str, str]:
    """``["NAME=DIR", ...]`` -> ``{NAME: DIR}`` (in order), each name once."""
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, d = spec.partition("=")
        if not sep or not name or not d:
            raise ReproError(f"--crosscoder takes NAME=DIR, got {spec!r}")
        if name in out:
            raise ReproError(f"--crosscoder name {name!r} given twice")
        out[name] = d
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m distill_features.paper", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    h = sub.add_parser(
        "harvest", help="harvest both models' activations (run under torchrun for several GPUs)"
    )
    h.add_argument("--pair", required=True, help=f"{', '.join(PAIRS)} or BASE_DIR,DISTILLED_DIR")
    h.add_argument("--out", required=True)
    h.add_argument("--reasoning", default=OPENTHOUGHTS, help="hub id or local .jsonl")
    h.add_argument("--generic", default=REDPAJAMA, help="hub id or local .jsonl")
    h.add_argument("--n-docs", type=int, default=PaperData.n_docs)
    h.add_argument("--seq-len", type=int, default=PaperData.seq_len)
    h.add_argument("--tokenizer", default="distilled", choices=("base", "distilled"))
    h.add_argument("--batch-size", type=int, default=8)
    t = sub.add_parser("train", help="train a crosscoder on a harvested cache (one GPU)")
    t.add_argument("--acts", required=True, help="the directory `harvest` wrote")
    t.add_argument("--variant", default="batchtopk", choices=tuple(CROSSCODER_RECIPES))
    t.add_argument("--out", required=True)
    t.add_argument("--steps", type=int, default=100_000)
    t.add_argument("--dict-size", type=int, default=None)
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--k", type=int, default=None, help="BatchTopK: active latents per row")
    t.add_argument(
        "--buffer",
        default="fixed",
        choices=BUFFERS,
        help="fixed: every cached row once per epoch; official: the official buffer, defects 1 and 2 included",
    )
    n = sub.add_parser("norms", help="figure F-a (relative decoder norms) from saved crosscoders")
    n.add_argument(
        "--crosscoder",
        action="append",
        required=True,
        metavar="NAME=DIR",
        help="a directory `train` wrote, under a name (1.5b, 7b, 14b are compared with the paper); repeat",
    )
    n.add_argument("--out", required=True, help="folder for relative_norms.json and relative_norms.png")
    args = ap.parse_args(argv)

    try:
        if args.command == "harvest":
            data = PaperData(
                args.reasoning, args.generic, args.n_docs, args.seq_len, tokenizer=args.tokenizer
            )
            cache = harvest_pair(pair(args.pair), data, args.out, args.batch_size)
            if cache is not None:
                print(f"harvested {cache.n_rows} rows into {cache.path}")
        elif args.command == "norms":
            paths = relative_norms_figure(_named_dirs(args.crosscoder), args.out)
            print(f"wrote {paths[0]} and {paths[1]}")
        else:
            extra = {
                k: v
                for k, v in (("dict_size", args.dict_size), ("batch_size", args.batch_size), ("k", args.k))
                if v
            }
            path = train_paper_crosscoder(
                args.acts, args.variant, args.out, args.steps, buffer=args.buffer, **extra
            )
            print(f"saved the crosscoder to {path}")
    except (ReproError, ValueError) as e:
        raise SystemExit(f"distill_features.paper: error: {e}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
