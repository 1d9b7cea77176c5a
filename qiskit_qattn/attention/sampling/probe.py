"""A posteriori check of an attention estimate on a few exactly computed queries.

The deterministic estimator has no error bars; a handful of random queries per head,
attended exactly (``probes x S`` scores: no measurable cost at 4096 tokens with 16 probes,
~0.03x SDPA's time at 2048, benchmarks/RESULTS.md), estimate its relative output error.
:func:`probe_errors` returns that estimate per head; the ``classical`` backend reports it and
recomputes exactly the heads whose estimate exceeds ``max_error``.
"""

from __future__ import annotations

from typing import Any

#: Probe scores held at once (floats); heads are checked in chunks of this many scores.
PROBE_CHUNK = 4 * 2**20


def probe_rows(L: int, probes: int, generator: Any):
    """``min(probes, L)`` distinct query indices drawn with ``generator``.

    Example:
        >>> import torch
        >>> probe_rows(100, 4, torch.Generator().manual_seed(0)).shape
        torch.Size([4])
    """
    import torch

    return torch.randperm(L, generator=generator)[:probes]


def probe_errors(q, k, v, output, *, scale: float, key_bias, mask: Any, rows):
    """Estimated relative output error ``||O - exact||_F / ||exact||_F`` of each batch row.

    The ratio over the probe queries: a consistent estimate of the row's (a head's) relative
    Frobenius error, the error ``benchmarks/attention.py`` reports per head; unlike a mean of
    per-query ratios it is not dominated by the queries whose exact output is near zero. With
    few probes it runs low where a few queries carry most of the error (real MiniLM heads, 16
    probes: 6.1 vs 7.1 % at 2048 tokens, 7.8 vs 8.0 % at 4096, benchmarks/RESULTS.md).

    Args:
        q, k, v: ``[B, L, E]``, ``[B, S, E]``, ``[B, S, Ev]`` (queries not yet scaled).
        output: the estimate ``[B, L, Ev]`` to check.
        scale: score scale.
        key_bias: ``None`` or an additive per-key bias ``[B, S]``.
        mask: :class:`~.blocksparse.MaskModel` (``"none"``, ``"causal"`` or ``"dense"``).
        rows: the probe queries (:func:`probe_rows`), the same for every batch row.

    Returns:
        ``[B]`` float64 tensor; queries with no visible key are left out (a row with none
        left, or a zero exact output, gets 0).

    Example:
        >>> import torch
        >>> from qiskit_qattn.attention.sampling.blocksparse import MaskModel
        >>> q, k, v = torch.randn(2, 50, 4), torch.randn(2, 60, 4), torch.randn(2, 60, 3)
        >>> exact = torch.softmax(q @ k.mT * 0.5, -1) @ v
        >>> rows = probe_rows(50, 8, torch.Generator().manual_seed(0))
        >>> probe_errors(q, k, v, exact, scale=0.5, key_bias=None, mask=MaskModel(),
        ...              rows=rows).abs().max() < 1e-5
        tensor(True)
    """
    import torch

    B, L, _ = q.shape
    S = k.shape[1]
    m = len(rows)
    out = torch.zeros(B, dtype=torch.float64)
    if m == 0:
        return out
    with torch.no_grad():
        # the same probe queries in every row: one draw, plain indexing
        qp, est = q.detach()[:, rows], output.detach()[:, rows]
        step = max(1, PROBE_CHUNK // (m * S))
        for lo in range(0, B, step):
            sl = slice(lo, min(B, lo + step))
            scores = (qp[sl] @ k[sl].detach().transpose(1, 2)) * scale
            if key_bias is not None:
                scores = scores + key_bias[sl, None, :].detach()
            if mask.kind == "causal":
                scores = scores.masked_fill(torch.arange(S) > rows[:, None], float("-inf"))
            elif mask.kind == "dense":
                dense = mask.bias if mask.bias.shape[0] > 1 else mask.bias.expand(B, L, S)
                scores = scores + dense[sl][:, rows].detach()
            exact = torch.softmax(scores, dim=-1) @ v[sl].detach()
            ok = torch.isfinite(exact).all(-1)
            diff = torch.where(ok[..., None], est[sl] - exact, 0.0).double().square().sum((1, 2))
            ref = torch.where(ok[..., None], exact, 0.0).double().square().sum((1, 2))
            out[sl] = torch.where(ref > 0, diff / torch.where(ref > 0, ref, 1.0), 0.0).sqrt()
    return out
