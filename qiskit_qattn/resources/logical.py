"""Logical resources of a head: qubits, compiled cost on a device, rotations and T-count.

Clifford+T counts come from Qiskit's own Clifford+T compiler: ``generate_preset_clifford_t_pass_
manager`` lowers a circuit to Clifford+RZ, optimizes it, turns rotations by odd multiples of
pi/4 into ``t``/``tdg`` and synthesizes every remaining ``rz`` with the Ross-Selinger algorithm
(``gridsynth_rz``) at the requested per-rotation ``precision`` (operator-norm error, no caching
of nearby angles). The Clifford+RZ(+T) circuit captured before that synthesis is what
:mod:`~qiskit_qattn.resources.physical` hands to the QDK estimator, so both count the same
rotations.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.converters import dag_to_circuit
from qiskit.transpiler import PassManager
from qiskit.transpiler.basepasses import AnalysisPass
from qiskit.transpiler.passes import SubstitutePi4Rotations
from qiskit.transpiler.preset_passmanagers import generate_preset_clifford_t_pass_manager

from . import _pipeline

#: Default per-rotation synthesis error (operator norm).
DEFAULT_PRECISION = 1e-3
#: Repetition delay between shots on current IBM devices (seconds), for QPU-time figures.
REP_DELAY = 250e-6
_T_GATES = ("t", "tdg")
_NON_GATES = {"barrier", "measure", "reset", "delay"}


def check_precision(precision: Any) -> float:
    """``precision`` as a float in ``(0, 1)``, else ``ValueError``/``TypeError`` naming it.

    Example:
        >>> check_precision(1e-4)
        0.0001
    """
    if isinstance(precision, bool) or not isinstance(precision, numbers.Real):
        raise TypeError(f"precision must be a number in (0, 1); got {type(precision).__name__}")
    value = float(precision)
    if not math.isfinite(value) or not 0.0 < value < 1.0:
        raise ValueError(
            f"precision (per-rotation synthesis error) must be in (0, 1); got {precision!r}"
        )
    return value


def check_num_keys(num_keys: Any, name: str = "num_keys") -> int:
    """``num_keys`` as an int ``>= 2`` (attention over one key is trivial), else ``ValueError``.

    Example:
        >>> check_num_keys(8)
        8
    """
    if isinstance(num_keys, bool) or not isinstance(num_keys, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= 2; got {type(num_keys).__name__}")
    if num_keys < 2:
        raise ValueError(f"{name} must be >= 2 (n < 2 keys has nothing to attend over); "
                         f"got {num_keys}")
    return int(num_keys)


class _CaptureCircuit(AnalysisPass):
    """Store the circuit as it reaches this point of a pass manager (in the property set)."""

    def __init__(self, key: str):
        super().__init__()
        self.key = key

    def run(self, dag):
        self.property_set[self.key] = dag_to_circuit(dag)


@dataclass
class CliffordTCounts:
    """Clifford+T cost of one circuit at a per-rotation precision.

    Attributes:
        precision: per-rotation synthesis error (operator norm).
        rotations: arbitrary-angle ``rz`` left after Clifford+RZ optimization (each synthesized).
        rotation_depth: layers of such rotations (the critical path a T factory must feed).
        t_like: rotations by odd multiples of pi/4, each one ``t``/``tdg`` (no synthesis).
        t_count: ``t`` + ``tdg`` of the final Clifford+T circuit.
        t_depth: layers of ``t``/``tdg`` in it.
        cx_count: two-qubit gates of the final circuit.
        synthesis_error_bound: ``rotations * precision``, a union bound on the circuit's
            operator-norm synthesis error.
        clifford_rz: the Clifford+RZ(+T) circuit before rotation synthesis.
    """

    precision: float
    rotations: int
    rotation_depth: int
    t_like: int
    t_count: int
    t_depth: int
    cx_count: int
    synthesis_error_bound: float
    clifford_rz: QuantumCircuit = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe fields (the circuit left out)."""
        out = asdict(self)
        out.pop("clifford_rz")
        return out


def _depth_of(circuit: QuantumCircuit, names: tuple[str, ...]) -> int:
    return circuit.depth(lambda inst: inst.operation.name in names)


def clifford_rz_circuit(circuit: QuantumCircuit, *, optimization_level: int = 2,
                        seed: int = 0) -> QuantumCircuit:
    """The Clifford+RZ(+T) form of ``circuit`` (no rotation synthesis), measurements removed.

    Example:
        >>> qc = QuantumCircuit(1); _ = qc.rx(0.3, 0); _ = qc.rz(np.pi / 4, 0)
        >>> sorted(clifford_rz_circuit(qc).count_ops())
        ['rz', 's', 'sx', 't']
    """
    return clifford_t_counts(circuit, DEFAULT_PRECISION, optimization_level=optimization_level,
                             seed=seed, synthesize=False).clifford_rz


