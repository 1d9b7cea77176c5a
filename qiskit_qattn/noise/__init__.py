"""Noise models for attention circuits (Aer ``NoiseModel``s).

Analytic models share one constructor style (validated ``p1``/``p2``/``readout`` keywords):
:func:`depolarizing_noise`, :func:`amplitude_damping_noise`, :func:`phase_damping_noise`,
:func:`thermal_relaxation_noise` (T1/T2/gate times given or read from a ``Target``),
:func:`correlated_noise` (ZZ crosstalk and correlated two-qubit depolarizing on coupled pairs).
Device-derived models are reduced to the active physical qubits and cached
(:func:`device_noise_model`). :func:`build_noise_model` selects one by name.
:func:`noisy_distributions` gives the exact noisy outcome distributions of measured circuits
(density matrix on the active qubits, readout applied analytically), so local noisy runs cost the
same for any number of shots.
"""

from .device import clear_noise_cache, device_noise_model, reduced_target
from .distributions import (
    MAX_DENSITY_QUBITS,
    apply_readout,
    noisy_distributions,
    readout_matrices,
)
from .models import (
    NOISE_KINDS,
    ONE_QUBIT_GATES,
    TWO_QUBIT_GATES,
    amplitude_damping_noise,
    build_noise_model,
    correlated_noise,
    depolarizing_noise,
    phase_damping_noise,
    thermal_relaxation_noise,
)

__all__ = [
    "MAX_DENSITY_QUBITS",
    "NOISE_KINDS",
    "ONE_QUBIT_GATES",
    "TWO_QUBIT_GATES",
    "amplitude_damping_noise",
    "apply_readout",
    "build_noise_model",
    "clear_noise_cache",
    "correlated_noise",
    "depolarizing_noise",
    "device_noise_model",
    "noisy_distributions",
    "phase_damping_noise",
    "readout_matrices",
    "reduced_target",
    "thermal_relaxation_noise",
]
