"""Figure 6: word-pair parallelograms in the token embeddings of language models trained with a harmonic vs a
standard head.

Paper setting (spec F6): GPT-2 small trained from scratch on OpenWebText for 10,000 steps (~4.9B tokens) with a
standard or a harmonic tied head; 12 "abstractive" function-vector tasks; per task 10,000 random quadruples of
(input, output) pairs; each word is the *last* GPT-2 BPE token of the word (no leading space); embeddings
mean-centred and projected on the top-k PCs of the whole vocabulary (figure: k = 2). Result: the harmonic curve of
"fraction of quadruples below a loss threshold" rises far faster on all 12 tasks.

Scales:
- ``quick``/``smoke`` (``source="generated"``): a proxy, stated as such. Both heads train on a generated word-level
  corpus with planted relations (:mod:`harmonic_loss.word_corpus`: plural, past, opposite, successor) with the
  same seed, data and optimiser, over several training seeds; a 2-layer GPT, d = 64.
- ``paper`` (``source="checkpoints"``): any checkpoints of :mod:`harmonic_loss.gpt` (trained with
  ``python -m harmonic_loss.train_lm --preset paper``, ~6 H100-hours each) or an HF GPT-2 (``hf:gpt2``) for the
  standard side, and the function-vector task files (``tasks_dir``: the 12 JSON files of
  ericwtodd/function_vectors ``dataset_files/abstractive``).

Variants (spec D14): ``official`` maps each task word to the last BPE piece of the bare word (the official
notebook's ``encode(word)[-1]``); ``fixed`` to the last piece of the word with its leading space, the token a model
reads mid-text (``encode(" " + word)[-1]``). Same models, same sampled quadruples; the figure notes how many task
words map to the same token both ways. The quick corpus is tokenized the way GPT-2's is: a byte-level BPE trained on
it (``bpe_vocab``, our choice: 768, large enough that every corpus word with its leading space is one token, as the
tasks' common words are in GPT-2's BPE; the bare forms then mostly split into pieces). ``bpe_vocab=0`` trains on one
token per word instead (then the variants coincide).

Choices where the spec is silent: the harmonic exponent is the paper convention n = sqrt(d) (the official code's
n = 768 on d^2 is a GPTConfig option); the quick LM uses AdamW lr 3e-3 with cosine decay, no weight decay, for
both heads. Added baselines (spec D14): random word pairs and shuffled-task quadruples, and several training
seeds. One claim per task and variant, over the training seeds; that both heads beat the baselines is its
precondition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from harmonic_loss.lm_parallelograms import VARIANTS
from repro.figure import Figure


@dataclass(frozen=True)
class Fig6Config:
    source: Literal["generated", "checkpoints"] = "generated"
    variants: tuple[str, ...] = VARIANTS  # D14: last BPE piece of the bare word (official) / " word" (fixed)
    # generated corpus + training (quick / smoke)
    n_sentences: int = 40_000
    bpe_vocab: int = 768  # byte-level BPE trained on the corpus; 0: one token per word
    seeds: tuple[int, ...] = (0, 1, 2)
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    block_size: int = 32
    max_iters: int = 1000
    batch_size: int = 32
    lr: float = 3e-3
    harmonic_n: float | None = None  # None: sqrt(n_embd), paper convention
    # checkpoints (paper)
    harmonic_checkpoint: str | None = None
    standard_checkpoint: str | None = None  # a GPT checkpoint folder or "hf:gpt2"
    tasks_dir: str | None = None
    tokenizer: str = "tiktoken:gpt2"  # or "vocab:<words.json>" (a word -> id map, for word-level models)
    # analysis
    ks: tuple[int, ...] = (2, 5, 10)
    k_main: int = 2
    n_quadruples: int = 10_000
    analysis_seed: int = 0

    def __post_init__(self) -> None:
        if self.source not in ("generated", "checkpoints"):
            raise ValueError(f"source must be 'generated' or 'checkpoints', got {self.source!r}")
        if self.k_main not in self.ks:
            raise ValueError(f"k_main ({self.k_main}) must be one of ks {self.ks}")
        if self.source == "generated" and not self.seeds:
            raise ValueError("need at least one training seed")


def compute(cfg: Fig6Config) -> dict[str, Any]:
    """Both heads' token embeddings (trained here or loaded), then parallelogram losses per head, seed, k, task."""
    from harmonic_loss.lm_parallelograms import parallelogram_losses

    return parallelogram_losses(cfg)


def claims(result: dict[str, Any], cfg: Fig6Config) -> list:
    """Per task, median parallelogram loss harmonic < standard, one value per training seed, where both heads beat
    the baselines: see :func:`harmonic_loss.lm_parallelograms.parallelogram_claims`."""
    from harmonic_loss.lm_parallelograms import parallelogram_claims

    return parallelogram_claims(result, cfg)


