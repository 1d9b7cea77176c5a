"""Attention as circuits: key-register state builders and value observables.

Builders follow ``qiskit.circuit.library.qaoa_ansatz``: functions returning a
``QuantumCircuit`` whose ``metadata`` records the row (keys, key qubits, padding, query index).
"""

from .attention_circuits import METHODS, attention_circuits, attention_scores
from .observables import kept_keys_projector, value_observables
from .qaoa import QAOA_MAX_KEYS, qaoa_attention
from .schedules import DEFAULT_SCHEDULES, default_schedule
from .softmax_state import SOFTMAX_STATE_MAX_KEYS, softmax_state
from .variational import variational_block, z_observables

__all__ = [
    "DEFAULT_SCHEDULES",
    "METHODS",
    "QAOA_MAX_KEYS",
    "SOFTMAX_STATE_MAX_KEYS",
    "attention_circuits",
    "attention_scores",
    "default_schedule",
    "kept_keys_projector",
    "qaoa_attention",
    "softmax_state",
    "value_observables",
    "variational_block",
    "z_observables",
]
