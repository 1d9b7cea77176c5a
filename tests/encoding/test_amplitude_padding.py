import numpy as np
import pytest

from qiskit_qattn.encoding import (
    as_real_array,
    masked_softmax,
    normalize_amplitudes,
    num_key_qubits,
    pad_mask,
    pad_rows,
)


def test_masked_softmax_matches_reference(rng):
    s = rng.normal(size=(4, 7)) * 3
    mask = rng.random((4, 7)) > 0.3
    mask[:, 0] = True
    p = masked_softmax(s, temperature=0.7, mask=mask)
    ref = np.exp(s / 0.7) * mask
    ref /= ref.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p, ref, atol=1e-14)
    assert np.all(p[~mask] == 0)


def test_masked_softmax_stable_for_large_scores():
    p = masked_softmax([1000.0, 1001.0])
    np.testing.assert_allclose(p, [1 / (1 + np.e), np.e / (1 + np.e)])


@pytest.mark.parametrize("bad", [[np.nan, 1.0], [np.inf, 0.0], [-np.inf, 0.0]])
def test_non_finite_scores_rejected(bad):
    with pytest.raises(ValueError, match="scores must be finite"):
        masked_softmax(bad)


@pytest.mark.parametrize("tau", [0.0, -1.0, np.nan])
def test_bad_temperature_rejected(tau):
    with pytest.raises(ValueError, match="temperature"):
        masked_softmax([1.0, 2.0], temperature=tau)


def test_fully_masked_row_rejected():
    with pytest.raises(ValueError, match="mask"):
        masked_softmax([1.0, 2.0], mask=[False, False])


def test_normalize_amplitudes():
    np.testing.assert_allclose(normalize_amplitudes([0.0, 2.0]), [0.0, 1.0])
    with pytest.raises(ValueError, match="zero vector"):
        normalize_amplitudes([0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        normalize_amplitudes([np.nan, 1.0])


def test_padding():
    assert [num_key_qubits(n) for n in (1, 2, 3, 4, 5, 16, 17)] == [1, 1, 2, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="num_keys"):
        num_key_qubits(0)
    padded = pad_rows(np.ones((5, 2)), 3)
    assert padded.shape == (8, 2) and padded[5:].sum() == 0
    assert pad_mask(np.array([True, False, True]), 3, 2).tolist() == [True, False, True, False]


def test_as_real_array_messages():
    with pytest.raises(ValueError, match="Q must be 2-D"):
        as_real_array([1.0, 2.0], "Q", ndim=2)
    with pytest.raises(ValueError, match="K must not be empty"):
        as_real_array(np.zeros((0, 3)), "K", ndim=2)
    with pytest.raises(ValueError, match="V must hold real numbers"):
        as_real_array(["a"], "V")
