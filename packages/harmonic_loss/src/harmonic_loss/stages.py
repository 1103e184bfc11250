"""The package's stages (:mod:`repro.stage`): the expensive computations that several figures read.

``harmonic_loss.toy_sweep``: every (model, task, seed, split, arm) toy run of Figs. 2, 3a, 3c and 7, trained stacked
(settings and choices in :mod:`harmonic_loss.toy_config` and the docstring of ``figures/fig7.py``). It reads its
chunks, the stage ``harmonic_loss.toy_stack`` once per architecture x D9 arm x task
(``Need(TOY_STACK, each=sweep_chunks)``), and merges them (:func:`~harmonic_loss.toy_train.merge_chunks`; the same
numbers as :func:`~harmonic_loss.toy_train.run_sweep` training them in a row): each chunk is a cache entry of its own,
``--jobs 2`` trains two at once, ``--executor ray`` sends each to the cluster as a task, and reproduce.yml runs each
as a job (``repro stage harmonic_loss.toy_stack --key KEY``). Figures read it with ``Need(TOY_SWEEP, field="sweep")``: their ``sweep`` field
holds its :class:`~harmonic_loss.toy_config.SweepConfig`, so ``--set sweep.mlp_epochs=...`` reaches it and two
figures with equal ``sweep`` fields share one training. Its artifact is the trained models, safetensors + JSON:

    cfg, tensors = repro.load_artifact("harmonic_loss.toy_sweep", scale="smoke")
    cfg["runs"]["mlp"][0]            # {"task": ..., "model": ..., "split": ..., "seed": ..., "epochs": ..., "arm": ...}
    tensors["mlp.emb"][0]            # that run's input embedding (padded to the stack's largest vocabulary)
    cfg["runs"]["mlp_no_group_lasso"]  # a D9 arm's stack ("mlp_<arm>"; tensors "mlp_no_group_lasso.emb", ...)

The result's runs table (``result["runs"]``) has one row per run, the official stacks ("mlp", "transformer") first:
``arm`` is "official" or a D9 arm of the MLPs (``no_group_lasso``: penalty 0; ``no_group_lasso_no_wd``: penalty 0
and weight decay 0), ``penalty`` the run's group-lasso weight. Besides the accuracy curves (measured as
``SweepConfig.eval_dropout`` says: official = with dropout active, D6) every run has its final accuracies both ways,
``final_{train,test}_acc_{dropout,evalmode}`` (equal for MLPs).

Scales: ``quick`` trains MLPs on all five tasks and transformers on lattice and circle, 3 seeds (the first 3
official seeds), for 300 (MLP; 1500 on permutation, where the standard MLPs grok at ~1100-1300) / 200 (transformer)
epochs on the CPU, plus the D9 arm without the group-lasso of the MLPs on the four tasks of Fig. 2's claims (the arm
without weight decay as well would add over 3 min on 2 cores);
``smoke`` 2 seeds for 3 / 2 epochs, one D9 arm; ``paper`` is the original grid (20 seeds, 7000 epochs, all four
models, both D9 arms), meant for a GPU, each stack ``torch.compile``d.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from harmonic_loss.toy_config import SweepConfig, ToyStackConfig, sweep_chunks
from repro.stage import Artifact, Need, Stage

SWEEP_QUICK = SweepConfig(
    transformer_tasks=("lattice", "circle"),
    seeds=(0, 52, 105),
    mlp_epochs=300,
    # Fig. 3c's precondition (one MLP of each seed's pair reaches test acc > 0.9) holds on permutation only past
    # 300 epochs: the standard MLPs grok at 1071-1271 epochs (measured, 3 seeds x 2 splits, 1500 epochs), while 4 of
    # the 6 harmonic MLPs stay stuck at train acc 0.50-0.58. 1500 epochs cost about +27 s on one core.
    permutation_mlp_epochs=1500,
    transformer_epochs=200,
    permutation_transformer_epochs=200,
    eval_every=2.0,
    device="cpu",
    ablations=("no_group_lasso",),  # the no-wd arm too would add > 3 min (both arms: +3.2 min CPU, 2 cores)
)
SWEEP_SMOKE = replace(
    SWEEP_QUICK,
    transformer_tasks=("lattice",),
    seeds=(0, 52),
    mlp_epochs=3,
    permutation_mlp_epochs=3,
    transformer_epochs=2,
    permutation_transformer_epochs=2,
    eval_every=1.0,
)
SWEEP_PAPER = SweepConfig(eval_every=5.0, compile=True)  # 7000-epoch stacks: compiling pays for itself
SWEEPS = {"smoke": SWEEP_SMOKE, "quick": SWEEP_QUICK, "paper": SWEEP_PAPER}

MODELS_FILE, CONFIG_FILE = "toy_models.safetensors", "config.json"
RUN_FIELDS = ("task", "model", "split", "seed", "epochs", "arm", "penalty")


def toy_stack(cfg: ToyStackConfig) -> dict[str, Any]:
    from harmonic_loss.toy_train import train_chunk

    return train_chunk(cfg)


def toy_sweep(cfg: SweepConfig, stacks: list[dict[str, Any]]) -> dict[str, Any]:
    from harmonic_loss.toy_train import merge_chunks

    return merge_chunks(cfg, stacks)


def save_toy_models(result: dict[str, Any], cfg: SweepConfig, folder: Path) -> None:
    """The trained runs as ``toy_models.safetensors`` (``<arch>.<param>``: [run, ...]) + ``config.json`` (the
    sweep config and, per architecture, its runs in the tensors' order)."""
    import numpy as np
    import torch
    from safetensors.torch import save_file

    runs, tensors, start = {}, {}, 0
    for arch, params in result["params"].items():
        n = len(next(iter(params.values())))
        runs[arch] = [{f: _plain(result["runs"][f][i]) for f in RUN_FIELDS} for i in range(start, start + n)]
        start += n
        for name, value in params.items():
            tensors[f"{arch}.{name}"] = torch.from_numpy(np.ascontiguousarray(value))
    save_file(tensors, str(folder / MODELS_FILE))
    meta = {"sweep": asdict(cfg), "runs": runs, "format": "stacked toy models, leading axis = run"}
    (folder / CONFIG_FILE).write_text(json.dumps(meta, indent=1))


def open_toy_models(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config, tensors)`` of a saved sweep (see :func:`save_toy_models`)."""
    from safetensors.torch import load_file

    return json.loads((folder / CONFIG_FILE).read_text()), load_file(str(folder / MODELS_FILE))


def _plain(x: Any) -> Any:
    return x.item() if hasattr(x, "item") else x


TOY_STACK = Stage(
    "harmonic_loss.toy_stack",
    compute=toy_stack,
    configs={scale: sweep_chunks(cfg)[0] for scale, cfg in SWEEPS.items()},  # alone: the first chunk
    title="one chunk of the toy sweep: an architecture x arm x task, both heads, every split and seed, stacked",
    est_seconds={"smoke": 0.5, "quick": 35, "paper": 200},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
)
TOY_SWEEP = Stage(
    "harmonic_loss.toy_sweep",
    compute=toy_sweep,
    configs=SWEEPS,
    title="the toy sweep: 4 models x 5 tasks x seeds x splits, trained stacked, one chunk per architecture x task",
    needs={"stacks": Need(TOY_STACK, each=sweep_chunks, label=lambda c: f"{c.arch} {c.task} {c.arm}")},
    artifact=Artifact("safetensors", save_toy_models, open_toy_models),
    est_seconds={"smoke": 0.5, "quick": 2, "paper": 30},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
)