def plot(result: dict[str, Any], cfg: Fig6Config):
    import matplotlib.pyplot as plt
    import numpy as np

    from harmonic_loss.lm_parallelograms import HEADS
    from harmonic_loss.parallelogram import cumulative_fraction, log_thresholds
    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    tasks, k = result["tasks"], f"k{cfg.k_main}"
    shown = cfg.variants[-1]  # scatter and baselines: the fixed variant when both were measured
    colour = {"standard": BASELINE, "harmonic": METHOD}
    ncol = min(len(tasks), 6)
    nrow_tasks = -(-len(tasks) // ncol)
    fig, axes = plt.subplots(
        2 * nrow_tasks, ncol, figsize=(2.6 * ncol, 4.6 * nrow_tasks), squeeze=False, constrained_layout=True
    )
    losses = result["losses"]
    seeds = sorted(losses[shown]["harmonic"])
    thresholds = log_thresholds(losses)
    for i, task in enumerate(tasks):
        r, c = 2 * (i // ncol), i % ncol
        ax = axes[r, c]
        x = losses[shown]["standard"][seeds[0]][k][task]["task"]
        y = losses[shown]["harmonic"][seeds[0]][k][task]["task"]
        ok = ~(np.isnan(x) | np.isnan(y))
        ax.scatter(x[ok][:2000], y[ok][:2000], s=2, alpha=0.3, color="k", rasterized=True)
        hi = np.nanpercentile(np.concatenate([x[ok], y[ok]]), 99) if ok.any() else 1.0
        ax.plot([0, hi], [0, hi], color="r", lw=1)
        ax.set(xlim=(0, hi), ylim=(0, hi), xlabel="standard loss", ylabel="harmonic loss")
        below = float((y[ok] < x[ok]).mean()) if ok.any() else float("nan")
        ax.set_title(f"{task} ({shown}): {below:.0%} below y=x")
        ax = axes[r + 1, c]
        lines = [(v, "task", "-" if v == shown else "-.") for v in cfg.variants]
        lines += [(shown, "random", ":"), (shown, "shuffled", "--")]
        for head in HEADS:
            for variant, kind, style in lines:
                curves = np.array(
                    [cumulative_fraction(losses[variant][head][s][k][task][kind], thresholds) for s in seeds]
                )
                label = f"{head}, {variant}" + ("" if kind == "task" else f" ({kind})")
                main = kind == "task" and variant == shown
                ax.plot(thresholds, np.median(curves, 0), style, color=colour[head], lw=1.4 if main else 1,
                        label=label if i == 0 else None)  # fmt: skip
                if main and len(seeds) > 1:
                    ax.fill_between(
                        thresholds, curves.min(0), curves.max(0), color=colour[head], alpha=0.2, lw=0
                    )
        ax.set(
            xlabel="parallelogram loss threshold", ylabel="fraction of quadruples", ylim=(0, 1), xscale="log"
        )
    for j in range(len(tasks), nrow_tasks * ncol):
        axes[2 * (j // ncol), j % ncol].axis("off")
        axes[2 * (j // ncol) + 1, j % ncol].axis("off")
    axes[1, 0].legend(fontsize=5.5, loc="lower right")
    what = (
        "generated corpus, byte-level BPE, tiny GPTs (proxy)" if cfg.source == "generated" else "GPT-2 small"
    )
    info = result["training"]
    val = "; ".join(
        f"{h} val loss {np.mean([v['val_loss'] for v in info[h].values()]):.3f}" for h in HEADS if info[h]
    )
    same = (
        f"{result['same_token_fraction']:.0%} of task words map to the same token bare and with a space (D14)"
    )
    fig.suptitle(
        f"Fig. 6: parallelograms of word pairs in the token embeddings, top-{cfg.k_main} PCs — {what}\n"
        f"scatter: seed {seeds[0]}; curves: median over {len(seeds)} seed(s), band = range. {val}\n{same}",
        fontsize=9,
    )
    return fig


FIGURE = Figure(
    paper="harmonic_loss",
    id="fig6",
    title="word-pair parallelograms in LM embeddings: standard vs harmonic head",
    configs={
        "smoke": Fig6Config(
            n_sentences=2000,
            seeds=(0, 1),
            n_layer=1,
            n_embd=32,
            block_size=16,
            max_iters=30,
            batch_size=8,
            ks=(2,),
            n_quadruples=500,
        ),
        "quick": Fig6Config(),
        "paper": Fig6Config(source="checkpoints", standard_checkpoint="hf:gpt2"),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 240, "paper": 120},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    control=lambda cfg: replace(cfg, max_iters=1),
    control_label="untrained language models (1 step)",
)
