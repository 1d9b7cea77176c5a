"""QAOA-style attention: ``H^m``, then ``reps`` x [phase separator ``e^{i γ s/τ}``, RX mixer]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterExpression
from qiskit.circuit.library import DiagonalGate, PauliEvolutionGate
from qiskit.quantum_info import SparsePauliOp

from ...encoding import diagonal_to_sparse_pauli
from ..rows import ScoreRows, circuit_metadata, prepare_row
from ..schedules import default_schedule
from ._angles import check_reps

FAMILY = "qaoa"

#: Largest key count :func:`qaoa_attention` accepts (12 key qubits).
QAOA_MAX_KEYS = 2**12

PHASE_SEPARATORS = ("walsh", "diagonal")

Angle = float | ParameterExpression


def qaoa_angles(
    sigma: Any,
    reps: int,
    gammas: Any | None = None,
    betas: Any | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The QAOA angle rule: per-row ``gammas [rows, p]`` and ``betas [rows, p]`` as applied.

    The one place the textbook family's angles are decided (circuits, Runtime templates and the
    structured simulator all call it). ``None`` takes the package's default schedule, whose
    ``γ`` are in units of ``1/σ`` (``sigma``: per row, the std of the kept ``s/τ``, e.g.
    ``ScoreRows.sigma``; flat rows use 1), so one schedule serves rows of any spread. Explicit
    angles (length ``p`` shared by every row, or ``[rows, p]``; floats or ``Parameter``s) are
    used as given.

    Example:
        >>> g, b = qaoa_angles([1.0], 1)
        >>> round(float(g[0, 0]), 4), round(float(b[0, 0]), 4)
        (0.349, -0.3695)
    """
    reps = check_reps(reps)
    sig = np.atleast_1d(np.asarray(sigma, dtype=float))
    dg, db = default_schedule(reps)
    unit = np.where(sig > 1e-9, sig, 1.0)
    g = dg[None, :] / unit[:, None] if gammas is None else _angles(gammas, reps, "gammas", sig.size)
    b = np.broadcast_to(db, (sig.size, reps)) if betas is None else _angles(
        betas, reps, "betas", sig.size)
    return g, np.array(b, dtype=object if b.dtype == object else float)


def _angles(values: Any, reps: int, name: str, num_rows: int) -> np.ndarray:
    arr = np.array(values, dtype=object)
    if arr.ndim == 1:
        arr = np.broadcast_to(arr, (num_rows, arr.shape[0]))
    if arr.shape != (num_rows, reps):
        raise ValueError(
            f"{name} must have length reps={reps} (or shape [rows, reps]); got shape "
            f"{np.shape(values)}"
        )
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        if isinstance(v, ParameterExpression):
            out[idx] = v
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be finite real numbers or Parameters; got {v!r}"
            ) from None
        if not np.isfinite(f):
            raise ValueError(f"{name} must be finite real numbers or Parameters; got {v!r}")
        out[idx] = f
    if all(isinstance(v, float) for v in out.flat):
        return out.astype(float)
    return out


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
        gammas: ``reps`` phase angles (floats or ``Parameter``s); ``None`` uses the angle rule
            of :func:`qaoa_angles` (default schedule scaled by ``1 / std(s/τ)``).
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
    rows = prepare_row(scores, temperature, mask, max_keys=QAOA_MAX_KEYS)
    reps = check_reps(reps)
    if phase_separator not in PHASE_SEPARATORS:
        raise ValueError(
            f"phase_separator must be one of {PHASE_SEPARATORS}; got {phase_separator!r}"
        )
    g_all, b_all = qaoa_angles(rows.sigma, reps, gammas, betas)
    g, b = list(g_all[0]), list(b_all[0])
    diag = rows.logits[0]
    m = rows.num_qubits
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
    qc.metadata = circuit_metadata(
        rows, FAMILY,
        reps=int(reps),
        phase_separator=phase_separator,
        gammas=[g_ if isinstance(g_, float) else str(g_) for g_ in g],
        betas=[b_ if isinstance(b_, float) else str(b_) for b_ in b],
    )
    return qc


def qaoa_template(num_qubits: int, reps: int) -> QuantumCircuit:
    """The textbook QAOA attention circuit with every angle a ``Parameter`` (one per Z-string).

    Layer ``l`` applies ``exp(-i θ[l, S] Z_S)`` for every non-empty Z-string ``S`` (subset index
    ``S = 1 .. 2**m - 1``, little-endian) and then ``RX(2 β[l])`` on every qubit, after an initial
    ``H`` layer. Every query of a head binds it with :func:`qaoa_template_values` (same key
    distribution as :func:`qaoa_attention`, up to global phase), so a head compiles once.
    ``template.parameters`` are ``θ[0..]`` then ``β[0..]`` (Qiskit sorts ``ParameterVector``
    elements by index within a vector and vectors by name).

    Example:
        >>> qaoa_template(2, reps=1).num_parameters
        4
    """
    from qiskit.circuit import ParameterVector

    from ...encoding import check_positive_int, z_strings

    m = check_positive_int(num_qubits, "num_qubits")
    reps = check_reps(reps)
    terms = z_strings(m, np.arange(1, 2**m))
    betas = ParameterVector("beta", reps)
    thetas = ParameterVector("theta", reps * (2**m - 1))
    qc = QuantumCircuit(m, name="qaoa_attention_template")
    qc.h(range(m))
    for layer in range(reps):
        for s, pauli in enumerate(terms):
            theta = thetas[layer * (2**m - 1) + s]
            qc.append(PauliEvolutionGate(SparsePauliOp(pauli), time=theta), qc.qubits)
        qc.rx(2 * betas[layer], range(m))
    return qc


def qaoa_template_values(
    rows: ScoreRows, reps: int = 2, gammas: Any | None = None, betas: Any | None = None
) -> np.ndarray:
    """Per-row values ``[rows, reps * 2**m]`` binding :func:`qaoa_template`, in parameter order.

    Uses the same phase diagonal and angle rule (:func:`qaoa_angles`) as :func:`qaoa_attention`.

    Example:
        >>> from qiskit_qattn.circuits.rows import prepare_rows
        >>> qaoa_template_values(prepare_rows([[0.3, -1.0, 2.0, 0.5]]), 1, [0.8], [-0.4]).shape
        (1, 4)
    """
    from ...encoding import walsh_coefficients

    reps = check_reps(reps)
    g, b = qaoa_angles(rows.sigma, reps, gammas, betas)
    g, b = np.asarray(g, dtype=float), np.asarray(b, dtype=float)
    coeffs = walsh_coefficients(rows.logits)[:, 1:]
    # qaoa_attention applies exp(+i γ Σ c_S Z_S); the template's terms are exp(-i θ Z_S).
    thetas = -(g[:, :, None] * coeffs[:, None, :]).reshape(rows.num_rows, -1)
    # Parameter order of the template: beta[0..p-1], then theta[...] (sorted by vector name).
    return np.concatenate([b, thetas], axis=1)
