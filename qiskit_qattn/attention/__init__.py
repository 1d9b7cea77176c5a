"""Attention: exact reference, circuit-based estimators, and the torch ``attention`` front end.

``attention(query, key, value, backend=...)`` is the torch entry point (contract in
:mod:`qiskit_qattn.attention.api`); backends live in a registry (:func:`available_backends`,
:func:`register_backend`). Importing this package does not import torch.
"""

from .api import attention
from .estimate import EXECUTIONS, AttentionEstimate, estimate_attention
from .exact import exact_attention, exact_attention_weights
from .key_estimators import outputs_from_counts
from .registry import available_backends, get_backend, register_backend, unregister_backend
from .result import AttentionResult
from .sampling import quantum_inspired_attention_prototype

__all__ = [
    "EXECUTIONS",
    "AttentionEstimate",
    "AttentionResult",
    "attention",
    "available_backends",
    "estimate_attention",
    "exact_attention",
    "exact_attention_weights",
    "get_backend",
    "outputs_from_counts",
    "quantum_inspired_attention_prototype",
    "register_backend",
    "unregister_backend",
]
