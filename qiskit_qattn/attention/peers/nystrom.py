"""Nyströmformer: landmark (Nyström) approximation of softmax attention.

Xiong et al., "Nyströmformer: A Nyström-Based Algorithm for Approximating Self-Attention",
AAAI 2021.
Landmarks ``Q~``, ``K~`` are segment means of the queries and keys (``m`` contiguous segments).
With ``F = softmax(Q K~^T)``, ``A = softmax(Q~ K~^T)``, ``B = softmax(Q~ K^T)`` the output is
``F A^+ (B V)``, where ``A^+`` comes from the paper's iterative Moore–Penrose scheme
(``Z <- Z (13 I - A Z (15 I - A Z (7 I - A Z))) / 4`` from ``Z0 = A^T / (||A||_1 ||A||_inf)``).
The paper's depthwise-convolution skip connection is a trained part and is left out.
"""

from __future__ import annotations

from typing import Any

from .._common import bias_for, check_options, positive_int
from ..result import AttentionResult
from ._masks import key_padding
from .performer import _full_weights


def iterative_pinv(a, iters: int = 6):
    """Moore–Penrose pseudo-inverse of a row-stochastic matrix by Nyströmformer's iteration.

    Example:
        >>> import torch
        >>> a = torch.softmax(torch.randn(5, 5, dtype=torch.float64), dim=1)
        >>> bool(torch.allclose(iterative_pinv(a, 30) @ a, torch.eye(5, dtype=a.dtype), atol=1e-6))
        True
    """
    import torch

    eye = torch.eye(a.shape[-1], dtype=a.dtype)
    z = a.T / (a.abs().sum(0).max() * a.abs().sum(1).max())
    for _ in range(iters):
        az = a @ z
        z = 0.25 * z @ (13 * eye - az @ (15 * eye - az @ (7 * eye - az)))
    return z


def _segment_means(x, m: int):
    import torch

    return torch.stack([seg.mean(0) for seg in torch.tensor_split(x, m)])


def nystrom_backend(
    q, k, v, *, bias, scale: float, need_weights: bool, generator: Any, **options: Any
) -> AttentionResult:
    """Registry entry ``"nystrom"`` (options ``num_landmarks=64``, ``pinv_iters=6``)."""
    import torch

    check_options("nystrom", options, ("num_landmarks", "pinv_iters"))
    m_req = positive_int(options.get("num_landmarks", 64), "num_landmarks")
    iters = positive_int(options.get("pinv_iters", 6), "pinv_iters")
    outs, ws = [], []
    for b in range(q.shape[0]):
        kb, vb, kbias = key_padding("nystrom", bias_for(bias, b), k[b], v[b])
        if kb.shape[0] == 0:
            outs.append(torch.zeros(q.shape[1], v.shape[-1], dtype=v.dtype))
            if need_weights:
                ws.append(torch.zeros(q.shape[1], k.shape[1], dtype=v.dtype))
            continue
        m = min(m_req, q.shape[1], kb.shape[0])
        ql, kl = _segment_means(q[b], m), _segment_means(kb, m)
        f = torch.softmax(q[b] @ kl.T * scale, dim=1)
        a = torch.softmax(ql @ kl.T * scale, dim=1)
        sb = ql @ kb.T * scale
        if kbias is not None:
            sb = sb + kbias
        bm = torch.softmax(sb, dim=1)
        left = f @ iterative_pinv(a, iters)
        outs.append(left @ (bm @ vb))
        if need_weights:
            ws.append(_full_weights(left @ bm, bias_for(bias, b), k.shape[1]))
    return AttentionResult(
        output=torch.stack(outs), weights=torch.stack(ws) if need_weights else None,
        std_error=None, backend="nystrom", info={"num_landmarks": m_req, "pinv_iters": iters},
    )
