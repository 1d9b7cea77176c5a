"""Exact key-register probabilities through :func:`qiskit_qattn.sim.simulate`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Executor
from .batch import CircuitBatch, Outcomes


class StatevectorExecutor(Executor):
    """Exact probabilities of logical circuits: no shots, no noise.

    Structured QAOA batches run on the structured Numba kernel (no circuit is built); other
    batches on ``simulate``'s dense statevector (or whatever ``method`` names).

    Args:
        method: ``simulate`` method (``"auto"`` picks structured / statevector / MPS).
        **simulate_options: forwarded to :func:`~qiskit_qattn.sim.simulate` (``dtype``,
            ``max_memory``, ...).

    Example:
        >>> from qiskit import QuantumCircuit
        >>> qc = QuantumCircuit(1); _ = qc.h(0)
        >>> StatevectorExecutor().run([CircuitBatch([qc], 1)])[0].probabilities.round(3).tolist()
        [[0.5, 0.5]]
    """

    name = "statevector"

    def __init__(self, method: str = "auto", **simulate_options: Any):
        super().__init__()
        self.method = method
        self.simulate_options = simulate_options

    @property
    def needs_shots(self) -> bool:
        return False

    def probabilities(self, batch: CircuitBatch) -> np.ndarray:
        """``[rows, 2**num_bits]`` exact probabilities of one logical batch."""
        from ..sim import simulate

        if batch.measured or batch.device is not None:
            raise ValueError("statevector execution runs logical circuits; got a batch compiled "
                             f"for {batch.device!r}")
        source = batch.problem if batch.problem is not None and self.method in (
            "auto", "structured") else batch.circuits
        res = simulate(source, method=self.method, return_probabilities=True,
                       **self.simulate_options)
        return np.asarray(res.probabilities, dtype=np.float64).reshape(batch.num_rows, -1)

    def _run(self, batches: list[CircuitBatch], shots: int | None) -> list[Outcomes]:
        out = []
        for batch in batches:
            probs = self.probabilities(batch)
            out.append(Outcomes(probabilities=probs,
                                metadata={"execution": self.name, "method": self.method}))
        return out
