"""Configs of the toy-task experiments (stdlib only, so figure modules can import them at no cost).

The defaults are the official settings (spec section 2, ``src/run_exp.py`` and ``scripts/*.sh`` at 60a6722): data
size 1000, train fraction 0.8, embedding dim 16, AdamW lr 2e-3, weight decay 0.01 (MLP) / 0.005 (transformer),
batch 32, 7000 epochs (10,000 for permutation transformers), official exponent n = 1 on the squared distance
(``convention="code"``; paper convention n = 2), DistLayer eps 1e-4, embedding group-lasso 0.01, seeds
``np.linspace(0, 1000, 20, dtype=int)``.

Two official ingredients that the paper does not describe have an explicit switch (spec 3.6):
- D6, ``eval_dropout``: the official transformer is evaluated with dropout active (``customNNModule.train(dict)``
  shadows ``nn.Module.train``, so ``.eval()`` never happens). ``True`` (official) measures the transformers'
  accuracy curves that way; ``False`` (fixed) in eval mode. Either way the sweep also evaluates every trained
  transformer both ways at the end of training (the training is the same), so both sides can be reported.
- D9, ``ablations``: MLP arms trained beside the official one (``arm="official"``: group-lasso ``penalty`` and
  AdamW weight decay as configured) with the embedding group-lasso off (``"no_group_lasso"``: penalty 0) or with
  both explicit regularisers off (``"no_group_lasso_no_wd"``: penalty 0, weight decay 0), on ``ablation_tasks``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

TASKS = ("lattice", "circle", "equivalence", "genealogy", "permutation")
MODELS = ("standard_mlp", "harmonic_mlp", "standard_transformer", "harmonic_transformer")
SPLITS = ("official", "unique")
# D9 arms of the MLP runs: (embedding group-lasso, AdamW weight decay) as a multiple of the configured value.
ARMS = {"official": (1.0, 1.0), "no_group_lasso": (0.0, 1.0), "no_group_lasso_no_wd": (0.0, 0.0)}
ARM_LABELS = {
    "official": "official (group-lasso 0.01)",
    "no_group_lasso": "no group-lasso",
    "no_group_lasso_no_wd": "no group-lasso, no wd",
}
ABLATIONS = ("no_group_lasso", "no_group_lasso_no_wd")
# Fig. 2's claims use these four tasks (permutation has none): the default tasks of the D9 arms.
ABLATION_TASKS = ("lattice", "circle", "equivalence", "genealogy")
PAPER_SEEDS = (
    0,
    52,
    105,
    157,
    210,
    263,
    315,
    368,
    421,
    473,
    526,
    578,
    631,
    684,
    736,
    789,
    842,
    894,
    947,
    1000,
)


@dataclass(frozen=True)
class SweepConfig:
    """Every (model, task, seed, split) run of Figs. 2, 3a, 3c and 7."""

    mlp_tasks: tuple[str, ...] = TASKS
    transformer_tasks: tuple[str, ...] = TASKS
    seeds: tuple[int, ...] = PAPER_SEEDS
    variants: tuple[str, ...] = SPLITS  # train/test split modes
    mlp_epochs: int = 7000
    permutation_mlp_epochs: int = 7000  # official: the same as every MLP; quick sets its own (see stages.py)
    transformer_epochs: int = 7000
    permutation_transformer_epochs: int = 10_000
    batch_size: int = 32
    lr: float = 2e-3
    mlp_weight_decay: float = 0.01
    transformer_weight_decay: float = 0.005
    penalty: float = 0.01  # embedding group-lasso (official, D9)
    train_fraction: float = 0.8
    data_size: int = 1000
    dim: int = 16
    n: float = 1.0  # official convention (on d^2); = paper-convention n 2
    eps: float = 1e-4
    dropout: float = 0.1
    eval_dropout: bool = (
        True  # D6: official = accuracy curves measured with dropout active; False = eval mode
    )
    ablations: tuple[str, ...] = ABLATIONS  # D9: MLP arms beside the official one (see ARMS)
    ablation_tasks: tuple[str, ...] = ABLATION_TASKS
    eval_every: float = 1.0  # epochs between evaluations of train/test accuracy
    device: str = "auto"  # "auto" = cuda when available
    compile: bool = False  # torch.compile each stack: seconds to compile, 2-4x faster steps (long runs only)

    def __post_init__(self) -> None:
        for t in (*self.mlp_tasks, *self.transformer_tasks, *self.ablation_tasks):
            if t not in TASKS:
                raise ValueError(f"unknown task {t!r}; tasks: {TASKS}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be non-empty and distinct")
        if not set(self.variants) <= set(SPLITS) or not self.variants:
            raise ValueError(f"variants must be a non-empty subset of {SPLITS}")
        if not set(self.ablations) <= set(ARMS) - {"official"}:
            raise ValueError(f"ablations must be a subset of {tuple(a for a in ARMS if a != 'official')}")
        epochs = (
            self.mlp_epochs,
            self.permutation_mlp_epochs,
            self.transformer_epochs,
            self.permutation_transformer_epochs,
        )
        if min(epochs) < 1:
            raise ValueError("epochs must be >= 1")
        if not 0 < self.train_fraction < 1:
            raise ValueError("train_fraction must be in (0, 1)")
        if self.batch_size < 1 or self.eval_every <= 0 or self.lr <= 0:
            raise ValueError("batch_size, eval_every and lr must be positive")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError("device must be auto, cpu or cuda")

    def epochs_of(self, arch: str, task_name: str) -> int:
        """Epochs of a run of ``arch`` ("mlp" or "transformer") on ``task_name``: permutation has its own."""
        if arch == "transformer":
            return (
                self.permutation_transformer_epochs if task_name == "permutation" else self.transformer_epochs
            )
        return self.permutation_mlp_epochs if task_name == "permutation" else self.mlp_epochs


def with_epochs(cfg: SweepConfig, epochs: int) -> SweepConfig:
    """``cfg`` with every run ``epochs`` long, MLPs and transformers, permutation included."""
    return replace(
        cfg,
        mlp_epochs=epochs,
        permutation_mlp_epochs=epochs,
        transformer_epochs=epochs,
        permutation_transformer_epochs=epochs,
    )


def untrained_sweep(cfg: SweepConfig) -> SweepConfig:
    """The toy figures' control: the same sweep with every run stopped after one epoch (untrained models)."""
    return with_epochs(cfg, 1)


