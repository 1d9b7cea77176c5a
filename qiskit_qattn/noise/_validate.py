"""Parameter checks shared by the noise-model constructors."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any


def probability(value: Any, name: str, *, upper: float = 1.0) -> float:
    """``value`` as a float in ``[0, upper]``, else ``ValueError`` naming ``name``.

    Example:
        >>> probability(0.01, "p1")
        0.01
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, {upper:g}]; got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= upper:
        raise ValueError(f"{name} must be a number in [0, {upper:g}]; got {value!r}")
    return value


def positive_time(value: Any, name: str) -> float:
    """``value`` as a finite float ``> 0`` (seconds), else ``ValueError`` naming ``name``.

    Example:
        >>> positive_time(1e-4, "t1")
        0.0001
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a time in seconds > 0; got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a time in seconds > 0; got {value!r}")
    return value


def gate_names(value: Iterable[str], name: str) -> tuple[str, ...]:
    """A tuple of instruction names (strings), else ``TypeError`` naming ``name``.

    Example:
        >>> gate_names(["sx", "x"], "one_qubit_gates")
        ('sx', 'x')
    """
    if isinstance(value, str):
        return (value,)
    names = tuple(value)
    if not all(isinstance(n, str) and n for n in names):
        raise TypeError(f"{name} must be a sequence of gate names; got {names!r}")
    return names


def readout_pair(value: Any, name: str = "readout") -> tuple[float, float]:
    """Readout flip probabilities ``(P(1|0), P(0|1))`` from a number or a pair.

    Example:
        >>> readout_pair(0.02)
        (0.02, 0.02)
        >>> readout_pair((0.01, 0.03))
        (0.01, 0.03)
    """
    if isinstance(value, Mapping):
        raise TypeError(f"{name} must be a number or a pair (P(1|0), P(0|1)); got a mapping")
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a pair (P(1|0), P(0|1)); got {value!r}")
        return (probability(value[0], f"{name}[0]", upper=0.5),
                probability(value[1], f"{name}[1]", upper=0.5))
    p = probability(value, name, upper=0.5)
    return (p, p)
