"""Key registers: how many qubits hold ``n`` keys, and padding of scores/values to ``2**m``."""

from __future__ import annotations

import math

import numpy as np


def num_key_qubits(num_keys: int) -> int:
    """Qubits ``m = max(1, ceil(log2 n))`` of a key register holding ``n`` keys.

    Example:
        >>> [num_key_qubits(n) for n in (1, 2, 3, 8, 9)]
        [1, 1, 2, 3, 4]
    """
    if isinstance(num_keys, bool) or not isinstance(num_keys, (int, np.integer)) or num_keys < 1:
        raise ValueError(f"num_keys must be an integer >= 1; got {num_keys!r}")
    return max(1, math.ceil(math.log2(int(num_keys))))


def pad_rows(values: np.ndarray, num_qubits: int, fill: float = 0.0) -> np.ndarray:
    """Pad the first axis of ``values`` to ``2**num_qubits`` with ``fill`` (a new array).

    Example:
        >>> pad_rows(np.ones((3, 2)), 2).tolist()[-1]
        [0.0, 0.0]
    """
    values = np.asarray(values, dtype=np.float64)
    size = 2**num_qubits
    if values.shape[0] > size:
        raise ValueError(f"cannot pad {values.shape[0]} rows into {size} basis states")
    out = np.full((size, *values.shape[1:]), fill, dtype=np.float64)
    out[: values.shape[0]] = values
    return out


def pad_mask(mask: np.ndarray | None, num_keys: int, num_qubits: int) -> np.ndarray:
    """Keep-mask over ``2**num_qubits`` basis states: padding keys are always masked.

    Args:
        mask: boolean keep-mask of length ``num_keys`` (``True`` = attend) or ``None``.

    Example:
        >>> pad_mask(None, 3, 2).tolist()
        [True, True, True, False]
    """
    out = np.zeros(2**num_qubits, dtype=bool)
    out[:num_keys] = True if mask is None else np.asarray(mask, dtype=bool)
    return out
