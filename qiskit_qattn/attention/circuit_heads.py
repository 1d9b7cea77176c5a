"""Every head of one forward through the execution seam, in ONE execution (numpy core).

This module is the circuit backend's one adapter into the seam: it calls
:func:`~qiskit_qattn.circuits.prepare_head` per head, :func:`~qiskit_qattn.execution.compiled_batch`
(or :func:`~qiskit_qattn.execution.logical_batch`), one executor's ``run`` (wrapped by
:class:`~qiskit_qattn.mitigation.MitigatedExecutor` when mitigation is asked for), the heads'
``decode``, the kept-key estimators and :func:`~qiskit_qattn.mitigation.zne.combine_results`.

- **One execution per forward.** Without mitigation every head is one
  :class:`~qiskit_qattn.execution.CircuitBatch` of one ``executor.run`` call (one Runtime job,
  one PUB per circuit or one per template head). With mitigation the heads' batches are merged
  into one batch (:meth:`MitigatedExecutor.run` takes one) — folds, calibration circuits and
  every head still run in one execution.
- **Compile once per distinct structure.** Textbook QAOA heads (Walsh phase separator) share one
  parametrised template per key-register size: it is compiled once per device and settings and
  every query of every head binds it. Other families' compiled circuits depend on each row's
  angles; they are compiled per head and cached by the head's content, so repeated inputs
  (the same text, a resumed run) never compile twice.
- **Parameter shift in the same execution.** For template heads the shifted parameter rows
  (``θ ± π/(2|a|)`` per score-dependent angle, ``a`` its coefficient in the compiled gate) are
  extra rows of the same template batch; their outcomes give ``∂p/∂θ`` per basis state, from
  which the derivatives of the estimated outputs and weights are formed (extrapolated like the
  values under ZNE).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .circuit_options import CircuitHeadOptions
from .key_estimators import outputs_from_counts, outputs_with_covariance

__all__ = ["CACHE_SIZE", "HeadsEstimate", "clear_compile_cache", "make_executor",
           "prepare_heads", "run_heads"]

#: Compiled heads kept for reuse (most recently used last).
CACHE_SIZE = 512
_CACHE: OrderedDict[str, Any] = OrderedDict()


def clear_compile_cache() -> None:
    """Forget every compiled head and template (e.g. after changing a device's calibration).

    Example:
        >>> clear_compile_cache()
    """
    _CACHE.clear()


@dataclass
class HeadsEstimate:
    """Estimates of every head of a forward (numpy; only the rows with a kept key).

    Attributes:
        outputs: per head ``[n_active, d_v]``.
        std_errors: per head ``[n_active, d_v]`` (zeros when exact).
        weights: per head ``[n_active, n_keys]`` over the real keys, renormalised over kept keys.
        output_jacobians: per head ``[n_active, T, d_v]`` derivatives of the outputs in the
            template's score-dependent angles (parameter shift), else ``None``.
        weight_jacobians: per head ``[n_active, T, n_keys]`` likewise for the weights.
        thetas: per head ``[n_active, T]`` the angles those derivatives are taken at.
        metadata: execution, device, circuits, shots, timings, Runtime job details.
    """

    outputs: list[np.ndarray]
    std_errors: list[np.ndarray]
    weights: list[np.ndarray]
    output_jacobians: list[np.ndarray] | None = None
    weight_jacobians: list[np.ndarray] | None = None
    thetas: list[np.ndarray] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def make_executor(opts: CircuitHeadOptions, seed: int | None) -> Any:
    """The executor of ``opts`` (a new one per call for execution names; instances as given).

    (:func:`~.circuit_options.parse_circuit_options` has already refused a Runtime submission
    to a paying service without a ``confirm`` callback.)

    Example:
        >>> from qiskit_qattn.attention.circuit_options import parse_circuit_options
        >>> make_executor(parse_circuit_options({"device": "fake_manila"}), 1).name
        'shots'
    """
    from ..execution import LocalSampler, RuntimeExecutor, StatevectorExecutor

    execution = opts.execution
    if not isinstance(execution, str):
        executor = execution
    elif execution == "statevector":
        executor = StatevectorExecutor()
    elif execution == "shots":
        executor = LocalSampler(opts.device,
                                noise_model=opts.noise_model if opts.device is not None else None,
                                seed=seed)
    else:
        executor = RuntimeExecutor(opts.device, mode=opts.mode, store=opts.store,
                                   options=opts.runtime_options, confirm=opts.confirm, seed=seed)
    return executor


def run_heads(
    scores: np.ndarray,
    keep: np.ndarray,
    values: np.ndarray,
    opts: CircuitHeadOptions,
    executor: Any,
    *,
    shift: bool = False,
) -> HeadsEstimate:
    """Estimate every head's attention in one execution of ``executor``.

    Args:
        scores: ``[H, L, S]`` scaled scores (bias included); entries of masked keys are ignored.
        keep: ``[H, L, S]`` boolean kept keys; a query row without any is skipped.
        values: ``[H, S, d_v]``.
        opts: the backend options.
        executor: from :func:`make_executor`.
        shift: also run the parameter-shift rows (template families only).

    Returns:
        :class:`HeadsEstimate` (per head, rows with at least one kept key).

    Example:
        >>> from qiskit_qattn.attention.circuit_options import parse_circuit_options
        >>> rng = np.random.default_rng(0)
        >>> s, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 2))
        >>> opts = parse_circuit_options({})
        >>> est = run_heads(s, np.ones(s.shape, bool), v, opts, make_executor(opts, 0))
        >>> w = np.exp(s[0]) / np.exp(s[0]).sum(1, keepdims=True)
        >>> bool(np.allclose(est.outputs[0], w @ v[0])), est.metadata["executions"]
        (True, 1)
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    timings: dict[str, float] = {}
    heads = prepare_heads(scores, keep, values, opts)
    timings["prepare"] = time.perf_counter() - start

    t0 = time.perf_counter()
    hits = [0, 0]
    plans = [_plan(head, executor, opts, shift, hits) for head in heads]
    timings["compile"] = time.perf_counter() - t0

    executed = [0.0]
    timed = _TimedExecutor(executor, executed)
    before = executor.executions
    shots = opts.shots if executor.needs_shots else None
    t0 = time.perf_counter()
    if opts.mitigation is not None:
        estimates, meta = _run_mitigated(heads, plans, timed, opts, shots)
        total = time.perf_counter() - t0
        timings["execute"] = executed[0]
        timings["mitigate"] = total - executed[0]
    else:
        outcomes = timed.run([p.batch for p in plans], shots)
        timings["execute"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        estimates = [_estimate(head, plan, o) for head, plan, o in
                     zip(heads, plans, outcomes, strict=True)]
        timings["estimate"] = time.perf_counter() - t0
        rows = sum(p.batch.num_rows for p in plans)
        meta = {**outcomes[0].metadata, "num_circuits": rows,
                "total_shots": None if shots is None else rows * shots}
    meta.pop("timings", None)
    metadata = {
        "family": opts.family, "num_heads": len(heads), "num_key_qubits": heads[0].num_qubits,
        **executor.describe(), **meta, "shots": shots,
        "executions": executor.executions - before,
        "compile_cache": {"hits": hits[0], "misses": hits[1]},
        "template": _template_kind(plans[0]),
        "parameter_shift_rows": sum(p.batch.num_rows - h.num_queries
                                    for p, h in zip(plans, heads, strict=True)) if shift else 0,
        "timings": timings,
    }
    preview = getattr(executor, "last_preview", None)
    if preview is not None:
        metadata["cost_preview"] = preview.as_dict()
    out = HeadsEstimate([e[0] for e in estimates], [e[1] for e in estimates],
                        [e[2] for e in estimates], metadata=metadata)
    if shift:
        out.output_jacobians = [e[3] for e in estimates]
        out.weight_jacobians = [e[4] for e in estimates]
        out.thetas = [p.thetas for p in plans]
    timings["total"] = time.perf_counter() - start
    metadata["cpu_seconds"] = time.process_time() - cpu_start
    return out


def _template_kind(plan: _Plan) -> str | None:
    """``"qaoa"`` (the textbook template), ``"structure"`` (a structural template) or ``None``."""
    if plan.template_rows is not None:
        return "qaoa"
    return "structure" if plan.batch.template is not None else None


def prepare_heads(scores: np.ndarray, keep: np.ndarray, values: np.ndarray,
                  opts: CircuitHeadOptions) -> list[Any]:
    """One :class:`~qiskit_qattn.circuits.PreparedHead` per head, over its rows with a kept key.

    The scores are handed over as ``Q = scores``, ``K = I``, ``scale = 1`` so that any additive
    bias (ALiBi, float masks) is part of what the circuits encode.
    """
    from ..circuits import prepare_head

    num_keys = scores.shape[-1]
    eye = np.eye(num_keys)
    heads = []
    for s, k, v in zip(scores, keep, values, strict=True):
        active = k.any(axis=1)
        rows, mask = np.where(k, s, 0.0)[active], k[active]
        heads.append(prepare_head(rows, eye, v, family=opts.family,
                                  mask=None if mask.all() else mask, scale=1.0,
                                  temperature=opts.temperature, **opts.family_options))
    return heads


# ----------------------------------------------------------------------------- compilation
@dataclass
class _Plan:
    """What one head runs: its batch, and for template heads the parameter-shift layout."""

    batch: Any
    template_rows: int | None = None  # rows per query in the batch (1 + 2T with shifts)
    thetas: np.ndarray | None = None  # [n, T] score-dependent angles
    factors: np.ndarray | None = None  # [T] parameter-shift factors |a|/2


def _plan(head: Any, executor: Any, opts: CircuitHeadOptions, shift: bool, hits: list) -> _Plan:
    from ..execution import logical_batch

    device = executor.device
    if opts.uses_template and (shift or device is not None):
        return _template_plan(head, executor, opts, shift, hits)
    if device is None:
        return _Plan(logical_batch(head))
    key = _head_key(head, executor, opts) if opts.cache else None
    batch = None if key is None else _CACHE.get(key)
    if batch is not None:
        hits[0] += 1
        _CACHE.move_to_end(key)
        return _Plan(batch)
    hits[1] += 1
    batch = _structure_batch(head, executor, opts) if _wants_structure(opts) else None
    if batch is None:
        batch = _compile(head, executor, opts)
    if key is not None:
        _remember(key, batch)
    return _Plan(batch)


def _wants_structure(opts: CircuitHeadOptions) -> bool:
    from .circuit_options import STRUCTURE_TEMPLATE_FAMILIES

    if opts.template is True:
        return True
    return opts.template == "auto" and opts.family in STRUCTURE_TEMPLATE_FAMILIES


def _structure_batch(head: Any, executor: Any, opts: CircuitHeadOptions) -> Any | None:
    """The head bound to its structure's compiled template, or ``None`` (compile per row)."""
    from ..execution import CircuitBatch, measure_layout
    from .circuit_templates import structure_template, template_key

    found = structure_template(head.circuits)
    if found is None:
        return None
    logical, values = found
    key = f"structure|{template_key(logical)}|{_settings(executor, opts)}"
    entry = _CACHE.get(key, False)
    if entry is False:
        entry = _compile_structure(logical, head, executor, opts)
        _remember(key, entry)
    else:
        _CACHE.move_to_end(key)
    if entry is None:  # the template costs two-qubit gates: compile row by row
        return None
    isa, order = entry
    if executor.measured:
        isa = measure_layout(isa, head.num_qubits)
    return CircuitBatch(None, head.num_qubits, template=isa, parameter_values=values[:, order],
                        measured=executor.measured, device=executor.device.name,
                        label=f"{head.family.name} template on {executor.device.name}")


def _compile_structure(logical, head, executor, opts):
    """``(isa, order)`` of a structural template, or ``None`` when it is not worth it."""
    from ..passes import compile_circuits

    method = {} if opts.optimization_method is None else {
        "optimization_method": opts.optimization_method}
    kwargs = {"optimization_level": opts.optimization_level,
              "seed_transpiler": opts.seed_transpiler, **method}
    isa = compile_circuits(logical, executor.device, **kwargs)[0]
    if len(isa.parameters) != logical.num_parameters:
        return None  # the compiler folded a parameter away: rows cannot all be bound
    if opts.template == "auto":
        row = compile_circuits(head.circuits[0], executor.device, **kwargs)[0]
        if _two_qubit_gates(isa) > _two_qubit_gates(row):
            return None
    return isa, [p.index for p in isa.parameters]


def _two_qubit_gates(qc) -> int:
    return sum(1 for inst in qc.data if inst.operation.num_qubits == 2)


def _compile(head, executor, opts):
    from ..execution import compiled_batch

    return compiled_batch(head, executor.device, measure=executor.measured,
                          optimization_level=opts.optimization_level,
                          optimization_method=opts.optimization_method,
                          seed_transpiler=opts.seed_transpiler)


def _remember(key: str, value: Any) -> None:
    _CACHE[key] = value
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)


