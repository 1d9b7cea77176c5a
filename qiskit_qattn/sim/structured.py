"""QAOA attention without circuits: batched structured statevectors (phases + RX mixers).

A :class:`QaoaProblem` holds the score rows of any number of queries (and heads) with their
angles, laid out exactly as :func:`qiskit_qattn.circuits.qaoa_attention` lays them out: the state
of row ``b`` equals ``Statevector(qaoa_attention(scores[b], ...))`` including its global phase.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from ..encoding import as_real_array, check_positive, num_key_qubits, to_numpy

DTYPES = {"complex128": np.complex128, "complex64": np.complex64}


def resolve_dtype(dtype: Any) -> np.dtype:
    """``"complex128"``/``"complex64"`` (or the numpy types) as a numpy complex dtype.

    Example:
        >>> resolve_dtype("complex64")
        dtype('complex64')
    """
    try:
        out = np.dtype(dtype)
    except TypeError:
        out = None
    if out not in (np.dtype(np.complex128), np.dtype(np.complex64)):
        raise ValueError(f"dtype must be 'complex128' or 'complex64'; got {dtype!r}")
    return out


@dataclass(frozen=True)
class QaoaProblem:
    """Score rows of a batch of queries (any leading shape, e.g. ``[heads, queries]``).

    Attributes:
        scores: ``[*batch_shape, n]`` finite scores (not yet divided by the temperature).
        keep: ``[*batch_shape, n]`` boolean keep-mask (``True`` = attend).
        gammas: ``[*batch_shape, p]`` phase angles as the circuit uses them.
        betas: ``[*batch_shape, p]`` mixer angles (the mixer is ``RX(2 β)``).
        temperature: softmax temperature ``τ``.
    """

    scores: np.ndarray
    keep: np.ndarray
    gammas: np.ndarray
    betas: np.ndarray
    temperature: float

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.scores.shape[:-1]

    @property
    def num_rows(self) -> int:
        return int(np.prod(self.batch_shape, dtype=np.int64))

    @property
    def num_keys(self) -> int:
        return self.scores.shape[-1]

    @property
    def num_qubits(self) -> int:
        return num_key_qubits(self.num_keys)

    @property
    def reps(self) -> int:
        return self.gammas.shape[-1]

    def fill_values(self) -> np.ndarray:
        """Per row, the lowest kept score: the phase of masked and padding keys."""
        masked = np.where(self.keep, self.scores, np.inf)
        return masked.min(axis=-1)

    def phase_diagonals(self) -> np.ndarray:
        """``[*batch_shape, 2**m]`` phase-separator diagonals ``d / τ`` (what the circuit uses).

        Example:
            >>> qaoa_problem([[1.0, 3.0, 2.0]], reps=1).phase_diagonals().tolist()
            [[1.0, 3.0, 2.0, 1.0]]
        """
        size = 2**self.num_qubits
        out = np.repeat(self.fill_values()[..., None], size, axis=-1)
        out[..., : self.num_keys] = np.where(self.keep, self.scores, out[..., : self.num_keys])
        return out / self.temperature

    def flat_rows(self) -> dict[str, np.ndarray]:
        """The problem as contiguous ``[num_rows, ...]`` arrays for the kernel."""
        rows = self.num_rows
        return {
            "scores": np.ascontiguousarray(self.scores.reshape(rows, -1)),
            "keep": np.ascontiguousarray(self.keep.reshape(rows, -1)),
            "fill": np.ascontiguousarray(self.fill_values().reshape(rows)),
            "gammas": np.ascontiguousarray(self.gammas.reshape(rows, -1)),
            "betas": np.ascontiguousarray(self.betas.reshape(rows, -1)),
        }


def qaoa_problem(
    scores: Any,
    reps: int = 2,
    gammas: Any | None = None,
    betas: Any | None = None,
    *,
    temperature: float = 1.0,
    mask: Any | None = None,
) -> QaoaProblem:
    """Validate a batch of score rows and angles into a :class:`QaoaProblem`.

    Rows are validated by :func:`~qiskit_qattn.circuits.prepare_rows` and the angles come from
    the family's angle rule :func:`~qiskit_qattn.circuits.qaoa_angles` (the same rule the
    circuits and Runtime templates use): ``None`` takes the default schedule with each row's
    gammas divided by the standard deviation of its kept ``s/τ``; explicit angles (shape ``[p]``
    shared by all rows, or ``[*batch_shape, p]`` per row) are used as given.

    Args:
        scores: ``[*batch_shape, n]`` score rows (a single row is a batch of one).
        reps: layers ``p >= 1`` (ignored when explicit ``gammas`` give it).
        gammas: phase angles or ``None``.
        betas: mixer angles or ``None``.
        temperature: softmax temperature ``τ > 0``.
        mask: boolean keep-mask broadcastable to ``scores`` (``True`` = attend).

    Example:
        >>> prob = qaoa_problem(np.zeros((2, 3, 5)), reps=2)
        >>> prob.batch_shape, prob.num_qubits, prob.reps
        ((2, 3), 3, 2)
    """
    from ..circuits import kept_sigma, qaoa_angles

    s = as_real_array(scores, "scores", ndim=None)
    if s.ndim == 0 or s.shape[-1] < 1:
        raise ValueError(f"scores must have at least one key along its last axis; got {s.shape}")
    if s.ndim == 1:
        s = s[None, :]
    batch_shape, n = s.shape[:-1], s.shape[-1]
    if mask is None:
        keep = np.ones(s.shape, dtype=bool)
    else:
        raw = to_numpy(mask)
        if raw.dtype != np.bool_:
            raise ValueError(f"mask must be boolean (True = attend); got dtype {raw.dtype}")
        try:
            keep = np.broadcast_to(raw, s.shape).copy()
        except ValueError:
            raise ValueError(f"mask of shape {raw.shape} does not broadcast to {s.shape}") from None
    if gammas is not None and np.ndim(gammas):
        reps = np.shape(gammas)[-1]
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise ValueError(f"reps must be an integer >= 1; got {reps!r}")
    reps = int(reps)
    tau = check_positive(temperature, "temperature")
    if not keep.any(axis=-1).all():
        raise ValueError("mask must keep at least one key in every row")
    sigma = kept_sigma(s.reshape(-1, n) / tau, keep.reshape(-1, n))
    flat = sigma.size
    g, b = qaoa_angles(sigma, reps, _flat_angles(gammas, "gammas", batch_shape, reps, flat),
                       _flat_angles(betas, "betas", batch_shape, reps, flat))
    return QaoaProblem(s.copy(), keep, np.asarray(g, float).reshape(*batch_shape, reps),
                       np.asarray(b, float).reshape(*batch_shape, reps), tau)


def _flat_angles(values: Any, name: str, batch_shape: tuple[int, ...], reps: int,
                 rows: int) -> np.ndarray | None:
    """Explicit angles broadcast to ``[rows, p]`` (``None`` stays ``None``)."""
    if values is None:
        return None
    arr = as_real_array(values, name, ndim=None)
    if arr.ndim == 0 or arr.shape[-1] != reps:
        raise ValueError(
            f"{name} must have length reps={reps} along its last axis; got {arr.shape}"
        )
    try:
        return np.broadcast_to(arr, (*batch_shape, reps)).reshape(rows, reps)
    except ValueError:
        raise ValueError(
            f"{name} of shape {arr.shape} does not broadcast to {(*batch_shape, reps)}"
        ) from None


def qaoa_problem_from_attention(
    Q: Any,
    K: Any,
    *,
    scale: float | None = None,
    mask: Any | None = None,
    temperature: float = 1.0,
    reps: int = 2,
    gammas: Any | None = None,
    betas: Any | None = None,
) -> QaoaProblem:
    """Problem for every query of every head: ``Q [(heads,) n_q, d]``, ``K [(heads,) n_k, d]``.

    Scores are ``Q K^T * scale`` (default ``scale = 1/sqrt(d)``), as in
    :func:`~qiskit_qattn.circuits.attention_scores`.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> p = qaoa_problem_from_attention(rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 6, 8)))
        >>> p.batch_shape, p.num_keys
        ((2, 4), 6)
    """
    q = as_real_array(Q, "Q", ndim=(2, 3))
    k = as_real_array(K, "K", ndim=(2, 3))
    if q.ndim != k.ndim or q.shape[:-2] != k.shape[:-2] or q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"Q and K must share heads and feature dimension; got {q.shape} and {k.shape}"
        )
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    elif not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a finite number > 0; got {scale!r}")
    scores = np.einsum("...qd,...kd->...qk", q, k) * float(scale)
    return qaoa_problem(
        scores, reps, gammas, betas, temperature=temperature, mask=mask
    )


def structured_bytes(problem: QaoaProblem, dtype: Any, rows: int = 1) -> int:
    """Bytes the structured kernel allocates for ``rows`` rows: state plus probabilities.

    Probabilities have the state's precision (float32 for complex64), so complex64 halves it.
    """
    size = 2**problem.num_qubits
    item = resolve_dtype(dtype).itemsize
    return rows * size * (item + item // 2)


def iter_structured_states(
    problem: QaoaProblem,
    dtype: Any = "complex128",
    chunk_rows: int | None = None,
    *,
    block_qubits: int | None = None,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(start, stop, states[stop-start, 2**m])`` chunk by chunk (bounded memory).

    ``block_qubits`` (default :data:`~qiskit_qattn.sim._kernels.BLOCK_QUBITS`) sets how many low
    qubits share one cache-resident pass; tests lower it to exercise the two-qubit passes.
    """
    from ._kernels import BLOCK_QUBITS, qaoa_rows

    block = BLOCK_QUBITS if block_qubits is None else int(block_qubits)
    dt = resolve_dtype(dtype)
    total = problem.num_rows
    chunk = total if chunk_rows is None else max(1, min(int(chunk_rows), total))
    size = 2**problem.num_qubits
    flat = problem.flat_rows()
    real = np.float32 if dt == np.complex64 else np.float64
    mix_c = np.cos(flat["betas"]).astype(real)
    mix_s = np.sin(flat["betas"]).astype(real)
    for start in range(0, total, chunk):
        stop = min(total, start + chunk)
        state = np.empty((stop - start, size), dtype=dt)
        qaoa_rows(
            state.view(real), flat["scores"][start:stop], flat["keep"][start:stop],
            flat["fill"][start:stop], 1.0 / problem.temperature, flat["gammas"][start:stop],
            mix_c[start:stop], mix_s[start:stop], block,
        )
        yield start, stop, state


