"""The crosscoders (stage ``distill_features.crosscoders``): per size of the zoo, crosscoders trained between the
base model and its distilled twin, evaluated on held-out windows. Every analysis figure reads them.

Pipeline per size (:func:`train_crosscoders`): both models are saved and re-loaded through
``repro.models.load_model`` (the code path of the hub models), their ``blocks.{n_layers // 2}.hook_resid_pre`` is
harvested with ``repro.activations.harvest`` on packed windows of a 50/50 mix of teacher traces and generic prose
(the paper's OpenThoughts + RedPajama mix; :func:`windows`), dropping position 0 (the window's EOS/BOS), normalised
to mean norm sqrt(d) over the whole cache; a crosscoder is trained from the shuffled reader that visits every row
once per epoch (``fixed``) or from the official buffer, defects 1-2 included (``official``: the first 32 windows and
as many zero rows, ``official_buffer.py``; ``official_buffer=False`` turns it off), and evaluated on separate
held-out windows: explained variance, the next-token loss with the reconstruction spliced in, relative decoder
norms (L1 and L2), Latent Scaling of the model-exclusive candidates, marker enrichment.

Variants: ``official`` = the paper's L1 crosscoder (sum of per-model L2 decoder norms in the penalty, coefficient
warm-up over 5 % of steps, W_enc = W_dec^T, decoder rows 0.08); ``fixed`` = a BatchTopK crosscoder (aux-k loss,
learned inference threshold). The artifact is each crosscoder as a SAELens-style folder ``<size>/<variant>``
(``cfg.json``: architecture, hook point, normalisation scales, threshold; ``sae_weights.safetensors``), replicate j
under ``seed<j>/``. Every replicate of the zoo gets its own crosscoders (seed ``seed + 1000 j``), so the analysis
figures' claims take one value per replicate and a t interval over them (``repro.claims.merge_seeds``).

Training schedule: both variants use the paper's optimiser and schedule (Adam betas 0.9/0.999, grad-clip 1.0,
constant lr then linear decay over the last 20 %; L1 coefficient 2 ramped over the first 5 %). The step budget
shrinks from the paper's 390,625 steps of 1,024 pairs to ``steps`` of ``batch_size``; the rule
(:func:`official_lr`): the official L1 crosscoder's lr keeps the paper's lr x steps (5e-5 x 390,625 = 19.5), since
Adam moves each weight by about lr per step, so its weights can travel as far as the paper's (quick: 2,000 steps,
lr 9.8e-3; what is not preserved is the data: 2,000 x 512 pairs against 400M, 1,000 visits per latent at d=128
against the paper's 12,200). ``official_lr`` set to a number overrides the rule (smoke: mechanics only). The fixed
BatchTopK crosscoder is ours: lr ``lr``.

Choices the spec leaves open (CPU scale): dictionary ``dict_mult`` x d (paper 32,768 = 21x / 9x / 6.4x d);
batch 512, L1 coefficient ``l1_coeff``; BatchTopK k = ``k``; a latent is an exclusive candidate when r < 0.1 or r > 0.9 (spec: the
[0.01, 0.11] and [0.89, 0.99] bins); windows of the zoo's n_ctx.

Light at import (``stages.py`` imports it): torch and numpy are imported inside the functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distill_features.zoo import ZooConfig

VARIANTS = ("official", "fixed")
PAPER_L1_LR, PAPER_L1_STEPS = 5e-5, 390_625  # deepseek-diff's train.py: Adam lr, 400M tokens / 1,024 per step


def official_lr(steps: int) -> float:
    """The official L1 crosscoder's lr at a step budget of ``steps``: the paper's lr x steps kept constant."""
    return PAPER_L1_LR * PAPER_L1_STEPS / steps


# the figure variants and the crosscoder each one trains
CROSSCODER_OF_VARIANT = {"official": "l1", "fixed": "batchtopk"}


@dataclass(frozen=True)
class CrosscodersConfig:
    train_windows: int = 600
    eval_windows: int = 80
    dict_mult: int = 8
    steps: int = 2000
    batch_size: int = 512
    lr: float = 1e-3  # the fixed (BatchTopK) crosscoder's Adam lr
    official_lr: float | None = (
        None  # the official (L1) crosscoder's; None: the paper's lr x steps (official_lr())
    )
    l1_coeff: float = 2.0
    k: int = 12
    max_exclusive: int = 300
    seed: int = 0
    official_buffer: bool = True  # official variant: the official buffer's defects 1-2 (official_buffer.py)
    variants: tuple[str, ...] = VARIANTS
    zoo: ZooConfig = field(default_factory=ZooConfig)  # the zoo these crosscoders are trained on

    def __post_init__(self) -> None:
        if self.train_windows < 1 or self.eval_windows < 1:
            raise ValueError("train_windows and eval_windows must be >= 1")
        if self.dict_mult < 1 or self.steps < 1 or self.batch_size < 1 or self.k < 1:
            raise ValueError("dict_mult, steps, batch_size and k must be >= 1")
        if not set(self.variants) <= set(VARIANTS) or not self.variants:
            raise ValueError(f"variants must be a non-empty subset of {VARIANTS}")
        if self.lr <= 0 or (self.official_lr is not None and self.official_lr <= 0):
            raise ValueError("lr and official_lr must be > 0")

    def lr_of(self, variant: str) -> float:
        """The Adam lr of a variant's crosscoder (official: the paper's lr x steps unless ``official_lr`` is set)."""
        if variant == "official":
            return self.official_lr if self.official_lr is not None else official_lr(self.steps)
        return self.lr


def _language(zoo: dict[str, Any]) -> Any:
    from distill_features.language import LanguageConfig

    return LanguageConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in zoo["language"].items()})


def windows(zoo: dict[str, Any], n: int, seed: int, labelled: bool = False) -> tuple:
    """``n`` packed windows of a 50/50 trace / generic mix, never containing the zoo's evaluation problems."""
    import random

    from distill_features import language as lang
    from distill_features import pairs

    tok = lang.build_tokenizer(_language(zoo))
    n_ctx = int(zoo["sizes"][zoo["size_order"][0]]["config"]["n_ctx"])
    docs = lang.document_stream(
        [("trace", 0.5), ("generic", 0.5)], random.Random(seed), _language(zoo), set(zoo["eval_problems"])
    )
    out = pairs.pack_labelled(docs, tok, n_ctx, n)
    return out if labelled else out[:2]


