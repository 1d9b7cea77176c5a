import numpy as np
import pytest

from qiskit_qattn.attention import estimate_attention, exact_attention, outputs_from_counts


def test_statevector_softmax_state_is_exact(head):
    q, k, v = head
    est = estimate_attention(q, k, v)
    np.testing.assert_allclose(est.values, exact_attention(q, k, v), atol=1e-9)
    assert np.all(est.std_errors == 0)
    assert est.weights.shape == (q.shape[0], k.shape[0])
    np.testing.assert_allclose(est.weights.sum(axis=1), 1.0)


def test_statevector_with_mask(head, rng):
    q, k, v = head
    keep = rng.random((q.shape[0], k.shape[0])) > 0.5
    keep[:, -1] = True
    est = estimate_attention(q, k, v, mask=keep)
    np.testing.assert_allclose(est.values, exact_attention(q, k, v, keep), atol=1e-9)
    assert np.all(est.weights[~keep] == 0)


def test_sampled_estimate_within_four_standard_errors(head):
    q, k, v = head
    est = estimate_attention(q, k, v, execution="shots", shots=20000, seed=11)
    z = (est.values - exact_attention(q, k, v)) / est.std_errors
    assert np.all(np.abs(z) < 4), z


def test_standard_errors_are_calibrated(head):
    """Over many seeds about 95% of entries fall within 1.96 standard errors."""
    q, k, v = head
    exact = exact_attention(q, k, v)
    inside = []
    for seed in range(40):
        est = estimate_attention(q, k, v, execution="shots", shots=2000, seed=seed)
        inside.append(np.abs(est.values - exact) < 1.96 * est.std_errors)
    frac = np.mean(inside)
    assert 0.92 < frac < 0.98, frac


def test_qaoa_statevector_renormalises_over_kept_keys(head):
    q, k, v = head
    est = estimate_attention(q, k, v, family="qaoa", reps=1)
    # Weights live on the 11 real keys only and sum to one; output is their average of V.
    np.testing.assert_allclose(est.weights.sum(axis=1), 1.0)
    np.testing.assert_allclose(est.values, est.weights @ v, atol=1e-12)


def test_compiled_noiseless_shots_on_fake_backend(head):
    q, k, v = head
    est = estimate_attention(q[:2], k, v, execution="shots", device="fake_torino",
                             noise_model=None, shots=20000, seed=3)
    assert est.compiled is not None and est.compiled[0].num_qubits == 133
    z = (est.values - exact_attention(q[:2], k, v)) / est.std_errors
    assert np.all(np.abs(z) < 4), z


def test_outputs_from_counts_by_hand():
    counts = np.array([[6, 2, 2, 0]])  # outcome 3 is a padding key
    values = np.array([[1.0], [3.0], [5.0], [100.0]])
    keep = np.array([[True, True, True, False]])
    out, std, w = outputs_from_counts(counts, values, keep)
    assert out[0, 0] == pytest.approx((6 * 1 + 2 * 3 + 2 * 5) / 10)
    samples = np.repeat([1.0, 3.0, 5.0], [6, 2, 2])
    assert std[0, 0] == pytest.approx(samples.std(ddof=1) / np.sqrt(10))
    np.testing.assert_allclose(w, [[0.6, 0.2, 0.2, 0.0]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"execution": "bogus"}, "execution must be one of"),
        ({"family": "bogus"}, "family must be one of"),
        ({"execution": "shots", "shots": 0}, "shots must be an integer >= 1"),
        ({"temperature": 0.0}, "temperature"),
        ({"execution": "shots", "device": "fake_nowhere"}, "unknown fake device"),
        ({"execution": "shots", "device": "fake_torino", "noise_model": "loud"}, "noise_model"),
    ],
)
def test_bad_options(head, kwargs, match):
    q, k, v = head
    with pytest.raises(ValueError, match=match):
        estimate_attention(q, k, v, **kwargs)


@pytest.mark.slow
def test_runtime_local_mode_with_fake_backend(head):
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    q, k, v = head
    q, k, v = q[:2], k[:4], v[:4]
    est = estimate_attention(q, k, v, execution="runtime", mode=FakeManilaV2(), shots=4000,
                             seed=5)
    assert est.metadata["device"] == "fake_manila"
    exact = exact_attention(q, k, v)
    # Device noise biases the estimate; it must still be close and carry error bars.
    assert est.relative_error(exact) < 0.25
    assert np.all(est.std_errors > 0)
