"""Attention as circuits: key-register state builders and value observables.

Builders follow ``qiskit.circuit.library.qaoa_ansatz``: functions returning a
``QuantumCircuit`` whose ``metadata`` records the row (keys, key qubits, padding, query index).
"""

from .attention_circuits import METHODS, attention_circuits, attention_scores
from .families import (
    amplification_attention,
    born_machine_attention,
    key_probabilities,
    ma_qaoa_attention,
    warm_start_attention,
)
from .observables import kept_keys_projector, value_observables
from .qaoa import QAOA_MAX_KEYS, qaoa_attention
from .schedules import DEFAULT_SCHEDULES, default_schedule, family_schedule
from .softmax_state import SOFTMAX_STATE_MAX_KEYS, softmax_state
from .variational import variational_block, z_observables

__all__ = [
    "DEFAULT_SCHEDULES",
    "METHODS",
    "QAOA_MAX_KEYS",
    "SOFTMAX_STATE_MAX_KEYS",
    "amplification_attention",
    "attention_circuits",
    "attention_scores",
    "born_machine_attention",
    "default_schedule",
    "family_schedule",
    "key_probabilities",
    "kept_keys_projector",
    "ma_qaoa_attention",
    "qaoa_attention",
    "softmax_state",
    "value_observables",
    "variational_block",
    "warm_start_attention",
    "z_observables",
]
