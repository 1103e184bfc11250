"""The package's expensive shared computations, as stages (``repro.stage``) that figures declare in ``needs``.

- ``graph_universality.toy_sweep`` (:data:`TOY_SWEEP`): the grid of toy link predictors on one random tree and every
  stitch between them (``universality.train_sweep``), trained with our ``fast`` recipe; read by Fig. 3 (equivalence
  table) and Fig. 6 (starvation) as their ``fast`` variant.
- ``graph_universality.toy_sweep_official`` (:data:`TOY_SWEEP_OFFICIAL`): the same grid trained with the official
  toy recipe (zero embedding init, batch 16, AdamW lr 1e-3, early stop on the training loss; ``toy.OFFICIAL``);
  Fig. 3's and Fig. 6's ``official`` variant.
- ``graph_universality.tiny_lms`` (:data:`TINY_LMS`): tiny GPT-NeoX LMs trained on one family tree as text, one per
  seed (``llm_arm.train_lms``); read by Fig. 4. Artifact: one HF ``save_pretrained`` folder per seed
  (``seed{s}/``, model + word-level tokenizer).
- ``graph_universality.lm_stitching`` (:data:`LM_STITCHING`): the official stitching of real LMs (Pythia, GPT-2,
  OPT) on The Pile (``llm_arm.official_stitching``), paper scale only (no pairs below it: an empty result); read by
  Fig. 4, which declares it before the tiny LMs so an offline paper run stops at once in one line.
- ``graph_universality.icl_model`` (:data:`ICL_MODEL`): the in-context model: a tiny GPT-NeoX meta-trained on random
  trees with fresh names (``icl_arm.meta_train``), or at paper scale a named instruct LLM (nothing trained); read by
  Fig. 5 (probes, patching) and Fig. 7 (ordered vs shuffled accuracy). Artifact: the HF ``save_pretrained`` folder
  (model + tokenizer) of the tiny model; for a named LLM, a ``hub_model.json`` naming it.
- ``graph_universality.stitch_icl`` (:data:`STITCH_ICL`): V2-stitch-icl (``stitch_icl``): tiny function-ICL LMs, one
  per seed, and the 10-shot accuracy of each embedding stitch between them (paper: real LM pairs on the
  function-vector data sets); read by Fig. 8.

Open a model in a notebook: ``repro.load_artifact("graph_universality.icl_model", scale="quick")`` (a
``transformers`` model); ``repro.load_result(...)`` for the numbers. Light at import: heavy imports inside functions.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph_universality.paper_models import FV_TASKS, ICL_MODELS, PAPER_STITCH_PAIRS
from repro.stage import Artifact, Stage

CPU_THEN_GPU = {"smoke": "cpu", "quick": "cpu", "paper": "cuda"}
# The official toy recipe runs at most 10k epochs (``toy.OFFICIAL``) and stops each run by itself (patience 30 on the
# training loss). At smoke each official run is capped at the optimiser steps our fast recipe takes in the same config;
# at quick and paper it runs uncut (SweepConfig). Fig. 2 keeps the smoke rule at quick (its 31-node splits take up to
# 262 steps per epoch); Fig. 1 runs uncut at quick.


# ---------------------------------------------------------------------------------------------------- toy sweep
@dataclass(frozen=True)
class SweepConfig:
    """Toy link predictors on ``random_tree(n_nodes, tree_seed)``: emb width x weight decay x relation count x seeds,
    and their stitches (see ``universality.train_sweep``).

    ``recipe`` (``toy.RECIPES``): ``fast`` = ours, full-batch AdamW at ``lr`` for at most ``steps`` steps (early exit
    at training loss < 1e-3), embeddings N(0, ``emb_init_std``^2); ``official`` = the official ``train_one_seed``:
    batch 16 (per-run shuffling), AdamW at ``lr`` (1e-3), patience 30 epochs on the training loss, at most
    ``max_epochs`` (+1) epochs, best epoch restored, zero-initialised embeddings (``emb_init_std`` 0). The weight
    decay is the grid's knob in both (the official default 0.01 is not used: the knob replaces it). ``steps`` is
    unused by ``official`` and ``max_epochs`` by ``fast``.

    Cap of ``official`` (``max_steps``): none at quick and paper: each run trains until the official early stop
    (or ``max_epochs`` + 1 epochs). Measured at quick on this machine (1 torch thread, the other core busy): the 80
    official runs stop after 707-2258 epochs (5 relations, 53 steps per epoch) and 1565-6341 epochs (1 relation, 11
    steps per epoch), the last at step 119,674; every run fits its training links (train F1 >= 0.93, mean 0.995).
    That stack took 470 s as one stack of 80 and 228 s re-packing the stack as runs stop (``toy.train_toy_official``);
    since, each relation count is its own stack in its own worker process (``universality.train_sweep``), and the
    step's gradients are written out (``toy.StackedLinkMLP.batch_grads``): 110 s for the stage (``--jobs 1``).
    Earlier versions capped each official run at quick at the fast recipe's 2000 steps (181 / 37 epochs): no run fitted
    (train F1 0.60-0.63 per seed) and every official claim of Fig. 3 and Fig. 6 read ``not reached``. Smoke keeps
    that cap (``steps``; whole epochs, at least one): equal step budgets for both recipes."""

    n_nodes: int = 15
    tree_seed: int = 0
    test_frac: float = 0.2
    emb_dims: tuple[int, ...] = (2, 4, 8, 16)
    hidden: int = 50
    weight_decays: tuple[float, ...] = (0.0, 0.1)
    n_relations: tuple[int, ...] = (1, 5)
    seeds: tuple[int, ...] = tuple(range(5))
    lr: float = 1e-2
    steps: int = 2000
    emb_init_std: float = 1.0
    stitch_steps: int = 200
    mlp_hidden: int = 8
    chunk: int = 96  # stitches trained at once
    max_automorphisms: int = 4096
    recipe: str = "fast"
    max_epochs: int = 10000
    max_steps: int = 0

    def __post_init__(self) -> None:
        if self.recipe not in ("fast", "official"):
            raise ValueError("recipe must be 'fast' or 'official'")
        if len(self.seeds) < 2:
            raise ValueError("need at least two seeds to stitch across seeds")
        if any(r not in (1, 2, 3, 4, 5) for r in self.n_relations):
            raise ValueError("n_relations must be in 1..5")
        if not 0 < self.test_frac < 1 or self.steps < 1:
            raise ValueError("test_frac in (0, 1) and steps >= 1 required")


def toy_sweep(cfg: SweepConfig) -> dict[str, Any]:
    from graph_universality.universality import train_sweep

    return train_sweep(cfg)


TOY_SWEEP = Stage(
    "graph_universality.toy_sweep",
    compute=toy_sweep,
    configs={
        "smoke": SweepConfig(
            emb_dims=(2, 4),
            weight_decays=(0.0,),
            n_relations=(1,),
            seeds=(0, 1, 2),
            steps=200,
            stitch_steps=30,
        ),
        "quick": SweepConfig(),
        "paper": SweepConfig(
            n_nodes=31,
            emb_dims=(2, 4, 8, 16, 64),
            hidden=200,
            weight_decays=(0.0, 0.01, 0.1),
            n_relations=(1, 3, 5),
            seeds=tuple(range(20)),
            steps=10000,
            stitch_steps=1000,
            chunk=512,
        ),
    },
    title="toy link predictors (width x weight decay x relations x seeds) and every stitch between them",
    est_seconds={"smoke": 5, "quick": 400, "paper": 1800},
    device=CPU_THEN_GPU,
    cpu_threads=2,  # one stack per relation count, in single-threaded worker processes (numbers independent of it)
)


def official_sweep(cfg: SweepConfig, max_steps: int) -> SweepConfig:
    """``cfg``'s grid under the official toy recipe (``toy.OFFICIAL``: lr 1e-3, zero init, 10k epochs), with the
    step cap ``max_steps`` per run (0 = none)."""
    return dataclasses.replace(cfg, recipe="official", lr=1e-3, emb_init_std=0.0, max_steps=max_steps)


TOY_SWEEP_OFFICIAL = Stage(
    "graph_universality.toy_sweep_official",
    compute=toy_sweep,
    configs={
        "smoke": official_sweep(TOY_SWEEP.configs["smoke"], TOY_SWEEP.configs["smoke"].steps),
        "quick": official_sweep(TOY_SWEEP.configs["quick"], 0),
        "paper": official_sweep(TOY_SWEEP.configs["paper"], 0),
    },
    title="the toy sweep's grid trained with the official toy recipe (batch 16, lr 1e-3, early stop, zero init)",
    est_seconds={"smoke": 5, "quick": 330, "paper": 3600},
    device=CPU_THEN_GPU,
    cpu_threads=2,  # one stack per relation count, in single-threaded worker processes (numbers independent of it)
)


# ---------------------------------------------------------------------------------------------------- tiny LMs
@dataclass(frozen=True)
class TinyLMsConfig:
    """Tiny GPT-NeoX LMs trained on the text of ``random_tree(n_nodes, tree_seed)`` (``test_frac`` of the descendant
    links held out), one per seed (see ``llm_arm``)."""

    n_nodes: int = 15
    tree_seed: int = 0
    test_frac: float = 0.2
    fact_repeats: int = 20
    d_model: int = 64
    n_layers: int = 4
    n_heads: int = 4
    steps: int = 500
    batch_size: int = 32
    lr: float = 3e-3
    seeds: tuple[int, ...] = (0, 1, 2)

    def __post_init__(self) -> None:
        if len(self.seeds) < 2:
            raise ValueError("stitching needs two seeds")
        if not 0 < self.test_frac < 1:
            raise ValueError("test_frac must lie in (0, 1)")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")


def tiny_lms(cfg: TinyLMsConfig) -> dict[str, Any]:
    from graph_universality.llm_arm import train_lms

    return train_lms(cfg)


def _save_lms(result: dict[str, Any], cfg: TinyLMsConfig, folder: Path) -> None:
    from graph_universality import llm_arm, tinylm

    for s, model in llm_arm.models_from_states(cfg, result).items():
        tinylm.save(model, llm_arm.tokenizer(cfg), folder / f"seed{s}")


def _open_lms(folder: Path) -> dict[int, Any]:
    """``{seed: GPTNeoXForCausalLM}``; each ``seed{s}/`` folder also holds its tokenizer (``AutoTokenizer``)."""
    from transformers import AutoModelForCausalLM

    found = sorted(folder.glob("seed*"), key=lambda p: int(p.name[4:]))
    return {int(p.name[4:]): AutoModelForCausalLM.from_pretrained(p).eval() for p in found}


TINY_LMS = Stage(
    "graph_universality.tiny_lms",
    compute=tiny_lms,
    configs={
        "smoke": TinyLMsConfig(n_nodes=7, fact_repeats=2, d_model=16, n_layers=2, n_heads=2, steps=20),
        "quick": TinyLMsConfig(),
        "paper": TinyLMsConfig(n_nodes=31, d_model=256, n_layers=8, n_heads=8, steps=5000),
    },
    title="tiny GPT-NeoX LMs trained on one family tree as text, one per seed",
    artifact=Artifact("transformers", save=_save_lms, open=_open_lms),
    est_seconds={"smoke": 5, "quick": 120, "paper": 900},
    device=CPU_THEN_GPU,
    cpu_threads=2,  # one LM per seed, in single-threaded worker processes (numbers independent of it)
)


# ---------------------------------------------------------------------------------------------------- LM stitching
@dataclass(frozen=True)
class LMStitchConfig:
    """The official ``stitching-mid.py`` (paper scale): "sender>receiver" pairs of real LMs (hub ids / local dirs),
    same tokenizer family; zero-init affine stitch at each cut, trained on The Pile, scored on Pile test documents of
    ``seq_len`` tokens. No pairs (smoke, quick): nothing to do."""

    pairs: tuple[str, ...] = ()
    cuts: tuple[float, ...] = (0.25, 0.5, 0.75)
    train_data: str = "monology/pile-uncopyrighted"
    test_data: str = "monology/pile-test-val"
    train_docs: int = 20000
    test_docs: int = 2000
    seq_len: int = 512
    stitch_steps: int = 10000
    batch_size: int = 8
    device: str = "cuda"

    def __post_init__(self) -> None:
        if any(p.count(">") != 1 for p in self.pairs):
            raise ValueError("pairs are 'sender>receiver' strings")
        if not all(0 < c < 1 for c in self.cuts):
            raise ValueError("cuts must lie in (0, 1)")


def lm_stitching(cfg: LMStitchConfig) -> dict[str, Any]:
    from graph_universality.llm_arm import official_stitching

    return official_stitching(cfg)


LM_STITCHING = Stage(
    "graph_universality.lm_stitching",
    compute=lm_stitching,
    configs={
        "smoke": LMStitchConfig(),
        "quick": LMStitchConfig(),
        "paper": LMStitchConfig(pairs=PAPER_STITCH_PAIRS),
    },
    title="official LM-to-LM stitching (Pythia, GPT-2, OPT) on The Pile, paper scale only",
    est_seconds={"smoke": 0, "quick": 0, "paper": 3600},
    device=CPU_THEN_GPU,
)


# ---------------------------------------------------------------------------------------------------- ICL model
ICL_RECIPES = ("fixed", "online", "adaptive")  # meta-training recipes of the ICL model (icl_arm)
ICL_QUESTIONS = (
    "pairs",
    "per_y",
    "inner",
)  # how online / adaptive training questions are drawn (icl.episode_text)


@dataclass(frozen=True)
class ICLModelConfig:
    """The tiny meta-learner, ``recipe``:

    - ``fixed`` (the quick default): ``n_train`` episodes (random ``n_nodes``-node tree, fresh names, one question),
      answer-token loss, AdamW (wd ``weight_decay``, constant lr) for ``steps`` steps (``icl.train_icl``);
    - ``online`` (opt-in, ``icl.meta_train_online``): every step ``batch_size`` fresh sequences (a random tree, fresh
      names, its description, then ``n_questions`` answered questions, half positive), loss on every answer token;
      tree sizes drawn in [``min_nodes``, s] with s growing from ``min_nodes`` to ``n_nodes`` over the first ``ramp``
      of the steps (a curriculum); ``warmup`` steps of linear warm-up then cosine decay; gradients clipped at 1;
    - ``adaptive`` (opt-in): as ``online``, but the top tree size starts at ``min_nodes`` and grows by one whenever
      the answer loss of the last 50 steps is below ``grow_below``; constant lr after the warm-up.

    ``rotary_pct``: the rotary fraction of each head (Pythia's 0.25). Or ``model``: a real instruct LLM (hub id or
    local directory), nothing trained (paper scale). ``questions`` (online / adaptive): ``pairs``, ``per_y`` or ``inner``
    (``icl.episode_text``). Why the quick default stays ``fixed`` (no recipe learns to read X in CPU minutes; the
    one that leaves the ln 2 plateau answers from Y alone): :mod:`icl_arm`."""

    n_nodes: int = 15
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    steps: int = 1000
    batch_size: int = 32
    lr: float = 3e-3
    n_train: int = 16000
    seed: int = 0
    model: str = ""
    recipe: str = "fixed"
    rotary_pct: float = 0.25
    weight_decay: float = 0.01
    min_nodes: int = 3  # online only, as below
    ramp: float = 0.8
    warmup: int = 100
    n_questions: int = 8
    grow_below: float = 0.45  # adaptive only: answer loss under which the curriculum adds a node
    questions: str = "pairs"  # online / adaptive: "pairs", "per_y" or "inner" (icl.episode_text)

    def __post_init__(self) -> None:
        if self.n_nodes < 4 or self.steps < 1 or not 2 <= self.min_nodes <= self.n_nodes:
            raise ValueError("need n_nodes >= 4, 2 <= min_nodes <= n_nodes and steps >= 1")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        if self.recipe not in ICL_RECIPES or self.n_questions < 1 or not 0 <= self.ramp <= 1:
            raise ValueError(f"recipe one of {ICL_RECIPES}, n_questions >= 1 and ramp in [0, 1]")
        if self.questions not in ICL_QUESTIONS:
            raise ValueError(f"questions must be one of {ICL_QUESTIONS}, got {self.questions!r}")


def icl_model(cfg: ICLModelConfig) -> dict[str, Any]:
    if cfg.model:  # a real LLM: nothing to train; the figures load it (and say what to download when offline)
        return {"model": cfg.model}
    from graph_universality.icl_arm import meta_train

    return meta_train(cfg)


def _save_icl(result: dict[str, Any], cfg: ICLModelConfig, folder: Path) -> None:
    if cfg.model:
        (folder / "hub_model.json").write_text(json.dumps({"model": cfg.model}))
        return
    from graph_universality import icl_arm, tinylm

    model, tok, _ = icl_arm.tiny_model(cfg, result)
    tinylm.save(model, tok, folder)


def _open_icl(folder: Path) -> Any:
    """The ``GPTNeoXForCausalLM`` (its tokenizer: ``AutoTokenizer.from_pretrained(folder)``); for a named LLM, that
    model from the local hub cache (one line naming the download when it is missing)."""
    from transformers import AutoModelForCausalLM

    named = folder / "hub_model.json"
    if named.is_file():
        from graph_universality.paper_models import require_models

        name = json.loads(named.read_text())["model"]
        return AutoModelForCausalLM.from_pretrained(require_models([name])[name]).eval()
    return AutoModelForCausalLM.from_pretrained(folder).eval()


ICL_MODEL = Stage(
    "graph_universality.icl_model",
    compute=icl_model,
    configs={
        "smoke": ICLModelConfig(
            n_nodes=6, d_model=16, n_layers=2, n_heads=2, steps=10, batch_size=8, n_train=80
        ),
        "quick": ICLModelConfig(),
        "paper": ICLModelConfig(model=ICL_MODELS[0]),  # the official layer sweep: Llama-3.1-8B-Instruct
    },
    title="the in-context model: a tiny GPT-NeoX meta-trained on random trees with fresh names (paper: an LLM)",
    artifact=Artifact("transformers", save=_save_icl, open=_open_icl),
    est_seconds={"smoke": 5, "quick": 150, "paper": 1},
)


# ---------------------------------------------------------------------------------------------------- stitch ICL
@dataclass(frozen=True)
class StitchICLConfig:
    """V2-stitch-icl (official ``eval-mid.py``; :mod:`stitch_icl`): 10-shot in-context accuracy of LMs whose token
    embeddings come from another LM through an affine stitch.

    Below paper scale (no ``pairs``): tiny GPT-NeoX LMs, one per seed, trained for ``steps`` on ``n_train`` episodes
    of ``shots`` examples of one of ``n_tasks`` random bijections over ``n_words`` words (the function-vector data
    sets' stand-in; loss on the answer words), each stitched into the next seed's; the stitch trains
    ``stitch_steps`` on the same episodes; ``n_eval`` fresh episodes score them. Paper scale: ``pairs``
    ("sender>receiver" real LMs of one tokenizer family), the function-vector data sets ``fv_tasks`` from the folder
    ``fv_data`` (or ``$REPRO_FV_DATA``), the stitch trained on ``train_docs`` Pile documents of ``seq_len`` tokens
    (official recipe: AdamW lr 1e-3, wd 1e-4, seed 81, batch ``batch_size``), ``n_eval`` prompts per data set."""

    n_words: int = 40
    n_tasks: int = 4
    task_seed: int = 0
    shots: int = 10
    n_train: int = 20000
    n_eval: int = 300
    d_model: int = 32
    n_layers: int = 2
    n_heads: int = 4
    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    seeds: tuple[int, ...] = (0, 1, 2)
    stitch_steps: int = 300
    pairs: tuple[str, ...] = ()
    fv_data: str = ""
    fv_tasks: tuple[str, ...] = FV_TASKS
    train_data: str = "monology/pile-uncopyrighted"
    train_docs: int = 20000
    seq_len: int = 512
    device: str = "cpu"

    def __post_init__(self) -> None:
        if len(self.seeds) < 2:
            raise ValueError("stitching needs two seeds")
        if self.n_tasks < 2 or self.n_words < self.shots + 1:
            raise ValueError("need n_tasks >= 2 and n_words > shots (the examples and the query differ)")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        if any(p.count(">") != 1 for p in self.pairs):
            raise ValueError("pairs are 'sender>receiver' strings")


def stitch_icl(cfg: StitchICLConfig) -> dict[str, Any]:
    from graph_universality import stitch_icl as arm

    return arm.paper_arm(cfg) if cfg.pairs else arm.tiny_arm(cfg)


STITCH_ICL = Stage(
    "graph_universality.stitch_icl",
    compute=stitch_icl,
    configs={
        "smoke": StitchICLConfig(
            n_words=16, shots=3, n_train=400, n_eval=40, d_model=16, n_heads=2, steps=30, stitch_steps=5
        ),
        "quick": StitchICLConfig(),
        "paper": StitchICLConfig(
            pairs=tuple(p for p in PAPER_STITCH_PAIRS if len(set(p.split(">"))) == 2),
            stitch_steps=10000,
            batch_size=8,
            n_eval=500,
            device="cuda",
        ),
    },
    title="V2-stitch-icl: 10-shot in-context accuracy of embedding-stitched LMs (tiny function-ICL LMs; paper: "
    "real LM pairs on the function-vector data sets)",
    est_seconds={"smoke": 5, "quick": 240, "paper": 7200},
    device=CPU_THEN_GPU,
    cpu_threads=2,  # the LMs, then the pairs, in single-threaded worker processes (numbers independent of it)
)
