"""Registry of attention backends: name -> callable, built-ins resolved lazily (no torch at import).

A backend is a callable

    fn(q, k, v, *, bias, scale, need_weights, generator, **options) -> AttentionResult

receiving validated torch tensors with flattened leading dims: ``q [B, L, E]``, ``k [B, S, E]``,
``v [B, S, Ev]``, ``bias`` ``None`` or a float additive mask ``[Bm, Lm, S]`` with ``Bm in (1, B)``
and ``Lm in (1, L)`` (``-inf`` = masked key), ``scale`` a float, ``generator`` a seeded
``torch.Generator``. It returns an :class:`AttentionResult` whose tensors have leading dim ``B``;
:func:`qiskit_qattn.attention.attention` restores the caller's leading dims.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

#: Built-in backends, imported on first use: name -> "module:function" (relative to attention).
_BUILTINS: dict[str, str] = {
    "exact": "torch_exact:exact_backend",
    "quantum-sim": "quantum_sim:quantum_sim_backend",
    "circuit": "circuit_backend:circuit_backend",
    "phase0-proto": "sampling.phase0:phase0_backend",
    "classical": "sampling.prototype:prototype_backend",
    "performer": "peers.performer:performer_backend",
    "nystrom": "peers.nystrom:nystrom_backend",
    "linformer": "peers.linformer:linformer_backend",
}

_REGISTERED: dict[str, Callable[..., Any]] = {}


def register_backend(name: str, fn: Callable[..., Any], *, overwrite: bool = False) -> None:
    """Register an attention backend under ``name`` (see the module docstring for the protocol).

    Args:
        name: backend name used as ``attention(..., backend=name)``.
        fn: the backend callable.
        overwrite: replace an existing backend of that name (built-ins included).

    Example:
        >>> register_backend("my-exact", lambda q, k, v, **kw: None)
        >>> "my-exact" in available_backends()
        True
        >>> unregister_backend("my-exact")
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; got {name!r}")
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn)!r}")
    if not overwrite and (name in _REGISTERED or name in _BUILTINS):
        raise ValueError(f"backend {name!r} is already registered; pass overwrite=True")
    _REGISTERED[name] = fn


def unregister_backend(name: str) -> None:
    """Remove a backend registered with :func:`register_backend` (built-ins come back)."""
    if name not in _REGISTERED:
        raise ValueError(f"backend {name!r} was not registered with register_backend")
    del _REGISTERED[name]


def available_backends() -> tuple[str, ...]:
    """Names of every backend, built-in and registered, sorted.

    Example:
        >>> {"exact", "phase0-proto", "quantum-sim", "classical"} <= set(available_backends())
        True
    """
    return tuple(sorted(set(_BUILTINS) | set(_REGISTERED)))


def get_backend(name: str) -> Callable[..., Any]:
    """The callable behind ``name`` (imports a built-in's module on first use)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in _BUILTINS:
        raise ValueError(f"backend must be one of {available_backends()}; got {name!r}")
    module, attr = _BUILTINS[name].split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), attr)
