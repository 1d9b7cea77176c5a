"""Estimate attention outputs by running attention circuits: statevector, shots, or Runtime."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from ..circuits.attention_circuits import METHODS, attention_circuits, attention_scores
from ..encoding import as_bool_mask, as_real_array, check_positive_int, pad_mask, pad_rows

EXECUTIONS = ("statevector", "shots", "runtime")


@dataclass
class AttentionEstimate:
    """Estimated attention output of one head, with error bars and provenance.

    Attributes:
        values: estimated output ``[n_q, d_v]``.
        std_errors: per-entry standard errors (zeros for exact statevector runs).
        weights: estimated attention weights over the real keys ``[n_q, n_k]`` (renormalised
            over kept keys).
        method: circuit family.
        execution: ``"statevector"``, ``"shots"`` or ``"runtime"``.
        shots: shots per query circuit (``None`` for statevector).
        circuits: the logical circuits, one per query.
        compiled: the ISA circuits that ran (``None`` when nothing was compiled).
        wall_time: seconds spent, building to estimate.
        info: extra details (backend name, noise, ...).
    """

    values: np.ndarray
    std_errors: np.ndarray
    weights: np.ndarray
    method: str
    execution: str
    shots: int | None
    circuits: list[QuantumCircuit]
    compiled: list[QuantumCircuit] | None = None
    wall_time: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def relative_error(self, reference: np.ndarray) -> float:
        """Relative Frobenius error ``||values - reference|| / ||reference||``."""
        reference = np.asarray(reference, dtype=float)
        return float(np.linalg.norm(self.values - reference) / np.linalg.norm(reference))


def estimate_attention(
    Q: Any,
    K: Any,
    V: Any,
    *,
    method: str = "softmax_state",
    execution: str = "statevector",
    shots: int = 4096,
    mask: Any | None = None,
    scale: float | None = None,
    temperature: float = 1.0,
    backend: Any | None = None,
    noise_model: Any | None = "device",
    mode: Any | None = None,
    optimization_level: int = 3,
    optimization_method: str | None = None,
    seed: int | None = None,
    **method_options: Any,
) -> AttentionEstimate:
    """Run one circuit per query and estimate the attention output ``Ô [n_q, d_v]``.

    Every value column comes from the same computational-basis outcomes (all value observables
    are diagonal). Outputs are renormalised over kept keys (see ``key_estimators``).

    Args:
        Q, K, V: one head's queries ``[n_q, d]``, keys ``[n_k, d]``, values ``[n_k, d_v]``.
        method: ``"softmax_state"`` (exact amplitude encoding) or ``"qaoa"``.
        execution: ``"statevector"`` (exact probabilities, no shots); ``"shots"`` (local
            sampling: ideal when ``backend`` is ``None``, else compiled for ``backend`` and run on
            Aer with ``noise_model``); ``"runtime"`` (qiskit-ibm-runtime's executor ``Sampler``
            in ``mode``; a fake backend runs in local testing mode).
        shots: shots per query circuit (``"shots"``/``"runtime"``).
        mask: boolean keep-mask broadcastable to ``[n_q, n_k]`` (``True`` = attend).
        scale: score scale (default ``1/sqrt(d)``); temperature: softmax temperature.
        backend: device (``BackendV2`` or a name like ``"fake_torino"``) to compile for.
        noise_model: with ``execution="shots"`` and a backend: ``"device"`` (the backend's noise
            reduced to the qubits in use), an Aer ``NoiseModel``, or ``None`` (noiseless).
        mode: Runtime mode for ``execution="runtime"`` (``BackendV2``, ``Session``, ``Batch``);
            defaults to ``backend``, else ``fake_torino``.
        optimization_level: preset pass-manager level used when compiling.
        optimization_method: preset optimization-stage plugin (``None`` = Qiskit's default).
        seed: seeds sampling, the simulator and the transpiler.
        **method_options: builder options (``reps``, ``gammas``, ``betas``, ``phase_separator``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
        >>> est = estimate_attention(Q, K, V)
        >>> from qiskit_qattn.attention import exact_attention
        >>> bool(np.allclose(est.values, exact_attention(Q, K, V)))
        True
    """
    start = time.perf_counter()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if execution not in EXECUTIONS:
        raise ValueError(f"execution must be one of {EXECUTIONS}; got {execution!r}")
    if execution != "statevector":
        shots = check_positive_int(shots, "shots")
    values = as_real_array(V, "V", ndim=2)
    scores = attention_scores(Q, K, values, scale=scale)
    n_q, n_k = scores.shape
    keep_real = (
        np.ones((n_q, n_k), bool) if mask is None else as_bool_mask(mask, "mask", (n_q, n_k))
    )
    if not keep_real.any(axis=1).all():
        raise ValueError("mask leaves a query with no attended key; every row needs one")
    circuits = attention_circuits(
        Q, K, values, method=method, mask=mask, scale=scale, temperature=temperature,
        **method_options,
    )
    m = circuits[0].num_qubits
    keep = np.stack([pad_mask(row, n_k, m) for row in keep_real])
    padded_values = pad_rows(values, m)
    info: dict[str, Any] = {"num_key_qubits": m}
    compiled = None

    if execution == "statevector" or (execution == "shots" and backend is None):
        from ..sim.statevector import key_probabilities

        probs = key_probabilities(circuits)
        if execution == "statevector":
            outputs, std, weights = _estimate(probs, padded_values, keep, exact=True)
            return _result(outputs, std, weights, n_k, method, execution, None, circuits,
                           None, start, info)
        rng = np.random.default_rng(seed)
        counts = np.stack([rng.multinomial(shots, p / p.sum()) for p in probs])
        info["noise"] = "none (ideal sampling)"
    else:
        from ..passes.preset import compile_circuits
        from ..runtime.backends import resolve_backend

        if execution == "runtime":
            run_mode = mode if mode is not None else resolve_backend(backend or "fake_torino")
            target_backend = _mode_backend(run_mode)
        else:
            target_backend = resolve_backend(backend)
        compiled = compile_circuits(
            circuits, target_backend, optimization_level=optimization_level,
            seed_transpiler=0 if seed is None else seed, measure=True,
            **({} if optimization_method is None else {"optimization_method": optimization_method}),
        )
        info["backend"] = target_backend.name
        if execution == "shots":
            from ..sim.aer_sampling import sample_compiled

            nm = noise_model
            if isinstance(nm, str) and nm != "device":
                raise ValueError(f"noise_model must be 'device', a NoiseModel or None; got {nm!r}")
            counts = sample_compiled(
                compiled, shots=shots, num_outcomes=2**m, backend=target_backend,
                noise_model=nm, seed=seed,
            )
            info["noise"] = (
                "none" if nm is None else ("device (reduced)" if nm == "device" else "custom")
            )
        else:
            from ..runtime.sampler import run_runtime_sampler

            counts = run_runtime_sampler(
                compiled, run_mode, shots=shots, num_outcomes=2**m, seed=seed
            )
            info["noise"] = "runtime"
    outputs, std, weights = _estimate(counts, padded_values, keep, exact=False)
    return _result(outputs, std, weights, n_k, method, execution, shots, circuits, compiled,
                   start, info)


def _estimate(counts, values, keep, exact):
    from .key_estimators import outputs_from_counts

    return outputs_from_counts(counts, values, keep, exact=exact)


def _mode_backend(mode: Any):
    """The backend behind a Runtime mode (``BackendV2``, ``Session`` or ``Batch``)."""
    from qiskit.providers import BackendV2

    if isinstance(mode, BackendV2):
        return mode
    backend = getattr(mode, "_backend", None) or getattr(mode, "backend", None)
    if callable(backend):
        backend = backend()
    if isinstance(backend, str):
        from ..runtime.backends import resolve_backend

        backend = resolve_backend(backend)
    if not isinstance(backend, BackendV2):
        raise ValueError(f"mode must be a BackendV2, Session or Batch; got {type(mode)!r}")
    return backend


def _result(outputs, std, weights, n_k, method, execution, shots, circuits, compiled, start,
            info) -> AttentionEstimate:
    return AttentionEstimate(
        values=outputs,
        std_errors=std,
        weights=weights[:, :n_k],
        method=method,
        execution=execution,
        shots=shots,
        circuits=circuits,
        compiled=compiled,
        wall_time=time.perf_counter() - start,
        info=info,
    )
