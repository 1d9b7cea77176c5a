"""Amplitude-amplification-style attention: phase oracle + generalised reflection, ``p`` times.

Circuit (``m`` key qubits, initial state ``|ψ0> = U0|0>``)::

    U0 ; for l in 0..p-1:  exp(+i γ_l D) ; W(β_l) = I + (e^{iβ_l} - 1) |ψ0><ψ0|

``D`` is the row's normalised score diagonal (:mod:`.rows`; truncated to Walsh orders
``<= max_order`` when given). ``W(π)`` is Grover's reflection about ``|ψ0>``; a general ``β``
rotates less. One oracle + reflection already makes amplitudes ``(e^{iγ D_x} + c)/sqrt(N)``,
i.e. probabilities ``1 + |c|² + 2 Re(c e^{-iγ D_x})``, a cosine-shaped ``softmax`` of the scores.
``W(β)`` is ``U0 X^m MCPhase(β) X^m U0^†``: a multi-controlled phase, the expensive part.
``U0`` is ``H^m`` (``initial="uniform"``) or the product warm start ``RY(θ̄_q)`` of
:mod:`.warm_start` (``initial="warm"``).

Parameter layout: ``2 p`` angles ``[γ_0, β_0, γ_1, β_1, ...]``; stored schedules map row features
linearly to them (``W`` of shape ``[2p, len(FEATURES)]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import DiagonalGate, MCPhaseGate, PauliEvolutionGate

from ..rows import ScoreRows, circuit_metadata, marginal_angles, prepare_row
from ..schedules import family_schedule
from ._angles import angle_array, check_reps, is_numeric, to_json
from .ma_qaoa import _order_hamiltonian, resolve_max_order, walsh_order_diagonals

FAMILY = "amplification"
INITIAL_STATES = ("uniform", "warm")


def num_parameters(reps: int) -> int:
    """``2 p`` angles.

    Example:
        >>> num_parameters(3)
        6
    """
    return 2 * check_reps(reps)


def scheduled_angles(
    rows: ScoreRows, reps: int, initial: str, max_order: int, key_order: str
) -> tuple[np.ndarray, str]:
    """Angles ``[R, p, 2]`` (``[..., 0] = γ``, ``[..., 1] = β``) from the stored schedule."""
    choice = family_schedule(FAMILY, rows.num_qubits, reps, flexible=("max_order",),
                             initial=initial, key_order=key_order, max_order=max_order)
    angles = (rows.features @ choice.weights.T).reshape(rows.num_rows, reps, 2)
    return angles, choice.source


def _prepare_initial(qc: QuantumCircuit, theta: np.ndarray | None, inverse: bool) -> None:
    m = qc.num_qubits
    for q in range(m):
        if theta is None:
            qc.h(q)
        else:
            qc.ry(-float(theta[q]) if inverse else float(theta[q]), q)


def amplification_attention(
    scores: Any,
    reps: int = 1,
    angles: Any | None = None,
    *,
    initial: str = "uniform",
    max_order: int | None = None,
    key_order: str = "identity",
    temperature: float = 1.0,
    mask: Any | None = None,
) -> QuantumCircuit:
    """Amplitude-amplification-style circuit approximating ``sqrt(softmax(s/τ))``.

    Args:
        scores: finite score row of length ``n``.
        reps: layers ``p >= 1``.
        angles: ``[p, 2]`` (``γ_l, β_l`` per layer; floats or Parameters); ``None`` uses the
            stored schedule for this row.
        initial: ``"uniform"`` (``H^m``) or ``"warm"`` (product warm start).
        max_order: highest Walsh order in the oracle (``None`` = the whole diagonal).
        key_order: ``"identity"`` or ``"sorted"`` (see :mod:`.rows`).
        temperature: softmax temperature ``τ > 0``.
        mask: optional boolean keep-mask of length ``n``.

    Example:
        >>> qc = amplification_attention([0.3, -1.0, 2.0, 0.5], reps=1, angles=[[0.9, 2.0]])
        >>> qc.num_qubits, qc.metadata["num_parameters"]
        (2, 2)
    """
    reps = check_reps(reps)
    if initial not in INITIAL_STATES:
        raise ValueError(f"initial must be one of {INITIAL_STATES}; got {initial!r}")
    rows = prepare_row(scores, temperature, mask, key_order)
    m = rows.num_qubits
    k_max = resolve_max_order(m, max_order)
    schedule = "explicit"
    if angles is None:
        scheduled, schedule = scheduled_angles(rows, reps, initial, k_max, key_order)
        a = angle_array(scheduled[0], (reps, 2), "angles")
    else:
        a = angle_array(angles, (reps, 2), "angles")
    theta = marginal_angles(rows.probs)[0] if initial == "warm" else None
    diag = walsh_order_diagonals(rows.diag, k_max)[:, 0].sum(axis=0)
    walsh = not is_numeric(a[:, 0]) or k_max <= 2
    ham = _order_hamiltonian(diag, m) if walsh else None

    qc = QuantumCircuit(m, name="amplification_attention")
    _prepare_initial(qc, theta, inverse=False)
    for layer in range(reps):
        gamma, beta = a[layer]
        if walsh:
            if ham is not None:
                qc.append(PauliEvolutionGate(ham, time=gamma), qc.qubits)
        else:
            qc.append(DiagonalGate(list(np.exp(1j * float(gamma) * diag))), qc.qubits)
        _prepare_initial(qc, theta, inverse=True)
        qc.x(range(m))
        if m == 1:
            qc.p(beta, 0)
        else:
            qc.append(MCPhaseGate(beta, m - 1), qc.qubits)
        qc.x(range(m))
        _prepare_initial(qc, theta, inverse=False)
    qc.metadata = circuit_metadata(
        rows, FAMILY, reps=reps, initial=initial, max_order=k_max,
        key_ordering=key_order, num_parameters=2 * reps, angles=to_json(a), schedule=schedule,
    )
    return qc
