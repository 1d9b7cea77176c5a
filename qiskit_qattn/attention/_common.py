"""Helpers shared by the torch backends: option checks, mask slices, fully masked rows."""

from __future__ import annotations

from typing import Any


def check_options(backend: str, options: dict[str, Any], allowed: tuple[str, ...] = ()) -> None:
    """Raise ``ValueError`` naming the backend when ``options`` holds an unknown key."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"backend {backend!r} got unknown option(s) {unknown}; it accepts {sorted(allowed)}"
        )


def bias_for(bias: Any, b: int):
    """The additive mask ``[Lm, S]`` of flattened batch entry ``b`` (or ``None``)."""
    if bias is None:
        return None
    return bias[b if bias.shape[0] > 1 else 0]


def key_only(bias: Any) -> bool:
    """Whether the mask is the same for every query (a key-padding mask, ``Lm == 1``)."""
    return bias is None or bias.shape[1] == 1


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int ``>= 1`` or a ``ValueError`` naming ``name``."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)


def positive_float(value: Any, name: str, *, upper: float | None = None) -> float:
    """``value`` as a finite float ``> 0`` (and ``<= upper``) or a ``ValueError``."""
    import math

    if isinstance(value, bool):  # True would read as 1.0
        raise ValueError(f"{name} must be a positive number, not a bool; got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a positive number; got {value!r}") from exc
    if not math.isfinite(out) or out <= 0 or (upper is not None and out > upper):
        bound = "" if upper is None else f" and <= {upper}"
        raise ValueError(f"{name} must be a finite number > 0{bound}; got {value!r}")
    return out


def flag(value: Any, name: str) -> bool:
    """``value`` as a bool, or a ``TypeError`` naming ``name`` (``"no"`` is not ``False``).

    Example:
        >>> flag(True, "is_causal")
        True
    """
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False; got {value!r}")
