"""Amplitude-encoding helpers: stable softmax with masks, normalised amplitude vectors."""

from __future__ import annotations

from typing import Any

import numpy as np

from .validation import as_real_array, check_positive


def masked_softmax(
    scores: Any, *, temperature: float = 1.0, mask: Any | None = None, axis: int = -1
) -> np.ndarray:
    """Numerically stable ``softmax(scores / temperature)`` with a boolean keep-mask.

    Masked entries get probability exactly 0. A row whose keys are all masked is an error.

    Args:
        scores: finite real scores.
        temperature: > 0.
        mask: boolean array broadcastable to ``scores``; ``True`` = attend.
        axis: softmax axis.

    Example:
        >>> masked_softmax([0.0, 0.0, 5.0], mask=[True, True, False]).tolist()
        [0.5, 0.5, 0.0]
    """
    s = as_real_array(scores, "scores")
    tau = check_positive(temperature, "temperature")
    keep = np.ones(s.shape, dtype=bool) if mask is None else np.broadcast_to(
        np.asarray(mask, dtype=bool), s.shape
    )
    if not np.all(np.any(keep, axis=axis)):
        raise ValueError("mask leaves a row with no attended key; every row needs at least one")
    z = np.where(keep, s / tau, -np.inf)
    z = z - np.max(z, axis=axis, keepdims=True)
    w = np.where(keep, np.exp(z), 0.0)
    return w / np.sum(w, axis=axis, keepdims=True)


def normalize_amplitudes(amplitudes: Any, name: str = "amplitudes") -> np.ndarray:
    """Return ``amplitudes / ||amplitudes||_2`` (a new array).

    Raises:
        ValueError: on NaN/inf or the zero vector (which has no direction to encode).

    Example:
        >>> normalize_amplitudes([3.0, 4.0]).tolist()
        [0.6, 0.8]
    """
    a = as_real_array(amplitudes, name, ndim=1)
    norm = float(np.linalg.norm(a))
    if norm == 0.0:
        raise ValueError(f"{name} is the zero vector; it cannot be amplitude-encoded")
    return a / norm


def softmax_amplitudes(
    scores: Any, *, temperature: float = 1.0, mask: Any | None = None
) -> np.ndarray:
    """Amplitudes ``sqrt(softmax(scores / temperature))`` of one score row.

    Example:
        >>> bool(np.isclose(np.sum(softmax_amplitudes([1.0, 2.0]) ** 2), 1.0))
        True
    """
    return np.sqrt(masked_softmax(scores, temperature=temperature, mask=mask))
