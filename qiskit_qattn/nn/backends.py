"""Per-head attention backends used by :class:`~qiskit_qattn.nn.QuantumMultiheadAttention`.

A head backend is a callable

    backend(q, k, v, mask, *, need_weights, is_causal, dropout_p) -> (output, weights | None)

on already projected, head-split tensors ``q [B, H, L, d]``, ``k [B, H, S, d]``, ``v [B, H, S, d]``
with ``mask`` ``None`` or an additive float mask broadcastable to ``[B, H, L, S]`` (``-inf`` =
masked key) and ``is_causal`` a hint that applies the top-left causal mask when ``mask`` is
``None`` (it is only set for the exact path, exactly where ``nn.MultiheadAttention`` sets it).
It returns the head outputs ``[B, H, L, d]`` and, if ``need_weights``, the weights ``[B, H, L, S]``.

- :func:`exact_heads` mirrors ``torch.nn.functional.multi_head_attention_forward`` step by step
  (explicit softmax when weights are needed, ``scaled_dot_product_attention`` otherwise), so it
  matches ``nn.MultiheadAttention`` to float rounding, fully masked rows included.
- :class:`AttentionFunctionBackend` routes heads through
  :func:`qiskit_qattn.attention.attention` (``phase0-proto``, ``quantum-sim``, ``circuit``,
  ``classical``, ``performer``, ...), all ``B × H`` heads in one call — for ``circuit`` that is
  one execution (one Runtime job) per forward.
- :class:`~qiskit_qattn.nn.variational.VariationalAttention` (``"variational"``) has trainable
  QSANN circuits for the Q/K/V maps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .exact_heads import causal_mask, exact_heads

#: Names accepted by ``quantum_backend`` besides the attention registry's.
NN_BACKENDS = ("exact", "variational")


class AttentionFunctionBackend:
    """Heads through :func:`qiskit_qattn.attention.attention` with a registry backend.

    Args:
        name: a backend of :func:`qiskit_qattn.attention.available_backends`.
        seed: fixed seed for every call; ``None`` draws one per call from torch's global RNG
            (so ``torch.manual_seed`` makes training runs repeatable).
        **options: backend options passed on every call (e.g. ``shots`` for ``quantum-sim``).

    Example:
        >>> be = AttentionFunctionBackend("exact")
        >>> q = k = v = torch.randn(1, 2, 3, 4)
        >>> out, w = be(q, k, v, None, need_weights=True)
        >>> bool(torch.allclose(out, exact_heads(q, k, v)[0], atol=1e-6))
        True
    """

    def __init__(self, name: str, *, seed: int | None = None, **options: Any) -> None:
        from ..attention import available_backends, get_backend

        if name not in available_backends():
            raise ValueError(
                f"quantum_backend must be one of {available_backend_names()}; got {name!r}"
            )
        # Backends that can check their options up front (e.g. "circuit": family, device,
        # shots, mitigation) fail here, when the layer is built, not at its first forward.
        check = getattr(get_backend(name), "check_options", None)
        if check is not None:
            check(dict(options))
        self.name = name
        self.seed = seed
        self.options = dict(options)
        self.last_result: Any = None

    def __call__(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        need_weights: bool = True,
        is_causal: bool = False,
        dropout_p: float = 0.0,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        from ..attention import attention

        if mask is None and is_causal:
            mask = causal_mask(q.shape[-2], k.shape[-2], q.dtype, q.device)
        result = attention(
            q, k, v, backend=self.name, attn_mask=mask,
            need_weights=bool(need_weights),  # truthiness, as torch's module reads it
            seed=self.seed, **self.options,
        )
        self.last_result = result
        out = result.output
        if dropout_p > 0.0:
            # The sampler's weights are internal: drop head outputs instead of weights.
            out = F.dropout(out, p=dropout_p)
        return out, result.weights if need_weights else None

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"AttentionFunctionBackend({self.name!r}{opts})"


def available_backend_names() -> tuple[str, ...]:
    """Every name ``quantum_backend`` accepts.

    Example:
        >>> names = set(available_backend_names())
        >>> {"exact", "variational", "phase0-proto", "quantum-sim"} <= names
        True
    """
    from ..attention import available_backends

    return tuple(sorted(set(NN_BACKENDS) | set(available_backends())))


def make_backend(
    name: str | Callable[..., Any],
    *,
    num_heads: int,
    head_dim: int,
    device: Any = None,
    dtype: Any = None,
    **options: Any,
) -> Callable[..., Any]:
    """Build the head backend for ``quantum_backend=name`` (a callable is returned as is).

    ``"variational"`` returns a :class:`~qiskit_qattn.nn.variational.VariationalAttention`
    module (trainable), ``"exact"`` :func:`exact_heads`, any other registry name an
    :class:`AttentionFunctionBackend`. ``quantum_device=`` is passed to a registry backend as
    its ``device`` option (the layer's own ``device=`` is torch's).

    Example:
        >>> make_backend("exact", num_heads=2, head_dim=4) is exact_heads
        True
    """
    if callable(name) and not isinstance(name, str):
        if options:
            raise ValueError(f"backend options {sorted(options)} need a named quantum_backend")
        return name
    if not isinstance(name, str):
        raise TypeError(f"quantum_backend must be a string or a callable; got {type(name)!r}")
    if name == "exact":
        if options:
            raise ValueError(f"the exact backend takes no options; got {sorted(options)}")
        return exact_heads
    if name == "variational":
        from .variational import VariationalAttention

        return VariationalAttention(
            num_heads=num_heads, head_dim=head_dim, device=device, dtype=dtype, **options
        )
    if name not in available_backend_names():
        raise ValueError(
            f"quantum_backend must be one of {available_backend_names()} or a callable; "
            f"got {name!r}"
        )
    if "quantum_device" in options:
        # torch's constructor owns `device=` (where tensors live): the quantum device of a
        # registry backend (the Qiskit backend circuits run on) is passed as quantum_device=.
        if "device" in options:
            raise ValueError("give the quantum device once, as quantum_device=")
        options["device"] = options.pop("quantum_device")
    return AttentionFunctionBackend(name, **options)
