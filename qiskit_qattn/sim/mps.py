"""Wide, low-entanglement circuits as matrix product states, with a tracked truncation error.

Two engines share one lowering (two-qubit gates at most, single-qubit gates fused into their
neighbours, so a 100-qubit QSANN block is a few hundred small SVDs) and one measurement code
(Pauli sums by left/right environments, vectorised sampling):

- ``"native"`` (default): :class:`~qiskit_qattn.sim.mps_native.NativeMPS`, lean numpy TEBD;
- ``"quimb"``: quimb's ``CircuitMPS`` (``max_bond``/``cutoff`` passed through).

Every truncation happens at the orthogonality centre, so the drop of the squared norm across a
split is exactly the weight it discarded; summing the square roots bounds the distance to the
exact state, which gives a rigorous bound on each expectation value (``error_bounds``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from ..encoding import diagonal_to_sparse_pauli
from .lowering import lower_circuit
from .mps_native import NativeMPS
from .observables import Observable, shot_estimates

MPS_ENGINES = ("native", "quimb")

# Norm changes below this are float rounding of the canonical-form norm, not truncation.
_NORM_NOISE = 1e-13

_PAULI = {
    (False, False): np.eye(2, dtype=complex),
    (False, True): np.array([[0, 1], [1, 0]], dtype=complex),
    (True, True): np.array([[0, -1j], [1j, 0]], dtype=complex),
    (True, False): np.array([[1, 0], [0, -1]], dtype=complex),
}


def build_quimb_mps(
    circuit: QuantumCircuit,
    *,
    max_bond: int | None = None,
    cutoff: float = 1e-12,
    dtype: str = "complex128",
) -> tuple[Any, float]:
    """Run ``circuit`` on a ``quimb.tensor.CircuitMPS``.

    Returns:
        ``(circuit_mps, distance_bound)`` where ``distance_bound`` bounds
        ``|| psi_exact - psi_mps ||`` (``psi_mps`` unnormalised, as truncated).

    Example:
        >>> qc = QuantumCircuit(3); _ = qc.h(0); _ = qc.cx(0, 1); _ = qc.cx(1, 2)
        >>> circ, bound = build_quimb_mps(qc)
        >>> circ.psi.max_bond(), bound
        (2, 0.0)
    """
    import quimb.tensor as qtn

    program = lower_circuit(circuit, structured=False)
    n = program.num_qubits
    circ = qtn.CircuitMPS(n, max_bond=max_bond, cutoff=cutoff, dtype=dtype)
    fidelity = 1.0
    bound = 0.0
    for op in program.ops:
        kind, qubits = op[0], op[1]
        if kind == "1q":
            circ.apply_gate_raw(op[2], (int(qubits),))
            continue
        qubits = [int(q) for q in qubits]
        mat = np.diag(op[2]) if kind == "diag" else op[2]
        if kind not in ("kq", "diag") or len(qubits) > 2:
            raise ValueError(f"MPS lowering produced an unsupported {len(qubits)}-qubit {kind!r}")
        if len(qubits) == 1:
            circ.apply_gate_raw(mat, (qubits[0],))
            continue
        # our matrices are little-endian over (q0, q1); quimb's first qubit is the high bit
        circ.apply_gate_raw(mat, (qubits[1], qubits[0]))
        new = _quimb_norm2(circ)
        lost = fidelity - new
        if lost > _NORM_NOISE:
            # swaps across a distance d truncate up to 2d-1 times: Cauchy-Schwarz on their sum
            splits = 2 * abs(qubits[0] - qubits[1]) - 1
            bound += float(np.sqrt(splits * lost))
        fidelity = new
    return circ, bound


def _quimb_norm2(circ) -> float:
    # after a split the orthogonality centre is one site: its norm is the state's norm
    lo, hi = circ.gate_opts["info"].get("cur_orthog", (None, None))
    if lo is None or lo != hi:
        return float(circ.fidelity_estimate())
    return float(np.linalg.norm(np.asarray(circ._psi[lo].data)) ** 2)


def build_native_mps(
    circuit: QuantumCircuit,
    *,
    max_bond: int | None = None,
    cutoff: float = 1e-12,
    dtype: str = "complex128",
) -> NativeMPS:
    """Run ``circuit`` on a :class:`~qiskit_qattn.sim.mps_native.NativeMPS`.

    Example:
        >>> qc = QuantumCircuit(3); _ = qc.h(0); _ = qc.cx(0, 1); _ = qc.cx(1, 2)
        >>> mps = build_native_mps(qc)
        >>> mps.bond_dimension(), mps.distance_bound
        (2, 0.0)
    """
    program = lower_circuit(circuit, structured=False)
    mps = NativeMPS(program.num_qubits, dtype=dtype, max_bond=max_bond, cutoff=cutoff)
    for op in program.ops:
        kind, qubits = op[0], op[1]
        if kind == "1q":
            mps.apply_1q(int(qubits), op[2])
            continue
        mat = np.diag(op[2]) if kind == "diag" else op[2]
        if kind not in ("kq", "diag") or len(qubits) > 2:
            raise ValueError(f"MPS lowering produced an unsupported {len(qubits)}-qubit {kind!r}")
        if len(qubits) == 1:
            mps.apply_1q(int(qubits[0]), mat)
        else:
            mps.apply_2q(int(qubits[0]), int(qubits[1]), mat)
    return mps


def quimb_site_arrays(psi) -> list[np.ndarray]:
    """Sites of a quimb ``MatrixProductState`` as ``[left, right, physical]`` arrays."""
    psi = psi.copy()
    psi.permute_arrays("lrp")
    arrays = [np.asarray(a) for a in psi.arrays]
    if len(arrays) == 1:
        return [arrays[0].reshape(1, 1, -1)]
    arrays[0] = arrays[0][None, :, :]
    arrays[-1] = arrays[-1][:, None, :]
    return arrays


def _transfer(env: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # env[l, l'] conj(a[l, r, p]) b[l', r', p] -> [r, r']
    tmp = np.einsum("ab,bsp->asp", env, b)
    return np.einsum("arp,asp->rs", a.conj(), tmp)


def _right_environments(arrays: list[np.ndarray]) -> list[np.ndarray]:
    n = len(arrays)
    right = [np.ones((1, 1), dtype=complex)] * (n + 1)
    for i in range(n - 1, -1, -1):
        a = arrays[i]
        tmp = np.einsum("bsp,rs->brp", a, right[i + 1])  # [l', r, p]
        right[i] = np.einsum("arp,brp->ab", a.conj(), tmp)  # [l, l']
    return right


def sample_mps(arrays: list[np.ndarray], shots: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``shots`` basis states from an MPS, all shots at once: ``[shots, n]`` bool bits.

    Sites are sampled left to right from exact conditional probabilities (right environments
    hold the norm of the rest), ``O(shots n chi^2)`` with vectorised numpy.

    Example:
        >>> mps = NativeMPS(3); mps.apply_1q(1, np.array([[0, 1], [1, 0]]))
        >>> sample_mps(mps.site_arrays(), 2, np.random.default_rng(0)).tolist()
        [[False, True, False], [False, True, False]]
    """
    right = _right_environments(arrays)
    n = len(arrays)
    left = np.ones((shots, 1), dtype=complex)
    bits = np.zeros((shots, n), dtype=bool)
    for i, a in enumerate(arrays):
        v = np.einsum("sl,lrp->spr", left, a)  # [shots, 2, r]
        w = np.einsum("spr,rt->spt", v, right[i + 1].T)
        p = np.real(np.einsum("spr,spr->sp", v.conj(), w))
        p = np.clip(p, 0.0, None)
        p1 = p[:, 1] / np.maximum(p.sum(axis=1), 1e-300)
        choice = rng.random(shots) < p1
        bits[:, i] = choice
        left = v[np.arange(shots), choice.astype(np.int64)]
        norm = np.sqrt(np.maximum(p[np.arange(shots), choice.astype(np.int64)], 1e-300))
        left = left / norm[:, None]
    return bits


