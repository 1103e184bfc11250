"""Panels of Figs. 1-4 in their own plotting module (keeps the figure files short; no analysis here)."""

from __future__ import annotations

from typing import Any

LABELS = ("lstsq", "procrustes", "affine\n(trained)", "almost\naffine", "lstsq mod\nautomorph.")
LABELS += ("affine mod\nautomorph.", "R² lstsq", "CKA", "receiver\nheld-out F1")


def toy_cone_spread(fig: Any, spec: Any, result: dict[str, Any], variants: Any) -> None:
    """Fig. 1: the claimed quantities per run: train F1 and cone / linear probe held-out F1, per variant (points = runs)."""
    from graph_universality.figures._common import PALETTE
    from graph_universality.spread import seed_panel
    from graph_universality.toy_cones import TREES, runs_of

    ax1, ax2 = spec.subgridspec(1, 2, width_ratios=[1, 2]).subplots()
    fit = {f"{v}\n{k}": [r["train_f1"] for r in runs_of(result, v, k)] for v in variants for k in TREES}
    hue = {g: g.split("\n")[0] for g in fit}
    seed_panel(ax1, fit, hue, PALETTE, {"F1 = 1": 1.0}, "toy MLP train F1")
    ax1.set_title("(fit) one point per seed; mean and 95 % CI", fontsize=7.5)
    probes = {}
    for v in variants:
        fitted = [r for r in runs_of(result, v) if r["train_f1"] == 1.0]
        probes[f"{v}\ncone (fitted)"] = [r["cone_test_f1"] for r in fitted]
        probes[f"{v}\nlinear (fitted)"] = [r["linear_test_f1"] for r in fitted]
    hue = {g: g.split("\n")[0] for g in probes}
    seed_panel(ax2, probes, hue, PALETTE, {"claim: cone >= 0.95": 0.95}, "probe held-out F1")
    ax2.set_ylim(0, 1.05)
    ax2.set_title("(probes) on runs that fit the tree (both tree shapes); one point per run", fontsize=7.5)


