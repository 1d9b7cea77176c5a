"""Dense statevectors of arbitrary circuits with the Numba gate kernels."""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from .lowering import Program, lower_circuit
from .structured import resolve_dtype


def dense_bytes(num_qubits: int, dtype: Any = "complex128", *, probabilities: bool = True) -> int:
    """Bytes of one dense run: the state, one full-width diagonal and float64 probabilities.

    Example:
        >>> dense_bytes(10) // 1024
        40
    """
    size = 2**num_qubits
    item = resolve_dtype(dtype).itemsize
    return size * (2 * item + (8 if probabilities else 0))


def run_program(program: Program, dtype: Any = "complex128") -> np.ndarray:
    """Apply a lowered program to ``|0...0>``; returns the state as a ``[1, 2**n]`` array."""
    from ._kernels import apply_1q, apply_diagonal, apply_kq, apply_multiplexed, apply_prepare

    dt = resolve_dtype(dtype)
    n = program.num_qubits
    state = np.zeros((1, 2**n), dtype=dt)
    state[0, 0] = 1.0
    everything = np.arange(n, dtype=np.int64)
    for op in program.ops:
        kind = op[0]
        if kind == "1q":
            apply_1q(state, op[1], op[2].astype(dt))
        elif kind == "kq":
            apply_kq(state, op[1], op[2].astype(dt))
        elif kind == "diag":
            qubits, diag = op[1], op[2]
            if qubits.shape[0] == n and np.array_equal(qubits, everything):
                state *= diag.astype(dt, copy=False)
            else:
                apply_diagonal(state, qubits, diag.astype(dt))
        elif kind == "prep":
            apply_prepare(state, op[1], op[2].astype(dt))
        else:  # "mux"
            apply_multiplexed(state, op[1], op[2], op[3].astype(dt))
    if program.global_phase:
        state *= dt.type(np.exp(1j * program.global_phase))
    return state


def dense_statevector(circuit: QuantumCircuit, dtype: Any = "complex128") -> np.ndarray:
    """Statevector of ``circuit`` (measurements ignored) as a 1-D array.

    Example:
        >>> from qiskit.quantum_info import Statevector
        >>> qc = QuantumCircuit(3); _ = qc.h(0); _ = qc.ccx(0, 1, 2); _ = qc.ry(0.4, 1)
        >>> bool(np.allclose(dense_statevector(qc), Statevector(qc).data, atol=1e-12))
        True
    """
    return run_program(lower_circuit(circuit), dtype)[0]
