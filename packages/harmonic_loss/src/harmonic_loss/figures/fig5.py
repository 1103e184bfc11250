"""Figure 5: the weights of a one-layer classifier on digit images, cross-entropy vs harmonic loss.

Setting (spec F5, official ``notebooks/mnist.ipynb``): one layer D -> 10 on raw pixels in [0, 1]; standard = Linear +
softmax, harmonic = one centre per class with distance logits (eps 1e-4, centres initialised N(0, 1/D), i.e. std
1/sqrt(D)); AdamW lr 1e-3 (weight decay 0.01), batch 64, at most 100 epochs with early stopping on the epoch's
training loss (patience 10, min_delta 1e-4), seed 57. Paper: test accuracy 92.49% (harmonic) vs 92.50% (standard);
harmonic weights look like digit prototypes with peripheral pixels ~0, standard weights look like noise.

Scales: ``paper`` uses real MNIST (28x28, n = sqrt(784) = 28); ``quick``/``smoke`` use scikit-learn's bundled 8x8
digits (offline; n = sqrt(64) = 8), split 80/20 stratified with the config's seed.

Variants (the exponent defect D2): ``official`` raises the *squared* distance to -n as the official code does
(paper-convention exponent 2 sqrt(D)); ``fixed`` uses the paper's formula d^-n with n = sqrt(D). Both are trained
beside the same standard model, with the same minibatch order.

Choices where the spec is silent: the paper binarises the weights (w < 0.01) for display; we draw them continuously
(the binarised view hides the sign and size of the standard model's weights) and add the class-mean images as a
reference row. "Prototype-like" is measured as the Pearson correlation of each class's weight vector with the
class's mean training image; "peripheral pixels ~0" as the mean |w| on pixels that are 0 in every training image,
relative to the mean |w| on the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from repro.figure import Figure

VARIANTS = ("official", "fixed")


@dataclass(frozen=True)
class Fig5Config:
    dataset: Literal["digits", "mnist"] = "digits"
    mnist_path: str | None = None  # local mnist.npz or IDX folder; None = the hub data set (paper scale)
    variants: tuple[str, ...] = VARIANTS
    n: float | None = None  # harmonic exponent; None = sqrt(D)
    max_epochs: int = 100
    patience: int = 10
    min_delta: float = 1e-4
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    eps: float = 1e-4
    test_fraction: float = 0.2  # digits only; MNIST has its own test set
    seeds: tuple[int, ...] = (57, 58, 59)  # the paper's seed 57, then two more (our choice: n >= 3)
    shuffle_labels: bool = False  # the control: training labels permuted

    def __post_init__(self) -> None:
        if self.dataset not in ("digits", "mnist"):
            raise ValueError(f"dataset must be 'digits' or 'mnist', got {self.dataset!r}")
        if self.max_epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise ValueError("max_epochs, batch_size and patience must be >= 1")
        if not self.seeds:
            raise ValueError("need at least one seed")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")


def compute(cfg: Fig5Config) -> dict[str, Any]:
    """One training per seed (each a few seconds; the models of one seed already train together)."""
    from harmonic_loss.digit_weights import train_classifiers

    return train_classifiers(cfg)


def claims(result: dict[str, Any], cfg: Fig5Config) -> list:
    """Equal accuracy, prototype-like harmonic weights, noise-like standard weights, one value per seed: see
    :func:`harmonic_loss.digit_weights.digit_weight_claims`."""
    from harmonic_loss.digit_weights import digit_weight_claims

    return digit_weight_claims(result, cfg)


def plot(result: dict[str, Any], cfg: Fig5Config):
    import matplotlib.pyplot as plt
    import numpy as np

    from harmonic_loss.digit_weights import prototype_correlation
    from repro.plot import set_style

    set_style()
    side = result["side"]
    seeds = list(result["runs"])
    first = result["runs"][seeds[0]]
    rows = [(f"class mean\n(train, seed {seeds[0]})", first["class_means"], "gray_r")]
    names = {
        "standard": "cross-entropy",
        "official": "harmonic\n(official: d² ^ -n)",
        "fixed": "harmonic\n(fixed: d ^ -n)",
    }
    for m, model in first["models"].items():
        runs = [result["runs"][s] for s in seeds]
        accs = "/".join(f"{100 * r['models'][m]['test_acc']:.1f}" for r in runs)
        corrs = "/".join(
            f"{prototype_correlation(r['models'][m]['weights'], r['class_means']).mean():.2f}" for r in runs
        )
        label = f"{names[m]}\nacc % {accs}\ncorr {corrs}"
        rows.append((label, model["weights"], "RdBu_r" if m == "standard" else "gray_r"))
    fig, axes = plt.subplots(len(rows), 10, figsize=(10, 1.0 * len(rows) + 0.4), squeeze=False)
    for r, (label, w, cmap) in enumerate(rows):
        lim = np.abs(w).max()
        for c in range(10):
            ax = axes[r, c]
            img = w[c].reshape(side, side)
            if cmap == "RdBu_r":
                ax.imshow(img, cmap=cmap, vmin=-lim, vmax=lim)
            else:
                ax.imshow(img, cmap=cmap, vmin=min(0.0, img.min()), vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if r == 0:
                ax.set_title(str(c), fontsize=8)
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7, labelpad=8)
    data = "MNIST 28x28" if cfg.dataset == "mnist" else "sklearn digits 8x8"
    fig.suptitle(
        f"Fig. 5: one-layer weights on {data} (n = {result['n']:g}); harmonic centres are digit prototypes\n"
        f"images: seed {seeds[0]}; row labels: test accuracy and mean corr(w_c, class mean) per seed {'/'.join(seeds)}",
        fontsize=9,
    )
    fig.subplots_adjust(left=0.14, right=0.99, top=0.84, bottom=0.02, wspace=0.05, hspace=0.08)
    return fig


FIGURE = Figure(
    paper="harmonic_loss",
    id="fig5",
    title="weights of a one-layer classifier: CE vs harmonic",
    configs={
        "smoke": Fig5Config(max_epochs=3),
        "quick": Fig5Config(),
        "paper": Fig5Config(dataset="mnist"),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    variants=VARIANTS,
    est_seconds={"smoke": 4, "quick": 20, "paper": 1800},
    control=lambda cfg: replace(cfg, shuffle_labels=True),
    control_label="shuffled training labels",
)
