"""Error mitigation for attention circuits, one module per technique (Mitiq style).

- :mod:`.folding`: noise scaling of compiled (ISA) circuits: global / local / random folding and
  identity insertion, done after layout, routing and translation.
- :mod:`.extrapolation`: zero-noise extrapolation with Mitiq factories (optional, lazy) or natively.
- :mod:`.zne`: ``construct_circuits`` / ``execute_with_zne`` / ``combine_results``.
- :mod:`.readout`: calibration circuits, tensored or full confusion matrices, NNLS mitigation,
  ``execute_with_rem``.
- :mod:`.dd`: dynamical decoupling through Qiskit's scheduling passes.
- :mod:`.runtime_options`: mapping onto Qiskit Runtime options without mitigating twice.
- :mod:`.executor`: :class:`MitigatedExecutor` wraps an executor (fold, DD, calibration, one
  execution, readout mitigation); :mod:`.config` parses
  ``mitigation="zne+rem"``.

The one-call entry point is ``estimate_attention(..., mitigation="zne+rem")``.
"""

from .config import TECHNIQUES, MitigationConfig
from .dd import DD_SEQUENCES, apply_dynamical_decoupling, dd_pass_manager, schedule_idle
from .executor import MitigatedExecutor, MitigatedOutcomes
from .extrapolation import EXTRAPOLATIONS, Extrapolated, extrapolate, mitiq_available
from .folding import FOLD_METHODS, check_foldable, check_scale_factors, fold_circuit, fold_circuits
from .readout import (
    READOUT_METHODS,
    ReadoutCalibration,
    REMResult,
    execute_with_rem,
    measured_qubits,
    multinomial_covariance,
    readout_calibration_circuits,
)
from .runtime_options import RUNTIME_TECHNIQUES, RuntimePlan, runtime_plan
from .zne import ZNEResult, combine_results, construct_circuits, execute_with_zne

__all__ = [
    "DD_SEQUENCES",
    "EXTRAPOLATIONS",
    "FOLD_METHODS",
    "READOUT_METHODS",
    "RUNTIME_TECHNIQUES",
    "TECHNIQUES",
    "Extrapolated",
    "MitigatedExecutor",
    "MitigatedOutcomes",
    "MitigationConfig",
    "REMResult",
    "ReadoutCalibration",
    "RuntimePlan",
    "ZNEResult",
    "apply_dynamical_decoupling",
    "check_foldable",
    "check_scale_factors",
    "combine_results",
    "construct_circuits",
    "dd_pass_manager",
    "execute_with_rem",
    "execute_with_zne",
    "extrapolate",
    "fold_circuit",
    "fold_circuits",
    "measured_qubits",
    "mitiq_available",
    "multinomial_covariance",
    "readout_calibration_circuits",
    "runtime_plan",
    "schedule_idle",
]
