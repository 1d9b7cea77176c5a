"""Key-padding masks for the peers: keep the attended keys and their additive bias."""

from __future__ import annotations

from typing import Any


def key_padding(name: str, bias_b: Any, k, v):
    """Return ``(k, v, key_bias)`` for one head; ``key_bias`` is ``None`` or ``[S']``.

    Raises ``ValueError`` for per-query masks (``[L, S]`` with ``L > 1``), which the peer
    methods cannot express without materialising the full score matrix.
    """
    import torch

    if bias_b is None:
        return k, v, None
    if bias_b.shape[0] != 1:
        raise ValueError(
            f"backend {name!r} supports only key-padding masks (the same for every query, "
            "e.g. shape [..., 1, S]); got a per-query mask"
        )
    b = bias_b[0]
    keep = ~torch.isneginf(b)
    if not bool(keep.all()):
        k, v, b = k[keep], v[keep], b[keep]
    return k, v, (b if bool((b != 0).any()) else None)
