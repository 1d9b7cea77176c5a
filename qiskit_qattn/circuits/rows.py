"""Score rows laid out on the key register: key order, target probabilities, phases, features.

:class:`ScoreRows` is the one validated row type of the package: every circuit family, the
structured simulator (:func:`qiskit_qattn.sim.qaoa_problem`) and head preparation
(:func:`qiskit_qattn.circuits.prepare_head`) start from :func:`prepare_rows`.

Every family prepares a state over basis states ``x = 0 .. 2**m - 1`` of the key register. With
``key_order="identity"`` basis state ``x`` is key ``x`` (the package contract). With
``key_order="sorted"`` basis state ``x`` holds the key of rank ``x`` (highest score first): the
relabelling is a classical lookup applied to measured outcomes (or, equivalently, a row
permutation of the value matrix), so the key distribution a sampler sees is unchanged. Sorted
rows make ``log softmax`` nearly additive in the index bits, which is what lets cheap product and
nearest-neighbour circuits reach high fidelity (see ``benchmarks/qaoa_softmax.py``).
Circuits record the order in ``metadata["key_order"]``; :func:`to_key_order` undoes it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..encoding import (
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
class ScoreRows:
    """A batch of score rows laid out on the key register (arrays ``[rows, 2**m]`` unless noted).

    Attributes:
        num_keys: real keys ``n`` per row.
        num_qubits: key qubits ``m``.
        order: basis state ``x`` of row ``r`` holds key ``order[r, x]`` (``>= n`` = padding).
        keep: ``True`` on basis states holding a kept key.
        logits: ``s/τ`` per basis state, masked and padding keys at the lowest kept value (the
            diagonal the textbook QAOA phase separator applies).
        sigma: ``σ``, the standard deviation of the kept ``s/τ`` per row (``[rows]``).
        temperature: the softmax temperature ``τ``.

    Derived on first use: :attr:`probs` (target probabilities per basis state, 0 on masked and
    padding keys), :attr:`diag` (normalised phase diagonal ``(s/τ - mean)/σ``, 0 on flat rows)
    and :attr:`features` (``[rows, len(FEATURES)]``, see :func:`row_features`).
    """

    num_keys: int
    num_qubits: int
    order: np.ndarray
    keep: np.ndarray
    logits: np.ndarray
    sigma: np.ndarray
    temperature: float = 1.0

    @property
    def num_rows(self) -> int:
        """Number of rows in the batch."""
        return int(self.keep.shape[0])

    @functools.cached_property
    def probs(self) -> np.ndarray:
        """Target probabilities ``softmax(s/τ)`` per basis state (0 on masked and padding)."""
        return masked_softmax(np.where(self.keep, self.logits, 0.0), mask=self.keep)

    @functools.cached_property
    def diag(self) -> np.ndarray:
        """Normalised phase diagonal ``(s/τ - mean)/σ`` per basis state (0 on flat rows)."""
        kept = np.where(self.keep, self.logits, 0.0)
        mean = kept.sum(axis=1) / self.keep.sum(axis=1)
        flat = self.sigma < _SIGMA_FLOOR
        unit = np.where(flat, 1.0, self.sigma)
        diag = (self.logits - mean[:, None]) / unit[:, None]
        diag[flat] = 0.0
        return diag

    @functools.cached_property
    def features(self) -> np.ndarray:
        """``[rows, len(FEATURES)]`` row statistics the stored schedules are conditioned on."""
        return row_features(self.diag, self.probs, self.keep, self.sigma)

    @property
    def key_keep(self) -> np.ndarray:
        """Kept keys in key order ``[rows, n]`` (``True`` = attended, padding dropped).

        Example:
            >>> prepare_rows([[0.1, 2.0, -1.0]], mask=[True, False, True],
            ...              key_order="sorted").key_keep.tolist()
            [[True, False, True]]
        """
        return to_key_order(self.keep, self.order)[:, : self.num_keys].astype(bool)

    def row(self, index: int) -> ScoreRows:
        """Row ``index`` as a batch of one."""
        sl = slice(index, index + 1)
        return ScoreRows(self.num_keys, self.num_qubits, self.order[sl], self.keep[sl],
                         self.logits[sl], self.sigma[sl], self.temperature)


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
) -> ScoreRows:
    """Validate a batch of score rows and lay them out on the key register.

    Args:
        scores: finite scores ``[rows, n]`` (a single row ``[n]`` is a batch of one).
        temperature: softmax temperature ``τ > 0``.
        mask: optional boolean keep-mask broadcastable to ``[rows, n]`` (``True`` = attend).
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
    if n < 1:
        raise ValueError("scores must hold at least one key")
    if n > max_keys:
        raise ValueError(f"scores has {n} keys; at most {max_keys} keys are supported")
    if mask is None:
        keep_keys = np.ones((rows, n), dtype=bool)
    else:
        keep_keys = to_numpy(mask)
        if keep_keys.dtype != np.bool_:
            raise ValueError(f"mask must be boolean (True = attend); got dtype {keep_keys.dtype}")
        try:
            keep_keys = np.broadcast_to(keep_keys, (rows, n))
        except ValueError:
            raise ValueError(
                f"mask must be boolean with shape {(rows, n)} (True = attend); "
                f"got shape {keep_keys.shape}"
            ) from None
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
    if key_order == "sorted":
        zp = np.take_along_axis(zp, order, axis=1)
        keep = np.take_along_axis(keep, order, axis=1)
    kept_z = np.where(keep, zp, 0.0)
    sigma = kept_sigma(kept_z, keep)
    low_z = np.where(keep, zp, np.inf).min(axis=1)
    logits = np.where(keep, kept_z, low_z[:, None])
    return ScoreRows(n, m, order, keep, logits, sigma, tau)


