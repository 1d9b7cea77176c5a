"""Executors: the one seam through which every entry point runs circuits.

The spine of every path (``estimate_attention``, ``qattn run``, the demo, sweeps, the nn
layer's circuit backend) is: prepare the head once (:func:`qiskit_qattn.circuits.prepare_head`)
-> compile (:func:`compiled_batch`, or :func:`logical_batch` for exact/ideal runs) -> execute
through an :class:`Executor` -> (mitigation wraps the executor) -> estimate. Executors return
:class:`Outcomes` per basis state; the head decodes key orders in one place.

- :class:`StatevectorExecutor`: exact probabilities through ``sim.simulate`` (structured
  kernel for QAOA).
- :class:`LocalSampler`: local shots, ideal or under device noise (exact noisy distributions,
  Aer shots beyond the density-matrix limit).
- :class:`RuntimeExecutor`: qiskit-ibm-runtime's executor-based primitives through the
  resumable job store (one job per execution, cost preview first).
"""

from .base import Executor
from .batch import CircuitBatch, Outcomes
from .compile import compiled_batch, logical_batch, measure_layout, uses_template
from .local import LocalSampler
from .resolve import EXECUTIONS, resolve_executor
from .runtime import RuntimeExecutor
from .statevector import StatevectorExecutor

__all__ = [
    "EXECUTIONS",
    "CircuitBatch",
    "Executor",
    "LocalSampler",
    "Outcomes",
    "RuntimeExecutor",
    "StatevectorExecutor",
    "compiled_batch",
    "logical_batch",
    "measure_layout",
    "resolve_executor",
    "uses_template",
]
