"""One entry point for every attention backend: ``attention(query, key, value, backend=...)``.

Contract (other subpackages, e.g. ``nn.QuantumMultiheadAttention``, rely on it)::

    attention(query, key, value, *, backend="exact", attn_mask=None, scale=None,
              need_weights=False, seed=None, **options) -> AttentionResult

- ``query [..., L, E]``, ``key [..., S, E]``, ``value [..., S, Ev]``: torch tensors (array-likes are
  converted), floating dtype (promoted to a common one), finite; leading dims (batch, heads, ...)
  broadcast against each other. Outputs are torch tensors with the broadcast leading dims.
- ``attn_mask``: ``None``; a boolean mask (``True`` = attend, as in
  ``torch.nn.functional.scaled_dot_product_attention``); or a float additive mask (``-inf`` =
  masked). Broadcastable to ``[..., L, S]``. A query whose keys are all masked gets a zero output
  row and zero weights (SDPA does the same).
- ``scale``: score scale, default ``1/sqrt(E)``.
- ``need_weights``: also return the attention weights ``[..., L, S]`` (otherwise ``weights`` may
  be ``None``; sampling backends return their effective sparse weights as a dense tensor).
- ``seed``: seeds every random choice (same seed, same inputs -> same result). ``None`` draws a
  seed from torch's global RNG, so ``torch.manual_seed`` also makes runs repeatable.
- ``**options``: backend options (unknown options raise ``ValueError``).

Returns :class:`AttentionResult` ``(output, weights, std_error)`` plus ``error_estimate``
(per query), ``backend`` and ``info``.

Backends (see :func:`available_backends`; add your own with :func:`register_backend`):

- ``"exact"``: softmax attention; differentiable; matches SDPA to float tolerance.
- ``"quantum-sim"``: the circuit estimator of the package (Born-rule shots of the amplitude-encoded
  softmax state, ratio estimator over kept keys): output = its expected value (differentiable)
  plus detached shot noise drawn from the actual multinomial shot distribution for ``shots``;
  optional ``depolarizing`` and ``readout_error`` noise.
- ``"circuit"``: every head computed by the package's circuits: prepared with a ``family``,
  compiled for a ``device``, run by one executor (statevector, device-noise shots, Runtime)
  with optional ``mitigation``, all heads of a call in one execution; gradients by the
  ``softmax`` convention or parameter shift (:mod:`~qiskit_qattn.attention.circuit_backend`).
- ``"phase0-proto"``: Phase-0 prototype: all scores, exact top-k keys plus Born-rule importance
  sampling of the remaining keys (unbiased, per-entry error bars).
- ``"classical"``: the Phase-1 quantum-inspired prototype
  (:func:`quantum_inspired_attention_prototype`): heavy keys found by clustering without all n²
  scores, stratified sampling of the tail, adaptive sample counts, control variate, error bars.
- ``"performer"``, ``"nystrom"``, ``"linformer"``: peer approximations implemented from their
  papers, for comparison.

Example:
    >>> import torch
    >>> q, k, v = torch.randn(2, 5, 4), torch.randn(2, 7, 4), torch.randn(2, 7, 3)
    >>> out, w, se = attention(q, k, v, need_weights=True)
    >>> out.shape, w.shape
    (torch.Size([2, 5, 3]), torch.Size([2, 5, 7]))
    >>> ref = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    >>> bool(torch.allclose(out, ref, atol=1e-6))
    True
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any

from ._common import flag
from .registry import available_backends, get_backend
from .result import AttentionResult


def attention(
    query: Any,
    key: Any,
    value: Any,
    *,
    backend: str = "exact",
    attn_mask: Any | None = None,
    scale: float | None = None,
    need_weights: bool = False,
    seed: int | None = None,
    **options: Any,
) -> AttentionResult:
    """Attention ``softmax(query key^T * scale + mask) value`` by the chosen backend.

    See the module docstring for the full contract.

    Args:
        query: ``[..., L, E]``.
        key: ``[..., S, E]``.
        value: ``[..., S, Ev]``.
        backend: one of :func:`available_backends`.
        attn_mask: boolean (``True`` = attend) or float additive mask, broadcastable to
            ``[..., L, S]``.
        scale: score scale (default ``1/sqrt(E)``).
        need_weights: return the (effective) attention weights.
        seed: integer seed for the backend's random choices.
        **options: backend-specific options.

    Returns:
        :class:`AttentionResult` with tensors shaped like the inputs' broadcast leading dims.

    Raises:
        ValueError: bad shapes, non-finite inputs, bad mask, unknown backend or option.
        TypeError: non-floating inputs or a mask of the wrong dtype.

    Example:
        >>> import torch
        >>> q = k = torch.eye(2, dtype=torch.float64)
        >>> v = torch.tensor([[1.0], [3.0]], dtype=torch.float64)
        >>> attention(q, k, v, scale=100.0).output.tolist()
        [[1.0], [3.0]]
    """
    import torch

    if not isinstance(backend, str) or backend not in available_backends():
        raise ValueError(f"backend must be one of {available_backends()}; got {backend!r}")
    q, k, v = (_as_float_tensor(x, name) for x, name in ((query, "query"), (key, "key"),
                                                          (value, "value")))
    dtype = torch.promote_types(torch.promote_types(q.dtype, k.dtype), v.dtype)
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"query and key must share the embedding size E; got query {tuple(q.shape)} and "
            f"key {tuple(k.shape)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"key and value must have the same number of keys S (dim -2); got key "
            f"{tuple(k.shape)} and value {tuple(v.shape)}"
        )
    try:
        batch = _broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError as exc:
        raise ValueError(
            f"leading dims of query {tuple(q.shape)}, key {tuple(k.shape)} and value "
            f"{tuple(v.shape)} do not broadcast"
        ) from exc
    L, E = q.shape[-2:]
    S, Ev = v.shape[-2:]
    if scale is None:
        scale = 1.0 / math.sqrt(E)
    else:
        if isinstance(scale, bool):
            raise ValueError(f"scale must be a finite real number, not a bool; got {scale!r}")
        try:
            scale = float(scale)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"scale must be a finite real number; got {scale!r}") from exc
        if not math.isfinite(scale):
            raise ValueError(f"scale must be a finite real number; got {scale!r}")
    need_weights = flag(need_weights, "need_weights")
    bias = _mask_bias(attn_mask, batch, L, S, dtype)
    B = math.prod(batch)
    q3 = q.expand(*batch, L, E).reshape(B, L, E)
    k3 = k.expand(*batch, S, E).reshape(B, S, E)
    v3 = v.expand(*batch, S, Ev).reshape(B, S, Ev)
    generator = _generator(seed)
    fn = get_backend(backend)
    result = fn(
        q3, k3, v3, bias=bias, scale=scale, need_weights=need_weights,
        generator=generator, **options,
    )
    if not isinstance(result, AttentionResult):
        raise TypeError(f"backend {backend!r} returned {type(result)!r}, not AttentionResult")
    result.backend = result.backend or backend
    result.output = result.output.reshape(*batch, L, Ev)
    if result.weights is not None:
        result.weights = result.weights.reshape(*batch, L, S)
    if result.std_error is not None:
        result.std_error = result.std_error.reshape(*batch, L, Ev)
    if result.error_estimate is not None:
        result.error_estimate = result.error_estimate.reshape(*batch, L)
    return result


def _as_float_tensor(x: Any, name: str):
    import torch

    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as exc:
            msg = f"{name} must be a torch tensor or array-like; got {type(x)!r}"
            raise TypeError(msg) from exc
    if not x.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype; got {x.dtype}")
    if x.ndim < 2:
        raise ValueError(
            f"{name} must be at least 2-D [..., tokens, features]; got {tuple(x.shape)}"
        )
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"{name} must not be empty; got shape {tuple(x.shape)}")
    # One fast pass, no temporary: the sum is NaN or infinite whenever an entry is (and when
    # finite entries overflow it: then min and max, which carry any NaN or infinity, decide).
    if not math.isfinite(float(x.detach().sum())):
        lo, hi = torch.aminmax(x.detach())
        if not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
            raise ValueError(
                f"{name} must be finite; found NaN or inf (use attn_mask to drop keys)")
    return x


def _mask_bias(mask: Any, batch: tuple[int, ...], L: int, S: int, dtype: Any):
    """Additive float mask ``[Bm, Lm, S]`` (``Bm in (1, B)``, ``Lm in (1, L)``) or ``None``."""
    import torch

    if mask is None:
        return None
    m = mask if isinstance(mask, torch.Tensor) else torch.as_tensor(mask)
    full = (*batch, L, S)
    try:
        ok = m.ndim >= 1 and _broadcast_shapes(m.shape, full) == full
    except ValueError:
        ok = False
    if not ok or m.ndim > len(full):
        raise ValueError(
            f"attn_mask of shape {tuple(m.shape)} must broadcast to [..., L, S] = {list(full)}"
        )
    if m.dtype == torch.bool:
        bias = torch.zeros(m.shape, dtype=dtype).masked_fill_(~m, float("-inf"))
    elif m.is_floating_point():
        if bool(torch.isnan(m).any()) or bool((m == float("inf")).any()):
            raise ValueError("attn_mask must not contain NaN or +inf (use -inf to mask a key)")
        bias = m.to(dtype)
    else:
        raise TypeError(f"attn_mask must be boolean or floating; got {m.dtype}")
    bias = bias.reshape((1,) * (len(full) - m.ndim) + tuple(m.shape))
    if _same_query_rows(bias):
        # a key mask expanded to every query (Hugging Face passes padding so): one row, not
        # L of them copied once per head
        bias = bias[..., :1, :]
    Lm = bias.shape[-2]
    lead = bias.shape[:-2]
    if all(d == 1 for d in lead):
        return bias.reshape(1, Lm, bias.shape[-1]).expand(1, Lm, S)
    B = math.prod(batch)
    return bias.expand(*batch, Lm, S).reshape(B, Lm, S)


def _broadcast_shapes(*shapes) -> tuple[int, ...]:
    """The broadcast of ``shapes``, or ``ValueError``.

    (``torch.broadcast_shapes`` imports ~0.3 s of torch on its first call.)

    Example:
        >>> _broadcast_shapes((2, 1), (3,), ())
        (2, 3)
    """
    out: list[int] = []
    for dims in itertools.zip_longest(*(tuple(s)[::-1] for s in shapes), fillvalue=1):
        sizes = {int(d) for d in dims} - {1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {[tuple(s) for s in shapes]} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out[::-1])


def _same_query_rows(bias) -> bool:
    """Whether every query row (dim -2) of the mask ``bias`` is the same."""
    import torch

    L = bias.shape[-2]
    if L == 1:
        return False
    first = bias[..., :1, :]
    for i in sorted({L // 2, L - 1}):  # cheap necessary checks before the full comparison
        if not torch.equal(bias[..., i:i + 1, :], first):
            return False
    return torch.equal(bias, first.expand_as(bias))


def _generator(seed: int | None):
    import torch

    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    elif (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
          or seed >= 2**64):
        raise ValueError(f"seed must be an integer in [0, 2**64) or None; got {seed!r}")
    return torch.Generator().manual_seed(int(seed))
