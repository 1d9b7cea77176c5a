"""Score rows laid out for the state-preparation families: key order, phases, targets, features.

Every family prepares a state over basis states ``x = 0 .. 2**m - 1`` of the key register. With
``key_order="identity"`` basis state ``x`` is key ``x`` (the package contract). With
``key_order="sorted"`` basis state ``x`` holds the key of rank ``x`` (highest score first): the
relabelling is a classical lookup applied to measured outcomes (or, equivalently, a row
permutation of the value matrix), so the key distribution a sampler sees is unchanged. Sorted
rows make ``log softmax`` nearly additive in the index bits, which is what lets cheap product and
nearest-neighbour circuits reach high fidelity (see ``benchmarks/qaoa_softmax.py``).
Circuits record the order in ``metadata["key_order"]``; :func:`key_probabilities` undoes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...encoding import (
    as_real_array,
    check_positive,
    masked_softmax,
    num_key_qubits,
    to_numpy,
)

#: Key-to-basis-state layouts the families accept.
KEY_ORDERS = ("identity", "sorted")

#: Row statistics the stored schedules map to angles (``bias`` is the constant 1).
FEATURES = ("bias", "log_sigma", "gap", "spread", "entropy")

_SIGMA_FLOOR = 1e-9


@dataclass(frozen=True)
class PreparedRows:
    """A batch of score rows laid out on the key register (all arrays ``[rows, 2**m]``).

    Attributes:
        num_keys: real keys ``n`` per row.
        num_qubits: key qubits ``m``.
        order: basis state ``x`` of row ``r`` holds key ``order[r, x]`` (``>= n`` = padding).
        probs: target probabilities per basis state (masked and padding keys get 0).
        diag: phase-separator diagonal ``(s/τ - mean)/σ`` per basis state (masked and padding
            keys get the lowest kept value).
        keep: ``True`` on basis states holding a kept key.
        sigma: ``σ``, the standard deviation of the kept ``s/τ`` per row (``[rows]``).
        features: ``[rows, len(FEATURES)]`` row statistics (see :func:`row_features`).
    """

    num_keys: int
    num_qubits: int
    order: np.ndarray
    probs: np.ndarray
    diag: np.ndarray
    keep: np.ndarray
    sigma: np.ndarray
    features: np.ndarray

    @property
    def num_rows(self) -> int:
        """Number of rows in the batch."""
        return int(self.probs.shape[0])

    def row(self, index: int) -> PreparedRows:
        """Row ``index`` as a batch of one."""
        sl = slice(index, index + 1)
        return PreparedRows(
            self.num_keys, self.num_qubits, self.order[sl], self.probs[sl], self.diag[sl],
            self.keep[sl], self.sigma[sl], self.features[sl],
        )


def _key_order(key_order: str) -> str:
    if key_order not in KEY_ORDERS:
        raise ValueError(f"key_order must be one of {KEY_ORDERS}; got {key_order!r}")
    return key_order


def prepare_rows(
    scores: Any,
    temperature: float = 1.0,
    mask: Any | None = None,
    key_order: str = "identity",
    *,
    max_keys: int = 2**12,
) -> PreparedRows:
    """Validate a batch of score rows and lay them out for the families.

    Args:
        scores: finite scores ``[rows, n]`` (a single row ``[n]`` is a batch of one).
        temperature: softmax temperature ``τ > 0``.
        mask: optional boolean keep-mask with the shape of ``scores`` (``True`` = attend).
        key_order: ``"identity"`` or ``"sorted"`` (see the module docstring).
        max_keys: largest accepted ``n``.

    Example:
        >>> rows = prepare_rows([[0.1, 2.0, -1.0]], key_order="sorted")
        >>> rows.order.tolist(), rows.probs.shape
        ([[1, 0, 2, 3]], (1, 4))
    """
    s = as_real_array(scores, "scores", ndim=(1, 2))
    if s.ndim == 1:
        s = s[None, :]
    tau = check_positive(temperature, "temperature")
    key_order = _key_order(key_order)
    rows, n = s.shape
    if n > max_keys:
        raise ValueError(f"scores has {n} keys; at most {max_keys} are supported")
    if mask is None:
        keep_keys = np.ones((rows, n), dtype=bool)
    else:
        keep_keys = to_numpy(mask)
        if keep_keys.dtype != np.bool_ or keep_keys.shape not in ((n,), (rows, n)):
            raise ValueError(
                f"mask must be boolean with shape {(rows, n)} (True = attend); "
                f"got dtype {keep_keys.dtype}, shape {keep_keys.shape}"
            )
        keep_keys = np.broadcast_to(keep_keys, (rows, n))
        if not keep_keys.any(axis=1).all():
            raise ValueError("mask must keep at least one key in every row")
    m = num_key_qubits(n)
    dim = 2**m
    z = s / tau
    keep = np.zeros((rows, dim), dtype=bool)
    keep[:, :n] = keep_keys
    zp = np.full((rows, dim), -np.inf)
    zp[:, :n] = np.where(keep_keys, z, -np.inf)
    if key_order == "sorted":
        order = np.argsort(-zp, axis=1, kind="stable")
    else:
        order = np.broadcast_to(np.arange(dim), (rows, dim)).copy()
    zp = np.take_along_axis(zp, order, axis=1)
    keep = np.take_along_axis(keep, order, axis=1)
    probs = masked_softmax(np.where(keep, zp, 0.0), mask=keep)
    count = keep.sum(axis=1)
    mean = np.where(keep, zp, 0.0).sum(axis=1) / count
    var = np.where(keep, (np.where(keep, zp, 0.0) - mean[:, None]) ** 2, 0.0).sum(axis=1) / count
    sigma = np.sqrt(var)
    flat = sigma < _SIGMA_FLOOR
    unit = np.where(flat, 1.0, sigma)
    d = np.where(keep, (np.where(keep, zp, 0.0) - mean[:, None]) / unit[:, None], np.inf)
    low = d.min(axis=1)
    diag = np.where(keep, d, low[:, None])
    diag[flat] = 0.0
    features = row_features(diag, probs, keep, sigma)
    return PreparedRows(n, m, order, probs, diag, keep, sigma, features)


def prepare_row(
    scores: Any, temperature: float = 1.0, mask: Any | None = None, key_order: str = "identity"
) -> PreparedRows:
    """One score row (1-D ``scores``, 1-D ``mask``) as a batch of one; see :func:`prepare_rows`.

    Example:
        >>> prepare_row([0.5, -0.5]).num_qubits
        1
    """
    s = as_real_array(scores, "scores", ndim=1)
    if mask is not None:
        mask = to_numpy(mask)
        if mask.ndim != 1:
            raise ValueError(f"mask must be a 1-D boolean vector; got shape {mask.shape}")
    return prepare_rows(s, temperature, mask, key_order)


def circuit_metadata(
    rows: PreparedRows, family: str, temperature: float, **extra: Any
) -> dict[str, Any]:
    """Circuit metadata of a one-row batch: the package's row fields plus ``key_order``."""
    n = rows.num_keys
    keep_keys = np.zeros(2**rows.num_qubits, dtype=bool)
    np.put(keep_keys, rows.order[0], rows.keep[0])
    return {
        "family": family,
        "num_keys": n,
        "num_key_qubits": rows.num_qubits,
        "padding": 2**rows.num_qubits - n,
        "masked_keys": int(n - np.count_nonzero(keep_keys[:n])),
        "temperature": float(temperature),
        "query_index": None,
        "key_order": rows.order[0].tolist(),
        **extra,
    }