def structured_statevectors(problem: QaoaProblem, dtype: Any = "complex128") -> np.ndarray:
    """All statevectors ``[*batch_shape, 2**m]`` of a problem (see :func:`simulate` for chunks).

    Example:
        >>> from qiskit.quantum_info import Statevector
        >>> from qiskit_qattn.circuits import qaoa_attention
        >>> s = [0.3, -1.0, 2.0, 0.5]
        >>> psi = structured_statevectors(qaoa_problem(s, gammas=[0.8], betas=[-0.4]))[0]
        >>> ref = Statevector(qaoa_attention(s, 1, [0.8], [-0.4])).data
        >>> bool(np.allclose(psi, ref, atol=1e-12))
        True
    """
    parts = [state for _, _, state in iter_structured_states(problem, dtype)]
    out = np.concatenate(parts, axis=0)
    return out.reshape(*problem.batch_shape, -1)


def qaoa_circuit(diagonal: Any, gammas: Any, betas: Any) -> QuantumCircuit:
    """The circuit of one structured row: ``H^m``, then ``[DiagonalGate(e^{i γ d}), RX(2β)^m]``.

    Same layout as ``qaoa_attention(..., phase_separator="diagonal")`` but without its key cap,
    for cross-checks and peer benchmarks (``diagonal`` is the full ``2**m`` phase diagonal).

    Example:
        >>> qaoa_circuit([0.0, 1.0], [0.5], [0.2]).count_ops()["diagonal"]
        1
    """
    from qiskit.circuit.library import DiagonalGate

    d = as_real_array(diagonal, "diagonal", ndim=1)
    m = d.shape[0].bit_length() - 1
    if m < 1 or d.shape[0] != 2**m:
        raise ValueError(f"diagonal must have length 2**m with m >= 1; got {d.shape[0]}")
    g = as_real_array(gammas, "gammas", ndim=1)
    b = as_real_array(betas, "betas", ndim=1)
    if g.shape != b.shape:
        raise ValueError(f"gammas and betas must have equal lengths; got {g.shape}, {b.shape}")
    qc = QuantumCircuit(m, name="qaoa_structured")
    qc.h(range(m))
    for gamma, beta in zip(g, b, strict=True):
        qc.append(DiagonalGate(list(np.exp(1j * gamma * d))), qc.qubits)
        qc.rx(2 * beta, range(m))
    return qc


def problem_circuits(problem: QaoaProblem) -> list[QuantumCircuit]:
    """One :func:`qaoa_circuit` per row of ``problem`` (row-major over its batch shape).

    Example:
        >>> len(problem_circuits(qaoa_problem(np.zeros((2, 3, 4)), reps=1)))
        6
    """
    diags = problem.phase_diagonals().reshape(problem.num_rows, -1)
    gam = problem.gammas.reshape(problem.num_rows, -1)
    bet = problem.betas.reshape(problem.num_rows, -1)
    return [qaoa_circuit(d, g, b) for d, g, b in zip(diags, gam, bet, strict=True)]
