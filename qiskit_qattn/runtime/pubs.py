"""A packed Runtime job: its PUBs, shots or precision, and a fingerprint that identifies it.

The Runtime executor (:class:`qiskit_qattn.execution.RuntimeExecutor`) packs a whole execution —
every query of a head, every ZNE fold, every readout-calibration circuit — into the PUBs of one
:class:`PackedTask`; the job store keys its record by :meth:`PackedTask.fingerprint`, so
rebuilding the same work in a new process finds the same job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterExpression
from qiskit.primitives.containers.estimator_pub import EstimatorPub

PRIMITIVES = ("sampler", "estimator")


@dataclass(frozen=True)
class PackedTask:
    """The PUBs of one Runtime job and what identifies them.

    Attributes:
        primitive: ``"sampler"`` or ``"estimator"``.
        pubs: coerced ``SamplerPub``/``EstimatorPub`` objects.
        shots: shots per circuit execution (sampler), ``None`` for the estimator.
        precision: target precision (estimator), ``None`` for the sampler.
        device: name of the device the circuits were compiled for.
        label: a human-readable name stored with the job.
    """

    primitive: str
    pubs: tuple
    shots: int | None
    precision: float | None
    device: str
    label: str = ""

    @property
    def num_executions(self) -> int:
        """Distinct circuit executions (parameter bindings) across all PUBs."""
        return int(sum(max(1, int(np.prod(pub.parameter_values.shape))) for pub in self.pubs))

    def fingerprint(self, options: dict | None = None) -> str:
        """A 32-hex-digit hash of everything that determines the job's result.

        Circuits are hashed from a canonical instruction listing (Parameter names, not their
        random UUIDs), so rebuilding the same head in a new process gives the same key.
        """
        h = hashlib.sha256()
        head = {"primitive": self.primitive, "shots": self.shots, "precision": self.precision,
                # "backend" is the historical key: stored fingerprints stay valid.
                "backend": self.device, "options": options or {}}
        h.update(json.dumps(head, sort_keys=True, default=str).encode())
        for pub in self.pubs:
            _hash_circuit(h, pub.circuit)
            params = pub.parameter_values
            h.update(json.dumps([str(p) for p in params.parameters]
                                if hasattr(params, "parameters") else []).encode())
            array = np.ascontiguousarray(params.as_array(), dtype=np.float64)
            h.update(str(array.shape).encode() + array.tobytes())
            if isinstance(pub, EstimatorPub):
                for obs in np.ravel(pub.observables.tolist()):
                    h.update(json.dumps(sorted(obs.items()), default=repr).encode())
                h.update(repr(pub.precision).encode())
            else:
                h.update(repr(pub.shots).encode())
        return h.hexdigest()[:32]


def _hash_circuit(h, qc: QuantumCircuit) -> None:
    h.update(f"{qc.num_qubits}|{qc.num_clbits}|{[r.name for r in qc.cregs]}".encode())
    h.update(repr(_canon(qc.global_phase)).encode())
    for inst in qc.data:
        qubits = [qc.find_bit(q).index for q in inst.qubits]
        clbits = [qc.find_bit(c).index for c in inst.clbits]
        params = [_canon(p) for p in inst.operation.params]
        h.update(f"{inst.operation.name}{qubits}{clbits}{params};".encode())


def _canon(value: Any) -> str:
    if isinstance(value, ParameterExpression):
        try:
            return repr(float(value))
        except TypeError:
            return f"expr({value})"
    if isinstance(value, (float, int, np.floating, np.integer)):
        return repr(float(value))
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
    return repr(value)
