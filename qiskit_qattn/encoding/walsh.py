"""Fast Walsh–Hadamard transform and the Walsh (Z-string) expansion of diagonals.

Convention: for a vector ``d`` of length ``n = 2**m`` indexed by basis states ``z``,
``d[z] = sum_S c[S] * (-1)**popcount(z & S)``: ``c[S]`` multiplies the Z-string acting on the
qubits whose bits are set in ``S`` (qubit k = bit k, little-endian as in Qiskit).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .validation import to_numpy


def _check_power_of_two(n: int, name: str) -> int:
    if n < 1 or n & (n - 1):
        raise ValueError(f"{name} must have a power-of-two length along the last axis; got {n}")
    return n.bit_length() - 1


def fwht(values: Any) -> np.ndarray:
    """Unnormalised fast Walsh–Hadamard transform along the last axis, O(n log n).

    ``fwht(x)[z] = sum_S (-1)**popcount(z & S) * x[S]``; applying it twice multiplies by ``n``.

    Args:
        values: array whose last axis has length ``2**m`` (real or complex).

    Returns:
        A new array of the same shape (float64 or complex128).

    Example:
        >>> fwht([1.0, 0.0]).tolist()
        [1.0, 1.0]
    """
    x = to_numpy(values)
    dtype = np.complex128 if np.iscomplexobj(x) else np.float64
    x = np.array(x, dtype=dtype, copy=True)
    if x.ndim == 0:
        raise ValueError("values must have at least one axis")
    n = x.shape[-1]
    m = _check_power_of_two(n, "values")
    lead = x.shape[:-1]
    h = 1
    for _ in range(m):
        y = x.reshape(*lead, n // (2 * h), 2, h)
        a = y[..., 0, :].copy()
        b = y[..., 1, :]
        y[..., 0, :] += b
        y[..., 1, :] = a - b
        x = y.reshape(*lead, n)
        h *= 2
    return x


def walsh_coefficients(diagonal: Any) -> np.ndarray:
    """Walsh coefficients ``c`` of a diagonal: ``diagonal == fwht(c)``.

    Example:
        >>> walsh_coefficients([3.0, 1.0]).tolist()  # 2*I + 1*Z
        [2.0, 1.0]
    """
    d = to_numpy(diagonal)
    n = d.shape[-1] if d.ndim else 0
    return fwht(d) / n


def diagonal_from_walsh(coefficients: Any) -> np.ndarray:
    """Inverse of :func:`walsh_coefficients`.

    Example:
        >>> diagonal_from_walsh([2.0, 1.0]).tolist()
        [3.0, 1.0]
    """
    return fwht(coefficients)


def walsh_order(num_qubits: int) -> np.ndarray:
    """Number of Z factors (Hamming weight) of each Walsh index ``S`` in ``range(2**num_qubits)``.

    Example:
        >>> walsh_order(2).tolist()
        [0, 1, 1, 2]
    """
    idx = np.arange(2**num_qubits, dtype=np.uint64)
    weights = np.zeros(idx.shape, dtype=np.int64)
    for k in range(num_qubits):
        weights += ((idx >> np.uint64(k)) & np.uint64(1)).astype(np.int64)
    return weights
