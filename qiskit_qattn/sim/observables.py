"""Observables for :func:`simulate`: Pauli sums and diagonal value vectors, exact and from shots.

Diagonal Pauli terms are read off one fast Walsh–Hadamard transform of the probabilities
(``<Z_S> = fwht(p)[S]``), so any number of diagonal observables costs one ``O(2**m m)`` transform
plus one look-up per term. Value vectors ``O = sum_j v_j |j><j|`` (as in
:func:`~qiskit_qattn.circuits.value_observables`) are dot products with the probabilities.
Off-diagonal Pauli terms go through a Numba kernel on the statevector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit.quantum_info import Pauli, SparsePauliOp

from ..encoding import to_numpy


@dataclass(frozen=True)
class Observable:
    """One observable: a ``SparsePauliOp`` or a real diagonal ``values`` vector (padded by 0)."""

    operator: SparsePauliOp | None = None
    values: np.ndarray | None = None
    block: tuple[np.ndarray, int] | None = None  # (value matrix, column) this came from

    @property
    def is_diagonal(self) -> bool:
        return self.values is not None or not self.operator.paulis.x.any()

    def spread(self) -> float:
        """An upper bound on ``λ_max - λ_min``, for truncation error bounds.

        Example:
            >>> Observable(SparsePauliOp(["II", "ZI"], [3.0, 0.5])).spread()
            1.0
        """
        if self.values is not None:
            v = self.values
            return float(max(v.max(), 0.0) - min(v.min(), 0.0))
        non_identity = self.operator.paulis.x.any(axis=1) | self.operator.paulis.z.any(axis=1)
        return float(2 * np.abs(self.operator.coeffs[non_identity]).sum())


_CHUNK = 1 << 16


def all_finite(arr: np.ndarray) -> bool:
    """``np.isfinite(arr).all()`` in row chunks (no full-size temporary for big value arrays).

    Example:
        >>> all_finite(np.array([[1.0, np.inf]]))
        False
    """
    flat = arr.reshape(-1, arr.shape[-1]) if arr.ndim > 1 else arr.reshape(-1, 1)
    return all(np.isfinite(flat[s : s + _CHUNK]).all() for s in range(0, flat.shape[0], _CHUNK))


def value_products(probs: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``probs[:, :n] @ values`` accumulated in float64 over row chunks of ``values``.

    Chunks keep float32 probabilities (complex64 runs) from being upcast whole.

    Example:
        >>> value_products(np.array([[0.25, 0.75]], np.float32), np.array([[1.0], [3.0]]))
        array([[2.5]])
    """
    n = values.shape[0]
    out = np.zeros((probs.shape[0], values.shape[1]))
    for s in range(0, n, _CHUNK):
        e = min(s + _CHUNK, n)
        out += probs[:, s:e].astype(np.float64) @ values[s:e]
    return out


def _one(obs: Any, num_qubits: int) -> list[Observable]:
    if isinstance(obs, str):
        obs = Pauli(obs)
    if isinstance(obs, Pauli):
        obs = SparsePauliOp(obs)
    if isinstance(obs, SparsePauliOp):
        if obs.num_qubits != num_qubits:
            raise ValueError(
                f"observables must act on all {num_qubits} qubits; got one on {obs.num_qubits}"
            )
        if np.any(np.abs(obs.coeffs.imag) > 1e-12):
            raise ValueError("observables must be Hermitian (real Pauli coefficients)")
        return [Observable(operator=obs)]
    arr = to_numpy(obs)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise TypeError(
            "observables must be SparsePauliOp, Pauli, a Pauli label, a real value array "
            f"[num_keys, k] or a sequence of these; got {type(obs)!r}"
        )
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim not in (1, 2) or not all_finite(arr):
        raise ValueError(f"value observables must be a finite [num_keys, k] array; got {arr.shape}")
    if arr.ndim == 1:
        arr = arr[:, None]
    if num_qubits > 62 or arr.shape[0] > 2**num_qubits:
        raise ValueError(
            f"value observables have {arr.shape[0]} rows; a {num_qubits}-qubit register holds "
            f"{2**num_qubits if num_qubits <= 62 else 'too many'} basis states"
        )
    # column views of one matrix: exact values then cost one matrix product for all columns
    return [Observable(values=arr[:, c], block=(arr, c)) for c in range(arr.shape[1])]


def prepare_observables(observables: Any, num_qubits: int) -> list[Observable]:
    """Normalise one observable or a sequence of them into a list of :class:`Observable`.

    Example:
        >>> obs = prepare_observables(["ZI", np.ones((3, 2))], 2)
        >>> len(obs), obs[1].values.tolist()
        (3, [1.0, 1.0, 1.0])
    """
    if observables is None:
        return []
    if isinstance(observables, (str, Pauli, SparsePauliOp, np.ndarray)) or hasattr(
        observables, "detach"
    ):
        return _one(observables, num_qubits)
    if not isinstance(observables, Sequence):
        raise TypeError(f"observables must be an operator or a sequence; got {type(observables)!r}")
    out: list[Observable] = []
    for obs in observables:
        out.extend(_one(obs, num_qubits))
    return out


