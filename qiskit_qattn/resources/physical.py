"""Physical fault-tolerant resources with the Microsoft QDK resource estimator (offline).

The circuit is first lowered to Clifford+RZ(+T) by :func:`~qiskit_qattn.resources.logical.
clifford_rz_circuit` and handed to ``qdk.qiskit.estimate`` with ``skip_transpilation=True``, so
the QDK counts exactly the rotations and T gates reported by ``logical`` (its own rotation
synthesis model then sets the T states per rotation). One call estimates every requested
(qubit model, QEC scheme) pair. The QDK's telemetry is switched off for this process unless the
user set ``QDK_PYTHON_TELEMETRY`` themselves.

Standard qubit models (QDK presets): ``qubit_gate_ns_e3``/``_e4`` (superconducting/spin-like:
ns gates, 1e-3 / 1e-4 errors), ``qubit_gate_us_e3``/``_e4`` (trapped-ion-like: us gates),
``qubit_maj_ns_e4``/``_e6`` (Majorana, measurement-based). QEC schemes: ``surface_code`` (all
models) and ``floquet_code`` (Majorana models only; the QDK rejects it for gate-based qubits).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from qiskit import QuantumCircuit

QUBIT_MODELS = ("qubit_gate_ns_e3", "qubit_gate_ns_e4", "qubit_gate_us_e3", "qubit_gate_us_e4",
                "qubit_maj_ns_e4", "qubit_maj_ns_e6")
QEC_SCHEMES = ("surface_code", "floquet_code")
#: Default total error budget of one circuit execution (the QDK's default).
DEFAULT_ERROR_BUDGET = 1e-3


def _qdk_estimate():
    """``qdk.qiskit.estimate`` with telemetry off (unless the user chose otherwise)."""
    os.environ.setdefault("QDK_PYTHON_TELEMETRY", "none")
    try:
        from qdk.qiskit import estimate
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "physical estimates need the Microsoft QDK: pip install 'qiskit-qattn[resources]' "
            "(or pip install qdk)"
        ) from exc
    return estimate


def supported(qubit_model: str, qec_scheme: str) -> bool:
    """Whether the QDK accepts this pair (floquet codes need a Majorana qubit model).

    Example:
        >>> supported("qubit_gate_ns_e3", "floquet_code")
        False
        >>> supported("qubit_maj_ns_e4", "floquet_code")
        True
    """
    return qec_scheme != "floquet_code" or qubit_model.startswith("qubit_maj")


@dataclass
class PhysicalEstimate:
    """One QDK estimate of one circuit execution (one shot) on one architecture.

    Attributes:
        qubit_model, qec_scheme: the architecture.
        physical_qubits: total (algorithm + T factories).
        runtime: seconds for one execution.
        code_distance: of the logical qubits.
        t_factories: T factories running in parallel; t_factory_qubits: their physical qubits.
        logical_qubits: algorithmic logical qubits after layout; logical_depth: logical cycles.
        t_states: T states consumed; ts_per_rotation: T states per synthesized rotation.
        required_logical_error_rate: per logical qubit per logical cycle.
        logical_cycle_time: seconds.
        error_budget: total error budget of the execution.
        assumptions: the QDK's own parameters for this pair (qubit model, QEC formulas).
    """

    qubit_model: str
    qec_scheme: str
    physical_qubits: int
    runtime: float
    code_distance: int
    t_factories: int
    t_factory_qubits: int
    logical_qubits: int
    logical_depth: int
    t_states: int
    ts_per_rotation: int | None
    required_logical_error_rate: float
    logical_cycle_time: float
    error_budget: float
    assumptions: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return asdict(self)


def _pairs(qubit_models, qec_schemes) -> list[tuple[str, str]]:
    models = (qubit_models,) if isinstance(qubit_models, str) else tuple(qubit_models)
    schemes = (qec_schemes,) if isinstance(qec_schemes, str) else tuple(qec_schemes)
    for m in models:
        if m not in QUBIT_MODELS:
            raise ValueError(f"qubit_models must be among {QUBIT_MODELS}; got {m!r}")
    for s in schemes:
        if s not in QEC_SCHEMES:
            raise ValueError(f"qec_schemes must be among {QEC_SCHEMES}; got {s!r}")
    pairs = [(m, s) for m in models for s in schemes if supported(m, s)]
    if not pairs:
        raise ValueError(f"no supported (qubit model, QEC scheme) pair in {models} x {schemes}; "
                         "floquet_code needs a qubit_maj_* model")
    return pairs


def _estimate_from(data: dict[str, Any], model: str, scheme: str,
                   budget: float) -> PhysicalEstimate:
    counts = data["physicalCounts"]
    breakdown = counts["breakdown"]
    logical = data["logicalQubit"]
    params = data["jobParams"]
    return PhysicalEstimate(
        qubit_model=model, qec_scheme=scheme,
        physical_qubits=int(counts["physicalQubits"]),
        runtime=float(counts["runtime"]) * 1e-9,
        code_distance=int(logical["codeDistance"]),
        t_factories=int(breakdown.get("numTfactories", 0)),
        t_factory_qubits=int(breakdown.get("physicalQubitsForTfactories", 0)),
        logical_qubits=int(breakdown["algorithmicLogicalQubits"]),
        logical_depth=int(breakdown["logicalDepth"]),
        t_states=int(breakdown.get("numTstates", 0)),
        ts_per_rotation=breakdown.get("numTsPerRotation"),
        required_logical_error_rate=float(breakdown["requiredLogicalQubitErrorRate"]),
        logical_cycle_time=float(logical["logicalCycleTime"]) * 1e-9,
        error_budget=budget,
        assumptions={"qubitParams": params.get("qubitParams"),
                     "qecScheme": params.get("qecScheme"),
                     "errorBudget": params.get("errorBudget"),
                     "constraints": params.get("constraints")},
    )


def physical_estimates(circuit: QuantumCircuit, *, qubit_models: Any = QUBIT_MODELS,
                       qec_schemes: Any = QEC_SCHEMES,
                       error_budget: float = DEFAULT_ERROR_BUDGET,
                       lowered: bool = False) -> list[PhysicalEstimate]:
    """QDK physical estimates of one execution of ``circuit`` for each architecture.

    Args:
        circuit: a logical circuit (lowered to Clifford+RZ here unless ``lowered``).
        qubit_models: QDK qubit-model presets (see :data:`QUBIT_MODELS`).
        qec_schemes: ``"surface_code"`` and/or ``"floquet_code"``; unsupported pairs are skipped.
        error_budget: total failure probability allowed for one execution, in ``(0, 1)``.
        lowered: ``circuit`` is already Clifford+RZ(+T) (e.g. ``LogicalResources.clifford_rz``).

    Example:
        >>> qc = QuantumCircuit(2); _ = qc.h(0); _ = qc.cx(0, 1); _ = qc.rz(0.3, 1)
        >>> est = physical_estimates(qc, qubit_models="qubit_gate_ns_e3",
        ...                          qec_schemes="surface_code")
        >>> est[0].code_distance > 0 and est[0].physical_qubits > est[0].t_factory_qubits
        True
    """
    from .logical import clifford_rz_circuit

    if not isinstance(circuit, QuantumCircuit):
        raise TypeError(f"circuit must be a QuantumCircuit; got {type(circuit).__name__}")
    if not 0.0 < float(error_budget) < 1.0:
        raise ValueError(f"error_budget must be in (0, 1); got {error_budget!r}")
    pairs = _pairs(qubit_models, qec_schemes)
    body = circuit if lowered else clifford_rz_circuit(circuit)
    body = body.remove_final_measurements(inplace=False)
    params = [{"qubitParams": {"name": m}, "qecScheme": {"name": s},
               "errorBudget": float(error_budget)} for m, s in pairs]
    estimate = _qdk_estimate()
    result = estimate(body, params if len(params) > 1 else params[0], skip_transpilation=True)
    out = []
    for i, (model, scheme) in enumerate(pairs):
        item = result[i] if len(params) > 1 else result
        data = item.data() if hasattr(item, "data") else item
        if "physicalCounts" not in data:
            raise RuntimeError(f"QDK estimate failed for {model}/{scheme}: "
                               f"{data.get('message', data)}")
        out.append(_estimate_from(data, model, scheme, float(error_budget)))
    return out


def logical_counts(circuit: QuantumCircuit, *, lowered: bool = False) -> dict[str, int]:
    """The QDK's logical counts of ``circuit`` (qubits, T, rotations, rotation depth, CCZ, ...).

    Example:
        >>> qc = QuantumCircuit(1); _ = qc.rz(0.3, 0); _ = qc.t(0); _ = qc.h(0); _ = qc.t(0)
        >>> c = logical_counts(qc, lowered=True)
        >>> c["rotationCount"], c["tCount"]
        (1, 2)
    """
    from .logical import clifford_rz_circuit

    body = circuit if lowered else clifford_rz_circuit(circuit)
    estimate = _qdk_estimate()
    result = estimate(body.remove_final_measurements(inplace=False), skip_transpilation=True)
    return {k: int(v) for k, v in result.logical_counts.items()}
