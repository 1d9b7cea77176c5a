"""One head's hardware-readiness report: logical, shots, physical (QDK) and surface-code tables.

:func:`resource_report` runs the pieces that apply and :class:`ResourceReport` prints them as
text or markdown tables or returns a JSON-safe dict; every section carries its assumptions.
``qattn resources`` prints this report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _pipeline
from .logical import DEFAULT_PRECISION, LogicalResources, logical_resources
from .physical import DEFAULT_ERROR_BUDGET, QEC_SCHEMES, QUBIT_MODELS, PhysicalEstimate
from .shots import ShotEstimate, shots_for_error, shots_from_run


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    value = float(value)
    if math.isinf(value):
        return "inf"
    if math.isnan(value):
        return "-"
    if 1e3 <= abs(value) < 1e9:
        return f"{value:,.0f}"
    if value != 0 and (abs(value) >= 1e9 or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def _seconds(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return _fmt(value)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if abs(value) >= scale or unit == "ns":
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} s"  # pragma: no cover


@dataclass
class SurfaceCodeSummary:
    """Surface-code memory on the device's noise and the distance the head needs.

    Attributes:
        noise: the circuit-level noise (from the device target) as a dict.
        per_round: ``{distance: per-round logical error}`` measured with stim + PyMatching.
        suppression: fitted Lambda per distance step (``> 1``: below threshold).
        step_ratios: measured ``eps(d) / eps(d + 2)``.
        required_per_cycle: logical error per qubit per logical cycle the head's budget needs.
        required_distance: smallest odd distance meeting it on this noise (``None``: none).
        shots: shots per distance.
    """

    noise: dict[str, Any]
    per_round: dict[int, float]
    suppression: float
    step_ratios: list[float]
    required_per_cycle: float | None
    required_distance: int | None
    shots: int


@dataclass
class ResourceReport:
    """Everything ``qattn resources`` prints for one head and family."""

    family: str
    source: str
    num_keys: int
    num_queries: int
    value_columns: int
    device: str | None
    logical: LogicalResources
    ideal_shots: ShotEstimate
    device_shots: dict[str, float] | None
    physical: list[PhysicalEstimate]
    surface_code: SurfaceCodeSummary | None
    assumptions: list[str] = field(default_factory=list)

    # -------------------------------------------------------------------------------------
    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """``(title, headers, rows)`` of every section."""
        lg = self.logical
        c, ct, cmax = lg.compiled, lg.clifford_t, lg.clifford_t_max
        out = []
        rows = [
            ["key qubits m", _fmt(lg.key_qubits), "ceil(log2 n)"],
            ["ancilla qubits", _fmt(lg.ancilla_qubits), "beyond the key register"],
        ]
        if c:
            rows += [
                [f"compiled qubits ({lg.device})", _fmt(c["qubits"]), "active physical qubits"],
                ["compiled 2q gates", _fmt(c["two_qubit_gates"]),
                 f"best of seeds {list(lg.seeds)}"],
                ["compiled depth / 2q depth",
                 f"{_fmt(c['depth'])} / {_fmt(c['two_qubit_depth'])}", "measurement excluded"],
                ["circuit duration", _seconds(c["duration"]), "measurement included"],
            ]
        rows += [
            ["rotations (arbitrary angle)", f"{_fmt(ct['rotations'])} (max "
             f"{_fmt(cmax['rotations'])})", "after Clifford+RZ optimization"],
            ["rotation depth", _fmt(ct["rotation_depth"]), ""],
            ["T-count", f"{_fmt(ct['t_count'])} (max {_fmt(cmax['t_count'])})",
             f"gridsynth at {lg.precision:g} per rotation"],
            ["T-depth", _fmt(ct["t_depth"]), ""],
            ["synthesis error bound", _fmt(ct["synthesis_error_bound"]),
             "rotations x precision" + (
                 f"; above 0.01: try --precision {0.01 / max(cmax['rotations'], 1):.0e}"
                 if ct["synthesis_error_bound"] > 0.01 else "")],
        ]
        out.append(("Logical resources (per query circuit, mean over queries)",
                    ["quantity", "value", "note"], rows))

        ish = self.ideal_shots
        rows = [["ideal sampling", _fmt(ish.floor), _fmt(ish.shots),
                 _fmt(ish.head_shots), _qpu(ish.shots, lg, self.num_queries)]]
        if self.device_shots is not None:
            ds = self.device_shots
            rows.append([f"{self.device} noise (x1, unmitigated)", _fmt(ds["floor"]),
                         _fmt(ds["shots"]), _fmt(ds["shots"] * self.num_queries),
                         _qpu(ds["shots"], lg, self.num_queries)])
        out.append((f"Shots for {ish.target_error:.0%} relative output error",
                    ["execution", "error floor", "shots / query", "shots / head",
                     "QPU time / head"], rows))

        if self.physical:
            rows = [[p.qubit_model, p.qec_scheme, _fmt(p.physical_qubits), _seconds(p.runtime),
                     _fmt(p.code_distance), _fmt(p.t_factories), _fmt(p.logical_qubits),
                     _fmt(p.t_states)] for p in self.physical]
            out.append((f"Fault-tolerant estimate, one shot of the costliest query circuit "
                        f"(QDK, error budget {self.physical[0].error_budget:g})",
                        ["qubit model", "QEC", "physical qubits", "runtime", "distance",
                         "T factories", "logical qubits", "T states"], rows))

        if self.surface_code is not None:
            sc = self.surface_code
            rows = [[str(d), _fmt(e)] for d, e in sorted(sc.per_round.items())]
            rows.append(["Lambda (fit)", _fmt(sc.suppression)])
            rows.append(["needed per logical cycle", _fmt(sc.required_per_cycle)])
            rows.append(["distance the head needs",
                         "none (above threshold)" if sc.required_distance is None
                         and sc.suppression <= 1 else _fmt(sc.required_distance)])
            out.append((f"Surface-code memory on {self.device} noise (stim + PyMatching, "
                        f"{sc.shots} shots)", ["distance", "logical error per round"], rows))
        return out

    def text(self) -> str:
        """Human-readable report with the assumptions."""
        from ..viz import text_table

        parts = [f"qattn resources: {self.family} on {self.source} "
                 f"({self.num_keys} keys, {self.num_queries} queries, d_v={self.value_columns})"]
        for title, headers, rows in self.tables():
            parts += ["", title, text_table(headers, rows)]
        parts += ["", "Assumptions:"] + [f"  - {a}" for a in self.all_assumptions()]
        return "\n".join(parts)

    def markdown(self) -> str:
        """Markdown tables with the assumptions as a list."""
        from ..viz import markdown_table

        parts = [f"**{self.family}** on {self.source} ({self.num_keys} keys, "
                 f"{self.num_queries} queries)"]
        for title, headers, rows in self.tables():
            parts += ["", f"*{title}*", "", markdown_table(headers, rows)]
        parts += ["", "Assumptions:", ""] + [f"- {a}" for a in self.all_assumptions()]
        return "\n".join(parts)

    def all_assumptions(self) -> list[str]:
        """Every assumption of every section, without repeats."""
        items = list(self.assumptions) + self.logical.assumptions + self.ideal_shots.assumptions
        return list(dict.fromkeys(items))

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every figure and assumption."""
        return {
            "family": self.family, "source": self.source, "num_keys": self.num_keys,
            "num_queries": self.num_queries, "value_columns": self.value_columns,
            "device": self.device, "logical": self.logical.as_dict(),
            "ideal_shots": self.ideal_shots.as_dict(), "device_shots": self.device_shots,
            "physical": [p.as_dict() for p in self.physical],
            "surface_code": None if self.surface_code is None else vars(self.surface_code),
            "assumptions": self.all_assumptions(),
        }