@dataclass(frozen=True)
class ToyStackConfig:
    """One chunk of the toy sweep: every run of one architecture, D9 arm and task (both heads, every split and
    seed), trained as one stack. The sweep is cut into these so that each is a cache entry of its own, a process of
    ``--jobs`` and a Ray task (``repro.stage.Need(each=...)``); a chunk's numbers depend only on this config, never
    on which other chunks run or where. Fields as in :class:`SweepConfig`; ``penalty`` and ``weight_decay`` are the
    chunk's own (an arm's multiples already applied)."""

    arch: str  # "mlp" or "transformer"
    task: str
    arm: str = "official"
    seeds: tuple[int, ...] = PAPER_SEEDS
    variants: tuple[str, ...] = SPLITS
    epochs: int = 7000
    weight_decay: float = 0.01
    penalty: float = 0.01
    batch_size: int = 32
    lr: float = 2e-3
    train_fraction: float = 0.8
    data_size: int = 1000
    dim: int = 16
    n: float = 1.0
    eps: float = 1e-4
    dropout: float = 0.1
    eval_dropout: bool = True
    eval_every: float = 1.0
    device: str = "auto"
    compile: bool = False

    def __post_init__(self) -> None:
        if self.arch not in ("mlp", "transformer") or self.task not in TASKS or self.arm not in ARMS:
            raise ValueError(f"a toy stack is mlp/transformer, a task of {TASKS} and an arm of {tuple(ARMS)}")
        if self.arch == "transformer" and self.arm != "official":
            raise ValueError("the D9 arms are MLP arms")


def sweep_chunks(cfg: SweepConfig) -> tuple[ToyStackConfig, ...]:
    """The sweep's chunks, in the order of its runs table: the official MLPs per task, the transformers per task,
    then each D9 arm of the MLPs per task of ``ablation_tasks``. An arm's chunk holds the same (task, model, split,
    seed) runs as the official one, so its runs pair with the official ones by seed (same data, same initial
    weights); adding an arm or a task leaves every other chunk's training (and cache entry) unchanged."""
    shared = {
        "seeds": cfg.seeds,
        "variants": cfg.variants,
        "batch_size": cfg.batch_size,
        "lr": cfg.lr,
        "train_fraction": cfg.train_fraction,
        "data_size": cfg.data_size,
        "dim": cfg.dim,
        "n": cfg.n,
        "eps": cfg.eps,
        "dropout": cfg.dropout,
        "eval_dropout": cfg.eval_dropout,
        "eval_every": cfg.eval_every,
        "device": cfg.device,
        "compile": cfg.compile,
    }

    def mlp(arm: str, t: str) -> ToyStackConfig:
        penalty_factor, wd_factor = ARMS[arm]
        wd, penalty = cfg.mlp_weight_decay * wd_factor, cfg.penalty * penalty_factor
        epochs = cfg.epochs_of("mlp", t)
        return ToyStackConfig("mlp", t, arm, epochs=epochs, weight_decay=wd, penalty=penalty, **shared)

    def transformer(t: str) -> ToyStackConfig:
        epochs, wd = cfg.epochs_of("transformer", t), cfg.transformer_weight_decay
        return ToyStackConfig("transformer", t, epochs=epochs, weight_decay=wd, penalty=cfg.penalty, **shared)

    chunks = [mlp("official", t) for t in cfg.mlp_tasks] + [transformer(t) for t in cfg.transformer_tasks]
    ablation_tasks = [t for t in cfg.mlp_tasks if t in cfg.ablation_tasks]
    return tuple(chunks + [mlp(arm, t) for arm in cfg.ablations for t in ablation_tasks])
