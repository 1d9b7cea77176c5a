"""Estimate attention outputs by running a head's circuits: prepare, compile, execute, estimate.

:func:`estimate_attention` is the spine every entry point runs on (``run_head``, ``qattn run``,
the demo, sweeps): the head is prepared once (:func:`~qiskit_qattn.circuits.prepare_head`),
compiled for the executor's device if it has one, executed through one
:class:`~qiskit_qattn.execution.Executor` (wrapped by
:class:`~qiskit_qattn.mitigation.MitigatedExecutor` when mitigation is asked for), decoded into
key order by the head, and estimated with the kept-key ratio estimator.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from ..circuits import PreparedHead, prepare_head
from ..encoding import check_positive_int
from ..execution import EXECUTIONS, Executor, compiled_batch, logical_batch, resolve_executor
from .key_estimators import outputs_from_counts, outputs_with_covariance

__all__ = ["EXECUTIONS", "AttentionEstimate", "MitigationReport", "estimate_attention",
           "mitigation_note"]


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
            over kept keys; NaN for the estimator primitive, which returns no distribution).
        family: circuit family.
        execution: ``"statevector"``, ``"shots"`` or ``"runtime"``.
        shots: shots per query circuit (``None`` when exact).
        head: the prepared head (its ``circuits`` are the logical circuits, built on use).
        batch: the compiled batch that ran (``None`` for logical executions).
        wall_time: seconds spent, preparing to estimate.
        metadata: executor, device, noise, job ids, cost preview, timings per stage.
        mitigation: what error mitigation did, with its raw data (``None`` when none ran).
    """

    values: np.ndarray
    std_errors: np.ndarray
    weights: np.ndarray
    family: str
    execution: str
    shots: int | None
    head: PreparedHead
    batch: Any | None = None
    wall_time: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)
    mitigation: MitigationReport | None = None

    @property
    def circuits(self) -> list[QuantumCircuit]:
        """The logical circuits, one per query."""
        return self.head.circuits

    @property
    def compiled(self) -> list[QuantumCircuit] | None:
        """The ISA circuits that ran, one per query (``None`` when nothing was compiled)."""
        return None if self.batch is None else list(self.batch.circuits)

    def relative_error(self, reference: np.ndarray) -> float:
        """Relative Frobenius error ``||values - reference|| / ||reference||``."""
        reference = np.asarray(reference, dtype=float)
        return float(np.linalg.norm(self.values - reference) / np.linalg.norm(reference))


