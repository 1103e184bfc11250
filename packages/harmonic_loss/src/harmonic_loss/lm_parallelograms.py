"""Word-pair parallelograms in the token embeddings of LMs with a standard vs a harmonic head (Fig. 6): getting the
embeddings (training both heads on the generated corpus, or loading checkpoints), the parallelogram losses of
task / random / shuffled quadruples at several PCA ranks, and the claims.

The config (Fig. 6's) gives the source (``generated`` or ``checkpoints``), the LM and training settings, the
checkpoints, task files and tokenizer, and the analysis settings (``ks``, ``k_main``, ``n_quadruples``).
"""

from __future__ import annotations

from typing import Any

HEADS = ("standard", "harmonic")


VARIANTS = (
    "official",
    "fixed",
)  # D14: a word's last BPE piece bare (official) or with its leading space (fixed)


def task_ids(pairs: dict[str, list[tuple[str, str]]], encode: Any) -> dict[str, Any]:
    """The tasks' word pairs as token-id pairs, per variant: ``{variant: {task: [n, 2] ids}}``; ``encode(word,
    leading_space)`` is the id a word maps to."""
    import numpy as np

    return {
        v: {
            t: np.array([[encode(a, v == "fixed"), encode(b, v == "fixed")] for a, b in ps])
            for t, ps in pairs.items()
        }
        for v in VARIANTS
    }


