"""LLM <-> MLP stitching (v1 Fig. E "MLP<->MLP, LLM<->MLP or LLM<->LLM"; issue 16 item 3): a tiny LM's representation
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
MLP -> LLM (:func:`stitch_mlps_into_lms`, the other direction): the LM reads X of "Is X a descendant of Y ?" from
the toy MLP. X's vector entering block ``to_lm_layer`` (0: X's token embedding) is replaced by an affine image of
the MLP's embedding of X; the map (least-squares init onto the LM's own vectors there, then Adam on the answer
token's loss over the training questions, LM frozen) is all that trains. Score: the stitched LM's held-out F1 over
its own; control: Gaussian node vectors of the MLP's width (an untrained MLP's embedding table is such a draw);
precondition: the LM reads X there (zeroing X's vector lowers its held-out F1). Not at the LLM -> MLP site (block
``int(cut * n_layers)``): measured at quick, by block 2 of 4 the LMs have moved X onward, so any vector there, even a
Gaussian one, leaves the held-out F1 unchanged (equivalence 1 for every sender), as Fig. 4's patching at X shows.
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
    to_lm_seeds: int = 3  # MLP -> LLM: the MLPs of the first seeds (every width) as senders into each LM
    to_lm_layer: int = 0  # MLP -> LLM: X's vector entering this block is replaced (0: its token embedding)
    to_lm_lr: float = 1e-3  # MLP -> LLM map: Adam (the official stitch lr), ``stitch_steps`` steps
    to_lm_batch: int = 32  # training questions per step (the same for every map)

    def __post_init__(self) -> None:
        if not self.emb_dims or not self.seeds or min(self.steps, self.stitch_steps) < 0:
            raise ValueError("need receiver widths, seeds and non-negative step counts")
        if not 0 <= self.cut < 1:
            raise ValueError("cut must lie in [0, 1)")
        if self.to_lm_layer < 0 or self.to_lm_seeds < 1 or self.to_lm_batch < 1:
            raise ValueError("need to_lm_layer >= 0, to_lm_seeds >= 1 and to_lm_batch >= 1")


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
    from repro.parallel import n_workers
    from repro.pca import pca

    # MLP -> LLM's (LM, sender kind) jobs go to worker processes; everything here runs on one thread, so no number
    # depends on the figure's thread count (repro.parallel)
    workers = n_workers(len(lms_cfg.seeds) * 2)
    torch.set_num_threads(1)
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
    emb = receivers.params["emb"].detach().numpy()
    mlps = [(j, r) for j, r in enumerate(runs) if r.seed in cfg.seeds[: cfg.to_lm_seeds]]
    senders = {"trained": [emb[j, :n, : r.emb_dim] for j, r in mlps]}
    senders["random"] = [np.random.default_rng([r.seed, 11]).normal(size=(n, r.emb_dim)) for _, r in mlps]
    res["mlp_to_lm"] = stitch_mlps_into_lms(cfg, data, trained, senders, cfg.to_lm_layer, workers)
    res["mlp_to_lm"]["emb_dim"] = np.tile([r.emb_dim for _, r in mlps], len(senders) * len(trained))
    return res


def stitch_mlps_into_lms(
    cfg: LMToMLPConfig,
    data: Any,
    lms: dict[int, Any],
    senders: dict[str, list[np.ndarray]],
    layer: int,
    workers: int = 1,
) -> dict[str, np.ndarray]:
    """MLP -> LLM (module docstring): for each LM and sender kind, every node table of ``senders[kind]`` (``[N, d]``)
    stitched into the LM at X's position entering block ``layer``. The maps of one (LM, kind) train as one stack:
    each map sees the same questions in its own copy of the batch, and Adam's update is per element, so a map
    trains as it would alone. Each (LM, kind) is a job with its own batch order (generator seeded by the LM seed
    and the kind's index), in ``workers`` single-threaded processes (:mod:`repro.parallel`). Rows: sender kind, LM
    seed, sender index, held-out F1 and logit differences Yes - No, the LM's own and with X's vector zeroed,
    equivalence."""
    import numpy as np

    from graph_universality.align import equivalence_score
    from repro.parallel import map_single_threaded

    # a model travels as (class, config, weights): transformers' models hold local hooks that do not pickle
    jobs = [
        (cfg, data, s, (type(model), model.config, model.state_dict()), kind, k, tables, layer)
        for s, model in lms.items()
        for k, (kind, tables) in enumerate(senders.items())
    ]
    parts = map_single_threaded(_mlp_to_lm_job, jobs, workers)
    out = {key: np.array([v for part in parts for v in part[key]]) for key in parts[0]}
    out["equivalence"] = equivalence_score(out["f1"], out["own_f1"])
    return out


def _mlp_to_lm_job(job: tuple) -> dict[str, list]:
    """The maps of one (LM, sender kind) of :func:`stitch_mlps_into_lms`: its rows (without the equivalence)."""
    import numpy as np
    import torch

    from graph_universality import tinylm
    from graph_universality.align import lstsq_affine
    from graph_universality.spread import f1_score
    from repro.hooks import edit_resid_pre

    cfg, data, s, (model_class, model_config, state), kind, kind_index, tables, layer = job
    model = model_class(model_config)
    model.load_state_dict(state)
    model.eval()
    ex = data.kg.examples
    # every question "Is X a descendant of Y ?" + EOS, one token per word
    ids, mask = tinylm.encode(data.tok, data.questions)
    x_pos, q_pos = 1, int(mask.sum(1)[0]) - 2  # X's token and the '?' that predicts the answer
    yes, no = (data.tok.convert_tokens_to_ids(w) for w in ("Yes", "No"))
    target = torch.where(torch.as_tensor(ex[:, 3] == 1), yes, no)
    x_node, train = torch.as_tensor(ex[:, 1]), np.flatnonzero(data.train)
    lab = ex[data.test, 3] == 1

    def diff(logits: torch.Tensor) -> np.ndarray:
        return (logits[..., yes] - logits[..., no]).numpy()

    def f1(ld: np.ndarray) -> float:
        return f1_score(ld > 0, lab)

    def run(rows: Any, vec: torch.Tensor | None) -> torch.Tensor:
        """Logits at '?' for the questions ``rows``, repeated once per map; X's vector replaced by ``vec``."""
        k = 1 if vec is None else len(vec)
        b_ids, b_mask = ids[rows].repeat(k, 1), mask[rows].repeat(k, 1)

        def put(h: torch.Tensor) -> torch.Tensor:
            h = h.clone()
            h[:, x_pos] = vec.reshape(-1, h.shape[-1])
            return h

        if vec is None:
            return model(b_ids, attention_mask=b_mask).logits[:, q_pos]
        with edit_resid_pre(model, layer, put):
            return model(b_ids, attention_mask=b_mask).logits[:, q_pos]

    g = torch.Generator().manual_seed(1000 * int(s) + kind_index)
    test = torch.as_tensor(np.flatnonzero(data.test))
    for p in model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        own_ld = diff(run(test, None))
        own = f1(own_ld)
        # X's vector zeroed: does the LM read it there?
        zeroed = f1(diff(run(test, torch.zeros(1, len(test), model.config.hidden_size))))
    own_vectors = node_vectors(model, data, layer)
    dmax = max(t.shape[1] for t in tables)
    emb = torch.zeros(len(tables), len(data.names), dmax)
    w0 = np.zeros((len(tables), dmax + 1, own_vectors.shape[1]), dtype=np.float32)
    for k, t in enumerate(tables):
        emb[k, :, : t.shape[1]] = torch.as_tensor(t, dtype=torch.float32)
        a, b = lstsq_affine(t, own_vectors)
        w0[k, : t.shape[1]], w0[k, -1] = a, b
    w = torch.as_tensor(w0).requires_grad_(True)
    opt = torch.optim.Adam([w], lr=cfg.to_lm_lr)

    def mapped(nodes: torch.Tensor) -> torch.Tensor:
        return emb[:, nodes] @ w[:, :-1] + w[:, -1:]  # [maps, questions, d_model]

    for _ in range(cfg.stitch_steps):
        rows = torch.as_tensor(train)[torch.randperm(len(train), generator=g)[: cfg.to_lm_batch]]
        logits = run(rows, mapped(x_node[rows]))
        loss = torch.nn.functional.cross_entropy(logits, target[rows].repeat(len(tables)))
        opt.zero_grad()
        (loss * len(tables)).backward()  # each map's gradient: its own mean loss
        opt.step()
    with torch.no_grad():
        lg = run(test, mapped(x_node[test])).reshape(len(tables), len(test), -1)
    keys = ("sender", "lm_seed", "index", "f1", "own_f1", "zeroed_f1", "ld", "own_ld")
    rows_out: dict[str, list] = {key: [] for key in keys}
    for k in range(len(tables)):
        ld = diff(lg[k])
        for key, v in zip(rows_out, (kind, s, k, f1(ld), own, zeroed, ld, own_ld), strict=True):
            rows_out[key].append(v)
    return rows_out


def lm_mlp_values(res: dict[str, np.ndarray], seeds: tuple[int, ...]) -> dict[str, list[float]]:
    """LLM -> MLP, per receiver seed: median equivalence over (LM seed, width) for each sender, the
    trained-minus-untrained difference, and the receivers' training F1 (mean over widths). MLP -> LLM
    (``to_lm_*``), per LM: median equivalence of the trained-MLP senders, trained minus Gaussian, and the LM's
    held-out F1 minus its F1 with X's vector zeroed at the site (does it read X there?)."""
    import numpy as np

    def median(x: np.ndarray) -> float:
        """nan when nothing is finite (a receiver scoring 0), without numpy's warning"""
        return float(np.nanmedian(x)) if np.isfinite(x).any() else float("nan")

    out: dict[str, list[float]] = {k: [] for k in (*SENDERS, "trained_minus_untrained", "train_f1")}
    for s in seeds:
        for kind in SENDERS:
            m = (res["sender"] == kind) & (res["seed"] == s)
            out[kind].append(median(res["equivalence"][m]))
        out["trained_minus_untrained"].append(out["trained"][-1] - out["untrained"][-1])
        out["train_f1"].append(float(res["receiver_train_f1"][res["receiver_seed"] == s].mean()))
    to = res["mlp_to_lm"]
    for k in ("to_lm_trained", "to_lm_minus_random", "to_lm_reads_x"):
        out[k] = []
    for s in sorted(set(to["lm_seed"].tolist())):
        eq = {
            kind: median(to["equivalence"][(to["sender"] == kind) & (to["lm_seed"] == s)])
            for kind in ("trained", "random")
        }
        mine = to["lm_seed"] == s
        out["to_lm_trained"].append(eq["trained"])
        out["to_lm_minus_random"].append(eq["trained"] - eq["random"])
        out["to_lm_reads_x"].append(float(to["own_f1"][mine][0] - to["zeroed_f1"][mine][0]))
    return out


def lm_mlp_claims(res: dict[str, Any], cfg: LMToMLPConfig, fitted: str) -> list:
    """Fig. 3's LLM <-> MLP claims: the v1 claim that an LLM's and a toy MLP's representations of the graph stitch,
    both ways, with the spec's controls (an untrained LM, Gaussian node vectors), which must stitch worse, else the
    score does not measure shared structure. LLM -> MLP per receiver seed (median over LM seeds x widths < N - 1);
    MLP -> LLM per LM (median over the MLP senders), under the precondition that the LM reads X at the site."""
    from repro.claims import Claim, our_choice, paper_text, precondition

    v = lm_mlp_values(res, cfg.seeds)
    kw = {
        "preconditions": (precondition(fitted, v["train_f1"], ">=", 0.9),),
        "spread": f"{len(cfg.seeds)} receiver seeds (median over LM seeds x widths)",
        "note": f"receivers: fast recipe, widths {cfg.emb_dims}; LM layer {cfg.cut:g} x depth, PCA",
    }
    llm = paper_text("MLP<->MLP, LLM<->MLP or LLM<->LLM can be stitched (affine map)", "v1 abstract; Fig. E")
    ctrl = our_choice(0.1, "spec 7/8.3: random(-init) sender << trained sender; margin 0.1 ours")
    random = [a - b for a, b in zip(v["trained"], v["random"], strict=True)]
    reads = "the LM reads X at the site: held-out F1 minus F1 with X's vector zeroed (per LM)"
    to_kw = {
        "preconditions": (precondition(reads, v["to_lm_reads_x"], ">", 0.0),),
        "spread": f"{len(v['to_lm_trained'])} tiny LMs (median over the MLP senders)",
        "note": f"senders: toy MLPs of seeds {cfg.seeds[: cfg.to_lm_seeds]}, widths {cfg.emb_dims}; X at block {cfg.to_lm_layer}",
    }
    return [
        Claim("LLM -> MLP: median trained-affine equivalence", v["trained"], ">=", 0.95, paper=llm, **kw),
        Claim(
            "LLM -> MLP: trained minus untrained-LM sender",
            v["trained_minus_untrained"],
            ">",
            0.1,
            ctrl,
            **kw,
        ),
        Claim("LLM -> MLP: trained-LM minus Gaussian sender", random, ">", 0.1, ctrl, **kw),
        Claim(
            "MLP -> LLM: median trained-affine equivalence",
            v["to_lm_trained"],
            ">=",
            0.95,
            paper=llm,
            **to_kw,
        ),
        Claim(
            "MLP -> LLM: trained-MLP minus Gaussian sender", v["to_lm_minus_random"], ">", 0.1, ctrl, **to_kw
        ),
    ]
