"""estimate_attention with the reusable-schedule families, incl. sorted key layouts."""

import numpy as np
import pytest

from qiskit_qattn.attention import estimate_attention, exact_attention


@pytest.fixture
def small_head(rng):
    return rng.normal(size=(3, 8)), rng.normal(size=(8, 8)), rng.normal(size=(8, 2))


def test_sorted_exact_warm_start_statevector_equals_exact(small_head):
    Q, K, V = small_head
    est = estimate_attention(Q, K, V, family="warm_start", window=2)  # window m-1: exact tree
    assert est.weights is not None
    np.testing.assert_allclose(est.values, exact_attention(Q, K, V), atol=1e-10)


def test_sorted_layout_ideal_shots_within_standard_errors(small_head):
    Q, K, V = small_head
    est = estimate_attention(Q, K, V, family="warm_start", window=2, execution="shots",
                             shots=20_000, seed=3)
    z = np.abs(est.values - exact_attention(Q, K, V)) / est.std_errors
    assert np.all(z < 5)


def test_sorted_layout_through_mitigation_pipeline(small_head):
    Q, K, V = small_head
    est = estimate_attention(Q, K, V, family="warm_start", window=2, execution="shots",
                             device="fake_manila", noise_model=None, shots=20_000, seed=3,
                             mitigation="rem")
    z = np.abs(est.values - exact_attention(Q, K, V)) / np.maximum(est.std_errors, 1e-12)
    assert np.all(z < 5)


def test_unsorted_family_runs_through_estimator(small_head):
    Q, K, V = small_head
    est = estimate_attention(Q, K, V, family="ma_qaoa")
    assert est.values.shape == (3, 2)
    assert np.all(np.isfinite(est.values))
