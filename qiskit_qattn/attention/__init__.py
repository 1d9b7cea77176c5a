"""Attention: exact reference, circuit-based estimators, and the torch ``attention`` front end.

:func:`estimate_attention` runs a head's circuits through the execution seam (prepare ->
compile -> execute -> mitigate -> estimate); :func:`run_head` is its Runtime form.
``attention(query, key, value, backend=...)`` is the torch entry point (contract in
:mod:`qiskit_qattn.attention.api`); backends live in a registry (:func:`available_backends`,
:func:`register_backend`). Importing this package does not import torch.
"""

from .api import attention
from .estimate import (
    EXECUTIONS,
    AttentionEstimate,
    MitigationReport,
    estimate_attention,
    mitigation_note,
)
from .exact import exact_attention, exact_attention_weights
from .key_estimators import outputs_from_counts, outputs_with_covariance
from .registry import available_backends, get_backend, register_backend, unregister_backend
from .result import AttentionResult
from .run_head import run_head
from .sampling import quantum_inspired_attention_prototype

__all__ = [
    "EXECUTIONS",
    "AttentionEstimate",
    "AttentionResult",
    "MitigationReport",
    "attention",
    "available_backends",
    "estimate_attention",
    "exact_attention",
    "exact_attention_weights",
    "get_backend",
    "mitigation_note",
    "outputs_from_counts",
    "outputs_with_covariance",
    "quantum_inspired_attention_prototype",
    "register_backend",
    "run_head",
    "unregister_backend",
]