def _settings(executor: Any, opts: CircuitHeadOptions) -> str:
    device = executor.device
    return (f"{getattr(device, 'name', None)}|{id(device)}|{executor.measured}|"
            f"{opts.optimization_level}|{opts.optimization_method}|{opts.seed_transpiler}")


def _head_key(head: Any, executor: Any, opts: CircuitHeadOptions) -> str:
    h = hashlib.sha256()
    h.update(f"{opts.family}|{sorted(opts.family_options.items())!r}|{head.temperature!r}|"
             f"{head.scores.shape}|{_settings(executor, opts)}".encode())
    h.update(np.ascontiguousarray(head.scores, dtype=np.float64).tobytes())
    h.update(np.packbits(head.keep).tobytes())
    return h.hexdigest()


def _template_plan(head, executor, opts, shift, hits) -> _Plan:
    """Bind the head's rows (and their parameter shifts) to the size's shared template."""
    from ..circuits.families.qaoa import qaoa_template_values
    from ..execution import CircuitBatch

    fam = opts.family_options
    reps = fam.get("reps", 2)
    m = head.num_qubits
    template, order, coefficients = _template(m, reps, executor, opts, hits)
    base = qaoa_template_values(head.rows, reps, fam.get("gammas"), fam.get("betas"))
    n, num_params = base.shape
    thetas = base[:, reps:]  # [beta_0..beta_{p-1}, theta...]: only the thetas depend on scores
    if not shift:
        values = base
        per_row, factors = 1, None
    else:
        a = np.abs(coefficients[reps:])
        if not np.all(np.isfinite(a)) or np.any(a == 0):
            raise ValueError(
                "gradient='parameter_shift': the compiled template spreads a score-dependent "
                "angle over several gates; compile with a lower optimization_level or use "
                "gradient='softmax'")
        steps = np.pi / (2 * a)
        num_t = num_params - reps
        shifted = np.repeat(base[:, None, :], 1 + 2 * num_t, axis=1)
        idx = np.arange(num_t)
        shifted[:, 1 + idx, reps + idx] += steps
        shifted[:, 1 + num_t + idx, reps + idx] -= steps
        values = shifted.reshape(n * (1 + 2 * num_t), num_params)
        per_row, factors = 1 + 2 * num_t, a / 2
    common = {"measured": executor.measured, "label": f"qaoa template m={m}"}
    if executor.device is not None:
        common["device"] = executor.device.name
    batch = CircuitBatch(None, m, template=template, parameter_values=values[:, order], **common)
    return _Plan(batch, per_row, thetas, factors)


