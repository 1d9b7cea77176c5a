"""Device-derived noise models reduced to the physical qubits a circuit uses, and cached.

``NoiseModel.from_backend`` on a 133-qubit target costs seconds per call; a model over the
handful of qubits an attention circuit touches costs milliseconds and gives the same output
distribution on that circuit (the noise on unused qubits never reaches its measurements).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target
from qiskit_aer.noise import NoiseModel

_CACHE: dict[tuple, NoiseModel] = {}
_LOCK = threading.Lock()


def reduced_target(target: Target, physical_qubits: Sequence[int]) -> Target:
    """A copy of ``target`` restricted to ``physical_qubits``, renumbered ``0..k-1`` in order.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> reduced_target(FakeTorino().target, [5, 4]).num_qubits
        2
    """
    qubits = [int(q) for q in physical_qubits]
    if len(set(qubits)) != len(qubits):
        raise ValueError(f"physical_qubits must be distinct; got {qubits}")
    if any(q < 0 or q >= target.num_qubits for q in qubits):
        raise ValueError(
            f"physical_qubits must lie in [0, {target.num_qubits}); got {qubits}"
        )
    index = {q: i for i, q in enumerate(qubits)}
    props = target.qubit_properties
    small = Target(
        description=f"{target.description or 'target'} reduced to {qubits}",
        num_qubits=len(qubits),
        dt=target.dt,
        qubit_properties=None if props is None else [props[q] for q in qubits],
    )
    for name in target.operation_names:
        operation = target.operation_from_name(name)
        instruction_props = target[name]
        if instruction_props is None or None in instruction_props:
            small.add_instruction(operation, name=name)
            continue
        kept = {
            tuple(index[q] for q in qargs): value
            for qargs, value in instruction_props.items()
            if all(q in index for q in qargs)
        }
        if kept:
            small.add_instruction(operation, kept, name=name)
    return small


class _TargetBackend(BackendV2):
    """The minimal ``BackendV2`` Aer's ``NoiseModel.from_backend`` needs around a target."""

    def __init__(self, target: Target, name: str):
        super().__init__(name=name)
        self._target = target

    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self) -> None:
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options()

    def run(self, run_input, **options):  # pragma: no cover - never executed
        raise NotImplementedError("this backend only carries a target for noise modelling")


def device_noise_model(
    device: BackendV2,
    physical_qubits: Sequence[int],
    *,
    gate_error: bool = True,
    readout_error: bool = True,
    thermal_relaxation: bool = True,
) -> NoiseModel:
    """Aer noise model of ``device`` on ``physical_qubits`` only (qubit i <- physical_qubits[i]).

    Cached per (device name, qubits, options); :func:`clear_noise_cache` empties the cache.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> nm = device_noise_model(FakeTorino(), [0, 1, 2])
        >>> sorted(nm.noise_qubits)
        [0, 1, 2]
    """
    if not isinstance(device, BackendV2):
        raise ValueError(f"device must be a BackendV2; got {type(device)!r}")
    qubits = tuple(int(q) for q in physical_qubits)
    key = (
        device.name,
        getattr(device, "backend_version", None),
        device.target.num_qubits,
        qubits,
        gate_error,
        readout_error,
        thermal_relaxation,
    )
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    small = _TargetBackend(reduced_target(device.target, qubits), f"{device.name}_reduced")
    model = NoiseModel.from_backend(
        small,
        gate_error=gate_error,
        readout_error=readout_error,
        thermal_relaxation=thermal_relaxation,
    )
    with _LOCK:
        _CACHE[key] = model
    return model


def clear_noise_cache() -> None:
    """Forget every cached reduced noise model."""
    with _LOCK:
        _CACHE.clear()
