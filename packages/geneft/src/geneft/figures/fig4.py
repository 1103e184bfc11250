"""Figure 4 (BEST GUESS: the spec could not read what the paper's Fig. 4 shows): repon dynamics and clustering.

The spec marks Fig. 4 as unknown, "probably the repon picture: the two-repon spring or phase-plane hyperbolas, or
embeddings clustering (Theorem 1)". This figure draws those three things, as our guess:
(a) the phase plane of Eq. 10 (a: decoder weight, c: half-separation; eta_A = 1, eta_x / eta_A = ``eta_ratio``):
    RK4 trajectories from a ring of starts, coloured by the sign of the conserved C = a^2/(2 eta_A) - c^2/eta_x, with
    the separatrix c = |a| sqrt(eta_x / (2 eta_A)); C > 0 flows to c = 0 (collision), C < 0 to a = 0;
(b) the relative drift of C along every trajectory (it is conserved: Theorem 2);
(c, d) Theorem 1 in a network: the d = 2 embeddings of mod 3 after training (fraction 0.75, concat, 3 x 50 tanh,
    Adam) at eta_dec/eta_enc = 1 (generalises: the symbols collapse to one point per class) and at 100 (memorises:
    they stay spread), coloured by class.

Choices: the ring of starts and horizon of (a); the two learning-rate pairs of (c, d) (taken from Fig. 5's
generalisation and memorisation regions); the step budget (quick 3,000, no early exit); clustering is measured as the
mean within-class over mean between-class embedding distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from repro.figure import Figure


@dataclass(frozen=True)
class Fig4Config:
    eta_ratio: float = 1.0
    n_starts: int = 24
    t_end: float = 30.0
    dt: float = 0.01
    n_draws: int = 2000  # random starts for the sign-of-C check
    check_t_end: float = 400.0
    gen_lrs: tuple[float, float] = (3e-3, 3e-3)  # (eta_enc, eta_dec)
    memo_lrs: tuple[float, float] = (3e-4, 3e-2)
    steps: int = 3000
    fraction: float = 0.75
    seed: int = 0

    def __post_init__(self) -> None:
        if self.eta_ratio <= 0 or self.dt <= 0 or self.t_end <= 0 or self.n_starts < 1:
            raise ValueError("positive eta_ratio, dt, t_end and n_starts")


def compute(cfg: Fig4Config) -> dict[str, Any]:
    import numpy as np

    from geneft import theory as T
    from geneft.model import Arch
    from geneft.train import Runs, train_stack

    eta_a, eta_x = 1.0, cfg.eta_ratio
    ang = np.linspace(0, 2 * np.pi, cfg.n_starts, endpoint=False) + np.pi / cfg.n_starts
    a0, c0 = 1.5 * np.cos(ang), 1.5 * np.sin(ang)
    _, _, (ts, a_path, c_path) = T.repon_ode(a0, c0, eta_a, eta_x, cfg.t_end, cfg.dt, n_save=300)
    C_path = T.conserved_quantity(a_path, c_path, eta_a, eta_x)
    scale = a0**2 / (2 * eta_a) + c0**2 / eta_x
    rng = np.random.default_rng(cfg.seed)
    ra, rc = rng.normal(size=cfg.n_draws), rng.normal(size=cfg.n_draws)
    rC = T.conserved_quantity(ra, rc, eta_a, eta_x)
    ra_t, rc_t = T.repon_ode(ra, rc, eta_a, eta_x, cfg.check_t_end, 0.02)
    rscale = ra**2 / (2 * eta_a) + rc**2 / eta_x
    rC_t = T.conserved_quantity(ra_t, rc_t, eta_a, eta_x)

    runs = Runs.grid(
        seeds=cfg.seed,
        fractions=cfg.fraction,
        lr_enc=[cfg.gen_lrs[0], cfg.memo_lrs[0]],
        lr_dec=[cfg.gen_lrs[1], cfg.memo_lrs[1]],
        wd_dec=0.0,
    )
    net = train_stack("mod3", Arch(), runs, cfg.steps, stop=None, keep_embeddings=True)
    return {
        "ts": ts,
        "a_path": a_path,
        "c_path": c_path,
        "C_drift": np.abs(C_path - C_path[0]) / scale,  # [t, starts]
        "C0": C_path[0],
        "random_C": rC,
        "random_scale": rscale,
        "random_drift": np.abs(rC_t - rC) / rscale,
        "random_collided": T.collided(ra, rc, ra_t, rc_t),
        "embeddings": net["embeddings"],  # [2, 30, 2]
        "test_acc": net["test_acc"],
        "train_acc": net["train_acc"],
    }


def clustering_ratio(emb: Any) -> float:
    """Mean within-class / mean between-class distance of mod-3 embeddings (0 = one point per class)."""
    import numpy as np

    cls = np.arange(len(emb)) % 3
    d = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    same = cls[:, None] == cls[None]
    off = ~np.eye(len(emb), dtype=bool)
    return float(d[same & off].mean() / d[~same].mean())


def claims(result: dict[str, Any], cfg: Fig4Config) -> list:
    import numpy as np

    from repro.claims import Claim

    clear = np.abs(result["random_C"]) > 0.05 * result["random_scale"]
    agree = (result["random_collided"][clear] == (result["random_C"][clear] > 0)).mean()
    return [
        Claim(
            "C conserved along Eq. 10 (max relative drift)",
            max(result["C_drift"].max(), result["random_drift"].max()),
            "<",
            1e-2,
            paper="dC/dt = 0",
        ),
        Claim(
            f"sign of C decides collision (agreement, |C| > 5% of scale: {clear.mean():.0%} of draws)",
            agree,
            "==",
            1.0,
            paper="100%",
        ),
        Claim(
            "Theorem 1: generalising run's embeddings cluster by class (within / between distance)",
            clustering_ratio(result["embeddings"][0]),
            "<",
            0.2,
            paper="one point per class",
        ),
        Claim(
            "memorising run's embeddings stay spread (within / between distance)",
            clustering_ratio(result["embeddings"][1]),
            ">",
            0.2,
        ),
    ]


def plot(result: dict[str, Any], cfg: Fig4Config):
    import matplotlib.pyplot as plt
    import numpy as np

    from repro.plot import BASELINE, METHOD, set_style

    set_style()
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6), layout="constrained")
    ax = axes[0]
    a, c, C0 = result["a_path"], result["c_path"], result["C0"]
    for k in range(a.shape[1]):
        ax.plot(a[:, k], c[:, k], color=METHOD if C0[k] > 0 else BASELINE, lw=1)
        ax.plot(a[0, k], c[0, k], "o", color="k", ms=2)
    s = np.linspace(-2, 2, 50)
    sep = np.sqrt(cfg.eta_ratio / 2)
    ax.plot(s, np.abs(s) * sep, "k--", lw=1, label="separatrix C = 0")
    ax.plot(s, -np.abs(s) * sep, "k--", lw=1)
    ax.plot([], [], color=METHOD, label="C > 0: repons collide (c -> 0)")
    ax.plot([], [], color=BASELINE, label="C < 0: decoder weight dies (a -> 0)")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2, 2)
    ax.set_xlabel("a (decoder weight)")
    ax.set_ylabel("c (half-separation)")
    ax.set_title(f"(a) Eq. 10 phase plane, eta_x/eta_A = {cfg.eta_ratio:g}")
    ax.legend(fontsize=5.5, loc="upper left")
    bx = axes[1]
    bx.semilogy(result["ts"], np.maximum(result["C_drift"], 1e-17), color="0.5", lw=0.7)
    bx.set_xlabel("t")
    bx.set_ylabel("|C(t) - C(0)| / scale")
    bx.set_title("(b) C is conserved (RK4)")
    names = [("generalising", cfg.gen_lrs), ("memorising", cfg.memo_lrs)]
    for i, (ax, (name, (le, ld))) in enumerate(zip(axes[2:], names, strict=True)):
        e = result["embeddings"][i]
        for k, col in enumerate(("#4C72B0", "#DD8452", "#55A868")):
            sel = np.arange(len(e)) % 3 == k
            ax.scatter(e[sel, 0], e[sel, 1], color=col, s=14, label=f"x mod 3 = {k}")
        ax.set_title(
            f"({'cd'[i]}) {name}: eta_enc {le:.0e}, eta_dec {ld:.0e}\n"
            f"test acc {result['test_acc'][i]:.2f}, within/between {clustering_ratio(e):.2f}"
        )
        ax.set_xlabel("embedding dim 1")
        ax.set_ylabel("embedding dim 2")
        ax.legend(fontsize=6)
    fig.suptitle(
        "Fig. 4 (best guess): repon dynamics (Theorems 2-3) and clustering of embeddings (Theorem 1)",
        fontsize=10,
    )
    return fig


FIGURE = Figure(
    paper="geneft",
    id="fig4",
    title="repon dynamics: phase-plane hyperbolas and embedding clustering (best guess)",
    configs={
        "smoke": Fig4Config(n_starts=6, t_end=5.0, dt=0.05, n_draws=100, check_t_end=20.0, steps=40),
        "quick": Fig4Config(),
        "paper": Fig4Config(n_draws=20_000, steps=20_000),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    est_seconds={"smoke": 2, "quick": 30, "paper": 300},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cpu"},
)