def _template(m: int, reps: int, executor: Any, opts: CircuitHeadOptions, hits: list):
    """``(template, parameter order, coefficient per logical parameter)`` of one head size."""
    from ..circuits.families.qaoa import qaoa_template

    key = f"template|{m}|{reps}|{_settings(executor, opts)}"
    cached = _CACHE.get(key) if opts.cache else None
    if cached is not None:
        hits[0] += 1
        _CACHE.move_to_end(key)
        return cached
    hits[1] += 1
    logical = qaoa_template(m, reps)
    names = [p.name for p in logical.parameters]
    if executor.device is None:
        # qaoa_template applies exp(-i θ Z_S) = RZ_S(2θ): coefficient 2 on every θ (β: RX(2β)).
        entry = (logical, list(range(len(names))), np.full(len(names), 2.0))
    else:
        from ..execution import measure_layout
        from ..passes import compile_circuits

        method = {} if opts.optimization_method is None else {
            "optimization_method": opts.optimization_method}
        isa = compile_circuits(logical, executor.device,
                               optimization_level=opts.optimization_level,
                               seed_transpiler=opts.seed_transpiler, **method)[0]
        order = [names.index(p.name) for p in isa.parameters]
        if len(order) != len(names):
            raise RuntimeError("the compiled template lost parameters; cannot bind every query")
        coefficients = _shift_coefficients(isa, names)
        if executor.measured:
            isa = measure_layout(isa, m)
        entry = (isa, order, coefficients)
    if opts.cache:
        _remember(key, entry)
    return entry


