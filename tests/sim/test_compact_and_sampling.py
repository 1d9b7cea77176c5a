import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qattn.circuits import softmax_state
from qiskit_qattn.passes import compile_circuits
from qiskit_qattn.sim import compact_circuit, counts_to_array, key_probabilities, sample_compiled


def test_compact_circuit_keeps_the_state():
    qc = QuantumCircuit(5)
    qc.h(1)
    qc.cx(1, 3)
    qc.barrier()
    qc.ry(0.3, 3)
    small, qubits = compact_circuit(qc)
    assert qubits == [1, 3] and small.num_qubits == 2
    full = Statevector(qc).probabilities([1, 3])
    np.testing.assert_allclose(Statevector(small).probabilities(), full, atol=1e-12)


def test_counts_to_array():
    assert counts_to_array({"11": 2, 0: 1, "0x1": 4}, 4).tolist() == [1, 4, 0, 2]


def test_noiseless_compiled_sampling_matches_probabilities(rng):
    s = rng.normal(size=8)
    qc = softmax_state(s)
    isa = compile_circuits(qc, FakeManilaV2(), measure=True)
    counts = sample_compiled(isa, shots=40000, num_outcomes=8, noise_model=None, seed=2)
    p = key_probabilities([qc])[0]
    sigma = np.sqrt(p * (1 - p) / 40000) + 1e-12
    assert np.all(np.abs(counts[0] / 40000 - p) < 5 * sigma)


def test_key_probabilities_width_checks():
    import pytest

    with pytest.raises(ValueError, match="share one width"):
        key_probabilities([QuantumCircuit(1), QuantumCircuit(2)])
    with pytest.raises(ValueError, match="use method='mps'"):
        key_probabilities([QuantumCircuit(40)])
