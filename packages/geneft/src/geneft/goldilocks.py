"""The Goldilocks zone of decoder complexity (Fig. 7, App. E): test accuracy against decoder depth and width.

All widths of one depth train as one stack (narrower decoders zero-padded to the widest, which is exact: see
:func:`geneft.model.init_params`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def depth_width_scan(
    depths: tuple[int, ...],
    widths: tuple[int, ...],
    seeds: tuple[int, ...],
    fraction: float,
    steps: int,
    lr: float,
    eval_every: int,
) -> dict[str, Any]:
    """Test and train accuracy of mod-3 networks (concat, tanh) per decoder depth and width, ``[depths, widths,
    seeds]``; early exit once every pair is right."""
    from geneft.model import Arch
    from geneft.train import Runs, train_stack
    from repro.progress import track

    test = np.zeros((len(depths), len(widths), len(seeds)))
    train = np.zeros_like(test)
    # one stack per depth: every width x seed, narrower decoders zero-padded to the widest (exact, see
    # geneft.model.init_params), so a step pays the Python overhead once for all widths
    cells = [(w, s) for w in widths for s in seeds]
    runs = Runs.grid(seeds=[s for _, s in cells], fractions=fraction, lr_enc=lr, lr_dec=lr, wd_dec=0.0)
    for i, depth in enumerate(track(depths, "fig7: depths (all widths stacked)")):
        arch = Arch(mode=1, depth=depth, width=max(widths))
        res = train_stack(
            "mod3",
            arch,
            runs,
            steps,
            eval_every=eval_every,
            stop="perfect",
            widths=[w for w, _ in cells],
        )
        test[i] = res["test_acc"].reshape(len(widths), len(seeds))
        train[i] = res["train_acc"].reshape(len(widths), len(seeds))
    return {
        "depths": np.array(depths),
        "widths": np.array(widths),
        "test_acc": test,
        "train_acc": train,
    }
