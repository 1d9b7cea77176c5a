"""Zero-noise extrapolation in the Mitiq style: construct circuits, execute once, combine.

``execute_with_zne(circuits, executor)`` folds every circuit at every scale factor
(:func:`construct_circuits`), calls ``executor`` **once** on the whole batch, and extrapolates each
circuit's values to zero noise (:func:`combine_results`) using the factors actually achieved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.transpiler import Target

from .extrapolation import Extrapolated, extrapolate
from .folding import fold_circuits

DEFAULT_SCALE_FACTORS = (1.0, 3.0, 5.0)


@dataclass
class ZNEResult:
    """Zero-noise values of a batch with error bars and every raw number behind them.

    Attributes:
        values: extrapolated values ``[n, ...]``.
        std_errors: their standard errors.
        scale_factors: achieved factors ``[s, n]``.
        raw_values: values measured at each factor ``[s, n, ...]``.
        raw_std_errors: their standard errors.
        circuits: the folded batch that ran (scale-major).
        extrapolation: method (or factory class) and engine used.
        warnings: fit warnings (e.g. ill-conditioned exponential fits).
    """

    values: np.ndarray
    std_errors: np.ndarray
    scale_factors: np.ndarray
    raw_values: np.ndarray
    raw_std_errors: np.ndarray
    circuits: list[QuantumCircuit]
    extrapolation: str
    engine: str
    warnings: list[str] = field(default_factory=list)


def construct_circuits(
    circuits: Sequence[QuantumCircuit],
    scale_factors: Sequence[float] = DEFAULT_SCALE_FACTORS,
    *,
    method: str = "global",
    target: Target | None = None,
    gates: str = "all",
    seed: int | None = None,
) -> tuple[list[QuantumCircuit], np.ndarray]:
    """Folded batch (scale-major) and the achieved factors ``[s, n]``; see ``fold_circuits``.

    Example:
        >>> qc = QuantumCircuit(1); _ = qc.x(0)
        >>> batch, achieved = construct_circuits([qc], [1, 3])
        >>> [c.count_ops()["x"] for c in batch]
        [1, 3]
    """
    return fold_circuits(circuits, scale_factors, method=method, target=target, gates=gates,
                         seed=seed)


def combine_results(
    scale_factors: np.ndarray,
    values: Any,
    std_errors: Any | None = None,
    *,
    extrapolation: str = "richardson",
    order: int | None = None,
    asymptote: Any | None = None,
    engine: str = "auto",
    factory: Any | None = None,
) -> Extrapolated:
    """Extrapolate ``values [s, n, ...]`` measured at achieved ``scale_factors [s, n]``.

    Example:
        >>> fit = combine_results(np.array([[1.0], [3.0]]), [[0.8], [0.6]], extrapolation="linear",
        ...                       engine="native")
        >>> fit.values.round(6).tolist()
        [0.9]
    """
    values = np.asarray(values, dtype=float)
    x = np.asarray(scale_factors, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape != values.shape[:2]:
        raise ValueError(
            f"scale_factors {x.shape} must match the first two axes of values {values.shape}"
        )
    x = x.reshape(x.shape + (1,) * (values.ndim - 2))
    return extrapolate(x, values, std_errors, method=extrapolation, order=order,
                       asymptote=asymptote, engine=engine, factory=factory)


def execute_with_zne(
    circuits: QuantumCircuit | Sequence[QuantumCircuit],
    executor: Callable[[list[QuantumCircuit]], Any],
    *,
    scale_factors: Sequence[float] = DEFAULT_SCALE_FACTORS,
    fold_method: str = "global",
    target: Target | None = None,
    gates: str = "all",
    extrapolation: str = "richardson",
    order: int | None = None,
    asymptote: Any | None = None,
    engine: str = "auto",
    factory: Any | None = None,
    seed: int | None = None,
) -> ZNEResult:
    """Zero-noise values of ``circuits`` from one execution of the folded batch.

    Args:
        circuits: bound circuits, compiled for the device that will run them (never re-transpile
            the folded ones: optimisation cancels the folds).
        executor: called once with the folded batch; returns values ``[len(batch), ...]`` or a
            pair ``(values, std_errors)``.
        scale_factors: noise scale factors ``>= 1``.
        fold_method: ``"global"``, ``"local"``, ``"random"`` or ``"identity"``.
        target: device ``Target`` (inverses stay in its instruction set).
        gates: ``"all"`` or ``"two_qubit"`` gates are folded and counted.
        extrapolation, order, asymptote, engine, factory: see
            :func:`~qiskit_qattn.mitigation.extrapolation.extrapolate`.
        seed: for ``fold_method="random"``.

    Example:
        >>> qc = QuantumCircuit(1); _ = qc.x(0)
        >>> noisy = lambda batch: [0.9 ** c.count_ops()["x"] for c in batch]  # toy decay
        >>> res = execute_with_zne(qc, noisy, scale_factors=[1, 3, 5], extrapolation="exponential",
        ...                        asymptote=0.0, engine="native")
        >>> round(float(res.values[0]), 6)
        1.0
    """
    if isinstance(circuits, QuantumCircuit):
        circuits = [circuits]
    circuits = list(circuits)
    if not callable(executor):
        raise TypeError(f"executor must be callable on a list of circuits; got {executor!r}")
    batch, achieved = construct_circuits(circuits, scale_factors, method=fold_method,
                                         target=target, gates=gates, seed=seed)
    output = executor(batch)
    values, std = (output if isinstance(output, tuple) else (output, None))
    values = np.asarray(values, dtype=float)
    if values.shape[:1] != (len(batch),):
        raise ValueError(
            f"executor must return one value (row) per circuit ({len(batch)}); got {values.shape}"
        )
    num_scales = achieved.shape[0]
    values = values.reshape((num_scales, len(circuits)) + values.shape[1:])
    std = (np.zeros_like(values) if std is None
           else np.asarray(std, dtype=float).reshape(values.shape))
    fit = combine_results(achieved, values, std, extrapolation=extrapolation, order=order,
                          asymptote=asymptote, engine=engine, factory=factory)
    return ZNEResult(fit.values, fit.std_errors, achieved, values, std, batch, fit.method,
                     fit.engine, fit.warnings)
