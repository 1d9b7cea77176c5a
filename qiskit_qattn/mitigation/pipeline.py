"""Mitigated sampling of a batch of measured ISA circuits in one execution.

Order of operations, each at most once: fold (ZNE) -> pad idle windows (DD, client side) -> add
readout-calibration circuits (REM) -> **one** call of the count executor for everything ->
readout-mitigate every histogram -> hand back per-scale distributions with covariances, ready for
an estimator and :func:`~qiskit_qattn.mitigation.zne.combine_results`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from qiskit import QuantumCircuit
from qiskit.transpiler import Target

from .config import MitigationConfig
from .readout import (
    ReadoutCalibration,
    measured_qubits,
    multinomial_covariance,
    readout_calibration_circuits,
)


@dataclass
class MitigatedCounts:
    """Per-scale outcome distributions of a batch, after readout mitigation if requested.

    Attributes:
        probs: ``[s, n, 2**k]`` distributions (``s = 1`` without ZNE).
        covs: ``[s, n, 2**k, 2**k]`` their covariances.
        raw_counts: ``[s, n, 2**k]`` the histograms as measured.
        scale_factors: achieved noise scale factors ``[s, n]`` (ones without ZNE).
        calibrations: readout calibration per measured-qubit tuple (empty without REM).
        circuits: every circuit that ran, in execution order (folded batch, then calibration).
        shots_per_circuit: shots each circuit got.
        applied: techniques applied client side, in order.
    """

    probs: np.ndarray
    covs: np.ndarray
    raw_counts: np.ndarray
    scale_factors: np.ndarray
    calibrations: dict[tuple[int, ...], ReadoutCalibration] = field(default_factory=dict)
    circuits: list[QuantumCircuit] = field(default_factory=list)
    shots_per_circuit: int = 0
    applied: tuple[str, ...] = ()

    @property
    def total_shots(self) -> int:
        """Shots over the whole execution, calibration included."""
        return self.shots_per_circuit * len(self.circuits)


def sample_mitigated(
    circuits: Sequence[QuantumCircuit],
    count_executor: Callable[[list[QuantumCircuit]], np.ndarray],
    config: MitigationConfig | None,
    *,
    shots: int,
    target: Target | None = None,
    client_dd: bool = True,
) -> MitigatedCounts:
    """Run ``circuits`` (measured, ISA) with ZNE folding, DD and REM as ``config`` asks.

    Args:
        circuits: measured ISA circuits, every classical bit measured once at the end.
        count_executor: runs a list of circuits at ``shots`` shots each, once, and returns counts
            ``[len(list), 2**k]`` (``k`` classical bits, little-endian integers).
        config: the mitigation to apply (``None``: plain sampling).
        shots: shots per circuit (recorded; the executor applies them).
        target: device target (ISA inverses for folding, durations for DD).
        client_dd: pad DD here; ``False`` when Runtime applies it (never twice).

    Example:
        >>> from qiskit_qattn.sim.aer_sampling import sample_compiled
        >>> qc = QuantumCircuit(1, 1); _ = qc.x(0); _ = qc.measure(0, 0)
        >>> run = lambda batch: sample_compiled(batch, shots=100, num_outcomes=2, noise_model=None)
        >>> cfg = MitigationConfig.parse("zne+rem", {"scale_factors": (1, 3)})
        >>> res = sample_mitigated([qc], run, cfg, shots=100)
        >>> res.probs.shape, res.scale_factors.ravel().tolist(), res.total_shots
        ((2, 1, 2), [1.0, 3.0], 400)
    """
    circuits = list(circuits)
    if not circuits:
        raise ValueError("circuits must not be empty")
    techniques = () if config is None else config.techniques
    applied: list[str] = []
    maps = [tuple(measured_qubits(qc)) for qc in circuits]
    widths = {len(m) for m in maps}
    if len(widths) != 1:
        raise ValueError(f"circuits must measure the same number of bits; got {sorted(widths)}")
    k = widths.pop()

    if "zne" in techniques:
        from .folding import fold_circuits

        batch, achieved = fold_circuits(
            circuits, config.scale_factors, method=config.fold_method, target=target,
            gates=config.fold_gates, seed=config.seed,
        )
        applied.append("zne")
    else:
        batch, achieved = list(circuits), np.ones((1, len(circuits)))
    if "dd" in techniques and client_dd:
        if target is None:
            raise ValueError("dynamical decoupling needs the device target (compile first)")
        from .dd import apply_dynamical_decoupling

        batch = apply_dynamical_decoupling(batch, target, sequence=config.dd_sequence,
                                           scheduling=config.dd_scheduling)
        applied.append("dd")
    cal_index: dict[tuple[int, ...], slice] = {}
    if "rem" in techniques:
        width = circuits[0].num_qubits
        for qubits in dict.fromkeys(maps):
            cals = readout_calibration_circuits(qubits, width, config.readout_method)
            cal_index[qubits] = slice(len(batch), len(batch) + len(cals))
            batch = batch + cals
        applied.append("rem")

    counts = np.asarray(count_executor(batch))
    if counts.shape != (len(batch), 2**k):
        raise ValueError(
            f"count_executor must return counts shaped {(len(batch), 2**k)}; got {counts.shape}"
        )
    num_scales = achieved.shape[0]
    raw = counts[: num_scales * len(circuits)].reshape(num_scales, len(circuits), 2**k)
    calibrations = {
        qubits: ReadoutCalibration.from_counts(counts[sl], k, config.readout_method)
        for qubits, sl in cal_index.items()
    }
    probs = np.empty(raw.shape, dtype=float)
    covs = np.empty(raw.shape + (2**k,), dtype=float)
    for c, qubits in enumerate(maps):
        if calibrations:
            p, cov = calibrations[qubits].mitigate(raw[:, c], solver=config.readout_solver)
        else:
            p, cov = multinomial_covariance(raw[:, c])
        probs[:, c], covs[:, c] = p, cov
    return MitigatedCounts(probs, covs, raw, achieved, calibrations, batch, int(shots),
                           tuple(applied))