def _shift_coefficients(isa: Any, names: list[str]) -> np.ndarray:
    """Coefficient ``a`` of each parameter in the one rotation it drives (``RZ(a θ + c)``).

    The two-term shift rule needs every score-dependent parameter in exactly one Pauli
    rotation; where the compiler spread one over several gates, ``NaN`` marks it (the
    parameter-shift path then refuses the compilation).
    """
    coef = np.full(len(names), np.nan)
    seen: dict[str, int] = {}
    rotations = {"rz", "rx", "ry", "p", "u1", "rzz", "rxx", "ryy", "rzx"}
    for inst in isa.data:
        for param in inst.operation.params:
            if not hasattr(param, "parameters"):
                continue
            for p in param.parameters:
                seen[p.name] = seen.get(p.name, 0) + 1
                if inst.operation.name in rotations:
                    coef[names.index(p.name)] = float(param.gradient(p))
    for name, count in seen.items():
        if count != 1:
            coef[names.index(name)] = np.nan
    return coef


# ----------------------------------------------------------------------------- execution
class _TimedExecutor:
    """Delegates to an executor and adds the seconds spent in its ``run`` to ``seconds[0]``."""

    def __init__(self, inner: Any, seconds: list[float]):
        self._inner = inner
        self._seconds = seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def with_options(self, options: dict) -> _TimedExecutor:
        return _TimedExecutor(self._inner.with_options(options), self._seconds)

    def run(self, batches, shots=None):
        t0 = time.perf_counter()
        try:
            return self._inner.run(batches, shots)
        finally:
            self._seconds[0] += time.perf_counter() - t0