def kept_sigma(logits: Any, keep: Any) -> np.ndarray:
    """Per row, the standard deviation of the kept logits ``s/τ`` (``[rows]``).

    Example:
        >>> kept_sigma([[1.0, 3.0, 100.0]], [[True, True, False]]).tolist()
        [1.0]
    """
    z, k = np.asarray(logits, dtype=float), np.asarray(keep, dtype=bool)
    count = k.sum(axis=-1)
    kept = np.where(k, z, 0.0)
    mean = kept.sum(axis=-1) / count
    return np.sqrt(np.where(k, (kept - mean[..., None]) ** 2, 0.0).sum(axis=-1) / count)


def prepare_row(
    scores: Any,
    temperature: float = 1.0,
    mask: Any | None = None,
    key_order: str = "identity",
    *,
    max_keys: int = 2**12,
) -> ScoreRows:
    """One score row (1-D ``scores``, 1-D ``mask``) as a batch of one; see :func:`prepare_rows`.

    Example:
        >>> prepare_row([0.5, -0.5]).num_qubits
        1
    """
    s = as_real_array(scores, "scores", ndim=1)
    if mask is not None:
        mask = to_numpy(mask)
        if mask.dtype != np.bool_ or mask.shape != s.shape:
            raise ValueError(
                f"mask must be a boolean vector of length {s.shape[0]} (True = attend); "
                f"got dtype {mask.dtype}, shape {mask.shape}"
            )
    return prepare_rows(s, temperature, mask, key_order, max_keys=max_keys)


def circuit_metadata(rows: ScoreRows, family: str, **extra: Any) -> dict[str, Any]:
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
        "temperature": float(rows.temperature),
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


def to_key_order(basis: Any, key_order: Any, num_keys: int | None = None) -> np.ndarray:
    """Re-index per-basis-state arrays into key order: entry ``[..., j]`` becomes key ``j``.

    The one implementation of undoing a key order (``metadata["key_order"]``): works for
    probabilities, counts and boolean masks along the last axis. With ``num_keys`` the padding
    positions (``j >= num_keys``) are dropped.

    Args:
        basis: ``[..., 2**m]`` values per basis state.
        key_order: ``[..., 2**m]`` (broadcast against ``basis``): basis state ``x`` holds key
            ``key_order[..., x]``.
        num_keys: keep only the first ``num_keys`` keys.

    Example:
        >>> to_key_order([0.7, 0.2, 0.1, 0.0], [1, 0, 2, 3], 3).tolist()
        [0.2, 0.7, 0.1]
    """
    arr = np.asarray(basis)
    order = np.asarray(key_order, dtype=np.int64)
    if order.shape[-1:] != arr.shape[-1:]:
        raise ValueError(
            f"key_order must have length {arr.shape[-1]}; got shape {tuple(order.shape)}"
        )
    order = np.broadcast_to(order, arr.shape)
    out = np.zeros_like(arr)
    np.put_along_axis(out, order, arr, axis=-1)
    return out if num_keys is None else out[..., :num_keys]
