"""Shot budgets: where the shots of a mitigated execution go, and which extrapolation to trust.

A mitigated value is a linear combination ``sum_s w_s y_s`` of values measured at noise scale
factors ``s`` (ZNE weights, or variable-noise CDR coefficients). With ``n_s`` shots at factor ``s``
and per-shot standard deviation ``sigma_s`` its variance is ``sum_s w_s**2 sigma_s**2 / n_s``; for a
fixed total ``N`` it is smallest at ``n_s ∝ |w_s| sigma_s`` (Lagrange), where it equals
``(sum_s |w_s| sigma_s)**2 / N`` (:func:`optimal_allocation`). Uniform shots give
``s * sum_s w_s**2 sigma_s**2 / N``, never less.

Executors run one shot count per execution, so a plan (:func:`plan_shots`) is expressed in *units*
of ``shots / granularity``: a circuit given ``r`` units runs as ``r`` identical copies in the same
execution and their counts are added.

The second noise level of variable-noise CDR (:func:`second_scale_factor`) is a bias/variance
trade-off at the given budget: the further the second factor, the smaller the coefficients (less
shot noise) but the more a circuit's decay deviates from the training average (more bias). The
device's reported gate errors predict the decay per unit of scale factor
(:func:`predicted_decay_rate`); the factor is chosen so the signal left at it is
``exp(-x*)`` with ``x*`` shrinking as shots grow (bias matters more when shot noise is small).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Measured ratio of the per-fold decay of training slopes to the sum of reported gate errors
#: (FakeTorino / FakeFez, design heads: 0.63-0.96).
DECAY_PER_ERROR = 0.75
#: Largest scale factor :func:`second_scale_factor` picks (deeper folds add little).
MAX_SCALE_FACTOR = 21


def optimal_allocation(weights: Sequence[float], total: float,
                       sigmas: Sequence[float] | None = None) -> np.ndarray:
    """Shots per scale factor minimising ``sum w_s**2 sigma_s**2 / n_s`` with ``sum n_s = total``.

    Example:
        >>> optimal_allocation([15 / 8, -10 / 8, 3 / 8], 3.5e6).round().tolist()
        [1875000.0, 1250000.0, 375000.0]
    """
    w = np.abs(np.asarray(weights, dtype=float))
    s = np.ones_like(w) if sigmas is None else np.asarray(sigmas, dtype=float)
    if w.ndim != 1 or s.shape != w.shape or not np.all(np.isfinite(w * s)):
        raise ValueError("weights and sigmas must be finite 1-D arrays of equal length")
    if not (math.isfinite(total) and total > 0):
        raise ValueError(f"total must be a positive number of shots; got {total!r}")
    share = w * s
    if share.sum() <= 0:
        raise ValueError("at least one weight must be non-zero")
    return total * share / share.sum()


def allocation_variance(weights: Sequence[float], shots: Sequence[float],
                        sigmas: Sequence[float] | None = None) -> float:
    """``sum_s w_s**2 sigma_s**2 / n_s`` (zero-weight factors may have zero shots).

    Example:
        >>> w = [1.5, -0.5]
        >>> allocation_variance(w, [2, 2]), allocation_variance(w, optimal_allocation(w, 4))
        (1.25, 1.0)
    """
    w = np.asarray(weights, dtype=float)
    n = np.asarray(shots, dtype=float)
    s = np.ones_like(w) if sigmas is None else np.asarray(sigmas, dtype=float)
    if np.any((n <= 0) & (w != 0)):
        raise ValueError("every factor with a non-zero weight needs shots")
    used = w != 0
    return float(np.sum((w[used] * s[used]) ** 2 / n[used]))


def integer_split(weights: Sequence[float], units: int, minimum: int = 1) -> np.ndarray:
    """Split ``units`` integer units ``∝ |weights|``, each at least ``minimum`` (largest remainder).

    Example:
        >>> integer_split([1.3, -0.3], 16).tolist()
        [13, 3]
    """
    w = np.abs(np.asarray(weights, dtype=float))
    if units < minimum * len(w):
        raise ValueError(f"{units} units cannot give {len(w)} parts at least {minimum} each")
    free = units - minimum * len(w)
    ideal = optimal_allocation(w, units) - minimum if w.sum() > 0 else np.zeros_like(w)
    ideal = np.clip(ideal, 0, None)
    ideal = ideal * free / ideal.sum() if ideal.sum() > 0 else np.full(len(w), free / len(w))
    base = np.floor(ideal).astype(int)
    rest = free - int(base.sum())
    order = np.argsort(-(ideal - base), kind="stable")
    base[order[:rest]] += 1
    return base + minimum


@dataclass(frozen=True)
class ShotPlan:
    """Where the shots of one mitigated execution go (all counts in units of ``unit_shots``).

    Attributes:
        unit_shots: shots of every executed circuit.
        target: replicas of each query circuit per scale factor ``[s]``.
        training: training circuits run at each scale factor ``[s]`` (one unit each; the first
            ``training[k]`` training circuits run at factor ``k``).
        calibration: replicas of each readout-calibration circuit.
        budget: requested total over ``shots * rows`` (``None``: one ``shots`` run per circuit).
    """

    unit_shots: int
    target: tuple[int, ...]
    training: tuple[int, ...]
    calibration: int
    budget: float | None

    def total_shots(self, rows: int, calibration_circuits: int) -> int:
        """Shots of the whole execution for ``rows`` queries."""
        units = rows * sum(self.target) + sum(self.training) + (
            calibration_circuits * self.calibration)
        return units * self.unit_shots


def plan_shots(
    rows: int,
    shots: int,
    *,
    budget: float | None,
    weights: Sequence[float],
    calibration_circuits: int = 0,
    training: bool = False,
    training_fraction: float = 0.1,
    calibration_fraction: float = 0.05,
    num_training: int | None = None,
    granularity: int = 4,
) -> ShotPlan:
    """Plan a mitigated execution of ``rows`` circuits at ``len(weights)`` scale factors.

    Without a budget every circuit runs once with ``shots`` (the classic ZNE+REM layout). With one,
    the total is ``budget * shots * rows``: calibration and training take their fractions (at
    least one unit per circuit), the rest goes to the query circuits split across scale factors
    ``∝ |weights|`` (the variance-optimal split for a linear combination).

    Example:
        >>> p = plan_shots(4, 100_000, budget=5, weights=[1.3, -0.3], calibration_circuits=2,
        ...                training=True)
        >>> p.unit_shots, p.target, p.training, p.calibration, p.total_shots(4, 2)
        (25000, (14, 3), (6, 2), 2, 2000000)
    """
    w = np.abs(np.asarray(weights, dtype=float))
    s = len(w)
    if budget is None:
        if training:
            raise ValueError("learning-based mitigation needs a shot budget")
        return ShotPlan(int(shots), (1,) * s, (0,) * s, 1, None)
    if not (math.isfinite(budget) and budget > 0):
        raise ValueError(f"budget must be a positive number (total shots over shots x queries); "
                         f"got {budget!r}")
    if isinstance(granularity, bool) or not isinstance(granularity, (int, np.integer)) or (
            granularity < 1):
        raise ValueError(f"shot_granularity must be an integer >= 1; got {granularity!r}")
    unit = shots // granularity
    if unit < 1:
        raise ValueError(f"shots={shots} cannot be split into {granularity} units; lower "
                         "shot_granularity")
    total = int(math.floor(budget * rows * granularity + 1e-9))
    cal = 0
    if calibration_circuits:
        cal = max(1, int(round(calibration_fraction * total / calibration_circuits)))
    train = np.zeros(s, dtype=int)
    if training:
        count = num_training
        if count is None:
            count = max(2 * s, int(round(training_fraction * total)))
        train = integer_split(w, int(count), minimum=2)
    left = total - cal * calibration_circuits - int(train.sum())
    per_row = left // rows
    if per_row < s:
        need = (s * rows + cal * calibration_circuits + int(train.sum())) / (rows * granularity)
        raise ValueError(f"budget={budget} is too small for {s} scale factors, calibration and "
                         f"training; it needs at least {need:.2f}")
    target = integer_split(w, per_row, minimum=1)
    return ShotPlan(int(unit), tuple(int(t) for t in target), tuple(int(t) for t in train),
                    int(cal), float(budget))


def predicted_decay_rate(circuits: Sequence, target) -> float:
    """Predicted decay per unit of scale factor, ``DECAY_PER_ERROR * sum of gate errors``.

    The mean over ``circuits`` of the errors the device ``Target`` reports for every non-virtual
    gate (``rz`` and other zero-error gates add nothing); ``0.0`` when it reports none.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> qc = QuantumCircuit(133); _ = qc.cz(0, 1)
        >>> 0 < predicted_decay_rate([qc], FakeTorino().target) < 0.05
        True
    """
    totals = []
    for qc in circuits:
        total = 0.0
        for inst in qc.data:
            name = inst.operation.name
            if name in ("measure", "barrier", "delay", "reset") or name not in target:
                continue
            qargs = tuple(qc.find_bit(q).index for q in inst.qubits)
            props = target[name].get(qargs) if target[name] is not None else None
            if props is not None and props.error is not None:
                total += float(props.error)
        totals.append(total)
    return DECAY_PER_ERROR * float(np.mean(totals)) if totals else 0.0


def signal_exponent(shots: int) -> float:
    """``x*``: how far (in decay exponent) the second noise level goes at ``shots`` per circuit.

    ``0.69`` (half the signal left) at 100k shots, shrinking as ``shots**-0.3`` (0.35 at 1M),
    clipped to ``[0.15, 1.2]``; tuned on the design heads of ``benchmarks/mitigation.py``.

    Example:
        >>> round(signal_exponent(100_000), 2), round(signal_exponent(1_000_000), 2)
        (0.69, 0.35)
    """
    return float(np.clip(0.69 * (1e5 / shots) ** 0.3, 0.15, 1.2))


def second_scale_factor(rate: float, shots: int) -> int:
    """Largest odd scale factor ``lambda`` with ``rate * (lambda - 1) <= signal_exponent(shots)``.

    Clipped to ``[3, MAX_SCALE_FACTOR]``; ``5`` when no rate is known. Odd factors are reached
    exactly by global folding.

    Example:
        >>> second_scale_factor(0.16, 100_000), second_scale_factor(0.011, 100_000)
        (5, 21)
        >>> second_scale_factor(0.05, 100_000), second_scale_factor(0.05, 1_000_000)
        (13, 7)
    """
    if not rate > 0:
        return 5
    odd = 1 + 2 * int(math.floor(signal_exponent(shots) / (2 * rate) + 1e-9))
    return int(np.clip(odd, 3, MAX_SCALE_FACTOR))


def choose_extrapolation(
    scale_factors: np.ndarray,
    values: np.ndarray,
    std_errors: np.ndarray,
    candidates: Sequence[str] = ("linear", "richardson"),
) -> tuple[str, dict[str, float]]:
    """Pick the ZNE extrapolation with the smallest estimated mean squared error.

    The last candidate is the least biased (highest order) and serves as reference ``r``; for
    the others ``bias**2 ~ max(0, mean((x_c - x_r)**2 - Var(x_c - x_r)))``. Variances follow from
    the polynomial weights and the per-scale standard errors. Pooled over every entry.

    Args:
        scale_factors: achieved factors ``[s, n]`` (or ``[s]``).
        values, std_errors: ``[s, n, ...]`` measured values and their standard errors.
        candidates: methods of the polynomial family, lowest order first.

    Returns:
        ``(method, {method: estimated MSE})``.

    Example:
        >>> x = np.array([1.0, 3.0, 5.0])
        >>> y = (1 - 0.02 * x)[:, None]          # exactly linear: linear wins (less variance)
        >>> choose_extrapolation(x, y, np.full((3, 1), 1e-3))[0]
        'linear'
        >>> y = np.exp(-0.3 * x)[:, None]         # strongly curved: Richardson wins
        >>> choose_extrapolation(x, y, np.full((3, 1), 1e-3))[0]
        'richardson'
    """
    from .extrapolation import _linear_weights

    y = np.asarray(values, dtype=float)
    sig = np.asarray(std_errors, dtype=float)
    x = np.asarray(scale_factors, dtype=float)
    if x.ndim == 1:
        x = np.repeat(x[:, None], y.shape[1] if y.ndim > 1 else 1, axis=1)
    if y.ndim == 1:
        y, sig = y[:, None], sig[:, None]
    s = y.shape[0]
    flat_y = y.reshape(s, y.shape[1], -1)
    flat_s = sig.reshape(flat_y.shape)
    est: dict[str, np.ndarray] = {}
    wts: dict[str, np.ndarray] = {}
    for name in candidates:
        order = None if name in ("linear", "richardson") else int(name.split("poly")[-1] or 2)
        w = np.stack([_linear_weights(name if order is None else "poly", x[:, i], order)
                      for i in range(x.shape[1])], axis=1)  # [s, n]
        wts[name] = w
        est[name] = np.einsum("sn,sne->ne", w, flat_y)
    ref = candidates[-1]
    mse: dict[str, float] = {}
    for name in candidates:
        var = np.einsum("sn,sne->ne", wts[name] ** 2, flat_s**2)
        if name == ref:
            mse[name] = float(np.mean(var))
            continue
        dvar = np.einsum("sn,sne->ne", (wts[name] - wts[ref]) ** 2, flat_s**2)
        bias2 = max(0.0, float(np.mean((est[name] - est[ref]) ** 2 - dvar)))
        mse[name] = bias2 + float(np.mean(var))
    return min(mse, key=mse.get), mse
