"""V2-stitch-icl: does a model whose token embeddings come from another model, through an affine stitch, still learn
in context? (official ``eval-mid.py``: a stitch trained at the embedding, "embed_to", then 10-shot in-context
accuracy on the function-vector data sets; its purpose, inferred by the spec: the stitched model keeps its ICL.)

The embedding stitch: the sender's token embeddings -> affine map -> in place of the receiver's token embeddings
(``tinylm.Stitched`` at cut 0). The map: least squares on the two models' embeddings of the training tokens (no
training), or trained on the next-token loss (only the map) from a zero init (the official recipe; variant
``official``) or from the least-squares fit (``fixed``). Scored by 10-shot accuracy of the answer's first token,
against the receiver alone (the upper reference), the zero stitch (the official init before training: the receiver
sees nothing) and, as the control that a stitch could succeed without shared structure, a *random sender* (an
untrained model of the sender's configuration) stitched and trained the same way.

Function tasks (the prompts of the function-vector code base, "Q: {x}\\nA: {y}\\n\\n" per example; here written on
one line, ``x > y ;``, for the word-level tokenizer):
- quick / smoke (our stand-in): ``n_tasks`` random bijections from ``n_words`` input words onto ``n_words`` output
  words. A query word has a different answer under each task, so an answer from the query alone is right at most
  1 / ``n_tasks`` of the time: above that, the model reads the examples. Tiny GPT-NeoX LMs are trained on such
  episodes (loss on every answer word) and then stitched in ordered pairs of seeds; the stitches train, and their
  loss is measured, on the answer words too (the only tokens the LMs learned to predict).
- paper: the function-vector data sets (``{name}.json``: a list of ``{"input", "output"}``, from
  github.com/ericwtodd/function_vectors ``dataset_files/abstractive``) read from a local folder, and real LM pairs
  of one tokenizer family whose stitch trains on The Pile as in ``llm_arm.paper_stitching``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graph_universality.paper_models import FV_TASKS
from repro import lm_train

SEP, ARROW = ";", ">"
FV_DATA_ENV = "REPRO_FV_DATA"


# ---------------------------------------------------------------------------------------------------- tasks
def synthetic_tasks(n_words: int, n_tasks: int, seed: int) -> list[list[tuple[str, str]]]:
    """``n_tasks`` bijections ``x{i} -> y{p[(i + k) mod n_words]}`` (task k) for one random permutation ``p`` (the
    quick stand-in): every query word has a different answer under each task, so the best answer from the query
    alone is right 1 / ``n_tasks`` of the time."""
    if n_tasks > n_words:
        raise ValueError("need n_tasks <= n_words")
    p = np.random.default_rng(seed).permutation(n_words)
    return [[(f"x{i}", f"y{p[(i + k) % n_words]}") for i in range(n_words)] for k in range(n_tasks)]


def fv_tasks(folder: str | Path, names: tuple[str, ...] = FV_TASKS) -> list[list[tuple[str, str]]]:
    """The function-vector data sets ``names`` from ``folder`` (:func:`repro.function_vectors.read_tasks`: one line
    naming what is missing and where to get it otherwise), in that order."""
    from repro.function_vectors import read_tasks

    how = f"--set stitch.fv_data=FOLDER (or {FV_DATA_ENV}=FOLDER)"
    tasks = read_tasks(folder, names, how)
    return [[(str(x), str(y)) for x, y in tasks[n]] for n in names]


def fv_folder(configured: str) -> str:
    return configured or os.environ.get(FV_DATA_ENV, "")


def episodes(
    tasks: list[list[tuple[str, str]]], n: int, shots: int, seed: int, word_level: bool = True
) -> tuple[list[str], list[str], np.ndarray]:
    """``n`` prompts of ``shots`` examples of one task then a query, each task equally often: (prompts without
    the answer, answers, task index). Word-level: ``x > y ; ... ; xq >``; otherwise the function-vector format
    ``Q: x\\nA: y\\n\\n ... Q: xq\\nA:``."""
    rng = np.random.default_rng(seed)
    prompts, answers, which = [], [], np.arange(n) % len(tasks)
    for k in which:
        rows = tasks[k]
        pick = rng.choice(len(rows), shots + 1, replace=False)
        ex = [rows[i] for i in pick]
        if word_level:
            prompts.append(
                f" {SEP} ".join([f"{x} {ARROW} {y}" for x, y in ex[:-1]] + [f"{ex[-1][0]} {ARROW}"])
            )
        else:
            prompts.append("".join(f"Q: {x}\nA: {y}\n\n" for x, y in ex[:-1]) + f"Q: {ex[-1][0]}\nA:")
        answers.append(ex[-1][1])
    return prompts, answers, which


def training_texts(tasks: list[list[tuple[str, str]]], n: int, shots: int, seed: int) -> list[str]:
    """Whole episodes (the query answered) for training the tiny LMs."""
    prompts, answers, _ = episodes(tasks, n, shots, seed)
    return [f"{p} {a}" for p, a in zip(prompts, answers, strict=True)]


def build_tokenizer(tasks: list[list[tuple[str, str]]]) -> Any:
    words = sorted({w for t in tasks for pair in t for w in pair})
    return lm_train.build_word_tokenizer([*words, ARROW, SEP])


def answer_mask(tokenizer: Any, ids: torch.Tensor) -> torch.Tensor:
    """1 at every answer word of the episodes (the token after each ``>``): the training loss counts only these."""
    arrow = tokenizer.convert_tokens_to_ids(ARROW)
    m = torch.zeros_like(ids)
    m[:, 1:] = (ids[:, :-1] == arrow).long()
    return m


# ---------------------------------------------------------------------------------------------------- scoring
@torch.no_grad()
def icl_accuracy(
    forward, tokenizer: Any, prompts: list[str], answers: list[str], batch: int = 64, device: str = "cpu"
) -> float:
    """Share of prompts whose next-token argmax is the first token of the answer (the function-vector code
    base's 10-shot score). ``forward(ids, mask) -> logits``; prompts are right-padded, read at their last token."""
    hits = 0
    for i in range(0, len(prompts), batch):
        ids, mask = lm_train.encode(tokenizer, prompts[i : i + batch], eos=False)
        first = [tokenizer.encode(" " + a, add_special_tokens=False)[0] for a in answers[i : i + batch]]
        logits = forward(ids.to(device), mask.to(device))
        last = logits[torch.arange(len(ids)), mask.sum(1).to(device) - 1]
        hits += int((last.argmax(-1).cpu() == torch.tensor(first)).sum())
    return hits / len(prompts)


# the receiver alone, the untrained maps, and per init (official: zero; fixed: least squares) the trained stitch and
# the random sender trained the same way
STITCHES = (
    "receiver",
    "zero",
    "lstsq",
    "trained",
    "random_sender",
    "trained_lstsq_init",
    "random_sender_lstsq_init",
)
INITS = {"official": ("zero", ""), "fixed": ("lstsq", "_lstsq_init")}  # variant -> (init, suffix of its arms)


def embedding_stitches(
    sender: Any,
    receiver: Any,
    random_sender: Any,
    train_ids: torch.Tensor,
    train_mask: torch.Tensor,
    steps: int,
    batch_size: int,
    seed: int,
    device: str = "cpu",
    loss_mask: torch.Tensor | None = None,
) -> dict[str, Any]:
    """``{name: forward(ids, mask) -> logits}`` for the receiver alone and each embedding stitch into it (names in
    :data:`STITCHES`): the zero map (the official init, untrained), least squares on the embeddings of the tokens of
    the first 256 training texts (no training), and per init, zero (official) or least squares (``_lstsq_init``;
    spec 8.1 recommends it), the map trained ``steps`` on the next-token loss of ``train_ids`` (only the map, AdamW
    lr 1e-3, wd 1e-4; the targets ``loss_mask`` marks, default all) from the sender and from the random sender."""
    from graph_universality.tinylm import Stitched, train_stitch

    n_fit = min(len(train_ids), 256)
    fit = {"fit_ids": train_ids[:n_fit], "fit_mask": train_mask[:n_fit]}

    def stitch(src: Any, init: str, train: bool) -> Any:
        st = Stitched(src, receiver, 0.0, init=init, **(fit if init == "lstsq" else {})).to(device)
        if train:
            train_stitch(st, train_ids, train_mask, steps, 1e-3, batch_size, seed=seed, loss_mask=loss_mask)
        return st

    out = {
        "receiver": lambda i, m: receiver(i, attention_mask=m).logits,
        "zero": stitch(sender, "zero", False),
        "lstsq": stitch(sender, "lstsq", False),
    }
    for init, suffix in INITS.values():
        out[f"trained{suffix}"] = stitch(sender, init, True)
        out[f"random_sender{suffix}"] = stitch(random_sender, init, True)
    return out


@torch.no_grad()
def next_token_loss(
    forward, ids: torch.Tensor, mask: torch.Tensor, loss_mask: torch.Tensor | None = None, batch: int = 64
) -> float:
    """Mean next-token loss of ``forward`` on ``ids`` over the targets ``loss_mask`` marks (default: all): how well
    a stitch fits, beside what it does in context."""
    lm = mask if loss_mask is None else loss_mask
    total = count = 0.0
    for i in range(0, len(ids), batch):
        b = slice(i, i + batch)
        n = float(lm[b, 1:].sum())
        total += float(lm_train.lm_loss(forward(ids[b], mask[b]), ids[b], lm[b])) * n
        count += n
    return total / max(count, 1.0)


def random_twin(model: Any, seed: int) -> Any:
    """An untrained model of ``model``'s configuration (the random sender), in eval mode on its device."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    twin = AutoModelForCausalLM.from_config(model.config).to(model.device)
    return twin.eval()


# ---------------------------------------------------------------------------------------------------- quick arm
def tiny_arm(cfg: Any) -> dict[str, Any]:
    """Train ``cfg.seeds`` tiny function-ICL LMs, stitch each into the next (seed order, cyclic), score them. The LMs
    and the pairs are jobs in single-threaded worker processes when the stage has the threads (:mod:`repro.parallel`);
    a pair starts as soon as its two LMs are trained. Every job seeds what it draws, so the numbers are those of one
    process."""
    from repro.parallel import map_after_single_threaded, n_workers

    workers = n_workers(len(cfg.seeds))  # before the first map, which sets this process to one thread
    pairs = [(a, cfg.seeds[(i + 1) % len(cfg.seeds)]) for i, a in enumerate(cfg.seeds)]
    # the LMs, then the pairs; a free worker takes the first ready job: on two workers LM 0 | LM 1, then
    # LM 2 | pair (0, 1), then the last two pairs (the whole-round maps took LMs 0-1, LM 2, pairs, last pair)
    lm_at = {s: i for i, s in enumerate(cfg.seeds)}
    jobs: list[tuple] = [("lm", cfg, s) for s in cfg.seeds]
    needs: list[tuple[int, ...]] = [() for _ in cfg.seeds]
    for a, b in pairs:
        jobs.append(("pair", cfg, a))
        needs.append((lm_at[a], lm_at[b]))
    out = map_after_single_threaded(_stitch_icl_job, jobs, needs, workers)
    trained, scored = out[: len(cfg.seeds)], out[len(cfg.seeds) :]
    kinds = (*STITCHES, "sender_alone")
    acc = {k: [sc[0][k] for sc in scored] for k in kinds}
    loss = {k: [sc[1][k] for sc in scored] for k in kinds}
    return {
        "pairs": np.array(pairs),
        **{k: np.array(v) for k, v in acc.items()},  # [pairs] 10-shot accuracy
        **{
            f"loss_{k}": np.array(v) for k, v in loss.items()
        },  # [pairs] next-token loss, the evaluation episodes
        "x_only_ceiling": 1.0 / cfg.n_tasks,
        "chance": 1.0 / cfg.n_words,
        "curves": np.array([c for _, c in trained]),  # [seeds, logs] answer loss every 50 steps
    }


@functools.lru_cache(maxsize=2)
def _tiny_data(cfg: Any) -> dict[str, Any]:
    """The quick arm's tasks, tokenizer, training episodes and evaluation episodes (built once per process)."""
    tasks = synthetic_tasks(cfg.n_words, cfg.n_tasks, cfg.task_seed)
    tok = build_tokenizer(tasks)
    ids, mask = lm_train.encode(tok, training_texts(tasks, cfg.n_train, cfg.shots, cfg.task_seed + 1))
    prompts, answers, _ = episodes(tasks, cfg.n_eval, cfg.shots, cfg.task_seed + 2)
    # the loss where the LMs were trained: the answer words (they never learned to predict the rest)
    held_ids, held_mask = lm_train.encode(tok, [f"{p} {x}" for p, x in zip(prompts, answers, strict=True)])
    return {
        "tok": tok,
        "ids": ids,
        "mask": mask,
        "loss_mask": answer_mask(tok, ids) * mask,
        "prompts": prompts,
        "answers": answers,
        "held": (held_ids, held_mask, answer_mask(tok, held_ids) * held_mask),
    }


def _train_lm(job: tuple[Any, int]) -> tuple[Any, Any]:
    """The tiny LM of seed ``s`` and its answer-loss curve."""
    from graph_universality.tinylm import LMConfig, new_model

    cfg, s = job
    d = _tiny_data(cfg)
    lm_cfg = LMConfig(cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.steps, cfg.batch_size, cfg.lr, 0.01, s)
    model = new_model(lm_cfg, len(d["tok"]), n_ctx=d["ids"].shape[1], rotary_pct=1.0)
    curve = lm_train.fit(
        model, d["ids"], d["mask"], d["loss_mask"], cfg.steps, cfg.batch_size, cfg.lr, 0.01, s,
        desc=f"stitch_icl: LM seed {s}",
    )  # fmt: skip
    return model, curve


def _stitch_icl_job(job: tuple, inputs: list) -> Any:
    """One job of :func:`tiny_arm`: ``("lm", cfg, seed)`` trains that LM; ``("pair", cfg, a)`` scores the stitch of
    LM ``a`` into the next one (``inputs``: the two trained LMs)."""
    kind, cfg, s = job
    if kind == "lm":
        return _train_lm((cfg, s))
    (sender, _), (receiver, _) = inputs
    return _score_pair((cfg, s, sender, receiver))


def _score_pair(job: tuple[Any, int, Any, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """10-shot accuracy and next-token loss of the receiver, each stitch of sender ``a`` into it, and the sender."""
    cfg, a, sender, receiver = job
    d = _tiny_data(cfg)
    fwd = embedding_stitches(
        sender, receiver, random_twin(sender, 1000 + a), d["ids"], d["mask"], cfg.stitch_steps, 64, seed=a,
        loss_mask=d["loss_mask"],
    )  # fmt: skip
    fwd["sender_alone"] = lambda i, m: sender(i, attention_mask=m).logits
    acc = {k: icl_accuracy(f, d["tok"], d["prompts"], d["answers"]) for k, f in fwd.items()}
    loss = {k: next_token_loss(f, *d["held"]) for k, f in fwd.items()}
    return acc, loss


# ---------------------------------------------------------------------------------------------------- paper arm
def paper_arm(cfg: Any) -> dict[str, Any]:
    """Real LM pairs ("sender>receiver", one tokenizer family): every data set and model checked first (offline:
    one line each), then per pair the embedding stitches trained on The Pile (official recipe: zero init, AdamW
    lr 1e-3, wd 1e-4, seed 81) and the 10-shot accuracy of each on every function-vector data set."""
    from graph_universality.paper_models import check_same_tokenizer, pile_texts, require_models
    from repro.models import ModelSpec, load_model, load_tokenizer

    tasks = fv_tasks(fv_folder(cfg.fv_data), cfg.fv_tasks)
    pairs = [tuple(p.split(">")) for p in cfg.pairs]
    dirs = require_models(sorted({n for p in pairs for n in p}))
    out: dict[str, Any] = {"tasks": np.array(cfg.fv_tasks)}
    for a, b in pairs:
        tok = load_tokenizer(str(dirs[b]))
        check_same_tokenizer(load_tokenizer(str(dirs[a])), tok, (a, b))
        train = torch.tensor(pile_texts(cfg.train_data, tok, cfg.train_docs, cfg.seq_len), device=cfg.device)
        sender = load_model(ModelSpec(str(dirs[a]), device=cfg.device), hooked=False).hf
        receiver = load_model(ModelSpec(str(dirs[b]), device=cfg.device), hooked=False).hf
        fwd = embedding_stitches(
            sender, receiver, random_twin(sender, 1000), train, torch.ones_like(train), cfg.stitch_steps,
            cfg.batch_size, seed=81, device=cfg.device,
        )  # fmt: skip
        acc: dict[str, list[float]] = {k: [] for k in fwd}
        loss: dict[str, list[float]] = {k: [] for k in fwd}
        for t, rows in zip(cfg.fv_tasks, tasks, strict=True):
            prompts, answers, _ = episodes(
                [rows], cfg.n_eval, cfg.shots, seed=sum(map(ord, t)), word_level=False
            )
            ids, mask = lm_train.encode(
                tok, [f"{p} {x}" for p, x in zip(prompts, answers, strict=True)], eos=False
            )
            for k, f in fwd.items():
                acc[k].append(icl_accuracy(f, tok, prompts, answers, batch=8, device=cfg.device))
                loss[k].append(next_token_loss(f, ids.to(cfg.device), mask.to(cfg.device), batch=8))
        out[f"{a}>{b}"] = {
            **{k: np.array(v) for k, v in acc.items()},  # [tasks] 10-shot accuracy
            **{f"loss_{k}": np.array(v) for k, v in loss.items()},  # [tasks] next-token loss on the prompts
        }
    return out


# ---------------------------------------------------------------------------------------------------- for Fig. 8
def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Either arm's result as ``{"pairs": [label], "acc": {kind: [pairs]}, "items": {kind: [pairs, items]},
    "loss": {kind: [pairs]}}``: per pair the mean 10-shot accuracy and next-token loss (tiny arm: its one evaluation
    set; paper: the mean over the data sets), and the accuracy per item (paper: each data set), with the ``chance``
    and ``x_only_ceiling`` references (tiny arm only)."""
    kinds = (*STITCHES, "sender_alone")
    if "chance" in result:  # tiny arm
        labels = [f"seed {a} -> {b}" for a, b in np.asarray(result["pairs"]).tolist()]
        rows = {k: np.asarray(result[k], dtype=float)[:, None] for k in kinds}
        rows |= {f"loss_{k}": np.asarray(result[f"loss_{k}"], dtype=float)[:, None] for k in kinds}
        refs = {"chance": float(result["chance"]), "x_only_ceiling": float(result["x_only_ceiling"])}
    else:
        labels = [k for k in result if ">" in k]
        have = list(result[labels[0]]) if labels else []
        rows = {k: np.array([result[p][k] for p in labels], dtype=float) for k in have}
        refs = {}
    items = {k: v for k, v in rows.items() if not k.startswith("loss_")}
    return {
        "pairs": labels,
        "items": items,
        "acc": {k: v.mean(1) for k, v in items.items()},
        "loss": {k[5:]: v.mean(1) for k, v in rows.items() if k.startswith("loss_")},
        **refs,
    }
