"""Variational Born machine on the key register, its angles mapped from the row (no per-row fit).

Hardware-efficient ansatz (``m`` key qubits, ``L = layers``)::

    RY(θ_{0,q}) on every qubit ; for l in 1..L:  CZ(q, q+1) for q = 0..m-2 ; RY(θ_{l,q})

A linear chain of ``m-1`` CZ per layer (nearest neighbours on any coupling map with a path).
The angles are not optimised per query: a stored map, fitted once on real score rows, computes
them from per-qubit features of the row,

    θ_{l,q} = sum_f W[l, q, f] ψ_{q,f},   ψ_q = [row features φ (:data:`.rows.FEATURES`),
              θ̄_q, θ_q|0, θ_q|1, θ̄_{q+1}]

where ``θ̄`` are the product warm-start (marginal) angles and ``θ_q|v`` the angle of qubit ``q``
conditioned on qubit ``q+1`` reading ``v`` (0 beyond the top qubit). The map starts at the
product warm start (``θ_0 = θ̄``, others 0) and is trained by ``benchmarks/fit_family_schedules.py``
on the exact torch simulator. Parameter count: ``(L + 1) m`` angles; map weights
``(L + 1) x m x (len(FEATURES) + 4)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from ..rows import FEATURES, ScoreRows, circuit_metadata, marginal_angles, prepare_row
from ..schedules import family_schedule, qubit_map
from ._angles import angle_array, check_reps, to_json
from .warm_start import conditional_angles

FAMILY = "born_machine"
QUBIT_FEATURES = (*FEATURES, "theta_q", "theta_q_given_0", "theta_q_given_1", "theta_above")


def num_parameters(num_qubits: int, layers: int) -> int:
    """``(L + 1) m`` angles.

    Example:
        >>> num_parameters(4, 2)
        12
    """
    return (check_reps(layers, "layers", minimum=0) + 1) * int(num_qubits)


def qubit_features(rows: ScoreRows) -> np.ndarray:
    """Per-qubit features ``ψ`` of every row: ``[rows, m, len(QUBIT_FEATURES)]``.

    Example:
        >>> from qiskit_qattn.circuits.rows import prepare_rows
        >>> qubit_features(prepare_rows([[0.0, 1.0, 2.0, 3.0]], key_order="sorted")).shape
        (1, 2, 9)
    """
    m = rows.num_qubits
    theta = marginal_angles(rows.probs)
    cond = conditional_angles(rows.probs, 1)  # MSB first; entry for qubit k is cond[m-1-k]
    r = rows.num_rows
    given = np.zeros((r, m, 2))
    for k in range(m):
        a = cond[m - 1 - k]
        given[:, k] = a if a.shape[1] == 2 else np.repeat(a, 2, axis=1)
    above = np.concatenate([theta[:, 1:], np.zeros((r, 1))], axis=1)
    phi = np.broadcast_to(rows.features[:, None, :], (r, m, rows.features.shape[1]))
    return np.concatenate([phi, theta[:, :, None], given, above[:, :, None]], axis=2)


def initial_weights(num_qubits: int, layers: int) -> np.ndarray:
    """Map weights that reproduce the product warm start (``θ_0 = θ̄``, later layers 0)."""
    w = np.zeros((layers + 1, num_qubits, len(QUBIT_FEATURES)))
    w[0, :, QUBIT_FEATURES.index("theta_q")] = 1.0
    return w


def mapped_angles(features: Any, weights: Any) -> Any:
    """``θ [rows, L+1, m]`` from features ``[rows, m, F]`` and weights ``[L+1, m, F]``.

    Works for numpy arrays and torch tensors alike.
    """
    return (features[:, None, :, :] * weights[None]).sum(-1)


def scheduled_angles(rows: ScoreRows, layers: int, key_order: str) -> tuple[np.ndarray, str]:
    """Angles ``[R, L+1, m]`` from the stored map for every row, and the schedule's source."""
    m = rows.num_qubits
    choice = family_schedule(FAMILY, m, layers, key_order=key_order)
    weights = choice.weights[:, qubit_map(m, choice.num_qubits), :]
    return mapped_angles(qubit_features(rows), weights), choice.source


def born_machine_attention(
    scores: Any,
    layers: int = 2,
    thetas: Any | None = None,
    *,
    key_order: str = "sorted",
    temperature: float = 1.0,
    mask: Any | None = None,
) -> QuantumCircuit:
    """Hardware-efficient Born machine approximating ``sqrt(softmax(s/τ))`` on the keys.

    Args:
        scores: finite score row of length ``n``.
        layers: entangling layers ``L >= 0``.
        thetas: ``[L + 1, m]`` RY angles (floats or Parameters); ``None`` computes them from the
            row with the stored map.
        key_order: ``"sorted"`` (default) or ``"identity"`` (see :mod:`.rows`).
        temperature: softmax temperature ``τ > 0``.
        mask: optional boolean keep-mask of length ``n``.

    Example:
        >>> qc = born_machine_attention([0.3, -1.0, 2.0, 0.5], layers=1,
        ...                             thetas=[[0.1, 0.2], [0.3, 0.4]])
        >>> qc.num_qubits, qc.metadata["num_parameters"]
        (2, 4)
    """
    layers = check_reps(layers, "layers", minimum=0)
    rows = prepare_row(scores, temperature, mask, key_order)
    m = rows.num_qubits
    schedule = "explicit"
    if thetas is None:
        angles, schedule = scheduled_angles(rows, layers, key_order)
        t = angle_array(angles[0], (layers + 1, m), "thetas")
    else:
        t = angle_array(thetas, (layers + 1, m), "thetas")
    qc = QuantumCircuit(m, name="born_machine_attention")
    for q in range(m):
        qc.ry(t[0, q], q)
    for layer in range(1, layers + 1):
        for q in range(m - 1):
            qc.cz(q, q + 1)
        for q in range(m):
            qc.ry(t[layer, q], q)
    qc.metadata = circuit_metadata(
        rows, FAMILY, layers=layers, key_ordering=key_order,
        num_parameters=(layers + 1) * m, thetas=to_json(t), schedule=schedule,
    )
    return qc
