"""``QuantumMultiheadAttention``: ``torch.nn.MultiheadAttention`` with pluggable quantum heads.

It *is* an ``nn.MultiheadAttention`` (subclass): same constructor arguments, parameters,
parameter names and initialisation, so it loads an ``nn.MultiheadAttention`` state dict, passes
``isinstance`` checks and slots into ``nn.TransformerEncoderLayer``. Only the attention between
the in- and out-projections changes, per head, to the chosen backend:

- ``"exact"``: the same computation as torch (outputs and weights equal to float rounding);
- ``"phase0-proto"``, ``"quantum-sim"``, ``"classical"``, ``"performer"``, ... : through
  :func:`qiskit_qattn.attention.attention` (one call for all heads of the batch);
- ``"variational"``: trainable QSANN circuits for the Q/K/V maps
  (:class:`~qiskit_qattn.nn.variational.VariationalAttention`);
- any callable ``(q, k, v, mask, *, need_weights, is_causal, dropout_p) -> (out, weights)``.

Hybrid operation: ``quantum_heads`` picks which heads use the backend (the rest stay exact) and
``quantum_mix`` blends each quantum head with its exact counterpart (``0`` = exact, ``1`` =
quantum), which is what the exact-to-quantum curriculum in :mod:`~qiskit_qattn.nn.training`
drives. With ``track_exact=True`` the last forward keeps both head outputs for the
approximation-artefact regulariser.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .backends import make_backend
from .errors import (
    AttentionDtypeError,
    AttentionMaskTypeError,
    AttentionShapeError,
    AttentionSizeError,
)
from .exact_heads import exact_heads


def _keep_module_path(module: nn.Module, args: Any) -> None:
    """Forward pre-hook: its presence turns off ``TransformerEncoderLayer``'s fused fast path.

    That path reads ``in_proj_weight`` directly and would compute exact attention, silently
    bypassing the quantum heads; torch skips it when any submodule has hooks.
    """
    return None


def _check_int(value: Any, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


class QuantumMultiheadAttention(nn.MultiheadAttention):
    """Drop-in ``nn.MultiheadAttention`` whose heads run on a quantum (or approximate) backend.

    Args:
        embed_dim, num_heads, dropout, bias, add_bias_kv, add_zero_attn, kdim, vdim,
        batch_first, device, dtype: exactly as ``torch.nn.MultiheadAttention``.
        quantum_backend: ``"quantum-sim"`` (default), ``"phase0-proto"``, ``"variational"``,
            ``"exact"``, another name of :func:`~qiskit_qattn.nn.backends.available_backend_names`,
            or a head-backend callable.
        **backend_options: passed to the backend (e.g. ``shots=`` for ``quantum-sim``,
            ``reps=``/``engine=`` for ``variational``, ``seed=`` for sampling backends).

    Attributes:
        quantum_heads: ``None`` (all heads) or the sorted head indices that use the backend.
        quantum_mix: weight of the backend in ``(1 - mix) * exact + mix * quantum`` per head.
        track_exact: keep the last forward's quantum and exact head outputs in
            ``last_head_outputs`` (for :func:`~qiskit_qattn.nn.training.artifact_penalty`).
        record_heads: keep the last forward's per-head weights and the exact weights of the
            same projections in ``last_record`` (for :func:`~qiskit_qattn.nn.report.head_report`).

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> ref = nn.MultiheadAttention(8, 2, batch_first=True)
        >>> qmha = QuantumMultiheadAttention(8, 2, batch_first=True, quantum_backend="exact")
        >>> _ = qmha.load_state_dict(ref.state_dict())
        >>> x = torch.randn(3, 5, 8)
        >>> out, w = qmha(x, x, x)
        >>> bool(torch.allclose(out, ref(x, x, x)[0], atol=1e-6)), tuple(w.shape)
        (True, (3, 5, 5))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
        quantum_backend: str | Callable[..., Any] = "quantum-sim",
        **backend_options: Any,
    ) -> None:
        embed_dim = _check_int(embed_dim, "embed_dim")
        num_heads = _check_int(num_heads, "num_heads")
        if embed_dim % num_heads:
            raise AttentionShapeError(
                f"embed_dim must be divisible by num_heads; got embed_dim={embed_dim}, "
                f"num_heads={num_heads}"
            )
        for name, value in (("kdim", kdim), ("vdim", vdim)):
            if value is not None:
                _check_int(value, name)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real):
            raise TypeError(f"dropout must be a float in [0, 1); got {dropout!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}")
        super().__init__(
            embed_dim, num_heads, dropout=dropout, bias=bias, add_bias_kv=add_bias_kv,
            add_zero_attn=add_zero_attn, kdim=kdim, vdim=vdim, batch_first=batch_first,
            device=device, dtype=dtype,
        )
        self.quantum_heads: tuple[int, ...] | None = None
        self.quantum_mix = 1.0
        self.track_exact = False
        self.last_head_outputs: dict[str, Tensor] | None = None
        self.record_heads = False
        self.last_record: dict[str, Tensor] | None = None
        self._factory = {"device": device, "dtype": dtype}
        self.set_backend(quantum_backend, **backend_options)
        self.register_forward_pre_hook(_keep_module_path)

    # ------------------------------------------------------------------ configuration
    def set_backend(
        self, quantum_backend: str | Callable[..., Any], **backend_options: Any
    ) -> None:
        """Switch the head backend (a new ``variational`` backend starts from fresh weights).

        Example:
            >>> m = QuantumMultiheadAttention(8, 2, quantum_backend="exact")
            >>> m.set_backend("variational", reps=1)
            >>> m.quantum_backend, sum(p.numel() for p in m.quantum.parameters())
            ('variational', 74)
        """
        backend = make_backend(
            quantum_backend, num_heads=self.num_heads, head_dim=self.head_dim, **self._factory,
            **backend_options,
        )
        if "quantum" in self._modules:
            del self._modules["quantum"]
        # a trainable backend is the submodule "quantum" (its weights are "quantum.*" entries)
        self.quantum: nn.Module | None = backend if isinstance(backend, nn.Module) else None
        self._backend_fn = None if isinstance(backend, nn.Module) else backend
        self.quantum_backend = quantum_backend if isinstance(quantum_backend, str) else "custom"
        self.backend_options = dict(backend_options)

    def set_quantum_heads(self, heads: Sequence[int] | None) -> None:
        """Use the backend on these heads only (``None`` = all); the others stay exact.

        Example:
            >>> m = QuantumMultiheadAttention(8, 4, quantum_backend="exact")
            >>> m.set_quantum_heads([2, 0]); m.quantum_heads
            (0, 2)
        """
        if heads is None:
            self.quantum_heads = None
            return
        idx = sorted({int(h) for h in heads})
        if any(h < 0 or h >= self.num_heads for h in idx):
            raise ValueError(f"quantum_heads must be in [0, {self.num_heads}); got {list(heads)}")
        self.quantum_heads = tuple(idx)

    def set_quantum_mix(self, mix: float) -> None:
        """Blend weight of the backend, ``0`` (exact) to ``1`` (backend only)."""
        if isinstance(mix, bool) or not isinstance(mix, numbers.Real) or not 0 <= mix <= 1:
            raise ValueError(f"quantum_mix must be a number in [0, 1]; got {mix!r}")
        self.quantum_mix = float(mix)

    @property
    def _backend(self) -> Callable[..., Any]:
        return self.quantum if self.quantum is not None else self._backend_fn

    @classmethod
    def from_torch(
        cls,
        mha: nn.MultiheadAttention,
        quantum_backend: str | Callable[..., Any] = "quantum-sim",
        **backend_options: Any,
    ) -> QuantumMultiheadAttention:
        """Copy an ``nn.MultiheadAttention`` (configuration and weights) onto a quantum backend.

        Example:
            >>> mha = nn.MultiheadAttention(8, 2, kdim=3, vdim=5)
            >>> q = QuantumMultiheadAttention.from_torch(mha, "exact")
            >>> q.kdim, q.vdim, bool(torch.equal(q.k_proj_weight, mha.k_proj_weight))
            (3, 5, True)
        """
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(f"mha must be an nn.MultiheadAttention; got {type(mha).__name__}")
        ref = mha.out_proj.weight
        new = cls(
            mha.embed_dim, mha.num_heads, dropout=mha.dropout,
            bias=mha.in_proj_bias is not None, add_bias_kv=mha.bias_k is not None,
            add_zero_attn=mha.add_zero_attn, kdim=mha.kdim, vdim=mha.vdim,
            batch_first=mha.batch_first, device=ref.device, dtype=ref.dtype,
            quantum_backend=quantum_backend, **backend_options,
        )
        new.load_state_dict(mha.state_dict(), strict=True)
        new.train(mha.training)
        return new

    def to_torch(self) -> nn.MultiheadAttention:
        """A plain ``nn.MultiheadAttention`` with these projections (quantum maps dropped)."""
        ref = self.out_proj.weight
        mha = nn.MultiheadAttention(
            self.embed_dim, self.num_heads, dropout=self.dropout,
            bias=self.in_proj_bias is not None, add_bias_kv=self.bias_k is not None,
            add_zero_attn=self.add_zero_attn, kdim=self.kdim, vdim=self.vdim,
            batch_first=self.batch_first, device=ref.device, dtype=ref.dtype,
        )
        state = {k: v for k, v in self.state_dict().items() if not k.startswith("quantum.")}
        mha.load_state_dict(state, strict=True)
        mha.train(self.training)
        return mha

    def extra_repr(self) -> str:
        heads = "all" if self.quantum_heads is None else list(self.quantum_heads)
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first="
            f"{self.batch_first}, quantum_backend={self.quantum_backend!r}, quantum_heads={heads}, "
            f"quantum_mix={self.quantum_mix}"
        )

    def _load_from_state_dict(self, state_dict, prefix, *args: Any, **kwargs: Any) -> None:
        # A plain nn.MultiheadAttention state dict has no "quantum.*" entries: let it load
        # strictly, the quantum weights keeping their current values. A state dict with some
        # quantum entries is loaded as given (missing ones are reported as usual).
        own = prefix + "quantum."
        if self.quantum is not None and not any(k.startswith(own) for k in state_dict):
            for name, value in self.quantum.state_dict().items():
                state_dict[own + name] = value
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Same arguments, shapes, mask conventions and return values as ``nn.MultiheadAttention``.

        Args:
            query: ``(L, E)``, ``(L, N, E)`` or, with ``batch_first``, ``(N, L, E)``.
            key: ``(S, kdim)`` / ``(S, N, kdim)`` / ``(N, S, kdim)``.
            value: ``(S, vdim)`` / ``(S, N, vdim)`` / ``(N, S, vdim)``.
            key_padding_mask: ``(N, S)`` or ``(S,)``; bool (``True`` = ignore key) or float
                (added to the scores).
            need_weights: also return attention weights.
            attn_mask: ``(L, S)`` or ``(N * num_heads, L, S)``; bool (``True`` = not allowed)
                or float (added).
            average_attn_weights: average the returned weights over heads.
            is_causal: hint that ``attn_mask`` is the causal mask (``attn_mask`` is required).

        Returns:
            ``(attn_output, attn_weights)``: output ``(L, E)``/``(L, N, E)``/``(N, L, E)``;
            weights ``(N, L, S)`` averaged or ``(N, num_heads, L, S)`` (unbatched: no ``N``),
            ``None`` when ``need_weights=False``.
        """
        if getattr(query, "is_nested", False):
            return self._forward_nested(query, key, value, key_padding_mask, attn_mask,
                                        need_weights, average_attn_weights)
        is_batched = _check_inputs(self, query, key, value, key_padding_mask, attn_mask)
        kpm = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype, attn_mask)
        if is_causal and attn_mask is None:
            raise AttentionSizeError(
                "is_causal=True needs attn_mask (the causal mask itself, e.g. from "
                "nn.Transformer.generate_square_subsequent_mask); torch requires it too"
            )
        causal_hint = bool(is_causal) and kpm is None and not need_weights
        amask = None if causal_hint else _canonical_mask(attn_mask, "attn_mask", query.dtype)

        same_qk, same_kv = query is key, key is value
        if not is_batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if kpm is not None:
                kpm = kpm.unsqueeze(0)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        # internal layout below: sequence first, (L, N, E), as torch's functional form
        L, N, E = query.shape
        S = key.shape[0]
        _check_mask_shapes(self, amask, kpm, L, S, N, is_batched)

        q, k, v = self._in_projection(query, key, value, same_qk and same_kv, same_kv)
        if self.bias_k is not None:
            k = torch.cat([k, self.bias_k.repeat(1, N, 1)])
            v = torch.cat([v, self.bias_v.repeat(1, N, 1)])
            amask = None if amask is None else F.pad(amask, (0, 1))
            kpm = None if kpm is None else F.pad(kpm, (0, 1))
        H, d = self.num_heads, self.head_dim
        q = q.reshape(L, N, H, d).permute(1, 2, 0, 3)  # [N, H, L, d]
        k = k.reshape(k.shape[0], N, H, d).permute(1, 2, 0, 3)
        v = v.reshape(v.shape[0], N, H, d).permute(1, 2, 0, 3)
        if self.add_zero_attn:
            zeros = torch.zeros(N, H, 1, d, dtype=k.dtype, device=k.device)
            k, v = torch.cat([k, zeros], dim=2), torch.cat([v, zeros], dim=2)
            amask = None if amask is None else F.pad(amask, (0, 1))
            kpm = None if kpm is None else F.pad(kpm, (0, 1))
        mask = _merge_masks(amask, kpm, N, H)

        dropout_p = self.dropout if self.training else 0.0
        record = self.record_heads
        heads, weights = self._attend(q, k, v, mask, need_weights or record, causal_hint,
                                      dropout_p)
        if record:
            with torch.no_grad():
                exact_w = exact_heads(q, k, v, mask, need_weights=True, is_causal=causal_hint)[1]
            self.last_record = {"weights": weights.detach(), "exact_weights": exact_w}

        out = heads.permute(2, 0, 1, 3).reshape(L * N, E)
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias).view(L, N, E)
        if not is_batched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            weights = weights.squeeze(0)
        return out, weights

    def _in_projection(
        self, query: Tensor, key: Tensor, value: Tensor, self_attention: bool, same_kv: bool
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Q/K/V projections grouped like torch's (packed for self-attention): equal rounding."""
        E = self.embed_dim
        b = self.in_proj_bias
        if not self._qkv_same_embed_dim:
            bq, bk, bv = (None, None, None) if b is None else b.chunk(3)
            return (
                F.linear(query, self.q_proj_weight, bq),
                F.linear(key, self.k_proj_weight, bk),
                F.linear(value, self.v_proj_weight, bv),
            )
        w = self.in_proj_weight
        if self_attention:
            proj = F.linear(query, w, b).unflatten(-1, (3, E))
            proj = proj.unsqueeze(0).transpose(0, -2).squeeze(-2).contiguous()
            return proj[0], proj[1], proj[2]
        w_q, w_kv = w.split([E, 2 * E])
        b_q, b_kv = (None, None) if b is None else b.split([E, 2 * E])
        if same_kv:
            kv = F.linear(key, w_kv, b_kv).unflatten(-1, (2, E))
            kv = kv.unsqueeze(0).transpose(0, -2).squeeze(-2).contiguous()
            return F.linear(query, w_q, b_q), kv[0], kv[1]
        w_k, w_v = w_kv.chunk(2)
        b_k, b_v = (None, None) if b_kv is None else b_kv.chunk(2)
        return F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)

    def _attend(
        self,
        q: Tensor,
        k: Tensor,
        v: Tensor,
        mask: Tensor | None,
        need_weights: bool,
        causal_hint: bool,
        dropout_p: float,
    ) -> tuple[Tensor, Tensor | None]:
        """Per-head attention: backend heads, exact heads, blends; ``[N, H, L, d]`` (+ weights)."""
        mix = self.quantum_mix
        self.last_head_outputs = None
        if self._backend is exact_heads or mix == 0.0:
            return exact_heads(q, k, v, mask, need_weights=need_weights, is_causal=causal_hint,
                               dropout_p=dropout_p)
        sel = self.quantum_heads
        if sel is not None and len(sel) == self.num_heads:
            sel = None
        if sel is None:
            qq, qk, qv, qmask = q, k, v, mask
        else:
            index = torch.tensor(sel, device=q.device)
            qq, qk, qv = (t.index_select(1, index) for t in (q, k, v))
            qmask = mask
            if mask is not None and mask.shape[1] != 1:
                qmask = mask.index_select(1, index)
        extra = {}
        if getattr(self._backend, "per_head_parameters", False):
            extra["heads"] = sel  # backend weights are per head: tell it which heads these are
        q_out, q_w = self._backend(qq, qk, qv, qmask, need_weights=need_weights,
                                   is_causal=causal_hint, dropout_p=dropout_p, **extra)
        if need_weights and q_w is None:
            raise RuntimeError(
                f"backend {self.quantum_backend!r} returned no attention weights; call with "
                f"need_weights=False"
            )
        need_exact = sel is not None or mix < 1.0 or self.track_exact
        if not need_exact:
            return q_out, q_w
        e_out, e_w = exact_heads(q, k, v, mask, need_weights=need_weights, is_causal=causal_hint,
                                 dropout_p=dropout_p)
        e_sel_out = e_out if sel is None else e_out.index_select(1, index)
        if self.track_exact:
            self.last_head_outputs = {"quantum": q_out, "exact": e_sel_out}
        blended = q_out if mix == 1.0 else torch.lerp(e_sel_out, q_out, mix)
        blended_w = None
        if need_weights:
            e_sel_w = e_w if sel is None else e_w.index_select(1, index)
            blended_w = q_w if mix == 1.0 else torch.lerp(e_sel_w, q_w.to(e_w.dtype), mix)
        if sel is None:
            return blended, blended_w
        out = e_out.index_copy(1, index, blended)
        w = None if not need_weights else e_w.index_copy(1, index, blended_w)
        return out, w

    def _forward_nested(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None,
        attn_mask: Tensor | None,
        need_weights: bool,
        average_attn_weights: bool,
    ) -> tuple[Tensor, Tensor | None]:
        """NestedTensor self-attention (``nn.TransformerEncoder``'s padding fast path)."""
        if not (query is key and key is value) or key_padding_mask is not None or (
            attn_mask is not None
        ):
            raise AttentionShapeError(
                "NestedTensor input is supported for self-attention without masks only "
                "(query is key is value); pass padded tensors with key_padding_mask instead"
            )
        if not self.batch_first:
            raise AttentionShapeError("NestedTensor input needs batch_first=True")
        parts = query.unbind()
        lengths = torch.tensor([p.shape[0] for p in parts], device=parts[0].device)
        padded = query.to_padded_tensor(0.0)
        pad = torch.arange(padded.shape[1], device=padded.device)[None, :] >= lengths[:, None]
        out, weights = self.forward(padded, padded, padded, key_padding_mask=pad,
                                    need_weights=need_weights,
                                    average_attn_weights=average_attn_weights)
        nested = torch.nested.as_nested_tensor(
            [out[i, : int(n)] for i, n in enumerate(lengths)], layout=query.layout
        )
        return nested, weights


