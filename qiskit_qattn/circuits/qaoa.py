"""QAOA-style attention: ``H^m``, then ``reps`` x [phase separator ``e^{i γ s/τ}``, RX mixer]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterExpression
from qiskit.circuit.library import DiagonalGate, PauliEvolutionGate
from qiskit.quantum_info import SparsePauliOp

from ..encoding import diagonal_to_sparse_pauli
from ._rows import ScoreRow, score_row
from .schedules import default_schedule

#: Largest key count :func:`qaoa_attention` accepts (12 key qubits).
QAOA_MAX_KEYS = 2**12

PHASE_SEPARATORS = ("walsh", "diagonal")

Angle = float | ParameterExpression


def phase_diagonal(row: ScoreRow) -> np.ndarray:
    """Scores ``s / τ`` on all ``2**m`` basis states, as the phase separator sees them.

    Masked and padding keys get the lowest kept score, so the phase separator never favours them.
    """
    keep = row.keep
    padded = np.empty(2**row.num_qubits)
    padded[: row.num_keys] = row.scores
    valid = padded[keep]
    padded[~keep] = valid.min()
    return padded / row.temperature


def _angles(values: Sequence[Angle] | None, reps: int, name: str) -> list[Angle] | None:
    if values is None:
        return None
    out = list(values)
    if len(out) != reps:
        raise ValueError(f"{name} must have length reps={reps}; got {len(out)}")
    for v in out:
        if not isinstance(v, ParameterExpression) and not np.isfinite(float(v)):
            raise ValueError(f"{name} must be finite real numbers or Parameters; got {v!r}")
    return [v if isinstance(v, ParameterExpression) else float(v) for v in out]


def qaoa_attention(
    scores: Any,
    reps: int = 2,
    gammas: Sequence[Angle] | None = None,
    betas: Sequence[Angle] | None = None,
    *,
    temperature: float = 1.0,
    phase_separator: str = "walsh",
    mask: Any | None = None,
) -> QuantumCircuit:
    """QAOA-style circuit whose key distribution approximates ``softmax(scores / temperature)``.

    Layout: ``H`` on every key qubit, then for ``l = 0..reps-1`` the phase separator
    ``exp(+i γ_l diag(s)/τ)`` and the mixer ``RX(2 β_l)`` on every qubit. The phase separator is
    either commuting multi-Z rotations from the Walsh expansion of ``s`` (``"walsh"``, one
    ``PauliEvolutionGate`` per layer, the identity term kept as global phase) or one
    ``DiagonalGate`` (``"diagonal"``, numeric angles only). Parameter count: ``2 * reps``.

    Args:
        scores: finite score row of length ``n`` (``n <= QAOA_MAX_KEYS``).
        reps: number of layers ``p >= 1``.
        gammas: ``reps`` phase angles (floats or ``Parameter``s); ``None`` uses the package's
            default schedule, scaled by ``1 / std(s/τ)`` of the kept scores.
        betas: ``reps`` mixer angles; ``None`` uses the default schedule.
        temperature: softmax temperature ``τ > 0``.
        phase_separator: ``"walsh"`` or ``"diagonal"``.
        mask: optional boolean keep-mask of length ``n``. Masked and padding keys get the lowest
            kept score in the phase separator; they keep some probability, which estimators
            remove by post-selecting kept keys.

    Example:
        >>> qc = qaoa_attention([0.3, -1.0, 2.0, 0.5], reps=1, gammas=[0.8], betas=[-0.4])
        >>> qc.num_qubits, qc.metadata["reps"]
        (2, 1)
    """
    row = score_row(scores, temperature, mask, QAOA_MAX_KEYS, "qaoa_attention")
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise ValueError(f"reps must be an integer >= 1; got {reps!r}")
    if phase_separator not in PHASE_SEPARATORS:
        raise ValueError(
            f"phase_separator must be one of {PHASE_SEPARATORS}; got {phase_separator!r}"
        )
    diag = phase_diagonal(row)
    g = _angles(gammas, reps, "gammas")
    b = _angles(betas, reps, "betas")
    if g is None or b is None:
        dg, db = default_schedule(reps)
        spread = float(np.std(diag[row.keep])) or 1.0
        g = g if g is not None else [float(x) / spread for x in dg]
        b = b if b is not None else [float(x) for x in db]

    m = row.num_qubits
    qc = QuantumCircuit(m, name="qaoa_attention")
    qc.h(range(m))
    if phase_separator == "walsh":
        walsh = diagonal_to_sparse_pauli(diag)
        identity = walsh.paulis.z.any(axis=1) == 0
        constant = float(np.real(walsh.coeffs[identity].sum()))
        terms = walsh[~identity]
        hamiltonian = -terms if len(terms) else SparsePauliOp(["I" * m], [0.0])
    for layer in range(reps):
        gamma, beta = g[layer], b[layer]
        if phase_separator == "walsh":
            qc.append(PauliEvolutionGate(hamiltonian, time=gamma), qc.qubits)
            qc.global_phase += gamma * constant
        else:
            if isinstance(gamma, ParameterExpression):
                raise ValueError("phase_separator='diagonal' needs numeric gammas; use 'walsh'")
            qc.append(DiagonalGate(list(np.exp(1j * gamma * diag))), qc.qubits)
        qc.rx(2 * beta, range(m))
    qc.metadata = row.metadata(
        "qaoa_attention",
        reps=int(reps),
        phase_separator=phase_separator,
        gammas=[g_ if isinstance(g_, float) else str(g_) for g_ in g],
        betas=[b_ if isinstance(b_, float) else str(b_) for b_ in b],
    )
    return qc
