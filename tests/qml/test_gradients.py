"""Batched parameter-shift gradients: equal to Qiskit ML's defaults and to finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.primitives import StatevectorEstimator, StatevectorSampler
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
from qiskit_machine_learning.neural_networks import EstimatorQNN

from qiskit_qattn.qml import (
    BatchedParamShiftEstimatorGradient,
    BatchedParamShiftSamplerGradient,
    key_distribution_circuit,
    qsann_circuit,
    self_attention_circuit,
)
from qiskit_qattn.qml.shift_plan import build_shift_plan


def _awkward_circuit():
    """Shared parameters, products, powers, exp/sin, a controlled rotation and a global phase."""
    x, w = ParameterVector("x", 2), ParameterVector("w", 3)
    qc = QuantumCircuit(3)
    qc.ry(x[0], 0)
    qc.ry(x[1] * w[0] + 0.3, 1)
    qc.cry(w[1], 0, 2)
    qc.rzz(2 * w[2] - x[0], 1, 2)
    qc.rx(w[0], 0)
    qc.cx(2, 0)
    qc.rz(x[1], 2)
    qc.ry(w[1] * w[2], 1)
    qc.ry(0.5 * x[1] * x[1] * w[0], 0)  # a square: a monomial of degree 3
    qc.rz(0.3 * x[0].exp() + w[2].sin(), 0)  # not a polynomial: compiled with sympy
    qc.h(0)
    qc.global_phase = w[0] / 2
    return qc, list(x), list(w)


def _dense_ev(qc, values, observable):
    return Statevector(qc.assign_parameters(values)).expectation_value(observable).real


@pytest.mark.parametrize("build", [
    lambda: qsann_circuit(2).circuit,
    lambda: self_attention_circuit(3, 2, value_qubits=2).circuit,
    lambda: self_attention_circuit(2, 2, queries="tokens").circuit,
    lambda: key_distribution_circuit(5, 2, query=2).circuit,
    lambda: _awkward_circuit()[0],
])
def test_slot_circuit_prepares_the_same_state(build, rng):
    qc = build()
    plan = build_shift_plan(qc)
    assert plan.slot_circuit.num_parameters == plan.num_slots
    values = rng.uniform(-2, 2, (3, qc.num_parameters))
    slots = plan.slot_values(values)
    for row, slot_row in zip(values, slots, strict=True):
        a = Statevector(qc.assign_parameters(row))
        b = Statevector(plan.slot_circuit.assign_parameters(slot_row))
        assert abs(np.vdot(a.data, b.data)) == pytest.approx(1.0, abs=1e-12)


def test_estimator_gradient_equals_finite_differences_and_qml_default(rng):
    qc, _, _ = _awkward_circuit()
    obs = [SparsePauliOp.from_list([("ZIZ", 0.7), ("XYI", -0.2)]), SparsePauliOp("IZI")]
    values = rng.uniform(-2, 2, (4, qc.num_parameters))
    circuits = [qc] * 8
    observables = [o for o in obs for _ in range(4)]
    rows = np.tile(values, (2, 1))
    est = StatevectorEstimator()
    ours = BatchedParamShiftEstimatorGradient(est).run(circuits, observables, rows).result()
    ref = ParamShiftEstimatorGradient(est).run(circuits, observables, rows).result()
    np.testing.assert_allclose(np.array(ours.gradients), np.array(ref.gradients), atol=1e-10)
    eps = 1e-6
    for r in range(8):
        fd = [(_dense_ev(qc, rows[r] + eps * e, observables[r])
               - _dense_ev(qc, rows[r] - eps * e, observables[r])) / (2 * eps)
              for e in np.eye(qc.num_parameters)]
        np.testing.assert_allclose(ours.gradients[r], fd, atol=1e-7)


def test_requested_parameter_subsets_and_uneven_observable_counts(rng):
    qc, x, w = _awkward_circuit()
    est = StatevectorEstimator()
    values = rng.uniform(-2, 2, (3, qc.num_parameters))
    # three rows share values 0, one row has other values: the fallback (one axis) branch
    rows = np.array([values[0], values[0], values[0], values[1]])
    obs = [SparsePauliOp("ZII"), SparsePauliOp("IZI"), SparsePauliOp("IIZ"), SparsePauliOp("ZZZ")]
    params = [[w[2], x[1]], [w[0]], [x[0], w[1]], list(qc.parameters)]
    ours = BatchedParamShiftEstimatorGradient(est).run([qc] * 4, obs, rows, params).result()
    ref = ParamShiftEstimatorGradient(est).run([qc] * 4, obs, rows, params).result()
    for a, b in zip(ours.gradients, ref.gradients, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_one_job_per_backward_through_estimator_qnn(rng):
    qc, x, w = _awkward_circuit()
    est = StatevectorEstimator()
    grad = BatchedParamShiftEstimatorGradient(est, evaluation="primitive")
    obs = [SparsePauliOp("ZII"), SparsePauliOp("IIZ")]
    qnn = EstimatorQNN(circuit=qc, estimator=est, observables=obs, input_params=x,
                       weight_params=w, gradient=grad, input_gradients=True)
    ref = EstimatorQNN(circuit=qc, estimator=est, observables=obs, input_params=x,
                       weight_params=w, input_gradients=True)
    data, weights = rng.uniform(0, 3, (5, 2)), rng.normal(size=3)
    for _ in range(2):
        got, want = qnn.backward(data, weights), ref.backward(data, weights)
        np.testing.assert_allclose(got[0], want[0], atol=1e-10)
        np.testing.assert_allclose(got[1], want[1], atol=1e-10)
    assert grad.jobs == 2 and grad.local_evaluations == 0


def test_exact_reference_estimator_is_evaluated_in_one_numpy_pass(rng):
    qc, x, w = _awkward_circuit()
    obs = [SparsePauliOp.from_list([("ZIZ", 0.7), ("XYI", -0.2)]), SparsePauliOp("IZI")]
    values = rng.uniform(-2, 2, (3, qc.num_parameters))
    circuits, observables, rows = [qc] * 6, [o for o in obs for _ in range(3)], np.tile(values,
                                                                                       (2, 1))
    est = StatevectorEstimator()
    local = BatchedParamShiftEstimatorGradient(est)
    via_primitive = BatchedParamShiftEstimatorGradient(est, evaluation="primitive")
    got = local.run(circuits, observables, rows).result()
    want = via_primitive.run(circuits, observables, rows).result()
    assert local.evaluation == "auto" and local.local_evaluations == 1 and local.jobs == 0
    assert got.metadata[0]["evaluated_by"] == "statevector (numpy, exact)"
    assert want.metadata[0]["evaluated_by"] == "StatevectorEstimator"
    np.testing.assert_allclose(np.array(got.gradients), np.array(want.gradients), atol=1e-12)
    # a noisy reference estimator (precision > 0) is left to the primitive
    noisy = BatchedParamShiftEstimatorGradient(StatevectorEstimator(default_precision=0.1,
                                                                    seed=1))
    assert noisy.run([qc], [obs[1]], values[:1]).result().metadata[0]["evaluated_by"] == (
        "StatevectorEstimator")
    with pytest.raises(ValueError, match="evaluation must be one of"):
        BatchedParamShiftEstimatorGradient(est, evaluation="adjoint")
    with pytest.raises(ValueError, match="exact"):
        BatchedParamShiftEstimatorGradient(est, evaluation="statevector", precision=0.1)


def test_sampler_gradient_equals_exact_probability_derivatives(rng):
    qc, _, _ = _awkward_circuit()
    measured = qc.copy()
    measured.measure_all()
    values = rng.uniform(-2, 2, (1, qc.num_parameters))
    shots = 20_000
    sampler = StatevectorSampler(default_shots=shots, seed=11)
    ours = BatchedParamShiftSamplerGradient(sampler).run([measured], values).result()
    eps = 1e-6
    for r in range(1):
        for j, e in enumerate(np.eye(qc.num_parameters)):
            exact = (Statevector(qc.assign_parameters(values[r] + eps * e)).probabilities()
                     - Statevector(qc.assign_parameters(values[r] - eps * e)).probabilities()
                     ) / (2 * eps)
            got = np.zeros(8)
            for key, val in ours.gradients[r][j].items():
                got[key] = val
            # |coefficient| <= 2 here; each shift term is a shot estimate
            np.testing.assert_allclose(got, exact, atol=0.05)


def test_gradients_refuse_what_they_cannot_differentiate():
    a = Parameter("a")
    qc = QuantumCircuit(1)
    qc.delay(a, 0)
    qc.ry(a, 0)
    grad = BatchedParamShiftEstimatorGradient(StatevectorEstimator())
    with pytest.raises(Exception, match="parameter-shift rule to instruction 'delay'"):
        grad.run([qc], [SparsePauliOp("Z")], [[1.0]]).result()
    with pytest.raises(TypeError, match="BaseEstimatorV2"):
        BatchedParamShiftEstimatorGradient(object())
    with pytest.raises(ValueError, match="precision"):
        BatchedParamShiftEstimatorGradient(StatevectorEstimator(), precision=-1)
    with pytest.raises(ValueError, match="shots"):
        BatchedParamShiftSamplerGradient(StatevectorSampler(), shots=0)


def test_exact_aer_and_isa_circuits_use_the_numpy_pass(rng):
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    from qiskit_qattn.qml import make_estimator, self_attention_qnn

    aer = make_estimator("aer", options={"backend_options": {"max_parallel_threads": 1}})
    # an ISA circuit on a 133-qubit device: only the few qubits in use are simulated
    qnn = self_attention_qnn(2, 1, estimator=aer, device="fake_torino")
    ref = self_attention_qnn(2, 1, estimator=aer, device="fake_torino",
                             gradient=BatchedParamShiftEstimatorGradient(aer,
                                                                         evaluation="primitive"))
    data, weights = rng.uniform(0, 3, (4, 2)), rng.normal(size=qnn.num_weights)
    np.testing.assert_allclose(qnn.backward(data, weights)[1], ref.backward(data, weights)[1],
                               atol=1e-10)
    assert qnn.gradient.local_evaluations == 1 and qnn.gradient.jobs == 0
    assert ref.gradient.jobs == 1
    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(0.05, 1), ["ry"])
    noisy = make_estimator("aer", options={"backend_options": {"noise_model": noise}})
    qc, _, _ = _awkward_circuit()
    res = BatchedParamShiftEstimatorGradient(noisy).run(
        [qc], [SparsePauliOp("IIZ")], rng.uniform(-1, 1, (1, qc.num_parameters))).result()
    assert res.metadata[0]["evaluated_by"] == "EstimatorV2"
