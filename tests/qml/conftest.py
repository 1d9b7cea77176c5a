"""Dense references for the QNN tests: exact expectations and probabilities by ``Statevector``."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector


def bind_row(circuit: QuantumCircuit, inputs, weights, x, w) -> QuantumCircuit:
    return circuit.assign_parameters(dict(zip(inputs, x, strict=True))
                                     | dict(zip(weights, w, strict=True)))


def dense_expectations(ac, x, w) -> np.ndarray:
    """``[rows, outputs]`` by ``Statevector`` on the logical circuit of an ``AttentionCircuit``."""
    out = []
    for row in np.atleast_2d(x):
        sv = Statevector(bind_row(ac.circuit, ac.input_params, ac.weight_params, row, w))
        out.append([sv.expectation_value(op).real for op in ac.observables])
    return np.array(out)


def dense_probabilities(ac, x, w) -> np.ndarray:
    out = []
    for row in np.atleast_2d(x):
        sv = Statevector(bind_row(ac.circuit, ac.input_params, ac.weight_params, row, w))
        out.append(sv.probabilities(ac.key_qubits))
    return np.array(out)


def finite_differences(fn, x, w, eps=1e-5):
    """Central differences of ``fn(x, w) -> [rows, outputs]``: ``[rows, outputs, inputs]``,
    ``[rows, outputs, weights]``."""
    x, w = np.atleast_2d(np.asarray(x, float)), np.asarray(w, float)
    base = fn(x, w)
    gx = np.zeros((*base.shape, x.shape[1]))
    gw = np.zeros((*base.shape, w.size))
    for i in range(x.shape[1]):
        d = np.zeros_like(x)
        d[:, i] = eps
        gx[..., i] = (fn(x + d, w) - fn(x - d, w)) / (2 * eps)
    for j in range(w.size):
        d = np.zeros_like(w)
        d[j] = eps
        gw[..., j] = (fn(x, w + d) - fn(x, w - d)) / (2 * eps)
    return gx, gw


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def aer_estimator():
    from qiskit_qattn.qml import make_estimator

    return make_estimator("aer", options={"backend_options": {"max_parallel_threads": 1}})


class _Dense:
    """The dense references, as one fixture (test modules cannot import conftest here)."""

    bind_row = staticmethod(bind_row)
    expectations = staticmethod(dense_expectations)
    probabilities = staticmethod(dense_probabilities)
    finite_differences = staticmethod(finite_differences)


@pytest.fixture(scope="session")
def dense():
    return _Dense()
