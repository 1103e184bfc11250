"""geneft.theory: description lengths, balls in buckets, the closure Monte Carlo, the repon ODE and Eqs. 11-13."""

import math

import numpy as np
import pytest

from geneft import theory as T


def test_description_lengths_match_the_hand_computed_values():
    assert T.description_length_exact("mod3") == pytest.approx(39.75, abs=0.01)
    assert T.description_length_exact("mod5") == pytest.approx(53.34, abs=0.01)
    assert T.description_length_approx("mod3") == pytest.approx(47.55, abs=0.01)
    assert T.description_length_approx("mod5") == pytest.approx(69.66, abs=0.01)
    assert T.description_length_exact("greater") == pytest.approx(107.7, abs=0.05)
    assert T.description_length_exact("bipartite") == pytest.approx(24.8, abs=0.05)
    assert T.description_length_approx("bipartite") == pytest.approx(T.description_length_exact("bipartite"))
    # exact automorphism count by brute force on a small case: n = 4, mod 2 -> Aut = 2! 2! 2! = 8
    assert 2 ** T.log2_automorphisms("mod2", n=4) == pytest.approx(8)


def test_critical_fraction_and_bounds():
    b = T.description_length_approx("mod3")
    pc = T.critical_fraction(b)
    assert pc == pytest.approx(0.120, abs=0.001)
    assert T.balls_in_buckets(900 * pc, b) == pytest.approx(0.9)
    f_ub = T.f_upper_bound(np.array([0, 100, 10_000]), b, T.p_star("mod3"))
    assert f_ub[0] == pytest.approx(2 / 3) and f_ub[-1] == pytest.approx(1.0)


def test_relation_properties_table_one():
    assert T.relation_properties("mod3")["transitive"] and T.relation_properties("mod3")["reflexive"]
    assert T.relation_properties("greater")["antisymmetric"] and T.relation_properties("greater")["total"]
    assert (
        T.relation_properties("bipartite")["symmetric"]
        and not T.relation_properties("bipartite")["transitive"]
    )


@pytest.mark.parametrize("relation", T.RELATIONS)
def test_closure_is_sound_and_complete_at_full_data(relation):
    for fraction in (0.0, 0.2, 1.0):
        acc = T.closure_accuracy(relation, fraction, n_draws=2, seed=0)  # asserts soundness inside
        assert ((acc >= 0) & (acc <= 1)).all()
    assert T.closure_accuracy(relation, 1.0, 1, 0)[0] == 1.0
    assert T.closure_accuracy("mod3", 0.3, 5, 0).mean() > 0.95


def test_conserved_quantity_is_conserved_and_its_sign_predicts_collision():
    rng = np.random.default_rng(0)
    a0, c0 = rng.normal(size=400), rng.normal(size=400)
    eta_a, eta_x = 0.5, 1.0
    C0 = T.conserved_quantity(a0, c0, eta_a, eta_x)
    a_t, c_t = T.repon_ode(a0, c0, eta_a, eta_x, t_end=200.0, dt=0.02)
    C1 = T.conserved_quantity(a_t, c_t, eta_a, eta_x)
    scale = np.abs(a0**2 / (2 * eta_a)) + np.abs(c0**2 / eta_x)
    assert np.max(np.abs(C1 - C0) / scale) < 1e-3
    clear = np.abs(C0) > 0.05 * scale  # near C = 0 both decay as power laws and 200 time units do not decide
    assert (T.collided(a0, c0, a_t, c_t)[clear] == (C0[clear] > 0)).all()
    assert clear.mean() > 0.8


def test_monte_carlo_collision_probability_matches_eq12():
    for ratio in (0.125, 0.5, 2.0, 8.0):
        mc = T.p_collide_monte_carlo(ratio, n_draws=200_000, seed=1)
        assert mc == pytest.approx(float(T.p_collide_eq12(ratio)), abs=0.01)
    assert float(T.p_collide_eq12(2.0)) == pytest.approx(0.5)  # rho = sqrt(eta_x / 2 eta_A) = 1


def test_eq13_reduces_to_eq12_at_one_and_matches_its_own_monte_carlo():
    ratios = np.logspace(-2, 2, 9)
    assert np.allclose(T.p_collide_eq13(ratios, 1), T.p_collide_eq12(ratios))
    mc = T.p_collide_monte_carlo(1.0, n_draws=100_000, seed=2, n_cluster=5)
    assert mc == pytest.approx(float(T.p_collide_eq13(1.0, 5)), abs=0.01)
    # the cluster ODE also conserves its C
    a_t, c_t = T.repon_ode(0.7, 0.4, 1.0, 1.0, t_end=50.0, dt=0.02, n_cluster=5)
    C0, C1 = T.conserved_quantity(0.7, 0.4, 1.0, 1.0, 5), T.conserved_quantity(a_t, c_t, 1.0, 1.0, 5)
    assert math.isclose(C0, C1, rel_tol=1e-3)


def test_table_two_orders_b_and_p_c_bipartite_mod3_mod5_greater():
    # moved from the tables figure's claims: arithmetic on Table II's formulas, true by construction
    order = ("bipartite", "mod3", "mod5", "greater")
    for b_of in (T.description_length_approx, T.description_length_exact):
        b = [b_of(r) for r in order]
        pc = [T.critical_fraction(x) for x in b]
        assert all(x < y for x, y in zip(b[:-1], b[1:], strict=True)) and all(
            x < y for x, y in zip(pc[:-1], pc[1:], strict=True)
        )


def test_memoriser_control_decides_only_its_training_pairs():
    for r in T.RELATIONS:
        g = max(T.p_star(r), 1 - T.p_star(r))
        acc = T.closure_accuracy(r, 0.2, 2, 0, closure=False)
        assert np.allclose(acc, 0.2 + g * 0.8)
        assert (T.closure_accuracy(r, 0.2, 2, 0) >= acc).all()


def test_uniform_control_misses_eq12_away_from_ratio_two():
    # rho = sqrt(ratio / 2) = 0.5: uniform starts give rho / 2 = 0.25, Eq. 12 gives (2/pi) arctan(0.5) = 0.295
    mc = T.p_collide_monte_carlo(0.5, 200_000, 0, init="uniform")
    assert mc == pytest.approx(0.25, abs=0.005) and abs(mc - float(T.p_collide_eq12(0.5))) > 0.04
