"""Performer / FAVOR+ (Choromanski et al., "Rethinking Attention with Performers", ICLR 2021).

The softmax kernel ``exp(q.k)`` is the expectation of ``phi(q).phi(k)`` with positive random
features ``phi(x) = exp(w^T x - ||x||^2 / 2) / sqrt(m)``, ``w ~ N(0, I)`` drawn as orthogonal
blocks (rows of Gaussian QR factors rescaled to chi-distributed norms). Attention becomes
``phi(Q) (phi(K)^T V) / (phi(Q) phi(K)^T 1)``: time and memory linear in the sequence length.
"""

from __future__ import annotations

from typing import Any

from .._common import bias_for, check_options, positive_int
from ..result import AttentionResult
from ._masks import key_padding


def orthogonal_features(num_features: int, dim: int, generator: Any, dtype: Any):
    """``[num_features, dim]`` orthogonal Gaussian directions with chi(dim) norms (FAVOR+).

    Example:
        >>> import torch
        >>> w = orthogonal_features(4, 4, torch.Generator().manual_seed(0), torch.float64)
        >>> g = w @ w.T
        >>> off_diagonal = g - torch.diag(torch.diag(g))
        >>> bool(off_diagonal.abs().max() < 1e-9)
        True
    """
    import torch

    blocks = []
    remaining = num_features
    while remaining > 0:
        g = torch.randn(dim, dim, generator=generator, dtype=torch.float64)
        qm, r = torch.linalg.qr(g)
        # Sign fix makes Q Haar-distributed (uniform directions): the estimator is unbiased.
        qm = qm * torch.sign(torch.diagonal(r))[None, :]
        blocks.append(qm.T[: min(dim, remaining)])
        remaining -= dim
    w = torch.cat(blocks)
    norms = torch.randn(num_features, dim, generator=generator, dtype=torch.float64).norm(dim=1)
    return (w * norms[:, None]).to(dtype)


def _features(x, w, *, is_query: bool):
    import torch

    proj = x @ w.T
    sq = 0.5 * (x * x).sum(-1, keepdim=True)
    # Stabiliser: per-row max for queries, global max for keys (both cancel in the ratio).
    stab = proj.amax(dim=-1, keepdim=True) if is_query else proj.max()
    return torch.exp(proj - sq - stab.detach()) / (w.shape[0] ** 0.5)


def performer_backend(
    q, k, v, *, bias, scale: float, need_weights: bool, generator: Any, **options: Any
) -> AttentionResult:
    """Registry entry ``"performer"`` (option ``num_features=256``; new features per call)."""
    import torch

    check_options("performer", options, ("num_features",))
    m = positive_int(options.get("num_features", 256), "num_features")
    root = abs(scale) ** 0.5
    sign = 1.0 if scale >= 0 else -1.0
    outs, ws = [], []
    for b in range(q.shape[0]):
        kb, vb, kbias = key_padding("performer", bias_for(bias, b), k[b], v[b])
        w = orthogonal_features(m, q.shape[-1], generator, q.dtype)
        fq = _features(q[b] * root * sign, w, is_query=True)
        fk = _features(kb * root, w, is_query=False)
        if kbias is not None:
            fk = fk * torch.exp(kbias - kbias.max())[:, None]
        if kb.shape[0] == 0:
            outs.append(torch.zeros(q.shape[1], v.shape[-1], dtype=v.dtype))
            if need_weights:
                ws.append(torch.zeros(q.shape[1], k.shape[1], dtype=v.dtype))
            continue
        kv = fk.T @ vb
        norm = fq @ fk.sum(0)
        outs.append((fq @ kv) / norm[:, None])
        if need_weights:
            ws.append(_full_weights(fq @ fk.T / norm[:, None], bias_for(bias, b), k.shape[1]))
    out = torch.stack(outs)
    return AttentionResult(
        output=out, weights=torch.stack(ws) if need_weights else None, std_error=None,
        backend="performer", info={"num_features": m},
    )


def _full_weights(w, bias_b, S):
    """Scatter weights over kept keys back to all ``S`` keys."""
    import torch

    if bias_b is None or w.shape[1] == S:
        return w
    keep = ~torch.isneginf(bias_b[0])
    full = torch.zeros(w.shape[0], S, dtype=w.dtype)
    full[:, keep] = w
    return full
