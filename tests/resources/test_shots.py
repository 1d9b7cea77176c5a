import math

import numpy as np
import pytest

from qiskit_qattn.resources import measured_errors, shots_for_error, shots_from_run
from qiskit_qattn.resources._pipeline import NoisyRun, estimate_output, exact_output
from qiskit_qattn.resources.shots import born_moments, shots_from_moments


def test_born_moments_by_hand():
    # One query, keys 0..2 with probabilities (0.5, 0.25, 0.25) and one padding state.
    p = np.array([[0.4, 0.2, 0.2, 0.2]])        # 20% of shots land on padding
    v = np.array([[0.0], [2.0], [4.0]])
    w = np.array([0.5, 0.25, 0.25])
    out = w @ v[:, 0]                             # 1.5
    var = w @ v[:, 0] ** 2 - out**2               # 5 - 2.25 = 2.75
    ref = np.array([[1.0]])
    floor, per_shot = born_moments(p, v, 3, ref)
    assert floor == pytest.approx(0.5)
    assert per_shot == pytest.approx(var / 0.8)


def test_shots_from_moments():
    assert shots_from_moments(0.0, 2.0, 0.1) == pytest.approx(200.0)
    assert shots_from_moments(0.06, 0.64, 0.1) == pytest.approx(100.0)
    assert shots_from_moments(0.1, 1.0, 0.1) == math.inf
    with pytest.raises(ValueError, match="target_error"):
        shots_from_moments(0.0, 1.0, 0.0)


def test_predicted_error_matches_measured_sampling_error(small_head):
    Q, K, V = small_head
    est = shots_for_error(Q, K, V, "softmax_state", target_error=0.05)
    assert est.floor < 1e-12 and est.num_queries == 2
    shots = int(math.ceil(est.shots))
    errors = measured_errors(Q, K, V, "softmax_state", shots, seeds=range(40))
    rms = math.sqrt(np.mean(errors**2))
    assert rms == pytest.approx(0.05, rel=0.2)
    # four times the shots halve the error
    errors4 = measured_errors(Q, K, V, "softmax_state", 4 * shots, seeds=range(40))
    assert math.sqrt(np.mean(errors4**2)) == pytest.approx(0.025, rel=0.2)


def test_family_floor_is_its_exact_probability_error(small_head):
    Q, K, V = small_head
    est = shots_for_error(Q, K, V, "qaoa", target_error=0.1)
    from qiskit_qattn.attention import estimate_attention

    family = estimate_attention(Q, K, V, family="qaoa").values   # exact probabilities
    exact = exact_output(Q, K, V)
    assert est.floor == pytest.approx(np.linalg.norm(family - exact) / np.linalg.norm(exact))
    if est.floor >= 0.1:
        assert est.shots == math.inf
    else:
        assert est.predicted_error(est.shots) == pytest.approx(0.1)


def test_variance_matches_the_estimators_own_error_bars(small_head):
    Q, K, V = small_head
    est = shots_for_error(Q, K, V, "softmax_state")
    run = estimate_output(Q, K, V, "softmax_state", shots=200_000, seed=3)
    exact = exact_output(Q, K, V)
    per_shot = np.sum(run.std_errors**2) * run.shots / np.sum(exact**2)
    assert per_shot == pytest.approx(est.variance_per_shot, rel=0.02)


def test_shots_from_a_run_separates_bias_and_variance():
    ref = np.array([[1.0, 0.0], [0.0, 1.0]])
    bias = np.array([[0.03, 0.0], [0.0, -0.04]])
    sigma = np.full((2, 2), 0.001)
    run = NoisyRun(values=ref + bias, std_errors=sigma, shots=10_000, total_shots=60_000,
                   compiled=None, unmitigated_values=None, wall_time=0.0)
    d = shots_from_run(run, ref, target_error=0.1)
    norm2 = 2.0
    assert d["floor"] == pytest.approx(math.sqrt((0.03**2 + 0.04**2 - 4e-6) / norm2))
    assert d["variance_per_shot"] == pytest.approx(4e-6 * 10_000 / norm2)
    assert d["shots"] == pytest.approx(d["variance_per_shot"] / (0.01 - d["floor"] ** 2))
    assert d["overhead"] == pytest.approx(3.0)
    assert d["total_shots_per_query"] == pytest.approx(3 * d["shots"])


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, math.nan])
def test_bad_target_error(bad, small_head):
    Q, K, V = small_head
    with pytest.raises(ValueError, match="target_error"):
        shots_for_error(Q, K, V, "softmax_state", target_error=bad)


def test_unknown_family(small_head):
    Q, K, V = small_head
    with pytest.raises(ValueError, match="family must be one of"):
        shots_for_error(Q, K, V, "grover")
