"""Exact softmax attention: the reference every estimator is measured against."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..circuits.head import attention_scores
from ..encoding import as_bool_mask, as_real_array, masked_softmax


def exact_attention_weights(
    Q: Any,
    K: Any,
    *,
    mask: Any | None = None,
    scale: float | None = None,
    temperature: float = 1.0,
) -> np.ndarray:
    """Attention weights ``softmax(Q K^T * scale / temperature)`` with a keep-mask, ``[n_q, n_k]``.

    Example:
        >>> exact_attention_weights(np.zeros((1, 2)), np.zeros((3, 2))).round(3).tolist()
        [[0.333, 0.333, 0.333]]
    """
    scores = attention_scores(Q, K, scale=scale)
    keep = None if mask is None else as_bool_mask(mask, "mask", scores.shape)
    return masked_softmax(scores, temperature=temperature, mask=keep)


def exact_attention(
    Q: Any,
    K: Any,
    V: Any,
    mask: Any | None = None,
    *,
    scale: float | None = None,
    temperature: float = 1.0,
) -> np.ndarray:
    """Exact attention output ``softmax(Q K^T * scale / temperature) V``, shape ``[n_q, d_v]``.

    Args:
        Q: queries ``[n_q, d]``; K: keys ``[n_k, d]``; V: values ``[n_k, d_v]``
            (NumPy arrays, sequences or torch tensors).
        mask: boolean keep-mask broadcastable to ``[n_q, n_k]``; ``True`` = attend (the
            convention of ``torch.nn.functional.scaled_dot_product_attention``).
        scale: score scale, default ``1/sqrt(d)``.
        temperature: softmax temperature, > 0.

    Example:
        >>> exact_attention(np.eye(2), np.eye(2), [[1.0], [3.0]], scale=100.0).round(3).tolist()
        [[1.0], [3.0]]
    """
    keys = as_real_array(K, "K", ndim=2)
    values = as_real_array(V, "V", ndim=2)
    if values.shape[0] != keys.shape[0]:
        raise ValueError(f"V must have one row per key ({keys.shape[0]}); got shape {values.shape}")
    weights = exact_attention_weights(Q, keys, mask=mask, scale=scale, temperature=temperature)
    return weights @ values
