"""Per-head report: attention entropy, focus, specialisation and distance to exact attention."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from .training import quantum_attention_modules


@dataclass(frozen=True)
class HeadStats:
    """Statistics of one head over every query row of a forward pass.

    Attributes:
        layer: module name inside the model (``""`` for the model itself).
        head: head index.
        backend: backend of the layer; ``quantum`` tells whether this head uses it.
        entropy: mean row entropy of the head's weights, in nats.
        normalized_entropy: ``entropy / log(#attended keys)`` averaged over rows (1 = uniform).
        max_weight: mean of the largest weight per row (focus).
        specialisation: mean Jensen–Shannon divergence (nats, at most ``log 2``) between the head's
            rows and the layer's head-averaged rows: 0 = all heads alike.
        tv_to_exact: mean total-variation distance to exact softmax weights of the same
            projections (0 for exact heads; the approximation's error otherwise).
    """

    layer: str
    head: int
    backend: str
    quantum: bool
    entropy: float
    normalized_entropy: float
    max_weight: float
    specialisation: float
    tv_to_exact: float


def _entropy(p: torch.Tensor) -> torch.Tensor:
    return -torch.special.xlogy(p, p).sum(-1)


def _head_stats(name: str, mod: Any, weights: torch.Tensor, exact: torch.Tensor) -> list[HeadStats]:
    """``weights``/``exact``: ``[N, H, L, S]``."""
    def rows(p: torch.Tensor) -> torch.Tensor:
        p = torch.nan_to_num(p.double()).clamp_min(0)
        return p / p.sum(-1, keepdim=True).clamp_min(1e-300)

    valid = torch.isfinite(exact).all(-1) & (torch.nan_to_num(exact).sum(-1) > 0)
    w, ex = rows(weights), rows(exact)
    ent = _entropy(w)
    support = (ex > 0).sum(-1).clamp_min(2).double()
    norm_ent = ent / support.log()
    mean = w.mean(dim=1, keepdim=True)
    mid = 0.5 * (w + mean)
    js = _entropy(mid) - 0.5 * (_entropy(w) + _entropy(mean.expand_as(w)))
    tv = 0.5 * (w - ex).abs().sum(-1)
    quantum_heads = (
        range(mod.num_heads) if mod.quantum_heads is None else mod.quantum_heads
    )
    uses = mod.quantum_backend != "exact" and mod.quantum_mix > 0
    out = []
    for h in range(mod.num_heads):
        rows = valid[:, h]

        def avg(t: torch.Tensor, h: int = h, rows: torch.Tensor = rows) -> float:
            return float(t[:, h][rows].mean()) if bool(rows.any()) else math.nan

        out.append(
            HeadStats(
                layer=name, head=h, backend=mod.quantum_backend,
                quantum=uses and h in quantum_heads, entropy=avg(ent), normalized_entropy=avg(
                    norm_ent), max_weight=avg(w.amax(-1)), specialisation=avg(js),
                tv_to_exact=avg(tv),
            )
        )
    return out


def head_report(
    model: nn.Module, *args: Any, run: Callable[[], Any] | None = None, **kwargs: Any
) -> list[HeadStats]:
    """Per-head statistics of every ``QuantumMultiheadAttention`` in ``model`` on one forward.

    Args:
        model: the model (or a single attention layer).
        *args, **kwargs: inputs of ``model(*args, **kwargs)``, the forward pass analysed.
        run: instead, a no-argument callable doing the forward pass (e.g. when the attention
            layers sit inside a bigger model: ``run=lambda: classifier(x)``).

    The forward runs under ``torch.no_grad``; layers called with ``need_weights=False`` (as in
    ``nn.TransformerEncoderLayer``) are still recorded.

    Returns:
        One :class:`HeadStats` per layer and head, in module order.

    Example:
        >>> from qiskit_qattn.nn import QuantumMultiheadAttention
        >>> m = QuantumMultiheadAttention(8, 2, quantum_backend="exact")
        >>> x = torch.randn(4, 1, 8)
        >>> stats = head_report(m, x, x, x)
        >>> len(stats), stats[0].tv_to_exact
        (2, 0.0)
    """
    mods = list(quantum_attention_modules(model))
    if not mods:
        raise ValueError("model contains no QuantumMultiheadAttention module")
    for _, mod in mods:
        mod.record_heads, mod.last_record = True, None
    try:
        with torch.no_grad():
            run() if run is not None else model(*args, **kwargs)
    finally:
        for _, mod in mods:
            mod.record_heads = False
    stats: list[HeadStats] = []
    for name, mod in mods:
        if mod.last_record is None:
            continue
        stats += _head_stats(name, mod, mod.last_record["weights"],
                             mod.last_record["exact_weights"])
        mod.last_record = None
    return stats


def head_report_markdown(stats: list[HeadStats]) -> str:
    """The report as a markdown table.

    Example:
        >>> s = HeadStats("", 0, "exact", False, 1.0, 0.9, 0.5, 0.01, 0.0)
        >>> print(head_report_markdown([s]).splitlines()[2])
        | - | 0 | exact | no | 1.000 | 0.900 | 0.500 | 0.0100 | 0.0000 |
    """
    from ..viz.markdown import markdown_table

    headers = ["layer", "head", "backend", "quantum", "entropy [nats]", "norm. entropy",
               "max weight", "specialisation (JS)", "TV to exact"]
    rows = []
    for s in stats:
        d = asdict(s)
        rows.append([
            d["layer"] or "-", d["head"], d["backend"], "yes" if d["quantum"] else "no",
            f"{d['entropy']:.3f}", f"{d['normalized_entropy']:.3f}", f"{d['max_weight']:.3f}",
            f"{d['specialisation']:.4f}", f"{d['tv_to_exact']:.4f}",
        ])
    return markdown_table(headers, rows)
