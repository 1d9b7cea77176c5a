"""Sampling estimators of attention: the Phase-0 prototype and the Phase-1 quantum-inspired one.

Nothing here imports torch at import time; the registry loads these modules on first use.
"""

from .prototype import STRATEGIES, quantum_inspired_attention_prototype

__all__ = ["STRATEGIES", "quantum_inspired_attention_prototype"]
