"""Warm-start attention states: a cheap classical approximation, then optional QAOA corrections.

The warm start is the autoregressive (Grover–Rudolph) amplitude tree truncated to a conditioning
``window`` ``c``: qubit ``m-1`` (the most significant) gets ``RY(θ)`` with ``cos²(θ/2)`` its
marginal ``P(b=0)``; every lower qubit ``k`` gets a uniformly controlled ``RY`` conditioned on the
``c_k = min(c, m-1-k)`` qubits just above it, with the exact conditional ``P(b_k=0 | window)`` of
the target softmax. Angles are closed-form per row (no optimisation). ``c = 0`` is a product
state (no two-qubit gate), ``c = 1`` a nearest-neighbour chain of ``2(m-1)`` CNOTs, and
``c = m-1`` is exact amplitude encoding. With ``key_order="sorted"`` (the default; keys laid out
by score rank, see :mod:`.rows`) the truncation costs very little fidelity.

Optional correction layers (``reps >= 1``) follow warm-start QAOA (Egger, Mareček, Woerner,
Quantum 5, 479 (2021)): ``exp(+i sum_{k<=K} γ_{l,k} D_k)`` (Walsh orders of the normalised score
diagonal, as in :mod:`.ma_qaoa`), then the warm-start mixer ``RY(θ̄_q) RZ(2 β_{l,q}) RY(-θ̄_q)``
on each qubit, where ``θ̄_q`` is the qubit's marginal angle; at ``γ = β = 0`` a layer is the
identity. Parameter layout: ``reps (K + m)`` angles, flattened per layer as
``[γ_{l,1..K}, β_{l,0..m-1}]``; stored schedules map row features linearly to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import PauliEvolutionGate, UCRYGate

from ..rows import ScoreRows, circuit_metadata, marginal_angles, prepare_row
from ..schedules import family_schedule
from ._angles import angle_array, check_reps, to_json
from .ma_qaoa import (
    _order_hamiltonian,
    adapt_layer_weights,
    resolve_max_order,
    split_parameters,
    walsh_order_diagonals,
)

FAMILY = "warm_start"


def check_window(window: Any, num_qubits: int) -> int:
    """Conditioning window ``c`` in ``[0, m-1]`` (larger values are clipped to ``m-1``)."""
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 0:
        raise ValueError(f"window must be an integer >= 0; got {window!r}")
    return int(min(window, num_qubits - 1))


def num_parameters(num_qubits: int, reps: int, max_order: int = 2) -> int:
    """``reps (K + m)`` correction angles (0 for the bare warm start).

    Example:
        >>> num_parameters(5, 0), num_parameters(5, 2, max_order=2)
        (0, 14)
    """
    reps = check_reps(reps, minimum=0)
    return reps * (resolve_max_order(num_qubits, max_order) + num_qubits) if reps else 0


def _axis(num_qubits: int, qubit: int) -> int:
    """Axis of ``qubit`` in ``probs.reshape(rows, 2, ..., 2)`` (C order: MSB first)."""
    return 1 + (num_qubits - 1 - qubit)


def conditional_angles(probs: np.ndarray, window: int) -> list[np.ndarray]:
    """Closed-form warm-start angles, one array per qubit ``k = m-1 .. 0``.

    Entry ``k`` (listed MSB first) has shape ``[rows, 2**c_k]``; column ``v`` is the ``RY``
    angle when the controls ``k+1 .. k+c_k`` read ``v`` (little-endian over that list).

    Example:
        >>> [a.round(4).tolist() for a in conditional_angles(np.array([[0.5, 0, 0, 0.5]]), 1)]
        [[[1.5708]], [[0.0, 3.1416]]]
    """
    rows, dim = probs.shape
    m = dim.bit_length() - 1
    t = probs.reshape((rows,) + (2,) * m)
    out = []
    for k in range(m - 1, -1, -1):
        c_k = min(window, m - 1 - k)
        keep_axes = {_axis(m, q) for q in range(k, k + c_k + 1)}
        marg = t.sum(axis=tuple(a for a in range(1, m + 1) if a not in keep_axes))
        marg = marg.reshape(rows, 2**c_k, 2)  # C order: controls MSB-first, then qubit k
        total = marg.sum(axis=2)
        p0 = np.divide(marg[:, :, 0], total, out=np.ones_like(total), where=total > 0)
        out.append(2 * np.arccos(np.sqrt(np.clip(p0, 0.0, 1.0))))
    return out


def warm_start_probabilities(probs: np.ndarray, window: int) -> np.ndarray:
    """Distribution ``q [rows, 2**m]`` the warm start prepares (its amplitudes are ``sqrt(q)``).

    Example:
        >>> p = np.array([[0.4, 0.1, 0.1, 0.4]])
        >>> warm_start_probabilities(p, 0).round(3).tolist()
        [[0.25, 0.25, 0.25, 0.25]]
        >>> warm_start_probabilities(p, 1).round(3).tolist()  # window 1 = exact for m = 2
        [[0.4, 0.1, 0.1, 0.4]]
    """
    rows, dim = probs.shape
    m = dim.bit_length() - 1
    x = np.arange(dim)
    q = np.ones((rows, dim))
    for k, angles in zip(range(m - 1, -1, -1), conditional_angles(probs, window), strict=True):
        c_k = min(window, m - 1 - k)
        v = (x >> (k + 1)) & ((1 << c_k) - 1)
        bit = (x >> k) & 1
        half = angles[:, v] / 2
        q = q * np.where(bit == 0, np.cos(half) ** 2, np.sin(half) ** 2)
    return q


def append_warm_start(qc: QuantumCircuit, angles: list[np.ndarray]) -> None:
    """Append the warm-start tree for one row (``angles`` from :func:`conditional_angles`)."""
    m = qc.num_qubits
    for k, a in zip(range(m - 1, -1, -1), angles, strict=True):
        row = a[0]
        if row.size == 1:
            qc.ry(float(row[0]), k)
        else:
            c_k = row.size.bit_length() - 1
            qc.append(UCRYGate([float(v) for v in row]), [k, *range(k + 1, k + 1 + c_k)])


def scheduled_angles(
    rows: ScoreRows, reps: int, window: int, max_order: int, key_order: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """Correction angles from the stored schedule: ``gammas [R, p, K]``, ``betas [R, p, m]``."""
    m = rows.num_qubits
    choice = family_schedule(FAMILY, m, reps, flexible=("max_order",), key_order=key_order,
                             max_order=max_order, window=window)
    weights = adapt_layer_weights(choice.weights, reps, m, max_order, choice.num_qubits,
                                  int(choice.options["max_order"]))
    gammas, betas = split_parameters(rows.features @ weights.T, m, reps, max_order)
    return gammas, betas, choice.source


def warm_start_attention(
    scores: Any,
    reps: int = 0,
    gammas: Any | None = None,
    betas: Any | None = None,
    *,
    window: int = 1,
    max_order: int = 2,
    key_order: str = "sorted",
    temperature: float = 1.0,
    mask: Any | None = None,
) -> QuantumCircuit:
    """Warm-start state for ``softmax(s/τ)``, optionally followed by QAOA correction layers.

    Args:
        scores: finite score row of length ``n``.
        reps: correction layers ``p >= 0`` (0 = the bare, closed-form warm start).
        gammas: ``[p, K]`` phase angles; ``None`` with ``betas=None`` uses the stored schedule.
        betas: ``[p, m]`` warm-start-mixer angles.
        window: conditioning window ``c`` of the warm-start tree (0 = product state).
        max_order: highest Walsh order ``K`` in the correction phase separators.
        key_order: ``"sorted"`` (rank order, default) or ``"identity"``.
        temperature: softmax temperature ``τ > 0``.
        mask: optional boolean keep-mask of length ``n`` (masked keys get amplitude exactly 0
            with the full tree; truncated trees leave them a little, which the kept-key ratio
            estimator removes).

    Example:
        >>> qc = warm_start_attention([0.3, -1.0, 2.0, 0.5, 1.1], window=1)
        >>> qc.num_qubits, qc.metadata["key_order"][:2], qc.metadata["num_parameters"]
        (3, [2, 4], 0)
    """
    reps = check_reps(reps, minimum=0)
    rows = prepare_row(scores, temperature, mask, key_order)
    m = rows.num_qubits
    c = check_window(window, m)
    k_max = resolve_max_order(m, max_order)
    if (gammas is None) != (betas is None):
        raise ValueError("pass both gammas and betas, or neither (stored schedule)")
    schedule = "explicit" if reps else "closed form"
    if reps == 0:
        if gammas is not None and np.size(np.asarray(gammas, dtype=object)) != 0:
            raise ValueError("reps=0 takes no correction angles; got gammas")
        g = np.empty((0, k_max), dtype=object)
        b = np.empty((0, m), dtype=object)
    elif gammas is None:
        g_arr, b_arr, schedule = scheduled_angles(rows, reps, c, k_max, key_order)
        g = angle_array(g_arr[0], (reps, k_max), "gammas")
        b = angle_array(b_arr[0], (reps, m), "betas")
    else:
        g = angle_array(gammas, (reps, k_max), "gammas")
        b = angle_array(betas, (reps, m), "betas")

    qc = QuantumCircuit(m, name="warm_start_attention")
    append_warm_start(qc, conditional_angles(rows.probs, c))
    if reps:
        theta = marginal_angles(rows.probs)[0]
        parts = walsh_order_diagonals(rows.diag, k_max)[:, 0]
        hams = [_order_hamiltonian(part, m) for part in parts]
        for layer in range(reps):
            for k in range(k_max):
                if hams[k] is not None:
                    qc.append(PauliEvolutionGate(hams[k], time=g[layer, k]), qc.qubits)
            for q in range(m):
                qc.ry(-float(theta[q]), q)
                qc.rz(2 * b[layer, q], q)
                qc.ry(float(theta[q]), q)
    qc.metadata = circuit_metadata(
        rows, FAMILY, reps=reps, window=c, max_order=k_max, key_ordering=key_order,
        num_parameters=reps * (k_max + m), gammas=to_json(g), betas=to_json(b),
        two_qubit_gates_logical=sum(2 ** min(c, m - 1 - k) for k in range(m - 1) if c > 0),
        schedule=schedule,
    )
    return qc