def _merge(plans: list[_Plan]) -> Any:
    """One batch of every head's rows (one shared template stays one template)."""
    from ..execution import CircuitBatch

    batches = [p.batch for p in plans]
    first = batches[0]
    common = {"measured": first.measured, "device": first.device, "label": first.label}
    if all(b.template is first.template for b in batches) and first.template is not None:
        values = np.concatenate([b.parameter_values for b in batches])
        return CircuitBatch(None, first.num_bits, template=first.template,
                            parameter_values=values, **common)
    circuits = tuple(qc for b in batches for qc in b.circuits)
    return CircuitBatch(circuits, first.num_bits, **common)


def _run_mitigated(heads, plans, timed, opts, shots):
    from ..mitigation import MitigatedExecutor

    config = opts.mitigation
    merged = _merge(plans)
    res = MitigatedExecutor(timed, config).run(merged, shots)
    offsets = np.cumsum([0] + [p.batch.num_rows for p in plans])
    per_head = []
    for i, (head, plan) in enumerate(zip(heads, plans, strict=True)):
        sl = slice(offsets[i], offsets[i + 1])
        per = plan.template_rows or 1
        probs = res.probabilities[:, sl]
        covs = res.covariances[:, sl]
        factors = res.scale_factors[:, sl]
        base = slice(None, None, per)
        p0 = head.decode(probs[:, base])
        c0 = head.decode_covariance(covs[:, base])
        scaled = [outputs_with_covariance(p0[s], c0[s], head.values, head.keep)
                  for s in range(p0.shape[0])]
        jac = None
        if per > 1:
            jac = [_shift_jacobians(head, probs[s], plan) for s in range(probs.shape[0])]
        per_head.append((scaled, factors[:, base], jac))
    estimates = _combine(heads, per_head, config)
    meta = {**res.metadata, "mitigation": config.label, "num_circuits": res.num_circuits,
            "total_shots": res.total_shots, "client_side": list(res.client_side),
            "server_side": list(res.server_side),
            "readout_fidelity": {str(q): c.assignment_fidelity()
                                 for q, c in res.calibrations.items()}}
    return estimates, meta