def crosscoder_arrays(model: Any) -> dict[str, Any]:
    """A crosscoder as plain arrays + its config as JSON (what a cached result can hold)."""
    from dataclasses import asdict

    out: dict[str, Any] = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    out["config_json"] = json.dumps(asdict(model.cfg))
    return out


def crosscoder_from_arrays(arrays: dict[str, Any]) -> Any:
    import numpy as np
    import torch

    from distill_features.crosscoder import Crosscoder, CrosscoderConfig

    model = Crosscoder(CrosscoderConfig(**json.loads(str(arrays["config_json"]))))
    model.load_state_dict(
        {k: torch.as_tensor(np.asarray(v)) for k, v in arrays.items() if k != "config_json"}
    )
    return model.eval()


def train_crosscoders(cfg: CrosscodersConfig, zoo: dict[str, Any]) -> dict[str, Any]:
    """The stage's result: the evaluation windows and, per size, its activations and each variant's crosscoder
    with its metrics (see the module docstring), for every replicate of the zoo: replicate 0 in ``sizes``, the
    others in ``replicates`` (crosscoder seed ``seed + 1000 j``; the same training and evaluation windows)."""
    import torch

    from distill_features.zoo import replicate_sizes
    from repro.parallel import map_single_threaded, n_workers

    n_replicates = len(replicate_sizes(zoo))
    # replicates train in as many worker processes as the stage's threads (cpu_threads), one thread each, so their
    # numbers do not depend on how many run at once (as the zoo's)
    workers = n_workers(n_replicates, "cpu")  # one per thread, also beside a GPU (each job picks its device)
    torch.set_num_threads(1)
    train = windows(zoo, cfg.train_windows, cfg.seed + 1)
    eval_ids, eval_mask, eval_spans, eval_markers = windows(
        zoo, cfg.eval_windows, cfg.seed + 2, labelled=True
    )
    out: dict[str, Any] = {
        "size_order": list(zoo["size_order"]),
        # copies: sending the tensors to worker processes moves their storage to shared memory, which would leave
        # a numpy view of the former storage pointing at freed memory
        "eval": {
            "ids": eval_ids.numpy().copy(),
            "mask": eval_mask.numpy().copy(),
            "spans": eval_spans.numpy().copy(),
            "markers": eval_markers.numpy().copy(),
        },  # fmt: skip
    }
    evals = (eval_ids, eval_mask, eval_markers)
    jobs = [(cfg, zoo, j, train, evals) for j in range(n_replicates)]
    reps = map_single_threaded(_replicate_job, jobs, workers)
    out["sizes"], out["replicates"] = reps[0], reps[1:]
    return out


