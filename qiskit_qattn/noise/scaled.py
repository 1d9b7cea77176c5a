"""Device noise scaled by one factor: every channel, so ``0x`` is ideal and ``1x`` is the device.

:func:`scale_target` multiplies every calibrated error of a ``Target`` by ``factor`` (gate errors,
readout errors, including asymmetric ``prob_meas1_prep0`` / ``prob_meas0_prep1`` where the
properties carry them) and divides every T1 and T2 by it, so relaxation and dephasing during gates
and delays scale too. Durations are unchanged. ``factor = 0`` removes every channel (T1 and T2
become unknown, which Aer treats as no relaxation), so a circuit's noisy output equals its ideal
output. Scaled errors are capped at their physical maxima: ``2**k / (2**k + 1)`` for a ``k``-qubit
gate (Aer's bound, a fully depolarizing gate) and ``0.5`` for a readout flip (a coin toss).

:class:`ScaledDevice` is a ``BackendV2`` around the scaled target, usable wherever a device is: it
compiles like the original (same coupling map, basis and durations; noise-aware layout passes see
the scaled errors, whose ranking a common factor does not change) and the package's device noise
path (``noise_model="device"``) reduces and caches its model per name, which includes the factor.
:func:`scaled_noise_model` is :func:`~qiskit_qattn.noise.device_noise_model` of the scaled device.

To first order every channel's error probability is linear in ``factor`` (Aer splits a gate's
reported error into a relaxation part, which scales with ``duration / T1``, and a depolarizing
remainder), so ``factor`` multiplies the device's error budget as a whole.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from qiskit.providers import BackendV2, Options
from qiskit.transpiler import InstructionProperties, QubitProperties, Target
from qiskit_aer.noise import NoiseModel

#: Largest readout flip probability after scaling (beyond a coin toss a flip carries information).
MAX_READOUT_ERROR = 0.5


def check_factor(factor: Any, name: str = "factor") -> float:
    """``factor`` as a finite float ``>= 0``, else ``ValueError``/``TypeError`` naming ``name``.

    Example:
        >>> check_factor(2)
        2.0
    """
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 0; got {type(factor).__name__}")
    value = float(factor)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {factor!r}")
    return value


def _cap(error: float | None, cap: float, factor: float) -> float | None:
    if error is None:
        return None
    return min(float(error) * factor, cap)


def _scaled_properties(props: InstructionProperties | None, num_qubits: int, is_measure: bool,
                       factor: float) -> InstructionProperties | None:
    if props is None:
        return None
    cap = MAX_READOUT_ERROR if is_measure else 2**num_qubits / (2**num_qubits + 1)
    new = InstructionProperties(duration=props.duration, error=_cap(props.error, cap, factor))
    # Asymmetric readout (set by some providers as extra attributes): Aer prefers them.
    for attr in ("prob_meas1_prep0", "prob_meas0_prep1"):
        if hasattr(props, attr):
            setattr(new, attr, _cap(getattr(props, attr), MAX_READOUT_ERROR, factor))
    return new


def _scaled_qubit(props: QubitProperties | None, factor: float) -> QubitProperties | None:
    if props is None:
        return None

    def time(value):
        if value is None or factor == 0:
            return None
        return float(value) / factor

    return QubitProperties(t1=time(props.t1), t2=time(props.t2), frequency=props.frequency)


def scale_target(target: Target, factor: float) -> Target:
    """A copy of ``target`` with every error multiplied and every T1/T2 divided by ``factor``.

    Args:
        target: a device target (e.g. ``FakeTorino().target``).
        factor: noise scale ``>= 0`` (``0``: noiseless, ``1``: the device as calibrated).

    Returns:
        A new ``Target``: same qubits, instructions, coupling and durations.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> t = FakeTorino().target
        >>> s = scale_target(t, 2.0)
        >>> bool(abs(s["cz"][(0, 1)].error - 2 * t["cz"][(0, 1)].error) < 1e-15)
        True
        >>> bool(abs(s.qubit_properties[0].t1 - t.qubit_properties[0].t1 / 2) < 1e-15)
        True
    """
    if not isinstance(target, Target):
        raise TypeError(f"target must be a qiskit Target; got {type(target).__name__}")
    factor = check_factor(factor)
    qubit_props = target.qubit_properties
    scaled = Target(
        description=f"{target.description or 'target'} (noise x{factor:g})",
        num_qubits=target.num_qubits,
        dt=target.dt,
        granularity=target.granularity,
        min_length=target.min_length,
        pulse_alignment=target.pulse_alignment,
        acquire_alignment=target.acquire_alignment,
        qubit_properties=None if qubit_props is None else [
            _scaled_qubit(p, factor) for p in qubit_props],
        concurrent_measurements=target.concurrent_measurements,
    )
    for name in target.operation_names:
        operation = target.operation_from_name(name)
        instruction_props = target[name]
        if instruction_props is None or None in instruction_props:
            # Global or variadic instructions (control flow): nothing calibrated to scale.
            if isinstance(operation, type):
                scaled.add_instruction(operation, name=name)
            else:
                scaled.add_instruction(operation, instruction_props, name=name)
            continue
        is_measure = name == "measure"
        scaled.add_instruction(
            operation,
            {qargs: _scaled_properties(props, len(qargs), is_measure, factor)
             for qargs, props in instruction_props.items()},
            name=name,
        )
    return scaled


class ScaledDevice(BackendV2):
    """A device whose noise is ``factor`` times the original's (see :func:`scale_target`).

    Attributes:
        base: the original device.
        factor: the noise scale.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> dev = ScaledDevice(FakeTorino(), 0.5)
        >>> dev.name, dev.num_qubits
        ('fake_torino_noise_x0.5', 133)
    """

    def __init__(self, device: BackendV2, factor: float):
        if not isinstance(device, BackendV2):
            raise TypeError(f"device must be a BackendV2; got {type(device).__name__}")
        factor = check_factor(factor)
        super().__init__(name=f"{device.name}_noise_x{factor:g}",
                         backend_version=getattr(device, "backend_version", None))
        self.base = device
        self.factor = factor
        self._target = scale_target(device.target, factor)

    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self) -> int | None:
        return self.base.max_circuits

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=4096, seed_simulator=None)

    def run(self, run_input, **options):
        """Run on Aer with this device's full scaled noise model (slow for wide targets).

        The package's own estimators are faster: they reduce the model to the qubits in use.
        """
        from qiskit_aer import AerSimulator

        return AerSimulator.from_backend(self).run(run_input, **options)


def scaled_device(device: BackendV2, factor: float) -> BackendV2:
    """``device`` with noise scaled by ``factor`` (``ScaledDevice``); ``1`` returns ``device``.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> base = FakeTorino()
        >>> scaled_device(base, 1) is base, scaled_device(base, 3).name
        (True, 'fake_torino_noise_x3')
    """
    factor = check_factor(factor)
    if factor == 1.0:
        return device
    if isinstance(device, ScaledDevice):
        return ScaledDevice(device.base, device.factor * factor)
    return ScaledDevice(device, factor)


def scaled_noise_model(device: BackendV2, factor: float,
                       physical_qubits: Sequence[int]) -> NoiseModel:
    """Aer noise model of ``device`` at ``factor`` x its noise, on ``physical_qubits`` only.

    Qubit ``i`` of the model is ``physical_qubits[i]`` (as in ``device_noise_model``); cached.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> len(scaled_noise_model(FakeTorino(), 0.0, [0, 1]).to_dict()["errors"])
        0
    """
    from .device import device_noise_model

    return device_noise_model(scaled_device(device, factor), physical_qubits)
