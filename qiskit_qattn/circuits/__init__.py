"""Attention as circuits: head preparation, circuit families, value observables.

Start from :func:`prepare_head` (scores, keep mask, padded values, key order and one circuit per
query for a *family*). Builders follow ``qiskit.circuit.library.qaoa_ansatz``: functions returning
a ``QuantumCircuit`` whose ``metadata`` records the row (keys, key qubits, padding, key order,
query index).
"""

from .families import (
    DEFAULT_FAMILY,
    FAMILIES,
    FAMILY_NAMES,
    MAX_KEYS,
    QAOA_MAX_KEYS,
    SOFTMAX_STATE_MAX_KEYS,
    Family,
    amplification_attention,
    born_machine_attention,
    get_family,
    ma_qaoa_attention,
    qaoa_angles,
    qaoa_attention,
    softmax_state,
    warm_start_attention,
)
from .head import PreparedHead, attention_scores, prepare_head
from .observables import kept_keys_projector, value_observables
from .rows import KEY_ORDERS, ScoreRows, kept_sigma, prepare_row, prepare_rows, to_key_order
from .schedules import DEFAULT_SCHEDULES, default_schedule, family_schedule
from .variational import variational_block, z_observables

__all__ = [
    "DEFAULT_FAMILY",
    "DEFAULT_SCHEDULES",
    "FAMILIES",
    "FAMILY_NAMES",
    "KEY_ORDERS",
    "MAX_KEYS",
    "QAOA_MAX_KEYS",
    "SOFTMAX_STATE_MAX_KEYS",
    "Family",
    "PreparedHead",
    "ScoreRows",
    "amplification_attention",
    "attention_scores",
    "born_machine_attention",
    "default_schedule",
    "family_schedule",
    "get_family",
    "kept_keys_projector",
    "kept_sigma",
    "ma_qaoa_attention",
    "prepare_head",
    "prepare_row",
    "prepare_rows",
    "qaoa_angles",
    "qaoa_attention",
    "softmax_state",
    "to_key_order",
    "value_observables",
    "variational_block",
    "warm_start_attention",
    "z_observables",
]
