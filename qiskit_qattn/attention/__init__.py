"""Attention: the exact reference and circuit-based estimators of the output."""

from .estimate import EXECUTIONS, AttentionEstimate, estimate_attention
from .exact import exact_attention, exact_attention_weights
from .key_estimators import outputs_from_counts

__all__ = [
    "EXECUTIONS",
    "AttentionEstimate",
    "estimate_attention",
    "exact_attention",
    "exact_attention_weights",
    "outputs_from_counts",
]
