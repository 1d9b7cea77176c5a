"""The one place where :mod:`qiskit_qattn.qml` calls into modules under redesign (issue 14).

Everything ``qml`` needs from ``circuits`` and ``runtime`` goes through these three functions, so
a rename there (``resolve_backend`` -> ``resolve_device``) is ported here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from qiskit import QuantumCircuit
from qiskit.providers import BackendV2
from qiskit.quantum_info import SparsePauliOp


def resolve_device(device: str | BackendV2) -> BackendV2:
    """A ``BackendV2`` for a device name (``"fake_torino"``, ``"ibm_<name>"``) or a backend.

    Example:
        >>> resolve_device("fake_nairobi").num_qubits
        7
    """
    from ..runtime import backends

    resolve = getattr(backends, "resolve_device", None) or backends.resolve_backend
    return resolve(device)


def variational_block(num_qubits: int, reps: int, **options: Any) -> QuantumCircuit:
    """The QSANN block of :mod:`qiskit_qattn.circuits.variational` (inputs ``x``, weights ``θ``).

    Example:
        >>> variational_block(2, 1).num_parameters
        8
    """
    from ..circuits.variational import variational_block as build

    return build(num_qubits, reps, **options)


def z_observables(num_qubits: int) -> list[SparsePauliOp]:
    """Single-qubit ``Z_i`` observables on ``num_qubits`` qubits (little-endian).

    Example:
        >>> [op.paulis[0].to_label() for op in z_observables(2)]
        ['IZ', 'ZI']
    """
    from ..circuits.variational import z_observables as build

    return build(num_qubits)
