"""Shot sampling of compiled circuits on Aer, idle qubits removed, with an optional noise model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.providers import BackendV2
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel

from ..noise.device import device_noise_model
from .compact import compact_circuit


def counts_to_array(counts: dict, num_outcomes: int) -> np.ndarray:
    """Histogram ``{outcome: count}`` (int or bitstring/hex keys) as a dense int array.

    Example:
        >>> counts_to_array({"01": 3, "10": 1}, 4).tolist()
        [0, 3, 1, 0]
    """
    out = np.zeros(num_outcomes, dtype=np.int64)
    for key, value in counts.items():
        if isinstance(key, str):
            key = int(key, 16) if key.startswith("0x") else int(key.replace(" ", ""), 2)
        out[int(key)] += int(value)
    return out


def sample_compiled(
    circuits: Sequence[QuantumCircuit],
    *,
    shots: int,
    num_outcomes: int,
    backend: BackendV2 | None = None,
    noise_model: NoiseModel | str | None = "device",
    seed: int | None = None,
) -> np.ndarray:
    """Sample measured, compiled circuits on Aer and return counts ``[num_circuits, outcomes]``.

    Each circuit runs on its active qubits only; with ``noise_model="device"`` it gets
    ``backend``'s noise reduced to those physical qubits (cached), so a 133-qubit device costs
    what a 4-qubit one does.

    Args:
        circuits: circuits with measurements into one classical register of the key width.
        shots: shots per circuit.
        num_outcomes: ``2**m`` for an ``m``-qubit key register.
        backend: device whose noise to use with ``noise_model="device"``.
        noise_model: ``"device"``, an Aer ``NoiseModel`` over the circuits' full width, or
            ``None`` for noiseless sampling.
        seed: simulator seed.

    Example:
        >>> qc = QuantumCircuit(1, 1); _ = qc.x(0); _ = qc.measure(0, 0)
        >>> sample_compiled([qc], shots=10, num_outcomes=2, noise_model=None).tolist()
        [[0, 10]]
    """
    if isinstance(noise_model, str) and noise_model != "device":
        raise ValueError(f"noise_model must be 'device', a NoiseModel or None; got {noise_model!r}")
    if noise_model == "device" and backend is None:
        raise ValueError("noise_model='device' needs a backend")
    rng = np.random.default_rng(seed)
    out = np.zeros((len(circuits), num_outcomes), dtype=np.int64)
    groups: dict[tuple, list[int]] = {}
    compacted = []
    for i, qc in enumerate(circuits):
        if isinstance(noise_model, NoiseModel):
            compacted.append(qc)  # the user's model is indexed by the full circuit's qubits
            groups.setdefault((), []).append(i)
            continue
        small, qubits = compact_circuit(qc)
        compacted.append(small)
        groups.setdefault(tuple(qubits), []).append(i)
    for qubits, idx in groups.items():
        if noise_model == "device":
            model = device_noise_model(backend, list(qubits))
        else:
            model = noise_model
        sim = AerSimulator(noise_model=model, seed_simulator=int(rng.integers(2**31)))
        result = sim.run([compacted[i] for i in idx], shots=shots).result()
        for j, i in enumerate(idx):
            out[i] = counts_to_array(result.get_counts(j), num_outcomes)
    return out
