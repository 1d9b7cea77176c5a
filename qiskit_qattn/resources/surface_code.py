"""Surface-code memory experiments under circuit-level noise: stim + PyMatching (+ sinter).

A rotated surface-code memory (``stim.Circuit.generated("surface_code:rotated_memory_z")``)
gets circuit-level noise with separate strengths: one-qubit depolarizing after every one-qubit
Clifford, two-qubit depolarizing after every CX, a flip before every measurement and after every
reset, and a Pauli channel on the data qubits once per round for their idling (relaxation and
dephasing over the round's non-CX time, Pauli-twirled from T1/T2). :meth:`CircuitNoise.
from_target` takes those strengths from a device ``Target`` (medians over calibrated qubits and
pairs); :meth:`CircuitNoise.uniform` is the standard circuit-level depolarizing model with one
strength ``p`` everywhere, under which the rotated surface code with minimum-weight perfect
matching has its threshold near 1% (0.7-1% depending on the noise details).

Syndromes are decoded with PyMatching (in process and seeded, or through ``sinter`` with worker
processes and an error-count stop). Results are logical errors per shot and per round
(``eps_round = (1 - (1 - 2 P_L)**(1/rounds)) / 2``); below threshold ``eps_round`` falls by a
factor ``Lambda`` per distance step ``d -> d + 2``.

Assumptions (stated in every result): square-grid connectivity (IBM's heavy-hex lattice would
need a heavy-hex code or SWAPs, i.e. more noise), reset error = readout error, ancilla idling
ignored (ancillas are reset every round), independent Pauli noise (no leakage, no crosstalk).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

_SENTINEL = 0.012345678901
_TWO_QUBIT_NAMES = ("cz", "ecr", "cx")
_ONE_QUBIT_NAMES = ("sx", "x")


def _probability(value: Any, name: str, upper: float = 0.5) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a probability; got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= upper:
        raise ValueError(f"{name} must be a probability in [0, {upper:g}]; got {value!r}")
    return value


def check_distance(distance: Any) -> int:
    """``distance`` as an odd int ``>= 3``, else ``ValueError``/``TypeError``.

    Example:
        >>> check_distance(5)
        5
    """
    if isinstance(distance, bool) or not isinstance(distance, numbers.Integral):
        raise TypeError(f"distance must be an odd integer >= 3; got {type(distance).__name__}")
    if distance < 3 or distance % 2 == 0:
        raise ValueError(f"distance must be an odd integer >= 3; got {distance}")
    return int(distance)


def pauli_twirl_idle(duration: float, t1: float | None, t2: float | None
                     ) -> tuple[float, float, float]:
    """``(p_x, p_y, p_z)`` of the Pauli-twirled amplitude+phase damping over ``duration``.

    ``p_x = p_y = (1 - exp(-t/T1)) / 4``, ``p_z = (1 - exp(-t/T2)) / 2 - p_x`` (T2 capped at
    2 T1); ``None`` times mean no decay.

    Example:
        >>> [round(p, 6) for p in pauli_twirl_idle(1e-6, 1e-4, 1e-4)]
        [0.002488, 0.002488, 0.002488]
    """
    if duration < 0:
        raise ValueError(f"duration must be >= 0; got {duration!r}")
    if t1 is None:
        t1 = math.inf
    if t2 is None:
        t2 = 2 * t1
    t2 = min(t2, 2 * t1)
    pxy = (1.0 - math.exp(-duration / t1)) / 4.0 if math.isfinite(t1) else 0.0
    pz = (1.0 - math.exp(-duration / t2)) / 2.0 - pxy if math.isfinite(t2) else 0.0
    return pxy, pxy, max(pz, 0.0)


@dataclass(frozen=True)
class CircuitNoise:
    """Circuit-level noise strengths of a surface-code memory experiment.

    Attributes:
        one_qubit: depolarizing probability after each one-qubit Clifford.
        two_qubit: two-qubit depolarizing probability after each CX.
        measurement: flip probability before each measurement.
        reset: flip probability after each reset.
        idle: ``(p_x, p_y, p_z)`` on each data qubit once per round.
        label: where the numbers came from.
        round_duration: seconds of one syndrome round (``None`` if not from a device).
    """

    one_qubit: float
    two_qubit: float
    measurement: float
    reset: float
    idle: tuple[float, float, float]
    label: str = "custom"
    round_duration: float | None = None

    def __post_init__(self):
        for name in ("one_qubit", "measurement", "reset"):
            _probability(getattr(self, name), name)
        _probability(self.two_qubit, "two_qubit", upper=15 / 16)
        if len(self.idle) != 3:
            raise ValueError(f"idle must be (p_x, p_y, p_z); got {self.idle!r}")
        for p in self.idle:
            _probability(p, "idle")
        if sum(self.idle) > 1:
            raise ValueError(f"idle probabilities must sum to <= 1; got {self.idle!r}")

    @classmethod
    def uniform(cls, p: float) -> CircuitNoise:
        """Standard circuit-level depolarizing noise: strength ``p`` on every operation.

        Example:
            >>> CircuitNoise.uniform(0.001).two_qubit
            0.001
        """
        p = _probability(p, "p")
        return cls(one_qubit=p, two_qubit=p, measurement=p, reset=p, idle=(p / 3,) * 3,
                   label=f"uniform depolarizing p={p:g}")

    @classmethod
    def from_target(cls, target: Any, factor: float = 1.0) -> CircuitNoise:
        """Medians of a device ``Target`` (errors x ``factor``, T1/T2 / ``factor``).

        Two-qubit error: median over calibrated pairs of the target's ``cz``/``ecr``/``cx``;
        one-qubit: of ``sx`` (or ``x``); measurement and reset: median readout error; idle: the
        Pauli twirl of median T1/T2 over one round's non-CX time (two one-qubit layers, a
        measurement and, if calibrated, a reset; relaxation during CX is part of its error).

        Example:
            >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
            >>> noise = CircuitNoise.from_target(FakeTorino().target)
            >>> 0.001 < noise.two_qubit < 0.01, noise.round_duration > 1e-6
            (True, True)
        """
        from ..noise.scaled import check_factor

        factor = check_factor(factor)
        name2 = next((n for n in _TWO_QUBIT_NAMES if n in target.operation_names), None)
        name1 = next((n for n in _ONE_QUBIT_NAMES if n in target.operation_names), None)
        if name2 is None or name1 is None or "measure" not in target.operation_names:
            raise ValueError("target must calibrate a two-qubit gate (cz/ecr/cx), sx or x, and "
                             "measure")

        def median(name, attr):
            vals = [getattr(p, attr) for p in target[name].values()
                    if p is not None and getattr(p, attr) is not None]
            if not vals:
                raise ValueError(f"target has no {attr} calibrated for {name}")
            return float(np.median(vals))

        p2 = min(median(name2, "error") * factor, 15 / 16)
        p1 = min(median(name1, "error") * factor, 0.5)
        pm = min(median("measure", "error") * factor, 0.5)
        t_idle = 2 * median(name1, "duration") + median("measure", "duration")
        if "reset" in target.operation_names:
            try:
                t_idle += median("reset", "duration")
            except ValueError:
                pass
        round_time = t_idle + 4 * median(name2, "duration")
        props = [q for q in (target.qubit_properties or []) if q is not None]
        t1s = [q.t1 for q in props if q.t1]
        t2s = [q.t2 for q in props if q.t2]
        t1 = float(np.median(t1s)) / factor if t1s and factor > 0 else None
        t2 = float(np.median(t2s)) / factor if t2s and factor > 0 else None
        idle = pauli_twirl_idle(t_idle, t1, t2)
        label = f"{target.description or 'device'} medians x{factor:g}"
        return cls(one_qubit=p1, two_qubit=p2, measurement=pm, reset=pm, idle=idle,
                   label=label, round_duration=round_time)

    def scaled(self, factor: float) -> CircuitNoise:
        """Every probability times ``factor`` (idle channels linearly, to first order).

        Example:
            >>> CircuitNoise.uniform(0.001).scaled(2).two_qubit
            0.002
        """
        from ..noise.scaled import check_factor

        factor = check_factor(factor)
        return replace(
            self, one_qubit=min(self.one_qubit * factor, 0.5),
            two_qubit=min(self.two_qubit * factor, 15 / 16),
            measurement=min(self.measurement * factor, 0.5),
            reset=min(self.reset * factor, 0.5),
            idle=tuple(min(p * factor, 1 / 3) for p in self.idle),
            label=f"{self.label} x{factor:g}",
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        out = asdict(self)
        out["idle"] = list(self.idle)
        return out


def memory_circuit(distance: int, noise: CircuitNoise, *, rounds: int | None = None,
                   basis: str = "z"):
    """A noisy rotated surface-code memory circuit (``stim.Circuit``).

    Example:
        >>> c = memory_circuit(3, CircuitNoise.uniform(0.001))
        >>> c.num_detectors, c.num_observables
        (24, 1)
    """
    import stim

    distance = check_distance(distance)
    rounds = distance if rounds is None else int(rounds)
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1; got {rounds}")
    if basis not in ("x", "z"):
        raise ValueError(f"basis must be 'x' or 'z'; got {basis!r}")
    if not isinstance(noise, CircuitNoise):
        raise TypeError(f"noise must be a CircuitNoise; got {type(noise).__name__}")
    base = stim.Circuit.generated(f"surface_code:rotated_memory_{basis}", distance=distance,
                                  rounds=rounds, before_round_data_depolarization=_SENTINEL)
    return _with_noise(base, noise)


def _with_noise(circuit, noise: CircuitNoise):
    import stim

    out = stim.Circuit()
    for inst in circuit:
        if isinstance(inst, stim.CircuitRepeatBlock):
            out.append(stim.CircuitRepeatBlock(inst.repeat_count,
                                               _with_noise(inst.body_copy(), noise)))
            continue
        name, targets = inst.name, inst.targets_copy()
        if name == "DEPOLARIZE1" and math.isclose(inst.gate_args_copy()[0], _SENTINEL):
            if sum(noise.idle) > 0:
                out.append("PAULI_CHANNEL_1", targets, list(noise.idle))
            continue
        if name in ("M", "MR", "MZ") and noise.measurement > 0:
            out.append("X_ERROR", targets, noise.measurement)
        elif name == "MX" and noise.measurement > 0:
            out.append("Z_ERROR", targets, noise.measurement)
        out.append(inst)
        if name in ("R", "RZ", "MR") and noise.reset > 0:
            out.append("X_ERROR", targets, noise.reset)
        elif name in ("RX", "MRX") and noise.reset > 0:
            out.append("Z_ERROR", targets, noise.reset)
        elif name in ("CX", "CZ", "CNOT") and noise.two_qubit > 0:
            out.append("DEPOLARIZE2", targets, noise.two_qubit)
        elif name in ("H", "S", "S_DAG", "SQRT_X", "SQRT_X_DAG") and noise.one_qubit > 0:
            out.append("DEPOLARIZE1", targets, noise.one_qubit)
    return out


def per_round(logical_error: float, rounds: int) -> float:
    """Logical error per round from the error of a ``rounds``-round memory experiment.

    Example:
        >>> round(per_round(0.0198, 2), 9)   # two rounds at 1%: 2 * 0.01 * 0.99
        0.01
    """
    if logical_error >= 0.5:
        return 0.5
    return float((1.0 - (1.0 - 2.0 * logical_error) ** (1.0 / rounds)) / 2.0)


@dataclass
class MemoryResult:
    """One memory experiment: errors per shot and per round.

    Attributes:
        distance, rounds, shots, errors: the run; noise: its :class:`CircuitNoise`.
        logical_error: failed shots / shots; logical_error_std: its binomial standard error.
        per_round: logical error per round; per_round_std: its (propagated) standard error.
        decoder: ``"pymatching"`` (in process) or ``"sinter/pymatching"``.
        assumptions: the model's simplifications.
    """

    distance: int
    rounds: int
    shots: int
    errors: int
    noise: CircuitNoise
    logical_error: float
    logical_error_std: float
    per_round: float
    per_round_std: float
    decoder: str
    assumptions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        out = asdict(self)
        out["noise"] = self.noise.as_dict()
        return out


ASSUMPTIONS = [
    "rotated surface-code memory (Z basis), rounds = distance unless given, MWPM decoding "
    "(PyMatching) of the stim detector error model",
    "square-grid connectivity; reset error = readout error; ancilla idling ignored; "
    "independent Pauli noise (no leakage, crosstalk or correlated errors)",
]


def _result(distance, rounds, shots, errors, noise, decoder) -> MemoryResult:
    pl = errors / shots
    std = math.sqrt(max(pl * (1 - pl), 1.0 / shots) / shots)
    eps = per_round(pl, rounds)
    slope = (1 - 2 * pl) ** (1.0 / rounds - 1.0) / rounds if pl < 0.5 else 0.0
    return MemoryResult(distance=distance, rounds=rounds, shots=shots, errors=errors,
                        noise=noise, logical_error=pl, logical_error_std=std, per_round=eps,
                        per_round_std=std * slope, decoder=decoder,
                        assumptions=list(ASSUMPTIONS))


def memory_experiment(distance: int, noise: CircuitNoise, *, rounds: int | None = None,
                      shots: int = 10_000, seed: int = 0) -> MemoryResult:
    """Sample and decode ``shots`` runs of one memory experiment (in process, seeded).

    Example:
        >>> r = memory_experiment(3, CircuitNoise.uniform(0.001), shots=2000, seed=1)
        >>> r.errors < 20, r.per_round < r.logical_error
        (True, True)
    """
    import pymatching

    if isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1:
        raise ValueError(f"shots must be a positive integer; got {shots!r}")
    circuit = memory_circuit(distance, noise, rounds=rounds)
    rounds = distance if rounds is None else int(rounds)
    dem = circuit.detector_error_model(decompose_errors=True)
    matcher = pymatching.Matching.from_detector_error_model(dem)
    sampler = circuit.compile_detector_sampler(seed=seed)
    detections, observables = sampler.sample(int(shots), separate_observables=True)
    predictions = matcher.decode_batch(detections)
    errors = int(np.count_nonzero(np.any(predictions != observables, axis=1)))
    return _result(distance, rounds, int(shots), errors, noise, "pymatching")


def memory_sweep(distances: Iterable[int], noises: Sequence[CircuitNoise], *,
                 rounds: int | None = None, max_shots: int = 100_000,
                 max_errors: int = 500, workers: int = 2) -> list[MemoryResult]:
    """Memory experiments for every (distance, noise) pair through ``sinter`` (parallel).

    Each task stops at ``max_errors`` failures or ``max_shots`` shots. Not seeded (sinter draws
    its own seeds); use :func:`memory_experiment` for reproducible small runs.

    Example:
        >>> rs = memory_sweep([3], [CircuitNoise.uniform(0.01)], max_shots=500,
        ...                   max_errors=50, workers=1)   # doctest: +SKIP
        >>> rs[0].distance  # doctest: +SKIP
        3
    """
    import sinter

    tasks = []
    lookup = {}
    for i, noise in enumerate(noises):
        for d in distances:
            d = check_distance(d)
            r = d if rounds is None else int(rounds)
            key = f"{i}|{d}|{r}"
            lookup[key] = (d, r, noise)
            tasks.append(sinter.Task(circuit=memory_circuit(d, noise, rounds=r),
                                     json_metadata={"key": key}))
    stats = sinter.collect(num_workers=int(workers), tasks=tasks, decoders=["pymatching"],
                           max_shots=int(max_shots), max_errors=int(max_errors),
                           print_progress=False)
    rows = []
    for s in stats:
        key = s.json_metadata["key"]
        d, r, noise = lookup[key]
        rows.append((int(key.split("|")[0]), d,
                     _result(d, r, s.shots - s.discards, s.errors, noise, "sinter/pymatching")))
    results = [res for _, _, res in sorted(rows, key=lambda row: row[:2])]
    return results


@dataclass
class DistanceFit:
    """``eps_round(d) = A * Lambda**(-(d + 1) / 2)`` fitted to per-round errors at one noise.

    Attributes:
        prefactor: ``A``; suppression: ``Lambda`` (``> 1`` below threshold).
        distances: the distances fitted; per_round: their per-round errors.
        step_ratios: ``eps(d) / eps(d + 2)`` for each consecutive pair (measured Lambdas).
    """

    prefactor: float
    suppression: float
    distances: list[int]
    per_round: list[float]
    step_ratios: list[float]

    def predict(self, distance: int) -> float:
        """Per-round logical error at ``distance`` from the fit."""
        return float(self.prefactor * self.suppression ** (-(distance + 1) / 2))

    @property
    def below_threshold(self) -> bool:
        """Whether a larger code helps (``Lambda > 1``)."""
        return self.suppression > 1.0


def fit_distance_scaling(results: Sequence[MemoryResult]) -> DistanceFit:
    """Fit ``A`` and ``Lambda`` to the per-round errors of one noise level over distances.

    Runs without a logical error are left out of the fit (they only bound it).

    Example:
        >>> rs = [memory_experiment(d, CircuitNoise.uniform(0.003), shots=4000, seed=2)
        ...       for d in (3, 5)]
        >>> fit_distance_scaling(rs).suppression > 1
        True
    """
    rows = sorted((r.distance, r.per_round) for r in results)
    ds = [d for d, _ in rows]
    eps = [e for _, e in rows]
    use = [(d, e) for d, e in rows if e > 0]
    if len(use) < 2:
        raise ValueError("need per-round errors > 0 at two distances or more to fit Lambda; "
                         "add shots")
    x = np.array([(d + 1) / 2 for d, _ in use])
    y = np.log([e for _, e in use])
    slope, intercept = np.polyfit(x, y, 1)
    ratios = [eps[i] / eps[i + 1] if eps[i + 1] > 0 else math.inf for i in range(len(eps) - 1)]
    return DistanceFit(prefactor=float(math.exp(intercept)), suppression=float(math.exp(-slope)),
                       distances=ds, per_round=eps, step_ratios=ratios)


def threshold_crossing(strengths: Sequence[float], small: Sequence[float],
                       large: Sequence[float]) -> float | None:
    """Noise strength where the larger code's error curve crosses the smaller code's.

    Args:
        strengths: increasing noise strengths (physical error rates or device factors).
        small: per-round errors of the smaller distance at each strength.
        large: per-round errors of the larger distance.

    Returns:
        The crossing (log-log interpolation of ``large / small`` through 1), or ``None`` when
        the curves do not cross inside the range.

    Example:
        >>> threshold_crossing([0.005, 0.02], [1e-3, 1e-2], [5e-4, 2e-2])
        0.01
    """
    p = np.asarray(strengths, dtype=float)
    ratio = np.asarray(large, dtype=float) / np.asarray(small, dtype=float)
    for i in range(len(p) - 1):
        r0, r1 = ratio[i], ratio[i + 1]
        if not (np.isfinite(r0) and np.isfinite(r1)) or r0 <= 0 or r1 <= 0:
            continue
        if (r0 - 1) * (r1 - 1) <= 0 and r0 != r1:
            t = -math.log(r0) / (math.log(r1) - math.log(r0))
            return float(round(math.exp(math.log(p[i]) + t * (math.log(p[i + 1])
                                                              - math.log(p[i]))), 12))
    return None


def required_distance(target_per_cycle: float, fit: DistanceFit, *,
                      max_distance: int = 101) -> int | None:
    """Smallest odd distance whose logical error per logical cycle (``d`` rounds) meets a target.

    Returns ``None`` above threshold (``Lambda <= 1``) or beyond ``max_distance``.

    Example:
        >>> fit = DistanceFit(0.1, 10.0, [3, 5], [1e-3, 1e-4], [10.0])
        >>> required_distance(1e-6, fit)   # 13 * 0.1 * 10**-7 <= 1e-6 < 11 * 0.1 * 10**-6
        13
    """
    if not 0 < target_per_cycle < 1:
        raise ValueError(f"target_per_cycle must be in (0, 1); got {target_per_cycle!r}")
    if not fit.below_threshold:
        return None
    for d in range(3, max_distance + 1, 2):
        if d * fit.predict(d) <= target_per_cycle:
            return d
    return None
