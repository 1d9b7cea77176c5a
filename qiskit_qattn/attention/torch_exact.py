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


def sdpa_kernel(q, k, v, **kwargs: Any) -> str:
    """Name of the ATen kernel ``scaled_dot_product_attention(q, k, v, **kwargs)`` runs.

    Benchmarks report it next to every SDPA baseline (CPU: ``flash`` for 4-D input, ``math``
    for 3-D input, which materialises the scores).

    Example:
        >>> import torch
        >>> x = torch.randn(1, 2, 16, 8)
        >>> sdpa_kernel(x, x, x), sdpa_kernel(x[0], x[0], x[0])
        ('_scaled_dot_product_flash_attention_for_cpu', '_scaled_dot_product_attention_math')
    """
    import torch
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity, profile

    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
        F.scaled_dot_product_attention(q, k, v, **kwargs)
    names = [e.key for e in prof.key_averages() if e.key.startswith("aten::_scaled_dot_product")]
    inner = [n for n in names if n != "aten::scaled_dot_product_attention"]
    return (inner or names or ["unknown"])[-1].removeprefix("aten::")


def flash_sdpa(q, k, v, *, scale: float, bias=None, is_causal: bool = False):
    """``scaled_dot_product_attention`` of ``[B, L, E]`` batches as 4-D ``[1, B, L, E]`` input.

    3-D input sends CPU SDPA to its math path (scores materialised, ~9x slower at 4096
    tokens); 4-D input takes the flash kernel.

    Example:
        >>> import torch
        >>> q = torch.randn(2, 5, 4)
        >>> tuple(flash_sdpa(q, q, q, scale=0.5, is_causal=True).shape)
        (2, 5, 4)
    """
    import torch.nn.functional as F

    return F.scaled_dot_product_attention(
        q[None], k[None], v[None], attn_mask=None if bias is None else bias[None],
        is_causal=is_causal, scale=scale)[0]


def exact_backend(
    q, k, v, *, bias, scale: float, need_weights: bool, generator: Any, **options: Any
) -> AttentionResult:
    """Exact attention; uses ``scaled_dot_product_attention`` unless weights are requested."""
    import torch

    check_options("exact", options)
    if need_weights:
        weights = exact_weights(q, k, bias=bias, scale=scale)
        output = torch.matmul(weights, v)
    else:
        weights = None
        # A dense top-left causal mask (what causal models pass) costs every score;
        # is_causal lets the kernel skip the blocks above the diagonal (~2x at 4096).
        causal = _is_plain_causal(bias, q.shape[0], q.shape[-2], k.shape[-2], q.dtype)
        output = flash_sdpa(q, k, v, scale=scale, bias=None if causal else bias,
                            is_causal=causal)
    zeros = torch.zeros_like(output.detach())
    return AttentionResult(
        output=output, weights=weights, std_error=zeros,
        error_estimate=zeros[..., 0], backend="exact",
    )


def _is_plain_causal(bias, B: int, L: int, S: int, dtype) -> bool:
    """Whether the additive mask ``bias [Bm, L, S]`` is exactly the top-left causal mask."""
    if bias is None or bias.ndim != 3 or bias.shape[1] == 1 or L < 2:
        return False
    from .sampling.prototype import classify_mask

    key_bias, model = classify_mask(bias, B, L, S, False, dtype)
    return model.kind == "causal" and not bool(key_bias.any())