def estimate_attention(
    Q: Any,
    K: Any,
    V: Any,
    *,
    family: str = "softmax_state",
    execution: str | Executor = "statevector",
    shots: int = 4096,
    mask: Any | None = None,
    scale: float | None = None,
    temperature: float = 1.0,
    device: Any | None = None,
    noise_model: Any | None = "device",
    mode: Any | None = None,
    optimization_level: int = 3,
    optimization_method: str | None = None,
    seed: int | None = None,
    mitigation: Any | None = None,
    mitigation_options: dict[str, Any] | None = None,
    runtime_options: dict[str, Any] | None = None,
    **family_options: Any,
) -> AttentionEstimate:
    """Run one circuit per query and estimate the attention output ``Ô [n_q, d_v]``.

    Every value column comes from the same computational-basis outcomes (all value observables
    are diagonal). Outputs are renormalised over kept keys (see ``key_estimators``).

    Args:
        Q, K, V: one head's queries ``[n_q, d]``, keys ``[n_k, d]``, values ``[n_k, d_v]``.
        family: circuit family (:data:`~qiskit_qattn.circuits.FAMILY_NAMES`).
        execution: ``"statevector"`` (exact probabilities; the structured kernel for QAOA);
            ``"shots"`` (local sampling: ideal without ``device``; with one, compiled for it and
            sampled from the exact noisy distribution of each circuit under ``noise_model``, so
            shots cost nothing); ``"runtime"`` (qiskit-ibm-runtime's executor-based Sampler in
            ``mode`` through the resumable job store; a fake device runs in local testing mode);
            or an :class:`~qiskit_qattn.execution.Executor` (e.g. a ``RuntimeExecutor`` with a
            store, a ``confirm`` callback or the estimator primitive).
        shots: shots per query circuit (sampling executions).
        mask: boolean keep-mask broadcastable to ``[n_q, n_k]`` (``True`` = attend).
        scale: score scale (default ``1/sqrt(d)``); temperature: softmax temperature.
        device: device (``BackendV2`` or a name like ``"fake_torino"``) to compile for.
        noise_model: with ``execution="shots"`` and a device: ``"device"`` (its noise reduced
            to the qubits in use), an Aer ``NoiseModel``, or ``None`` (noiseless).
        mode: Runtime mode for ``execution="runtime"`` (``BackendV2``, ``Session``, ``Batch``);
            defaults to ``device``, else ``fake_torino``.
        optimization_level: preset pass-manager level used when compiling.
        optimization_method: preset optimization-stage plugin (``None`` = Qiskit's default).
        seed: seeds sampling, the simulator and the transpiler.
        mitigation: ``None`` or techniques joined by ``+``: ``"zne"`` (fold the compiled
            circuits, extrapolate to zero noise), ``"rem"`` (readout mitigation of the measured
            qubits), ``"dd"`` (dynamical decoupling), ``"twirling"`` (Runtime only), e.g.
            ``"zne+rem"``; or a :class:`~qiskit_qattn.mitigation.MitigationConfig`. Needs a
            compiled noisy execution. Every query at every scale factor and the calibration
            circuits run in one execution (one job on Runtime, resumable from the store);
            ``shots`` is per circuit, the total is in ``mitigation.total_shots``.
        mitigation_options: settings for ``mitigation``: ``scale_factors`` (default
            ``(1, 3, 5)``), ``fold_method`` (``"global"``, ``"local"``, ``"random"``,
            ``"identity"``), ``fold_gates``, ``extrapolation`` (``"richardson"``, ``"linear"``,
            ``"poly"``, ``"exponential"``, ``"poly_exp"``), ``order``, ``asymptote`` (number or
            ``"uniform"``), ``engine`` (``"auto"``: Mitiq when installed), ``factory`` (a Mitiq
            factory instance), ``readout_method`` (``"tensored"``/``"full"``),
            ``readout_solver``, ``dd_sequence``, ``seed``.
        runtime_options: extra primitive options (dict) for Runtime executions; DD and twirling
            requested through ``mitigation`` are switched on here, ZNE and REM run client side
            (the estimator primitive: server side), and options that would apply a technique
            twice raise ``ValueError``.
        **family_options: builder options of the family (``reps``, ``window``, ...).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
        >>> est = estimate_attention(Q, K, V)
        >>> from qiskit_qattn.attention import exact_attention
        >>> bool(np.allclose(est.values, exact_attention(Q, K, V)))
        True
    """
    start = time.perf_counter()
    timings: dict[str, float] = {}
    head = prepare_head(Q, K, V, family=family, mask=mask, scale=scale, temperature=temperature,
                        **family_options)
    executor = resolve_executor(execution, device=device, noise_model=noise_model, mode=mode,
                                seed=seed)
    if executor.needs_shots:
        shots = check_positive_int(shots, "shots")
    if runtime_options is not None:
        if not isinstance(runtime_options, dict):
            raise TypeError("runtime_options must be a dict of Runtime primitive options")
        if executor.name != "runtime":
            raise ValueError("runtime_options only apply with execution='runtime'")
    config = _mitigation_config(mitigation, mitigation_options, executor)
    primitive = getattr(executor, "primitive", "sampler")
    if runtime_options is not None and (config is None or primitive == "estimator"):
        executor = executor.with_options(runtime_options)
    timings["prepare"] = time.perf_counter() - start

    t0 = time.perf_counter()
    if executor.device is None:
        batch, compiled = logical_batch(head), None
    else:
        batch = compiled = compiled_batch(
            head, executor.device, measure=executor.measured,
            observables=primitive == "estimator", optimization_level=optimization_level,
            optimization_method=optimization_method, seed_transpiler=0 if seed is None else seed)
    timings["compile"] = time.perf_counter() - t0
    metadata: dict[str, Any] = {"num_key_qubits": head.num_qubits, **executor.describe()}
    if config is not None and primitive == "sampler":
        if runtime_options is not None:
            executor = executor.with_options(runtime_options)
        return _mitigated(head, executor, config, batch, compiled, shots, start, timings,
                          metadata)
    report = None
    if config is not None:  # estimator primitive: Runtime applies every technique
        executor, report = _server_side(executor, config)

    t0 = time.perf_counter()
    outcomes = executor.run([batch], shots if executor.needs_shots else None)[0]
    timings["execute"] = time.perf_counter() - t0
    metadata.update(outcomes.metadata)
    if outcomes.values is not None:
        values, std, weights = _ratio_estimates(outcomes.values, outcomes.std_errors,
                                                head.values.shape[1], head)
        used_shots = None
    else:
        stats = outcomes.probabilities if outcomes.exact else outcomes.counts
        values, std, weights = outputs_from_counts(head.decode(stats), head.values, head.keep,
                                                   exact=outcomes.exact)
        used_shots = outcomes.shots
    metadata["timings"] = timings
    result = AttentionEstimate(values, std, weights[:, : head.num_keys], head.family.name,
                               executor.name, used_shots, head, compiled,
                               time.perf_counter() - start, metadata)
    result.mitigation = report
    return result


