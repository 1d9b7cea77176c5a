"""Batched parameter-shift gradients that qiskit-machine-learning accepts as ``gradient=``.

:class:`BatchedParamShiftEstimatorGradient` and :class:`BatchedParamShiftSamplerGradient`
subclass qiskit-machine-learning's ``BaseEstimatorGradient`` / ``BaseSamplerGradient``, so
``EstimatorQNN(..., gradient=BatchedParamShiftEstimatorGradient(estimator))`` and the
classifiers, ``TorchConnector`` and the optimizers use them unchanged. They compute the same
parameter-shift gradient as ``ParamShiftEstimatorGradient`` / ``ParamShiftSamplerGradient``,
but submit **one primitive job with one broadcast PUB per distinct circuit**:

- every parameterized rotation becomes a free *slot* angle (:mod:`.shift_plan`); the slot values
  of every row, shifted by ``±π/2`` one slot at a time, form one ``[2S, ..., rows, slots]``
  parameter array, evaluated with numpy from the rotation expressions;
- rows the QNN repeats once per observable (``EstimatorQNN`` tiles its batch over its outputs)
  are bound once and paired with all their observables on a separate broadcast axis, so a
  primitive that evaluates many observables per binding (Aer, Runtime) simulates each shifted
  circuit once;
- nothing is transpiled here: pass ISA circuits and laid-out observables (the factories of
  :mod:`qiskit_qattn.qml` do), which avoids the ``pass_manager`` path of qiskit-machine-learning
  (#872); only slots that depend on a requested parameter are shifted.

The default gradients instead submit one PUB per shifted circuit, row and observable, and hash
and re-bind every circuit of the batch in Python (Qiskit #9077 describes the cost).

On an *exact* estimator (Qiskit's reference ``StatevectorEstimator``, or Aer's ``EstimatorV2``
without noise, both at precision 0), the estimator gradient evaluates that same broadcast PUB
itself: all shifted states in one vectorised numpy pass (:mod:`.slot_simulator`), the exact
values the primitive would return (the reference primitive simulates every PUB element
separately in Python; Aer runs a job of thousands of tiny experiments). The primitive still
runs the QNN's forward pass. ``evaluation="primitive"`` forces the primitive for the gradient
too; each result's metadata (``evaluated_by``) says which one ran.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit.providers import Options
from qiskit.quantum_info import SparsePauliOp
from qiskit_machine_learning.gradients import (
    BaseEstimatorGradient,
    BaseSamplerGradient,
    EstimatorGradientResult,
    SamplerGradientResult,
)

from .primitives import default_precision
from .shift_plan import ShiftPlan, ShiftPlanCache, parameter_indices
from .slot_simulator import SlotSimulator

EVALUATIONS = ("auto", "primitive", "statevector")


def _group_rows(
    circuits: Sequence[QuantumCircuit], parameters: Sequence[Sequence[Parameter]]
) -> dict[tuple[int, tuple[int, ...]], list[int]]:
    """Rows sharing one circuit object and one requested-parameter list, in row order."""
    groups: dict[tuple[int, tuple[int, ...]], list[int]] = defaultdict(list)
    param_keys: dict[int, tuple[int, ...]] = {}
    for row, (circuit, params) in enumerate(zip(circuits, parameters, strict=True)):
        key = id(params)
        if key not in param_keys:
            param_keys[key] = tuple(parameter_indices(circuit, params))
        groups[(id(circuit), param_keys[key])].append(row)
    return groups



def outcome_probabilities(bits: Any, positions: Sequence[int] | None = None) -> np.ndarray:
    """Outcome frequencies ``[*shape, 2**len(positions)]`` of a ``BitArray``, counted with numpy.

    Outcome ``k`` has bit ``i`` equal to the register's bit ``positions[i]`` (default: all bits in
    order). ``BitArray.get_int_counts`` converts shot by shot in Python (seconds at 10^5 shots).

    Example:
        >>> from qiskit.primitives import BitArray
        >>> bits = BitArray.from_counts({0: 1, 3: 3}, num_bits=2)
        >>> outcome_probabilities(bits).tolist()
        [0.25, 0.0, 0.0, 0.75]
        >>> outcome_probabilities(bits, positions=[1]).tolist()
        [0.25, 0.75]
    """
    positions = list(range(bits.num_bits)) if positions is None else [int(q) for q in positions]
    if len(positions) > 24:
        raise ValueError(f"outcome_probabilities: {len(positions)} bits are too many to tabulate")
    raw = np.asarray(bits.array)  # [*shape, shots, bytes], most significant byte first
    nbytes = raw.shape[-1]
    ints = np.zeros(raw.shape[:-1], dtype=np.int64)
    for i, q in enumerate(positions):
        ints |= ((raw[..., nbytes - 1 - q // 8] >> (q % 8)) & 1).astype(np.int64) << i
    size = 1 << len(positions)
    flat = ints.reshape(-1, raw.shape[-2])
    offsets = np.arange(flat.shape[0])[:, None] * size
    counts = np.bincount((flat + offsets).ravel(), minlength=flat.shape[0] * size)
    return (counts.reshape(*raw.shape[:-2], size) / raw.shape[-2]).astype(float)


def _shifted_slot_values(plan: ShiftPlan, values: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """``[2S, rows, num_slots]``: slot ``slots[s]`` shifted by ``+π/2`` (first S) / ``-π/2``."""
    base = plan.slot_values(values)
    count = len(slots)
    shifted = np.broadcast_to(base, (2 * count, *base.shape)).copy()
    idx = np.arange(count)
    shifted[idx, :, slots] += np.pi / 2
    shifted[count + idx, :, slots] -= np.pi / 2
    return shifted


def _observable_entry(observable: Any, cache: dict[int, Any]) -> Any:
    """An ``ObservablesArray`` entry (``{pauli: coeff}``), converted once per observable."""
    key = id(observable)
    entry = cache.get(key)
    if entry is None:
        op = observable if isinstance(observable, SparsePauliOp) else SparsePauliOp(observable)
        entry = {}
        for label, coeff in zip(op.paulis.to_labels(), op.coeffs, strict=True):
            if abs(coeff.imag) > 1e-12:
                raise ValueError(f"observables: {observable} is not Hermitian")
            entry[label] = entry.get(label, 0.0) + float(coeff.real)
        cache[key] = (observable, entry)  # keep the object alive while its id is a key
        return entry
    return entry[1]


class BatchedParamShiftEstimatorGradient(BaseEstimatorGradient):
    """Parameter-shift gradient of expectation values in one estimator job per call.

    Args:
        estimator: any ``BaseEstimatorV2`` (reference, Aer, Runtime ``Estimator``).
        precision: precision of the gradient job (``None``: the estimator's default).
        options: default options, as for qiskit-machine-learning's gradients.
        evaluation: who evaluates the shifted circuits. ``"primitive"``: ``estimator`` (one
            job per call). ``"statevector"``: this class, exactly, with a batched numpy
            statevector simulation (:mod:`.slot_simulator`; only for exact results, i.e.
            precision 0, and at most ``MAX_QUBITS`` qubits). ``"auto"`` (default):
            ``"statevector"`` when ``estimator`` is Qiskit's ``StatevectorEstimator`` and the
            precision is 0, or Aer's ``EstimatorV2`` without noise model on an exact method at
            precision 0 (and at most ``MAX_QUBITS`` qubits in use); ``"primitive"`` otherwise
            (noisy Aer, Runtime, devices, any precision > 0).

    Attributes:
        jobs: primitive jobs submitted so far (one per :meth:`run` that used the primitive).
        local_evaluations: calls evaluated by the batched statevector simulation instead.

    Example:
        >>> from qiskit.circuit import Parameter
        >>> from qiskit.primitives import StatevectorEstimator
        >>> a = Parameter("a"); qc = QuantumCircuit(1); _ = qc.ry(a, 0)
        >>> grad = BatchedParamShiftEstimatorGradient(StatevectorEstimator())
        >>> res = grad.run([qc, qc], [SparsePauliOp("Z")] * 2, [[0.0], [np.pi / 2]]).result()
        >>> np.round(np.concatenate(res.gradients), 6) + 0.0
        array([ 0., -1.])
    """

    def __init__(
        self,
        estimator: BaseEstimatorV2,
        *,
        precision: float | None = None,
        options: Options | None = None,
        evaluation: str = "auto",
    ) -> None:
        if not isinstance(estimator, BaseEstimatorV2):
            raise TypeError(
                f"estimator must be a BaseEstimatorV2 (reference, Aer or Runtime Estimator); "
                f"got {type(estimator).__name__}"
            )
        if precision is not None and not (isinstance(precision, (int, float)) and precision >= 0):
            raise ValueError(f"precision must be None or a number >= 0; got {precision!r}")
        if evaluation not in EVALUATIONS:
            raise ValueError(f"evaluation must be one of {EVALUATIONS}; got {evaluation!r}")
        if evaluation == "statevector" and precision:
            raise ValueError("evaluation='statevector' is exact; it needs precision None or 0, "
                             f"got {precision!r}")
        super().__init__(estimator, options=options)
        self.precision = precision
        self.evaluation = evaluation
        self.jobs = 0
        self.local_evaluations = 0
        self._plans = ShiftPlanCache()
        self._simulators: dict[int, tuple[QuantumCircuit, SlotSimulator]] = {}

    def _exact_primitive(self, precision: float | None) -> bool:
        """Whether ``estimator`` computes exact statevector expectation values at ``precision``.

        True for Qiskit's ``StatevectorEstimator`` and for Aer's ``EstimatorV2`` without a noise
        model on an exact method (automatic, statevector, density_matrix), both at precision 0.
        """
        if precision is None:
            precision = default_precision(self._estimator)
        if precision:
            return False
        from qiskit.primitives import StatevectorEstimator

        if type(self._estimator) is StatevectorEstimator:
            return True
        try:
            from qiskit_aer.primitives import EstimatorV2 as AerEstimator
        except ImportError:  # pragma: no cover - Aer is a dependency
            return False
        if type(self._estimator) is not AerEstimator:
            return False
        backend = getattr(self._estimator, "_backend", None)
        options = getattr(backend, "options", None)
        noise = getattr(options, "noise_model", None)
        method = getattr(options, "method", "automatic")
        return (noise is None or getattr(noise, "is_ideal", lambda: False)()) and method in (
            "automatic", "statevector", "density_matrix")

    def _evaluates_locally(self, precision: float | None) -> bool:
        if self.evaluation == "primitive":
            return False
        if self.evaluation == "statevector":
            if precision:
                raise ValueError("evaluation='statevector' is exact; the job asked for "
                                 f"precision {precision!r}")
            return True
        return self._exact_primitive(precision)

    def _simulator(self, plan: ShiftPlan) -> SlotSimulator:
        cached = self._simulators.get(id(plan.slot_circuit))
        if cached is None or cached[0] is not plan.slot_circuit:
            if len(self._simulators) >= 32:
                self._simulators.pop(next(iter(self._simulators)))
            cached = (plan.slot_circuit, SlotSimulator(plan.slot_circuit))
            self._simulators[id(plan.slot_circuit)] = cached
        return cached[1]

    def _run(
        self,
        circuits: Sequence[QuantumCircuit],
        observables: Sequence[Any],
        parameter_values: Sequence[Sequence[float]] | np.ndarray,
        parameters: Sequence[Sequence[Parameter]],
        **options: Any,
    ) -> EstimatorGradientResult:
        gradients: list[np.ndarray | None] = [None] * len(circuits)
        pubs, finishers = [], []
        entries: dict[int, Any] = {}
        for (_, params), rows in _group_rows(circuits, parameters).items():
            plan = self._plans.plan(circuits[rows[0]])
            values = np.asarray([parameter_values[r] for r in rows], dtype=float)
            slots = plan.slots_of(params)
            if slots.size == 0:  # nothing depends on the requested parameters
                for r in rows:
                    gradients[r] = np.zeros(len(params))
                continue
            # Bind each distinct value row once; its observables go on their own axis.
            unique, inverse = np.unique(values, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
            counts = np.bincount(inverse, minlength=len(unique))
            shifted = _shifted_slot_values(plan, unique, slots)  # [2S, U, K]
            row_obs = [_observable_entry(observables[r], entries) for r in rows]
            if np.all(counts == counts[0]):
                per = int(counts[0])
                grid: list[list[Any]] = [[None] * len(unique) for _ in range(per)]
                placed = np.zeros(len(unique), dtype=int)
                where = []
                for local in range(len(rows)):
                    u = inverse[local]
                    grid[placed[u]][u] = row_obs[local]
                    where.append((placed[u], u))
                    placed[u] += 1
                pubs.append((plan.slot_circuit, grid, shifted[:, None]))  # evs [2S, per, U]
            else:
                where = None
                pubs.append((plan.slot_circuit, row_obs, shifted[:, inverse]))  # evs [2S, R]
            finishers.append((rows, params, plan, values, inverse, slots, where, row_obs, shifted))
        evaluated_by = "none"
        if pubs:
            precision = options.get("precision", self.precision)
            simulators = None
            if self._evaluates_locally(precision):
                try:
                    simulators = [self._simulator(finish[2]) for finish in finishers]
                except ValueError:
                    if self.evaluation == "statevector":
                        raise
            if simulators is not None:
                evaluated_by = "statevector (numpy, exact)"
                self.local_evaluations += 1
                # each distinct binding simulated once, whatever the rows' multiplicities
                all_evs = [sim.evaluate_rows(finish[7], finish[8], finish[4])  # [2S, R]
                           for sim, finish in zip(simulators, finishers, strict=True)]
                finishers = [(*finish[:6], None) for finish in finishers]
            else:
                evaluated_by = type(self._estimator).__name__
                job = (self._estimator.run(pubs) if precision is None
                       else self._estimator.run(pubs, precision=precision))
                self.jobs += 1
                all_evs = [result.data.evs for result in job.result()]
            for evs, finish in zip(all_evs, finishers, strict=True):
                rows, params, plan, values, _, slots, where = finish[:7]
                evs = np.asarray(evs, dtype=float)
                count = len(slots)
                diff = (evs[:count] - evs[count:]) / 2  # d<O>/d slot: [S, per, U] or [S, R]
                if where is not None:
                    diff = np.stack([diff[:, j, u] for j, u in where], axis=1)  # [S, R]
                coeffs = plan.chain_rule(values, slots, params)  # [R, S, J]
                grads = np.einsum("sr,rsj->rj", diff, coeffs)
                for local, r in enumerate(rows):
                    gradients[r] = grads[local]
        return EstimatorGradientResult(
            gradients=gradients,
            metadata=[{"parameters": p, "evaluated_by": evaluated_by} for p in parameters],
            options=Options(**options),
        )


def _register_name(circuit: QuantumCircuit) -> str:
    if not circuit.cregs:
        raise ValueError("circuits: a sampler circuit needs measurements into a classical register")
    names = [reg.name for reg in circuit.cregs]
    return "meas" if "meas" in names else names[0]


def _key_positions(circuit: QuantumCircuit, num_bits: int) -> list[int]:
    """Register bits forming the QNN's key, as ``SamplerQNN`` reads laid-out circuits.

    For a circuit with a layout (ISA), logical qubit ``i`` is measured into the bit of its
    physical qubit, so key bit ``i`` is register bit ``physical[i]``; otherwise all bits in order.
    """
    layout = circuit.layout
    if layout is None:
        return list(range(num_bits))
    return list(layout.final_index_layout(filter_ancillas=True))


class BatchedParamShiftSamplerGradient(BaseSamplerGradient):
    """Parameter-shift gradient of outcome probabilities in one sampler job per call.

    Outcome keys are reported as ``SamplerQNN`` reports its forward pass: for a circuit with a
    layout (ISA), the bits of the measured physical qubits are gathered back into the logical
    key, so forward and backward agree on ISA circuits.

    Args:
        sampler: any ``BaseSamplerV2``.
        shots: shots per shifted circuit (``None``: the sampler's default).
        options: default options, as for qiskit-machine-learning's gradients.

    Example:
        >>> from qiskit.circuit import Parameter
        >>> from qiskit.primitives import StatevectorSampler
        >>> a = Parameter("a"); qc = QuantumCircuit(1); _ = qc.ry(a, 0); qc.measure_all()
        >>> grad = BatchedParamShiftSamplerGradient(StatevectorSampler(seed=1), shots=20000)
        >>> g = grad.run([qc], [[np.pi / 2]]).result().gradients[0][0]
        >>> round(g[0], 1), round(g[1], 1)
        (-0.5, 0.5)
    """

    def __init__(
        self,
        sampler: BaseSamplerV2,
        *,
        shots: int | None = None,
        options: Options | None = None,
    ) -> None:
        if not isinstance(sampler, BaseSamplerV2):
            raise TypeError(f"sampler must be a BaseSamplerV2; got {type(sampler).__name__}")
        if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int)
                                  or shots < 1):
            raise ValueError(f"shots must be None or an integer >= 1; got {shots!r}")
        super().__init__(sampler, options=options)
        self.shots = shots
        self.jobs = 0
        self._plans = ShiftPlanCache()

    def _run(
        self,
        circuits: Sequence[QuantumCircuit],
        parameter_values: Sequence[Sequence[float]] | np.ndarray,
        parameters: Sequence[Sequence[Parameter]],
        **options: Any,
    ) -> SamplerGradientResult:
        gradients: list[list[dict[int, float]] | None] = [None] * len(circuits)
        pubs, finishers = [], []
        for (_, params), rows in _group_rows(circuits, parameters).items():
            circuit = circuits[rows[0]]
            plan = self._plans.plan(circuit)
            values = np.asarray([parameter_values[r] for r in rows], dtype=float)
            slots = plan.slots_of(params)
            if slots.size == 0:
                for r in rows:
                    gradients[r] = [{} for _ in params]
                continue
            unique, inverse = np.unique(values, axis=0, return_inverse=True)
            pubs.append((plan.slot_circuit, _shifted_slot_values(plan, unique, slots)))
            finishers.append((rows, params, plan, values, inverse.reshape(-1), slots, circuit))
        if pubs:
            shots = options.get("shots", self.shots)
            job = self._sampler.run(pubs) if shots is None else self._sampler.run(pubs,
                                                                                 shots=shots)
            self.jobs += 1
            results = job.result()
            for result, finish in zip(results, finishers, strict=True):
                rows, params, plan, values, inverse, slots, circuit = finish
                bits = getattr(result.data, _register_name(circuit))
                count = len(slots)
                coeffs = plan.chain_rule(values, slots, params)  # [R, S, J]
                probs = outcome_probabilities(bits, _key_positions(circuit, bits.num_bits))
                shift_diff = (probs[:count] - probs[count:]) / 2  # [S, U, 2**keys]
                for local, r in enumerate(rows):
                    dense = coeffs[local].T @ shift_diff[:, inverse[local]]  # [J, 2**keys]
                    row_grad = []
                    for j in range(len(params)):
                        keys = np.flatnonzero(dense[j])
                        row_grad.append({int(k): float(dense[j, k]) for k in keys})
                    gradients[r] = row_grad
        return SamplerGradientResult(
            gradients=gradients,
            metadata=[{"parameters": p} for p in parameters],
            options=Options(**options),
        )
