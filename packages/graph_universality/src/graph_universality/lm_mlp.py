"""LLM -> MLP stitching (v1 Fig. E "MLP<->MLP, LLM<->MLP or LLM<->LLM"; issue 16 item 3): a tiny LM's representation
of each node of the family tree it learned as text, mapped by an affine stitch into the embedding slot of a toy link
predictor trained on the same tree and the same held-out split. If the two kinds of model represent the graph the same
way up to an affine map, the stitched predictor answers the held-out links as well as the receiver does alone.

Method (the spec gives none for this arm; our choices, following the toy MLP <-> MLP stitch of ``universality``):
- sender: the tiny LM's residual stream at the last token of "Is {name}" before block ``int(cut * n_layers)``
  (``hidden_states[l]`` = ``blocks.l.hook_resid_pre``), one vector per node, reduced to the receiver's embedding width
  ``d`` by PCA over the nodes (``repro.pca``; ``d < N - 1``: from more dimensions an affine map fits any N targets
  and the score is vacuous, see Fig. 3);
- receivers: toy link predictors of widths ``emb_dims`` (one relation, descendant), our ``fast`` recipe (N(0, 1)
  embeddings, full-batch AdamW lr 1e-2, weight decay 0), one per seed, on the tiny LMs' tree and split;
- stitch: the affine map of :func:`graph_universality.align.train_toy_stitches` (least-squares init onto the
  receiver's own embeddings, then trained on the receiver's training links, receiver frozen); score = equivalence,
  stitched held-out F1 over the receiver's own;
- controls (spec 7: "random-init sender as negative control"): the same LM architecture untrained (its own init seed)
  as the sender, and Gaussian node vectors of the same width.
At quick (3 tiny LMs x 15 receivers) the trained-LM sender stitches below the 0.95 criterion (median equivalence
~0.73 per receiver seed: contradicted) and worse than Gaussian node vectors (contradicted): a task-trained affine
stitch into a 2-8-wide embedding slot makes arbitrary node vectors work, so the score alone does not show a shared
representation (the caution of Csiszarik et al. 2021 on task-loss stitching, spec section 6).
MLP -> LLM (a toy embedding table written into the LM's residual stream) is not built: the LM reads nodes as name
tokens in context, and a table of 15 vectors has no tokens to replace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # light at import: Fig. 3's module reads the config class
    import numpy as np

SENDERS = ("trained", "untrained", "random")


@dataclass(frozen=True)
class LMToMLPConfig:
    emb_dims: tuple[int, ...] = (2, 4, 8)  # receiver widths, all < N - 1
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # receiver seeds
    hidden: int = 50
    steps: int = 2000  # receivers: fast recipe
    stitch_steps: int = 200
    cut: float = 0.5  # sender layer: int(cut * n_layers)

    def __post_init__(self) -> None:
        if not self.emb_dims or not self.seeds or min(self.steps, self.stitch_steps) < 0:
            raise ValueError("need receiver widths, seeds and non-negative step counts")
        if not 0 <= self.cut < 1:
            raise ValueError("cut must lie in [0, 1)")


def node_vectors(model: Any, data: Any, layer: int) -> np.ndarray:
    from graph_universality import tinylm

    return tinylm.name_representations(model, data.tok, data.names)[layer]


def stitch_lms_into_mlps(cfg: LMToMLPConfig, lms_cfg: Any, lms: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every (LM seed, receiver) pair with each sender of :data:`SENDERS`: one row per pair and sender."""
    import numpy as np
    import torch

    from graph_universality import tinylm
    from graph_universality.align import equivalence_score, train_toy_stitches
    from graph_universality.llm_arm import _lm_config, models_from_states, tree_text
    from graph_universality.toy import FAST_LR, ToyRun, train_recipe
    from repro.pca import pca

    n = lms_cfg.n_nodes
    if max(cfg.emb_dims) >= n - 1:
        raise ValueError(f"receiver widths must be < {n - 1} (N - 1): wider, any affine map fits")
    data = tree_text(lms_cfg)
    runs = [
        ToyRun(
            data.kg.examples, data.train, data.test, n, 1, d, cfg.hidden, 0.0, FAST_LR, s, emb_init_std=1.0
        )
        for d in cfg.emb_dims
        for s in cfg.seeds
    ]
    receivers, met = train_recipe(runs, "fast", cfg.steps, 0, desc="LM -> MLP: toy receivers")
    layer = int(cfg.cut * lms_cfg.n_layers)
    trained = models_from_states(lms_cfg, lms)
    vectors = {}
    for s, model in trained.items():
        vectors["trained", s] = node_vectors(model, data, layer)
        fresh = tinylm.new_model(_lm_config(lms_cfg, s), len(data.tok)).eval()
        with torch.no_grad():
            vectors["untrained", s] = node_vectors(fresh, data, layer)
        vectors["random", s] = np.random.default_rng([s, 7]).normal(size=(n, lms_cfg.d_model))
    rows: dict[str, list] = {k: [] for k in ("sender", "lm_seed", "receiver", "emb_dim", "seed", "f1")}
    for kind in SENDERS:
        for s in trained:
            emb = np.zeros((len(runs), receivers.N, receivers.D), dtype=np.float32)
            for j, r in enumerate(runs):
                emb[j, :n, : r.emb_dim] = pca(vectors[kind, s], r.emb_dim)[0]
            idx = np.arange(len(runs))
            out = train_toy_stitches(receivers, idx, idx, sender_emb=emb, steps=cfg.stitch_steps)
            for j, r in enumerate(runs):
                for key, v in zip(rows, (kind, s, j, r.emb_dim, r.seed, out["test_f1"][j]), strict=True):
                    rows[key].append(v)
    res = {k: np.array(v) for k, v in rows.items()}
    res["equivalence"] = equivalence_score(res["f1"], met["test_f1"][res["receiver"]])
    res["receiver_train_f1"], res["receiver_test_f1"] = met["train_f1"], met["test_f1"]
    res["receiver_seed"] = np.array([r.seed for r in runs])
    return res


def lm_mlp_values(res: dict[str, np.ndarray], seeds: tuple[int, ...]) -> dict[str, list[float]]:
    """Per receiver seed: median equivalence over (LM seed, width) for each sender, the trained-minus-untrained
    difference, and the receivers' training F1 (mean over widths)."""
    import numpy as np

    out: dict[str, list[float]] = {k: [] for k in (*SENDERS, "trained_minus_untrained", "train_f1")}
    for s in seeds:
        for kind in SENDERS:
            m = (res["sender"] == kind) & (res["seed"] == s)
            out[kind].append(float(np.nanmedian(res["equivalence"][m])))
        out["trained_minus_untrained"].append(out["trained"][-1] - out["untrained"][-1])
        out["train_f1"].append(float(res["receiver_train_f1"][res["receiver_seed"] == s].mean()))
    return out