def _mitigation_config(mitigation, options, executor):
    """Parse ``mitigation=`` and check it against the executor it has to run in."""
    from ..mitigation import MitigationConfig

    if mitigation is None:
        if options:
            raise ValueError("mitigation_options given but mitigation is None")
        return None
    config = MitigationConfig.parse(mitigation, options)
    if config is None:
        return None
    if executor.device is None:
        raise ValueError(
            f"mitigation needs a noisy compiled execution: execution='shots' with a device, or "
            f"execution='runtime'; got execution={executor.name!r} without a device"
        )
    if executor.name != "runtime" and config.has("twirling"):
        raise ValueError("twirling is applied by Runtime; use execution='runtime' for it")
    return config


def _server_side(executor, config):
    """Estimator primitive: map every technique onto Runtime's options (nothing client side)."""
    from ..mitigation import runtime_plan

    plan = runtime_plan(config.techniques, primitive="estimator",
                        scale_factors=config.scale_factors, extrapolation=config.extrapolation,
                        order=config.order, dd_sequence=config.dd_sequence,
                        user_options=executor.options)
    empty = np.zeros((0,))
    report = MitigationReport(
        techniques=config.techniques, client_side=(), server_side=plan.server_side,
        scale_factors=np.ones((1, 0)), raw_values=empty, raw_std_errors=empty,
        unmitigated_values=empty, unmitigated_std_errors=empty, total_shots=0, num_circuits=0,
        runtime_options=plan.options,
    )
    return executor.with_options(plan.options), report


def _ratio_estimates(evs, stds, d_v, head):
    """Outputs from ``[<P O_0>, ..., <P O_{d-1}>, <P>]`` expectation values per query."""
    den = evs[:, d_v:]
    if np.any(den <= 0):
        raise ValueError("estimated kept-key probability <= 0; raise shots or precision")
    values = evs[:, :d_v] / den
    std = np.sqrt(stds[:, :d_v] ** 2 + (values * stds[:, d_v:]) ** 2) / den
    weights = np.full((head.num_queries, 2**head.num_qubits), np.nan)
    return values, std, weights


