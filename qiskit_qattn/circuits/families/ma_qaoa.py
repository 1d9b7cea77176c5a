"""Multi-angle QAOA attention: one phase angle per Walsh order, one mixer angle per qubit.

Circuit (``m`` key qubits, ``p = reps`` layers, ``K = max_order``)::

    H^m ; for l in 0..p-1:  exp(+i sum_{k=1..K} γ_{l,k} D_k) ; RX(2 β_{l,q}) on qubit q

``D = (s/τ - mean)/σ`` is the row's temperature-scaled, spread-normalised score diagonal on the
key register (see :mod:`.rows`) and ``D_k`` its Walsh order-``k`` part (the sum of its ``k``-body
``Z`` terms); orders above ``K`` are dropped, which bounds the two-qubit cost (order 1 is free,
order 2 costs two CNOTs per pair). ``K = m`` keeps the whole diagonal; ``γ_{l,k} = γ_l`` and
``β_{l,q} = β_l`` recover the textbook circuit of :func:`qiskit_qattn.circuits.qaoa_attention`.

Parameter layout (``num_parameters = p (K + m)``), flattened per layer as
``[γ_{l,1} .. γ_{l,K}, β_{l,0} .. β_{l,m-1}]``. Stored schedules map the row features
``φ`` (:data:`.rows.FEATURES`) linearly to this vector: ``params = W φ`` with ``W`` of shape
``[p (K + m), len(FEATURES)]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import DiagonalGate, PauliEvolutionGate
from qiskit.quantum_info import SparsePauliOp

from ...encoding import (
    diagonal_from_walsh,
    diagonal_to_sparse_pauli,
    walsh_coefficients,
    walsh_order,
)
from ..rows import ScoreRows, circuit_metadata, prepare_row
from ..schedules import family_schedule, qubit_map
from ._angles import angle_array, check_reps, is_numeric, to_json

FAMILY = "ma_qaoa"
PHASE_SEPARATORS = ("auto", "walsh", "diagonal")


def resolve_max_order(num_qubits: int, max_order: int | None) -> int:
    """``max_order`` validated against ``m`` (``None`` = ``m``, all orders)."""
    if max_order is None:
        return int(num_qubits)
    if isinstance(max_order, bool) or not isinstance(max_order, (int, np.integer)):
        raise ValueError(f"max_order must be an integer in [1, {num_qubits}]; got {max_order!r}")
    if not 1 <= max_order:
        raise ValueError(f"max_order must be an integer in [1, {num_qubits}]; got {max_order}")
    return int(min(max_order, num_qubits))


def num_parameters(num_qubits: int, reps: int, max_order: int | None = None) -> int:
    """``p (K + m)`` angles of one circuit.

    Example:
        >>> num_parameters(4, 2, max_order=2)
        12
    """
    return check_reps(reps) * (resolve_max_order(num_qubits, max_order) + num_qubits)


def walsh_order_diagonals(diag: np.ndarray, max_order: int) -> np.ndarray:
    """Split diagonals ``[rows, 2**m]`` into Walsh orders ``1..max_order``: ``[K, rows, 2**m]``.

    The order-0 part (a global phase) is dropped.

    Example:
        >>> walsh_order_diagonals(np.array([[1.0, -1.0, 1.0, -1.0]]), 2)[:, 0].tolist()
        [[1.0, -1.0, 1.0, -1.0], [0.0, 0.0, 0.0, 0.0]]
    """
    d = np.atleast_2d(diag)
    m = d.shape[1].bit_length() - 1
    coeffs = walsh_coefficients(d)
    weight = walsh_order(m)
    return np.stack(
        [diagonal_from_walsh(np.where(weight == k, coeffs, 0.0)) for k in range(1, max_order + 1)]
    )


def split_parameters(
    params: Any, num_qubits: int, reps: int, max_order: int
) -> tuple[Any, Any]:
    """``[rows, p (K + m)]`` flat angles -> ``gammas [rows, p, K]``, ``betas [rows, p, m]``.

    Works for numpy arrays and torch tensors alike.
    """
    rows = params.shape[0]
    per = params.reshape(rows, reps, max_order + num_qubits)
    return per[:, :, :max_order], per[:, :, max_order:]


def adapt_layer_weights(
    weights: np.ndarray, reps: int, num_qubits: int, max_order: int, stored_qubits: int,
    stored_order: int,
) -> np.ndarray:
    """Map stored ``[p (K_s + m_s), F]`` layer weights to ``[p (K + m), F]``.

    Walsh orders above ``K_s`` get zero weights (their angles are 0: the fitted circuit itself);
    per-qubit mixer weights follow :func:`~qiskit_qattn.circuits.schedules.qubit_map`.

    Example:
        >>> adapt_layer_weights(np.ones((5, 2)), 1, 2, 3, 3, 2).shape
        (5, 2)
    """
    per = weights.reshape(reps, stored_order + stored_qubits, -1)
    gam = np.zeros((reps, max_order, per.shape[-1]))
    k = min(max_order, stored_order)
    gam[:, :k] = per[:, :k]
    bet = per[:, stored_order:][:, qubit_map(num_qubits, stored_qubits)]
    return np.concatenate([gam, bet], axis=1).reshape(reps * (max_order + num_qubits), -1)


def scheduled_angles(
    rows: ScoreRows, reps: int, max_order: int, key_order: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """Angles from the stored schedule: ``gammas [R, p, K]``, ``betas [R, p, m]``, source."""
    m = rows.num_qubits
    choice = family_schedule(FAMILY, m, reps, flexible=("max_order",), key_order=key_order,
                             max_order=max_order)
    weights = adapt_layer_weights(choice.weights, reps, m, max_order, choice.num_qubits,
                                  int(choice.options["max_order"]))
    gammas, betas = split_parameters(rows.features @ weights.T, m, reps, max_order)
    return gammas, betas, choice.source


def ma_qaoa_attention(
    scores: Any,
    reps: int = 2,
    gammas: Any | None = None,
    betas: Any | None = None,
    *,
    max_order: int | None = None,
    key_order: str = "identity",
    temperature: float = 1.0,
    mask: Any | None = None,
    phase_separator: str = "auto",
) -> QuantumCircuit:
    """Multi-angle QAOA circuit whose key distribution approximates ``softmax(s/τ)``.

    Args:
        scores: finite score row of length ``n``.
        reps: layers ``p >= 1``.
        gammas: ``[p, K]`` phase angles per layer and Walsh order (floats or Parameters);
            ``None`` with ``betas=None`` takes both from the stored schedule for this row.
        betas: ``[p, m]`` mixer angles per layer and qubit.
        max_order: highest Walsh order ``K`` kept in the phase separator (``None`` = all).
        key_order: ``"identity"`` (key ``j`` is ``|j>``) or ``"sorted"`` (rank order, see
            :mod:`.rows`; the order is recorded in ``metadata["key_order"]``).
        temperature: softmax temperature ``τ > 0``.
        mask: optional boolean keep-mask of length ``n``.
        phase_separator: ``"walsh"`` (one ``PauliEvolutionGate`` per order and layer),
            ``"diagonal"`` (one ``DiagonalGate`` per layer; numeric angles only) or ``"auto"``
            (walsh for ``K <= 2`` or symbolic angles, else diagonal: the cheaper synthesis).

    Example:
        >>> qc = ma_qaoa_attention([0.3, -1.0, 2.0, 0.5], reps=1, gammas=[[0.8, 0.1]],
        ...                        betas=[[0.4, -0.2]])
        >>> qc.num_qubits, qc.metadata["num_parameters"]
        (2, 4)
    """
    reps = check_reps(reps)
    if phase_separator not in PHASE_SEPARATORS:
        raise ValueError(
            f"phase_separator must be one of {PHASE_SEPARATORS}; got {phase_separator!r}"
        )
    rows = prepare_row(scores, temperature, mask, key_order)
    m = rows.num_qubits
    k_max = resolve_max_order(m, max_order)
    if (gammas is None) != (betas is None):
        raise ValueError("pass both gammas and betas, or neither (stored schedule)")
    schedule = "explicit"
    if gammas is None:
        g_arr, b_arr, schedule = scheduled_angles(rows, reps, k_max, key_order)
        g, b = angle_array(g_arr[0], (reps, k_max), "gammas"), angle_array(
            b_arr[0], (reps, m), "betas"
        )
    else:
        g = angle_array(gammas, (reps, k_max), "gammas")
        b = angle_array(betas, (reps, m), "betas")
    numeric = is_numeric(g)
    if phase_separator == "auto":
        phase_separator = "walsh" if (k_max <= 2 or not numeric) else "diagonal"
    if phase_separator == "diagonal" and not numeric:
        raise ValueError("phase_separator='diagonal' needs numeric gammas; use 'walsh'")

    parts = walsh_order_diagonals(rows.diag, k_max)[:, 0]
    qc = QuantumCircuit(m, name="ma_qaoa_attention")
    qc.h(range(m))
    hams = [_order_hamiltonian(part, m) for part in parts] if phase_separator == "walsh" else []
    for layer in range(reps):
        if phase_separator == "walsh":
            for k in range(k_max):
                if hams[k] is not None:
                    qc.append(PauliEvolutionGate(hams[k], time=g[layer, k]), qc.qubits)
        else:
            phases = sum(float(g[layer, k]) * parts[k] for k in range(k_max))
            qc.append(DiagonalGate(list(np.exp(1j * phases))), qc.qubits)
        for q in range(m):
            qc.rx(2 * b[layer, q], q)
    qc.metadata = circuit_metadata(
        rows, FAMILY, reps=reps, max_order=k_max, key_ordering=key_order,
        num_parameters=reps * (k_max + m), gammas=to_json(g), betas=to_json(b),
        phase_separator=phase_separator, schedule=schedule,
    )
    return qc


def _order_hamiltonian(part: np.ndarray, m: int) -> SparsePauliOp | None:
    """``-D_k`` as Z strings, so that ``PauliEvolutionGate(op, γ) = exp(+i γ D_k)``."""
    op = diagonal_to_sparse_pauli(part, atol=1e-12)
    op = op[np.asarray(op.paulis.z.any(axis=1))]
    if len(op) == 0:
        return None
    return -op

