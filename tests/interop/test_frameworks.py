"""One attention head's circuits on PennyLane, Braket and Cirq, against Qiskit (no mocks)."""

import importlib.util

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qiskit_qattn.attention import exact_attention
from qiskit_qattn.interop import (
    cirq_qubits,
    estimate_head_on,
    framework_counts,
    framework_probabilities,
    head_circuits,
    to_braket,
    to_cirq,
    to_pennylane,
)

PACKAGES = {"pennylane": ("pennylane",), "braket": ("qiskit_braket_provider", "braket"),
            "cirq": ("cirq", "ply")}
FRAMEWORKS = [
    pytest.param(name, marks=pytest.mark.skipif(
        any(importlib.util.find_spec(m) is None for m in mods),
        reason=f"{'/'.join(mods)} not installed (pip install qiskit-qattn[interop])"))
    for name, mods in PACKAGES.items()
]
SHOTS = 20_000


def our_statevector_estimate(Q, K, V, family, scale):
    """The package's own estimator, exact probabilities (the lead's seam: one call here)."""
    from qiskit_qattn.attention import estimate_attention

    est = estimate_attention(Q, K, V, family=family, execution="statevector", scale=scale)
    return np.asarray(est.values)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("family", ["softmax_state", "qaoa", "warm_start"])
def test_exact_probabilities_match_qiskit(minilm_head, framework, family):
    Q, K, _, scale = minilm_head
    circuits = head_circuits(Q[:3], K, family=family, scale=scale)
    got = framework_probabilities(circuits, framework)
    ref = np.stack([Statevector(qc).probabilities() for qc in circuits])
    np.testing.assert_allclose(got, ref, atol=1e-9)


@pytest.mark.parametrize("framework, family", [
    *[pytest.param(f.values[0], "softmax_state", marks=f.marks) for f in FRAMEWORKS],
    # warm_start lays keys out by score rank: the hand-off must undo it. Seeded frameworks only
    # (Braket, unseeded, runs one family to keep its false-alarm chance small).
    *[pytest.param(f.values[0], "warm_start", marks=f.marks) for f in FRAMEWORKS
      if f.values[0] != "braket"],
])
def test_shot_estimates_agree_with_ours_within_4_sigma(minilm_head, framework, family):
    """16-key head, 8 queries x 4 value columns, 20k shots per query.

    Braket's local simulator cannot be seeded: its run is fresh every time, and the chance that
    one of the 32 entries lands beyond 4 sigma by bad luck is about 0.2%.
    """
    Q, K, V, scale = minilm_head
    seed = None if framework == "braket" else 11
    est = estimate_head_on(framework, Q, K, V, family=family, shots=SHOTS, seed=seed,
                           scale=scale)
    ours = our_statevector_estimate(Q, K, V, family, scale)
    exact_here = estimate_head_on("qiskit", Q, K, V, family=family, shots=None, scale=scale)
    np.testing.assert_allclose(exact_here.values, ours, atol=1e-9)
    # sigma from the exact key distribution: sqrt(Var_p(V) / shots)
    p = exact_here.values
    second = estimate_head_on("qiskit", Q, K, V**2, family=family, shots=None, scale=scale)
    sigma = np.sqrt((second.values - p**2) / SHOTS)
    z = (est.values - ours) / sigma
    assert np.abs(z).max() < 4, np.abs(z).max()
    assert 0.5 < np.sqrt(np.mean(z**2)) < 1.6  # shot noise is really there, of the right size
    np.testing.assert_allclose(est.std_errors, sigma, rtol=0.1)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_exact_outputs_equal_exact_attention(minilm_head, framework):
    Q, K, V, scale = minilm_head
    est = estimate_head_on(framework, Q[:2], K, V, shots=None, scale=scale)
    np.testing.assert_allclose(est.values, exact_attention(Q[:2], K, V, scale=scale), atol=1e-9)
    assert not est.std_errors.any()


@pytest.mark.parametrize("framework", [f for f in FRAMEWORKS if f.values[0] != "braket"])
def test_seeded_frameworks_repeat(minilm_head, framework):
    Q, K, _, scale = minilm_head
    circuits = head_circuits(Q[:2], K, scale=scale)
    a = framework_counts(circuits, framework, 100, seed=3)
    assert np.array_equal(a, framework_counts(circuits, framework, 100, seed=3))
    assert not np.array_equal(a, framework_counts(circuits, framework, 100, seed=4))
    assert a.sum(axis=1).tolist() == [100, 100]


@pytest.mark.skipif(importlib.util.find_spec("pennylane") is None, reason="pennylane missing")
def test_pennylane_qasm3_route_on_other_wires():
    import pennylane as qml

    qc = QuantumCircuit(2)
    qc.x(0)
    qfunc = to_pennylane(qc, via="qasm3")

    @qml.qnode(qml.device("default.qubit", wires=["a", "b"]))
    def probs():
        qfunc(wires=["a", "b"])
        return qml.probs(wires=["a", "b"])

    assert probs().tolist() == [0.0, 0.0, 1.0, 0.0]  # wire "a" (qubit 0) is the first bit
    with pytest.raises(ValueError, match="via must be one of"):
        to_pennylane(qc, via="tape")
    if importlib.util.find_spec("pennylane_qiskit") is None:
        with pytest.raises(ImportError, match="pennylane-qiskit"):
            to_pennylane(qc, via="qiskit")


@pytest.mark.skipif(importlib.util.find_spec("cirq") is None, reason="cirq-core missing")
def test_cirq_keeps_qubit_names_and_order():
    qc = QuantumCircuit(3)
    qc.x(2)
    circuit = to_cirq(qc)
    assert set(circuit.all_qubits()) == {cirq_qubits(3)[2]}
    assert framework_probabilities([qc], "cirq")[0].argmax() == 4


@pytest.mark.skipif(importlib.util.find_spec("qiskit_braket_provider") is None,
                    reason="qiskit-braket-provider missing")
def test_braket_keeps_idle_qubits():
    qc = QuantumCircuit(3)
    qc.x(1)
    assert to_braket(qc).qubit_count == 3
    assert framework_probabilities([qc], "braket")[0].argmax() == 2


def test_bad_runs_are_refused():
    qc = QuantumCircuit(1)
    with pytest.raises(ValueError, match="framework must be one of"):
        framework_probabilities([qc], "qsharp")
    with pytest.raises(ValueError, match="shots must be a positive integer"):
        framework_counts([qc], "qiskit", 0)
    with pytest.raises(ValueError, match="cannot be seeded"):
        framework_counts([qc], "braket", 10, seed=1)
    with pytest.raises(TypeError, match="QuantumCircuit"):
        framework_probabilities([], "qiskit")
    with pytest.raises(ValueError, match="V must be 2-D"):
        estimate_head_on("qiskit", np.ones((1, 2)), np.ones((4, 2)), np.ones(4))
