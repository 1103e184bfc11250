"""A throw-away paper package written into a temporary folder, so harness tests can edit its code and config.

``make_toy_package(tmp_path)`` writes ``toypaper/`` (a library module and one figure), puts it on ``sys.path`` and
returns the loaded figures (fig1, and fig2 which reuses fig1's result). ``compute`` appends a line to ``$TOY_CALLS`` so tests can count recomputations.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

LIB = '''
"""Toy library."""
import numpy as np


def ramp(n, seed):
    rng = np.random.default_rng(seed)
    return np.arange(n, dtype=np.float64) + rng.normal(0, 1e-3, n)
'''

FIG = '''
"""Toy figure for harness tests."""
import dataclasses
import os
from dataclasses import dataclass

from repro.figure import Figure


@dataclass(frozen=True)
class ToyConfig:
    n: int = 5
    bound: float = 100.0
    seeds: tuple[int, ...] = (0, 1, 2)
    shuffled: bool = False  # the control: totals of a shuffled (here: negated) ramp
    variants: tuple[str, ...] = ("official", "fixed")

    def __post_init__(self):
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")


def compute(cfg):
    from toypaper.lib import ramp

    import time

    with open(os.environ["TOY_CALLS"], "a") as f:
        f.write("call\\n")
    time.sleep(float(os.environ.get("TOY_SLEEP", "0")))
    if os.environ.get("TOY_ARTIFACT"):  # fault tests: an artifact folder (model weights) written by compute
        import torch

        from repro.artifacts import save_artifact

        save_artifact(os.environ["TOY_ARTIFACT"], {"architecture": "toy"}, {"w": torch.ones(50_000)}, overwrite=True)
    sign = -1.0 if cfg.shuffled else 1.0
    return {
        v: {"values": ramp(cfg.n, cfg.seeds[0]), "total": [sign * float(ramp(cfg.n, s).sum()) for s in cfg.seeds]}
        for v in cfg.variants
    }


def claims(result, cfg):
    from repro.claims import Claim, paper_text, precondition

    return [
        Claim(
            "total is small",
            result[v]["total"],
            "<",
            cfg.bound,
            paper=paper_text(10, "Sec. 1"),
            variant=v,
            preconditions=(precondition("the ramp rises", result[v]["total"], ">", 0),),
        )
        for v in cfg.variants
    ]


def plot(result, cfg):
    import matplotlib.pyplot as plt

    from repro.plot import set_style

    set_style()
    fig, ax = plt.subplots(figsize=(3, 2))
    for v in cfg.variants:
        ax.plot(result[v]["values"], label=v)
    ax.legend()
    return fig


FIGURE = Figure(
    paper="toypaper",
    id="fig1",
    title="a toy figure",
    configs={"smoke": ToyConfig(n=3), "quick": ToyConfig(), "paper": ToyConfig(n=50)},
    compute=compute,
    plot=plot,
    claims=claims,
    variants=("official", "fixed"),
    est_seconds={"smoke": 1, "quick": 1, "paper": 1},
    control=lambda cfg: dataclasses.replace(cfg, shuffled=True),
    control_label="a shuffled ramp",
)
'''


FIG2 = '''
"""A toy figure that reuses fig1's result through the cache."""
import dataclasses
import os
from dataclasses import dataclass

from repro.figure import Figure


@dataclass(frozen=True)
class Toy2Config:
    factor: float = 2.0


def compute(cfg):
    from repro.run import require

    with open(os.environ["TOY_CALLS"], "a") as f:
        f.write("call2\\n")
    first = require("toypaper:fig1", "quick")
    return {"scaled": [cfg.factor * t for t in first["fixed"]["total"]]}


def claims(result, cfg):
    from repro.claims import Claim, our_choice

    return [Claim("scaled total is positive", result["scaled"], ">", 0, paper=our_choice(0, "a toy"))]


def plot(result, cfg):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.bar(range(len(result["scaled"])), result["scaled"])
    return fig


FIGURE = Figure(
    paper="toypaper",
    id="fig2",
    title="a toy figure built on fig1",
    aliases=("scaled_total",),
    configs={"smoke": Toy2Config(), "quick": Toy2Config(), "paper": Toy2Config()},
    compute=compute,
    plot=plot,
    claims=claims,
    est_seconds={"smoke": 1, "quick": 1, "paper": 1},
    control=lambda cfg: dataclasses.replace(cfg, factor=-1.0),
    control_label="a negative factor",
)
'''


FIG3 = '''
"""A toy figure that needs a GPU at paper scale, and also reuses fig1's result."""
import os
from dataclasses import dataclass

from repro.figure import Figure


@dataclass(frozen=True)
class Toy3Config:
    offset: float = 1.0
    device: str = "cpu"


def compute(cfg):
    from repro.run import require

    with open(os.environ["TOY_CALLS"], "a") as f:
        f.write("call3\\n")
    first = require("toypaper:fig1", "quick")
    return {"shifted": [cfg.offset + t for t in first["official"]["total"]], "device": cfg.device}


def claims(result, cfg):
    from repro.claims import Claim, our_choice

    return [Claim("shifted total is positive", result["shifted"], ">", 0, paper=our_choice(0, "a toy"))]


def plot(result, cfg):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.bar(range(len(result["shifted"])), result["shifted"])
    return fig


FIGURE = Figure(
    paper="toypaper",
    id="fig3",
    title="a toy figure that needs a GPU at paper scale",
    configs={"smoke": Toy3Config(), "quick": Toy3Config(), "paper": Toy3Config(offset=2.0, device="cuda")},
    compute=compute,
    plot=plot,
    claims=claims,
    est_seconds={"smoke": 1, "quick": 1, "paper": 1800},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
)
'''


def make_toy_package(root: Path):
    pkg = root / "toypaper"
    (pkg / "figures").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""toy paper."""\n')
    (pkg / "lib.py").write_text(textwrap.dedent(LIB))
    (pkg / "figures" / "__init__.py").write_text(
        'FIGURES = ["toypaper.figures.fig1", "toypaper.figures.fig2", "toypaper.figures.fig3"]\n'
    )
    (pkg / "figures" / "fig1.py").write_text(textwrap.dedent(FIG))
    (pkg / "figures" / "fig2.py").write_text(textwrap.dedent(FIG2))
    (pkg / "figures" / "fig3.py").write_text(textwrap.dedent(FIG3))
    sys.path.insert(0, str(root))
    for name in [m for m in sys.modules if m == "toypaper" or m.startswith("toypaper.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    return (
        importlib.import_module("toypaper.figures.fig1").FIGURE,
        importlib.import_module("toypaper.figures.fig2").FIGURE,
    )


def reload_toy(toy) -> None:
    """Re-import the toy package after a test edited its files, and register the new fig1."""
    from repro import registry

    for name in [m for m in sys.modules if m == "toypaper" or m.startswith("toypaper.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    toy.fig = importlib.import_module("toypaper.figures.fig1").FIGURE
    toy.monkeypatch.setattr(registry, "all_figures", lambda: (toy.fig,))
