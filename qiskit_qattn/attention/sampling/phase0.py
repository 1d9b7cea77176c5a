"""Phase-0 prototype (``"phase0-proto"``): exact top-k keys plus Born-rule sampling of the rest.

This is the classical analogue of measuring the key register of the softmax state, with the
``top_k`` heaviest keys of every query taken exactly: for query ``i`` with weights ``p_i``,

    o_i = sum_{j in top} p_ij v_j + P_tail * mean_{t=1..s} v_{J_t},   J_t ~ p_i restricted to tail

(i.i.d. draws). All scores are computed (in query chunks, memory ``O(chunk * S)``), so the
normaliser is exact and the estimator is **unbiased** for the output; its standard error is
``P_tail * sqrt(sample variance / s)``. Differentiable through the weights and the values.
"""

from __future__ import annotations

from typing import Any

from .._common import bias_for, check_options, positive_int
from ..result import AttentionResult

_OPTIONS = ("top_k", "samples", "chunk_size")


def phase0_backend(
    q, k, v, *, bias, scale: float, need_weights: bool, generator: Any, **options: Any
) -> AttentionResult:
    """Registry entry ``"phase0-proto"`` (options ``top_k=32``, ``samples=64``, ``chunk_size``)."""
    import torch

    check_options("phase0-proto", options, _OPTIONS)
    top_k = positive_int(options.get("top_k", 32), "top_k")
    samples = positive_int(options.get("samples", 64), "samples")
    chunk = positive_int(options.get("chunk_size", 256), "chunk_size")
    B, L, _ = q.shape
    S = v.shape[1]
    top_k = min(top_k, S)
    outs, ses, ws = [], [], []
    for b in range(B):
        hb = bias_for(bias, b)
        o_rows, se_rows, w_rows = [], [], []
        for lo in range(0, L, chunk):
            hi = min(lo + chunk, L)
            s = (q[b, lo:hi] @ k[b].T) * scale
            if hb is not None:
                s = s + (hb if hb.shape[0] == 1 else hb[lo:hi])
            o, se, w = _chunk(s, v[b], top_k, samples, generator, need_weights)
            o_rows.append(o)
            se_rows.append(se)
            w_rows.append(w)
        outs.append(torch.cat(o_rows))
        ses.append(torch.cat(se_rows))
        if need_weights:
            ws.append(torch.cat(w_rows))
    std = torch.stack(ses)
    return AttentionResult(
        output=torch.stack(outs), weights=torch.stack(ws) if need_weights else None,
        std_error=std, error_estimate=std.norm(dim=-1), backend="phase0-proto",
        info={"top_k": top_k, "samples": samples, "bias": "unbiased (exact normaliser)"},
    )


def _chunk(s, v, top_k, samples, generator, need_weights):
    import torch

    dead = torch.isneginf(s).all(dim=1, keepdim=True)
    p = torch.softmax(s.masked_fill(dead, 0.0), dim=1).masked_fill(dead, 0.0)
    top_p, top_i = torch.topk(p, top_k, dim=1)
    heavy = (top_p[:, :, None] * v[top_i]).sum(1)
    tail = p.scatter(1, top_i, 0.0)
    mass = tail.sum(1, keepdim=True)
    has_tail = (mass.detach() > 1e-12).squeeze(1)
    n = s.shape[0]
    out = heavy
    se = torch.zeros(n, v.shape[1], dtype=v.dtype)
    w = None
    if need_weights:
        w = torch.zeros_like(p).scatter(1, top_i, top_p)
    if bool(has_tail.any()):
        rows = has_tail.nonzero().squeeze(1)
        probs = tail.detach()[rows]
        draw = torch.multinomial(probs / probs.sum(1, keepdim=True), samples, replacement=True,
                                 generator=generator)
        vs = v[draw]  # [rows, samples, Ev]
        mean = vs.mean(1)
        var = vs.detach().var(dim=1, unbiased=True) if samples > 1 else torch.zeros_like(mean)
        out = out.index_add(0, rows, mass[rows] * mean)
        se[rows] = mass[rows].detach() * (var / samples).sqrt()
        if need_weights:
            counts = torch.zeros_like(probs).scatter_add_(
                1, draw, torch.ones(draw.shape, dtype=probs.dtype)
            )
            w[rows] = w[rows] + mass[rows] * counts / samples
    return out, se, w
