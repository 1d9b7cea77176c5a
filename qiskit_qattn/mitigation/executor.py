"""Mitigation wraps an executor: fold -> DD -> readout calibration -> one execution.

:class:`MitigatedExecutor` takes any sampling executor of :mod:`qiskit_qattn.execution` (local
noisy sampling or Runtime) and a :class:`~.config.MitigationConfig`. For one batch of measured
ISA circuits it folds every circuit at every ZNE scale factor (after compilation, never
re-optimised), pads idle windows with DD (client side; on Runtime the service does it), adds the
readout-calibration circuits, runs **everything in one execution** of the wrapped executor (one
job on Runtime, so the job store resumes a mitigated run like any other), and mitigates every
histogram's readout. Extrapolation to zero noise then happens on the estimates
(:func:`~.zne.combine_results`): the caller decides what is estimated from the distributions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import MitigationConfig
from .readout import (
    ReadoutCalibration,
    measured_qubits,
    multinomial_covariance,
    readout_calibration_circuits,
)


@dataclass
class MitigatedOutcomes:
    """Per-scale outcome distributions of a batch, readout-mitigated when requested.

    Attributes:
        probabilities: ``[s, rows, 2**k]`` distributions (``s = 1`` without ZNE).
        covariances: ``[s, rows, 2**k, 2**k]`` their covariances (shot noise of the circuit and,
            with REM, of the calibration).
        raw_counts: ``[s, rows, 2**k]`` the histograms as measured.
        scale_factors: achieved noise scale factors ``[s, rows]`` (ones without ZNE).
        calibrations: readout calibration per measured-qubit tuple (empty without REM).
        shots: shots per circuit.
        num_circuits: circuits executed (folds and calibration included).
        client_side: techniques applied here, in order.
        server_side: techniques the wrapped executor's service applies (Runtime options).
        runtime_options: the options passed to the Runtime primitive (``{}`` locally).
        metadata: the wrapped executor's metadata (job ids, store key, cost preview, ...).
    """

    probabilities: np.ndarray
    covariances: np.ndarray
    raw_counts: np.ndarray
    scale_factors: np.ndarray
    calibrations: dict[tuple[int, ...], ReadoutCalibration] = field(default_factory=dict)
    shots: int = 0
    num_circuits: int = 0
    client_side: tuple[str, ...] = ()
    server_side: tuple[str, ...] = ()
    runtime_options: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    @property
    def total_shots(self) -> int:
        """Shots over the whole execution, calibration included."""
        return self.shots * self.num_circuits


class MitigatedExecutor:
    """Run batches through ``executor`` with the mitigation ``config`` asks for.

    Args:
        executor: a sampling executor (``LocalSampler`` with a device, or ``RuntimeExecutor``
            with the Sampler primitive).
        config: the techniques and their settings.

    Raises:
        ValueError: the executor cannot run the techniques (no device; twirling outside
            Runtime; an estimator primitive, whose mitigation Runtime applies itself).

    Example:
        >>> from qiskit import QuantumCircuit, ClassicalRegister
        >>> from qiskit_qattn.execution import CircuitBatch, LocalSampler
        >>> ex = LocalSampler("fake_manila", seed=1)
        >>> qc = QuantumCircuit(5); _ = qc.x(0); qc.add_register(ClassicalRegister(1, "meas"))
        >>> _ = qc.measure(0, 0)
        >>> cfg = MitigationConfig.parse("zne+rem", {"scale_factors": (1, 3)})
        >>> out = MitigatedExecutor(ex, cfg).run(
        ...     CircuitBatch([qc], 1, measured=True, device="fake_manila"), shots=1000)
        >>> out.probabilities.shape, out.num_circuits, ex.executions
        ((2, 1, 2), 4, 1)
    """

    def __init__(self, executor: Any, config: MitigationConfig):
        from .runtime_options import runtime_plan

        if executor.device is None:
            raise ValueError("mitigation needs a noisy compiled execution: an executor with a "
                             "device (execution='shots' with a device, or 'runtime')")
        self.config = config
        self.plan = None
        if executor.server_side:
            if getattr(executor, "primitive", "sampler") != "sampler":
                raise ValueError("client-side mitigation runs on Sampler counts; with the "
                                 "estimator primitive Runtime applies it (runtime_plan)")
            self.plan = runtime_plan(config.techniques, primitive="sampler",
                                     dd_sequence=config.dd_sequence,
                                     user_options=getattr(executor, "options", None))
            executor = executor.with_options(self.plan.options)
        elif config.has("twirling"):
            raise ValueError("twirling is applied by Runtime; use execution='runtime' for it")
        self.executor = executor

    @property
    def device(self):
        return self.executor.device

    def run(self, batch: Any, shots: int) -> MitigatedOutcomes:
        """Mitigated per-scale distributions of ``batch`` (measured ISA circuits), one execution.

        Folding and DD need bound circuits, so a template batch is bound first for them.
        """
        from ..execution import CircuitBatch

        config = self.config
        if not batch.measured:
            raise ValueError("mitigation needs measured ISA circuits (compile with measure=True)")
        server = () if self.plan is None else self.plan.server_side
        client: list[str] = []
        target = self.device.target
        client_dd = config.has("dd") and "dd" not in server
        if (client_dd or config.has("zne")) and batch.template is not None:
            # Folding and scheduling need bound circuits: give up the shared template.
            batch = CircuitBatch(tuple(batch.circuits), batch.num_bits, measured=True,
                                 device=batch.device, label=batch.label)
        scaled, factors = self._fold(batch)
        if config.has("zne"):
            client.append("zne")
        if client_dd:
            from .dd import apply_dynamical_decoupling

            scaled = [b.map_circuits(lambda qc: apply_dynamical_decoupling(
                qc, target, sequence=config.dd_sequence, scheduling=config.dd_scheduling)[0])
                for b in scaled]
            client.append("dd")
        maps = [tuple(measured_qubits(qc)) for qc in (
            [batch.template] if batch.template is not None else batch.circuits)]
        if batch.template is not None:
            maps = maps * batch.num_rows
        k = batch.num_bits
        cal_batches: dict[tuple[int, ...], Any] = {}
        if config.has("rem"):
            width = batch.circuits[0].num_qubits if batch.template is None else (
                batch.template.num_qubits)
            for qubits in dict.fromkeys(maps):
                cals = readout_calibration_circuits(qubits, width, config.readout_method)
                cal_batches[qubits] = CircuitBatch(tuple(cals), k, measured=True,
                                                   device=batch.device, label="readout")
            client.append("rem")

        outcomes = self.executor.run([*scaled, *cal_batches.values()], shots)
        raw = np.stack([o.counts for o in outcomes[: len(scaled)]])
        calibrations = {
            qubits: ReadoutCalibration.from_counts(o.counts, k, config.readout_method)
            for qubits, o in zip(cal_batches, outcomes[len(scaled):], strict=True)
        }
        probs = np.empty(raw.shape, dtype=float)
        covs = np.empty(raw.shape + (2**k,), dtype=float)
        for row, qubits in enumerate(maps):
            if calibrations:
                p, cov = calibrations[qubits].mitigate(raw[:, row],
                                                       solver=config.readout_solver)
            else:
                p, cov = multinomial_covariance(raw[:, row])
            probs[:, row], covs[:, row] = p, cov
        circuits = sum(b.num_rows for b in scaled) + sum(b.num_rows for b in cal_batches.values())
        return MitigatedOutcomes(
            probabilities=probs, covariances=covs, raw_counts=raw, scale_factors=factors,
            calibrations=calibrations, shots=int(shots), num_circuits=int(circuits),
            client_side=tuple(client), server_side=tuple(server),
            runtime_options={} if self.plan is None else self.plan.options,
            metadata=dict(outcomes[0].metadata),
        )

    def _fold(self, batch: Any) -> tuple[list, np.ndarray]:
        """One batch per scale factor and the achieved factors ``[s, rows]``."""
        config = self.config
        if not config.has("zne"):
            return [batch], np.ones((1, batch.num_rows))
        from ..execution import CircuitBatch
        from .folding import fold_circuits

        target = self.device.target
        common = {"measured": True, "device": batch.device, "label": batch.label}
        folded, achieved = fold_circuits(batch.circuits, config.scale_factors,
                                         method=config.fold_method, target=target,
                                         gates=config.fold_gates, seed=config.seed)
        n = batch.num_rows
        scaled = [CircuitBatch(tuple(folded[s * n:(s + 1) * n]), batch.num_bits, **common)
                  for s in range(len(config.scale_factors))]
        return scaled, achieved