def _z_index(paulis) -> np.ndarray:
    weights = 1 << np.arange(paulis.num_qubits, dtype=np.int64)
    return (paulis.z.astype(np.int64) * weights).sum(axis=1)


def exact_expectations(
    states: np.ndarray | None, probs: np.ndarray, observables: list[Observable]
) -> np.ndarray:
    """Exact ``<O_k>`` for each row of dense ``states``/``probs`` ``[batch, 2**m]``.

    Example:
        >>> psi = np.array([[1, 1, 0, 0]]) / np.sqrt(2)
        >>> exact_expectations(psi, np.abs(psi)**2, prepare_observables(["IZ", "IX", "ZI"], 2))
        array([[0., 1., 1.]])
    """
    from ._kernels import fwht_rows, pauli_expectation

    batch = probs.shape[0]
    out = np.zeros((batch, len(observables)))
    walsh = None
    products: dict[int, np.ndarray] = {}
    for k, obs in enumerate(observables):
        if obs.block is not None:
            mat, col = obs.block
            if id(mat) not in products:
                products[id(mat)] = value_products(probs, mat)
            out[:, k] = products[id(mat)][:, col]
            continue
        if obs.values is not None:
            out[:, k] = value_products(probs, obs.values[:, None])[:, 0]
            continue
        paulis = obs.operator.paulis
        diag = ~paulis.x.any(axis=1)
        if diag.any():
            if walsh is None:
                walsh = np.array(probs, order="C")  # same precision as the probabilities
                fwht_rows(walsh)
            idx = _z_index(paulis[diag])
            phase = (-1j) ** paulis.phase[diag]
            coeffs = obs.operator.coeffs[diag] * phase
            out[:, k] += np.real(walsh[:, idx].astype(np.float64) @ coeffs)
        for t in np.flatnonzero(~diag):
            if states is None:
                raise ValueError("off-diagonal observables need the statevector")
            z, x = paulis.z[t], paulis.x[t]
            weights = 1 << np.arange(z.shape[0], dtype=np.int64)
            zmask = int((z * weights).sum())
            xmask = int((x * weights).sum())
            q = (int(paulis.phase[t]) + int(np.count_nonzero(z & x))) % 4
            val = pauli_expectation(states, xmask, zmask) * (-1j) ** q
            out[:, k] += np.real(obs.operator.coeffs[t] * val)
    return out


def diagonal_values(observable: Observable, bits: np.ndarray) -> np.ndarray:
    """Eigenvalue of a diagonal observable on each basis state given as bits ``[count, n]``.

    Example:
        >>> bits = np.array([[0, 0], [1, 0], [1, 1]], dtype=bool)  # bit i = qubit i
        >>> diagonal_values(prepare_observables("ZZ", 2)[0], bits).tolist()
        [1.0, -1.0, 1.0]
    """
    if not observable.is_diagonal:
        raise ValueError(
            "only diagonal observables (I/Z Pauli terms or value vectors) can be estimated from "
            "computational-basis shots; drop shots for exact values"
        )
    if observable.values is not None:
        v = observable.values
        weights = 1 << np.arange(bits.shape[1], dtype=np.int64)
        index = bits.astype(np.int64) @ weights
        padded = np.zeros(int(index.max()) + 1 if index.size else 1)
        padded[: min(v.shape[0], padded.shape[0])] = v[: padded.shape[0]]
        return padded[index]
    op = observable.operator
    parity = (bits.astype(np.int64) @ op.paulis.z.T.astype(np.int64)) & 1
    signs = 1 - 2 * parity
    coeffs = np.real(op.coeffs * (-1j) ** op.paulis.phase)
    return signs @ coeffs


def shot_estimates(
    bits: np.ndarray, weights: np.ndarray, observables: list[Observable]
) -> tuple[np.ndarray, np.ndarray]:
    """Sample means and standard errors of diagonal observables from distinct outcomes.

    Args:
        bits: ``[num_outcomes, n]`` bool, bit ``i`` = qubit ``i``.
        weights: counts of each outcome (sum = shots).
        observables: diagonal observables.

    Example:
        >>> bits = np.array([[0], [1]], dtype=bool)
        >>> mean, err = shot_estimates(bits, np.array([3, 1]), prepare_observables("Z", 1))
        >>> float(mean[0]), round(float(err[0]), 4)
        (0.5, 0.5)
    """
    shots = int(weights.sum())
    means = np.zeros(len(observables))
    errs = np.zeros(len(observables))
    for k, obs in enumerate(observables):
        vals = diagonal_values(obs, bits)
        mean = float(weights @ vals) / shots
        var = float(weights @ (vals - mean) ** 2) / max(shots - 1, 1)
        means[k] = mean
        errs[k] = np.sqrt(var / shots)
    return means, errs
