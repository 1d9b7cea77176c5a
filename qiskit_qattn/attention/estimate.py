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
class MitigationReport:
    """Raw data behind a mitigated estimate.

    Attributes:
        techniques: requested techniques (``"zne"``, ``"rem"``, ``"dd"``, ``"twirling"``).
        client_side: applied by qiskit-qattn (folding, DD padding, readout calibration).
        server_side: applied by Runtime through its options.
        scale_factors: achieved ZNE factors ``[s, n_q]`` (ones without ZNE).
        raw_values: outputs at each scale factor, after readout mitigation ``[s, n_q, d_v]``.
        raw_std_errors: their standard errors.
        unmitigated_values: outputs from the raw histograms at the first scale factor
            (no readout mitigation), i.e. what the same shots give without mitigation.
        unmitigated_std_errors: their standard errors.
        total_shots: shots over the whole execution (folds and calibration included).
        num_circuits: circuits executed (folds and calibration included).
        readout_fidelity: mean assignment fidelity per measured-qubit set (REM only).
        extrapolation: extrapolation method and engine (ZNE only).
        runtime_options: options passed to the Runtime primitive (``execution="runtime"``).
        warnings: extrapolation fit warnings.
    """

    techniques: tuple[str, ...]
    client_side: tuple[str, ...]
    server_side: tuple[str, ...]
    scale_factors: np.ndarray
    raw_values: np.ndarray
    raw_std_errors: np.ndarray
    unmitigated_values: np.ndarray
    unmitigated_std_errors: np.ndarray
    total_shots: int
    num_circuits: int
    readout_fidelity: dict[tuple[int, ...], float] = field(default_factory=dict)
    extrapolation: str | None = None
    runtime_options: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


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
        mitigation: what error mitigation did, with its raw data (``None`` when none ran).
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
    mitigation: MitigationReport | None = None

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
    mitigation: Any | None = None,
    mitigation_options: dict[str, Any] | None = None,
    runtime_options: dict[str, Any] | None = None,
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
            Aer with ``noise_model``: the exact noisy distribution of each circuit's active qubits
            (density matrix, readout applied analytically; Aer shot sampling beyond
            ``MAX_DENSITY_QUBITS``) is sampled ``shots`` times, so shots cost nothing);
            ``"runtime"`` (qiskit-ibm-runtime's executor ``Sampler`` in ``mode``; a fake backend
            runs in local testing mode).
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
        mitigation: ``None`` or techniques joined by ``+``: ``"zne"`` (fold the compiled
            circuits, extrapolate to zero noise), ``"rem"`` (readout mitigation of the measured
            qubits), ``"dd"`` (dynamical decoupling), ``"twirling"`` (Runtime only), e.g.
            ``"zne+rem"``; or a :class:`~qiskit_qattn.mitigation.MitigationConfig`. Needs
            compiled execution (``"shots"`` with a backend, or ``"runtime"``). Every query at
            every scale factor and the calibration circuits run in one execution; ``shots`` is per
            circuit, the total is in ``mitigation.total_shots``.
        mitigation_options: settings for ``mitigation``: ``scale_factors`` (default
            ``(1, 3, 5)``), ``fold_method`` (``"global"``, ``"local"``, ``"random"``,
            ``"identity"``), ``fold_gates``, ``extrapolation`` (``"richardson"``, ``"linear"``,
            ``"poly"``, ``"exponential"``, ``"poly_exp"``), ``order``, ``asymptote`` (number or
            ``"uniform"``), ``engine`` (``"auto"``: Mitiq when installed), ``factory`` (a Mitiq
            factory instance), ``readout_method`` (``"tensored"``/``"full"``),
            ``readout_solver``, ``dd_sequence``, ``seed``.
        runtime_options: extra ``SamplerOptions`` (dict) for ``execution="runtime"``; DD and
            twirling requested through ``mitigation`` are switched on here, ZNE and REM run
            client side, and options that would apply a technique twice raise ``ValueError``.
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
    config = _mitigation_config(mitigation, mitigation_options, execution, backend,
                                runtime_options)
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

        probs = _relabel(key_probabilities(circuits), circuits)
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
            from ..runtime.modes import mode_backend

            target_backend = mode_backend(run_mode)
        else:
            target_backend = resolve_backend(backend)
        compiled = compile_circuits(
            circuits, target_backend, optimization_level=optimization_level,
            seed_transpiler=0 if seed is None else seed, measure=True,
            **({} if optimization_method is None else {"optimization_method": optimization_method}),
        )
        info["backend"] = target_backend.name
        plan = None
        if execution == "shots":
            nm = noise_model
            if isinstance(nm, str) and nm != "device":
                raise ValueError(f"noise_model must be 'device', a NoiseModel or None; got {nm!r}")

            def executor(batch):
                return _local_noisy_counts(batch, shots, m, target_backend, nm, seed)

            info["noise"] = (
                "none" if nm is None else ("device (reduced)" if nm == "device" else "custom")
            )
        else:
            from ..mitigation.runtime_options import runtime_plan
            from ..runtime.sampler import run_runtime_sampler

            plan = runtime_plan(
                () if config is None else config.techniques, primitive="sampler",
                dd_sequence="XX" if config is None else config.dd_sequence,
                user_options=runtime_options,
            )

            def executor(batch):
                return run_runtime_sampler(batch, run_mode, shots=shots, num_outcomes=2**m,
                                           seed=seed, options=plan.options or None)

            info["noise"] = "runtime"
        if config is not None:
            return _mitigated_estimate(
                compiled, executor, config, plan, execution, shots, target_backend,
                padded_values, keep, n_k, method, circuits, start, info,
            )
        counts = _relabel(executor(compiled), circuits)
    outputs, std, weights = _estimate(counts, padded_values, keep, exact=False)
    return _result(outputs, std, weights, n_k, method, execution, shots, circuits, compiled,
                   start, info)


