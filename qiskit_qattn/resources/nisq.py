"""NISQ threshold study: attention-output error against scaled device noise.

For one head and family, the circuits are compiled for ``device`` with its noise scaled by each
factor (:func:`~qiskit_qattn.noise.scaled.scaled_device`: gate, readout and relaxation channels
together; ``0`` is noiseless, ``1`` the device as calibrated) and sampled, unmitigated and with
ZNE+REM. Each point gives the output error against exact softmax attention, the error floor
(bias) that no number of shots removes, and the shots each query needs for the target error
(``inf`` once the floor is above it). The largest factor whose floor stays below the target is
the noise level where quantum attention stops being practical; divided into the device's
medians it gives the largest tolerable two-qubit error and the shortest tolerable T1/T2.

:func:`classical_cost` measures what the package's classical quantum-inspired sampler needs for
the same error on the same head, for the classical/quantum split.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import _pipeline
from .logical import REP_DELAY, compiled_report
from .shots import check_target_error, shots_from_run

DEFAULT_FACTORS = (0.0, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
MITIGATIONS = ("none", "zne+rem")


@dataclass
class NoisePoint:
    """One (factor, mitigation) point of a noise sweep.

    Attributes:
        factor: noise scale (x the device's calibrated noise).
        mitigation: ``"none"`` or the techniques applied (e.g. ``"zne+rem"``).
        relative_error: output error of the probe run (``||Ô - O|| / ||O||``).
        floor: its bias part (error with infinitely many shots).
        variance_per_shot: relative variance per shot per circuit.
        shots: shots per query circuit for the target error (``inf``: floor above target).
        total_shots_per_query: ``shots`` times the execution overhead (folds, calibration).
        qpu_seconds_per_query: device time for that many shots (circuit duration x mean ZNE
            scale + repetition delay per shot).
        probe_shots: shots per circuit of the probe run.
        two_qubit_gates: mean two-qubit gates of the compiled circuits.
        duration: mean compiled circuit duration (s), measurement included.
        wall_time: seconds the probe took (compile + simulate).
    """

    factor: float
    mitigation: str
    relative_error: float
    floor: float
    variance_per_shot: float
    shots: float
    total_shots_per_query: float
    qpu_seconds_per_query: float
    probe_shots: int
    two_qubit_gates: float
    duration: float
    wall_time: float


@dataclass
class DeviceMedians:
    """The device's median noise figures (what a factor multiplies or divides)."""

    two_qubit_error: float
    one_qubit_error: float
    readout_error: float
    t1: float
    t2: float

    @classmethod
    def of(cls, device: Any) -> DeviceMedians:
        """Medians of a device's target.

        Example:
            >>> DeviceMedians.of("fake_torino").two_qubit_error > 0
            True
        """
        target = _pipeline.resolve_device(device).target

        def med(name):
            vals = [p.error for p in (target[name] or {}).values()
                    if p is not None and p.error is not None]
            return float(np.median(vals)) if vals else float("nan")

        two = next((n for n in ("cz", "ecr", "cx") if n in target.operation_names), None)
        props = [q for q in (target.qubit_properties or []) if q is not None]
        return cls(
            two_qubit_error=med(two) if two else float("nan"),
            one_qubit_error=med("sx") if "sx" in target.operation_names else float("nan"),
            readout_error=med("measure") if "measure" in target.operation_names else float("nan"),
            t1=float(np.median([q.t1 for q in props if q.t1])) if props else float("nan"),
            t2=float(np.median([q.t2 for q in props if q.t2])) if props else float("nan"),
        )


@dataclass
class NoiseSweep:
    """A noise sweep of one head and family on one device.

    Attributes:
        family, num_keys, num_queries, device: what ran.
        target_error: the relative output error the shots aim at.
        points: one :class:`NoisePoint` per (factor, mitigation).
        medians: the unscaled device's median noise figures.
        assumptions: how the figures were made.
    """

    family: str
    num_keys: int
    num_queries: int
    device: str
    target_error: float
    points: list[NoisePoint]
    medians: DeviceMedians
    assumptions: list[str] = field(default_factory=list)

    def curve(self, mitigation: str = "none") -> list[NoisePoint]:
        """The points of one mitigation setting, by increasing factor."""
        pts = sorted((p for p in self.points if p.mitigation == mitigation),
                     key=lambda p: p.factor)
        if not pts:
            raise ValueError(f"no points with mitigation {mitigation!r}; have "
                             f"{sorted({p.mitigation for p in self.points})}")
        return pts

    def tolerable_factor(self, mitigation: str = "none") -> float | None:
        """Largest noise factor whose error floor stays below the target (interpolated).

        ``None``: even the smallest factor's floor is above the target; ``inf``: no factor in
        the sweep reaches it.
        """
        pts = self.curve(mitigation)
        if pts[0].floor >= self.target_error:
            return None
        for a, b in zip(pts, pts[1:], strict=False):
            if b.floor >= self.target_error:
                t = (self.target_error - a.floor) / (b.floor - a.floor)
                return float(a.factor + t * (b.factor - a.factor))
        return math.inf

    def hardware_limits(self, mitigation: str = "none") -> dict[str, Any]:
        """The tolerable factor as physical numbers: max 2q/readout error, min T1/T2 (s).

        When no swept factor reaches the target, the largest factor swept is a lower bound
        (``"lower_bound": True``); when even the smallest misses it, every figure is ``None``.
        """
        f = self.tolerable_factor(mitigation)
        m = self.medians
        bound = f is not None and math.isinf(f)
        if bound:
            f = max(p.factor for p in self.curve(mitigation))
        if f is None:
            return {"factor": None, "lower_bound": False, "max_two_qubit_error": None,
                    "max_readout_error": None, "min_t1": None, "min_t2": None}
        return {"factor": f, "lower_bound": bound, "max_two_qubit_error": m.two_qubit_error * f,
                "max_readout_error": m.readout_error * f,
                "min_t1": m.t1 / f if f > 0 else math.inf,
                "min_t2": m.t2 / f if f > 0 else math.inf}

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return asdict(self)


def _mitigation_arg(mitigation: Any) -> str | None:
    if mitigation in (None, "none"):
        return None
    if not isinstance(mitigation, str):
        raise ValueError(f"mitigations must be 'none' or technique strings such as 'zne+rem'; "
                         f"got {mitigation!r}")
    return mitigation


def noise_sweep(Q: Any, K: Any, V: Any, family: str, *, device: Any = "fake_torino",
                factors: Any = DEFAULT_FACTORS, mitigations: Any = MITIGATIONS,
                probe_shots: int = 1_000_000, target_error: float = 0.1, seed: int = 0,
                scale: float | None = None, rep_delay: float = REP_DELAY,
                **family_options: Any) -> NoiseSweep:
    """Output error and shots-for-target against scaled device noise, per mitigation.

    Args:
        Q, K, V: the head; family: circuit family.
        device: the device whose noise is scaled (name or ``BackendV2``).
        factors: noise scales (``>= 0``).
        mitigations: ``"none"`` and/or techniques such as ``"zne+rem"``.
        probe_shots: shots per circuit of each probe run; local noisy runs sample exact noisy
            distributions, so many shots cost no time and sharpen the floor estimate.
        target_error: relative output error the shot counts aim at.
        seed: sampling and transpiler seed.
        scale: score scale; rep_delay: seconds between shots on the device.
        **family_options: forwarded to the family builder.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(1, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
        >>> sw = noise_sweep(Q, K, V, "softmax_state", factors=(0.0, 1.0), mitigations=("none",),
        ...                  probe_shots=10**6)
        >>> [round(p.factor, 1) for p in sw.curve()], sw.curve()[0].floor < 0.01
        ([0.0, 1.0], True)
    """
    from ..noise.scaled import check_factor, scaled_device

    family = _pipeline.check_family(family)
    target_error = check_target_error(target_error)
    factors = [check_factor(f, "factors") for f in factors]
    if not factors:
        raise ValueError("factors must name at least one noise scale")
    mitigations = list(mitigations)
    base = _pipeline.resolve_device(device)
    reference = _pipeline.exact_output(Q, K, V, scale=scale)
    points = []
    num_queries = reference.shape[0]
    for factor in factors:
        dev = scaled_device(base, factor)
        for mitigation in mitigations:
            start = time.perf_counter()
            run = _pipeline.estimate_output(Q, K, V, family, device=dev, shots=probe_shots,
                                            mitigation=_mitigation_arg(mitigation), seed=seed,
                                            scale=scale, **family_options)
            stats = shots_from_run(run, reference, target_error=target_error)
            reports = [compiled_report(c, dev.target) for c in run.compiled or []]
            duration = float(np.nanmean([r["duration"] for r in reports])) if reports else 0.0
            two_q = float(np.mean([r["two_qubit_gates"] for r in reports])) if reports else 0.0
            per_shot = duration * run.mean_scale_factor + rep_delay
            points.append(NoisePoint(
                factor=factor, mitigation=mitigation or "none",
                relative_error=stats["relative_error"], floor=stats["floor"],
                variance_per_shot=stats["variance_per_shot"], shots=stats["shots"],
                total_shots_per_query=stats["total_shots_per_query"],
                qpu_seconds_per_query=stats["total_shots_per_query"] * per_shot,
                probe_shots=int(probe_shots), two_qubit_gates=two_q, duration=duration,
                wall_time=time.perf_counter() - start,
            ))
    return NoiseSweep(
        family=family, num_keys=int(np.asarray(K).shape[0]), num_queries=num_queries,
        device=base.name, target_error=target_error, points=points,
        medians=DeviceMedians.of(base),
        assumptions=[
            f"{base.name} noise scaled by each factor: gate errors and readout errors x factor, "
            "T1/T2 / factor (qiskit_qattn.noise.scaled); circuits compiled for the scaled device "
            f"(optimization level 3, transpiler seed {seed}) and sampled from their exact noisy "
            "distributions (device noise reduced to the qubits in use)",
            "error against exact softmax attention; floor = bias from a probe run of "
            f"{probe_shots} shots per circuit (sampling variance subtracted); shots for the "
            "target from the probe's per-shot variance",
            "ZNE+REM: global folding at scale factors 1, 3, 5, Richardson extrapolation, "
            "tensored readout calibration; its shot counts include folds and calibration",
            f"device time per shot = compiled duration x mean ZNE scale + {rep_delay * 1e6:g} us "
            "repetition delay",
        ],
    )


@dataclass
class ClassicalCost:
    """What the classical quantum-inspired sampler needs for a target error on the same head.

    Attributes:
        target_error: relative output error aimed at.
        reached: whether a configuration of the ladder reached it.
        relative_error: median error over seeds of the chosen configuration.
        options: the chosen sampler options.
        keys_scored_per_query: exact-key fraction x n + tail samples (keys whose score is
            computed per query).
        wall_time: median seconds per head of the chosen configuration.
        exact_wall_time: median seconds per head of exact attention (numpy).
        num_keys: ``n``.
    """

    target_error: float
    reached: bool
    relative_error: float
    options: dict[str, Any]
    keys_scored_per_query: float
    wall_time: float
    exact_wall_time: float
    num_keys: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return asdict(self)


def classical_cost(Q: Any, K: Any, V: Any, *, target_error: float = 0.1,
                   scale: float | None = None, seeds: Any = range(5),
                   coverages: Any = (0.5, 0.7, 0.9, 0.99, 1.0),
                   repeats: int = 3) -> ClassicalCost:
    """Cheapest ``coverage`` of the classical sampler whose median error meets the target.

    Times are medians over seeds x ``repeats`` calls (after one warm-up call); exact attention
    is timed over five calls.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(4, 8)), rng.normal(size=(64, 8)), rng.normal(size=(64, 2))
        >>> cost = classical_cost(Q, K, V, target_error=0.1, seeds=[0, 1])
        >>> cost.reached, cost.keys_scored_per_query <= 64 + 16
        (True, True)
    """
    target_error = check_target_error(target_error)
    reference = _pipeline.exact_output(Q, K, V, scale=scale)
    norm = float(np.linalg.norm(reference))
    n = int(np.asarray(K).shape[0])
    exact_times = []
    for _ in range(5):
        start = time.perf_counter()
        _pipeline.exact_output(Q, K, V, scale=scale)
        exact_times.append(time.perf_counter() - start)
    _pipeline.classical_sampler(Q, K, V, scale=scale, seed=0)  # warm-up: imports, first call
    chosen = None
    for coverage in coverages:
        opts = {"coverage": float(coverage)}
        if coverage >= 1.0:
            opts["max_cluster_fraction"] = 1.0
        errors, times, keys = [], [], []
        for seed in seeds:
            for _ in range(repeats):  # same seed, same result: repeats only steady the timing
                start = time.perf_counter()
                out, info = _pipeline.classical_sampler(Q, K, V, scale=scale, seed=int(seed),
                                                        **opts)
                times.append(time.perf_counter() - start)
            errors.append(float(np.linalg.norm(out - reference) / norm))
            keys.append(info["keys_per_query"])
        chosen = (opts, float(np.median(errors)), float(np.median(times)), float(np.mean(keys)))
        if chosen[1] <= target_error:
            break
    opts, err, wall, keys = chosen
    return ClassicalCost(target_error=target_error, reached=err <= target_error,
                         relative_error=err, options=opts, keys_scored_per_query=keys,
                         wall_time=wall, exact_wall_time=float(np.median(exact_times)),
                         num_keys=n)
