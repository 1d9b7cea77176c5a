"""Shot allocation, shot plans, extrapolation choice and the second noise level."""

import numpy as np
import pytest
from scipy.optimize import minimize

from qiskit_qattn.mitigation import (
    allocation_variance,
    choose_extrapolation,
    optimal_allocation,
    plan_shots,
    second_scale_factor,
)
from qiskit_qattn.mitigation.allocation import integer_split, signal_exponent
from qiskit_qattn.mitigation.extrapolation import _richardson_weights


def test_optimal_allocation_is_the_closed_form_minimum():
    """Richardson on (1, 3, 5): weights (15, -10, 3)/8. Lagrange: n_s ∝ |w_s| sigma_s and the
    variance is (sum |w_s| sigma_s)**2 / N; a numerical minimiser and random splits agree."""
    w = _richardson_weights(np.array([1.0, 3.0, 5.0]))
    np.testing.assert_allclose(w, [15 / 8, -10 / 8, 3 / 8])
    sigma = np.array([0.4, 0.45, 0.5])
    total = 3e6
    n = optimal_allocation(w, total, sigma)
    assert n.sum() == pytest.approx(total)
    best = allocation_variance(w, n, sigma)
    assert best == pytest.approx(np.sum(np.abs(w) * sigma) ** 2 / total)
    uniform = allocation_variance(w, np.full(3, total / 3), sigma)
    assert uniform / best == pytest.approx(3 * np.sum((w * sigma) ** 2)
                                           / np.sum(np.abs(w) * sigma) ** 2)
    assert uniform > 1.2 * best

    def objective(z):
        shares = np.exp(z) / np.exp(z).sum()
        return allocation_variance(w, total * shares, sigma) * total

    numeric = minimize(objective, np.zeros(3), method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000})
    assert numeric.fun / total == pytest.approx(best, rel=1e-5)
    rng = np.random.default_rng(0)
    for shares in rng.dirichlet(np.ones(3), size=200):
        assert allocation_variance(w, total * shares, sigma) >= best * (1 - 1e-12)


def test_integer_split_and_shot_plans_respect_the_budget():
    assert integer_split([1.5, -0.5], 8).tolist() == [6, 2]
    assert integer_split([1.0, 0.0], 5, minimum=1).tolist() == [4, 1]
    with pytest.raises(ValueError, match="cannot give"):
        integer_split([1, 1, 1], 2)
    plan = plan_shots(4, 100_000, budget=5, weights=[1.3, -0.3], calibration_circuits=2,
                      training=True)
    assert plan.unit_shots == 25_000 and plan.total_shots(4, 2) == 5 * 4 * 100_000
    assert plan.target[0] > plan.target[1] >= 1 and min(plan.training) >= 2
    classic = plan_shots(3, 1000, budget=None, weights=[1, 1, 1], calibration_circuits=2)
    assert (classic.unit_shots, classic.target, classic.calibration) == (1000, (1, 1, 1), 1)
    assert classic.total_shots(3, 2) == 11 * 1000
    with pytest.raises(ValueError, match="too small"):
        plan_shots(4, 1000, budget=0.5, weights=[1, 1], calibration_circuits=2, training=True)
    with pytest.raises(ValueError, match="budget must be a positive"):
        plan_shots(4, 1000, budget=-1, weights=[1, 1])
    with pytest.raises(ValueError, match="lower shot_granularity"):
        plan_shots(1, 3, budget=5, weights=[1], granularity=4)
    with pytest.raises(ValueError, match="needs a shot budget"):
        plan_shots(1, 1000, budget=None, weights=[1, 1], training=True)


def test_choose_extrapolation_trades_bias_against_variance():
    x = np.array([[1.0, 1.0], [3.0, 3.0], [5.0, 5.0]])
    truth = np.array([0.7, 0.2])
    curved = truth[None, :] * np.exp(-0.08 * x)  # mild curvature
    small = np.full_like(curved, 1e-4)
    large = np.full_like(curved, 3e-2)
    # Plenty of shots: linear's bias dominates -> Richardson.
    method, mse = choose_extrapolation(x, curved, small)
    assert method == "richardson" and mse["linear"] > mse["richardson"]
    # Few shots: Richardson's variance (sum w**2 = 5.2 vs linear's 0.85) dominates -> linear.
    method, mse = choose_extrapolation(x, curved, large)
    assert method == "linear" and mse["linear"] < mse["richardson"]


def test_second_scale_factor_goes_less_far_with_more_shots():
    assert signal_exponent(100_000) == pytest.approx(0.69)
    assert signal_exponent(1_000_000) < signal_exponent(100_000) < signal_exponent(10_000)
    factors = [second_scale_factor(0.05, n) for n in (10_000, 100_000, 1_000_000, 10**8)]
    assert factors == sorted(factors, reverse=True) and all(f % 2 == 1 for f in factors)
    assert second_scale_factor(0.0, 100_000) == 5  # unknown decay
    assert second_scale_factor(1e-4, 100_000) == 21  # capped
    assert second_scale_factor(5.0, 100_000) == 3  # floored
