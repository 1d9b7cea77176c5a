"""What executors take (:class:`CircuitBatch`) and what they give back (:class:`Outcomes`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit


class CircuitBatch:
    """The circuits of one execution unit, one row per query, in the richest form available.

    The circuits come either one per row (``circuits``: a sequence, or a zero-argument callable
    that builds them on first use), or as one parametrised ``template`` bound to each row of
    ``parameter_values`` (all rows share a structure: one compilation, one PUB). Logical QAOA
    heads also carry their structured form (``problem``), so the structured simulator never
    builds a circuit. Outcomes are indexed by the ``num_bits`` outcome register as little-endian
    integers (the key register's basis states).

    Args:
        circuits: one circuit per row, or a callable returning them (``None`` with a template).
        num_bits: outcome register width (key qubits ``m``).
        measured: the circuits end by measuring the key register into a register ``meas``
            (compiled sampler circuits); logical and estimator circuits are unmeasured.
        template: a parametrised circuit (``None`` when ``circuits`` is given).
        parameter_values: ``[rows, num_parameters]`` in ``template.parameters`` order.
        problem: a :class:`~qiskit_qattn.sim.QaoaProblem` equal to the circuits (logical only).
        observables: ``[rows, k, 2**num_bits]`` diagonal observables per row in basis-state order
            (estimator primitives).
        device: name of the device the circuits were compiled for (``None`` if logical).
        label: a name for reports and job labels.
        num_rows: rows, when ``circuits`` is a callable.

    Example:
        >>> from qiskit.circuit import Parameter
        >>> t = QuantumCircuit(1); _ = t.rx(Parameter("a"), 0)
        >>> b = CircuitBatch(None, 1, template=t, parameter_values=[[0.1], [0.2]])
        >>> b.num_rows, [qc.num_parameters for qc in b.circuits]
        (2, [0, 0])
    """

    def __init__(
        self,
        circuits: Sequence[QuantumCircuit] | Callable[[], Sequence[QuantumCircuit]] | None,
        num_bits: int,
        *,
        measured: bool = False,
        template: QuantumCircuit | None = None,
        parameter_values: Any | None = None,
        problem: Any | None = None,
        observables: np.ndarray | None = None,
        device: str | None = None,
        label: str = "",
        num_rows: int | None = None,
    ):
        if (circuits is None) == (template is None):
            raise ValueError("a CircuitBatch needs exactly one of circuits and template")
        self.num_bits = int(num_bits)
        self.measured = bool(measured)
        self.template = template
        self.problem = problem
        self.observables = observables
        self.device = device
        self.label = label
        self._build = None
        self._circuits: tuple[QuantumCircuit, ...] | None = None
        if template is not None:
            values = np.asarray(parameter_values, dtype=float)
            if values.ndim != 2 or values.shape[1] != template.num_parameters:
                raise ValueError(
                    f"parameter_values must be [rows, {template.num_parameters}]; got shape "
                    f"{values.shape}"
                )
            self.parameter_values = values
            self._rows = values.shape[0]
        else:
            self.parameter_values = None
            if callable(circuits):
                if num_rows is None:
                    raise ValueError("num_rows is needed when circuits is a callable")
                self._build, self._rows = circuits, int(num_rows)
            else:
                self._circuits = tuple(circuits)
                if not self._circuits:
                    raise ValueError("a CircuitBatch needs at least one circuit")
                self._rows = len(self._circuits)

    def __repr__(self) -> str:
        form = "template" if self.template is not None else "circuits"
        return (f"CircuitBatch({self.label!r}, rows={self.num_rows}, {form}, "
                f"measured={self.measured}, device={self.device!r})")

    @property
    def num_rows(self) -> int:
        """Rows (circuit executions) in the batch."""
        return self._rows

    @property
    def circuits(self) -> tuple[QuantumCircuit, ...]:
        """One concrete circuit per row (built, or the template bound, on first use)."""
        if self._circuits is None:
            if self.template is not None:
                built = [self.template.assign_parameters(row) for row in self.parameter_values]
            else:
                built = list(self._build())
            if len(built) != self._rows:
                raise RuntimeError(f"expected {self._rows} circuits; got {len(built)}")
            self._circuits = tuple(built)
        return self._circuits

    def map_circuits(self, fn: Callable[[QuantumCircuit], QuantumCircuit], **changes: Any
                     ) -> CircuitBatch:
        """A copy with ``fn`` applied to the template (or to every circuit); drops ``problem``.

        Used by noise scaling: folding a template folds every row at once.
        """
        kwargs = {"measured": self.measured, "observables": self.observables,
                  "device": self.device, "label": self.label, **changes}
        if self.template is not None:
            return CircuitBatch(None, self.num_bits, template=fn(self.template),
                                parameter_values=self.parameter_values, **kwargs)
        return CircuitBatch(tuple(fn(qc) for qc in self.circuits), self.num_bits, **kwargs)


@dataclass
class Outcomes:
    """What one batch gave: outcome statistics per row, in basis-state order.

    Attributes:
        probabilities: ``[rows, 2**num_bits]`` exact probabilities (statevector, exact noisy
            distributions) or the empirical frequencies of ``counts``; ``None`` for estimator
            results.
        counts: ``[rows, 2**num_bits]`` shot counts (``None`` when exact).
        shots: shots per row (``None`` when exact).
        values: ``[rows, k]`` expectation values of the batch's ``observables`` (estimator).
        std_errors: their standard errors.
        metadata: executor, device, job ids, timings.
    """

    probabilities: np.ndarray | None = None
    counts: np.ndarray | None = None
    shots: int | None = None
    values: np.ndarray | None = None
    std_errors: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        """``True`` for exact probabilities (no shot noise)."""
        return self.counts is None and self.probabilities is not None

    @classmethod
    def from_counts(cls, counts: Any, shots: int, **metadata: Any) -> Outcomes:
        """Outcomes of sampled counts ``[rows, 2**k]``.

        Example:
            >>> Outcomes.from_counts([[3, 1]], 4).probabilities.tolist()
            [[0.75, 0.25]]
        """
        c = np.asarray(counts, dtype=np.int64)
        totals = np.maximum(c.sum(axis=1, keepdims=True), 1)
        return cls(probabilities=c / totals, counts=c, shots=int(shots), metadata=dict(metadata))
