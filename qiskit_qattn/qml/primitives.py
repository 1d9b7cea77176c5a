"""The primitives the QNNs run on: Qiskit's reference, Aer's V2, and Runtime's executor-based.

``make_estimator(kind, ...)`` / ``make_sampler(kind, ...)`` with ``kind``:

- ``"reference"``: ``StatevectorEstimator`` / ``StatevectorSampler`` (exact expectation values;
  logical circuits only: they simulate every qubit of the circuit);
- ``"aer"``: ``qiskit_aer.primitives.EstimatorV2`` / ``SamplerV2`` (exact expectation values
  with ``precision=0``; unused device qubits of ISA circuits are truncated away);
- ``"runtime"``: ``qiskit_ibm_runtime.executor_estimator.Estimator`` / ``executor_sampler.Sampler``
  with ``mode=device``. A fake device runs in Runtime's local testing mode (Aer with the device's
  noise, no account); an IBM device, ``Session`` or ``Batch`` submits to IBM Quantum with the
  account saved on this machine. Local mode simulates the whole device, so use a small fake
  device (``fake_nairobi``, 7 qubits: seconds; a 16-qubit device takes minutes per job).
"""

from __future__ import annotations

from typing import Any

from ..runtime import resolve_device

KINDS = ("reference", "aer", "runtime")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")


def _runtime_mode(mode: Any) -> Any:
    if mode is None:
        raise ValueError("kind='runtime' needs mode= (a device name, BackendV2, Session or Batch)")
    if isinstance(mode, str):
        return resolve_device(mode)
    return mode


def make_estimator(
    kind: str = "reference",
    *,
    mode: Any = None,
    precision: float | None = None,
    seed: int | None = None,
    options: dict | None = None,
) -> Any:
    """A ``BaseEstimatorV2`` of the given kind.

    Args:
        kind: ``"reference"``, ``"aer"`` or ``"runtime"``.
        mode: Runtime mode (device name, ``BackendV2``, ``Session``, ``Batch``); runtime only.
        precision: default precision (reference/aer: ``0`` = exact; runtime: ``1/sqrt(shots)``).
        seed: simulator seed.
        options: extra options (Aer ``EstimatorV2`` options, or Runtime ``EstimatorOptions``).

    Example:
        >>> type(make_estimator("aer")).__name__
        'EstimatorV2'
    """
    _check_kind(kind)
    if kind == "reference":
        from qiskit.primitives import StatevectorEstimator

        return StatevectorEstimator(default_precision=precision or 0.0, seed=seed)
    if kind == "aer":
        from qiskit_aer.primitives import EstimatorV2

        opts = dict(options or {})
        opts.setdefault("default_precision", precision or 0.0)
        if seed is not None:
            opts.setdefault("run_options", {})["seed_simulator"] = seed
        return EstimatorV2(options=opts)
    from qiskit_ibm_runtime.executor_estimator import Estimator

    opts = dict(options or {})
    if precision is not None:
        opts["default_precision"] = precision
    if seed is not None:
        opts.setdefault("simulator", {})["seed_simulator"] = seed
    return Estimator(mode=_runtime_mode(mode), options=opts)


def make_sampler(
    kind: str = "reference",
    *,
    mode: Any = None,
    shots: int | None = None,
    seed: int | None = None,
    options: dict | None = None,
) -> Any:
    """A ``BaseSamplerV2`` of the given kind (see :func:`make_estimator`).

    Example:
        >>> type(make_sampler("reference", shots=100)).__name__
        'StatevectorSampler'
    """
    _check_kind(kind)
    if kind == "reference":
        from qiskit.primitives import StatevectorSampler

        return StatevectorSampler(default_shots=shots or 1024, seed=seed)
    if kind == "aer":
        from qiskit_aer.primitives import SamplerV2

        return SamplerV2(default_shots=shots or 1024, seed=seed, options=options)
    from qiskit_ibm_runtime.executor_sampler import Sampler

    opts = dict(options or {})
    if shots is not None:
        opts["default_shots"] = shots
    if seed is not None:
        opts.setdefault("simulator", {})["seed_simulator"] = seed
    return Sampler(mode=_runtime_mode(mode), options=opts)


def default_precision(estimator: Any) -> float:
    """The precision an estimator uses when none is given (``0.0`` = exact for simulators).

    Example:
        >>> default_precision(make_estimator("reference"))
        0.0
    """
    value = getattr(estimator, "default_precision", None)
    if value is None:
        options = getattr(estimator, "options", None)
        value = getattr(options, "default_precision", None)
    return float(value) if value is not None else 0.015625
