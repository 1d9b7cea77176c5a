"""Run circuits on another framework's simulator; outcomes in Qiskit's basis-state order.

Outcome arrays are ``[n_circuits, 2**n]``, column ``x`` the basis state whose bit ``i`` is qubit
``i`` (Qiskit's little-endian order), whatever the framework's own convention.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit

from .frameworks import cirq_qubits, portable_circuit, to_braket, to_cirq, to_pennylane

#: Where :func:`framework_probabilities` and :func:`framework_counts` run circuits.
FRAMEWORKS = ("qiskit", "pennylane", "braket", "cirq")


def framework_probabilities(circuits: Sequence[QuantumCircuit], framework: str) -> np.ndarray:
    """Exact outcome probabilities of each circuit, computed by ``framework``'s simulator.

    ``qiskit``: ``Statevector``; ``pennylane``: ``default.qubit`` (analytic ``qml.probs``);
    ``braket``: the Braket SDK's ``LocalSimulator`` with ``shots=0``; ``cirq``: ``cirq.Simulator``
    (complex128 state vector).

    Example:
        >>> qc = QuantumCircuit(2); _ = qc.x(0)
        >>> framework_probabilities([qc], "qiskit").tolist()
        [[0.0, 1.0, 0.0, 0.0]]
    """
    items = _circuits(circuits)
    fn = {"qiskit": _qiskit_probs, "pennylane": _pennylane_probs, "braket": _braket_probs,
          "cirq": _cirq_probs}[_framework(framework)]
    return np.stack([fn(qc) for qc in items])


def framework_counts(circuits: Sequence[QuantumCircuit], framework: str, shots: int, *,
                     seed: int | None = None) -> np.ndarray:
    """Measurement counts of each circuit sampled ``shots`` times by ``framework``.

    ``qiskit``: ``Statevector.sample_counts``; ``pennylane``: ``default.qubit`` with
    ``qml.sample``; ``braket``: qiskit-braket-provider's ``BraketLocalBackend`` (the Braket local
    simulator; it draws from an unseeded generator, so ``seed`` must be ``None``); ``cirq``:
    ``cirq.Simulator(seed=...)``. With a seed, circuit ``i`` uses ``seed + i``.

    Raises:
        ValueError: unknown framework, ``shots < 1``, or a seed for Braket.

    Example:
        >>> qc = QuantumCircuit(1); _ = qc.x(0)
        >>> framework_counts([qc], "qiskit", 10, seed=0).tolist()
        [[0, 10]]
    """
    items = _circuits(circuits)
    name = _framework(framework)
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise ValueError(f"shots must be a positive integer; got {shots!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None; got {seed!r}")
    if name == "braket" and seed is not None:
        raise ValueError("Braket's local simulator cannot be seeded; pass seed=None for braket")
    fn = {"qiskit": _qiskit_counts, "pennylane": _pennylane_counts, "braket": _braket_counts,
          "cirq": _cirq_counts}[name]
    return np.stack([fn(qc, int(shots), None if seed is None else int(seed) + i)
                     for i, qc in enumerate(items)])


def _framework(name: str) -> str:
    if name not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}; got {name!r}")
    return name


def _circuits(circuits) -> list[QuantumCircuit]:
    items = [circuits] if isinstance(circuits, QuantumCircuit) else list(circuits)
    if not items or not all(isinstance(c, QuantumCircuit) for c in items):
        raise TypeError("circuits must be a QuantumCircuit or a non-empty sequence of them")
    return items


def _index(bits: np.ndarray) -> np.ndarray:
    """Basis-state index of bit rows ``[shots, n]`` whose column ``i`` is qubit ``i``."""
    return bits.astype(np.int64) @ (1 << np.arange(bits.shape[1], dtype=np.int64))


def _histogram(indices: np.ndarray, num_qubits: int) -> np.ndarray:
    return np.bincount(indices, minlength=2**num_qubits)


def _qiskit_probs(qc: QuantumCircuit) -> np.ndarray:
    from qiskit.quantum_info import Statevector

    return Statevector(portable_circuit(qc)).probabilities()


def _qiskit_counts(qc: QuantumCircuit, shots: int, seed: int | None) -> np.ndarray:
    from qiskit.quantum_info import Statevector

    sv = Statevector(portable_circuit(qc))
    sv.seed(seed)
    counts = sv.sample_counts(shots)
    out = np.zeros(2**qc.num_qubits, dtype=np.int64)
    for key, c in counts.items():
        out[int(key, 2)] = c
    return out


def _pennylane_qnode(qc: QuantumCircuit, measure, shots: int | None, seed: int | None):
    import pennylane as qml

    n = qc.num_qubits
    qfunc = to_pennylane(qc)

    def body():
        qfunc()
        return measure(qml, n)

    node = qml.QNode(body, qml.device("default.qubit", wires=n, seed=seed))
    return node if shots is None else qml.set_shots(node, shots=shots)


def _pennylane_probs(qc: QuantumCircuit) -> np.ndarray:
    node = _pennylane_qnode(qc, lambda qml, n: qml.probs(wires=list(range(n))[::-1]), None,
                            None)
    return np.asarray(node(), dtype=float)


def _pennylane_counts(qc: QuantumCircuit, shots: int, seed: int | None) -> np.ndarray:
    node = _pennylane_qnode(qc, lambda qml, n: qml.sample(wires=list(range(n))), shots, seed)
    bits = np.asarray(node()).reshape(shots, qc.num_qubits)
    return _histogram(_index(bits), qc.num_qubits)


def _braket_probs(qc: QuantumCircuit) -> np.ndarray:
    from braket.devices import LocalSimulator

    circuit = to_braket(qc)
    n = qc.num_qubits
    circuit.probability(target=list(range(n)))
    big_endian = np.asarray(LocalSimulator().run(circuit, shots=0).result().values[0])
    return big_endian.reshape([2] * n).transpose(tuple(range(n))[::-1]).ravel()


def _braket_counts(qc: QuantumCircuit, shots: int, seed: int | None) -> np.ndarray:
    from qiskit_braket_provider import BraketLocalBackend

    measured = portable_circuit(qc)
    measured.measure_all()
    counts = BraketLocalBackend().run(measured, shots=shots).result().get_counts()
    out = np.zeros(2**qc.num_qubits, dtype=np.int64)
    for key, c in counts.items():
        out[int(key.replace(" ", ""), 2)] = c
    return out


def _cirq_probs(qc: QuantumCircuit) -> np.ndarray:
    import cirq

    qubits = cirq_qubits(qc.num_qubits)
    state = cirq.Simulator(dtype=np.complex128).simulate(
        to_cirq(qc), qubit_order=qubits[::-1]).final_state_vector
    return np.abs(state) ** 2


def _cirq_counts(qc: QuantumCircuit, shots: int, seed: int | None) -> np.ndarray:
    import cirq

    qubits = cirq_qubits(qc.num_qubits)
    circuit = to_cirq(qc) + cirq.measure(*qubits, key="keys")
    result = cirq.Simulator(seed=seed).run(circuit, repetitions=shots)
    return _histogram(_index(result.measurements["keys"]), qc.num_qubits)