def _replicate_job(job: tuple) -> dict:
    return _train_replicate(*job)


def _train_replicate(cfg: CrosscodersConfig, zoo: dict[str, Any], j: int, train: tuple, evals: tuple) -> dict:
    """Replicate ``j``: ``{size name: activations, crosscoders and metrics}`` on the zoo's replicate ``j``."""
    import dataclasses
    import tempfile

    import numpy as np
    import torch

    from distill_features import analysis, pairs
    from distill_features.crosscoder import CrosscoderConfig, evaluate, splice_delta_ce, train_crosscoder
    from distill_features.language import MARKERS
    from distill_features.official_buffer import BufferStats, OfficialBuffer
    from distill_features.zoo import replicate_seed
    from repro.activations import HarvestConfig, harvest
    from repro.models import ModelSpec, load_model
    from repro.progress import status

    tok, pair_of = pairs.zoo_from_result(zoo, replicate=j)
    (train_ids, train_mask), (eval_ids, eval_mask, eval_markers) = train, evals
    seed, tag = replicate_seed(cfg.seed, j), f"seed {j} " if j else ""
    sizes: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in zoo["size_order"]:
            pair = pair_of[name]
            d, layer = pair.cfg.d_model, pair.cfg.n_layers // 2
            hook = f"blocks.{layer}.hook_resid_pre"
            paths = pairs.save_pair(pair.base, pair.distilled, tok, Path(tmp) / name)
            models = [load_model(ModelSpec(str(p)), hooked=False) for p in paths]
            hcfg = HarvestConfig(hook_points=(hook,), drop_first=1, batch_size=32)
            cache = harvest(models, train_ids, Path(tmp) / f"acts-{name}", hcfg, attention_mask=train_mask)
            ev = harvest(models, eval_ids, Path(tmp) / f"eval-{name}", hcfg, attention_mask=eval_mask)
            rows = np.arange(ev.n_rows)
            x_eval = np.stack([ev.gather(ev.key(m, hook), rows) for m in range(2)], 1).astype(np.float32)
            seqs, pos = ev.gather("sequences", rows), ev.gather("positions", rows)
            row_markers = eval_markers.numpy()[seqs, pos]
            r: dict[str, Any] = {
                "d_model": d, "layer": layer, "train_rows": cache.n_rows, "eval_acts": x_eval,
                "eval_sequences": seqs, "eval_positions": pos, "scales": np.array(cache.scales(hook)),
                "variants": {},
            }  # fmt: skip
            x_t = torch.from_numpy(x_eval)
            r["row_ss"] = (
                (x_t - x_t.mean(0)).pow(2).sum(-1).numpy()
            )  # [N, M]: per-row variance (EV denominator)
            for v in cfg.variants:
                ccfg = CrosscoderConfig(
                    d_model=d, dict_size=cfg.dict_mult * d, variant=CROSSCODER_OF_VARIANT[v], k=cfg.k,
                    l1_coeff=cfg.l1_coeff, lr=cfg.lr_of(v), steps=cfg.steps, batch_size=cfg.batch_size,
                    dead_after_tokens=10 * cfg.batch_size * 20, seed=seed,
                )  # fmt: skip
                if v == "official" and cfg.official_buffer:  # the official buffer, defects 1 and 2 included
                    reader = OfficialBuffer(cache, cfg.batch_size, seed=seed, seq_len=pair.cfg.n_ctx)
                    buffer = dataclasses.asdict(reader.stats(cfg.steps))
                else:  # the correct reader: every harvested row once per epoch
                    reader = cache.reader(cfg.batch_size, normalise=True, seed=seed, drop_last=True)
                    buffer = dataclasses.asdict(
                        BufferStats.every_row(cache.n_rows, cfg.steps, cfg.batch_size)
                    )
                cc, history = train_crosscoder(ccfg, reader, hook=hook, desc=f"crosscoders {tag}{name} {v}")
                metrics = evaluate(cc, x_t)
                splice = splice_delta_ce([m.hf for m in models], layer, cc, eval_ids, eval_mask)
                W = cc.W_dec.detach()
                r_l2 = analysis.relative_decoder_norm(W, p=2)
                r_l1 = analysis.relative_decoder_norm(W, p=1)
                with torch.no_grad():
                    f = torch.cat([cc.encode(x_t[s : s + 4096]) for s in range(0, len(x_t), 4096)])
                    rec = torch.cat([cc.decode(f[s : s + 4096]) for s in range(0, len(f), 4096)])
                fired = (f > 0).any(0).numpy()
                excl = np.flatnonzero(fired & ((r_l2 < 0.1) | (r_l2 > 0.9)))[: cfg.max_exclusive]
                ls = analysis.latent_scaling_crosscoder(cc, x_t, excl.tolist()) if len(excl) else {}
                enrich = analysis.token_class_enrichment(f.numpy(), row_markers, MARKERS)
                r["variants"][v] = {
                    "crosscoder": crosscoder_arrays(cc),
                    "history": history,
                    "buffer": buffer,
                    "metrics": metrics,
                    "splice": splice,
                    "r_l2": r_l2,
                    "r_l1": r_l1,
                    "cosine": analysis.decoder_cosine(W),
                    "fired": fired,
                    "exclusive": excl,
                    "nu_r": ls.get("nu_r", np.zeros(0)),
                    "nu_eps": ls.get("nu_eps", np.zeros(0)),
                    "marker_count": enrich["count"],
                    "marker_n": enrich["n_class"],
                    "row_sse": (rec - x_t)
                    .pow(2)
                    .sum(-1)
                    .numpy(),  # [N, M]: per-row error, for the EV interval
                }
                status(
                    f"crosscoders {tag}{name} {v}: EV {metrics['explained_variance']}, L0 {metrics['l0']:.1f}, "
                    f"dead {metrics['dead_fraction']:.2f}, mean r {np.nanmean(r_l2):.3f}"
                )
            sizes[name] = r
    return sizes