def _mitigated(head, executor, config, batch, compiled, shots, start, timings, metadata
               ) -> AttentionEstimate:
    """Fold / pad / calibrate, run once, mitigate readout, extrapolate: one estimate."""
    from ..mitigation import MitigatedExecutor
    from ..mitigation.zne import combine_results

    t0 = time.perf_counter()
    mitigated = MitigatedExecutor(executor, config)
    res = mitigated.run(batch, shots)
    timings["execute"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    probs = head.decode(res.probabilities)
    covs = head.decode_covariance(res.covariances)
    per_scale = [outputs_with_covariance(probs[s], covs[s], head.values, head.keep)
                 for s in range(probs.shape[0])]
    raw_values = np.stack([o for o, _, _ in per_scale])
    raw_std = np.stack([e for _, e, _ in per_scale])
    raw_weights = np.stack([w for _, _, w in per_scale])
    plain, plain_std, _ = outputs_from_counts(head.decode(res.raw_counts[0]), head.values,
                                              head.keep)
    extrapolation, fit_warnings = None, []
    if config.has("zne"):
        asymptote = config.asymptote
        if asymptote == "uniform":
            asymptote = (head.keep @ head.values) / head.keep.sum(axis=1, keepdims=True)
        fit = combine_results(
            res.scale_factors, raw_values, raw_std, extrapolation=config.extrapolation,
            order=config.order, asymptote=asymptote, engine=config.engine,
            factory=config.factory,
        )
        values, std = fit.values, fit.std_errors
        extrapolation, fit_warnings = f"{fit.method} ({fit.engine})", fit.warnings
        # Weights are reported from a polynomial extrapolation, clipped to a distribution.
        wfit = combine_results(
            res.scale_factors, raw_weights, None, engine="native",
            extrapolation="linear" if config.extrapolation == "linear" else "richardson",
        )
        weights = np.where(head.keep, np.clip(wfit.values, 0.0, None), 0.0)
        totals = weights.sum(axis=1, keepdims=True)
        weights = np.divide(weights, totals, out=raw_weights[0].copy(), where=totals > 0)
    else:
        values, std, weights = raw_values[0], raw_std[0], raw_weights[0]
    timings["mitigate"] = time.perf_counter() - t0
    report = MitigationReport(
        techniques=config.techniques,
        client_side=res.client_side,
        server_side=res.server_side,
        scale_factors=res.scale_factors,
        raw_values=raw_values,
        raw_std_errors=raw_std,
        unmitigated_values=plain,
        unmitigated_std_errors=plain_std,
        total_shots=res.total_shots,
        num_circuits=res.num_circuits,
        readout_fidelity={q: c.assignment_fidelity() for q, c in res.calibrations.items()},
        extrapolation=extrapolation,
        runtime_options=res.runtime_options,
        warnings=fit_warnings,
    )
    metadata.update(res.metadata)
    metadata.update(mitigation=config.label, total_shots=res.total_shots, timings=timings)
    result = AttentionEstimate(values, std, weights[:, : head.num_keys], head.family.name,
                               executor.name, shots, head, compiled,
                               time.perf_counter() - start, metadata)
    result.mitigation = report
    return result


def mitigation_note(estimate: AttentionEstimate, reference: Any) -> str:
    """One-line summary of a mitigated estimate for tables (demo rows, reports).

    Names the techniques, the shot overhead over one unmitigated run of the same queries, and
    the error the same raw shots give without mitigation.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(1, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 2))
        >>> est = estimate_attention(Q, K, V, execution="shots", device="fake_manila", shots=500,
        ...                          seed=1, mitigation="rem")
        >>> mitigation_note(est, est.values).startswith("REM (3.00x shots; unmitigated")
        True
    """
    report = estimate.mitigation
    if report is None:
        return "no mitigation"
    label = "+".join(t.upper() for t in report.techniques)
    if not report.client_side:
        return f"{label} (applied by Runtime)"
    reference = np.asarray(reference, dtype=float)
    plain = float(np.linalg.norm(report.unmitigated_values - reference)
                  / np.linalg.norm(reference))
    base = (estimate.shots or 0) * report.unmitigated_values.shape[0]
    overhead = report.total_shots / base if base else float("nan")
    return f"{label} ({overhead:.2f}x shots; unmitigated {100 * plain:.2f}%)"
