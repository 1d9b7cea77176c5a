"""Qiskit Runtime as an executor: every batch of one execution in one resumable job."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from .base import Executor
from .batch import CircuitBatch, Outcomes


class RuntimeExecutor(Executor):
    """Run batches through qiskit-ibm-runtime's executor-based ``Sampler`` or ``Estimator``.

    One :meth:`run` packs every batch (queries, ZNE folds, readout-calibration circuits) into
    the PUBs of **one** job: a template batch is one PUB with a row of parameter values per
    query, other batches one PUB per circuit. Before anything is submitted the cost preview is
    passed to ``confirm``; the job goes through a :class:`~qiskit_qattn.runtime.ResumableRunner`
    on a :class:`~qiskit_qattn.runtime.JobStore`, so running the same work again (after a crash,
    in another process) fetches or adopts the job instead of paying twice.

    Args:
        device: device (``BackendV2`` or name); ignored when ``mode`` is given.
        mode: Runtime mode (``BackendV2``, ``Session`` or ``Batch``); default ``device``. A
            fake device runs in Runtime's local testing mode (no account).
        primitive: ``"sampler"`` (counts) or ``"estimator"`` (expectation values of the batch's
            ``observables``, laid out on the physical qubits).
        store: a ``JobStore``, a directory, or ``None`` (``$QATTN_JOB_STORE`` / user cache).
        options: primitive options (nested dict), e.g. ``{"dynamical_decoupling": {...}}``.
        precision: estimator target precision (default ``1/sqrt(shots)``).
        retry, timeout, poll_interval: see :class:`~qiskit_qattn.runtime.ResumableRunner`.
        confirm: called with the :class:`~qiskit_qattn.runtime.CostPreview` before a submission
            (also when the result is already stored); ``False`` raises
            :class:`~qiskit_qattn.runtime.SubmissionDeclined`.
        seed: simulator seed in local testing mode.
        submitter: replaces the :class:`~qiskit_qattn.runtime.RuntimeSubmitter` (tests, other
            providers).

    Example:
        >>> import tempfile
        >>> from qiskit import QuantumCircuit, ClassicalRegister
        >>> qc = QuantumCircuit(1); _ = qc.x(0)
        >>> qc.add_register(ClassicalRegister(1, "meas")); _ = qc.measure(0, 0)
        >>> ex = RuntimeExecutor("fake_manila", store=tempfile.mkdtemp(), seed=1)
        >>> from qiskit.transpiler import generate_preset_pass_manager
        >>> isa = generate_preset_pass_manager(1, backend=ex.device).run(qc)
        >>> out = ex.run([CircuitBatch([isa], 1, measured=True, device="fake_manila")], shots=100)
        >>> int(out[0].counts.sum()), out[0].metadata["jobs"]
        (100, 1)
    """

    name = "runtime"

    def __init__(
        self,
        device: Any | None = None,
        *,
        mode: Any | None = None,
        primitive: str = "sampler",
        store: Any | None = None,
        options: dict | None = None,
        precision: float | None = None,
        retry: Any | None = None,
        timeout: float | None = None,
        poll_interval: float = 2.0,
        confirm: Callable[[Any], bool] | None = None,
        seed: int | None = None,
        submitter: Any | None = None,
    ):
        from ..runtime import PRIMITIVES, JobStore, mode_device, resolve_device

        super().__init__()
        if primitive not in PRIMITIVES:
            raise ValueError(f"primitive must be one of {PRIMITIVES}; got {primitive!r}")
        if precision is not None and not (np.isfinite(precision) and precision > 0):
            raise ValueError(f"precision must be a finite number > 0; got {precision!r}")
        if mode is None:
            mode = resolve_device(device if device is not None else "fake_torino")
        self.mode = mode
        self._device = mode_device(mode)
        self.primitive = primitive
        self.store = store if isinstance(store, JobStore) else JobStore(store)
        self.options = dict(options or {})
        self.precision = precision
        self.retry = retry
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.confirm = confirm
        self.seed = seed
        self.submitter = submitter
        self._state = {"last_preview": None}  # shared with with_options copies

    @property
    def last_preview(self):
        """The :class:`~qiskit_qattn.runtime.CostPreview` of the latest execution (or ``None``)."""
        return self._state["last_preview"]

    @property
    def device(self):
        return self._device

    @property
    def measured(self) -> bool:
        return self.primitive == "sampler"

    @property
    def server_side(self) -> tuple[str, ...]:
        return ("dd", "twirling") if self.primitive == "sampler" else (
            "zne", "rem", "dd", "twirling")

    def with_options(self, options: dict) -> RuntimeExecutor:
        twin = copy.copy(self)
        twin.options = copy.deepcopy(options)
        return twin

    def describe(self) -> dict[str, Any]:
        from ..runtime import describe_mode

        return {"execution": self.name, "device": self._device.name,
                "primitive": self.primitive, "mode": describe_mode(self.mode)}

    def _submitter(self):
        from ..runtime import RuntimeSubmitter

        if self.submitter is not None:
            return self.submitter
        return RuntimeSubmitter(self.mode, self.options, seed=self.seed)

    def pack(self, batches: list[CircuitBatch], shots: int) -> tuple[Any, list[slice]]:
        """The :class:`~qiskit_qattn.runtime.PackedTask` of one execution and each batch's PUBs.

        Example:
            >>> from qiskit import QuantumCircuit, ClassicalRegister
            >>> qc = QuantumCircuit(1); qc.add_register(ClassicalRegister(1, "meas"))
            >>> _ = qc.measure(0, 0)
            >>> task, slices = RuntimeExecutor("fake_manila").pack(
            ...     [CircuitBatch([qc, qc], 1, measured=True)], 100)
            >>> len(task.pubs), slices
            (2, [slice(0, 2, None)])
        """
        from ..runtime import PackedTask

        precision = self.precision if self.precision is not None else 1.0 / np.sqrt(shots)
        pubs, slices = [], []
        for batch in batches:
            start = len(pubs)
            pubs.extend(self._pubs(batch, shots, precision))
            slices.append(slice(start, len(pubs)))
        label = " + ".join(dict.fromkeys(b.label for b in batches if b.label)) or "qattn"
        task = PackedTask(
            primitive=self.primitive, pubs=tuple(pubs),
            shots=int(shots) if self.primitive == "sampler" else None,
            precision=float(precision) if self.primitive == "estimator" else None,
            device=self._device.name, label=label,
        )
        return task, slices

    def _run(self, batches: list[CircuitBatch], shots: int | None) -> list[Outcomes]:
        from ..runtime import ResumableRunner, SubmissionDeclined, cost_preview

        task, slices = self.pack(batches, shots)
        preview = cost_preview(task, self._device)
        self._state["last_preview"] = preview
        if self.confirm is not None and not self.confirm(preview):
            raise SubmissionDeclined(f"submission declined after cost preview: "
                                     f"{preview.summary()}")
        submitter = self._submitter()
        runner_opts = {"timeout": self.timeout, "poll_interval": self.poll_interval}
        if self.retry is not None:
            runner_opts["retry"] = self.retry
        runner = ResumableRunner(submitter, self.store, **runner_opts)
        key = runner.key(task)
        result = list(runner.run(task))
        record = self.store.get(key) or {}
        attempts = record.get("attempts", [])
        meta = {**self.describe(), "cost_preview": preview.as_dict(), "store_key": key,
                "store": str(self.store.directory), "jobs": 1,
                "job_ids": [a["job_id"] for a in attempts if a.get("job_id")],
                "attempts": len(attempts), "mode": submitter.describe()}
        out = []
        for batch, sl in zip(batches, slices, strict=True):
            out.append(self._decode(batch, result[sl], shots, meta))
        return out

    # -- packing ---------------------------------------------------------------------------

    def _pubs(self, batch: CircuitBatch, shots: int, precision: float) -> list:
        from qiskit.primitives.containers.estimator_pub import EstimatorPub
        from qiskit.primitives.containers.sampler_pub import SamplerPub

        if self.primitive == "sampler":
            if not batch.measured:
                raise ValueError("the Runtime Sampler needs measured ISA circuits")
            if batch.template is not None:
                return [SamplerPub.coerce((batch.template, batch.parameter_values),
                                          shots=int(shots))]
            return [SamplerPub.coerce((qc,), shots=int(shots)) for qc in batch.circuits]
        if batch.measured:
            raise ValueError("the Runtime Estimator needs unmeasured ISA circuits")
        if batch.observables is None:
            raise ValueError("the Runtime Estimator needs the batch's observables")
        if batch.template is not None:
            ops = [_layout_observables(d, batch.template) for d in batch.observables]
            return [EstimatorPub.coerce((batch.template, ops, batch.parameter_values[:, None, :]),
                                        precision=float(precision))]
        return [EstimatorPub.coerce((qc, _layout_observables(d, qc)), precision=float(precision))
                for qc, d in zip(batch.circuits, batch.observables, strict=True)]

    def _decode(self, batch: CircuitBatch, results: list, shots: int, meta: dict) -> Outcomes:
        rows, dim = batch.num_rows, 2**batch.num_bits
        if self.primitive == "sampler":
            counts = np.zeros((rows, dim), dtype=np.int64)
            for i, pub in enumerate(results):
                bits = pub.data["meas"]
                if batch.template is not None:
                    for r in range(rows):
                        counts[r] = _dense_counts(bits.get_int_counts(r), dim)
                else:
                    counts[i] = _dense_counts(bits.get_int_counts(), dim)
            return Outcomes.from_counts(counts, shots, **meta)
        if batch.template is not None:
            values = np.asarray(results[0].data.evs, dtype=float)
            stds = np.asarray(results[0].data.stds, dtype=float)
        else:
            values = np.stack([np.asarray(p.data.evs, dtype=float) for p in results])
            stds = np.stack([np.asarray(p.data.stds, dtype=float) for p in results])
        return Outcomes(values=values.reshape(rows, -1), std_errors=stds.reshape(rows, -1),
                        metadata=dict(meta))


def _layout_observables(diagonals: np.ndarray, isa: QuantumCircuit) -> list:
    """Diagonal observables (basis order) as ``SparsePauliOp``s on ``isa``'s physical qubits."""
    from ..encoding import diagonal_to_sparse_pauli

    ops = [diagonal_to_sparse_pauli(d, atol=1e-12) for d in diagonals]
    return [op.apply_layout(isa.layout) if isa.layout is not None else op for op in ops]


def _dense_counts(counts: dict, dim: int) -> np.ndarray:
    out = np.zeros(dim, dtype=np.int64)
    for key, value in counts.items():
        out[int(key)] += int(value)
    return out
