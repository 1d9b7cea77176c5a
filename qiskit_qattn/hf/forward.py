"""The attention function transformers calls for ``attn_implementation="qattn_<backend>"``.

transformers' attention modules call ``fn(module, query, key, value, attention_mask, dropout=...,
scaling=..., **kwargs)`` with ``query [B, H, L, E]``, ``key``/``value [B, H_kv, S, E]`` and expect
``(output [B, L, H, Ev], weights or None)``. This module adapts that call to
:func:`qiskit_qattn.attention.attention`: grouped-query heads are repeated, the boolean mask of
:func:`~qiskit_qattn.hf.masks.qattn_mask` (``True`` = attend) is passed on. A sequence with padding
(keys no query may attend) runs on its real tokens only: the backend never sees the padding
keys, nor the padding queries, which get exact attention; so padding cannot change other tokens'
results, not even through a sampling backend's random choices (seeded per sequence). A mask
that is the same for every query is passed as one row. Heads a patched module does not select
run through torch SDPA with 4-D input, exactly as transformers' ``"sdpa"`` implementation runs
them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .settings import ModuleSettings, module_settings


def make_attention_function(backend: str) -> Callable[..., tuple[Any, Any]]:
    """The transformers attention function of one attention backend.

    Modules patched by :func:`~qiskit_qattn.hf.patch_model` carry their own settings (backend,
    heads, options, seed), which win over ``backend``; any other module runs every head on
    ``backend`` with its default options.

    Example:
        >>> import torch
        >>> fn = make_attention_function("exact")
        >>> q = k = v = torch.randn(1, 2, 5, 4)      # [batch, heads, tokens, head_dim]
        >>> out, weights = fn(torch.nn.Module(), q, k, v, None, scaling=0.5, is_causal=False)
        >>> out.shape                                   # [batch, tokens, heads, head_dim]
        torch.Size([1, 5, 2, 4])
        >>> ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=0.5)
        >>> bool(torch.allclose(out, ref.transpose(1, 2), atol=1e-6))
        True
    """
    default = ModuleSettings(backend)

    def attention_forward(module, query, key, value, attention_mask, dropout: float = 0.0,
                          scaling: float | None = None, **kwargs: Any):
        settings = module_settings(module) or default
        return qattn_attention_forward(module, query, key, value, attention_mask, settings,
                                       dropout=dropout, scaling=scaling, **kwargs)

    attention_forward.__name__ = f"qattn_{backend.replace('-', '_')}_attention_forward"
    attention_forward.__qualname__ = attention_forward.__name__
    attention_forward.__doc__ = f"transformers attention function running backend {backend!r}."
    return attention_forward


def qattn_attention_forward(module, query, key, value, attention_mask, settings: ModuleSettings,
                            *, dropout: float = 0.0, scaling: float | None = None,
                            **kwargs: Any) -> tuple[Any, Any]:
    """Attention of one module call under ``settings``; see the module docstring.

    Raises:
        ValueError: attention dropout in training mode on a qattn backend, ``softcap`` or
            attention sinks (``s_aux``), or head counts that do not divide.
        TypeError: an attention mask that is not a tensor (e.g. flex attention's ``BlockMask``).
    """
    import torch
    import torch.nn.functional as F

    _reject_unsupported(kwargs)
    B, H, L, _ = query.shape
    key, value = _repeat_kv(key, H), _repeat_kv(value, H)
    is_causal = kwargs.get("is_causal")
    if is_causal is None:  # as transformers' sdpa path decides it
        is_causal = getattr(module, "is_causal", True)
    key, value, mask = _combined_mask(attention_mask, kwargs.get("position_bias"),
                                      bool(is_causal), L, key, value)
    want_weights = bool(kwargs.get("output_attentions", False))
    p_drop = float(dropout) if getattr(module, "training", False) else 0.0

    if not settings.runs_backend:
        heads_b, heads_r = [], list(range(H))
    else:
        heads_b = list(range(H)) if settings.heads is None else list(settings.heads)
        bad = [h for h in heads_b if not 0 <= h < H]
        if bad:
            raise ValueError(f"heads {bad} out of range for a module with {H} heads")
        if p_drop > 0:
            raise ValueError(
                f"attention backend {settings.backend!r} does not apply attention dropout "
                f"(dropout={p_drop}); call model.eval() or set the config's attention dropout "
                "to 0 before running a qattn backend in training mode"
            )
        chosen = set(heads_b)
        heads_r = [h for h in range(H) if h not in chosen]

    parts, weights = [], []
    if heads_b:
        out_b, w_b = _backend_attention(query, key, value, mask, torch.tensor(heads_b), settings,
                                        scaling, want_weights)
        parts.append(out_b)
        weights.append(w_b)
    if heads_r:
        idx = torch.tensor(heads_r)
        if want_weights:
            from ..attention import attention

            res = attention(query[:, idx], key[:, idx], value[:, idx], backend="exact",
                            attn_mask=_head_slice(mask, idx), scale=scaling, need_weights=True)
            parts.append(res.output)
            weights.append(res.weights)
        else:
            parts.append(F.scaled_dot_product_attention(
                query[:, idx], key[:, idx], value[:, idx], attn_mask=_head_slice(mask, idx),
                dropout_p=p_drop, scale=scaling,
            ))
    order = heads_b + heads_r
    out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
    w = None
    if want_weights:
        w = weights[0] if len(weights) == 1 else torch.cat(weights, dim=1)
    if order != list(range(H)):
        inverse = torch.argsort(torch.tensor(order))
        out = out[:, inverse]
        w = None if w is None else w[:, inverse]
    return out.transpose(1, 2).contiguous(), w


def _backend_attention(query, key, value, mask, idx, settings: ModuleSettings, scaling,
                       want_weights: bool) -> tuple[Any, Any]:
    """``(output [B, h, L, Ev], weights or None)`` of the heads ``idx`` on the backend.

    A sequence whose mask leaves some keys unattended by every query (padding) runs on its live
    tokens only: in self-attention its padding queries are dropped as well and get exact
    attention instead, so nothing under the padding can reach the backend's random choices.
    """
    import torch

    from ..attention import attention

    def run(q, k, v, m, seed):
        res = attention(q, k, v, backend=settings.backend, attn_mask=m, scale=scaling,
                        need_weights=want_weights, seed=seed, **settings.options)
        return res.output, res.weights

    q, k, v = query[:, idx], key[:, idx], value[:, idx]
    m = _head_slice(mask, idx)
    live = _live_keys(m)
    if live is None:
        return run(q, k, v, m, settings.seed)
    B, L, S = q.shape[0], q.shape[2], k.shape[2]
    seeds = [None] * B
    if settings.seed is not None:
        g = torch.Generator().manual_seed(settings.seed)
        seeds = torch.randint(0, 2**62, (B,), generator=g).tolist()
    outs, weights = [], []
    for b in range(B):
        mb = m[b:b + 1] if m.shape[0] > 1 else m
        keys = live[min(b, live.shape[0] - 1)].nonzero().squeeze(1)
        rows = keys if L == S else torch.arange(L)
        sub = mb[..., :, keys]
        if sub.shape[-2] > 1:
            sub = sub[..., rows, :]
        sub = _one_row_if_shared(sub)
        if sub.dtype == torch.bool and bool(sub.all()):
            sub = None
        out_b, w_b = run(q[b:b + 1, :, rows], k[b:b + 1, :, keys], v[b:b + 1, :, keys], sub,
                         seeds[b])
        if rows.numel() < L:
            full = attention(q[b:b + 1], k[b:b + 1], v[b:b + 1], backend="exact", attn_mask=mb,
                             scale=scaling, need_weights=want_weights)
            out_b = full.output.index_copy(2, rows, out_b)
            if want_weights:
                w_live = torch.zeros(*w_b.shape[:-1], S, dtype=w_b.dtype).index_copy(3, keys, w_b)
                w_b = full.weights.index_copy(2, rows, w_live)
        elif want_weights:
            w_b = torch.zeros(*w_b.shape[:-1], S, dtype=w_b.dtype).index_copy(3, keys, w_b)
        outs.append(out_b)
        weights.append(w_b)
    return torch.cat(outs), (torch.cat(weights) if want_weights else None)


def _live_keys(mask):
    """``[Bm, S]`` keys some query may attend, or ``None`` when every key is live."""
    import torch

    if mask is None:
        return None
    dead = ~mask if mask.dtype == torch.bool else torch.isneginf(mask)
    live = ~dead.flatten(1, -2).all(dim=1) if mask.ndim > 2 else ~dead.all(dim=0, keepdim=True)
    if bool(live.all()) or not bool(live.any(dim=-1).all()):
        return None  # nothing to drop, or a sequence without any live key (left as it is)
    return live


def _reject_unsupported(kwargs: dict[str, Any]) -> None:
    if kwargs.get("softcap") is not None:
        raise ValueError("qattn attention does not support logit soft-capping (softcap); "
                         "use attn_implementation='eager' for this model")
    if kwargs.get("s_aux") is not None:
        raise ValueError("qattn attention does not support attention sinks (s_aux); "
                         "use attn_implementation='eager' for this model")


def _repeat_kv(x, num_heads: int):
    """Repeat grouped key/value heads ``[B, H_kv, S, E]`` up to ``num_heads``."""
    h_kv = x.shape[1]
    if h_kv == num_heads:
        return x
    if num_heads % h_kv:
        raise ValueError(f"query heads ({num_heads}) must be a multiple of key/value heads "
                         f"({h_kv})")
    return x.repeat_interleave(num_heads // h_kv, dim=1)


def _combined_mask(attention_mask, position_bias, is_causal: bool, L: int, key, value):
    """``(key, value, mask)``: the mask the backends see (bool or additive float, or ``None``)."""
    import torch

    if attention_mask is not None and not isinstance(attention_mask, torch.Tensor):
        raise TypeError(
            f"attention_mask must be a torch tensor or None; got {type(attention_mask).__name__} "
            "(qattn implementations build boolean masks; do not mix them with flex attention)"
        )
    mask = attention_mask
    S = key.shape[2]
    if mask is None and is_causal and L > 1:
        # transformers' sdpa path: a skipped causal mask means SDPA's top-left `is_causal`,
        # with the (empty) cache slots beyond the queries cropped away.
        if S > L:
            key, value = key[:, :, :L], value[:, :, :L]
            if position_bias is not None:
                position_bias = position_bias[..., :L]
            S = L
        mask = torch.ones(L, S, dtype=torch.bool).tril()[None, None]
    if position_bias is not None:
        if mask is None:
            mask = position_bias
        elif mask.dtype == torch.bool:
            mask = position_bias.masked_fill(~mask, float("-inf"))
        else:
            mask = position_bias + mask
    return key, value, _one_row_if_shared(mask)


def _one_row_if_shared(mask):
    """A mask ``[..., L, S]`` whose rows are all equal becomes ``[..., 1, S]`` (padding only)."""
    if mask is None or mask.ndim < 2 or mask.shape[-2] <= 1:
        return mask
    first = mask[..., :1, :]
    if bool((mask == first).all()):
        return first
    return mask


def _head_slice(mask, idx):
    if mask is None or mask.ndim < 4 or mask.shape[1] == 1:
        return mask
    return mask[:, idx]
