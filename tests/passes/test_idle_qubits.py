import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qiskit_qattn.passes import active_qubits, compact_circuit


def test_compact_circuit_keeps_the_state():
    qc = QuantumCircuit(5)
    qc.h(1)
    qc.cx(1, 3)
    qc.barrier()
    qc.ry(0.3, 3)
    small, qubits = compact_circuit(qc)
    assert qubits == [1, 3] == active_qubits(qc) and small.num_qubits == 2
    full = Statevector(qc).probabilities([1, 3])
    np.testing.assert_allclose(Statevector(small).probabilities(), full, atol=1e-12)