def generalisation_panels(ax: Any, axc: Any, r: dict[str, Any], cfg: Any, variant: str) -> None:
    """Fig. 2, one recipe: held-out F1 vs links trained on (left), composed links (right)."""
    import matplotlib.pyplot as plt
    import numpy as np

    from graph_universality.figures._common import errorbar_points
    from graph_universality.generalisation import select

    colours = plt.get_cmap("tab10")
    for c, (k, d) in enumerate((k, d) for k in cfg.n_relations for d in cfg.emb_dims):
        sel = [select(r, mode="heldout", train_frac=f, n_relations=k, emb_dim=d) for f in cfg.train_fracs]
        label, pdx = f"{k} relation(s), emb {d}", 0.006 * (c - 1.5)
        errorbar_points(ax, cfg.train_fracs, [r["test_f1"][m] for m in sel], colours(c), label, point_dx=pdx)
        ax.plot(cfg.train_fracs, [np.mean(r["train_f1"][m]) for m in sel], ls=":", color=colours(c), lw=1)
    chance = np.mean(r["chance_f1"][select(r, mode="heldout")])
    ax.axhline(chance, color="grey", ls="--", lw=1, label=f"chance F1 = positive rate ({chance:.2f})")
    # a rule on Y learned from the training links (X never read), mean over runs
    rule = [np.mean(r["y_rule_f1"][select(r, mode="heldout", train_frac=f)]) for f in cfg.train_fracs]
    ax.plot(cfg.train_fracs, rule, color="k", ls="-.", lw=1, label="rule on Y alone (held out)")
    ax.set(xlabel="fraction of links trained on", ylabel="descendant F1 (solid: held-out, dotted: train)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=6.5)
    ax.set_title(
        f"[{variant} recipe] held-out links, {cfg.n_nodes}-node random tree; points = {len(cfg.seeds)} seeds, "
        "bars = mean, 95 % CI",
        fontsize=8,
    )
    comp = select(r, mode="composition")
    if comp.any():
        for i, d in enumerate(cfg.emb_dims):
            v = r["test_f1"][comp & (r["emb_dim"] == d)]
            axc.scatter(np.full(len(v), i), v, color=colours(i), s=20)
            axc.bar(i, v.mean(), color=colours(i), alpha=0.4)
        axc.axhline(np.mean(r["chance_f1"][comp]), color="grey", ls="--", lw=1, label="chance")
        axc.set_xticks(range(len(cfg.emb_dims)), [f"emb {d}" for d in cfg.emb_dims])
        axc.set(ylim=(0, 1.05), ylabel="held-out F1 on composed links")
        axc.legend(fontsize=6.5)
    held = f"[{variant}] composition split: {int(cfg.comp_test_frac * 100)} % of composed links"
    axc.set_title(held + "\n(grandparent, descendant) held out;\none-step facts all trained", fontsize=8)


def equivalence_panels(
    fig: Any, gs: Any, row: int, result: dict[str, Any], n_nodes: int, variant: str
) -> None:
    """Fig. 3, one recipe: the cell table and cross-width matrices in grid row ``row``, the distributions over
    pairs in row ``row + 1``."""
    import numpy as np

    from graph_universality.figures._common import annotated_heatmap, box_with_points
    from graph_universality.universality import METHODS, cell_table, pair_distributions, width_matrix

    rows = cell_table(result)
    ax = fig.add_subplot(gs[row, :2])
    cols = [*METHODS, "r2", "cka", "receiver_test_f1"]
    mat = np.array([[r[c] for c in cols] for r in rows])
    annotated_heatmap(ax, np.clip(mat, 0, 1.2), 6.5, aspect="auto")
    ax.set_xticks(range(len(cols)), LABELS)
    marks = [("  ✓" if r["supported"] else "") + ("  ✓aut" if r["supported_aut"] else "") for r in rows]
    trivial = [r["emb_dim"] >= n_nodes - 1 for r in rows]
    marks = ["  (trivial: d >= N-1)" if t else m for m, t in zip(marks, trivial, strict=True)]
    cells = [f"{r['n_relations']} rel, wd {r['weight_decay']:g}, emb {r['emb_dim']}" for r in rows]
    ax.set_yticks(range(len(rows)), [c + m for c, m in zip(cells, marks, strict=True)])
    relabelled = float(np.mean(result["pairs"]["automorphism"] != 0))
    ax.set_title(
        f"[{variant} recipe] median equivalence score over seed pairs (stitched / receiver held-out F1)\n✓ = "
        f"supported (trained affine >= 0.95); ✓aut = supported modulo the tree's {int(result['n_automorphisms'])} "
        f"automorphisms ({relabelled:.0%} of pairs re-labelled)",
        fontsize=7.5,
    )
    r = result["runs"]  # cross-width matrices for the trained affine map
    dims = sorted(set(int(d) for d in r["emb_dim"]))
    combos = sorted({(int(a), float(b)) for a, b in zip(r["n_relations"], r["weight_decay"], strict=True)})
    sub = gs[row, 2].subgridspec(len(combos), 1)
    for ci, (k, wd) in enumerate(combos):
        axm = fig.add_subplot(sub[ci])
        annotated_heatmap(axm, width_matrix(result, k, wd, dims), 5.5)
        axm.set_xticks(range(len(dims)), dims if ci == len(combos) - 1 else [""] * len(dims))
        axm.set_yticks(range(len(dims)), dims)
        axm.set_ylabel(f"{k} rel, wd {wd:g}\nsender emb", fontsize=6)
        if ci == 0:
            axm.set_title(f"[{variant}] trained affine, sender x receiver width", fontsize=7)
        if ci == len(combos) - 1:
            axm.set_xlabel("receiver emb", fontsize=6)
    axd = fig.add_subplot(gs[row + 1, :])  # distributions: controls vs pairs (informative widths only)
    box_with_points(axd, pair_distributions(result, n_nodes))  # every pair (or run) as a point
    axd.axhline(0.95, color="k", ls="--", lw=0.8, label="criterion 0.95")
    axd.set_ylabel("equivalence score")
    axd.set_title(
        f"[{variant}] distributions over pairs with sender emb < {n_nodes - 1} (informative widths)",
        fontsize=8,
    )
    axd.tick_params(axis="x", labelsize=6)
    axd.legend(loc="lower right")


def lm_mlp_panel(ax: Any, res: dict[str, Any]) -> None:
    """Fig. 3, LLM -> MLP: equivalence of every (LM seed, receiver) pair per sender kind and receiver width."""
    from graph_universality.lm_mlp import SENDERS
    from graph_universality.spread import seed_panel

    groups = {
        f"{kind}\nd = {d}": res["equivalence"][(res["sender"] == kind) & (res["emb_dim"] == d)]
        for kind in SENDERS
        for d in sorted(set(res["emb_dim"].tolist()))
    }
    palette = {"trained": "#4C72B0", "untrained": "#DD8452", "random": "#937860"}
    seed_panel(
        ax, groups, {g: g.split("\n")[0] for g in groups}, palette, {"criterion 0.95": 0.95}, "equivalence"
    )
    ax.set_title(
        "LLM -> MLP: tiny-LM node vectors (PCA to the receiver's width), trained affine map into toy MLPs\n"
        "senders: trained LM, the same LM untrained, Gaussian vectors (one point per LM seed x receiver seed)",
        fontsize=7.5,
    )


def mlp_lm_panel(ax: Any, res: dict[str, Any]) -> None:
    """Fig. 3, MLP -> LLM: equivalence of every (LM, MLP sender) pair per sender kind and width, and how much the
    LMs' held-out F1 drops when X's vector is zeroed at the site (the precondition)."""
    import numpy as np

    from graph_universality.spread import seed_panel

    groups = {
        f"{kind}\nd = {d}": res["equivalence"][(res["sender"] == kind) & (res["emb_dim"] == d)]
        for kind in ("trained", "random")
        for d in sorted(set(res["emb_dim"].tolist()))
    }
    palette = {"trained": "#4C72B0", "random": "#937860"}
    seed_panel(
        ax, groups, {g: g.split("\n")[0] for g in groups}, palette, {"criterion 0.95": 0.95}, "equivalence"
    )
    drop = [
        res["own_f1"][res["lm_seed"] == s][0] - res["zeroed_f1"][res["lm_seed"] == s][0]
        for s in np.unique(res["lm_seed"])
    ]
    ax.set_title(
        "MLP -> LLM: toy-MLP (or Gaussian) node vectors\nas X's input to the tiny LMs. Own held-out F1\n"
        f"minus F1 with X zeroed: {', '.join(f'{d:+.2f}' for d in drop)} (precondition > 0)",
        fontsize=7.5,
    )


def stitch_panel(ax: Any, result: dict[str, Any], cuts: Any, paper_cuts: Any) -> None:
    """Fig. 4 (c): relative held-out loss degradation vs cut depth of every trained stitch, baseline and reference
    (dotted), and at paper scale the official LM pairs."""
    kinds = {"[zero]": ("C0", "trained, zero init"), "[lstsq]": ("C1", "trained, lstsq init")}
    kinds |= {"stitch]": ("C3", "zero stitch"), "untrained]": ("C2", "lstsq closed form (untrained)")}
    kinds |= {"scratch]": ("C4", "receiver from scratch (trained)")}
    seen = set()
    for k, v in {**result["stitch"], **result.get("stitch_baselines", {})}.items():
        colour, label = ("C7", "random sender") if k.startswith("random") else kinds[k.split()[-1]]
        ls = ":" if k.endswith(("stitch]", "untrained]", "scratch]")) else "-"
        label = None if label in seen else label
        ax.plot(cuts, v, marker="o", ls=ls, color=colour, alpha=0.7, label=label)
        seen.add(label)
    for k, v in result.get("paper_stitch", {}).items():  # paper scale: the official LMs on The Pile
        ax.plot(paper_cuts, v["degradation"], marker="s", ls="--", label=k.replace(">", " -> "))
    ax.axhline(0, color="k", lw=0.8)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set(xlabel="cut depth c (same relative depth in both)", ylabel="relative loss degradation vs receiver")
    ax.legend(fontsize=6.5, loc="center left")
