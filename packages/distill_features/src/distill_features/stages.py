"""The package's stages (``repro.stage``): the expensive computations the figures read, each computed once per config
and code and cached.

- ``ZOO`` (``distill_features.zoo``): base / distilled tiny Qwen2 pairs per width, with their held-out evaluation
  (``zoo.train_zoo``); artifact: ``save_pretrained`` folders ``<size>/base``, ``<size>/distilled``.
- ``CROSSCODERS`` (``distill_features.crosscoders``, reads the zoo): per size, the official (L1) and fixed
  (BatchTopK) crosscoders between the two models, harvested activations and metrics
  (``zoo_crosscoders.train_crosscoders``); artifact: SAELens-style folders ``<size>/<variant>``.

Readers hold the stage configs as nested fields: ``zoo`` (a ``ZooConfig``) or ``crosscoders`` (a
``CrosscodersConfig``, whose own ``zoo`` field is the zoo it is trained on), so ``--set crosscoders.steps=...`` or
``--set crosscoders.zoo.base_steps=...`` reach them. ``latents_setup.from_results`` builds what the analysis figures
use from the two results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from distill_features import zoo, zoo_crosscoders
from distill_features.zoo import ZooConfig
from distill_features.zoo_crosscoders import CrosscodersConfig
from repro.stage import Artifact, Need, Stage

ZOO_CONFIGS = {
    "smoke": ZooConfig(
        d_models=(16, 24, 32),
        n_layers=(1, 2, 2),
        n_heads=(2, 2, 2),
        n_kv_heads=(1, 1, 1),
        base_steps=40,
        distill_steps=30,
        batch_size=8,
        n_eval=24,
        eval_seeds=(0,),
        max_new_tokens=64,
        n_seeds=2,
    ),
    "quick": ZooConfig(),
    "paper": ZooConfig(
        d_models=(256, 384, 512),
        n_layers=(4, 6, 8),
        n_heads=(4, 6, 8),
        n_kv_heads=(2, 3, 4),
        d_mlp_mult=4,
        n_ctx=128,
        base_steps=6000,
        distill_steps=3000,
        batch_size=64,
        lr=1e-3,
        lr_ref_width=256,
        n_eval=1000,
        eval_seeds=(0, 1, 2, 3),
        max_new_tokens=128,
        device="cuda",
    ),
}

CROSSCODERS_CONFIGS = {
    "smoke": CrosscodersConfig(
        train_windows=40,
        eval_windows=8,
        dict_mult=4,
        steps=60,
        batch_size=128,
        official_lr=1e-3,
        zoo=ZOO_CONFIGS["smoke"],
    ),  # smoke checks mechanics: 60 steps at the paper's lr x steps would be lr 0.33
    "quick": CrosscodersConfig(),
    "paper": CrosscodersConfig(
        train_windows=20_000,
        eval_windows=500,
        dict_mult=32,
        steps=50_000,
        batch_size=2048,
        lr=2e-4,
        k=64,
        zoo=ZOO_CONFIGS["paper"],
    ),
}

ZOO = Stage(
    "distill_features.zoo",
    compute=zoo.train_zoo,
    configs=ZOO_CONFIGS,
    title="Model zoo: base and distilled tiny Qwen2 pairs per width, evaluated on held-out problems",
    artifact=Artifact("transformers", zoo.save_zoo, zoo.open_zoo),
    est_seconds={"smoke": 10, "quick": 270, "paper": 5400},  # 3 replicates
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    cpu_threads=2,  # replicates train in parallel processes, one thread each (numbers independent of it)
)

CROSSCODERS = Stage(
    "distill_features.crosscoders",
    compute=zoo_crosscoders.train_crosscoders,
    configs=CROSSCODERS_CONFIGS,
    title="Base-vs-distilled crosscoders per size of the zoo (official L1 and fixed BatchTopK)",
    needs={"zoo": Need(ZOO, field="zoo")},
    artifact=Artifact("saelens", zoo_crosscoders.save_crosscoders, zoo_crosscoders.open_crosscoders),
    est_seconds={"smoke": 10, "quick": 290, "paper": 10800},  # 3 replicates
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    cpu_threads=2,  # replicates train in parallel processes, one thread each (numbers independent of it)
)


@dataclass(frozen=True)
class ReadsLatents:
    """Base of the analysis figures' configs: the crosscoders they analyse (a nested stage config) and, through its
    ``zoo`` field, the model pairs (the ``zoo`` property, so the two stages a figure reads always agree)."""

    crosscoders: CrosscodersConfig = field(default_factory=CrosscodersConfig)

    @property
    def zoo(self) -> ZooConfig:
        return self.crosscoders.zoo


# What the analysis figures declare (their configs derive from ReadsLatents): both stages.
LATENT_NEEDS = {"zoo": Need(ZOO, field="zoo"), "crosscoders": Need(CROSSCODERS, field="crosscoders")}
