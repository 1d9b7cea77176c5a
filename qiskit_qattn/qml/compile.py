"""ISA compilation of QNN circuits for a device, with observables laid out on the device.

The circuit is transpiled once, *unbound* (every angle is a polynomial of the parameters), with
Qiskit's preset pass manager; the observables follow with ``apply_layout``; and the QNN receives
the ISA circuit and laid-out observables with no ``pass_manager``. qiskit-machine-learning's own
``pass_manager=`` path re-transpiles every gradient circuit and lays the observables out a second
time, which is where its layout and "unknown instruction" errors come from (#872).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.providers import BackendV2
from qiskit.quantum_info import SparsePauliOp

from ..runtime import resolve_device


@dataclass
class CompiledCircuit:
    """An ISA circuit and its laid-out observables.

    Attributes:
        circuit: ISA circuit for :attr:`device` (measured into ``meas`` when keys were asked).
        observables: the observables on the device's qubits (``apply_layout``).
        device: the target backend.
        physical_qubits: device qubit of each logical qubit at the end of the circuit.
    """

    circuit: QuantumCircuit
    observables: list[SparsePauliOp]
    device: BackendV2
    physical_qubits: list[int]


def _check_initial_layout(initial_layout: Any, num_qubits: int, device: BackendV2) -> list[int]:
    try:
        qubits = [int(q) for q in initial_layout]
    except TypeError:
        raise TypeError(
            f"initial_layout must be a sequence of {num_qubits} device qubit indices; "
            f"got {type(initial_layout).__name__}"
        ) from None
    if len(qubits) != num_qubits:
        raise ValueError(
            f"initial_layout must place all {num_qubits} circuit qubits; got {len(qubits)} "
            f"entries: {qubits}"
        )
    if len(set(qubits)) != len(qubits):
        raise ValueError(f"initial_layout places two circuit qubits on one device qubit: {qubits}")
    bad = [q for q in qubits if not 0 <= q < device.num_qubits]
    if bad:
        raise ValueError(
            f"initial_layout uses qubits {bad} that {device.name} does not have "
            f"(it has {device.num_qubits})"
        )
    return qubits


def check_layout(circuit: QuantumCircuit, observables: Sequence[SparsePauliOp]) -> None:
    """Raise if ``observables`` do not act on the qubits ``circuit`` actually uses.

    A laid-out circuit (one with a ``TranspileLayout``) needs observables on the device's qubits
    where its logical qubits end up (``observable.apply_layout(circuit.layout)``); observables
    written for the logical circuit, or laid out for another compilation, are caught here
    instead of silently measuring idle qubits.

    Example:
        >>> check_layout(QuantumCircuit(2), [SparsePauliOp("ZI")])
        >>> check_layout(QuantumCircuit(2), [SparsePauliOp("Z")])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: observables[0] acts on 1 qubits but the circuit has 2; ...
    """
    for i, op in enumerate(observables):
        if op.num_qubits != circuit.num_qubits:
            raise ValueError(
                f"observables[{i}] acts on {op.num_qubits} qubits but the circuit has "
                f"{circuit.num_qubits}; lay it out with observable.apply_layout(circuit.layout)"
            )
    if circuit.layout is None:
        return
    active = set(circuit.layout.final_index_layout(filter_ancillas=True))
    for i, op in enumerate(observables):
        support = {q for pauli in op.paulis for q in range(op.num_qubits)
                   if pauli.z[q] or pauli.x[q]}
        idle = sorted(support - active)
        if idle:
            raise ValueError(
                f"observables[{i}] acts on device qubits {idle}, which hold no qubit of the "
                f"circuit (its qubits end on {sorted(active)}); lay the logical observable out "
                "with observable.apply_layout(circuit.layout)"
            )


def compile_for_device(
    circuit: QuantumCircuit,
    observables: Sequence[SparsePauliOp],
    device: str | BackendV2,
    *,
    key_qubits: Sequence[int] | None = None,
    optimization_level: int = 3,
    seed_transpiler: int | None = 0,
    initial_layout: Sequence[int] | None = None,
    pass_manager: Any = None,
) -> CompiledCircuit:
    """Transpile an unbound QNN circuit to ``device``'s ISA and lay its observables out.

    Args:
        circuit: the logical circuit (parameters unbound).
        observables: logical observables (one per estimator output).
        device: a ``BackendV2`` or a device name such as ``"fake_torino"``.
        key_qubits: logical qubits to measure for a sampler; each is measured into bit ``p`` of
            a ``meas`` register, ``p`` its final device qubit (the convention ``SamplerQNN``
            decodes for laid-out circuits).
        optimization_level: preset level 0..3.
        seed_transpiler: transpiler seed.
        initial_layout: device qubit for each logical qubit.
        pass_manager: your own pass manager (overrides the preset options).

    Raises:
        ValueError: bad ``initial_layout``, or compilation dropped a parameter.

    Example:
        >>> from qiskit.circuit import Parameter
        >>> a = Parameter("a"); qc = QuantumCircuit(2); _ = qc.ry(a, 0); _ = qc.cx(0, 1)
        >>> out = compile_for_device(qc, [SparsePauliOp("ZI")], "fake_nairobi")
        >>> out.circuit.num_qubits, out.observables[0].num_qubits, out.circuit.num_parameters
        (7, 7, 1)
    """
    device = resolve_device(device)
    if optimization_level not in (0, 1, 2, 3):
        raise ValueError(f"optimization_level must be 0, 1, 2 or 3; got {optimization_level!r}")
    if circuit.num_qubits > device.num_qubits:
        raise ValueError(
            f"the circuit needs {circuit.num_qubits} qubits; {device.name} has {device.num_qubits}"
        )
    if pass_manager is None:
        from qiskit.transpiler import generate_preset_pass_manager

        layout = None
        if initial_layout is not None:
            layout = _check_initial_layout(initial_layout, circuit.num_qubits, device)
        pass_manager = generate_preset_pass_manager(
            optimization_level=optimization_level, backend=device,
            seed_transpiler=seed_transpiler, initial_layout=layout,
        )
    isa = pass_manager.run(circuit)
    lost = sorted(p.name for p in set(circuit.parameters) - set(isa.parameters))
    if lost:
        raise ValueError(
            f"compilation removed parameters {lost} from the circuit; a QNN cannot bind them "
            "(use a lower optimization_level or keep every parameter in a gate)"
        )
    if isa.layout is None:
        raise ValueError("pass_manager must set a layout (a preset pass manager for the device)")
    physical = list(isa.layout.final_index_layout(filter_ancillas=True))
    laid_out = [SparsePauliOp(op).apply_layout(isa.layout) for op in observables]
    if key_qubits is not None:
        keys = [physical[q] for q in key_qubits]
        meas = ClassicalRegister(max(keys) + 1, "meas")
        isa = isa.copy()
        isa.add_register(meas)
        for q in keys:
            isa.measure(q, meas[q])
    check_layout(isa, laid_out)
    return CompiledCircuit(isa, laid_out, device, physical)
