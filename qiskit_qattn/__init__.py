"""qiskit-qattn: attention as quantum circuits, compiled shallow, run and mitigated, in PyTorch.

The top-level namespace is light on purpose: importing ``qiskit_qattn`` loads no simulator,
compiles no Numba kernel and imports neither torch nor transformers. Subpackages load on use.

Example:
    >>> import numpy as np
    >>> from qiskit_qattn import exact_attention
    >>> exact_attention(np.eye(2), np.eye(2), np.eye(2)).shape
    (2, 2)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "exact_attention": "qiskit_qattn.attention",
    "estimate_attention": "qiskit_qattn.attention",
    "AttentionEstimate": "qiskit_qattn.attention",
    "softmax_state": "qiskit_qattn.circuits",
    "qaoa_attention": "qiskit_qattn.circuits",
    "value_observables": "qiskit_qattn.circuits",
    "prepare_head": "qiskit_qattn.circuits",
    "run_head": "qiskit_qattn.attention",
    "simulate": "qiskit_qattn.sim",
    "SimulationResult": "qiskit_qattn.sim",
    "qaoa_problem": "qiskit_qattn.sim",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    """Import public names from their subpackage on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qiskit_qattn' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
