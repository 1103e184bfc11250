"""Fig. 3 (numbering: best guess; spec F-b, ``figures/wait_plot.pdf``): relative decoder norms of the
self-reflection latents, per model size.

Per size of the stage (``distill_features.stage``: the fig1 zoo and its fig2 crosscoders), the latents are
selected by the paper's rule (``run_wait_analysis.py``): a latent is a "Wait latent" when it fires on more than
``select_frac`` (10 %) of the largest firing count over latents at the self-reflection marker tokens ("Wait",
matched by token id, so also the verb in generic prose, as the paper's " Wait" id was). The histogram of their r
(log count) has its extreme bins (r < ``extreme``, r > 1 - ``extreme``) in red. The paper's density diagnostics
are counted on the held-out evaluation windows: latents firing at least once on a Wait token, passing the cut, and
firing on every Wait token; with a dictionary of 8 x d instead of 32,768 they are compared as fractions of the
dictionary. Beside the rule, a precision-based selection (``selected_by_precision``: at least
``precision_min`` of the latent's firings are on Wait tokens and it fires on at least ``rate_min`` of them) shows
what the count rule picks: the firing density (share of all evaluation tokens a latent fires on) of both sets.

Variants (official code vs fix):
- ``official``: the L1 crosscoder; latent activity = ReLU(x W_enc + b_enc) on RAW activations (the analysis
  skipped the training normalisation: defect 3; the raw residual norms differ from the training units by each
  size's scale, at quick about 5x smaller at d=32 and 4x larger at d=128, so the official analysis under-fires at
  small sizes and over-fires at large ones); r from L1 norms of the decoder rows (defect 5).
- ``fixed``: the BatchTopK crosscoder, activations normalised as in training (``Crosscoder.encode``, learned
  threshold), r from L2 norms.

Two checks the paper lacks: Latent Scaling (Minder et al., ``analysis.latent_scaling_crosscoder`` on the real,
normalised activations) of every extreme-r latent a selection picks, counting it "confirmed" exclusive when
max(nu_r, nu_eps) < ``ls_flag`` (NaN, i.e. never firing under the real encoding: not confirmed); and, for the
official variant, the same L1 crosscoder under the fixed analysis, which tells whether a difference between the
variants comes from the crosscoder (L1 vs BatchTopK) or from the analysis defects. The paper's "fire at least once"
count grows with the number of Wait tokens (3,565 in the paper, a few dozen in the evaluation windows here).

Choices the spec leaves open: 20 bins over [0, 1]; the extreme bins are r < 0.1 and r > 0.9 (spec: the
[0.01, 0.11] / [0.89, 0.99] bins); the "middle" size is ``size_order[len // 2]``; precision_min 0.3, rate_min 0.1; ls_flag 0.5 (fig2's).
Claims over several sizes use the minimum over sizes where the paper gives a number per size.

``latent_activations`` and ``selected_by_precision`` (also used by figs 4 and 9) live here rather than in
``analysis``: editing ``analysis`` changes the cache key of fig2, which every analysis figure loads as its stage.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from repro.figure import Figure

VARIANTS = ("official", "fixed")
# variant -> (how latent activity is computed, the norm of r): see the module docstring
ANALYSIS_OF_VARIANT = {"official": ("raw", 1), "fixed": ("normalised", 2)}
PAPER_SIZES = ("1.5B", "7B", "14B")
PAPER_DICT = 32_768
PAPER_DENSITY = {
    "fire_once": (18_356, 20_836, 16_941),
    "pass_cut": (2_214, 2_520, 1_694),
    "every": (53, 66, 31),
}


@dataclass(frozen=True)
class Fig3Config:
    select_frac: float = 0.1
    precision_min: float = 0.3
    rate_min: float = 0.1
    extreme: float = 0.1
    ls_flag: float = 0.5
    bins: int = 20
    category: str = "self_reflection"
    variants: tuple[str, ...] = VARIANTS
    stage_scale: str = "quick"  # the scale of the fig2 stage (zoo + crosscoders) analysed
    untrained_crosscoder: bool = False  # the control: the stage's crosscoders replaced by untrained ones

    def __post_init__(self) -> None:
        from distill_features.language import MARKERS

        check_selection_fields(self)
        if self.category not in MARKERS[1:]:
            raise ValueError(f"category must be one of {MARKERS[1:]}, got {self.category!r}")


def check_selection_fields(cfg: Any) -> None:
    """Validation shared by the configs of fig3 and fig4."""
    if cfg.stage_scale not in ("smoke", "quick", "paper"):
        raise ValueError(f"stage_scale must be smoke, quick or paper, got {cfg.stage_scale!r}")
    if not 0 < cfg.select_frac < 1:
        raise ValueError(f"select_frac must be in (0, 1), got {cfg.select_frac}")
    if not 0 < cfg.precision_min <= 1 or not 0 <= cfg.rate_min <= 1:
        raise ValueError("precision_min must be in (0, 1] and rate_min in [0, 1]")
    if not cfg.ls_flag > 0:
        raise ValueError(f"ls_flag must be > 0, got {cfg.ls_flag}")
    if not 0 < cfg.extreme < 0.5:
        raise ValueError(f"extreme must be in (0, 0.5), got {cfg.extreme}")
    if cfg.bins < 2:
        raise ValueError(f"bins must be >= 2, got {cfg.bins}")
    if not cfg.variants or not set(cfg.variants) <= set(VARIANTS):
        raise ValueError(f"variants must be a non-empty subset of {VARIANTS}")


ACTIVATION_MODES = ("normalised", "raw", "raw_pre_no_bias")


def latent_activations(model: Any, x_raw: Any, mode: str = "normalised", batch_size: int = 4096) -> Any:
    """Latent activations [N, F] (numpy) of a ``crosscoder.Crosscoder`` over raw activations [N, M, d].

    ``normalised``: ``model.encode`` (scaled into training units first: the crosscoder's real activations);
    ``raw``: ``model.encode_normalised`` of the raw activations, as the official analysis fed them to W_enc
    (defect 3; ReLU(x W_enc + b_enc), and for BatchTopK its threshold); ``raw_pre_no_bias``: x_raw W_enc before
    the ReLU and without b_enc, the official max-activating-example score (defect 5)."""
    import numpy as np
    import torch

    if mode not in ACTIVATION_MODES:
        raise ValueError(f"mode must be one of {ACTIVATION_MODES}, got {mode!r}")
    x = torch.as_tensor(np.asarray(x_raw)).float()
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            xb = x[s : s + batch_size]
            if mode == "normalised":
                out.append(model.encode(xb))
            elif mode == "raw":
                out.append(model.encode_normalised(xb))
            else:
                out.append(model.pre_activations(xb) - model.b_enc)
    if not out:
        return np.zeros((0, model.cfg.dict_size), dtype=np.float32)
    return torch.cat(out).numpy()


def selected_by_precision(
    enrichment: dict[str, Any], precision_min: float = 0.3, rate_min: float = 0.1
) -> Any:
    """[C, F]: latents whose firings are enriched on a class (at least ``precision_min`` of their firings fall on
    it) and that fire on at least ``rate_min`` of its tokens, from ``analysis.token_class_enrichment``. Unlike the
    paper's count rule this does not pick latents that fire everywhere."""
    import numpy as np

    prec = np.nan_to_num(enrichment["precision"], nan=0.0)
    rate = np.nan_to_num(enrichment["rate"], nan=0.0)
    return (prec >= precision_min) & (rate >= rate_min) & (np.asarray(enrichment["count"]) > 0)


def marker_selection(
    acts: Any, row_markers: Any, select_frac: float, precision_min: float, rate_min: float
) -> dict[str, Any]:
    """Per marker class (rows, ``language.MARKERS`` order) and latent: the enrichment counts, the paper's count
    rule (``selected``), the precision-based selection, and each latent's firing density over all rows."""
    import numpy as np

    from distill_features import analysis
    from distill_features.language import MARKERS

    e = analysis.token_class_enrichment(acts, row_markers, MARKERS, select_frac=select_frac)
    return {
        "count": e["count"],
        "n_class": e["n_class"],
        "selected": e["selected"],
        "precision_selected": selected_by_precision(e, precision_min, rate_min),
        "density": (np.asarray(acts) > 0).mean(0),
    }


def stage_selection(
    st: Any, size: str, variant: str, cfg: Any, analysis_of: str | None = None
) -> dict[str, Any]:
    """:func:`marker_selection` of one size's ``variant`` crosscoder under the analysis of ``analysis_of``
    (default: the same variant), with r per latent and the Latent Scaling ratio ``ls_nu`` = max(nu_r, nu_eps)
    (Minder et al.; computed on the real, normalised activations) of the extreme-r latents (``ls_latents``) that
    any reasoning class selects by either rule."""
    import numpy as np

    from distill_features import analysis
    from distill_features.language import MARKERS

    s = st.sizes[size]
    mode, p = ANALYSIS_OF_VARIANT[analysis_of or variant]
    cc = s.crosscoders[variant]
    acts = latent_activations(cc, s.eval_acts, mode)
    out = marker_selection(acts, st.row_markers(size), cfg.select_frac, cfg.precision_min, cfg.rate_min)
    r = out["r"] = analysis.relative_decoder_norm(cc.W_dec, p=p)
    rows = [i for i, m in enumerate(MARKERS) if m != "none"]
    chosen = (out["selected"][rows] | out["precision_selected"][rows]).any(0)
    lat = np.flatnonzero(chosen & ((r < cfg.extreme) | (r > 1 - cfg.extreme)))
    ls = analysis.latent_scaling_crosscoder(cc, s.eval_acts, lat.tolist()) if len(lat) else {}
    out["ls_latents"] = lat
    out["ls_nu"] = np.maximum(ls["nu_r"], ls["nu_eps"]) if len(lat) else np.zeros(0)  # NaN: cannot confirm
    return out


def confirmed(sel: dict[str, Any], latents: Any, ls_flag: float) -> int:
    """How many of ``latents`` Latent Scaling confirms as exclusive (max(nu_r, nu_eps) < ``ls_flag``)."""
    import numpy as np

    nu = dict(
        zip(np.asarray(sel["ls_latents"]).tolist(), np.asarray(sel["ls_nu"], float).tolist(), strict=True)
    )
    return int(sum(nu.get(int(j), np.nan) < ls_flag for j in np.asarray(latents).tolist()))


def density_stats(sel: dict[str, Any], c: int) -> dict[str, float]:
    """The paper's three density counts for class index ``c`` and the dictionary size."""
    import numpy as np

    count, n = np.asarray(sel["count"][c]), float(sel["n_class"][c])
    return {
        "fire_once": int((count > 0).sum()),
        "pass_cut": int(np.asarray(sel["selected"][c]).sum()),
        "every": int(((count >= n) & (n > 0)).sum()),
        "dict": int(count.shape[0]),
        "n_tokens": int(n),
    }


def extreme_counts(r: Any, extreme: float) -> tuple[int, int]:
    """(# latents with r < extreme, # with r > 1 - extreme)."""
    import numpy as np

    r = np.asarray(r, dtype=float)
    return int((r < extreme).sum()), int((r > 1 - extreme).sum())


def compute(cfg: Fig3Config) -> dict[str, Any]:
    import torch

    from distill_features import controls, stage
    from distill_features.language import MARKERS

    torch.set_num_threads(1)
    st = stage.load(cfg.stage_scale)
    out: dict[str, Any] = {"size_order": list(st.size_order), "classes": list(MARKERS), "sizes": {}}
    out["crosscoder_ev"] = controls.prepare(st, cfg.untrained_crosscoder)
    for size in st.size_order:
        out["sizes"][size] = {v: stage_selection(st, size, v, cfg) for v in cfg.variants}
        if "official" in cfg.variants:  # which defect moves the counts: the L1 crosscoder, analysed correctly
            out["sizes"][size]["official_fixed_analysis"] = stage_selection(
                st, size, "official", cfg, "fixed"
            )
        out["sizes"][size]["n_rows"] = len(st.sizes[size].eval_acts)
    return out


RED, BLUE = "#c44e52", "#4c72b0"


def r_histogram(ax: Any, r: Any, r_precision: Any, cfg: Any, title: str) -> None:
    """Histogram (log count) of r of the rule-selected latents, extreme bins red; the precision-selected latents
    as a black outline."""
    import numpy as np
    from matplotlib.patches import Patch

    edges = np.linspace(0, 1, cfg.bins + 1)
    counts, _ = np.histogram(np.asarray(r, dtype=float), edges)
    centres = (edges[:-1] + edges[1:]) / 2
    colours = [RED if (c < cfg.extreme or c > 1 - cfg.extreme) else BLUE for c in centres]
    ax.bar(centres, counts, width=edges[1] - edges[0], color=colours, edgecolor="white", lw=0.4)
    pc, _ = np.histogram(np.asarray(r_precision, dtype=float), edges)
    ax.stairs(pc, edges, color="k", lw=1.2)
    ax.set_yscale("log")
    ax.set_ylim(0.5, max(2.0, counts.max(initial=1), pc.max(initial=1)) * 3)
    ax.set_xlim(0, 1)
    ax.set(xlabel="relative decoder norm r", ylabel="latents (log)")
    ax.set_title(title, fontsize=8)
    handles = [Patch(color=BLUE, label=f"paper rule ({len(r)})"), Patch(color=RED, label="extreme bins"),
               Patch(facecolor="none", edgecolor="k", label=f"precision selection ({len(r_precision)})")]  # fmt: skip
    ax.legend(handles=handles, fontsize=6, loc="upper center", ncol=2)


def hist_title(head: str, q: dict[str, Any], cfg: Any) -> str:
    """Panel title: the rule's extreme-bin counts (Latent-Scaling-confirmed in brackets), the precision
    selection's, and for the official variant the same crosscoder analysed correctly."""
    lo, hi = f"r<{cfg.extreme:g}", f"r>{1 - cfg.extreme:g}"
    text = (f"{head}\nrule {lo}: {q['low']} ({q['low_confirmed']} LS-conf.), {hi}: {q['high']} "
            f"({q['high_confirmed']} LS-conf.)\nprecision {lo}/{hi}: {q['prec_low']}/{q['prec_high']}")  # fmt: skip
    if "cc_fixed_low" in q:
        text += f"; correct analysis: {q['cc_fixed_low']}/{q['cc_fixed_high']}"
    return text


def _class(result: dict[str, Any], cfg: Fig3Config) -> int:
    return result["classes"].index(cfg.category)


def _variants(result: dict[str, Any]) -> list[str]:
    first = result["sizes"][result["size_order"][0]]
    return [v for v in VARIANTS if v in first]


def selection_counts(sel: dict[str, Any], c: int, cfg: Any) -> dict[str, Any]:
    """For class ``c``: the extreme-bin counts of the rule and the precision selection, how many of the rule's
    extremes Latent Scaling confirms, and the firing densities of each set."""
    import numpy as np

    rule = np.asarray(sel["selected"][c], bool)
    prec = np.asarray(sel["precision_selected"][c], bool)
    r, dens = np.asarray(sel["r"], float), np.asarray(sel["density"], float)
    lo, hi = extreme_counts(r[rule], cfg.extreme)
    plo, phi = extreme_counts(r[prec], cfg.extreme)
    return {
        "n_rule": int(rule.sum()), "n_prec": int(prec.sum()),
        "low": lo, "high": hi, "prec_low": plo, "prec_high": phi,
        "low_confirmed": confirmed(sel, np.flatnonzero(rule & (r < cfg.extreme)), cfg.ls_flag),
        "high_confirmed": confirmed(sel, np.flatnonzero(rule & (r > 1 - cfg.extreme)), cfg.ls_flag),
        "density_rule": dens[rule], "density_prec": dens[prec], "density_all": dens,
    }  # fmt: skip


def summary(result: dict[str, Any], cfg: Fig3Config) -> dict[str, dict[str, Any]]:
    """Per "size/variant": the density counts and :func:`selection_counts`; for the official variant also the
    counts of the same crosscoder analysed correctly (``cc_fixed_*``)."""
    c = _class(result, cfg)
    out = {}
    for size in result["size_order"]:
        for v in _variants(result):
            sel = result["sizes"][size][v]
            q = {**density_stats(sel, c), **selection_counts(sel, c, cfg)}
            if v == "official" and "official_fixed_analysis" in result["sizes"][size]:
                alt = selection_counts(result["sizes"][size]["official_fixed_analysis"], c, cfg)
                q.update({f"cc_fixed_{k}": alt[k] for k in ("n_rule", "low", "high")})
            out[f"{size}/{v}"] = q
    return out


def indicators(sel: dict[str, Any], c: int, cfg: Any) -> dict[str, Any]:
    """Per latent (bool arrays over the dictionary) for class ``c``: rule / precision selection in each extreme
    bin, Latent-Scaling-confirmed rule extremes, and the paper's three density tests: what the count claims sum."""
    import numpy as np

    rule = np.asarray(sel["selected"][c], bool)
    prec = np.asarray(sel["precision_selected"][c], bool)
    r = np.asarray(sel["r"], float)
    count, n = np.asarray(sel["count"][c]), float(sel["n_class"][c])
    nu = np.full(len(r), np.nan)
    nu[np.asarray(sel["ls_latents"], int)] = np.asarray(sel["ls_nu"], float)
    high, low = r > 1 - cfg.extreme, r < cfg.extreme
    return {
        "high": rule & high, "low": rule & low, "prec_high": prec & high,
        "high_confirmed": rule & high & (nu < cfg.ls_flag),
        "fire_once": count > 0, "pass_cut": rule, "every": (count >= n) & (n > 0),
    }  # fmt: skip


def ratio_of_medians_interval(a: Any, b: Any, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of median(a) / median(b), the two samples resampled independently."""
    import numpy as np

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    ma = np.median(a[rng.integers(0, len(a), (2000, len(a)))], 1)
    mb = np.median(b[rng.integers(0, len(b), (2000, len(b)))], 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = np.nanpercentile(ma / mb, [2.5, 97.5])
    return (float(lo), float(hi))


def _median(x: Any) -> float:
    import numpy as np

    return float(np.median(x)) if len(x) else float("nan")


def plot(result: dict[str, Any], cfg: Fig3Config) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from repro.plot import set_style

    set_style()
    c = _class(result, cfg)
    s = summary(result, cfg)
    names, variants = result["size_order"], _variants(result)
    ncol = len(names) + 2
    fig, axes = plt.subplots(len(variants), ncol, figsize=(3.3 * ncol, 3.3 * len(variants)), squeeze=False)
    for i, v in enumerate(variants):
        how = "L1 r, raw x into W_enc" if v == "official" else "L2 r, normalised x"
        for j, size in enumerate(names):
            sel = result["sizes"][size][v]
            r = np.asarray(sel["r"], float)
            q = s[f"{size}/{v}"]
            r_histogram(axes[i, j], r[np.asarray(sel["selected"][c], bool)],
                        r[np.asarray(sel["precision_selected"][c], bool)], cfg,
                        hist_title(f"[{v}] {size} ({how})", q, cfg))  # fmt: skip
        ax = axes[i, len(names)]
        x = np.arange(len(names))
        w = 0.27
        for k, (key, label) in enumerate((("fire_once", "fire >= once on Wait"), ("pass_cut", "pass 10 % cut"),
                                          ("every", "fire on every Wait"))):  # fmt: skip
            ours = [s[f"{n}/{v}"][key] / s[f"{n}/{v}"]["dict"] for n in names]
            ax.bar(x + (k - 1) * w, ours, w, color=f"C{k}", label=label)
            paper = [p / PAPER_DICT for p in PAPER_DENSITY[key]]
            ax.scatter(
                x[: len(paper)] + (k - 1) * w, paper[: len(names)], marker="_", s=200, color="k", zorder=3
            )
        ax.set_yscale("log")
        ax.set_ylim(1e-4, 1.5)
        ax.set(xticks=x, xticklabels=names, ylabel="fraction of the dictionary",
               title=f"[{v}] density ({s[f'{names[0]}/{v}']['n_tokens']} Wait tokens; paper 3,565)\n"
                     "black dashes: paper 1.5B / 7B / 14B")  # fmt: skip
        ax.legend(fontsize=6, loc="lower left")
        ax = axes[i, len(names) + 1]
        data = [
            np.concatenate([s[f"{n}/{v}"][k] for n in names])
            for k in ("density_all", "density_rule", "density_prec")
        ]
        data = [d[d > 0] if len(d[d > 0]) else np.array([np.nan]) for d in data]
        ax.boxplot(data, tick_labels=["all firing latents", "paper rule", "precision"], showfliers=False)
        ax.set_yscale("log")
        ax.set(ylabel="share of eval tokens the latent fires on",
               title=f"[{v}] firing density of selected latents\n(all sizes pooled)")  # fmt: skip
    fig.suptitle(
        f"Wait-token ({cfg.category}) latents: r of the latents the paper's count rule selects, per size (red: "
        f"extreme bins; LS-conf.: Latent Scaling max(nu_r, nu_eps) < {cfg.ls_flag:g}; correct analysis: the "
        "official L1 crosscoder with normalised input and L2 r)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def claims(result: dict[str, Any], cfg: Fig3Config) -> list:
    """What the paper shows (spec F-b): the Wait latents' r histogram has a populated r≈1 (distilled-exclusive)
    bin at 7B and a populated r≈0 (base-side) bin at 14B (read off ``wait_plot.pdf``), i.e. self-reflection
    latents exclusive to one model; and (official outputs) its L1 crosscoder is dense: 56 / 64 / 52 % of the
    dictionary fire at least once on a " Wait" token, 6.8 / 7.7 / 5.2 % pass the 10 % cut, 53 / 66 / 31 latents fire
    on every one. Counts of latents passing a threshold move when float rounding moves one latent across a cut,
    so every count has a 95 % bootstrap interval over the dictionary's latents (one crosscoder per size, as in the
    paper). The density criteria describe the paper's L1 crosscoder; for the BatchTopK crosscoder (fixed) the
    claim is the fix's: far fewer latents fire on Wait than the paper's 56 %. Preconditions: the crosscoder
    reconstructs (EV) and the evaluation windows contain Wait tokens.
    """
    import numpy as np

    from distill_features.verdicts import count_interval, crosscoder_precondition, markers_precondition
    from repro.claims import Claim, bootstrap_interval, official_code, our_choice, read_off_plot

    c = _class(result, cfg)
    s = summary(result, cfg)
    names = result["size_order"]
    mid, big = names[len(names) // 2], names[-1]
    hi, lo = f"r > {1 - cfg.extreme:g}", f"r < {cfg.extreme:g}"
    plot_src = "figures/wait_plot.pdf (spec F-b)"
    dens_src = "run_wait_analysis.py outputs, notebooks/figures.ipynb cell 2 @ 0f9e477"
    out = []
    for v in _variants(result):
        ind = {n: indicators(result["sizes"][n][v], c, cfg) for n in names}
        pre = {n: (crosscoder_precondition(result.get("crosscoder_ev"), f"{n}/{v}"),
                   markers_precondition(s[f"{n}/{v}"]["n_tokens"], f"{n} evaluation windows (Wait)"))
               for n in names}  # fmt: skip
        every_pre = tuple(p for n in names for p in pre[n])

        def count(
            stmt: str, key: str, sizes: list[str], paper: Any, ind=ind, v=v, pre=pre, every_pre=every_pre
        ) -> Claim:  # noqa: E501
            x = np.concatenate([ind[n][key] for n in sizes])
            return Claim(stmt, (float(x.sum()),), ">=", 1, paper=paper, variant=v, interval=count_interval(x),
                         spread=f"bootstrap over {len(x)} latents", preconditions=every_pre if len(sizes) > 1
                         else pre[sizes[0]])  # fmt: skip

        out += [
            count(f"{mid} (middle size): Wait latents (paper rule) in the {hi} bin", "high", [mid],
                  read_off_plot("r≈1 bin populated (7B)", plot_src)),
            count(f"{big} (largest size): Wait latents (paper rule) in the {lo} bin", "low", [big],
                  read_off_plot("r≈0 bin populated (14B)", plot_src)),
            count(f"Wait latents (paper rule) in the {hi} bin, all sizes together", "high", names,
                  read_off_plot("yes (7B)", plot_src)),
            count(f"Wait latents (precision selection) in the {hi} bin, all sizes together", "prec_high", names,
                  our_choice(None, "the fix's selection: the paper did not compute it")),
            count(f"Wait latents (paper rule, {hi}) that Latent Scaling confirms (max(nu_r, nu_eps) < "
                  f"{cfg.ls_flag:g}), all sizes together", "high_confirmed", names,
                  our_choice(None, "Minder et al.'s check; the paper did not run it")),
        ]  # fmt: skip
        for i, n in enumerate(names):
            paper_size = PAPER_SIZES[min(i, len(PAPER_SIZES) - 1)]
            if v == "official":  # the paper's density criteria, for the L1 crosscoder they describe
                for key, what, bound in (("fire_once", "firing at least once on a Wait token", 0.5),
                                         ("pass_cut", "passing the 10 % cut", 0.05)):  # fmt: skip
                    x = ind[n][key].astype(float)
                    p = PAPER_DENSITY[key][min(i, 2)]
                    out.append(Claim(f"{n} (L1 crosscoder): fraction of the dictionary {what}", (x.mean(),), ">",
                                     bound, variant=v, interval=bootstrap_interval(x), preconditions=pre[n],
                                     spread=f"bootstrap over {len(x)} latents",
                                     paper=official_code(f"{p / PAPER_DICT:.3f} ({p:,} / 32,768, {paper_size})",
                                                         dens_src)))  # fmt: skip
                out.append(
                    count(
                        f"{n} (L1 crosscoder): latents firing on every Wait token",
                        "every",
                        [n],
                        official_code(f"{PAPER_DENSITY['every'][min(i, 2)]} ({paper_size})", dens_src),
                    )
                )
            else:  # BatchTopK: the fix's claim, that the density was an artifact
                x = ind[n]["fire_once"].astype(float)
                p = PAPER_DENSITY["fire_once"][min(i, 2)] / PAPER_DICT
                out.append(Claim(f"{n} (BatchTopK crosscoder): fraction of the dictionary firing at least once on "
                                 "a Wait token, below the paper's L1 density", (x.mean(),), "<", round(p, 3),
                                 variant=v, interval=bootstrap_interval(x), preconditions=pre[n],
                                 spread=f"bootstrap over {len(x)} latents",
                                 paper=official_code(f"{p:.3f} (L1, {paper_size})", dens_src)))  # fmt: skip
        rule = np.concatenate([s[f"{n}/{v}"]["density_rule"] for n in names])
        prec = np.concatenate([s[f"{n}/{v}"]["density_prec"] for n in names])
        ratio = _median(rule) / _median(prec) if len(prec) and _median(prec) > 0 else float("nan")
        out.append(Claim("the paper's rule selects denser latents than the precision selection (median firing "
                         "density ratio, sizes pooled; NaN if nothing passes the precision selection)", (ratio,), ">",
                         1, variant=v, interval=ratio_of_medians_interval(rule, prec), preconditions=every_pre,
                         spread=f"bootstrap over {len(rule)} / {len(prec)} selected latents",
                         paper=our_choice(None, "the fix's diagnosis of the density the paper notes")))  # fmt: skip
    return out


FIGURE = Figure(
    paper="distill_features",
    id="fig3",
    title="Relative decoder norms of self-reflection (Wait) latents by model size (numbering: best guess)",
    configs={
        "smoke": Fig3Config(stage_scale="smoke"),
        "quick": Fig3Config(),
        "paper": Fig3Config(stage_scale="paper"),
    },
    compute=compute,
    plot=plot,
    claims=claims,
    variants=VARIANTS,
    est_seconds={"smoke": 5, "quick": 30, "paper": 600},
    device={"smoke": "cpu", "quick": "cpu", "paper": "cuda"},
    aliases=("self_reflection_by_size",),
    control=lambda cfg: dataclasses.replace(cfg, untrained_crosscoder=True),
    control_label="the stage's crosscoders replaced by untrained ones",
)
