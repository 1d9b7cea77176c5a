"""Memory estimates per method and the width check that runs before anything is allocated."""

from __future__ import annotations

import os

import numpy as np

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def format_bytes(num: float) -> str:
    """Human-readable byte count.

    Example:
        >>> format_bytes(3 * 2**30)
        '3.0 GiB'
    """
    num = float(num)
    for unit in _UNITS:
        if num < 1024 or unit == _UNITS[-1]:
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} {_UNITS[-1]}"  # pragma: no cover


def physical_memory() -> int:
    """Total physical memory in bytes (8 GiB if the platform does not say).

    Example:
        >>> physical_memory() > 0
        True
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 2**30


def default_memory_limit() -> int:
    """Default ``max_memory`` of :func:`simulate`: half the physical memory."""
    return physical_memory() // 2


def state_bytes(num_qubits: int, itemsize: int, copies: float = 1.0) -> float:
    """``copies * 2**num_qubits * itemsize`` as a float (no overflow for wide registers)."""
    return copies * float(2.0**num_qubits) * itemsize


def aer_bytes(num_qubits: int, aer_method: str, itemsize: int) -> float:
    """Rough peak of an Aer run: twice the state (statevector) or density matrix.

    Example:
        >>> aer_bytes(10, "density_matrix", 16) == 2 * 4**10 * 16
        True
    """
    if aer_method == "density_matrix":
        return 2.0 * float(4.0**num_qubits) * itemsize
    if aer_method in ("statevector", "automatic"):
        return state_bytes(num_qubits, itemsize, 2.0)
    return 0.0  # matrix_product_state and others: no dense allocation


def check_memory(
    method: str, num_qubits: int, needed: float, limit: int, dtype: np.dtype | str
) -> None:
    """Raise before allocating when ``method`` needs more than ``limit`` bytes.

    Example:
        >>> check_memory("statevector", 40, 2.0**44, 2**33, "complex128")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: a 40-qubit circuit needs 16.0 TiB with method='statevector' ... method='mps' ...
    """
    if needed > limit:
        raise ValueError(
            f"a {num_qubits}-qubit circuit needs {format_bytes(needed)} with method="
            f"{method!r} ({np.dtype(dtype).name}), more than max_memory={format_bytes(limit)}; "
            "use method='mps' for wide, low-entanglement circuits "
            "(or dtype='complex64' / a larger max_memory)"
        )
