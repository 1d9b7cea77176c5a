"""Dynamical decoupling of compiled circuits with Qiskit's scheduling passes.

Circuits are scheduled (``ALAPScheduleAnalysis`` / ``ASAPScheduleAnalysis`` with the target's
durations) and their idle windows on *active* qubits are filled by ``PadDynamicalDecoupling``
with a sequence written in the device's instruction set (``x`` pulses, ``rz`` frame changes), so
the output stays ISA and needs no further transpilation. Qubits the circuit never touches get no
pulses (they would otherwise all become active and be simulated).

Sequences follow Qiskit Runtime's names: ``"XX"`` (two ``x`` pulses) and ``"XY4"``
(``X Y X Y`` with ``Y = x`` after an ``rz(pi)`` frame change).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qiskit import QuantumCircuit
from qiskit.circuit.library import RZGate, XGate
from qiskit.transpiler import PassManager, Target
from qiskit.transpiler.passes import (
    ALAPScheduleAnalysis,
    ASAPScheduleAnalysis,
    PadDelay,
    PadDynamicalDecoupling,
)

DD_SEQUENCES = ("XX", "XY4")
SCHEDULING_METHODS = ("alap", "asap")


def _sequence(name: str):
    if name == "XX":
        return [XGate(), XGate()], None
    # XY4 = X, Y, X, Y in circuit order with Y ~ x . rz(pi); the rz are instantaneous.
    seq = [XGate(), RZGate(math.pi), XGate(), XGate(), RZGate(math.pi), XGate()]
    spacing = [1 / 8, 1 / 4, 0.0, 1 / 4, 1 / 4, 0.0, 1 / 8]
    return seq, spacing


def _active(circuit: QuantumCircuit) -> list[int]:
    from ..passes.idle_qubits import active_qubits

    return active_qubits(circuit)


def dd_pass_manager(
    target: Target,
    qubits: Sequence[int],
    *,
    sequence: str = "XX",
    scheduling: str = "alap",
) -> PassManager:
    """Scheduling + DD padding for ``qubits`` of a device ``target``.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> pm = dd_pass_manager(FakeTorino().target, [0, 1])
        >>> type(pm).__name__
        'PassManager'
    """
    if not isinstance(target, Target):
        raise TypeError(f"target must be a qiskit Target; got {type(target).__name__}")
    if sequence not in DD_SEQUENCES:
        raise ValueError(f"sequence must be one of {DD_SEQUENCES}; got {sequence!r}")
    if scheduling not in SCHEDULING_METHODS:
        raise ValueError(f"scheduling must be one of {SCHEDULING_METHODS}; got {scheduling!r}")
    for name in ("x", "delay"):
        if name not in target.operation_names:
            raise ValueError(f"dynamical decoupling needs {name!r} in the target")
    seq, spacing = _sequence(sequence)
    schedule = ALAPScheduleAnalysis if scheduling == "alap" else ASAPScheduleAnalysis
    return PassManager([
        schedule(target=target),
        PadDynamicalDecoupling(
            target=target,
            dd_sequence=seq,
            qubits=list(qubits),
            spacing=spacing,
            pulse_alignment=getattr(target, "pulse_alignment", 1) or 1,
        ),
    ])


def apply_dynamical_decoupling(
    circuits: QuantumCircuit | Sequence[QuantumCircuit],
    target: Target,
    *,
    sequence: str = "XX",
    scheduling: str = "alap",
) -> list[QuantumCircuit]:
    """Pad the idle windows of compiled circuits with a DD sequence (inputs are not modified).

    Args:
        circuits: ISA circuits for ``target`` (bound; measurements allowed at the end).
        target: the device target (durations, ``x``, ``delay``).
        sequence: one of :data:`DD_SEQUENCES`.
        scheduling: ``"alap"`` or ``"asap"``.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> qc = QuantumCircuit(133); _ = qc.cz(0, 1)
        >>> for _ in range(8): _ = qc.sx(0)
        >>> _ = qc.cz(0, 1)
        >>> apply_dynamical_decoupling(qc, FakeTorino().target)[0].count_ops()["x"]
        2
    """
    if not isinstance(target, Target):
        raise TypeError(f"target must be a qiskit Target; got {type(target).__name__}")
    if isinstance(circuits, QuantumCircuit):
        circuits = [circuits]
    out = []
    managers: dict[tuple[int, ...], PassManager] = {}
    for qc in circuits:
        if qc.parameters:
            raise ValueError("circuits must have every parameter bound before scheduling DD")
        if qc.num_qubits != target.num_qubits:
            raise ValueError(
                f"circuits must be compiled for the target ({target.num_qubits} qubits); "
                f"got a {qc.num_qubits}-qubit circuit"
            )
        key = tuple(_active(qc))
        if key not in managers:
            managers[key] = dd_pass_manager(target, key, sequence=sequence, scheduling=scheduling)
        padded = managers[key].run(qc)
        padded.metadata = dict(qc.metadata or {}, dd_sequence=sequence)
        out.append(padded)
    return out


def schedule_idle(
    circuits: QuantumCircuit | Sequence[QuantumCircuit],
    target: Target,
    *,
    scheduling: str = "alap",
) -> list[QuantumCircuit]:
    """Schedule and pad idle windows with plain delays (the no-DD reference for comparisons).

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> qc = QuantumCircuit(133); _ = qc.sx(0); _ = qc.cz(0, 1)
        >>> "delay" in schedule_idle(qc, FakeTorino().target)[0].count_ops()
        True
    """
    if isinstance(circuits, QuantumCircuit):
        circuits = [circuits]
    if scheduling not in SCHEDULING_METHODS:
        raise ValueError(f"scheduling must be one of {SCHEDULING_METHODS}; got {scheduling!r}")
    schedule = ALAPScheduleAnalysis if scheduling == "alap" else ASAPScheduleAnalysis
    pm = PassManager([schedule(target=target), PadDelay(target=target)])
    return [pm.run(qc) for qc in circuits]
