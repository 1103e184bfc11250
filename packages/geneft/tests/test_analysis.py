"""The figures' analysis, called directly: phase grids (Figs. 5, 6, 8), the frontier (Fig. 6), the closure (Fig. 2,
Tables), repon clustering (Fig. 4), the Goldilocks margins (Fig. 7), the tables' rows, and the lr-sweep stage's configs."""

import dataclasses

import numpy as np
import pytest

from geneft import closure, frontier, goldilocks, paper_tables, phase, repons
from geneft.stages import LR_SWEEP, LrSweepConfig


def test_cell_phase_takes_the_majority_and_breaks_ties_to_the_better_phase():
    ph = np.array([[[0, 2, 2], [3, 1, 3]], [[0, 2, 1], [1, 0, 2]]])  # [enc, dec, seeds]
    assert phase.cell_phase(ph).tolist() == [[2, 3], [0, 0]]


def test_ratio_diagonals_group_cells_of_one_ratio():
    enc, dec = np.array([1e-3, 1e-2]), np.array([1e-3, 1e-2])
    ph = np.zeros((2, 2, 2), int)
    ph[0, 1] = 2  # enc 1e-3, dec 1e-2: ratio 0.1 memorises
    ph[1, 1, 1] = 3  # one seed of a ratio-1 cell is confused
    t_train = np.zeros((2, 2, 2), int)
    t_train[1, 1, 1] = -1
    d = phase.ratio_diagonals({"enc": enc, "dec": dec, "phase": ph, "t_train": t_train})
    np.testing.assert_allclose(d["ratio"], [0.1, 1.0, 10.0])
    assert d["n_cells"].tolist() == [1, 2, 1]
    assert d["p_good"].tolist() == [[0, 0], [1, 0.5], [1, 1]]
    assert d["trained"].tolist() == [1.0, 0.75]


def test_weight_decay_boundary_and_speedup():
    ph = np.array([[[0, 0], [2, 2]], [[1, 0], [2, 0]]])  # [wd, dec, seeds]
    assert phase.boundary_agreement(ph).tolist() == [1.0, 0.5]
    t = np.array([[[100, -1], [200, -1]], [[50, 80], [100, -1]]])
    speed = phase.crossing_speedup(t)
    assert speed[0] == pytest.approx(0.5) and np.isnan(speed[1])


def test_lr_grid_claims_read_the_ratio_bands():
    enc = dec = np.logspace(-3, -1, 3)  # ratios 1e-2 .. 1e2
    ratio = dec[None, :] / enc[:, None]
    ph = np.where(ratio <= 3.5, 0, 2)[..., None].repeat(2, -1)  # [enc, dec, seeds]
    t_train = np.zeros_like(ph)
    result = {"adam": {"enc": enc, "dec": dec, "phase": ph, "t_train": t_train}}
    claims = phase.lr_sweep_claims(result, ("adam",))
    assert [c.verdict for c in claims[:3]] == ["reproduced"] * 3
    assert claims[3].statement.startswith("confusion") and claims[3].verdict != "reproduced"
    untrained = {"adam": {**result["adam"], "t_train": np.full_like(ph, -1)}}
    assert all(c.verdict == "not reached" for c in phase.lr_sweep_claims(untrained, ("adam",)))


def test_spearman():
    x = np.arange(5.0)
    assert frontier.spearman(x, x**2) == pytest.approx(1.0)
    assert frontier.spearman(x, -x) == pytest.approx(-1.0)
    assert frontier.spearman(x, np.ones(5)) == 0.0
    assert frontier.spearman(x, [0, 0, 1, 1, 1]) == pytest.approx(np.corrcoef(x, [1.5, 1.5, 4, 4, 4])[0, 1])


def test_collision_curves_follow_eq12():
    @dataclasses.dataclass(frozen=True)
    class Cfg:
        log_ratio_range = (-1.0, 1.0)
        n_ratios = 3
        mc_draws = 20_000
        ode_draws = 20
        mc_seeds = (0, 1)
        horizons = (2.0,)
        dt = 0.1
        n_cluster = 9
        sigma_ratio = 1.0
        init = "gaussian"

    out = frontier.collision_curves(Cfg())
    assert out["mc_sign_c"].shape == (3, 2) and out["ode"]["2.0"].shape == (3, 2)
    assert np.abs(out["mc_sign_c"] - out["eq12"][:, None]).max() < 0.02


def test_closure_shares_and_their_order():
    rels = ("bipartite", "mod3", "mod5", "greater")
    decided = closure.decided_share(rels, 0.1, 3)
    assert closure.strictly_ordered(decided, rels).tolist() == [1.0, 1.0, 1.0]
    memoriser = closure.decided_share(rels, 0.1, 3, closure=False)  # the same share for every relation
    assert closure.strictly_ordered(memoriser, rels).tolist() == [0.0, 0.0, 0.0]
    curves = closure.closure_curves("mod3", (0.05, 0.3), 2, seed=0)
    assert curves["mc"].shape == (2, 2) and curves["mc_at"]["0.3"].min() > 0.95
    assert 0 < curves["p_c"] < 0.3


