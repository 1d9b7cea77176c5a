"""Mitigation wraps an executor: fold -> train -> DD -> readout calibration -> one execution.

:class:`MitigatedExecutor` takes any sampling executor of :mod:`qiskit_qattn.execution` (local
noisy sampling or Runtime) and a :class:`~.config.MitigationConfig`. For one batch of measured
ISA circuits it folds every circuit at every scale factor (after compilation, never
re-optimised), builds the training circuits of learning-based techniques (:mod:`.training`: the
same compiled circuits with near-Clifford angles) and folds them too, pads idle windows with DD
(client side; on Runtime the service does it), adds the readout-calibration circuits, and runs
**everything in one execution** of the wrapped executor (one job on Runtime, so the job store
resumes a mitigated run like any other). Shots follow a :class:`~.allocation.ShotPlan`: with a
budget, circuits that deserve more shots run as several copies and their counts are added. Every
histogram's readout is then mitigated; ``cdr``/``vncdr`` fit their model on the training circuits
and return mitigated distributions. ZNE's extrapolation happens on the estimates
(:func:`~.zne.combine_results`): the caller decides what is estimated from the distributions.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .allocation import ShotPlan
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
        probabilities: ``[s, rows, 2**k]`` distributions (``s = 1`` without noise scaling).
        covariances: ``[s, rows, 2**k, 2**k]`` their covariances (shot noise of the circuit and,
            with REM, of the calibration).
        raw_counts: ``[s, rows, 2**k]`` the histograms as measured (copies added).
        scale_factors: achieved noise scale factors ``[s, rows]`` (ones without scaling).
        calibrations: readout calibration per measured-qubit tuple (empty without REM).
        shots: shots of every executed circuit (``plan.unit_shots``).
        num_circuits: circuits executed (folds, copies, training and calibration included).
        client_side: techniques applied here, in order.
        server_side: techniques the wrapped executor's service applies (Runtime options).
        runtime_options: the options passed to the Runtime primitive (``{}`` locally).
        metadata: the wrapped executor's metadata (job ids, store key, cost preview, ...).
        mitigated: ``[rows, 2**k]`` final distributions of ``cdr``/``vncdr`` (else ``None``).
        mitigated_covariances: their covariances (model uncertainty included).
        model: the fitted :class:`~.cdr.CDRFit` or :class:`~.cdr.VariableNoiseFit`.
        plan: where the shots went.
        config: the configuration that ran (``"auto"`` resolved).
        decision: why ``"auto"`` chose it (``None`` otherwise).
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
    mitigated: np.ndarray | None = None
    mitigated_covariances: np.ndarray | None = None
    model: Any | None = None
    plan: ShotPlan | None = None
    config: MitigationConfig | None = None
    decision: str | None = None

    @property
    def total_shots(self) -> int:
        """Shots over the whole execution, calibration and training included."""
        return self.shots * self.num_circuits


def _batch_seed(batch: Any) -> int:
    """A seed derived from the batch's circuits (stable across processes)."""
    digest = hashlib.sha256()
    for qc in batch.circuits:
        for inst in qc.data:
            digest.update(inst.operation.name.encode())
            digest.update(repr([float(p) if isinstance(p, (int, float)) else str(p)
                                for p in inst.operation.params]).encode())
            digest.update(repr([qc.find_bit(q).index for q in inst.qubits]).encode())
    return int.from_bytes(digest.digest()[:4], "little")


def _replicate(batch: Any, copies: int) -> Any:
    """``batch`` with every row repeated ``copies`` times (copy-major)."""
    from ..execution import CircuitBatch

    if copies == 1:
        return batch
    common = {"measured": batch.measured, "device": batch.device, "label": batch.label}
    if batch.template is not None:
        return CircuitBatch(None, batch.num_bits, template=batch.template,
                            parameter_values=np.tile(batch.parameter_values, (copies, 1)),
                            **common)
    return CircuitBatch(tuple(batch.circuits) * copies, batch.num_bits, **common)


