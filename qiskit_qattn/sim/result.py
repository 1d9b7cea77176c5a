"""The one result container every :func:`~qiskit_qattn.sim.simulate` method returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SimulationResult:
    """Outputs of a simulation, shaped ``batch_shape + (...)`` whatever the method.

    ``batch_shape`` is ``(num_circuits,)`` for circuits (``(num_circuits, num_parameter_sets)``
    when one circuit gets several parameter rows it is ``(num_parameter_sets,)``) and the
    problem's leading shape (e.g. ``(heads, queries)``) for a structured problem.

    Attributes:
        method: the method that ran (``"structured"``, ``"statevector"``, ``"mps"``, ``"aer"``).
        num_qubits: register width.
        batch_shape: leading shape of every array below.
        values: ``[..., num_observables]`` expectation values: exact without shots, sample means
            with.
        std_errors: ``[..., num_observables]`` standard errors of the sample means (shots only).
        probabilities: ``[..., 2**n]`` basis-state probabilities (dense methods, when asked).
        statevectors: ``[..., 2**n]`` amplitudes (dense methods, when asked).
        counts: one ``{bitstring: count}`` per row (shots only; Qiskit order, qubit 0 last).
        truncation_error: ``[...]`` MPS estimate ``1 - F`` of the lost fidelity (0 if exact).
        error_bounds: ``[..., num_observables]`` MPS bound on ``|value - exact value|`` from
            the discarded weight (zero for exact methods).
        dtype: complex dtype of the simulation.
        shots: shots per row, or ``None`` for exact results.
        metadata: method choice reason, bond dimensions, memory estimates, timings.
    """

    method: str
    num_qubits: int
    batch_shape: tuple[int, ...]
    values: np.ndarray | None = None
    std_errors: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    statevectors: np.ndarray | None = None
    counts: list[dict[str, int]] | None = None
    truncation_error: np.ndarray | None = None
    error_bounds: np.ndarray | None = None
    dtype: str = "complex128"
    shots: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def counts_array(self) -> np.ndarray:
        """Counts as a dense ``[..., 2**n]`` int array (registers of up to 30 qubits).

        Example:
            >>> r = SimulationResult("statevector", 1, (1,), counts=[{"1": 3, "0": 1}], shots=4)
            >>> r.counts_array().tolist()
            [[1, 3]]
        """
        if self.counts is None:
            raise ValueError("no counts: run with shots=...")
        if self.num_qubits > 30:
            raise ValueError(f"{self.num_qubits} qubits are too many for a dense counts array")
        out = np.zeros((len(self.counts), 2**self.num_qubits), dtype=np.int64)
        for i, c in enumerate(self.counts):
            for key, value in c.items():
                out[i, int(key, 2)] += value
        return out.reshape(*self.batch_shape, -1)
