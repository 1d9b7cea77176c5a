"""Compile attention circuits for a device with Qiskit's preset pass managers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qiskit import QuantumCircuit
from qiskit.providers import BackendV2
from qiskit.transpiler import generate_preset_pass_manager


def compile_circuits(
    circuits: QuantumCircuit | Sequence[QuantumCircuit],
    backend: BackendV2,
    *,
    optimization_level: int = 3,
    seed_transpiler: int | None = 0,
    measure: bool = False,
    **pass_manager_options: Any,
) -> list[QuantumCircuit]:
    """Transpile circuits to ``backend``'s ISA with ``generate_preset_pass_manager``.

    Args:
        circuits: one circuit or a sequence.
        backend: target device (its ``target`` wins over any basis/coupling options).
        optimization_level: 0..3.
        seed_transpiler: transpiler seed (reproducible layouts).
        measure: append ``measure_all`` to copies of the circuits first (for samplers).
        **pass_manager_options: forwarded, e.g. ``optimization_method="qattn"``.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> qc = QuantumCircuit(2); _ = qc.h(0); _ = qc.cx(0, 1)
        >>> compile_circuits(qc, FakeTorino())[0].num_qubits
        133
    """
    if isinstance(circuits, QuantumCircuit):
        circuits = [circuits]
    if optimization_level not in (0, 1, 2, 3):
        raise ValueError(f"optimization_level must be 0, 1, 2 or 3; got {optimization_level!r}")
    prepared = []
    for qc in circuits:
        if measure:
            qc = qc.copy()
            qc.measure_all()
        prepared.append(qc)
    pm = generate_preset_pass_manager(
        optimization_level=optimization_level,
        backend=backend,
        seed_transpiler=seed_transpiler,
        **pass_manager_options,
    )
    return list(pm.run(prepared))


def compile_qattn(
    circuits: QuantumCircuit | Sequence[QuantumCircuit],
    backend: BackendV2,
    *,
    optimization_level: int = 3,
    seed_transpiler: int | None = 0,
    measure: bool = False,
    approximation_degree: float | None = None,
    init_method: str | None = "qattn",
    **pass_manager_options: Any,
) -> list[QuantumCircuit]:
    """:func:`compile_circuits` with the ``qattn`` stages (what the demo calls).

    The ``qattn`` optimization stage always runs; ``init_method="qattn"`` (the default) also
    recovers phase polynomials before layout and gives small ``StatePreparation`` gates the
    path-native amplitude encoding (their action on ``|0...0>`` is kept, as for any
    ``StatePreparation``); pass ``init_method=None`` for Qiskit's init stage.
    ``approximation_degree < 1`` lets the stages drop small phase terms; the bound on the
    operator-norm error is in each output's ``metadata["qattn_error_bound"]``.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> qc = QuantumCircuit(2); _ = qc.h(0); _ = qc.cx(0, 1)
        >>> compile_qattn(qc, FakeTorino())[0].num_qubits
        133
    """
    if approximation_degree is not None:
        pass_manager_options["approximation_degree"] = approximation_degree
    if isinstance(circuits, QuantumCircuit):
        circuits = [circuits]
    if optimization_level not in (0, 1, 2, 3):
        raise ValueError(f"optimization_level must be 0, 1, 2 or 3; got {optimization_level!r}")
    pm = generate_preset_pass_manager(
        optimization_level=optimization_level,
        backend=backend,
        seed_transpiler=seed_transpiler,
        optimization_method="qattn",
        **({} if init_method is None else {"init_method": init_method}),
        **pass_manager_options,
    )
    out = []
    for qc in circuits:
        if measure:
            qc = qc.copy()
            qc.measure_all()
        compiled = pm.run(qc)
        bound = pm.property_set["qattn_error_bound"]
        compiled.metadata = dict(compiled.metadata or {}, qattn_error_bound=float(bound or 0.0))
        out.append(compiled)
    return out