def test_clustering_ratio_and_sign_agreement():
    centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    clustered = centres[np.arange(30) % 3]  # symbol i at the point of its class
    assert repons.clustering_ratio(clustered) == pytest.approx(0.0)
    spread = np.random.default_rng(0).normal(size=(30, 2))
    assert repons.clustering_ratio(spread) > 0.5
    C = np.array([[1.0, -1.0, 0.01]])
    agree, clear = repons.sign_agreement(C, np.ones_like(C), np.array([[True, False, False]]))
    assert agree == [1.0] and clear.tolist() == [[True, True, False]]


def test_clustering_preconditions_need_every_pair_right():
    gen, memo = repons.run_preconditions(
        np.array([[1.0, 1.0], [1.0, 0.95]]), np.array([[1.0, 0.99], [0.6, 0.7]])
    )
    assert not gen.met and memo.met  # test 0.99: one pair wrong, not Theorem 1's zero loss
    gen, _ = repons.run_preconditions(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [0.6, 0.7]]))
    assert gen.met


def test_goldilocks_peak_is_chosen_on_the_other_seeds():
    # depths x seeds: seed 0 alone peaks at depth 3 (index 2), the others at depth 2 (index 1)
    acc = np.array([[0.70, 0.70, 0.70], [0.60, 0.90, 0.90], [0.95, 0.50, 0.50], [0.60, 0.60, 0.60]])
    m = goldilocks.held_out_peak_margins(acc)
    assert m["peak"].tolist() == [1, 1, 1]  # seed 0 is scored at the others' peak, not its own
    assert np.allclose(m["shallow"], [-0.10, 0.20, 0.20]) and np.allclose(m["deep"], [0.0, 0.30, 0.30])
    # a peak at an end gives that end's margin 0; one seed falls back to its own argmax
    ends = goldilocks.held_out_peak_margins(np.array([[0.9], [0.8], [0.7]]))
    assert ends["peak"].tolist() == [0] and ends["shallow"].tolist() == [0.0]


def test_paper_tables_rows_and_text():
    tables = paper_tables.paper_tables()
    assert [len(t) for t in tables.values()] == [5, 6, 11, 5]
    assert paper_tables.to_markdown([["a", "b"], ["1", "2"]]) == "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert paper_tables.to_csv([["a", "b"], ["1", "2"]]) == "a,b\n1,2\n"


def test_lr_sweep_stage_is_shared_and_runs():
    from geneft.figures import fig5, fig6

    for scale in ("smoke", "quick", "paper"):
        assert fig5.FIGURE.config(scale).sweep == fig6.FIGURE.config(scale).sweep == LR_SWEEP.configs[scale]
    with pytest.raises(ValueError):
        fig6.Fig6Config(sweep=LrSweepConfig(variants=("adam",)))
    tiny = LrSweepConfig(variants=("sgd",), n_grid=2, seeds=(0,), steps=2, eval_every=1, width=4)
    out = LR_SWEEP.compute(tiny)
    assert set(out) == {"sgd"} and out["sgd"]["phase"].shape == (2, 2, 1)


def test_premise_note_names_the_seeds_that_fit_every_pair():
    note = repons.premise_note([1.0, 1.0], [0.96, 1.0], [0.9, 0.78], (0, 1))
    assert note == "seeds with every pair right: 1 (ratio 0.78)"
    assert repons.premise_note([0.5], [0.5], [1.0], (0,)) == "no seed gets every pair right"


def test_parallel_pieces_give_the_numbers_of_one_process():
    """The lr sweep (one stack per optimiser and seed), Fig. 7's scan (one per depth) and Fig. 8's rows (one per
    weight decay and seed) run their pieces in worker processes when the unit has two threads: the numbers must be those of one
    process doing them one after another (a worker that forgot flush-to-zero or kept several threads differs)."""
    import torch

    from geneft import goldilocks

    sweep = LrSweepConfig(n_grid=2, seeds=(0, 1), steps=60, eval_every=10, grok_gap=20, width=6)
    rows = (
        "mod3",
        0.75,
        np.array([1e-2]),
        np.array([1e-2, 1e-1]),
        [0.0, 1.0],
        (0, 1),
        60,
        10,
        20,
        "adam",
        2,
        6,
        "t",
    )
    scan = ((1, 2), (3, 5), (0, 1), 0.3, 60, 1e-2, 10)
    threads = torch.get_num_threads()
    try:
        out = {}
        for n in (1, 2):
            torch.set_num_threads(n)
            out[n] = (
                phase.lr_sweep(sweep),
                phase.phase_grid(*rows, apart=True),
                goldilocks.depth_width_scan(*scan),
            )
    finally:
        torch.set_num_threads(threads)
    (s1, r1, g1), (s2, r2, g2) = out[1], out[2]
    for v in sweep.variants:
        for k in s1[v]:
            np.testing.assert_array_equal(s1[v][k], s2[v][k], err_msg=f"lr sweep {v} {k}")
    for k in r1:
        np.testing.assert_array_equal(r1[k], r2[k], err_msg=f"phase rows {k}")
        assert r1[k].shape[0] == 2
    for k in ("test_acc", "train_acc"):
        np.testing.assert_array_equal(g1[k], g2[k], err_msg=f"depth scan {k}")
