"""Hand attention circuits to PennyLane or Amazon Braket (optional extras, imported on call)."""

from __future__ import annotations

from typing import Any

from qiskit import QuantumCircuit, transpile

#: Gates every framework we hand circuits to understands.
PORTABLE_BASIS = ("rz", "ry", "rx", "h", "x", "sx", "cx")


def portable_circuit(circuit: QuantumCircuit, *, bind: dict | None = None) -> QuantumCircuit:
    """``circuit`` in :data:`PORTABLE_BASIS`, with final measurements removed.

    State preparation, Pauli evolutions and other high-level gates are unrolled; ``bind``
    assigns parameters first.

    Example:
        >>> import numpy as np
        >>> from qiskit.quantum_info import Statevector
        >>> from qiskit_qattn.circuits import softmax_state
        >>> qc = softmax_state([0.1, 0.7, -0.3])
        >>> out = portable_circuit(qc)
        >>> set(out.count_ops()) <= set(PORTABLE_BASIS)
        True
        >>> bool(np.allclose(Statevector(out).probabilities(), Statevector(qc).probabilities()))
        True
    """
    if not isinstance(circuit, QuantumCircuit):
        raise TypeError(f"circuit must be a QuantumCircuit; got {type(circuit).__name__}")
    qc = circuit.assign_parameters(bind) if bind else circuit
    qc = qc.remove_final_measurements(inplace=False)
    return transpile(qc, basis_gates=list(PORTABLE_BASIS), optimization_level=1,
                     seed_transpiler=0)


def to_pennylane(circuit: QuantumCircuit, *, bind: dict | None = None) -> Any:
    """A PennyLane quantum function for ``circuit`` (via ``pennylane-qiskit``'s converter).

    Wire ``i`` is Qiskit qubit ``i``; note PennyLane orders ``qml.probs`` big-endian.
    """
    try:
        import pennylane as qml
    except ImportError as exc:
        raise ImportError("to_pennylane needs PennyLane: pip install pennylane-qiskit") from exc
    return qml.from_qiskit(portable_circuit(circuit, bind=bind))


def to_braket(circuit: QuantumCircuit, *, bind: dict | None = None) -> Any:
    """An Amazon Braket ``Circuit`` for ``circuit`` (via ``qiskit-braket-provider``)."""
    try:
        try:
            from qiskit_braket_provider import to_braket as convert
        except ImportError:
            from qiskit_braket_provider.providers.adapter import to_braket as convert
    except ImportError as exc:
        raise ImportError("to_braket needs pip install qiskit-braket-provider") from exc
    return convert(portable_circuit(circuit, bind=bind))