def _added(counts: np.ndarray, copies: int) -> np.ndarray:
    """Counts of ``copies`` copy-major replicas added per row."""
    return counts.reshape(copies, -1, counts.shape[-1]).sum(axis=0)


class MitigatedExecutor:
    """Run batches through ``executor`` with the mitigation ``config`` asks for.

    Args:
        executor: a sampling executor (``LocalSampler`` with a device, or ``RuntimeExecutor``
            with the Sampler primitive).
        config: the techniques and their settings (``"auto"`` is resolved per :meth:`run`).

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
        from .runtime_options import RUNTIME_TECHNIQUES, runtime_plan

        if executor.device is None:
            raise ValueError("mitigation needs a noisy compiled execution: an executor with a "
                             "device (execution='shots' with a device, or 'runtime')")
        if not isinstance(config, MitigationConfig):
            raise TypeError(f"config must be a MitigationConfig; got {type(config).__name__}")
        self.config = config
        self.plan = None
        if executor.server_side:
            if getattr(executor, "primitive", "sampler") != "sampler":
                raise ValueError("client-side mitigation runs on Sampler counts; with the "
                                 "estimator primitive Runtime applies it (runtime_plan)")
            techniques = [t for t in config.techniques if t in RUNTIME_TECHNIQUES]
            self.plan = runtime_plan(techniques, primitive="sampler",
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

        Folding, training circuits and DD need bound circuits, so a template batch is bound
        first for them.
        """
        from ..execution import CircuitBatch

        if not batch.measured:
            raise ValueError("mitigation needs measured ISA circuits (compile with measure=True)")
        config, decision = self.config, None
        if config.seed is None:
            # Deterministic per batch: the same work builds the same circuits, so a Runtime
            # job is found again in the store instead of being resubmitted.
            config = dataclasses.replace(config, seed=_batch_seed(batch))
        if config.is_auto:
            from .auto import resolve_auto

            config, decision = resolve_auto(config, batch.circuits, self.device, shots)
        server = () if self.plan is None else self.plan.server_side
        client: list[str] = []
        target = self.device.target
        client_dd = config.has("dd") and "dd" not in server
        if (client_dd or config.has("zne") or config.has("vncdr") or config.learning) and (
                batch.template is not None):
            # Folding, training and scheduling need bound circuits: give up the shared template.
            batch = CircuitBatch(tuple(batch.circuits), batch.num_bits, measured=True,
                                 device=batch.device, label=batch.label)
        rate = None
        if config.has("vncdr"):
            from .allocation import predicted_decay_rate

            rate = predicted_decay_rate(batch.circuits, self.device.target)
        factors_nominal = self._scale_factors(config, rate, shots)
        maps = [tuple(measured_qubits(qc)) for qc in (
            [batch.template] if batch.template is not None else batch.circuits)]
        if batch.template is not None:
            maps = maps * batch.num_rows
        k = batch.num_bits
        width = (batch.template if batch.template is not None else batch.circuits[0]).num_qubits
        cal_circuits: dict[tuple[int, ...], list] = {}
        if config.has("rem"):
            for qubits in dict.fromkeys(maps):
                cal_circuits[qubits] = readout_calibration_circuits(qubits, width,
                                                                    config.readout_method)
        num_cal = sum(len(c) for c in cal_circuits.values())
        plan = self._plan(config, batch.num_rows, shots, factors_nominal, num_cal, rate)

        scaled, factors = self._fold(batch, factors_nominal, config)
        client += [t for t in ("zne", "cdr", "vncdr") if config.has(t)]
        training, train_batches, train_factors = ([], None), [], None
        if config.learning:
            training, train_batches, train_factors = self._training(batch, factors_nominal,
                                                                    plan, config)
        if client_dd:
            from .dd import apply_dynamical_decoupling

            def pad(b):
                return b.map_circuits(lambda qc: apply_dynamical_decoupling(
                    qc, target, sequence=config.dd_sequence,
                    scheduling=config.dd_scheduling)[0])

            scaled = [pad(b) for b in scaled]
            train_batches = [pad(b) for b in train_batches]
            client.append("dd")
        cal_batches = {
            qubits: CircuitBatch(tuple(cals), k, measured=True, device=batch.device,
                                 label="readout")
            for qubits, cals in cal_circuits.items()
        }
        if cal_batches:
            client.append("rem")

        runs = ([_replicate(b, r) for b, r in zip(scaled, plan.target, strict=True)]
                + train_batches
                + [_replicate(b, plan.calibration) for b in cal_batches.values()])
        outcomes = self.executor.run(runs, plan.unit_shots)
        raw = np.stack([_added(o.counts, r) for o, r in
                        zip(outcomes[: len(scaled)], plan.target, strict=True)])
        at = len(scaled)
        train_counts = [o.counts for o in outcomes[at: at + len(train_batches)]]
        at += len(train_batches)
        calibrations = {
            qubits: ReadoutCalibration.from_counts(_added(o.counts, plan.calibration), k,
                                                   config.readout_method)
            for qubits, o in zip(cal_batches, outcomes[at:], strict=True)
        }
        probs = np.empty(raw.shape, dtype=float)
        covs = np.empty(raw.shape + (2**k,), dtype=float)
        for row, qubits in enumerate(maps):
            probs[:, row], covs[:, row] = self._readout(raw[:, row], calibrations.get(qubits),
                                                        config)
        result = MitigatedOutcomes(
            probabilities=probs, covariances=covs, raw_counts=raw, scale_factors=factors,
            calibrations=calibrations, shots=int(plan.unit_shots),
            num_circuits=int(sum(b.num_rows for b in runs)),
            client_side=tuple(client), server_side=tuple(server),
            runtime_options={} if self.plan is None else self.plan.options,
            metadata=dict(outcomes[0].metadata), plan=plan, config=config, decision=decision,
        )
        if config.learning:
            train_maps = [tuple(measured_qubits(qc)) for qc in training[0]]
            levels, level_covs = [], []
            for counts in train_counts:
                p = np.empty(counts.shape, dtype=float)
                c = np.empty(counts.shape + (2**k,), dtype=float)
                for i in range(len(counts)):
                    p[i], c[i] = (x[0] for x in self._readout(
                        counts[i:i + 1], calibrations.get(train_maps[i]), config))
                levels.append(p)
                level_covs.append(c)
            self._learn(result, config, levels, level_covs, training, train_factors)
        return result

    # -- pieces ------------------------------------------------------------------------------

    @staticmethod
    def _readout(counts: np.ndarray, calibration: ReadoutCalibration | None,
                 config: MitigationConfig) -> tuple[np.ndarray, np.ndarray]:
        if calibration is None:
            return multinomial_covariance(counts)
        return calibration.mitigate(counts, solver=config.readout_solver)

    @staticmethod
    def _scale_factors(config: MitigationConfig, rate: float | None, shots: int
                       ) -> tuple[float, ...]:
        """Nominal noise scale factors of the run (``(1.0,)`` without scaling)."""
        if config.has("zne"):
            return config.scale_factors
        if config.has("vncdr"):
            if config.scale_factors is not None:
                return config.scale_factors
            from .allocation import second_scale_factor

            return (1.0, float(second_scale_factor(rate, shots)))
        return (1.0,)

    def _plan(self, config: MitigationConfig, rows: int, shots: int,
              factors: tuple[float, ...], num_cal: int, rate: float | None) -> ShotPlan:
        from .allocation import plan_shots

        budget = config.budget
        weights = np.ones(len(factors))
        if config.has("zne") and config.shot_allocation == "optimal":
            weights = self._zne_weights(config, factors)
            if budget is None:
                budget = float(len(factors))
        elif config.has("vncdr"):
            weights = self._predicted_coefficients(factors, rate)
        if config.learning and budget is None:
            from .config import DEFAULT_BUDGET

            budget = DEFAULT_BUDGET
        return plan_shots(rows, int(shots), budget=budget, weights=weights,
                          calibration_circuits=num_cal, training=config.learning,
                          training_fraction=config.training_fraction,
                          calibration_fraction=config.calibration_fraction,
                          num_training=config.training_circuits,
                          granularity=config.shot_granularity)

    @staticmethod
    def _zne_weights(config: MitigationConfig, factors: tuple[float, ...]) -> np.ndarray:
        """Extrapolation weights at the nominal factors (Richardson for non-linear fits)."""
        from .extrapolation import _linear_weights

        x = np.asarray(factors, dtype=float)
        if config.extrapolation == "auto":
            return np.mean([np.abs(_linear_weights(m, x, None)) for m in
                            ("linear", "richardson")], axis=0)
        method = config.extrapolation if config.extrapolation in (
            "linear", "richardson", "poly") else "richardson"
        return _linear_weights(method, x, config.order)

    @staticmethod
    def _predicted_coefficients(factors: tuple[float, ...], rate: float | None) -> np.ndarray:
        """Coefficients of vnCDR for slopes ``exp(-rate * lambda)`` (the device's errors)."""
        from .cdr import vncdr_coefficients

        x = np.asarray(factors, dtype=float)
        return vncdr_coefficients(np.exp(-(rate or 0.0) * x), x, len(x))

    def _fold(self, batch: Any, factors: tuple[float, ...], config: MitigationConfig
              ) -> tuple[list, np.ndarray]:
        """One batch per scale factor and the achieved factors ``[s, rows]``."""
        if factors == (1.0,):
            return [batch], np.ones((1, batch.num_rows))
        from ..execution import CircuitBatch
        from .folding import fold_circuits

        common = {"measured": True, "device": batch.device, "label": batch.label}
        folded, achieved = fold_circuits(batch.circuits, factors, method=config.fold_method,
                                         target=self.device.target, gates=config.fold_gates,
                                         seed=config.seed)
        n = batch.num_rows
        scaled = [CircuitBatch(tuple(folded[s * n:(s + 1) * n]), batch.num_bits, **common)
                  for s in range(len(factors))]
        return scaled, achieved

    def _training(self, batch: Any, factors: tuple[float, ...], plan: ShotPlan,
                  config: MitigationConfig) -> tuple[tuple, list, np.ndarray]:
        """``(training circuits, ideal)``, their batches per scale factor, achieved factors."""
        from ..execution import CircuitBatch
        from .folding import fold_circuit
        from .training import training_set

        count = max(plan.training)
        training, ideal = training_set(batch.circuits, count, non_clifford=config.non_clifford,
                                       seed=config.seed)
        batches, achieved = [], []
        for lam, used in zip(factors, plan.training, strict=True):
            circuits = training[:used]
            if lam != 1.0:
                circuits = [fold_circuit(qc, lam, method=config.fold_method,
                                         target=self.device.target, gates=config.fold_gates,
                                         seed=config.seed) for qc in circuits]
            achieved.append(float(np.mean([(qc.metadata or {}).get("scale_factor", 1.0)
                                           for qc in circuits])))
            batches.append(CircuitBatch(tuple(circuits), batch.num_bits, measured=True,
                                        device=batch.device, label="training"))
        return (training, ideal), batches, np.asarray(achieved)

    @staticmethod
    def _learn(result: MitigatedOutcomes, config: MitigationConfig, levels: list,
               level_covs: list, training: tuple, factors: np.ndarray) -> None:
        """Fit the CDR model on the training circuits and apply it to the queries."""
        from .cdr import fit_cdr, fit_vncdr

        ideal = training[1]
        if config.has("cdr"):
            model = fit_cdr(levels[0], ideal[: len(levels[0])], level_covs[0])
            mitigated, cov = model.apply(result.probabilities[0], result.covariances[0])
        else:
            weights = np.asarray(result.plan.target, dtype=float)
            model = fit_vncdr(levels, ideal, factors, level_covs, weights=weights)
            mitigated, cov = model.apply(result.probabilities, result.covariances)
        result.mitigated, result.mitigated_covariances, result.model = mitigated, cov, model
