import numpy as np
from qiskit.quantum_info import Statevector

from qiskit_qattn.circuits import (
    kept_keys_projector,
    prepare_head,
    softmax_state,
    value_observables,
)


def _exact(q, k, v, keep=None):
    s = q @ k.T / np.sqrt(q.shape[1])
    w = np.exp(s - s.max(axis=1, keepdims=True))
    if keep is not None:
        w = w * keep
    return (w / w.sum(axis=1, keepdims=True)) @ v


def test_value_observables_are_the_padded_value_diagonals(rng):
    v = rng.normal(size=(5, 3))
    ops = value_observables(v)
    assert len(ops) == 3
    for c, op in enumerate(ops):
        diag = np.diag(op.to_matrix()).real
        np.testing.assert_allclose(diag, np.r_[v[:, c], np.zeros(3)], atol=1e-12)


def test_expectations_on_softmax_states_equal_exact_attention(head):
    q, k, v = head
    ops = value_observables(v)
    circuits = prepare_head(q, k, v).circuits
    est = np.array([[Statevector(qc).expectation_value(op).real for op in ops] for qc in circuits])
    np.testing.assert_allclose(est, _exact(q, k, v), atol=1e-9)


def test_masked_rows(head, rng):
    q, k, v = head
    keep = rng.random((q.shape[0], k.shape[0])) > 0.4
    keep[:, 3] = True
    ops = value_observables(v)
    circuits = prepare_head(q, k, v, mask=keep).circuits
    est = np.array([[Statevector(qc).expectation_value(op).real for op in ops] for qc in circuits])
    np.testing.assert_allclose(est, _exact(q, k, v, keep), atol=1e-9)


def test_kept_keys_projector():
    proj = kept_keys_projector([True, False, True, False])
    np.testing.assert_allclose(np.diag(proj.to_matrix()).real, [1, 0, 1, 0])
    sv = Statevector(softmax_state([0.3, 0.1, 0.9]))
    assert abs(sv.expectation_value(kept_keys_projector([True] * 3 + [False])) - 1) < 1e-12
