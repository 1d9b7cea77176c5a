"""Exact softmax attention per head, computed exactly the way ``nn.MultiheadAttention`` does."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F


def exact_heads(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    need_weights: bool = True,
    is_causal: bool = False,
    dropout_p: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Exact softmax attention per head, computed the way ``nn.MultiheadAttention`` computes it.

    Example:
        >>> q = k = v = torch.randn(2, 3, 5, 4)
        >>> out, w = exact_heads(q, k, v)
        >>> ref = F.scaled_dot_product_attention(q, k, v)
        >>> bool(torch.allclose(out, ref, atol=1e-6)), tuple(w.shape)
        (True, (2, 3, 5, 5))
    """
    if need_weights:
        q_scaled = q * math.sqrt(1.0 / float(q.shape[-1]))
        scores = torch.matmul(q_scaled, k.transpose(-2, -1))
        if mask is not None:
            scores = scores + mask
        elif is_causal:
            scores = scores + causal_mask(q.shape[-2], k.shape[-2], q.dtype, q.device)
        weights = torch.softmax(scores, dim=-1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, p=dropout_p)
        return torch.matmul(weights, v), weights
    out = F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal and mask is None
    )
    return out, None


def causal_mask(L: int, S: int, dtype: torch.dtype, device: Any = None) -> torch.Tensor:
    """Top-left causal additive mask ``[L, S]`` (``-inf`` above the diagonal), as SDPA's hint.

    Example:
        >>> causal_mask(2, 3, torch.float32)
        tensor([[0., -inf, -inf],
                [0., 0., -inf]])
    """
    keep = torch.ones(L, S, dtype=torch.bool, device=device).tril()
    return torch.zeros(L, S, dtype=dtype, device=device).masked_fill_(~keep, float("-inf"))
