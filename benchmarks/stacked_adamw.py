"""StackedAdamW's packed update (every parameter as one flat vector) against its update parameter by parameter.

    uv run python benchmarks/stacked_adamw.py [--steps 400] [--repeats 2]

Trains, one torch thread, each workload twice per repeat from the same start: with ``StackedAdamW._update`` (the
packed update, the default) and with ``_update_per_parameter`` (the baseline). Prints the time per step of each, the
ratio, and whether the trained parameters are bitwise equal (they must be: the same arithmetic per element).

- ``harmonic fig4``: Fig. 4's 18 toy MLPs (6 tensors each), one stack, batch 32 (``harmonic_loss.toy_train``);
- ``distill zoo d32`` / ``d128``: a tiny Qwen2 of the zoo pre-trained with ``repro.lm_train.fit`` (27 tensors);
- ``graph tiny LM``: a ``graph_universality`` tiny GPT-NeoX trained with ``tinylm.train_lm``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from bitwise import equal  # benchmarks/bitwise.py (a script's folder is on sys.path)


def _harmonic_fig4(steps: int):
    from harmonic_loss.figures import fig4

    cfg = fig4.QUICK
    epochs = max(1, steps // 25)  # 800 training rows, batch 32: 25 steps an epoch

    def run():
        r = fig4.compute(dataclasses.replace(cfg, epochs=epochs))
        return r["emb"], epochs * 25

    return run


def _zoo(width_index: int, steps: int):
    from distill_features import pairs, zoo
    from distill_features.stages import ZOO_CONFIGS
    from repro.lm_train import fit

    cfg = ZOO_CONFIGS["quick"]
    tok, _, corpora = zoo._replicate_data(cfg, 0)
    pcfg = cfg.pair_config(width_index, 0)

    def run():
        m = pairs.new_model(pcfg, corpora.vocab_size)
        fit(
            m,
            corpora.base_ids,
            corpora.base_mask,
            corpora.base_mask,
            steps,
            pcfg.batch_size,
            pcfg.lr,
            0.01,
            0,
        )
        return [p.detach().clone() for p in m.parameters()], steps

    return run


def _tiny_lm(steps: int):
    from graph_universality import llm_arm, tinylm
    from graph_universality.stages import TINY_LMS

    cfg = dataclasses.replace(TINY_LMS.configs["quick"], steps=steps)

    def run():
        data = llm_arm.tree_text(cfg)
        lm_cfg = llm_arm._lm_config(cfg, 0)
        m = tinylm.new_model(lm_cfg, len(data.tok))
        tinylm.train_lm(m, data.ids, data.mask, lm_cfg)
        return [p.detach().clone() for p in m.parameters()], steps

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    import torch

    from repro.stack import StackedAdamW

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    packed = StackedAdamW._update
    workloads = {
        "harmonic fig4 (18 MLPs)": _harmonic_fig4(args.steps),
        "distill zoo d32": _zoo(0, args.steps),
        "distill zoo d128": _zoo(2, args.steps // 4),
        "graph tiny LM": _tiny_lm(args.steps),
    }
    print(f"{'workload':26s} {'per-parameter':>14s} {'packed':>10s} {'ratio':>7s}  bitwise equal")
    for name, run in workloads.items():
        best = {"per-parameter": float("inf"), "packed": float("inf")}
        out = {}
        for _ in range(args.repeats):
            for label, update in (("per-parameter", StackedAdamW._update_per_parameter), ("packed", packed)):
                StackedAdamW._update = update
                t = time.perf_counter()
                out[label], steps = run()
                best[label] = min(best[label], (time.perf_counter() - t) / steps * 1e3)
        StackedAdamW._update = packed
        a, b = best["per-parameter"], best["packed"]
        same = equal(out["per-parameter"], out["packed"])
        print(f"{name:26s} {a:11.2f} ms {b:7.2f} ms {a / b:6.2f}x  {same}", flush=True)


if __name__ == "__main__":
    main()
