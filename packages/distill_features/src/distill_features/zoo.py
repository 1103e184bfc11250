"""The model zoo (stage ``distill_features.zoo``): base and R1-style distilled tiny Qwen2 pairs at several widths on
the synthetic reasoning language, evaluated on held-out problems. Every later figure stands on it.

The paper diffs Qwen2.5(-Math) 1.5B/7B/14B against DeepSeek-R1-Distill-Qwen models fine-tuned from them on R1
traces. Here (spec 7.1-7.2), per width, a random-init tiny ``Qwen2ForCausalLM`` is pre-trained on generic prose +
terse problems (base), copied and fine-tuned on teacher traces (distilled) (``pairs``). :func:`train_zoo` trains the
zoo, evaluates each model by greedy generation on held-out problems (base: ``Problem : ... Answer :``; distilled:
``Problem : ... <think>``, it thinks, then answers), counts reasoning markers in the distilled model's traces
(greedy, and sampled at temperature 1 over ``eval_seeds``), and returns every model's weights, the vocabulary and the
held-out problems; readers rebuild the models with ``pairs.zoo_from_result``. The artifact is each pair as
``save_pretrained`` folders ``<size>/base`` and ``<size>/distilled`` (with the word tokenizer), replicate j >= 1 under
``seed<j>/``. ``n_seeds`` replicates (seed ``seed + 1000 j``: own initialisation and data stream, the same held-out
problems) give every claim an interval over seeds (the crosscoders stage trains its crosscoders on each replicate).

Choices the spec leaves open: widths/layers/heads per scale (``stages.py``; head dim 16 on CPU, grouped-query
attention with half as many KV heads, MLP 2x d, untied unembedding); numbers 0..20 as single tokens, factors <= 5;
1/2/3-step problems in proportion 0.2/0.5/0.3; teacher probabilities as ``LanguageConfig`` defaults (contrast 0.6
when precedence matters, slip + "Wait" 0.2 per step, alternative route 0.3, verification 0.6, "Therefore" 0.8);
pre-training mix 30 % generic / 70 % terse problem documents, SFT mix 10 % generic / 90 % traces with the loss on the
whole trace; documents packed whole into 96-token windows; AdamW (constant lr, wd 0.01, betas 0.9/0.98), batch 16
windows, lr 3e-3 at d=64 scaled as 1/sqrt(d) across widths (a single lr of 3e-3 left d=128 at base 0.21 / distilled
0.50 against 0.46 / 0.65 at 1.5e-3 in a development run, so wide models want a smaller step); one data stream shared
by all widths (``seed``), weights seeded per width; 400 held-out problems never seen in training. A marker counts
when its token appears in the generated text; "Wait" in greedy traces is only written after the model's own slip,
so it is rare there and common when sampling.

Light at import (``stages.py`` imports it): torch and transformers are imported inside the functions.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED_STRIDE = 1000  # replicate j trains from seed + 1000 j (sizes within it: + 100 i)
MARKER_CATEGORIES = ("self_reflection", "deductive", "alternative", "contrastive")
ROLES = ("base", "distilled")


def _default_language() -> Any:
    from distill_features.language import LanguageConfig

    return LanguageConfig()


@dataclass(frozen=True)
class ZooConfig:
    d_models: tuple[int, ...] = (32, 64, 128)
    n_layers: tuple[int, ...] = (2, 2, 2)
    n_heads: tuple[int, ...] = (2, 4, 8)
    n_kv_heads: tuple[int, ...] = (1, 2, 4)
    d_mlp_mult: int = 2
    n_ctx: int = 96
    base_steps: int = 800
    distill_steps: int = 600
    batch_size: int = 16
    lr: float = 3e-3  # at width lr_ref_width; each width gets lr * sqrt(lr_ref_width / d)
    lr_ref_width: int = 64
    weight_decay: float = 0.01
    base_generic_frac: float = 0.3
    distill_generic_frac: float = 0.1
    language: Any = field(default_factory=_default_language)
    n_eval: int = 400
    eval_seeds: tuple[int, ...] = (0, 1)
    temperature: float = 1.0
    max_new_tokens: int = 96
    n_seeds: int = 3  # independent zoos (initialisation and data order) for intervals over seeds
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        n = len(self.d_models)
        if n < 2:
            raise ValueError("the zoo needs at least two sizes")
        if any(len(t) != n for t in (self.n_layers, self.n_heads, self.n_kv_heads)):
            raise ValueError("d_models, n_layers, n_heads and n_kv_heads must have one entry per size")
        if list(self.d_models) != sorted(set(self.d_models)):
            raise ValueError(f"d_models must be strictly increasing, got {self.d_models}")
        if self.n_seeds < 1:
            raise ValueError(f"n_seeds must be >= 1, got {self.n_seeds}")
        if self.n_eval < 1 or not self.eval_seeds or self.temperature <= 0 or self.max_new_tokens < 8:
            raise ValueError(
                "n_eval >= 1, eval_seeds non-empty, temperature > 0 and max_new_tokens >= 8 needed"
            )
        for i in range(n):
            self.pair_config(i)  # validates every size's architecture (pair_config.py imports no torch)

    def zoo_seed(self, j: int) -> int:
        """The seed of replicate ``j`` (replicate 0 is ``seed`` itself: the zoo the crosscoders read)."""
        return replicate_seed(self.seed, j)

    def pair_config(self, i: int, j: int = 0) -> Any:
        """Size ``i`` of replicate ``j``."""
        from distill_features.pair_config import PairConfig

        return PairConfig(
            d_model=self.d_models[i],
            n_layers=self.n_layers[i],
            n_heads=self.n_heads[i],
            n_kv_heads=self.n_kv_heads[i],
            d_mlp_mult=self.d_mlp_mult,
            n_ctx=self.n_ctx,
            base_steps=self.base_steps,
            distill_steps=self.distill_steps,
            batch_size=self.batch_size,
            lr=self.lr * math.sqrt(self.lr_ref_width / self.d_models[i]),
            weight_decay=self.weight_decay,
            base_generic_frac=self.base_generic_frac,
            distill_generic_frac=self.distill_generic_frac,
            seed=self.zoo_seed(j) + 100 * i,
        )


def held_out_problems(cfg: ZooConfig) -> list:
    """The evaluation problems (drawn before any training data, never used in training)."""
    import random

    from distill_features import language as lang

    return lang.sample_problems(cfg.n_eval, random.Random(cfg.seed + 12345), cfg.language)


def train_zoo(cfg: ZooConfig) -> dict[str, Any]:
    """The zoo's result: per size the pair's weights, training curves and held-out evaluation (see the docstring),
    for replicate 0 in ``sizes`` (what the crosscoders read) and for replicates 1..n_seeds-1 in ``replicates``."""
    import dataclasses
    import random

    import numpy as np

    from distill_features import language as lang

    held = held_out_problems(cfg)
    teacher_rng = random.Random(cfg.seed + 777)
    teacher = [lang.trace_metrics(lang.teacher_trace(p, teacher_rng, cfg.language).text) for p in held]
    out: dict[str, Any] = {
        "vocab": lang.vocabulary(cfg.language),
        "language": dataclasses.asdict(cfg.language),
        "eval_problems": [p.text for p in held],
        "eval_n_steps": np.array([len(p.ops) for p in held]),
        "teacher_markers": {c: float(np.mean([m[c] for m in teacher])) for c in MARKER_CATEGORIES},
        "teacher_length": float(np.mean([m["length"] for m in teacher])),
        "size_order": [f"d{d}" for d in cfg.d_models],
        "n_seeds": cfg.n_seeds,
    }
    replicates = _train_replicates(cfg)
    out["sizes"], out["replicates"] = replicates[0], replicates[1:]
    return out


def _train_replicates(cfg: ZooConfig) -> list[dict[str, Any]]:
    """Every (replicate, size) pair, each single-threaded (so its numbers do not depend on how many run at once): on
    the CPU in as many worker processes as the stage's threads (``cpu_threads``), else one after another."""
    from repro.parallel import map_single_threaded, n_workers

    tasks = [(cfg, j, i) for j in range(cfg.n_seeds) for i in range(len(cfg.d_models))]
    # the widest first, so the pool's last tasks are the short ones
    tasks.sort(key=lambda t: -cfg.d_models[t[2]])
    done = map_single_threaded(_size_task, tasks, n_workers(len(tasks), cfg.device))
    out: list[dict[str, Any]] = [{} for _ in range(cfg.n_seeds)]
    for (_, j, i), r in sorted(zip(tasks, done, strict=True), key=lambda x: (x[0][1], x[0][2])):
        out[j][f"d{cfg.d_models[i]}"] = r
    return out