def _qpu(shots: float, logical: LogicalResources, num_queries: int) -> str:
    if not np.isfinite(shots):
        return "inf"
    return _seconds(shots * num_queries * logical.qpu_seconds_per_shot())


def resource_report(Q: Any, K: Any, V: Any, family: str, *, device: Any | None = "fake_torino",
                    source: str = "custom head", precision: float = DEFAULT_PRECISION,
                    target_error: float = 0.1, error_budget: float = DEFAULT_ERROR_BUDGET,
                    seeds: tuple[int, ...] = (0, 1, 2), physical: bool = True,
                    surface_code: bool = True, device_noise: bool = True,
                    surface_shots: int = 20_000, probe_shots: int = 1_000_000,
                    qubit_models: Any = QUBIT_MODELS, scale: float | None = None,
                    seed: int = 0, **family_options: Any) -> ResourceReport:
    """Build the hardware-readiness report of one head and family.

    Args:
        Q, K, V: the head; family: circuit family; source: how to name the head.
        device: device to compile for and take noise from (``None``: logical figures only).
        precision: per-rotation synthesis error; target_error: relative output error for shots.
        error_budget: QDK total error budget of one execution.
        seeds: transpiler seeds (best per circuit).
        physical: run the QDK estimates; surface_code: run the stim memory experiments;
        device_noise: also estimate shots under the device's noise (unmitigated).
        surface_shots: shots per distance; probe_shots: shots of the noisy probe run.
        qubit_models: QDK qubit models; scale: score scale; seed: sampling seed.
        **family_options: forwarded to the family builder.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
        >>> rep = resource_report(Q, K, V, "softmax_state", device=None, physical=False,
        ...                       surface_code=False)
        >>> rep.logical.key_qubits, "Assumptions:" in rep.text()
        (3, True)
    """
    family = _pipeline.check_family(family)
    logical = logical_resources(Q, K, V, family, device=device, precision=precision,
                                seeds=seeds, scale=scale, **family_options)
    ideal = shots_for_error(Q, K, V, family, target_error=target_error, scale=scale,
                            **family_options)
    device_shots = None
    if device is not None and device_noise:
        run = _pipeline.estimate_output(Q, K, V, family, device=device, shots=probe_shots,
                                        seed=seed, scale=scale, **family_options)
        device_shots = shots_from_run(run, _pipeline.exact_output(Q, K, V, scale=scale),
                                      target_error=target_error)
    estimates: list[PhysicalEstimate] = []
    costliest = int(np.argmax([c.count_ops().get("rz", 0) + c.count_ops().get("t", 0)
                               + c.count_ops().get("tdg", 0) for c in logical.clifford_rz]))
    if physical:
        from .physical import physical_estimates

        estimates = physical_estimates(logical.clifford_rz[costliest], qubit_models=qubit_models,
                                       qec_schemes=QEC_SCHEMES, error_budget=error_budget,
                                       lowered=True)
    summary = None
    assumptions = [
        f"head: {source}; output error = ||Ô - O||_F / ||O||_F against exact softmax attention",
        "QPU time = shots x (compiled duration + 250 us repetition delay)" if device is not None
        else "QPU time = shots x 250 us repetition delay (no device: circuit duration not "
        "counted)",
    ]
    if surface_code and device is not None:
        summary = _surface_summary(device, estimates, surface_shots, seed)
        assumptions.append(
            "surface code: rotated memory, rounds = distance, circuit-level noise from the "
            "device's medians (2q/1q gate error, readout = reset error, T1/T2 idling over the "
            "round's non-CX time), square-grid connectivity, PyMatching decoding; the needed "
            "error per logical cycle is the QDK's required logical error rate (surface code, "
            "first qubit model), one cycle = d rounds"
        )
    if estimates:
        assumptions.append(
            "QDK: the costliest query circuit (most rotations + T) in Clifford+RZ form, "
            "skip_transpilation=True; QDK's own T-states-per-rotation model; one shot; "
            "floquet codes only for Majorana qubit models"
        )
    values = np.asarray(V)
    return ResourceReport(
        family=family, source=source, num_keys=logical.num_keys,
        num_queries=logical.num_queries, value_columns=int(values.shape[1]),
        device=logical.device, logical=logical, ideal_shots=ideal, device_shots=device_shots,
        physical=estimates, surface_code=summary, assumptions=assumptions,
    )


def _surface_summary(device: Any, estimates: list[PhysicalEstimate], shots: int,
                     seed: int) -> SurfaceCodeSummary:
    from .surface_code import (
        CircuitNoise,
        fit_distance_scaling,
        memory_experiment,
        required_distance,
    )

    target = _pipeline.resolve_device(device).target
    noise = CircuitNoise.from_target(target)
    results = [memory_experiment(d, noise, shots=shots, seed=seed + d) for d in (3, 5, 7)]
    surface = [e for e in estimates if e.qec_scheme == "surface_code"]
    needed = surface[0].required_logical_error_rate if surface else None
    try:
        fit = fit_distance_scaling(results)
    except ValueError:  # too few logical errors at this many shots to fit Lambda
        suppression, ratios, distance = float("nan"), [], None
    else:
        suppression, ratios = fit.suppression, fit.step_ratios
        distance = None if needed is None else required_distance(needed, fit)
    return SurfaceCodeSummary(
        noise=noise.as_dict(), per_round={r.distance: r.per_round for r in results},
        suppression=suppression, step_ratios=ratios, required_per_cycle=needed,
        required_distance=distance, shots=int(shots),
    )