def clifford_t_counts(circuit: QuantumCircuit, precision: float = DEFAULT_PRECISION, *,
                      optimization_level: int = 2, seed: int = 0,
                      synthesize: bool = True) -> CliffordTCounts:
    """Compile ``circuit`` to Clifford+T and count rotations and T gates.

    Args:
        circuit: any logical circuit (final measurements are ignored).
        precision: per-rotation synthesis error in ``(0, 1)``.
        optimization_level: level of Qiskit's Clifford+T preset pass manager.
        seed: transpiler seed.
        synthesize: ``False`` stops before rotation synthesis (``t_count`` then counts only the
            ``t_like`` gates and ``t_depth``/``cx_count`` refer to the Clifford+RZ circuit).

    Example:
        >>> qc = QuantumCircuit(3); _ = qc.ccx(0, 1, 2)
        >>> clifford_t_counts(qc).t_count   # the textbook Toffoli: 7 T gates
        7
        >>> one = QuantumCircuit(1); _ = one.rz(0.1234, 0)
        >>> c = clifford_t_counts(one, 1e-6)
        >>> c.rotations, 50 < c.t_count < 75   # gridsynth: ~3 log2(1/eps) T gates
        (1, True)
    """
    if not isinstance(circuit, QuantumCircuit):
        raise TypeError(f"circuit must be a QuantumCircuit; got {type(circuit).__name__}")
    precision = check_precision(precision)
    body = circuit.remove_final_measurements(inplace=False)
    pm = generate_preset_clifford_t_pass_manager(
        optimization_level=optimization_level, seed_transpiler=seed,
        rz_synthesis_config={"rz_synthesis_error": precision, "rz_cache_error": 0.0},
    )
    pm.pre_t_translation = PassManager([_CaptureCircuit("qattn_clifford_rz")])
    if not synthesize:
        pm.t_translation = None
        pm.t_optimization = None
    final = pm.run(body)
    clifford_rz = SubstitutePi4Rotations()(pm.property_set["qattn_clifford_rz"])
    ops = clifford_rz.count_ops()
    rotations = int(ops.get("rz", 0))
    t_like = int(sum(ops.get(g, 0) for g in _T_GATES))
    target = final if synthesize else clifford_rz
    final_ops = target.count_ops()
    return CliffordTCounts(
        precision=precision,
        rotations=rotations,
        rotation_depth=_depth_of(clifford_rz, ("rz",)),
        t_like=t_like,
        t_count=int(sum(final_ops.get(g, 0) for g in _T_GATES)),
        t_depth=_depth_of(target, _T_GATES),
        cx_count=sum(1 for inst in target.data
                     if len(inst.qubits) == 2 and inst.operation.name not in _NON_GATES),
        synthesis_error_bound=rotations * precision,
        clifford_rz=clifford_rz,
    )


def compiled_report(circuit: QuantumCircuit, target: Any | None = None) -> dict[str, float]:
    """Active qubits, two-qubit gates, depths and duration (s) of a compiled, measured circuit.

    Example:
        >>> qc = QuantumCircuit(2); _ = qc.h(0); _ = qc.cx(0, 1)
        >>> compiled_report(qc)["two_qubit_gates"]
        1
    """
    body = circuit.remove_final_measurements(inplace=False)
    used: set[int] = set()
    for inst in circuit.data:
        if inst.operation.name not in ("barrier", "delay"):
            used.update(circuit.find_bit(q).index for q in inst.qubits)
    duration = float("nan")
    if target is not None:
        try:
            duration = float(circuit.estimate_duration(target, unit="s"))
        except Exception:  # a target without durations
            duration = float("nan")
    return {
        "qubits": len(used),
        "two_qubit_gates": sum(1 for inst in body.data
                               if len(inst.qubits) == 2
                               and inst.operation.name not in _NON_GATES),
        "depth": body.depth(lambda inst: inst.operation.name not in _NON_GATES),
        "two_qubit_depth": body.depth(lambda inst: len(inst.qubits) == 2
                                      and inst.operation.name not in _NON_GATES),
        "duration": duration,
    }