def row_features(
    diag: np.ndarray, probs: np.ndarray, keep: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """Row statistics ``[rows, len(FEATURES)]`` the schedules are conditioned on.

    ``bias`` = 1; ``log_sigma`` = ``log σ`` of ``s/τ`` (clipped to [-3, 3], so it carries the
    temperature); ``gap`` = (top score - second score)/σ; ``spread`` = (max - min)/σ;
    ``entropy`` = Shannon entropy of the softmax over ``log(#kept keys)`` (1 = uniform).

    Example:
        >>> rows = prepare_rows([[0.0, 1.0, 2.0, 3.0]])
        >>> [round(float(v), 3) for v in rows.features[0]]
        [1.0, 0.112, 0.894, 2.683, 0.684]
    """
    count = keep.sum(axis=1)
    top = np.sort(np.where(keep, diag, -np.inf), axis=1)[:, ::-1]
    second = np.where(count > 1, top[:, 1], top[:, 0])
    gap = top[:, 0] - second
    spread = top[:, 0] - np.where(keep, diag, np.inf).min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(probs > 0, probs * np.log(np.where(probs > 0, probs, 1.0)), 0.0)
        entropy = np.where(count > 1, -plogp.sum(axis=1) / np.log(np.maximum(count, 2)), 1.0)
    log_sigma = np.clip(np.log(np.maximum(sigma, _SIGMA_FLOOR)), -3.0, 3.0)
    return np.stack([np.ones_like(sigma), log_sigma, gap, spread, entropy], axis=1)


def marginal_angles(probs: np.ndarray) -> np.ndarray:
    """Per-qubit RY angles ``θ_q`` of the product state matching the one-qubit marginals.

    ``cos²(θ_q/2) = P(bit q = 0)``; shape ``[rows, m]``.

    Example:
        >>> marginal_angles(np.array([[0.5, 0.0, 0.5, 0.0]])).round(4).tolist()
        [[0.0, 1.5708]]
    """
    rows, dim = probs.shape
    m = dim.bit_length() - 1
    x = np.arange(dim)
    p0 = np.stack([probs[:, ((x >> q) & 1) == 0].sum(axis=1) for q in range(m)], axis=1)
    return 2 * np.arccos(np.sqrt(np.clip(p0, 0.0, 1.0)))


def key_probabilities(basis_probs: Any, key_order: Any, num_keys: int) -> np.ndarray:
    """Undo a key order: probabilities over the ``num_keys`` real keys from basis-state ones.

    Args:
        basis_probs: ``[2**m]`` or ``[rows, 2**m]`` probabilities (or counts) per basis state.
        key_order: the circuit's ``metadata["key_order"]`` (``[2**m]`` or ``[rows, 2**m]``).
        num_keys: ``n``; padding basis states are dropped.

    Example:
        >>> key_probabilities([0.7, 0.2, 0.1, 0.0], [1, 0, 2, 3], 3).tolist()
        [0.2, 0.7, 0.1]
    """
    p = np.asarray(basis_probs, dtype=float)
    order = np.asarray(key_order, dtype=np.int64)
    single = p.ndim == 1
    p2, o2 = np.atleast_2d(p), np.atleast_2d(order)
    if o2.shape[-1] != p2.shape[-1]:
        raise ValueError(
            f"key_order must have length {p2.shape[-1]}; got shape {tuple(order.shape)}"
        )
    o2 = np.broadcast_to(o2, p2.shape)
    out = np.zeros_like(p2)
    np.put_along_axis(out, o2, p2, axis=1)
    out = out[:, :num_keys]
    return out[0] if single else out


def relabel_outcomes(outcomes: Any, circuits: Any) -> np.ndarray:
    """Outcomes ``[n_q, 2**m]`` per basis state, re-indexed so that column ``j`` is key ``j``.

    Circuits without ``metadata["key_order"]`` (identity layout) are passed through; padding
    positions stay at ``j >= n``. Works for counts and probabilities. Returns a new array.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> qc = QuantumCircuit(1); qc.metadata = {"key_order": [1, 0]}
        >>> relabel_outcomes([[0.9, 0.1]], [qc]).tolist()
        [[0.1, 0.9]]
    """
    arr = np.array(outcomes, dtype=float, copy=True)
    if arr.ndim != 2 or arr.shape[0] != len(circuits):
        raise ValueError(
            f"outcomes must have shape [{len(circuits)}, 2**m]; got {tuple(arr.shape)}"
        )
    out = arr.copy()
    for i, qc in enumerate(circuits):
        order = (qc.metadata or {}).get("key_order")
        if order is None:
            continue
        order = np.asarray(order, dtype=np.int64)
        if order.shape != (arr.shape[1],):
            raise ValueError(f"circuit {i} has a key_order of length {order.size}, expected "
                             f"{arr.shape[1]}")
        out[i] = 0.0
        out[i, order] = arr[i]
    return out
