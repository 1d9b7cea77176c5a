"""The ``exact`` backend: softmax attention in torch (SDPA, or explicit when weights are needed)."""

from __future__ import annotations

from typing import Any

from ._common import check_options
from .result import AttentionResult


def exact_weights(q, k, *, bias, scale: float):
    """Exact softmax weights ``[B, L, S]``; fully masked rows get zeros (like SDPA's output).

    Example:
        >>> import torch
        >>> w = exact_weights(torch.zeros(1, 1, 2), torch.zeros(1, 3, 2), bias=None, scale=1.0)
        >>> w.tolist()
        [[[0.3333333432674408, 0.3333333432674408, 0.3333333432674408]]]
    """
    import torch

    scores = torch.matmul(q, k.transpose(-1, -2)) * scale
    if bias is not None:
        scores = scores + bias
    dead = torch.isneginf(scores).all(dim=-1, keepdim=True)
    if bool(dead.any()):
        scores = scores.masked_fill(dead, 0.0)
        return torch.softmax(scores, dim=-1).masked_fill(dead, 0.0)
    return torch.softmax(scores, dim=-1)


def exact_backend(
    q, k, v, *, bias, scale: float, need_weights: bool, generator: Any, **options: Any
) -> AttentionResult:
    """Exact attention; uses ``scaled_dot_product_attention`` unless weights are requested."""
    import torch
    import torch.nn.functional as F

    check_options("exact", options)
    if need_weights:
        weights = exact_weights(q, k, bias=bias, scale=scale)
        output = torch.matmul(weights, v)
    else:
        weights = None
        output = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)
    zeros = torch.zeros_like(output.detach())
    return AttentionResult(
        output=output, weights=weights, std_error=zeros,
        error_estimate=zeros[..., 0], backend="exact",
    )