def _local_noisy_counts(batch, shots, m, backend, noise_model, seed):
    """Counts of ``batch`` under local noise, at a cost that does not grow with ``shots``.

    Exact noisy distributions (one density-matrix run per circuit, readout applied analytically)
    are sampled with numpy; circuits too wide for a density matrix go shot by shot through Aer.
    """
    from ..noise.distributions import (
        MAX_DENSITY_QUBITS,
        noisy_distributions,
        sample_distributions,
    )
    from ..sim.aer_sampling import sample_compiled
    from ..sim.compact import active_qubits

    if max(len(active_qubits(qc)) for qc in batch) <= MAX_DENSITY_QUBITS:
        probs = noisy_distributions(batch, backend=backend, noise_model=noise_model)
        return sample_distributions(probs, shots, seed)
    return sample_compiled(batch, shots=shots, num_outcomes=2**m, backend=backend,
                           noise_model=noise_model, seed=seed)


def mitigation_note(estimate: AttentionEstimate, reference: Any) -> str:
    """One-line summary of a mitigated estimate for tables (demo rows, reports).

    Names the techniques, the shot overhead over one unmitigated run of the same queries, and
    the error the same raw shots give without mitigation.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(1, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 2))
        >>> est = estimate_attention(Q, K, V, execution="shots", backend="fake_manila", shots=500,
        ...                          seed=1, mitigation="rem")
        >>> mitigation_note(est, est.values).startswith("REM (3.00x shots; unmitigated")
        True
    """
    report = estimate.mitigation
    if report is None:
        return "no mitigation"
    reference = np.asarray(reference, dtype=float)
    plain = float(np.linalg.norm(report.unmitigated_values - reference)
                  / np.linalg.norm(reference))
    base = (estimate.shots or 0) * report.unmitigated_values.shape[0]
    overhead = report.total_shots / base if base else float("nan")
    label = "+".join(t.upper() for t in report.techniques)
    return f"{label} ({overhead:.2f}x shots; unmitigated {100 * plain:.2f}%)"


def _mitigation_config(mitigation, options, execution, backend, runtime_options):
    """Parse and check ``mitigation=`` against the execution it has to run in."""
    if runtime_options is not None:
        if execution != "runtime":
            raise ValueError("runtime_options only apply with execution='runtime'")
        if not isinstance(runtime_options, dict):
            raise TypeError("runtime_options must be a dict of Runtime SamplerOptions fields")
    from ..mitigation.config import MitigationConfig

    if mitigation is None:
        if options:
            raise ValueError("mitigation_options given but mitigation is None")
        return None
    config = MitigationConfig.parse(mitigation, options)
    if config is None:
        return None
    if execution == "statevector":
        raise ValueError(
            "mitigation needs noisy compiled execution: execution='shots' with a backend, or "
            "execution='runtime'; got execution='statevector'"
        )
    if execution == "shots" and backend is None:
        raise ValueError(
            "mitigation with execution='shots' needs a backend to compile for and take noise "
            "from (e.g. backend='fake_torino'); ideal sampling has nothing to mitigate"
        )
    if execution == "shots" and config.has("twirling"):
        raise ValueError("twirling is applied by Runtime; use execution='runtime' for it")
    return config


