"""Linformer (Wang et al., "Linformer: Self-Attention with Linear Complexity", 2020).

Keys and values are projected along the sequence axis, ``K' = E K``, ``V' = F V`` with
``E, F`` of shape ``[k, S]``, and attention is ``softmax(Q K'^T * scale) V'``. The paper learns
``E, F``; training-free, the default ``projection="mean"`` pools ``k`` contiguous segments (the
deterministic pooling baseline, shared ``E = F`` as in the paper's parameter-sharing variant),
and ``projection="gaussian"`` uses the Johnson–Lindenstrauss projections ``N(0, 1/k)`` of the
paper's analysis (far less accurate without training: a random mix of keys is no key).
"""

from __future__ import annotations

from typing import Any

from .._common import bias_for, check_options, positive_int
from ..result import AttentionResult
from ._masks import key_padding

PROJECTIONS = ("gaussian", "mean")


def linformer_backend(
    q, k, v, *, bias, scale: float, need_weights: bool, generator: Any, **options: Any
) -> AttentionResult:
    """Registry entry ``"linformer"`` (options ``proj_dim=256``, ``projection="mean"``)."""
    import torch

    check_options("linformer", options, ("proj_dim", "projection"))
    kdim = positive_int(options.get("proj_dim", 256), "proj_dim")
    proj = options.get("projection", "mean")
    if proj not in PROJECTIONS:
        raise ValueError(f"projection must be one of {PROJECTIONS}; got {proj!r}")
    outs = []
    for b in range(q.shape[0]):
        kb, vb, kbias = key_padding("linformer", bias_for(bias, b), k[b], v[b])
        S = kb.shape[0]
        if S == 0:
            outs.append(torch.zeros(q.shape[1], v.shape[-1], dtype=v.dtype))
            continue
        if kbias is not None:
            raise ValueError("backend 'linformer' supports boolean key-padding masks only")
        if proj == "gaussian":
            e = torch.randn(kdim, S, generator=generator, dtype=torch.float64).to(q.dtype)
            e = e / kdim**0.5
        else:
            m = min(kdim, S)
            e = torch.zeros(m, S, dtype=q.dtype)
            for i, seg in enumerate(torch.tensor_split(torch.arange(S), m)):
                e[i, seg] = 1.0 / seg.numel()
        kp, vp = e @ kb, e @ vb
        outs.append(torch.softmax(q[b] @ kp.T * scale, dim=1) @ vp)
    return AttentionResult(
        output=torch.stack(outs), weights=None, std_error=None, backend="linformer",
        info={"proj_dim": kdim, "projection": proj},
    )