def train_generated(cfg: Any) -> tuple[dict, dict, dict]:
    """Train both heads per seed on the generated corpus (byte-level BPE tokens, or one token per word when
    ``bpe_vocab`` is 0); returns embeddings, tasks (token-id pairs per variant), training info."""
    import numpy as np

    from harmonic_loss import word_corpus
    from harmonic_loss.gpt import GPTConfig
    from harmonic_loss.train_lm import TrainConfig, train

    if cfg.bpe_vocab:
        tokens, tok = word_corpus.bpe_corpus(cfg.n_sentences, seed=0, vocab_size=cfg.bpe_vocab)
        vocab_size = tok.get_vocab_size()
        tasks = task_ids(word_corpus.tasks(), lambda w, space: word_corpus.last_piece(tok, w, space))
    else:  # one token per word: a word has no leading-space form, so both variants map it to the same id
        tokens, vocab = word_corpus.generate(cfg.n_sentences, seed=0)
        vocab_size = len(vocab.words)
        tasks = task_ids(word_corpus.tasks(), lambda w, space: vocab.index[w])
    split = int(0.95 * len(tokens))
    embeddings: dict[str, dict[str, Any]] = {h: {} for h in HEADS}
    info: dict[str, dict[str, Any]] = {h: {} for h in HEADS}
    for seed in cfg.seeds:
        for head in HEADS:
            model_cfg = GPTConfig(
                block_size=cfg.block_size,
                vocab_size=vocab_size,
                n_layer=cfg.n_layer,
                n_head=cfg.n_head,
                n_embd=cfg.n_embd,
                head=head,
                harmonic_n=cfg.harmonic_n,
            )
            train_cfg = TrainConfig(
                max_iters=cfg.max_iters,
                batch_size=cfg.batch_size,
                grad_accum=1,
                lr=cfg.lr,
                min_lr=cfg.lr / 10,
                warmup_iters=max(1, cfg.max_iters // 20),
                weight_decay=0.0,
                eval_interval=cfg.max_iters,
                eval_iters=20,
                log_interval=max(1, cfg.max_iters // 50),
                seed=seed,
            )
            summary = train(model_cfg, train_cfg, tokens[:split], tokens[split:], device="cpu")
            embeddings[head][str(seed)] = summary["model"].wte.weight.detach().numpy().copy()
            curve = [(h["iter"], h["loss"]) for h in summary["history"] if "loss" in h]
            info[head][str(seed)] = {
                "val_loss": summary["final"]["val"],
                "nonfinite_steps": summary["nonfinite_steps"],
                "curve": np.array(curve),
            }
    return embeddings, tasks, info


def load_checkpoints(cfg: Any) -> tuple[dict, dict, dict]:
    """Embeddings of two trained models and the function-vector tasks as last-BPE-token id pairs."""
    from repro.figure import ReproError
    from repro.function_vectors import read_tasks

    missing = [
        n for n in ("harmonic_checkpoint", "standard_checkpoint", "tasks_dir") if getattr(cfg, n) is None
    ]
    if missing:
        raise ReproError(
            f"fig6 at paper scale needs --set {'=... --set '.join(missing)}=...: train the models with "
            "`torchrun --nproc_per_node 8 -m harmonic_loss.train_lm --preset paper --head harmonic|standard` and "
            "download ericwtodd/function_vectors dataset_files/abstractive"
        )
    pairs = read_tasks(cfg.tasks_dir, how_to_pass="--set tasks_dir=FOLDER")
    tasks = task_ids(pairs, last_token_encoder(cfg.tokenizer))
    embeddings = {
        "harmonic": {"0": load_embeddings(cfg.harmonic_checkpoint)},
        "standard": {"0": load_embeddings(cfg.standard_checkpoint)},
    }
    return embeddings, tasks, {h: {} for h in HEADS}


def last_token_encoder(spec: str):
    """``(word, leading_space) -> id`` of the word's last token (the official analysis' rule for multi-token words:
    the bare word; ``leading_space``: as the word appears mid-text, D14's fix). ``vocab:<words.json>`` (one token per
    word: no leading-space form), ``bpe:<tokenizer.json>`` (a ``tokenizers`` file) or ``tiktoken:<encoding>``."""
    import json
    from pathlib import Path

    from repro.figure import ReproError

    kind, _, arg = spec.partition(":")
    if kind == "vocab":
        vocab = json.loads(Path(arg).read_text())
        return lambda word, leading_space: vocab[word]
    if kind == "bpe":
        from tokenizers import Tokenizer

        from harmonic_loss.word_corpus import last_piece

        tok = Tokenizer.from_file(arg)
        return lambda word, leading_space: last_piece(tok, word, leading_space)
    if kind == "tiktoken":
        try:
            import tiktoken

            enc = tiktoken.get_encoding(arg)
        except Exception as e:  # tiktoken downloads its BPE file on first use
            raise ReproError(
                f"the {arg} BPE (tiktoken) is not available ({type(e).__name__}); run "
                f"`uv run python -c \"import tiktoken; tiktoken.get_encoding('{arg}')\"` once online"
            ) from None
        return lambda word, leading_space: enc.encode((" " if leading_space else "") + word)[-1]
    raise ReproError(
        f"unknown tokenizer {spec!r}; use tiktoken:<encoding>, bpe:<tokenizer.json> or vocab:<words.json>"
    )


def load_embeddings(spec: str) -> Any:
    """Token-embedding matrix [V, D] of a :mod:`harmonic_loss.gpt` checkpoint folder or of ``hf:<model id>``."""
    from repro.figure import ReproError

    if spec.startswith("hf:"):
        name = spec[3:]
        from repro.hub import go_offline_if_unreachable, offline_error

        go_offline_if_unreachable()
        try:
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(name)
        except ImportError:
            raise ReproError("transformers is not installed; run `uv sync` at the workspace root") from None
        except OSError as e:
            raise offline_error(
                f"model {name} ({type(e).__name__})",
                f"uv run python -c \"import transformers as t; t.AutoModelForCausalLM.from_pretrained('{name}')\"",
            ) from None
        return model.get_input_embeddings().weight.detach().float().numpy()
    from harmonic_loss.gpt import GPT

    return GPT.load(spec).wte.weight.detach().float().numpy()


def parallelogram_losses(cfg: Any) -> dict[str, Any]:
    """``losses[variant][head][seed]["k<k>"][task][kind]``: per quadruple, for the tasks' words mapped as each variant
    maps them (same embeddings, same sampled quadruples)."""
    import numpy as np

    from harmonic_loss.parallelogram import parallelogram_loss, pca_project, task_quadruples

    embeddings, tasks, info = train_generated(cfg) if cfg.source == "generated" else load_checkpoints(cfg)
    vocab_size = next(iter(embeddings["harmonic"].values())).shape[0]
    projections = {
        h: {s: {k: pca_project(e, k) for k in cfg.ks} for s, e in embeddings[h].items()} for h in HEADS
    }
    losses: dict[str, Any] = {}
    for variant in cfg.variants:
        quads = task_quadruples(tasks[variant], vocab_size, cfg.n_quadruples, cfg.analysis_seed)
        losses[variant] = {
            head: {
                seed: {
                    f"k{k}": {
                        task: {
                            kind: parallelogram_loss(proj[k], q).astype(np.float32)
                            for kind, q in by_kind.items()
                        }
                        for task, by_kind in quads.items()
                    }
                    for k in cfg.ks
                }
                for seed, proj in projections[head].items()
            }
            for head in HEADS
        }
    first = tasks[cfg.variants[0]]
    return {
        "losses": losses,
        "tasks": sorted(first),
        "training": info,
        "n_pairs": {t: len(p) for t, p in first.items()},
        # how often the official rule picks another token than the one the model reads mid-text (D14)
        "same_token_fraction": float(
            np.mean(np.concatenate([(tasks["official"][t] == tasks["fixed"][t]).ravel() for t in first]))
        ),
    }


def median_losses(result: dict[str, Any], cfg: Any, head: str, kind: str, variant: str) -> Any:
    """[seeds, tasks] median loss (degenerate quadruples excluded) at k_main."""
    import numpy as np

    k, by_seed = f"k{cfg.k_main}", result["losses"][variant][head]
    return np.array(
        [[np.nanmedian(by_seed[s][k][t][kind]) for t in result["tasks"]] for s in sorted(by_seed)]
    )


def parallelogram_claims(result: dict[str, Any], cfg: Any) -> list:
    """Per task and variant, the paper's claim (spec F6: "the harmonic curve rises far faster in all 12 tasks"; spec
    7.6: median parallelogram loss harmonic < standard for each task), one value per training seed (both heads of a
    seed share corpus, data order and analysis quadruples). Variants (D14): ``official`` maps each word to the last
    BPE piece of the bare word, as the official notebook does; ``fixed`` to the last piece of the word with its
    leading space, the token the model reads mid-text.

    A comparison of parallelogram tightness only means something where both embeddings encode the task at all:
    the precondition is that, on every seed, each head's median task loss is below both baselines (random word
    pairs, shuffled-task quadruples; spec D14), i.e. ``baseline - task > 0``. With one model per head (the paper's
    GPT-2 checkpoints) the interval is a bootstrap over the task's quadruples instead.
    """
    import numpy as np

    from repro.claims import Claim, bootstrap_interval, precondition, read_off_plot

    proxy = " (generated-corpus proxy)" if cfg.source == "generated" else ""
    out = []
    for variant in cfg.variants:
        med = {h: median_losses(result, cfg, h, "task", variant) for h in HEADS}  # [seeds, tasks]
        encodes = {
            h: np.minimum(
                median_losses(result, cfg, h, "random", variant),
                median_losses(result, cfg, h, "shuffled", variant),
            )
            - med[h]
            for h in HEADS
        }
        by_head = result["losses"][variant]
        seeds = sorted(by_head["harmonic"])
        for j, task in enumerate(result["tasks"]):
            pre = tuple(
                precondition(
                    f"{head} embeddings encode {task}: median loss of both baselines - of the task quadruples",
                    encodes[head][:, j],
                    ">",
                    0.0,
                )
                for head in ("harmonic", "standard")
            )
            extra: dict[str, Any] = {}
            if len(seeds) == 1:
                k = f"k{cfg.k_main}"
                rows = np.stack([by_head[h][seeds[0]][k][task]["task"] for h in ("harmonic", "standard")], 1)
                rows = rows[~np.isnan(rows).any(1)]
                extra = {
                    "interval": bootstrap_interval(
                        rows, lambda a: float(np.median(a[:, 0]) - np.median(a[:, 1])), n_resamples=1000
                    ),
                    "spread": f"bootstrap over {len(rows)} quadruples",
                }
            out.append(
                Claim(
                    f"{task}: median parallelogram loss (top-{cfg.k_main} PCs), harmonic - standard{proxy}",
                    med["harmonic"][:, j] - med["standard"][:, j],
                    "<",
                    0.0,
                    paper=read_off_plot("harmonic lower on 12/12 tasks", "Fig. 6 cumulative-fraction panels"),
                    variant=variant,
                    preconditions=pre,
                    **extra,
                )
            )
    return out
