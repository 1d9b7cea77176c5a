"""Shots a head needs for a target output error, from the estimator's own variance formula.

The estimator of output column ``c`` for query ``i`` is the ratio over kept keys
``ô_ic = sum_kept n_j V[j,c] / sum_kept n_j`` (``n_j`` Born-rule counts of key ``j``). With
``N`` shots per query circuit, a fraction ``pi_i`` of which lands on real (kept) keys, its
variance is (delta method) ``Var_{w_i}(V[:,c]) / (N pi_i)`` where ``w_i`` is the circuit's key
distribution renormalised over kept keys. The expected squared error of the whole output is

    E ||Ô - O||_F^2  =  ||b||_F^2  +  (1/N) sum_ic Var_{w_i}(V[:,c]) / pi_i

with ``b`` the family's bias (its exact-probability output minus exact softmax attention ``O``).
So the relative error (``||Ô - O||_F / ||O||_F``) after ``N`` shots is
``sqrt(floor^2 + v / N)`` with ``floor = ||b|| / ||O||`` (the error with infinitely many shots)
and ``v`` the relative variance per shot, and a target ``eps > floor`` needs
``N = v / (eps^2 - floor^2)`` shots per query circuit. Noise adds a bias and changes ``v``;
:func:`shots_from_run` reads both off a (possibly mitigated) noisy run.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import _pipeline


def check_target_error(target_error: Any) -> float:
    """``target_error`` as a float in ``(0, 1]``, else ``ValueError``/``TypeError``.

    Example:
        >>> check_target_error(0.1)
        0.1
    """
    if isinstance(target_error, bool) or not isinstance(target_error, numbers.Real):
        raise TypeError(f"target_error must be a number in (0, 1]; got "
                        f"{type(target_error).__name__}")
    value = float(target_error)
    if not math.isfinite(value) or not 0.0 < value <= 1.0:
        raise ValueError(f"target_error (relative output error) must be in (0, 1]; got "
                         f"{target_error!r}")
    return value


def shots_from_moments(floor: float, variance_per_shot: float, target_error: float) -> float:
    """Shots ``N`` with ``sqrt(floor^2 + v/N) = target_error``; ``inf`` if the floor is too high.

    Example:
        >>> round(shots_from_moments(0.0, 1.0, 0.1), 9)
        100.0
        >>> shots_from_moments(0.2, 1.0, 0.1)
        inf
    """
    target_error = check_target_error(target_error)
    room = target_error**2 - floor**2
    if room <= 0:
        return math.inf
    return float(variance_per_shot / room)


@dataclass
class ShotEstimate:
    """Shots per query circuit for a target relative output error.

    Attributes:
        family: circuit family.
        target_error: relative Frobenius error ``||Ô - O|| / ||O||`` aimed at.
        shots: shots per query circuit (``inf``: the family's floor is above the target).
        floor: relative error with infinitely many shots (bias of the family, or of the noise).
        variance_per_shot: relative variance per shot ``v`` (``sum Var / ||O||^2``).
        num_queries: query circuits; the head needs ``shots * num_queries`` shots.
        assumptions: how the figures were made.
    """

    family: str
    target_error: float
    shots: float
    floor: float
    variance_per_shot: float
    num_queries: int
    assumptions: list[str] = field(default_factory=list)

    def predicted_error(self, shots: float) -> float:
        """Expected relative error (root mean square) after ``shots`` per query circuit.

        Example:
            >>> ShotEstimate("x", 0.1, 100.0, 0.0, 1.0, 1).predicted_error(400)
            0.05
        """
        return float(math.sqrt(self.floor**2 + self.variance_per_shot / float(shots)))

    @property
    def head_shots(self) -> float:
        """Shots over every query circuit of the head."""
        return self.shots * self.num_queries

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return asdict(self)


def born_moments(probabilities: np.ndarray, values: np.ndarray, num_keys: int,
                 reference: np.ndarray) -> tuple[float, float]:
    """``(floor, variance_per_shot)`` of the ratio estimator for exact key probabilities.

    Args:
        probabilities: ``[n_q, 2**m]`` key distribution of the circuits (column ``j`` = key j).
        values: ``[n, d_v]`` values of the real keys.
        num_keys: ``n``; basis states ``>= n`` are padding (dropped by the estimator).
        reference: ``[n_q, d_v]`` the output the error is measured against.

    Example:
        >>> p = np.array([[0.5, 0.5]]); v = np.array([[0.0], [2.0]])
        >>> born_moments(p, v, 2, np.array([[1.0]]))   # no bias; Var = 1, ||O||^2 = 1
        (0.0, 1.0)
    """
    probs = np.asarray(probabilities, dtype=float)
    kept = probs[:, :num_keys]
    mass = kept.sum(axis=1, keepdims=True)
    if np.any(mass <= 0):
        raise ValueError("a query circuit puts no probability on any real key")
    w = kept / mass
    values = np.asarray(values, dtype=float)
    out = w @ values
    var = np.clip(w @ values**2 - out**2, 0.0, None)
    reference = np.asarray(reference, dtype=float)
    norm2 = float(np.sum(reference**2))
    floor = float(np.linalg.norm(out - reference) / math.sqrt(norm2))
    return floor, float(np.sum(var / mass) / norm2)


def shots_for_error(Q: Any, K: Any, V: Any, family: str, *, target_error: float = 0.1,
                    scale: float | None = None, **family_options: Any) -> ShotEstimate:
    """Ideal (noiseless) shots per query circuit for ``target_error`` relative output error.

    Args:
        Q, K, V: the head; family: circuit family; scale: score scale (default ``1/sqrt(d)``).
        target_error: relative Frobenius error against exact softmax attention, in ``(0, 1]``.
        **family_options: forwarded to the family builder.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
        >>> est = shots_for_error(Q, K, V, "softmax_state", target_error=0.1)
        >>> est.floor < 1e-12, round(est.predicted_error(est.shots), 6)
        (True, 0.1)
    """
    family = _pipeline.check_family(family)
    target_error = check_target_error(target_error)
    values = np.asarray(V, dtype=float)
    circuits = _pipeline.head_circuits(Q, K, values, family, scale=scale, **family_options)
    probs = _pipeline.key_distribution(circuits)
    reference = _pipeline.exact_output(Q, K, values, scale=scale)
    floor, v = born_moments(probs, values, values.shape[0], reference)
    return ShotEstimate(
        family=family, target_error=target_error, shots=shots_from_moments(floor, v, target_error),
        floor=floor, variance_per_shot=v, num_queries=len(circuits),
        assumptions=[
            "ideal (noiseless) Born-rule sampling; error = ||Ô - O||_F / ||O||_F against exact "
            "softmax attention, root mean square over shot noise",
            "variance from the ratio estimator over real keys (delta method, exact key "
            "probabilities); floor = the family's exact-probability error",
        ],
    )


def measured_errors(Q: Any, K: Any, V: Any, family: str, shots: int, *, seeds: Any = range(8),
                    device: Any | None = None, mitigation: str | None = None,
                    scale: float | None = None, **family_options: Any) -> np.ndarray:
    """Relative output errors of actual sampled estimates, one per seed (the measured floor).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
        >>> measured_errors(Q, K, V, "softmax_state", 1000, seeds=[0, 1]).shape
        (2,)
    """
    reference = _pipeline.exact_output(Q, K, V, scale=scale)
    norm = float(np.linalg.norm(reference))
    errors = []
    for seed in seeds:
        run = _pipeline.estimate_output(Q, K, V, family, device=device, shots=int(shots),
                                        mitigation=mitigation, seed=int(seed), scale=scale,
                                        **family_options)
        errors.append(float(np.linalg.norm(run.values - reference) / norm))
    return np.asarray(errors)


def shots_from_run(run: _pipeline.NoisyRun, reference: np.ndarray, *,
                   target_error: float = 0.1) -> dict[str, float]:
    """Bias, per-shot variance and shots for ``target_error`` read off one noisy run.

    The run's squared error is ``bias^2 + sum sigma^2`` in expectation, so
    ``bias^2 = max(||values - O||^2 - sum sigma^2, 0)``; ``sigma^2 * shots`` is the per-shot
    variance (for ZNE, of the extrapolated estimator). Use many shots (local noisy runs sample
    exact distributions, so shots cost nothing) to make the bias estimate sharp.

    Returns:
        ``relative_error`` (of this run), ``floor`` (relative bias), ``variance_per_shot``
        (relative), ``shots`` (per circuit for the target, ``inf`` if the floor is above it) and
        ``total_shots_per_query`` (``shots`` times the run's overhead: ZNE folds, calibration).

    Example:
        >>> run = _pipeline.NoisyRun(np.array([[1.1]]), np.array([[0.01]]), 100, 100, None,
        ...                          None, 0.0)
        >>> d = shots_from_run(run, np.array([[1.0]]), target_error=0.2)
        >>> round(d["floor"], 4), round(d["shots"], 2)
        (0.0995, 0.33)
    """
    target_error = check_target_error(target_error)
    reference = np.asarray(reference, dtype=float)
    norm2 = float(np.sum(reference**2))
    err2 = float(np.sum((run.values - reference) ** 2))
    sampling2 = float(np.sum(run.std_errors**2))
    floor = math.sqrt(max(err2 - sampling2, 0.0) / norm2)
    v = sampling2 * run.shots / norm2
    shots = shots_from_moments(floor, v, target_error)
    n_q = reference.shape[0]
    overhead = run.total_shots / (run.shots * n_q)
    return {
        "relative_error": math.sqrt(err2 / norm2),
        "floor": floor,
        "variance_per_shot": v,
        "shots": shots,
        "total_shots_per_query": shots * overhead,
        "overhead": overhead,
    }