def pauli_expectations(arrays: list[np.ndarray], operators: list[SparsePauliOp]) -> np.ndarray:
    """Normalised ``<psi|O|psi>`` of Pauli sums on an MPS, by left/right environments.

    Each term costs ``O(w chi^3)`` for a support spanning ``w`` sites.

    Example:
        >>> mps = NativeMPS(2); mps.apply_1q(1, np.array([[0, 1], [1, 0]]))  # |q1 q0> = |10>
        >>> ops = [SparsePauliOp(["IZ", "ZI", "XI"])]
        >>> pauli_expectations(mps.site_arrays(), ops).round(12).tolist()
        [0.0]
    """
    n = len(arrays)
    left = [np.ones((1, 1), dtype=complex)]
    for a in arrays:
        left.append(_transfer(left[-1], a, a))
    right = _right_environments(arrays)
    norm2 = float(np.real(left[n][0, 0]))
    out = np.zeros(len(operators))
    for k, op in enumerate(operators):
        total = 0.0
        for t in range(len(op)):
            z, x = op.paulis.z[t], op.paulis.x[t]
            support = np.flatnonzero(z | x)
            coeff = op.coeffs[t] * (-1j) ** int(op.paulis.phase[t])
            if support.size == 0:
                total += np.real(coeff)
                continue
            lo, hi = int(support[0]), int(support[-1])
            env = left[lo]
            for i in range(lo, hi + 1):
                a = arrays[i]
                pauli = _PAULI[(bool(z[i]), bool(x[i]))]
                b = np.einsum("lrq,pq->lrp", a, pauli) if (z[i] or x[i]) else a
                env = _transfer(env, a, b)
            val = np.sum(env * right[hi + 1])
            total += np.real(coeff * val) / norm2
        out[k] = total
    return out