@functools.lru_cache(maxsize=8)
def _replicate_data(cfg: ZooConfig, j: int) -> tuple[Any, list, Any]:
    """Tokenizer, held-out problems and replicate ``j``'s training corpora (built once per worker process)."""
    from distill_features import language as lang
    from distill_features import pairs

    tok, held = lang.build_tokenizer(cfg.language), held_out_problems(cfg)
    exclude = {p.text for p in held}
    return tok, held, pairs.make_corpora(cfg.pair_config(0, j), cfg.language, tok, exclude, cfg.zoo_seed(j))


def _size_task(task: tuple[ZooConfig, int, int]) -> dict[str, Any]:
    """Size ``i`` of replicate ``j``: the pair trained from the replicate's seed on its own data stream, then
    evaluated on the shared held-out problems."""
    import dataclasses

    import numpy as np

    from distill_features import pairs
    from repro.progress import status

    cfg, j, i = task
    tok, held, corpora = _replicate_data(cfg, j)
    pcfg, d = cfg.pair_config(i, j), cfg.d_models[i]
    desc = f"zoo seed {j + 1}/{cfg.n_seeds} [{i + 1}/{len(cfg.d_models)}] "
    pair = pairs.train_pair(pcfg, corpora, desc=desc, device=cfg.device)
    kw = {"max_new_tokens": cfg.max_new_tokens}
    base_eval = pairs.evaluate(pair.base, tok, held, think=False, **kw)
    dist_eval = pairs.evaluate(pair.distilled, tok, held, think=True, **kw)
    sampled = [
        pairs.evaluate(pair.distilled, tok, held, think=True, temperature=cfg.temperature, seed=s, **kw)
        for s in cfg.eval_seeds
    ]
    r = {
        "config": dataclasses.asdict(pcfg),
        "n_params": int(sum(p.numel() for p in pair.base.parameters())),
        "base_curve": np.array(pair.base_curve),
        "distill_curve": np.array(pair.distill_curve),
        "base_accuracy": base_eval["accuracy"],
        "distilled_accuracy": dist_eval["accuracy"],
        "distilled_sampled_accuracy": np.array([s["accuracy"] for s in sampled]),
        "base_correct": base_eval["correct"],
        "distilled_correct": dist_eval["correct"],
        "distilled_length": float(dist_eval["length"].mean()),
        "distilled_answered": float(dist_eval["answered"].mean()),
        "greedy_markers": {c: float(dist_eval["markers"][c].mean()) for c in MARKER_CATEGORIES},
        "sampled_markers": {
            c: np.array([s["markers"][c].mean() for s in sampled]) for c in MARKER_CATEGORIES
        },
        "examples": dist_eval["texts"][:4],
        "base_weights": pairs.state_arrays(pair.base),
        "distilled_weights": pairs.state_arrays(pair.distilled),
    }
    status(
        f"zoo seed {j} d={d}: base accuracy {r['base_accuracy']:.3f}, distilled {r['distilled_accuracy']:.3f} "
        f"(sampled {r['distilled_sampled_accuracy'].mean():.3f}), trace length {r['distilled_length']:.1f}"
    )
    return r


