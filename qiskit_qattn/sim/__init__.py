"""Simulation of attention circuits behind one entry point, :func:`simulate`.

Methods: structured Numba kernels for QAOA attention (no circuit built, batched over queries and
heads), a dense Numba statevector for any circuit, matrix product states for wide
low-entanglement circuits (a lean numpy engine or quimb ``CircuitMPS``), and Aer for noisy /
density-matrix runs. Names load lazily: importing this package
imports neither Aer, quimb, torch nor Numba, and compiles nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    # entry point and result
    "simulate": "qiskit_qattn.sim.api",
    "METHODS": "qiskit_qattn.sim.api",
    "AUTO_DENSE_MAX_QUBITS": "qiskit_qattn.sim.api",
    "SimulationResult": "qiskit_qattn.sim.result",
    # structured QAOA problems
    "QaoaProblem": "qiskit_qattn.sim.structured",
    "qaoa_problem": "qiskit_qattn.sim.structured",
    "qaoa_problem_from_attention": "qiskit_qattn.sim.structured",
    "structured_statevectors": "qiskit_qattn.sim.structured",
    "qaoa_circuit": "qiskit_qattn.sim.structured",
    "problem_circuits": "qiskit_qattn.sim.structured",
    # dense and MPS building blocks
    "dense_statevector": "qiskit_qattn.sim.dense",
    "lower_circuit": "qiskit_qattn.sim.lowering",
    "build_native_mps": "qiskit_qattn.sim.mps",
    "build_quimb_mps": "qiskit_qattn.sim.mps",
    "NativeMPS": "qiskit_qattn.sim.mps_native",
    "format_bytes": "qiskit_qattn.sim.memory",
    # shots from exact distributions (the one multinomial sampler)
    "sample_counts": "qiskit_qattn.sim.sampling",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    """Import public names from their module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qiskit_qattn.sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
