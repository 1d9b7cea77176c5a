"""Validation of angle arrays that may hold floats or Qiskit ``Parameter`` expressions."""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit.circuit import ParameterExpression


def angle_array(values: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """Return ``values`` as an object array of ``shape`` holding floats or Parameters.

    Raises:
        ValueError: wrong shape or a non-finite number, naming ``name``.
    """
    arr = np.empty(shape, dtype=object)
    try:
        src = np.array(values, dtype=object)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise ValueError(f"{name} must be an array of shape {shape}") from exc
    if src.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {src.shape}")
    for idx, v in np.ndenumerate(src):
        if isinstance(v, ParameterExpression):
            arr[idx] = v
            continue
        try:
            f = float(v)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must hold real numbers or Parameters; got {v!r}") from exc
        if not np.isfinite(f):
            raise ValueError(f"{name} must be finite real numbers or Parameters; got {v!r}")
        arr[idx] = f
    return arr


def is_numeric(arr: np.ndarray) -> bool:
    """True when no entry is a ``ParameterExpression``."""
    return not any(isinstance(v, ParameterExpression) for v in arr.flat)


def to_json(arr: np.ndarray) -> list:
    """Angles for circuit metadata: floats stay floats, Parameters become strings."""
    return np.vectorize(lambda v: v if isinstance(v, float) else str(v), otypes=[object])(
        arr
    ).tolist()


def check_reps(reps: Any, name: str = "reps", minimum: int = 1) -> int:
    """Validate a layer count ``>= minimum``."""
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {reps!r}")
    return int(reps)