# ---------------------------------------------------------------------- validation helpers
def _check_inputs(
    m: QuantumMultiheadAttention,
    query: Any,
    key: Any,
    value: Any,
    key_padding_mask: Any,
    attn_mask: Any,
) -> bool:
    """Validate ranks and sizes with torch's rules and clearer messages; return ``is_batched``."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor; got {type(t).__name__}")
        if not t.is_floating_point():
            raise AttentionDtypeError(f"{name} must be a floating-point tensor; got {t.dtype}")
    for name, t in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor or None; got {type(t).__name__}")
    if query.dim() not in (2, 3):
        raise AttentionShapeError(
            f"query must be unbatched 2-D (L, E) or batched 3-D; got a {query.dim()}-D tensor "
            f"of shape {tuple(query.shape)}"
        )
    is_batched = query.dim() == 3
    kind = "batched (3-D)" if is_batched else "unbatched (2-D)"
    if key.dim() != query.dim() or value.dim() != query.dim():
        raise AttentionShapeError(
            f"for {kind} query, key and value must be {query.dim()}-D too; got {key.dim()}-D "
            f"and {value.dim()}-D tensors"
        )
    kpm_dim = 2 if is_batched else 1
    if key_padding_mask is not None and key_padding_mask.dim() != kpm_dim:
        raise AttentionShapeError(
            f"for {kind} query, key_padding_mask must be None or {kpm_dim}-D; got "
            f"{key_padding_mask.dim()}-D of shape {tuple(key_padding_mask.shape)}"
        )
    if attn_mask is not None and attn_mask.dim() not in (2, 3):
        raise AttentionShapeError(
            f"attn_mask must be None, 2-D (L, S) or 3-D (N * num_heads, L, S); got "
            f"{attn_mask.dim()}-D of shape {tuple(attn_mask.shape)}"
        )
    for name, t, want in (("query", query, m.embed_dim), ("key", key, m.kdim),
                          ("value", value, m.vdim)):
        if t.shape[-1] != want:
            attr = {"query": "embed_dim", "key": "kdim", "value": "vdim"}[name]
            raise AttentionShapeError(
                f"{name} must have {attr}={want} features in its last dim; got shape "
                f"{tuple(t.shape)}"
            )
    if key.shape[:-1] != value.shape[:-1]:
        raise AttentionShapeError(
            f"key and value must have the same sequence and batch dims; got key "
            f"{tuple(key.shape)} and value {tuple(value.shape)}"
        )
    if is_batched:
        b_axis = 0 if m.batch_first else 1
        if query.shape[b_axis] != key.shape[b_axis]:
            layout = "(N, L, E)" if m.batch_first else "(L, N, E)"
            raise AttentionSizeError(
                f"query and key must have the same batch size N (layout {layout}, "
                f"batch_first={m.batch_first}); got query {tuple(query.shape)} and key "
                f"{tuple(key.shape)}"
            )
    return is_batched


def _canonical_mask(
    mask: Tensor | None, name: str, dtype: torch.dtype, other: Tensor | None = None
) -> Tensor | None:
    """Bool (``True`` = masked) or float mask -> float additive mask; torch's dtype rules."""
    if mask is None:
        return None
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise AttentionMaskTypeError(
            f"{name} must be a bool (True = masked) or floating-point (additive) tensor; got "
            f"{mask.dtype}"
        )
    if other is not None and other.dtype != mask.dtype:
        warnings.warn(
            f"Support for mismatched {name} and attn_mask is deprecated. Use same type for "
            "both instead.",
            stacklevel=3,
        )
    if mask.dtype == torch.bool:
        return torch.zeros_like(mask, dtype=dtype).masked_fill_(mask, float("-inf"))
    return mask