# ----------------------------------------------------------------------------------------------- artifact
def save_crosscoders(result: dict[str, Any], cfg: CrosscodersConfig, folder: Path) -> None:
    """Each crosscoder as a SAELens-style folder ``<size>/<variant>`` (``crosscoder.save_crosscoder``)."""
    from distill_features.crosscoder import save_crosscoder
    from distill_features.zoo import replicate_dir, replicate_sizes

    for j, sizes in enumerate(replicate_sizes(result)):
        for name in result["size_order"]:
            r = sizes[name]
            hook = f"blocks.{int(r['layer'])}.hook_resid_pre"
            for v, rv in r["variants"].items():
                meta = {"models": ["base", "distilled"], "size": name, "variant": v, "replicate": j}
                path = Path(folder) / replicate_dir(j) / name / v
                save_crosscoder(crosscoder_from_arrays(rv["crosscoder"]), path, meta, hook_point=hook)


def open_crosscoders(folder: Path) -> dict[str, Any]:
    """``{"<size>/<variant>": (cfg, tensors)}``: ``repro.artifacts.load_artifact`` of each saved crosscoder;
    replicate j >= 1 under ``"seed<j>/<size>/<variant>"``."""
    from distill_features.zoo import replicate_folders
    from repro.artifacts import load_artifact

    return {
        f"{prefix}{size.name}/{v.name}": load_artifact(v)
        for prefix, size in replicate_folders(folder)
        for v in sorted(p for p in size.iterdir() if p.is_dir())
    }
