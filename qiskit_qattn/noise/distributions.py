"""Exact noisy outcome distributions of measured ISA circuits: shots cost nothing.

Aer samples a noisy circuit one shot at a time (about a microsecond per shot for a few qubits), so
mitigation runs with millions of shots spend their time sampling. Here each circuit runs once on
Aer's density-matrix method over its active qubits (device noise reduced to those qubits, or any
``NoiseModel``), the pre-measurement probabilities of the measured qubits are saved, and the
readout errors of the noise model are applied analytically. Drawing ``shots`` outcomes from the
result (``numpy``'s multinomial) has the same distribution as Aer's own sampling.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.providers import BackendV2
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel

#: Density matrices of more active qubits than this are refused (4**12 complex128 = 256 MiB).
MAX_DENSITY_QUBITS = 12


def measured_body(circuit: QuantumCircuit, *, compact: bool = True, keep_delays: bool = True
                  ) -> tuple[QuantumCircuit, list[int], tuple, int]:
    """``(unmeasured body, its qubit measured into each bit, kept qubits, active count)``.

    One pass: measurements must be final; barriers are dropped (they change no probability).
    With ``compact`` the body keeps only the qubits that carry an operation or a measurement,
    renumbered in increasing order (qubit ``i`` of the body is ``kept[i]``). Delays on active
    qubits stay (thermal relaxation acts during them) unless ``keep_delays`` is false (an
    ideal simulation, where a delay is the identity).

    Example:
        >>> qc = QuantumCircuit(3, 1)
        >>> _ = qc.h(2); _ = qc.measure(2, 0)
        >>> body, measured, kept, active = measured_body(qc)
        >>> body.num_qubits, measured, kept, active
        (1, [0], (2,), 1)
    """
    mapping: dict[int, int] = {}
    measured: set[int] = set()
    ops: list[tuple] = []
    used: set[int] = set()
    for inst in circuit.data:
        name = inst.operation.name
        qubits = [circuit.find_bit(q).index for q in inst.qubits]
        if name == "measure":
            mapping[circuit.find_bit(inst.clbits[0]).index] = qubits[0]
            measured.add(qubits[0])
            continue
        if name == "barrier":
            continue
        if measured.intersection(qubits):
            raise ValueError("circuits must measure only at the end (no mid-circuit measurement)")
        if inst.clbits:
            raise ValueError(f"circuits must not use classical bits outside measurements ({name})")
        if name != "delay":
            used.update(qubits)
        elif not keep_delays:
            continue
        ops.append((inst.operation, qubits))
    if not mapping or sorted(mapping) != list(range(circuit.num_clbits)):
        raise ValueError("circuits must measure every classical bit exactly once, at the end")
    order = [mapping[i] for i in range(circuit.num_clbits)]
    active = used | set(order)
    kept = tuple(sorted(active)) if compact else tuple(range(circuit.num_qubits))
    index = {q: i for i, q in enumerate(kept)}
    body = QuantumCircuit(len(kept), global_phase=circuit.global_phase)
    for op, qubits in ops:
        if active.issuperset(qubits):  # delays on idle wires are dropped
            body.append(op, [index[q] for q in qubits], copy=False)
    return body, [index[q] for q in order], kept, len(active)


def _readout_table(noise_model: NoiseModel | None) -> tuple[np.ndarray | None, dict]:
    """``(all-qubit matrix or None, {qubit: matrix})`` of one-qubit readout errors."""
    default = None
    local: dict[int, np.ndarray] = {}
    if noise_model is None:
        return default, local
    for entry in noise_model.to_dict()["errors"]:
        if entry["type"] != "roerror":
            continue
        matrix = np.asarray(entry["probabilities"], dtype=float).T  # Aer rows: prepared
        if "gate_qubits" not in entry:
            if matrix.shape != (2, 2):
                raise ValueError("only one-qubit readout errors are supported here")
            default = matrix
            continue
        for gate_qubits in entry["gate_qubits"]:
            if len(gate_qubits) != 1:
                raise ValueError(
                    "correlated multi-qubit readout errors are not supported by exact noisy "
                    "distributions; simulate them with Aer shots (qiskit_qattn.sim.simulate)"
                )
            local[int(gate_qubits[0])] = matrix
    return default, local


def readout_matrices(noise_model: NoiseModel | None, qubits: Sequence[int],
                     _table: tuple | None = None) -> list[np.ndarray]:
    """Per-qubit readout matrices ``A[measured, prepared]`` of ``noise_model`` on ``qubits``.

    Local readout errors win over an all-qubit one, as in Aer; qubits without any get the identity.

    Example:
        >>> from qiskit_qattn.noise import depolarizing_noise
        >>> readout_matrices(depolarizing_noise(readout=(0.1, 0.2)), [0])[0].tolist()
        [[0.9, 0.2], [0.1, 0.8]]
    """
    default, local = _table if _table is not None else _readout_table(noise_model)
    fallback = default if default is not None else np.eye(2)
    return [local.get(int(q), fallback) for q in qubits]


def apply_readout(probs: np.ndarray, matrices: Sequence[np.ndarray]) -> np.ndarray:
    """Apply per-bit readout matrices to distributions ``[..., 2**k]`` (bit ``i`` <- ``A_i``).

    Example:
        >>> apply_readout(np.array([1.0, 0.0]), [np.array([[0.9, 0.2], [0.1, 0.8]])]).tolist()
        [0.9, 0.1]
    """
    probs = np.asarray(probs, dtype=float)
    k = len(matrices)
    lead = probs.shape[:-1]
    tensor = probs.reshape(lead + (2,) * k)
    for i, matrix in enumerate(matrices):
        if np.allclose(matrix, np.eye(2)):
            continue
        axis = len(lead) + k - 1 - i  # C order: the last axis is bit 0
        tensor = np.moveaxis(np.tensordot(matrix, tensor, axes=([1], [axis])), 0, axis)
    return tensor.reshape(probs.shape)


def noisy_distributions(
    circuits: Sequence[QuantumCircuit],
    *,
    device: BackendV2 | None = None,
    noise_model: NoiseModel | str | None = "device",
) -> np.ndarray:
    """Exact outcome distributions ``[num_circuits, 2**num_clbits]`` under noise, readout included.

    Args:
        circuits: measured circuits (every classical bit measured once, at the end), usually ISA.
        device: the device (``BackendV2``) for ``noise_model="device"``.
        noise_model: ``"device"`` (``device``'s noise reduced to each circuit's active qubits,
            cached), an Aer ``NoiseModel`` over the circuits' own qubit indices, or ``None``.

    Example:
        >>> from qiskit_qattn.noise import depolarizing_noise
        >>> qc = QuantumCircuit(1, 1); _ = qc.x(0); _ = qc.measure(0, 0)
        >>> noisy_distributions([qc], noise_model=depolarizing_noise(0, 0, readout=0.1)).tolist()
        [[0.1, 0.9]]
    """
    from .device import device_noise_model

    if isinstance(noise_model, str) and noise_model != "device":
        raise ValueError(f"noise_model must be 'device', a NoiseModel or None; got {noise_model!r}")
    if noise_model == "device" and not isinstance(device, BackendV2):
        raise ValueError("noise_model='device' needs a device (BackendV2)")
    circuits = list(circuits)
    if not circuits:
        raise ValueError("circuits must not be empty")
    widths = {qc.num_clbits for qc in circuits}
    if len(widths) != 1:
        raise ValueError(f"circuits must share one classical width; got {sorted(widths)}")
    k = widths.pop()
    compact = noise_model is None or noise_model == "device"
    groups: dict[tuple, list[int]] = {}
    prepared: list[tuple[QuantumCircuit, list[int]]] = []
    for i, qc in enumerate(circuits):
        body, local, kept, active = measured_body(qc, compact=compact)
        if active > MAX_DENSITY_QUBITS:
            raise ValueError(
                f"{active} active qubits exceed the density-matrix limit of {MAX_DENSITY_QUBITS}; "
                "sample them with qiskit_qattn.execution.LocalSampler (Aer shots)"
            )
        body.save_probabilities(qubits=local)
        prepared.append((body, local))
        groups.setdefault(kept if compact else (), []).append(i)
    out = np.zeros((len(circuits), 2**k))
    for key, idx in groups.items():
        model = device_noise_model(device, list(key)) if noise_model == "device" else (
            noise_model)
        sim = AerSimulator(method="density_matrix", noise_model=model)
        result = sim.run([prepared[i][0] for i in idx]).result()
        table = _readout_table(model)
        for j, i in enumerate(idx):
            probs = np.asarray(result.data(j)["probabilities"], dtype=float)
            out[i] = apply_readout(probs, readout_matrices(model, prepared[i][1], table))
    np.clip(out, 0.0, None, out=out)
    return out / out.sum(axis=1, keepdims=True)