def _check_mask_shapes(
    m: QuantumMultiheadAttention,
    amask: Tensor | None,
    kpm: Tensor | None,
    L: int,
    S: int,
    N: int,
    is_batched: bool,
) -> None:
    if amask is not None:
        want = (L, S) if amask.dim() == 2 else (N * m.num_heads, L, S)
        if tuple(amask.shape) != want:
            # torch: AssertionError for an unbatched 3-D mask, RuntimeError otherwise
            error = AttentionShapeError if amask.dim() == 3 and not is_batched else (
                AttentionSizeError)
            raise error(
                f"the {amask.dim()}-D attn_mask must have shape {want} "
                f"({'(L, S)' if amask.dim() == 2 else '(N * num_heads, L, S)'}); got "
                f"{tuple(amask.shape)}"
            )
    if kpm is not None and tuple(kpm.shape) != (N, S):
        raise AttentionShapeError(
            f"key_padding_mask must have shape (N, S) = {(N, S)} (or (S,) unbatched); got "
            f"{tuple(kpm.shape)}"
        )


def _merge_masks(amask: Tensor | None, kpm: Tensor | None, N: int, H: int) -> Tensor | None:
    """Additive mask broadcastable to ``[N, H, L, S]``."""
    mask = None
    if amask is not None:
        mask = amask.view(1, 1, *amask.shape) if amask.dim() == 2 else amask.view(N, H,
                                                                                  *amask.shape[1:])
    if kpm is not None:
        pad = kpm.view(N, 1, 1, kpm.shape[-1])
        mask = pad if mask is None else mask + pad
    return mask