def _mitigated_estimate(compiled, executor, config, plan, execution, shots, target_backend,
                        values, keep, n_k, method, circuits, start, info) -> AttentionEstimate:
    """Fold / pad / calibrate, run once, mitigate readout, extrapolate: one estimate."""
    from ..mitigation.estimators import outputs_with_covariance
    from ..mitigation.pipeline import sample_mitigated
    from ..mitigation.zne import combine_results
    from .key_estimators import outputs_from_counts

    client_dd = execution == "shots"
    res = sample_mitigated(compiled, executor, config, shots=shots,
                           target=target_backend.target, client_dd=client_dd)
    _relabel_mitigated(res, circuits)
    per_scale = [outputs_with_covariance(res.probs[s], res.covs[s], values, keep)
                 for s in range(res.probs.shape[0])]
    raw_values = np.stack([o for o, _, _ in per_scale])
    raw_std = np.stack([e for _, e, _ in per_scale])
    raw_weights = np.stack([w for _, _, w in per_scale])
    plain, plain_std, _ = outputs_from_counts(res.raw_counts[0], values, keep)
    extrapolation, fit_warnings = None, []
    if config.has("zne"):
        asymptote = config.asymptote
        if asymptote == "uniform":
            asymptote = (keep @ values) / keep.sum(axis=1, keepdims=True)
        fit = combine_results(
            res.scale_factors, raw_values, raw_std, extrapolation=config.extrapolation,
            order=config.order, asymptote=asymptote, engine=config.engine,
            factory=config.factory,
        )
        outputs, std = fit.values, fit.std_errors
        extrapolation, fit_warnings = f"{fit.method} ({fit.engine})", fit.warnings
        # Weights are reported from a polynomial extrapolation, clipped to a distribution.
        wfit = combine_results(
            res.scale_factors, raw_weights, None, engine="native",
            extrapolation="linear" if config.extrapolation == "linear" else "richardson",
        )
        weights = np.where(keep, np.clip(wfit.values, 0.0, None), 0.0)
        totals = weights.sum(axis=1, keepdims=True)
        weights = np.divide(weights, totals, out=raw_weights[0].copy(), where=totals > 0)
    else:
        outputs, std, weights = raw_values[0], raw_std[0], raw_weights[0]
    server = () if plan is None else plan.server_side
    report = MitigationReport(
        techniques=config.techniques,
        client_side=res.applied,
        server_side=server,
        scale_factors=res.scale_factors,
        raw_values=raw_values,
        raw_std_errors=raw_std,
        unmitigated_values=plain,
        unmitigated_std_errors=plain_std,
        total_shots=res.total_shots,
        num_circuits=len(res.circuits),
        readout_fidelity={q: c.assignment_fidelity() for q, c in res.calibrations.items()},
        extrapolation=extrapolation,
        runtime_options={} if plan is None else plan.options,
        warnings=fit_warnings,
    )
    info["mitigation"] = config.label
    info["total_shots"] = res.total_shots
    result = _result(outputs, std, weights, n_k, method, execution, shots, circuits, compiled,
                     start, info)
    result.mitigation = report
    return result


def _key_orders(circuits) -> list[np.ndarray | None]:
    """Per circuit, the key on each basis state (``metadata["key_order"]``), or ``None``."""
    orders = [(qc.metadata or {}).get("key_order") for qc in circuits]
    return [None if o is None else np.asarray(o, dtype=np.int64) for o in orders]


def _relabel(outcomes: np.ndarray, circuits) -> np.ndarray:
    """Re-index outcomes of sorted-layout circuits so that column ``j`` is key ``j``."""
    if all(o is None for o in _key_orders(circuits)):
        return outcomes
    from ..circuits.families import relabel_outcomes

    return relabel_outcomes(outcomes, circuits)


def _relabel_mitigated(res, circuits) -> None:
    """Apply the key orders to every scale's probabilities, covariances and raw counts."""
    for i, order in enumerate(_key_orders(circuits)):
        if order is None:
            continue
        for s in range(res.probs.shape[0]):
            p, raw, cov = res.probs[s, i].copy(), res.raw_counts[s, i].copy(), res.covs[s, i].copy()
            res.probs[s, i, order] = p
            res.raw_counts[s, i, order] = raw
            res.covs[s, i][np.ix_(order, order)] = cov


def _estimate(counts, values, keep, exact):
    from .key_estimators import outputs_from_counts

    return outputs_from_counts(counts, values, keep, exact=exact)


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
