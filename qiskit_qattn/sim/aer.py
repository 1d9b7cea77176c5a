"""Aer adapter: noisy, density-matrix (and Aer statevector / MPS) runs behind :func:`simulate`.

Exact expectation values use Aer's ``save_expectation_value`` (on the density matrix when a
noise model is given, so the noise is averaged exactly, not sampled); value vectors use
``save_probabilities``; with ``shots`` every qubit is measured and diagonal observables are
estimated from the counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, transpile

from .observables import Observable, shot_estimates

AER_METHODS = ("automatic", "statevector", "density_matrix", "matrix_product_state")


def default_aer_method(noise_model: Any, shots: int | None) -> str:
    """Density matrix for exact noisy values, Aer's own choice otherwise.

    Example:
        >>> default_aer_method(None, None), default_aer_method(object(), None)
        ('statevector', 'density_matrix')
    """
    if noise_model is not None and shots is None:
        return "density_matrix"
    return "statevector" if noise_model is None else "automatic"


def _prepare(circuit: QuantumCircuit, simulator) -> QuantumCircuit:
    base = circuit.remove_final_measurements(inplace=False)
    names = set(simulator.configuration().basis_gates)
    if any(inst.operation.name not in names for inst in base.data):
        from qiskit.circuit.library.standard_gates import get_standard_gate_name_mapping

        # standard basis only (no target): keeps the circuit's width and qubit order
        basis = sorted(names & set(get_standard_gate_name_mapping()))
        base = transpile(base, basis_gates=basis, optimization_level=0)
    return base


def run_aer(
    circuits: Sequence[QuantumCircuit],
    observables: list[Observable],
    *,
    shots: int | None = None,
    seed: int | None = None,
    noise_model: Any = None,
    aer_method: str | None = None,
    dtype: str = "complex128",
    probabilities: bool = False,
    statevector: bool = False,
    max_bond: int | None = None,
    cutoff: float | None = None,
) -> list[dict[str, Any]]:
    """Run circuits on ``AerSimulator``; one dict per circuit (``values``, ``probabilities``...).

    Example:
        >>> from qiskit_qattn.sim.observables import prepare_observables
        >>> qc = QuantumCircuit(1); _ = qc.x(0)
        >>> run_aer([qc], prepare_observables("Z", 1))[0]["values"].tolist()
        [-1.0]
    """
    from qiskit_aer import AerSimulator

    method = aer_method or default_aer_method(noise_model, shots)
    if method not in AER_METHODS:
        raise ValueError(f"aer_method must be one of {AER_METHODS}; got {method!r}")
    options: dict[str, Any] = {
        "method": method,
        "precision": "single" if np.dtype(dtype) == np.complex64 else "double",
    }
    if noise_model is not None:
        options["noise_model"] = noise_model
    if seed is not None:
        options["seed_simulator"] = int(seed)
    if method == "matrix_product_state":
        if max_bond is not None:
            options["matrix_product_state_max_bond_dimension"] = int(max_bond)
        if cutoff is not None:
            options["matrix_product_state_truncation_threshold"] = float(cutoff)
    sim = AerSimulator(**options)
    prepared = []
    for qc in circuits:
        base = _prepare(qc, sim)
        n = base.num_qubits
        if shots is None:
            for k, obs in enumerate(observables):
                if obs.operator is not None:
                    base.save_expectation_value(obs.operator, range(n), label=f"obs{k}")
            if probabilities or any(obs.values is not None for obs in observables):
                base.save_probabilities(label="probs")
            if statevector:
                if method == "density_matrix":
                    raise ValueError("statevectors are not available with a density matrix")
                base.save_statevector(label="psi")
        else:
            base.measure_all()
        prepared.append(base)
    result = sim.run(prepared, shots=shots or 1).result()
    outs = []
    for i, qc in enumerate(prepared):
        n = qc.num_qubits
        out: dict[str, Any] = {}
        if shots is None:
            data = result.data(i)
            probs = np.asarray(data["probs"]) if "probs" in data else None
            values = np.zeros(len(observables))
            for k, obs in enumerate(observables):
                if obs.operator is not None:
                    values[k] = float(np.real(data[f"obs{k}"]))
                else:
                    values[k] = probs[: obs.values.shape[0]] @ obs.values
            out["values"] = values
            if probabilities:
                out["probabilities"] = probs
            if statevector:
                out["statevector"] = np.asarray(data["psi"])
        else:
            raw = result.get_counts(i)
            counts = {key.split(" ")[0]: int(v) for key, v in raw.items()}
            out["counts"] = counts
            if observables:
                keys = list(counts)
                bits = np.array([[c == "1" for c in key[::-1]] for key in keys], dtype=bool)
                weights = np.array([counts[k] for k in keys], dtype=np.int64)
                out["values"], out["std_errors"] = shot_estimates(
                    bits.reshape(len(keys), n), weights, observables
                )
            else:
                out["values"], out["std_errors"] = np.zeros(0), np.zeros(0)
        outs.append(out)
    return outs
