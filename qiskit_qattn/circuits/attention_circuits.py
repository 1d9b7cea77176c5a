"""One attention circuit per query of a head."""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from ..encoding import as_bool_mask, as_real_array
from .families import (
    amplification_attention,
    born_machine_attention,
    ma_qaoa_attention,
    warm_start_attention,
)
from .qaoa import qaoa_attention
from .softmax_state import softmax_state

METHODS = ("softmax_state", "qaoa", "ma_qaoa", "warm_start", "amplification", "born_machine")
_FAMILY_BUILDERS = {
    "ma_qaoa": ma_qaoa_attention,
    "warm_start": warm_start_attention,
    "amplification": amplification_attention,
    "born_machine": born_machine_attention,
}


def attention_scores(
    Q: Any, K: Any, V: Any | None = None, *, scale: float | None = None
) -> np.ndarray:
    """Validated scores ``Q K^T * scale`` (default ``scale = 1/sqrt(d)``), shape ``[n_q, n_k]``.

    Example:
        >>> attention_scores(np.eye(2), np.eye(2), scale=1.0).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    q = as_real_array(Q, "Q", ndim=2)
    k = as_real_array(K, "K", ndim=2)
    if q.shape[1] != k.shape[1]:
        raise ValueError(f"Q and K must share the feature dimension; got {q.shape} and {k.shape}")
    if V is not None:
        v = as_real_array(V, "V", ndim=2)
        if v.shape[0] != k.shape[0]:
            raise ValueError(f"V must have one row per key ({k.shape[0]}); got shape {v.shape}")
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[1])
    elif not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a finite number > 0; got {scale!r}")
    return (q @ k.T) * float(scale)


def attention_circuits(
    Q: Any,
    K: Any,
    V: Any | None = None,
    *,
    method: str = "softmax_state",
    mask: Any | None = None,
    scale: float | None = None,
    temperature: float = 1.0,
    **method_options: Any,
) -> list[QuantumCircuit]:
    """Build the key-register circuit of every query of one attention head.

    Args:
        Q: queries ``[n_q, d]``.
        K: keys ``[n_k, d]``.
        V: values ``[n_k, d_v]`` (only validated here; see :func:`value_observables`).
        method: ``"softmax_state"`` (exact amplitude encoding), ``"qaoa"`` (textbook QAOA) or
            one of the reusable-schedule families ``"ma_qaoa"``, ``"warm_start"``,
            ``"amplification"``, ``"born_machine"`` (see ``circuits.families``; the sorted
            layouts record ``metadata["key_order"]``, undone by ``relabel_outcomes``).
        mask: boolean keep-mask broadcastable to ``[n_q, n_k]`` (``True`` = attend).
        scale: score scale (default ``1/sqrt(d)``).
        temperature: softmax temperature.
        **method_options: forwarded to the builder (e.g. ``reps``, ``gammas``, ``betas``).

    Returns:
        Circuits whose ``metadata["query_index"]`` is the query's row.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> qcs = attention_circuits(rng.normal(size=(3, 4)), rng.normal(size=(5, 4)))
        >>> len(qcs), qcs[2].metadata["query_index"], qcs[0].num_qubits
        (3, 2, 3)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    scores = attention_scores(Q, K, V, scale=scale)
    keep = None if mask is None else as_bool_mask(mask, "mask", scores.shape)
    circuits = []
    for i, row in enumerate(scores):
        row_mask = None if keep is None else keep[i]
        if method == "softmax_state":
            if method_options:
                raise ValueError(
                    f"softmax_state takes no extra options; got {sorted(method_options)}"
                )
            qc = softmax_state(row, temperature, mask=row_mask)
        elif method == "qaoa":
            qc = qaoa_attention(row, temperature=temperature, mask=row_mask, **method_options)
        else:
            qc = _FAMILY_BUILDERS[method](row, temperature=temperature, mask=row_mask,
                                          **method_options)
        qc.name = f"{qc.name}_q{i}"
        qc.metadata["query_index"] = i
        circuits.append(qc)
    return circuits
