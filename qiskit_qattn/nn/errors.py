"""Exceptions that are both the clear Python type and the type ``nn.MultiheadAttention`` raises.

Code written against ``torch.nn.MultiheadAttention`` catches ``AssertionError`` (its shape
checks) or ``RuntimeError`` (mask shapes, ``is_causal`` without a mask, sizes that only fail
inside a matmul); new code catches ``ValueError`` / ``TypeError``. Each class here is both, so a
drop-in swap changes no ``except`` clause, and the messages name the argument and expected form.
"""

from __future__ import annotations


class AttentionShapeError(ValueError, AssertionError):
    """Bad tensor rank or size that torch reports with ``AssertionError``.

    Example:
        >>> isinstance(AttentionShapeError("x"), (ValueError, AssertionError))
        True
    """


class AttentionSizeError(ValueError, RuntimeError):
    """Bad size that torch reports with ``RuntimeError`` (mask shapes, batch sizes, is_causal)."""


class AttentionMaskTypeError(TypeError, AssertionError):
    """Mask of a dtype other than bool or floating point (torch: ``AssertionError``)."""


class AttentionDtypeError(TypeError, RuntimeError):
    """Non-floating query/key/value (torch fails later with ``RuntimeError``)."""
