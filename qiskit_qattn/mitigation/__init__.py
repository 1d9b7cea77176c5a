"""Error mitigation for attention circuits, one module per technique (Mitiq style).

- :mod:`.folding`: noise scaling of compiled (ISA) circuits: global / local / random folding and
  identity insertion, done after layout, routing and translation.
- :mod:`.extrapolation`: zero-noise extrapolation with Mitiq factories (optional, lazy) or natively.
- :mod:`.zne`: ``construct_circuits`` / ``execute_with_zne`` / ``combine_results``.
- :mod:`.readout`: calibration circuits, tensored or full confusion matrices, NNLS mitigation,
  error bars with the calibration's own shot noise, ``execute_with_rem``.
- :mod:`.training`: training circuits with exactly the compiled structure (near-Clifford angles)
  and their ideal distributions; :mod:`.cdr`: Clifford data regression at one noise level
  (``"cdr"``) and across scale factors (``"vncdr"``).
- :mod:`.allocation`: shot budgets (variance-optimal splits, the second noise level, ZNE's
  extrapolation by estimated bias and variance); :mod:`.auto`: ``mitigation="auto"``.
- :mod:`.dd`: dynamical decoupling through Qiskit's scheduling passes.
- :mod:`.runtime_options`: mapping onto Qiskit Runtime options without mitigating twice.
- :mod:`.executor`: :class:`MitigatedExecutor` wraps an executor (fold, DD, calibration, one
  execution, readout mitigation); :mod:`.config` parses
  ``mitigation="zne+rem"``.

The one-call entry point is ``estimate_attention(..., mitigation="auto")`` (or named techniques,
``"vncdr+rem"``, ``"zne+rem"``, ...).
"""

from .allocation import (
    ShotPlan,
    allocation_variance,
    choose_extrapolation,
    optimal_allocation,
    plan_shots,
    predicted_decay_rate,
    second_scale_factor,
)
from .auto import resolve_auto
from .cdr import CDRFit, VariableNoiseFit, fit_cdr, fit_vncdr, vncdr_coefficients
from .config import DEFAULT_BUDGET, TECHNIQUES, MitigationConfig
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
from .training import ideal_distributions, training_circuits
from .zne import ZNEResult, combine_results, construct_circuits, execute_with_zne

__all__ = [
    "DD_SEQUENCES",
    "DEFAULT_BUDGET",
    "EXTRAPOLATIONS",
    "FOLD_METHODS",
    "READOUT_METHODS",
    "RUNTIME_TECHNIQUES",
    "TECHNIQUES",
    "CDRFit",
    "Extrapolated",
    "MitigatedExecutor",
    "MitigatedOutcomes",
    "MitigationConfig",
    "REMResult",
    "ReadoutCalibration",
    "RuntimePlan",
    "ShotPlan",
    "VariableNoiseFit",
    "ZNEResult",
    "allocation_variance",
    "apply_dynamical_decoupling",
    "check_foldable",
    "check_scale_factors",
    "choose_extrapolation",
    "combine_results",
    "construct_circuits",
    "dd_pass_manager",
    "execute_with_rem",
    "execute_with_zne",
    "extrapolate",
    "fit_cdr",
    "fit_vncdr",
    "fold_circuit",
    "fold_circuits",
    "ideal_distributions",
    "measured_qubits",
    "mitiq_available",
    "multinomial_covariance",
    "optimal_allocation",
    "plan_shots",
    "predicted_decay_rate",
    "readout_calibration_circuits",
    "resolve_auto",
    "runtime_plan",
    "schedule_idle",
    "second_scale_factor",
    "training_circuits",
    "vncdr_coefficients",
]
