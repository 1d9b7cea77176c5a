"""Hand attention circuits to PennyLane, Amazon Braket or Cirq (optional extras, imported on call).

Every hand-off first unrolls the circuit to :data:`PORTABLE_BASIS` with its final measurements
removed (:func:`portable_circuit`), then converts it with the other framework's own importer:

- PennyLane: ``qml.from_qiskit`` (``pennylane-qiskit``) when installed, otherwise PennyLane's own
  OpenQASM 3 importer ``qml.from_qasm3`` (``pennylane`` alone; ``pennylane-qiskit`` pins
  ``qiskit<=2.3.0`` and ``qiskit-ibm-runtime~=0.45``, which this package's pins exclude);
- Braket: ``qiskit-braket-provider``'s ``to_braket``;
- Cirq: ``cirq.contrib.qasm_import.circuit_from_qasm`` on Qiskit's OpenQASM 2 export.

Qubit ``i`` of the Qiskit circuit is PennyLane wire ``i``, Braket qubit ``i`` and Cirq's
``NamedQubit(f"q_{i}")``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from typing import Any

from qiskit import QuantumCircuit, transpile

#: Gates every framework we hand circuits to understands.
PORTABLE_BASIS = ("rz", "ry", "rx", "h", "x", "sx", "cx")
#: How :func:`to_pennylane` converts: ``"auto"`` picks ``"qiskit"`` when pennylane-qiskit is there.
PENNYLANE_ROUTES = ("auto", "qiskit", "qasm3")


def portable_circuit(circuit: QuantumCircuit, *, bind: dict | None = None) -> QuantumCircuit:
    """``circuit`` in :data:`PORTABLE_BASIS` on one register ``q``, final measurements removed.

    State preparation, Pauli evolutions and other high-level gates are unrolled; ``bind``
    assigns parameters first.

    Example:
        >>> import numpy as np
        >>> from qiskit.quantum_info import Statevector
        >>> from qiskit_qattn.circuits import softmax_state
        >>> qc = softmax_state([0.1, 0.7, -0.3])
        >>> out = portable_circuit(qc)
        >>> set(out.count_ops()) <= set(PORTABLE_BASIS)
        True
        >>> bool(np.allclose(Statevector(out).probabilities(), Statevector(qc).probabilities()))
        True
    """
    if not isinstance(circuit, QuantumCircuit):
        raise TypeError(f"circuit must be a QuantumCircuit; got {type(circuit).__name__}")
    qc = circuit.assign_parameters(bind) if bind else circuit
    qc = qc.remove_final_measurements(inplace=False)
    if qc.num_clbits:
        raise ValueError("circuit has mid-circuit measurements; only final ones can be handed off")
    compiled = transpile(qc, basis_gates=list(PORTABLE_BASIS), optimization_level=1,
                         seed_transpiler=0)
    out = QuantumCircuit(qc.num_qubits, name=circuit.name, metadata=dict(circuit.metadata or {}))
    out.compose(compiled, range(qc.num_qubits), inplace=True)
    return out


def to_pennylane(circuit: QuantumCircuit, *, bind: dict | None = None,
                 via: str = "auto") -> Callable[..., Any]:
    """A PennyLane quantum function applying ``circuit`` (call it inside a QNode).

    Args:
        circuit: the circuit (parameters bound with ``bind``).
        bind: parameter values.
        via: ``"qiskit"`` (``qml.from_qiskit``, needs ``pennylane-qiskit``), ``"qasm3"``
            (PennyLane's own OpenQASM 3 importer) or ``"auto"``.

    Returns:
        ``qfunc(wires=None)``: applies the gates on ``wires`` (default ``0..n-1``, wire ``i`` =
        Qiskit qubit ``i``). PennyLane orders ``qml.probs`` big-endian: measure
        ``wires[::-1]`` for Qiskit's order.

    Example:
        >>> import pennylane as qml  # doctest: +SKIP
        >>> qc = QuantumCircuit(2); _ = qc.x(0)
        >>> @qml.qnode(qml.device("default.qubit", wires=2))  # doctest: +SKIP
        ... def probs():
        ...     to_pennylane(qc)()
        ...     return qml.probs(wires=[1, 0])
        >>> probs().tolist()  # doctest: +SKIP
        [0.0, 1.0, 0.0, 0.0]
    """
    if via not in PENNYLANE_ROUTES:
        raise ValueError(f"via must be one of {PENNYLANE_ROUTES}; got {via!r}")
    try:
        import pennylane as qml
    except ImportError as exc:
        raise ImportError("to_pennylane needs PennyLane: pip install pennylane "
                          "(or qiskit-qattn[interop])") from exc
    if via == "auto":
        via = "qiskit" if importlib.util.find_spec("pennylane_qiskit") else "qasm3"
    portable = portable_circuit(circuit, bind=bind)
    n = portable.num_qubits
    if via == "qiskit":
        if importlib.util.find_spec("pennylane_qiskit") is None:
            raise ImportError("to_pennylane(via='qiskit') needs pip install pennylane-qiskit")
        converted = qml.from_qiskit(portable)

        def qfunc(wires: Sequence[Any] | None = None) -> None:
            converted(wires=list(range(n)) if wires is None else list(wires))
    else:
        from qiskit import qasm3

        text = qasm3.dumps(portable).replace('include "stdgates.inc";\n', "")
        loaded = qml.from_qasm3(text)

        def qfunc(wires: Sequence[Any] | None = None) -> None:
            target = list(range(n)) if wires is None else list(wires)
            if len(target) != n:
                raise ValueError(f"wires must name {n} wires; got {len(target)}")
            qml.map_wires(loaded, {f"q[{i}]": w for i, w in enumerate(target)})()

    qfunc.__doc__ = f"Apply the {n}-qubit circuit {circuit.name!r} (via {via})."
    return qfunc


def to_braket(circuit: QuantumCircuit, *, bind: dict | None = None) -> Any:
    """An Amazon Braket ``Circuit`` for ``circuit`` (via ``qiskit-braket-provider``).

    Braket drops qubits without gates; this keeps every qubit (identity gates), so Braket qubit
    ``i`` is Qiskit qubit ``i``. Braket orders probabilities with qubit 0 most significant.
    """
    try:
        try:
            from qiskit_braket_provider import to_braket as convert
        except ImportError:
            from qiskit_braket_provider.providers.adapter import to_braket as convert
    except ImportError as exc:
        raise ImportError("to_braket needs pip install qiskit-braket-provider "
                          "(or qiskit-qattn[interop])") from exc
    portable = portable_circuit(circuit, bind=bind)
    out = convert(portable)
    present = {int(q) for q in out.qubits}
    for q in range(portable.num_qubits):
        if q not in present:
            out.i(q)
    return out


def to_cirq(circuit: QuantumCircuit, *, bind: dict | None = None) -> Any:
    """A ``cirq.Circuit`` for ``circuit``, through OpenQASM 2 and Cirq's own importer.

    Qiskit qubit ``i`` becomes ``cirq.NamedQubit(f"q_{i}")`` (see :func:`cirq_qubits`).

    Example:
        >>> qc = QuantumCircuit(2); _ = qc.h(0); _ = qc.cx(0, 1)
        >>> sorted(str(q) for q in to_cirq(qc).all_qubits())  # doctest: +SKIP
        ['q_0', 'q_1']
    """
    try:
        from cirq.contrib.qasm_import import circuit_from_qasm
    except ImportError as exc:
        raise ImportError("to_cirq needs pip install cirq-core ply "
                          "(or qiskit-qattn[interop])") from exc
    from qiskit import qasm2

    return circuit_from_qasm(qasm2.dumps(portable_circuit(circuit, bind=bind)))


def cirq_qubits(num_qubits: int) -> list[Any]:
    """The Cirq qubits of a circuit from :func:`to_cirq`, Qiskit qubit order."""
    import cirq

    return [cirq.NamedQubit(f"q_{i}") for i in range(int(num_qubits))]
