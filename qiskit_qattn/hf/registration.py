"""``qattn_<backend>`` names in transformers' attention and attention-mask interfaces."""

from __future__ import annotations

from ..attention import available_backends
from .forward import make_attention_function
from .masks import qattn_mask

#: Prefix of every implementation name this package registers.
PREFIX = "qattn_"


def implementation_name(backend: str) -> str:
    """The ``attn_implementation`` name of an attention backend, checked.

    transformers' own error for an unknown implementation does not list custom ones; this one
    lists every attention backend.

    Raises:
        ValueError: ``backend`` is not one of :func:`qiskit_qattn.attention.available_backends`.

    Example:
        >>> implementation_name("classical")
        'qattn_classical'
    """
    choices = available_backends()
    if not isinstance(backend, str) or backend not in choices:
        raise ValueError(f"backend must be one of {choices}; got {backend!r}")
    return PREFIX + backend


def backend_of(implementation: str) -> str:
    """The attention backend behind a ``qattn_<backend>`` implementation name.

    Raises:
        ValueError: not a qattn implementation name, or an unknown backend.

    Example:
        >>> backend_of("qattn_quantum-sim")
        'quantum-sim'
    """
    if not isinstance(implementation, str) or not implementation.startswith(PREFIX):
        raise ValueError(
            f"implementation must be {PREFIX}<backend> with backend one of "
            f"{available_backends()}; got {implementation!r}"
        )
    backend = implementation[len(PREFIX):]
    implementation_name(backend)
    return backend


def register(backend: str) -> str:
    """Register ``qattn_<backend>`` in transformers (attention and mask function); return the name.

    Importing :mod:`qiskit_qattn.hf` registers every backend known at that time; call this for a
    backend added later with :func:`qiskit_qattn.attention.register_backend`.

    Example:
        >>> from transformers import AttentionInterface
        >>> register("exact") in AttentionInterface()
        True
    """
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    name = implementation_name(backend)
    AttentionInterface.register(name, make_attention_function(backend))
    AttentionMaskInterface.register(name, qattn_mask)
    return name


def unregister(backend: str) -> None:
    """Remove ``qattn_<backend>`` from transformers (both interfaces); no error if absent.

    Models already switched to it fail at their next forward pass; switch them first.

    Example:
        >>> from transformers import AttentionInterface
        >>> unregister("exact"); "qattn_exact" in AttentionInterface()
        False
        >>> register("exact") in AttentionInterface()
        True
    """
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    if not isinstance(backend, str) or not backend:
        raise ValueError(f"backend must be a non-empty string; got {backend!r}")
    name = PREFIX + backend
    for interface in (AttentionInterface, AttentionMaskInterface):
        interface._global_mapping.pop(name, None)


def register_all() -> tuple[str, ...]:
    """Register every attention backend; return the implementation names."""
    return tuple(register(b) for b in available_backends())


def registered_implementations() -> tuple[str, ...]:
    """The ``qattn_*`` names transformers knows (attention and mask function both registered).

    Example:
        >>> "qattn_exact" in registered_implementations()
        True
    """
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    attn, masks = AttentionInterface(), AttentionMaskInterface()
    return tuple(sorted(n for n in attn if n.startswith(PREFIX) and n in masks))
