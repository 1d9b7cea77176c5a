"""Readout-error mitigation on the measured physical qubits.

Calibration circuits prepare basis states on exactly the physical qubits an ISA circuit measures
(same classical bit order) and estimate the confusion matrix ``A[measured, prepared]``:

- ``"tensored"``: two circuits (all ``0``, all ``1``); ``A = A_{k-1} (x) ... (x) A_0`` from the
  per-qubit flip rates, assuming uncorrelated readout errors;
- ``"full"``: ``2**k`` circuits, one per basis state; captures correlated readout errors.

Measured frequencies ``q`` are mitigated by least squares with non-negativity,
``p = argmin_{p >= 0} ||A p - q||`` renormalised to sum one (``solver="nnls"``), or by
``A^{-1} q`` (``solver="inverse"``, may go negative). The covariance of ``p`` is propagated to
first order, ``A^{-1} Cov(q) A^{-T}``, with the multinomial ``Cov(q)``; calibration shot noise is
not included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

READOUT_METHODS = ("tensored", "full")
READOUT_SOLVERS = ("nnls", "inverse")
#: The full method needs 2**k calibration circuits; refuse beyond this many measured qubits.
MAX_FULL_QUBITS = 10


def measured_qubits(circuit: QuantumCircuit) -> list[int]:
    """Physical qubit measured into each classical bit: ``result[i]`` feeds bit ``i``.

    Example:
        >>> qc = QuantumCircuit(5, 2); _ = qc.measure([4, 2], [0, 1])
        >>> measured_qubits(qc)
        [4, 2]
    """
    if not isinstance(circuit, QuantumCircuit):
        raise TypeError(f"circuit must be a QuantumCircuit; got {type(circuit).__name__}")
    mapping: dict[int, int] = {}
    for inst in circuit.data:
        if inst.operation.name == "measure":
            clbit = circuit.find_bit(inst.clbits[0]).index
            mapping[clbit] = circuit.find_bit(inst.qubits[0]).index
    if sorted(mapping) != list(range(circuit.num_clbits)) or not mapping:
        raise ValueError(
            "circuit must measure every classical bit exactly once (final measurements); "
            f"measured bits {sorted(mapping)} of {circuit.num_clbits}"
        )
    return [mapping[i] for i in range(circuit.num_clbits)]


def calibration_states(num_measured: int, method: str = "tensored") -> list[int]:
    """Prepared basis states (integers, bit ``i`` = classical bit ``i``) of the calibration.

    Example:
        >>> calibration_states(3), calibration_states(2, "full")
        ([0, 7], [0, 1, 2, 3])
    """
    if method not in READOUT_METHODS:
        raise ValueError(f"readout method must be one of {READOUT_METHODS}; got {method!r}")
    if num_measured < 1:
        raise ValueError(f"num_measured must be >= 1; got {num_measured}")
    if method == "full":
        if num_measured > MAX_FULL_QUBITS:
            raise ValueError(
                f"full readout calibration of {num_measured} qubits needs 2**{num_measured} "
                f"circuits; use method='tensored' (limit {MAX_FULL_QUBITS})"
            )
        return list(range(2**num_measured))
    return [0, 2**num_measured - 1]


def readout_calibration_circuits(
    qubits: Sequence[int], num_qubits: int, method: str = "tensored"
) -> list[QuantumCircuit]:
    """ISA calibration circuits on ``qubits`` of a ``num_qubits``-wide device (``x`` + measure).

    Qubit ``qubits[i]`` is measured into classical bit ``i`` of a register named ``meas``, as
    ``measure_all`` does for the attention circuits.

    Example:
        >>> cals = readout_calibration_circuits([3, 1], 5)
        >>> [c.metadata["prepared"] for c in cals], cals[1].count_ops()["x"]
        ([0, 3], 2)
    """
    qubits = [int(q) for q in qubits]
    if len(set(qubits)) != len(qubits) or any(q < 0 or q >= num_qubits for q in qubits):
        raise ValueError(f"qubits must be distinct indices in [0, {num_qubits}); got {qubits}")
    circuits = []
    for state in calibration_states(len(qubits), method):
        qc = QuantumCircuit(QuantumRegister(num_qubits, "q"),
                            ClassicalRegister(len(qubits), "meas"), name=f"readout_cal_{state}")
        for i, q in enumerate(qubits):
            if state >> i & 1:
                qc.x(q)
        qc.barrier()
        qc.measure(qubits, range(len(qubits)))
        qc.metadata = {"prepared": state, "readout_method": method}
        circuits.append(qc)
    return circuits


def _stochastic(counts: np.ndarray, name: str) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    totals = counts.sum(axis=-1, keepdims=True)
    if np.any(totals <= 0) or np.any(counts < 0):
        raise ValueError(f"{name} must be non-negative counts with at least one shot per row")
    return counts / totals


def multinomial_covariance(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and their multinomial covariances ``(diag(q) - q q^T) / N`` per row.

    Example:
        >>> q, cov = multinomial_covariance(np.array([[3, 1]]))
        >>> q.tolist(), cov[0].round(4).tolist()
        ([[0.75, 0.25]], [[0.0469, -0.0469], [-0.0469, 0.0469]])
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    freq = _stochastic(counts, "counts")
    shots = counts.sum(axis=1)
    dim = freq.shape[1]
    cov = (np.einsum("ni,ij->nij", freq, np.eye(dim))
           - np.einsum("ni,nj->nij", freq, freq)) / shots[:, None, None]
    return freq, cov


@dataclass(frozen=True)
class ReadoutCalibration:
    """A measured confusion matrix for ``k`` measured qubits.

    Attributes:
        method: ``"tensored"`` or ``"full"``.
        num_measured: ``k``.
        qubit_matrices: per-qubit ``2x2`` matrices ``A_i[measured, prepared]`` (tensored only).
        matrix: the full ``2**k x 2**k`` column-stochastic matrix ``A[measured, prepared]``.
    """

    method: str
    num_measured: int
    matrix: np.ndarray
    qubit_matrices: tuple[np.ndarray, ...] = ()

    @classmethod
    def from_counts(cls, counts: np.ndarray, num_measured: int,
                    method: str = "tensored") -> ReadoutCalibration:
        """Build from the calibration circuits' counts ``[num_states, 2**k]`` (in order).

        Example:
            >>> cal = ReadoutCalibration.from_counts(np.array([[90, 10], [20, 80]]), 1)
            >>> cal.matrix.tolist()
            [[0.9, 0.2], [0.1, 0.8]]
        """
        states = calibration_states(num_measured, method)
        freq = _stochastic(counts, "calibration counts")
        if freq.shape != (len(states), 2**num_measured):
            raise ValueError(
                f"calibration counts must be shaped {(len(states), 2**num_measured)}; "
                f"got {freq.shape}"
            )
        if method == "full":
            return cls(method, num_measured, freq.T.copy())
        outcomes = np.arange(2**num_measured)
        mats = []
        for i in range(num_measured):
            bit = (outcomes >> i) & 1
            e0 = float(freq[0, bit == 1].sum())  # P(read 1 | prepared 0)
            e1 = float(freq[1, bit == 0].sum())  # P(read 0 | prepared 1)
            mats.append(np.array([[1 - e0, e1], [e0, 1 - e1]]))
        return cls.from_qubit_matrices(mats)

    @classmethod
    def from_qubit_matrices(cls, matrices: Sequence[np.ndarray]) -> ReadoutCalibration:
        """Tensored calibration from per-qubit ``2x2`` matrices ``A_i[measured, prepared]``.

        Example:
            >>> cal = ReadoutCalibration.from_qubit_matrices([np.eye(2), [[0.9, 0.1], [0.1, 0.9]]])
            >>> cal.matrix.shape
            (4, 4)
        """
        mats = tuple(np.asarray(m, dtype=float) for m in matrices)
        if not mats or any(m.shape != (2, 2) for m in mats):
            raise ValueError("matrices must be a non-empty sequence of 2x2 arrays")
        if any(not np.allclose(m.sum(axis=0), 1) or np.any(m < 0) for m in mats):
            raise ValueError("each 2x2 matrix must be column-stochastic: A[measured, prepared]")
        full = np.ones((1, 1))
        for m in mats:  # little-endian: qubit 0 is the least significant bit
            full = np.kron(m, full)
        return cls("tensored", len(mats), full, mats)

    def assignment_fidelity(self) -> float:
        """Mean probability of reading the prepared state, ``trace(A) / 2**k``."""
        return float(np.trace(self.matrix) / self.matrix.shape[0])

    def mitigate(self, counts: np.ndarray, *, solver: str = "nnls"
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Mitigated distributions and their covariances from raw counts.

        Args:
            counts: ``[n, 2**k]`` raw counts (rows: circuits).
            solver: ``"nnls"`` (non-negative least squares, renormalised) or ``"inverse"``.

        Returns:
            ``(probabilities [n, 2**k], covariances [n, 2**k, 2**k])``.

        Example:
            >>> cal = ReadoutCalibration.from_qubit_matrices([[[0.9, 0.2], [0.1, 0.8]]])
            >>> p, _ = cal.mitigate(np.array([[830, 170]]))
            >>> p.round(3).tolist()
            [[0.9, 0.1]]
        """
        if solver not in READOUT_SOLVERS:
            raise ValueError(f"solver must be one of {READOUT_SOLVERS}; got {solver!r}")
        counts = np.atleast_2d(np.asarray(counts, dtype=float))
        dim = 2**self.num_measured
        if counts.shape[1] != dim:
            raise ValueError(f"counts must have {dim} columns; got shape {counts.shape}")
        freq, cov_q = multinomial_covariance(counts)
        inverse = np.linalg.pinv(self.matrix)
        if solver == "inverse":
            probs = freq @ inverse.T
        else:
            from scipy.optimize import nnls

            probs = np.empty_like(freq)
            for i, q in enumerate(freq):
                p, _ = nnls(self.matrix, q)
                total = p.sum()
                probs[i] = p / total if total > 0 else np.full(dim, 1.0 / dim)
        covs = np.einsum("ij,njk,lk->nil", inverse, cov_q, inverse)
        return probs, covs


