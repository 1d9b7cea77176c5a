"""Head preparation, once: scores, keep mask, padded values, key orders and circuits of a head.

Every entry point (``estimate_attention``, ``qattn run``, the demo, sweeps, the nn layer's circuit
backend) starts from :func:`prepare_head`. The returned :class:`PreparedHead` is also the one
place where a family's key order is undone (:meth:`PreparedHead.decode`): executors return
outcomes per *basis state* of the key register, estimators work per *key*.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from ..encoding import as_bool_mask, as_real_array, pad_rows
from .families import Family, get_family
from .rows import ScoreRows, prepare_rows, to_key_order


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
    if q.shape[0] < 1 or k.shape[0] < 1:
        raise ValueError(f"Q and K need at least one row; got {q.shape} and {k.shape}")
    if V is not None:
        v = as_real_array(V, "V", ndim=2)
        if v.shape[0] != k.shape[0]:
            raise ValueError(f"V must have one row per key ({k.shape[0]}); got shape {v.shape}")
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[1])
    elif not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a finite number > 0; got {scale!r}")
    return (q @ k.T) * float(scale)


@dataclass(frozen=True)
class PreparedHead:
    """One attention head laid out for a circuit family.

    Attributes:
        family: the :class:`~qiskit_qattn.circuits.families.Family`.
        options: family options (``reps``, ``window``, ``key_order``, ...), as given.
        scores: ``[n_q, n_k]`` scaled scores ``Q K^T * scale``.
        rows: the validated rows in the family's key order (``rows.order`` is the key order).
        values: ``[2**m, d_v]`` values in key order, padding rows 0.
        keep: ``[n_q, 2**m]`` kept keys in key order (masked and padding keys ``False``).
        scale: the score scale used.
        key_layout: ``"identity"`` (basis state ``x`` is key ``x``) or ``"sorted"``.
        metadata: free-form notes carried into results.
    """

    family: Family
    options: dict
    scores: np.ndarray
    rows: ScoreRows
    values: np.ndarray
    keep: np.ndarray
    scale: float
    key_layout: str = "identity"
    metadata: dict = field(default_factory=dict)

    @property
    def num_queries(self) -> int:
        return int(self.scores.shape[0])

    @property
    def num_keys(self) -> int:
        return int(self.scores.shape[1])

    @property
    def num_qubits(self) -> int:
        return self.rows.num_qubits

    @property
    def temperature(self) -> float:
        return self.rows.temperature

    @property
    def key_order(self) -> np.ndarray:
        """``[n_q, 2**m]``: basis state ``x`` of query ``i`` holds key ``key_order[i, x]``."""
        return self.rows.order

    @property
    def key_mask(self) -> np.ndarray:
        """``[n_q, n_k]`` boolean keep-mask over the real keys."""
        return self.keep[:, : self.num_keys]

    @functools.cached_property
    def circuits(self) -> list[QuantumCircuit]:
        """One logical circuit per query (built on first use; the structured engine needs none).

        ``metadata["query_index"]`` is the query's row; ``metadata["key_order"]`` equals
        :attr:`key_order`.
        """
        build = self.family.builder
        out = []
        for i, row in enumerate(self.scores):
            mask = None if self.key_mask[i].all() else self.key_mask[i]
            qc = build(row, temperature=self.temperature, mask=mask, **self.options)
            qc.name = f"{qc.name}_q{i}"
            qc.metadata["query_index"] = i
            if not np.array_equal(qc.metadata["key_order"], self.key_order[i]):
                raise RuntimeError(f"family {self.family.name!r} laid query {i} out in a key "
                                   "order other than the head's")
            out.append(qc)
        return out

    def decode(self, basis: Any) -> np.ndarray:
        """Per-basis-state outcomes ``[n_q, 2**m]`` (probabilities or counts) -> key order.

        The one place a family's key order is undone. Accepts a leading batch axis
        (``[s, n_q, 2**m]``, e.g. one slice per ZNE scale factor).

        Example:
            >>> head = prepare_head(np.eye(2), np.eye(2)[[0, 1, 1]], np.ones((3, 1)),
            ...                     family="warm_start")
            >>> head.key_order[0].tolist(), head.decode([[0.5, 0.3, 0.2, 0.0],
            ...                                          [0.1, 0.6, 0.3, 0.0]])[0].tolist()
            ([0, 1, 2, 3], [0.5, 0.3, 0.2, 0.0])
        """
        arr = np.asarray(basis)
        if self.key_layout == "identity":
            return arr.copy()
        return to_key_order(arr, self.key_order)

    def decode_covariance(self, covariance: Any) -> np.ndarray:
        """Covariances ``[..., n_q, 2**m, 2**m]`` of per-basis-state outcomes -> key order."""
        cov = np.asarray(covariance)
        if self.key_layout == "identity":
            return cov.copy()
        order = self.key_order[:, None, :]
        once = to_key_order(cov, order)
        return to_key_order(once.swapaxes(-1, -2), order).swapaxes(-1, -2)

    def basis_values(self) -> np.ndarray:
        """``[n_q, 2**m, d_v]``: the value each basis state stands for, per query."""
        return self.values[self.key_order]

    def basis_keep(self) -> np.ndarray:
        """``[n_q, 2**m]``: whether each basis state holds a kept key, per query."""
        return self.rows.keep


def prepare_head(
    Q: Any,
    K: Any,
    V: Any,
    *,
    family: str = "softmax_state",
    mask: Any | None = None,
    scale: float | None = None,
    temperature: float = 1.0,
    **family_options: Any,
) -> PreparedHead:
    """Validate a head and lay it out for ``family``: the first step of every execution path.

    Args:
        Q: queries ``[n_q, d]``.
        K: keys ``[n_k, d]``.
        V: values ``[n_k, d_v]``.
        family: a registered family (:data:`~qiskit_qattn.circuits.families.FAMILY_NAMES`).
        mask: boolean keep-mask broadcastable to ``[n_q, n_k]`` (``True`` = attend); every query
            needs one kept key.
        scale: score scale (default ``1/sqrt(d)``).
        temperature: softmax temperature ``τ > 0``.
        **family_options: forwarded to the family's builder (``reps``, ``window``, ...).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> head = prepare_head(rng.normal(size=(3, 4)), rng.normal(size=(5, 4)),
        ...                     rng.normal(size=(5, 2)), family="warm_start")
        >>> head.num_qubits, len(head.circuits), head.circuits[2].metadata["query_index"]
        (3, 3, 2)
    """
    fam = get_family(family)
    fam.check_options(family_options)
    values = as_real_array(V, "V", ndim=2)
    scores = attention_scores(Q, K, values, scale=scale)
    n_q, n_k = scores.shape
    if n_k > fam.max_keys:
        raise ValueError(f"family {fam.name!r} supports at most {fam.max_keys} keys; K has {n_k}")
    keep_keys = None if mask is None else as_bool_mask(mask, "mask", (n_q, n_k))
    if keep_keys is not None and not keep_keys.any(axis=1).all():
        raise ValueError("mask leaves a query with no attended key; every query needs one")
    key_order = family_options.get("key_order", fam.key_order)
    rows = prepare_rows(scores, temperature, keep_keys, key_order, max_keys=fam.max_keys)
    keep = rows.keep.copy() if key_order == "identity" else to_key_order(rows.keep, rows.order)
    used_scale = 1.0 / np.sqrt(as_real_array(Q, "Q", ndim=2).shape[1]) if scale is None else (
        float(scale))
    return PreparedHead(fam, dict(family_options), scores, rows, pad_rows(values, rows.num_qubits),
                        keep, used_scale, key_order)