@dataclass
class LogicalResources:
    """Logical resources of one head built by one family (per query circuit unless noted).

    Attributes:
        family: circuit family.
        num_keys: keys ``n``; num_queries: query circuits in the head.
        key_qubits: ``m = ceil(log2 n)``; ancilla_qubits: logical qubits beyond the key register.
        device: device the circuits were compiled for (``None``: not compiled).
        compiled: mean over queries of the compiled report (``qubits``, ``two_qubit_gates``,
            ``depth``, ``two_qubit_depth``, ``duration`` in seconds incl. measurement), best
            transpiler seed per circuit (fewest two-qubit gates).
        seeds: transpiler seeds tried.
        clifford_t: mean over queries of the Clifford+T counts.
        clifford_t_max: the maximum over queries.
        precision: per-rotation synthesis error.
        assumptions: how the figures were made.
    """

    family: str
    num_keys: int
    num_queries: int
    key_qubits: int
    ancilla_qubits: int
    device: str | None
    compiled: dict[str, float]
    seeds: tuple[int, ...]
    clifford_t: dict[str, float]
    clifford_t_max: dict[str, float]
    precision: float
    assumptions: list[str]
    circuits: list[QuantumCircuit] = field(repr=False, default_factory=list)
    clifford_rz: list[QuantumCircuit] = field(repr=False, default_factory=list)

    def qpu_seconds_per_shot(self, rep_delay: float = REP_DELAY) -> float:
        """Device time of one shot of one query circuit: duration plus repetition delay."""
        duration = self.compiled.get("duration", float("nan"))
        return (0.0 if not np.isfinite(duration) else duration) + rep_delay

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe fields (circuits left out)."""
        out = asdict(self)
        out.pop("circuits")
        out.pop("clifford_rz")
        out["seeds"] = list(self.seeds)
        return out


def _mean_dict(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def _max_dict(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {k: float(np.max([r[k] for r in rows])) for k in rows[0]}


def logical_resources(Q: Any, K: Any, V: Any, family: str, *, device: Any | None = "fake_torino",
                      precision: float = DEFAULT_PRECISION, seeds: tuple[int, ...] = (0, 1, 2),
                      scale: float | None = None, **family_options: Any) -> LogicalResources:
    """Qubits, compiled cost on ``device`` and Clifford+T cost of a head's circuits.

    Args:
        Q, K, V: the head (``[n_q, d]``, ``[n, d]``, ``[n, d_v]``), ``n >= 2``.
        family: circuit family (see ``qiskit_qattn.circuits``).
        device: device to compile for (name or ``BackendV2``); ``None`` skips compilation.
        precision: per-rotation synthesis error in ``(0, 1)``.
        seeds: transpiler seeds; each circuit keeps its best (fewest two-qubit gates).
        scale: score scale (default ``1/sqrt(d)``).
        **family_options: forwarded to the family builder (e.g. ``reps``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
        >>> res = logical_resources(Q, K, V, "softmax_state", device=None)
        >>> res.key_qubits, res.ancilla_qubits, res.clifford_t["rotations"] > 0
        (3, 0, True)
    """
    family = _pipeline.check_family(family)
    precision = check_precision(precision)
    k = np.asarray(K)
    if k.ndim != 2:
        raise ValueError(f"K must be a 2-D array [n, d]; got shape {k.shape}")
    num_keys = check_num_keys(k.shape[0], "number of keys n (rows of K)")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must name at least one transpiler seed")
    circuits = _pipeline.head_circuits(Q, K, V, family, scale=scale, **family_options)
    key_qubits = int(circuits[0].metadata.get("num_key_qubits", math.ceil(math.log2(num_keys))))
    counts = [clifford_t_counts(qc, precision) for qc in circuits]
    ct_rows = [c.as_dict() for c in counts]
    for row in ct_rows:
        row.pop("precision")
    assumptions = [
        f"family {family}, {num_keys} keys, {len(circuits)} query circuits; figures are per "
        "query circuit (mean over queries; '_max' is the worst query)",
        f"Clifford+T: Qiskit generate_preset_clifford_t_pass_manager (optimization level 2), "
        f"every arbitrary rz synthesized by gridsynth at {precision:g} operator-norm error "
        "(no angle caching); synthesis error bound = rotations x precision (union bound)",
    ]
    compiled: dict[str, float] = {}
    device_name = None
    if device is not None:
        dev = _pipeline.resolve_device(device)
        device_name = dev.name
        per_seed = [_pipeline.compile_for_device(circuits, dev, seed=s, measure=True)
                    for s in seeds]
        best = []
        for i in range(len(circuits)):
            reports = [compiled_report(c[i], dev.target) for c in per_seed]
            best.append(min(reports, key=lambda r: (r["two_qubit_gates"], r["depth"])))
        compiled = _mean_dict(best)
        assumptions.append(
            f"compiled for {device_name} at optimization level 3, best of transpiler seeds "
            f"{list(seeds)} per circuit; duration from the target's gate durations, "
            "measurement included"
        )
    return LogicalResources(
        family=family, num_keys=num_keys, num_queries=len(circuits), key_qubits=key_qubits,
        ancilla_qubits=int(circuits[0].num_qubits - key_qubits), device=device_name,
        compiled=compiled, seeds=seeds, clifford_t=_mean_dict(ct_rows),
        clifford_t_max=_max_dict(ct_rows), precision=precision, assumptions=assumptions,
        circuits=circuits, clifford_rz=[c.clifford_rz for c in counts],
    )
