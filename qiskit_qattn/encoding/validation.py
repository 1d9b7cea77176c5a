"""Input checks shared by every subpackage: clear errors that name the argument."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(value: Any) -> np.ndarray:
    """Return ``value`` as a NumPy array without copying when possible.

    Accepts NumPy arrays, nested sequences and torch tensors (detached, moved to CPU).

    Example:
        >>> to_numpy([1, 2]).tolist()
        [1, 2]
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def as_real_array(
    value: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    allow_empty: bool = False,
    finite: bool = True,
) -> np.ndarray:
    """Validate ``value`` as a real float64 array and return it (a new array; input untouched).

    Args:
        value: array-like input.
        name: the argument name used in error messages.
        ndim: required number of dimensions (or a tuple of allowed ones).
        allow_empty: accept arrays with a zero-length axis.
        finite: reject NaN and +-inf.

    Raises:
        ValueError: naming ``name`` and the expected form.

    Example:
        >>> as_real_array([[1.0, 2.0]], "Q", ndim=2).shape
        (1, 2)
    """
    try:
        arr = to_numpy(value)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise ValueError(f"{name} must be array-like of real numbers; got {type(value)!r}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        if np.any(np.imag(arr) != 0):
            raise ValueError(f"{name} must be real; got complex values")
        arr = np.real(arr)
    arr = np.array(arr, dtype=np.float64, copy=True)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}; got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        bad = "NaN" if np.any(np.isnan(arr)) else "inf"
        raise ValueError(f"{name} must be finite; found {bad} (use `mask` to exclude keys)")
    return arr


def as_bool_mask(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Validate a boolean keep-mask broadcastable to ``shape``; ``True`` means *attend*.

    Example:
        >>> as_bool_mask([True, False], "mask", (3, 2)).shape
        (3, 2)
    """
    arr = to_numpy(value)
    if arr.dtype != np.bool_:
        raise ValueError(
            f"{name} must be a boolean array (True = key attended); got dtype {arr.dtype}"
        )
    try:
        return np.broadcast_to(arr, shape).copy()
    except ValueError as exc:
        raise ValueError(f"{name} of shape {arr.shape} cannot broadcast to {shape}") from exc


def check_positive(value: float, name: str) -> float:
    """Return ``value`` as float after checking it is finite and > 0.

    Example:
        >>> check_positive(2, "temperature")
        2.0
    """
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a positive real number; got {value!r}") from exc
    if not np.isfinite(out) or out <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return out


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` as int after checking it is an integer >= 1.

    Example:
        >>> check_positive_int(3, "shots")
        3
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)
