"""Simulation of attention circuits: exact statevector probabilities and Aer shot sampling."""

from .aer_sampling import counts_to_array, sample_compiled
from .compact import active_qubits, compact_circuit
from .statevector import MAX_STATEVECTOR_QUBITS, key_probabilities

__all__ = [
    "MAX_STATEVECTOR_QUBITS",
    "active_qubits",
    "compact_circuit",
    "counts_to_array",
    "key_probabilities",
    "sample_compiled",
]