# ----------------------------------------------------------------------------------------------- replicates
# The layout every replicated stage result and artifact shares (zoo, crosscoders): replicate 0 in ``sizes`` and the
# artifact's top folder, replicate j >= 1 in ``replicates[j - 1]`` and the folder ``seed<j>/``.
def replicate_seed(seed: int, j: int) -> int:
    """The seed of replicate ``j`` of a stage seeded ``seed``."""
    return seed + SEED_STRIDE * j


def replicate_sizes(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every replicate's ``{size name: result}``, replicate 0 first (``result["sizes"]``)."""
    return [result["sizes"], *result.get("replicates", [])]


def replicate_dir(j: int) -> str:
    """Replicate ``j``'s folder inside an artifact (``""``: the top folder)."""
    return "" if j == 0 else f"seed{j}"


def replicate_folders(folder: Path) -> list[tuple[str, Path]]:
    """``(key prefix, folder)`` of every replicate's per-size folders in a saved artifact: ``("", <size>)``, then
    ``("seed<j>/", seed<j>/<size>)``."""
    out = []
    for top in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        if top.name.startswith("seed"):
            out += [(f"{top.name}/", size) for size in sorted(p for p in top.iterdir() if p.is_dir())]
        else:
            out.append(("", top))
    return out


# ----------------------------------------------------------------------------------------------- artifact
def save_zoo(result: dict[str, Any], cfg: ZooConfig, folder: Path) -> None:
    """Each pair as ``save_pretrained`` folders ``<size>/base`` and ``<size>/distilled`` (model + tokenizer)."""
    from distill_features import pairs

    for j in range(len(replicate_sizes(result))):
        tok, zoo = pairs.zoo_from_result(result, replicate=j)
        for name, pair in zoo.items():
            pairs.save_pair(pair.base, pair.distilled, tok, Path(folder) / replicate_dir(j) / name)


def open_zoo(folder: Path) -> dict[str, Any]:
    """``{"<size>/<role>": AutoModelForCausalLM}`` of a saved zoo (role: base or distilled), in eval mode; replicate
    j >= 1 under ``"seed<j>/<size>/<role>"``."""
    from transformers import AutoModelForCausalLM

    return {
        f"{prefix}{size.name}/{role}": AutoModelForCausalLM.from_pretrained(size / role).eval()
        for prefix, size in replicate_folders(folder)
        for role in ROLES
    }
