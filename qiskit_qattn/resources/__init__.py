"""Hardware readiness of attention circuits: what a head needs from a quantum computer.

- :mod:`~qiskit_qattn.resources.logical`: key/ancilla qubits, compiled two-qubit gates, depth and
  duration on a device, rotation count and T-count after Clifford+T synthesis (Qiskit's
  ``generate_preset_clifford_t_pass_manager`` / ``gridsynth_rz``).
- :mod:`~qiskit_qattn.resources.shots`: shots for a target output error from the estimator's
  variance formula (ideal or read off a noisy, possibly mitigated run).
- :mod:`~qiskit_qattn.resources.physical`: physical fault-tolerant estimates with the Microsoft
  QDK resource estimator (surface and floquet codes, standard qubit models).
- :mod:`~qiskit_qattn.resources.surface_code`: surface-code memory experiments with stim,
  sinter and PyMatching under circuit-level noise taken from a device ``Target``.
- :mod:`~qiskit_qattn.resources.nisq`: output error against scaled device noise, unmitigated
  and with ZNE+REM, and the classical sampler's cost for the same error.
- :mod:`~qiskit_qattn.resources.report`: the ``qattn resources`` report.

Calls into the execution spine go through ``resources._pipeline`` only. The QDK, stim, sinter
and PyMatching come with ``pip install 'qiskit-qattn[resources]'``.

Example:
    >>> import numpy as np
    >>> from qiskit_qattn.resources import logical_resources
    >>> rng = np.random.default_rng(0)
    >>> Q, K, V = rng.normal(size=(1, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 1))
    >>> logical_resources(Q, K, V, "softmax_state", device=None).key_qubits
    2
"""

from __future__ import annotations

from .logical import (
    DEFAULT_PRECISION,
    CliffordTCounts,
    LogicalResources,
    check_num_keys,
    check_precision,
    clifford_rz_circuit,
    clifford_t_counts,
    logical_resources,
)
from .nisq import (
    DEFAULT_FACTORS,
    ClassicalCost,
    DeviceMedians,
    NoisePoint,
    NoiseSweep,
    classical_cost,
    noise_sweep,
)
from .physical import QEC_SCHEMES, QUBIT_MODELS, PhysicalEstimate, physical_estimates
from .report import ResourceReport, resource_report
from .shots import ShotEstimate, measured_errors, shots_for_error, shots_from_run
from .surface_code import (
    CircuitNoise,
    DistanceFit,
    MemoryResult,
    fit_distance_scaling,
    memory_circuit,
    memory_experiment,
    memory_sweep,
    required_distance,
    threshold_crossing,
)

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_PRECISION",
    "QEC_SCHEMES",
    "QUBIT_MODELS",
    "CircuitNoise",
    "ClassicalCost",
    "CliffordTCounts",
    "DeviceMedians",
    "DistanceFit",
    "LogicalResources",
    "MemoryResult",
    "NoisePoint",
    "NoiseSweep",
    "PhysicalEstimate",
    "ResourceReport",
    "ShotEstimate",
    "check_num_keys",
    "check_precision",
    "classical_cost",
    "clifford_rz_circuit",
    "clifford_t_counts",
    "fit_distance_scaling",
    "logical_resources",
    "measured_errors",
    "memory_circuit",
    "memory_experiment",
    "memory_sweep",
    "noise_sweep",
    "physical_estimates",
    "required_distance",
    "resource_report",
    "shots_for_error",
    "shots_from_run",
    "threshold_crossing",
]
