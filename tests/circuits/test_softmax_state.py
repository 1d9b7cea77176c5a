import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qiskit_qattn.circuits import SOFTMAX_STATE_MAX_KEYS, softmax_state


def _target(scores, temperature=1.0, keep=None):
    s = np.asarray(scores, float) / temperature
    w = np.exp(s - s.max())
    if keep is not None:
        w = w * keep
    p = w / w.sum()
    m = max(1, int(np.ceil(np.log2(len(s)))))
    out = np.zeros(2**m)
    out[: len(s)] = np.sqrt(p)
    return out


@pytest.mark.parametrize("n", [1, 2, 5, 8, 13, 32])
def test_fidelity_with_sqrt_softmax(rng, n):
    s = rng.normal(size=n) * 2.5
    qc = softmax_state(s, temperature=0.8)
    fid = abs(np.vdot(_target(s, 0.8), Statevector(qc).data)) ** 2
    assert fid > 1 - 1e-10
    assert qc.metadata["num_keys"] == n
    assert qc.metadata["padding"] == 2 ** qc.num_qubits - n


def test_mask_and_padding_get_zero_amplitude(rng):
    s = rng.normal(size=6)
    keep = np.array([True, False, True, True, False, True])
    sv = Statevector(softmax_state(s, mask=keep)).data
    assert np.allclose(sv[[1, 4, 6, 7]], 0, atol=1e-12)
    assert abs(np.vdot(_target(s, keep=keep), sv)) ** 2 > 1 - 1e-10


@pytest.mark.parametrize(
    ("scores", "kwargs", "match"),
    [
        ([np.nan, 1.0], {}, "scores must be finite"),
        ([np.inf, 1.0], {}, "scores must be finite"),
        ([], {}, "scores must not be empty"),
        ([[1.0, 2.0]], {}, "scores must be 1-D"),
        ([1.0, 2.0], {"temperature": 0}, "temperature"),
        ([1.0, 2.0], {"mask": [True]}, "mask must be a boolean vector of length 2"),
        ([1.0, 2.0], {"mask": [False, False]}, "at least one key"),
    ],
)
def test_bad_input(scores, kwargs, match):
    with pytest.raises(ValueError, match=match):
        softmax_state(scores, **kwargs)


def test_key_limit():
    with pytest.raises(ValueError, match="at most 4096 keys"):
        softmax_state(np.zeros(SOFTMAX_STATE_MAX_KEYS + 1))


def test_input_not_modified(rng):
    s = rng.normal(size=5)
    keep = s.copy()
    softmax_state(s)
    np.testing.assert_array_equal(s, keep)