def _as_operator(obs: Observable, num_qubits: int) -> SparsePauliOp:
    if obs.operator is not None:
        return obs.operator
    if num_qubits > 20:
        raise ValueError(
            "value-vector observables on a register wider than 20 qubits are not supported by "
            "method='mps'; pass SparsePauliOp observables"
        )
    padded = np.zeros(2**num_qubits)
    padded[: obs.values.shape[0]] = obs.values
    return diagonal_to_sparse_pauli(padded)


def run_mps(
    circuit: QuantumCircuit,
    observables: list[Observable],
    *,
    shots: int | None = None,
    seed: int | None = None,
    max_bond: int | None = None,
    cutoff: float = 1e-12,
    dtype: str = "complex128",
    engine: str = "native",
) -> dict[str, Any]:
    """Simulate one circuit as an MPS; exact-or-bounded expectations, or shot estimates.

    Returns:
        dict with ``values``, ``std_errors`` (shots), ``counts`` (shots), ``truncation_error``
        (``1 - <psi|psi>``, the discarded weight), ``error_bounds`` (rigorous per-observable
        bound) and ``max_bond``.
    """
    n = circuit.num_qubits
    if engine == "native":
        mps = build_native_mps(circuit, max_bond=max_bond, cutoff=cutoff, dtype=dtype)
        arrays, distance = mps.site_arrays(), mps.distance_bound
        out: dict[str, Any] = {
            "truncation_error": mps.truncation_error,
            "max_bond": mps.bond_dimension(),
        }
    elif engine == "quimb":
        circ, distance = build_quimb_mps(circuit, max_bond=max_bond, cutoff=cutoff, dtype=dtype)
        psi = circ.psi
        arrays = quimb_site_arrays(psi)
        out = {
            "truncation_error": max(float(circ.error_estimate()), 0.0),
            "max_bond": int(psi.max_bond()),
        }
    else:
        raise ValueError(f"mps_engine must be one of {MPS_ENGINES}; got {engine!r}")
    # |<O>_exact - <O>_mps| <= spread(O) * trace distance <= spread(O) * 2 * distance
    trace = min(1.0, 2.0 * distance)
    out["error_bounds"] = np.array([obs.spread() * trace for obs in observables])
    if shots is None:
        ops = [_as_operator(obs, n) for obs in observables]
        out["values"] = pauli_expectations(arrays, ops) if ops else np.zeros(0)
        return out
    rng = np.random.default_rng(seed)
    drawn = sample_mps(arrays, shots, rng)
    bits, weights = np.unique(drawn, axis=0, return_counts=True)
    out["counts"] = {
        "".join("1" if b else "0" for b in row[::-1]): int(w)
        for row, w in zip(bits, weights, strict=True)
    }
    if observables:
        out["values"], out["std_errors"] = shot_estimates(bits, weights, observables)
    else:
        out["values"], out["std_errors"] = np.zeros(0), np.zeros(0)
    return out
