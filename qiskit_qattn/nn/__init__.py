"""Drop-in quantum multi-head attention for PyTorch, its backends and training helpers.

``QuantumMultiheadAttention`` replaces ``torch.nn.MultiheadAttention`` in one line; its heads run
on ``exact``, ``phase0-proto``, ``quantum-sim``, ``variational`` (trainable QSANN circuits) or any
backend of :func:`qiskit_qattn.attention.available_backends`.
"""

from .backends import AttentionFunctionBackend, available_backend_names
from .checkpoint import load_checkpoint, save_checkpoint, train
from .errors import (
    AttentionDtypeError,
    AttentionMaskTypeError,
    AttentionShapeError,
    AttentionSizeError,
)
from .exact_heads import causal_mask, exact_heads
from .multihead import QuantumMultiheadAttention
from .qsann_sim import QsannSpec, qsann_expectations
from .report import HeadStats, head_report, head_report_markdown
from .training import (
    ExactToQuantumCurriculum,
    artifact_penalty,
    quantum_attention_modules,
    set_hybrid,
)
from .variational import ENGINES, QsannMaps, VariationalAttention

__all__ = [
    "ENGINES",
    "AttentionFunctionBackend",
    "AttentionDtypeError",
    "AttentionMaskTypeError",
    "AttentionShapeError",
    "AttentionSizeError",
    "ExactToQuantumCurriculum",
    "HeadStats",
    "QsannMaps",
    "QsannSpec",
    "QuantumMultiheadAttention",
    "VariationalAttention",
    "artifact_penalty",
    "available_backend_names",
    "causal_mask",
    "exact_heads",
    "head_report",
    "head_report_markdown",
    "load_checkpoint",
    "qsann_expectations",
    "quantum_attention_modules",
    "save_checkpoint",
    "set_hybrid",
    "train",
]