@dataclass
class REMResult:
    """Readout-mitigated distributions of a batch, with the raw data behind them.

    Attributes:
        probabilities: ``[n, 2**k]`` mitigated distributions.
        covariances: ``[n, 2**k, 2**k]`` their first-order covariances.
        raw_counts: ``[n, 2**k]`` the measured histograms.
        calibration: the measured confusion matrix.
        circuits: every circuit that ran (the batch, then the calibration circuits).
    """

    probabilities: np.ndarray
    covariances: np.ndarray
    raw_counts: np.ndarray
    calibration: ReadoutCalibration
    circuits: list[QuantumCircuit]


def execute_with_rem(
    circuits: Sequence[QuantumCircuit],
    count_executor,
    *,
    method: str = "tensored",
    solver: str = "nnls",
) -> REMResult:
    """Run measured ISA circuits and their readout calibration in one call, then mitigate.

    Args:
        circuits: measured circuits that all measure the same physical qubits into the same bits.
        count_executor: called once with the batch plus calibration circuits; returns counts
            ``[len(batch), 2**k]``.
        method: ``"tensored"`` or ``"full"`` calibration.
        solver: ``"nnls"`` or ``"inverse"``.

    Example:
        >>> from qiskit_qattn.noise import depolarizing_noise, noisy_distributions
        >>> from qiskit_qattn.sim import sample_counts
        >>> qc = QuantumCircuit(1, 1); _ = qc.x(0); _ = qc.measure(0, 0)
        >>> noisy = depolarizing_noise(0, 0, readout=0.1)
        >>> run = lambda batch: sample_counts(
        ...     noisy_distributions(batch, noise_model=noisy), 20000, seed=1)
        >>> res = execute_with_rem([qc], run)
        >>> bool(res.probabilities[0, 1] > 0.99), bool(res.raw_counts[0, 1] < 18500)
        (True, True)
    """
    circuits = list(circuits)
    if not circuits:
        raise ValueError("circuits must not be empty")
    maps = {tuple(measured_qubits(qc)) for qc in circuits}
    if len(maps) != 1:
        raise ValueError(
            f"circuits must measure the same physical qubits into the same bits; got {maps}"
        )
    qubits = maps.pop()
    cals = readout_calibration_circuits(qubits, circuits[0].num_qubits, method)
    batch = circuits + cals
    counts = np.asarray(count_executor(batch))
    k = len(qubits)
    if counts.shape != (len(batch), 2**k):
        raise ValueError(
            f"count_executor must return counts shaped {(len(batch), 2**k)}; got {counts.shape}"
        )
    calibration = ReadoutCalibration.from_counts(counts[len(circuits):], k, method)
    probs, covs = calibration.mitigate(counts[: len(circuits)], solver=solver)
    return REMResult(probs, covs, counts[: len(circuits)], calibration, batch)
