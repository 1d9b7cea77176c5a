"""Local shot sampling, ideal or under device noise: the package's one local sampler."""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from .base import Executor
from .batch import CircuitBatch, Outcomes
from .statevector import StatevectorExecutor


class LocalSampler(Executor):
    """Sample shots locally: from exact ideal probabilities, or from exact noisy distributions.

    Without a device the logical circuits' exact probabilities (``simulate``; the structured
    kernel for QAOA) are sampled. With a device the batch must hold measured ISA circuits: each
    runs once as an Aer density matrix over its active qubits (device noise reduced to those
    qubits and cached, or any Aer ``NoiseModel``), readout errors applied analytically, and the
    exact distribution is sampled ``shots`` times — a million shots cost what ten do. Circuits
    with more active qubits than :data:`~qiskit_qattn.noise.MAX_DENSITY_QUBITS` fall back to
    Aer's own shot-by-shot sampling.

    Args:
        device: ``BackendV2`` or name (``None`` = ideal sampling of logical circuits).
        noise_model: ``"device"`` (the device's noise on the qubits in use), an Aer
            ``NoiseModel`` over the compiled circuits' qubits, or ``None`` (noiseless).
        seed: seeds every draw (the same seed gives the same counts).

    Example:
        >>> from qiskit import QuantumCircuit
        >>> qc = QuantumCircuit(1); _ = qc.x(0)
        >>> LocalSampler(seed=1).run([CircuitBatch([qc], 1)], shots=10)[0].counts.tolist()
        [[0, 10]]
    """

    name = "shots"

    def __init__(self, device: Any | None = None, *, noise_model: Any = "device",
                 seed: int | None = None):
        super().__init__()
        if isinstance(noise_model, str) and noise_model != "device":
            raise ValueError(f"noise_model must be 'device', a NoiseModel or None; got "
                             f"{noise_model!r}")
        if device is not None:
            from ..runtime import resolve_device

            device = resolve_device(device)
        elif noise_model is not None and noise_model != "device":
            raise ValueError("a custom noise_model needs a device to compile for")
        self._device = device
        self.noise_model = noise_model if device is not None else None
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    @property
    def device(self):
        return self._device

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        if self._device is None:
            out["noise"] = "none (ideal sampling)"
        else:
            out["noise"] = ("none" if self.noise_model is None else
                            "device (reduced)" if self.noise_model == "device" else "custom")
        return out

    def distributions(self, batch: CircuitBatch) -> np.ndarray:
        """``[rows, 2**num_bits]`` exact outcome distributions of a batch (noisy if a device).

        Raises ``ValueError`` for circuits beyond the density-matrix limit (they are sampled
        with Aer shots by :meth:`run` instead).
        """
        if self._device is None:
            return StatevectorExecutor().probabilities(batch)
        from ..noise.distributions import noisy_distributions

        return noisy_distributions(batch.circuits, device=self._device,
                                   noise_model=self.noise_model)

    def _run(self, batches: list[CircuitBatch], shots: int | None) -> list[Outcomes]:
        from ..noise.distributions import MAX_DENSITY_QUBITS
        from ..sim.sampling import sample_counts

        out = []
        for batch in batches:
            if self._device is not None and not batch.measured:
                raise ValueError("noisy sampling needs measured ISA circuits (compile the head "
                                 "with measure=True)")
            if self._device is not None and _max_active(batch.circuits) > MAX_DENSITY_QUBITS:
                counts = _aer_counts(batch.circuits, shots, 2**batch.num_bits, self._device,
                                     self.noise_model, self._rng)
            else:
                counts = sample_counts(self.distributions(batch), shots, self._rng)
            out.append(Outcomes.from_counts(counts, shots, **self.describe()))
        return out


def _max_active(circuits) -> int:
    from ..passes.idle_qubits import active_qubits

    return max(len(active_qubits(qc)) for qc in circuits)


def _aer_counts(circuits, shots: int, num_outcomes: int, device, noise_model, rng
                ) -> np.ndarray:
    """Aer shot sampling of measured circuits on their active qubits (wide circuits only)."""
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel

    from ..noise.device import device_noise_model
    from ..passes.idle_qubits import compact_circuit

    out = np.zeros((len(circuits), num_outcomes), dtype=np.int64)
    groups: dict[tuple, list[int]] = {}
    runnable: list[QuantumCircuit] = []
    for i, qc in enumerate(circuits):
        if isinstance(noise_model, NoiseModel):
            runnable.append(qc)  # the user's model is indexed by the full circuit's qubits
            groups.setdefault((), []).append(i)
            continue
        small, qubits = compact_circuit(qc)
        runnable.append(small)
        groups.setdefault(tuple(qubits), []).append(i)
    for qubits, idx in groups.items():
        model = device_noise_model(device, list(qubits)) if noise_model == "device" else (
            noise_model)
        sim = AerSimulator(noise_model=model, seed_simulator=int(rng.integers(2**31)))
        result = sim.run([runnable[i] for i in idx], shots=shots).result()
        for j, i in enumerate(idx):
            for key, value in result.get_counts(j).items():
                out[i, int(key.replace(" ", ""), 2)] += int(value)
    return out