def _combine(heads, per_head, config):
    """Extrapolate every head's per-scale estimates to zero noise in one call."""
    from ..mitigation.zne import combine_results

    raw_values = np.concatenate([np.stack([o for o, _, _ in scaled]) for scaled, _, _ in
                                 per_head], axis=1)  # [s, N, d_v]
    raw_std = np.concatenate([np.stack([e for _, e, _ in scaled]) for scaled, _, _ in per_head],
                             axis=1)
    raw_weights = np.concatenate([np.stack([w for _, _, w in scaled]) for scaled, _, _ in
                                  per_head], axis=1)  # [s, N, 2**m]
    factors = np.concatenate([f for _, f, _ in per_head], axis=1)
    keep = np.concatenate([h.keep for h in heads])
    sizes = np.cumsum([0] + [h.num_queries for h in heads])
    if not config.has("zne"):
        values, std, weights = raw_values[0], raw_std[0], raw_weights[0]
        jac = [None if j is None else j[0] for _, _, j in per_head]
    else:
        asymptote = config.asymptote
        if asymptote == "uniform":
            asymptote = np.concatenate([(h.keep @ h.values) / h.keep.sum(axis=1, keepdims=True)
                                        for h in heads])
        fit = combine_results(factors, raw_values, raw_std, extrapolation=config.extrapolation,
                              order=config.order, asymptote=asymptote, engine=config.engine,
                              factory=config.factory)
        values, std = fit.values, fit.std_errors
        linear = "linear" if config.extrapolation == "linear" else "richardson"
        wfit = combine_results(factors, raw_weights, None, engine="native", extrapolation=linear)
        weights = np.where(keep, np.clip(wfit.values, 0.0, None), 0.0)
        totals = weights.sum(axis=1, keepdims=True)
        weights = np.divide(weights, totals, out=raw_weights[0].copy(), where=totals > 0)
        jac = []
        for i, (_, _, j) in enumerate(per_head):
            if j is None:
                jac.append(None)
                continue
            f = factors[:, sizes[i]:sizes[i + 1]]
            jac.append(tuple(
                combine_results(f, np.stack([x[k] for x in j]), None, engine="native",
                                extrapolation=config.extrapolation, order=config.order).values
                for k in range(2)))
    out = []
    for i, head in enumerate(heads):
        sl = slice(sizes[i], sizes[i + 1])
        entry = (values[sl], std[sl], weights[sl][:, : head.num_keys])
        if jac[i] is not None:
            entry += (jac[i][0], jac[i][1][..., : head.num_keys])
        out.append(entry)
    return out


def _estimate(head, plan: _Plan, outcomes) -> tuple:
    """Outputs, standard errors, weights (and parameter-shift derivatives) of one head."""
    per = plan.template_rows or 1
    if outcomes.exact:
        stats = outcomes.probabilities
    else:
        stats = outcomes.counts
    base = head.decode(stats[::per])
    values, std, weights = outputs_from_counts(base, head.values, head.keep,
                                               exact=outcomes.exact)
    entry = (values, std, weights[:, : head.num_keys])
    if per > 1:
        dout, dw = _shift_jacobians(head, outcomes.probabilities, plan)
        entry += (dout, dw[..., : head.num_keys])
    return entry


def _shift_jacobians(head, probs: np.ndarray, plan: _Plan) -> tuple[np.ndarray, np.ndarray]:
    """``(d outputs / dθ [n, T, d_v], d weights / dθ [n, T, 2**m])`` from shifted rows."""
    per = plan.template_rows
    n = head.num_queries
    num_t = (per - 1) // 2
    p = head.decode(np.asarray(probs).reshape(n, per, -1).transpose(1, 0, 2))  # [per, n, 2**m]
    p0, plus, minus = p[0], p[1: 1 + num_t], p[1 + num_t:]
    dp = plan.factors[:, None, None] * (plus - minus)  # [T, n, 2**m]
    keep = head.keep
    kept = np.where(keep, p0, 0.0)
    total = kept.sum(axis=1)  # [n]
    if np.any(total <= 0):
        raise ValueError("no probability on a kept key; add shots")
    w = kept / total[:, None]
    dkept = np.where(keep[None], dp, 0.0)
    dw = (dkept - w[None] * dkept.sum(axis=2, keepdims=True)) / total[None, :, None]
    dout = dw @ head.values  # [T, n, d_v]
    return dout.transpose(1, 0, 2), dw.transpose(1, 0, 2)

