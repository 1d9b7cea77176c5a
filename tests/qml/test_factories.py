"""Factories: genuine Qiskit ML QNNs whose forward/backward equal a dense Statevector reference."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit_machine_learning.neural_networks import EstimatorQNN, SamplerQNN

from qiskit_qattn.qml import (
    key_distribution_circuit,
    key_distribution_qnn,
    make_sampler,
    qnn_layout,
    qsann_circuit,
    qsann_qnn,
    self_attention_circuit,
    self_attention_qnn,
)


def _check_estimator_qnn(dense, qnn, ac, rng, rows=2, atol=1e-6):
    assert isinstance(qnn, EstimatorQNN)
    x = rng.uniform(0, np.pi, (rows, qnn.num_inputs))
    w = rng.normal(scale=0.7, size=qnn.num_weights)
    np.testing.assert_allclose(qnn.forward(x, w), dense.expectations(ac, x, w), atol=1e-10)
    gx, gw = qnn.backward(x, w)
    fx, fw = dense.finite_differences(lambda a, b: dense.expectations(ac, a, b), x, w)
    np.testing.assert_allclose(gw, fw, atol=atol)
    np.testing.assert_allclose(gx, fx, atol=atol)


def test_qsann_qnn_forward_backward_equal_statevector(rng, dense):
    qnn = qsann_qnn(2, reps=1, input_gradients=True)
    _check_estimator_qnn(dense, qnn, qsann_circuit(2, reps=1), rng)


@pytest.mark.parametrize("options", [
    {},
    {"value_qubits": 2},
    {"attention": False},
    {"queries": "tokens"},
    {"queries": "tokens", "readout": "tokens"},
])
def test_self_attention_qnn_forward_backward_equal_statevector(rng, dense, options):
    T, n = (2, 1) if options.get("queries") == "tokens" else (3, 2)
    qnn = self_attention_qnn(T, n, input_gradients=True, **options)
    _check_estimator_qnn(dense, qnn, self_attention_circuit(T, n, **options), rng)


def test_self_attention_output_is_attention_weighted_cosine_values(rng):
    """Independent closed form: p_t = prod over tree nodes (1 ± sin Δ)/2, <Z> = Σ p_t cos ψ_t."""
    T, n = 4, 2
    qnn = self_attention_qnn(T, n)
    x = rng.uniform(0, np.pi, (T, n))
    w_score, b_node = rng.normal(size=n), rng.normal(size=T - 1)
    w_value, b_value = rng.normal(size=n), rng.normal()
    s = x @ w_score
    root = np.sin(s[2:].mean() - s[:2].mean() + b_node[0])
    left, right = np.sin(s[1] - s[0] + b_node[1]), np.sin(s[3] - s[2] + b_node[2])
    p = np.array([(1 - root) * (1 - left), (1 - root) * (1 + left),
                  (1 + root) * (1 - right), (1 + root) * (1 + right)]) / 4
    expected = p @ np.cos(x @ w_value + b_value)
    weights = np.concatenate([w_score, b_node, w_value, [b_value]])
    assert qnn.forward(x.reshape(1, -1), weights)[0, 0] == pytest.approx(expected, abs=1e-12)


def test_key_distribution_qnn_is_a_sampler_qnn_matching_statevector(rng, dense):
    shots = 40_000
    qnn = key_distribution_qnn(3, 2, shots=shots, input_gradients=True,
                               sampler=make_sampler("reference", shots=shots, seed=5))
    assert isinstance(qnn, SamplerQNN) and qnn.output_shape == (4,)
    ac = key_distribution_circuit(3, 2)
    x = rng.uniform(0, np.pi, (2, qnn.num_inputs))
    w = rng.normal(scale=0.7, size=qnn.num_weights)
    exact = dense.probabilities(ac, x, w)
    assert exact[:, 3] == pytest.approx(0.0, abs=1e-12)  # padding key
    np.testing.assert_allclose(qnn.forward(x, w), exact, atol=4 / np.sqrt(shots))
    gx, gw = qnn.backward(x, w)
    fx, fw = dense.finite_differences(lambda a, b: dense.probabilities(ac, a, b), x, w)
    # shift differences of two shot estimates, times chain-rule coefficients up to ~π
    np.testing.assert_allclose(gw, fw, atol=0.05)
    np.testing.assert_allclose(gx, fx, atol=0.05)


def test_layouts_document_every_parameter_and_output():
    qnn = self_attention_qnn(4, 2, value_qubits=2)
    lay = qnn_layout(qnn)
    assert (lay.num_inputs, lay.num_weights, lay.num_outputs) == (
        qnn.num_inputs, qnn.num_weights, qnn.output_shape[0])
    assert lay.inputs[:3] == ("x[0,0]", "x[0,1]", "x[1,0]")
    assert lay.weights == ("w_score[0]", "w_score[1]", "b_node[0]", "b_node[1]", "b_node[2]",
                           "w_value[0,0]", "w_value[0,1]", "w_value[1,0]", "w_value[1,1]",
                           "b_value[0]", "b_value[1]")
    q = qsann_qnn(3, reps=2, score_dim=2)
    assert qnn_layout(q).outputs == ("q[0]", "q[1]", "k[0]", "k[1]", "v[0]", "v[1]", "v[2]")
    assert qnn_layout(q).num_weights == q.num_weights == 3 * 5 * 3
    assert qnn_layout(key_distribution_qnn(4, 1)).outputs == ("p[0]", "p[1]", "p[2]", "p[3]")


def test_layout_of_a_foreign_object_is_a_clear_error():
    from qiskit import QuantumCircuit

    with pytest.raises(ValueError, match="no qiskit-qattn layout"):
        qnn_layout(QuantumCircuit(1))


@pytest.mark.parametrize("call, match", [
    (lambda: self_attention_qnn(1, 2), "num_tokens"),
    (lambda: self_attention_qnn(4, 0), "token_dim"),
    (lambda: self_attention_qnn(4, 2, queries="keys"), "queries"),
    (lambda: self_attention_qnn(4, 2, readout="max"), "readout"),
    (lambda: self_attention_qnn(16, 2, queries="tokens"), "qubits"),
    (lambda: qsann_qnn(2, score_dim=3), "score_dim"),
    (lambda: key_distribution_qnn(4, 2, query=4), "query"),
    (lambda: self_attention_qnn(4, 2, gradient="fast"), "gradient"),
])
def test_bad_shapes_and_options_name_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()
