"""PUB packing: a whole attention head (every query, value column and ZNE fold) as one job.

QAOA heads share one circuit *structure*: only the phase-separator angles differ per query. So
the head compiles **one** parametrised template (one multi-Z rotation per Walsh term and layer,
plus the RX mixers) and every query becomes a row of broadcast parameter values. Each ZNE fold of
the compiled template is one PUB, so a head with ``F`` folds is ``F`` PUBs in one job. Circuits
without a shared template (``softmax_state``) pack as one PUB per query and fold.

Estimator PUBs carry the value observables laid out on the compiled circuit's physical qubits
(``SparsePauliOp.apply_layout``): ``[P O_0, ..., P O_{d_v-1}, P]`` with ``P`` the kept-key
projector, so the ratio ``<P O_c> / <P>`` is the same kept-key estimator the Sampler path uses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.circuit import ParameterExpression, ParameterVector
from qiskit.circuit.library import PauliEvolutionGate
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.quantum_info import SparsePauliOp

from ..encoding import (
    as_bool_mask,
    as_real_array,
    check_positive_int,
    diagonal_to_sparse_pauli,
    pad_mask,
    pad_rows,
    walsh_coefficients,
    z_strings,
)

PRIMITIVES = ("sampler", "estimator")

#: ``fold(isa_circuit, factor) -> folded ISA circuit`` (measurement-free in and out).
FoldFunction = Callable[[QuantumCircuit, float], QuantumCircuit]


@dataclass(frozen=True)
class PackedTask:
    """The PUBs of one Runtime job and what identifies them.

    Attributes:
        primitive: ``"sampler"`` or ``"estimator"``.
        pubs: coerced ``SamplerPub``/``EstimatorPub`` objects.
        shots: shots per circuit execution (sampler), ``None`` for the estimator.
        precision: target precision (estimator), ``None`` for the sampler.
        backend_name: the backend the circuits were compiled for.
        label: a human-readable name stored with the job.
    """

    primitive: str
    pubs: tuple
    shots: int | None
    precision: float | None
    backend_name: str
    label: str = ""

    @property
    def num_executions(self) -> int:
        """Distinct circuit executions (parameter bindings) across all PUBs."""
        return int(sum(max(1, int(np.prod(pub.parameter_values.shape))) for pub in self.pubs))

    def fingerprint(self, options: dict | None = None) -> str:
        """A 32-hex-digit hash of everything that determines the job's result.

        Circuits are hashed from a canonical instruction listing (Parameter names, not their
        random UUIDs), so rebuilding the same head in a new process gives the same key.
        """
        h = hashlib.sha256()
        head = {"primitive": self.primitive, "shots": self.shots, "precision": self.precision,
                "backend": self.backend_name, "options": options or {}}
        h.update(json.dumps(head, sort_keys=True, default=str).encode())
        for pub in self.pubs:
            _hash_circuit(h, pub.circuit)
            params = pub.parameter_values
            h.update(json.dumps([str(p) for p in params.parameters]
                                if hasattr(params, "parameters") else []).encode())
            array = np.ascontiguousarray(params.as_array(), dtype=np.float64)
            h.update(str(array.shape).encode() + array.tobytes())
            if isinstance(pub, EstimatorPub):
                for obs in np.ravel(pub.observables.tolist()):
                    h.update(json.dumps(sorted(obs.items()), default=repr).encode())
                h.update(repr(pub.precision).encode())
            else:
                h.update(repr(pub.shots).encode())
        return h.hexdigest()[:32]


def _hash_circuit(h, qc: QuantumCircuit) -> None:
    h.update(f"{qc.num_qubits}|{qc.num_clbits}|{[r.name for r in qc.cregs]}".encode())
    h.update(repr(_canon(qc.global_phase)).encode())
    for inst in qc.data:
        qubits = [qc.find_bit(q).index for q in inst.qubits]
        clbits = [qc.find_bit(c).index for c in inst.clbits]
        params = [_canon(p) for p in inst.operation.params]
        h.update(f"{inst.operation.name}{qubits}{clbits}{params};".encode())


def _canon(value: Any) -> str:
    if isinstance(value, ParameterExpression):
        try:
            return repr(float(value))
        except TypeError:
            return f"expr({value})"
    if isinstance(value, (float, int, np.floating, np.integer)):
        return repr(float(value))
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
    return repr(value)


# ---------------------------------------------------------------------------------------------
# QAOA template


def qaoa_template(num_qubits: int, reps: int) -> tuple[QuantumCircuit, list]:
    """A QAOA attention circuit with every angle a ``Parameter``.

    Layer ``l`` applies ``exp(-i θ[l, S] Z_S)`` for every non-empty Z-string ``S`` (subset index
    ``S = 1 .. 2**m - 1``, little-endian) and then ``RX(2 β[l])`` on every qubit, after an initial
    ``H`` layer. Binding :func:`qaoa_parameter_values` gives the same key distribution as
    :func:`~qiskit_qattn.circuits.qaoa_attention` (up to global phase).

    Returns:
        ``(circuit, parameters)`` where ``parameters`` is the ordered list the values bind to.

    Example:
        >>> qc, params = qaoa_template(2, reps=1)
        >>> qc.num_parameters, len(params)
        (4, 4)
    """
    m = check_positive_int(num_qubits, "num_qubits")
    reps = check_positive_int(reps, "reps")
    terms = z_strings(m, np.arange(1, 2**m))
    thetas = ParameterVector("theta", reps * (2**m - 1))
    betas = ParameterVector("beta", reps)
    qc = QuantumCircuit(m, name="qaoa_attention_template")
    qc.h(range(m))
    for layer in range(reps):
        for s, pauli in enumerate(terms):
            theta = thetas[layer * (2**m - 1) + s]
            qc.append(PauliEvolutionGate(SparsePauliOp(pauli), time=theta), qc.qubits)
        qc.rx(2 * betas[layer], range(m))
    return qc, [*thetas, *betas]


def qaoa_parameter_values(
    scores: Any,
    *,
    reps: int = 2,
    gammas: Sequence[float] | None = None,
    betas: Sequence[float] | None = None,
    temperature: float = 1.0,
    mask: Any | None = None,
) -> np.ndarray:
    """Per-query values ``[n_q, reps * (2**m - 1) + reps]`` binding :func:`qaoa_template`.

    Uses the same phase diagonal and default schedule as ``qaoa_attention``.

    Example:
        >>> qaoa_parameter_values([[0.3, -1.0, 2.0, 0.5]], reps=1, gammas=[0.8],
        ...                       betas=[-0.4]).shape
        (1, 4)
    """
    from ..circuits._rows import score_row
    from ..circuits.qaoa import QAOA_MAX_KEYS, phase_diagonal
    from ..circuits.schedules import default_schedule

    s = as_real_array(scores, "scores", ndim=2)
    reps = check_positive_int(reps, "reps")
    keep = None if mask is None else as_bool_mask(mask, "mask", s.shape)
    rows = []
    for i, row_scores in enumerate(s):
        row = score_row(row_scores, temperature, None if keep is None else keep[i],
                        QAOA_MAX_KEYS, "qaoa_parameter_values")
        diag = phase_diagonal(row)
        dg, db = default_schedule(reps)
        spread = float(np.std(diag[row.keep])) or 1.0
        g = np.asarray(gammas if gammas is not None else np.asarray(dg) / spread, dtype=float)
        b = np.asarray(betas if betas is not None else db, dtype=float)
        if g.shape != (reps,) or b.shape != (reps,):
            raise ValueError(f"gammas and betas must have length reps={reps}")
        coeffs = walsh_coefficients(diag)[1:]
        # qaoa_attention applies exp(+i γ Σ c_S Z_S); the template's terms are exp(-i θ Z_S).
        thetas = -np.outer(g, coeffs).ravel()
        rows.append(np.concatenate([thetas, b]))
    return np.stack(rows)


# ---------------------------------------------------------------------------------------------
# Head packing


@dataclass
class HeadJob:
    """One attention head packed into one job, with what is needed to read the result back.

    Attributes:
        task: the packed PUBs.
        num_queries, num_keys, num_key_qubits: head sizes.
        keep: ``[n_q, 2**m]`` kept keys (masked and padding keys ``False``).
        values: padded values ``[2**m, d_v]``.
        fold_factors: noise-scale factor of each fold, in PUB order.
        templated: one parametrised circuit per fold (``True``) or one circuit per query.
        compiled: the unfolded ISA circuits (one template, or one per query), unmeasured.
        circuits: the logical circuits (one per query, for reports).
    """

    task: PackedTask
    num_queries: int
    num_keys: int
    num_key_qubits: int
    keep: np.ndarray
    values: np.ndarray
    fold_factors: tuple[float, ...]
    templated: bool
    compiled: list[QuantumCircuit]
    circuits: list[QuantumCircuit] = field(default_factory=list)

    def counts(self, result: Any) -> np.ndarray:
        """Sampler counts ``[n_folds, n_q, 2**m]`` from the job's ``PrimitiveResult``."""
        if self.task.primitive != "sampler":
            raise ValueError("counts() needs a sampler job; use estimates() for the estimator")
        n_out = 2**self.num_key_qubits
        out = np.zeros((len(self.fold_factors), self.num_queries, n_out), dtype=np.int64)
        for f, q, pub_result in self._walk(result):
            bits = pub_result.data["meas"]
            if self.templated:
                for i in range(self.num_queries):
                    out[f, i] = _int_counts(bits.get_int_counts(i), n_out)
            else:
                out[f, q] = _int_counts(bits.get_int_counts(), n_out)
        return out

    def estimates(self, result: Any) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(values, std_errors, weights)`` per fold (weights are NaN for the estimator)."""
        from ..attention.key_estimators import outputs_from_counts

        if self.task.primitive == "sampler":
            return [outputs_from_counts(c, self.values, self.keep) for c in self.counts(result)]
        d_v = self.values.shape[1]
        evs = np.zeros((len(self.fold_factors), self.num_queries, d_v + 1))
        stds = np.zeros_like(evs)
        for f, q, pub_result in self._walk(result):
            target = slice(None) if self.templated else q
            evs[f, target] = np.asarray(pub_result.data.evs)
            stds[f, target] = np.asarray(pub_result.data.stds)
        out = []
        for f in range(len(self.fold_factors)):
            den = evs[f, :, d_v:]
            if np.any(den <= 0):
                raise ValueError("estimated kept-key probability <= 0; add precision/shots")
            vals = evs[f, :, :d_v] / den
            std = np.sqrt(stds[f, :, :d_v] ** 2 + (vals * stds[f, :, d_v:]) ** 2) / den
            weights = np.full((self.num_queries, 2**self.num_key_qubits), np.nan)
            out.append((vals, std, weights))
        return out

    def _walk(self, result: Any):
        results = list(result)
        per_fold = 1 if self.templated else self.num_queries
        if len(results) != per_fold * len(self.fold_factors):
            raise ValueError(f"expected {per_fold * len(self.fold_factors)} PUB results; "
                             f"got {len(results)}")
        for k, pub_result in enumerate(results):
            yield k // per_fold, k % per_fold, pub_result


def _int_counts(counts: dict, n_out: int) -> np.ndarray:
    out = np.zeros(n_out, dtype=np.int64)
    for key, value in counts.items():
        out[int(key)] += int(value)
    return out


def measure_layout(isa: QuantumCircuit, num_logical: int) -> QuantumCircuit:
    """Copy of an unmeasured ISA circuit measuring its logical qubits into register ``meas``.

    Bit ``i`` of ``meas`` reads the physical qubit holding logical qubit ``i`` at the end of the
    circuit (after routing), so outcomes are little-endian key indices.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> from qiskit.transpiler import generate_preset_pass_manager
        >>> qc = QuantumCircuit(2); _ = qc.x(1)
        >>> isa = generate_preset_pass_manager(1, backend=FakeManilaV2()).run(qc)
        >>> measure_layout(isa, 2).count_ops()["measure"]
        2
    """
    if isa.layout is None:
        physical = list(range(num_logical))
    else:
        physical = isa.layout.final_index_layout(filter_ancillas=True)[:num_logical]
    out = isa.copy()
    creg = ClassicalRegister(num_logical, "meas")
    out.add_register(creg)
    out.measure(physical, creg)
    return out


def pack_head(
    Q: Any,
    K: Any,
    V: Any,
    *,
    backend: Any,
    method: str = "qaoa",
    primitive: str = "sampler",
    shots: int = 4096,
    precision: float | None = None,
    mask: Any | None = None,
    scale: float | None = None,
    temperature: float = 1.0,
    fold: FoldFunction | None = None,
    fold_factors: Sequence[float] = (1,),
    template: bool | None = None,
    optimization_level: int = 3,
    optimization_method: str | None = None,
    seed_transpiler: int = 0,
    label: str = "",
    **method_options: Any,
) -> HeadJob:
    """Build, compile and pack one attention head into the PUBs of a single job.

    Args:
        Q, K, V: the head's queries ``[n_q, d]``, keys ``[n_k, d]``, values ``[n_k, d_v]``.
        backend: ``BackendV2`` or name to compile for (see ``resolve_backend``).
        method: ``"qaoa"`` or ``"softmax_state"``.
        primitive: ``"sampler"`` (counts; every value column from the same shots) or
            ``"estimator"`` (value observables laid out on the physical qubits).
        shots: shots per execution (sampler).
        precision: estimator target precision (default ``1/sqrt(shots)``).
        mask, scale, temperature: as in ``attention_circuits``.
        fold: ``fold(isa, factor)`` returning a noise-amplified ISA circuit (e.g. ZNE gate
            folding); applied after compilation, never re-optimised. Needed when any fold
            factor is not 1.
        fold_factors: noise-scale factors, one PUB (set) each, all in the same job.
        template: compile one parametrised QAOA template and broadcast per-query parameter
            values (default: ``True`` for QAOA with the Walsh phase separator).
        optimization_level, optimization_method, seed_transpiler: compilation options.
        label: stored with the job.
        **method_options: QAOA ``reps``, ``gammas``, ``betas``, ``phase_separator``.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(3, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 2))
        >>> job = pack_head(Q, K, V, backend=FakeManilaV2(), shots=100)
        >>> len(job.task.pubs), job.task.num_executions
        (1, 3)
    """
    from ..circuits.attention_circuits import METHODS, attention_circuits, attention_scores
    from ..passes.preset import compile_circuits
    from .backends import resolve_backend

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if primitive not in PRIMITIVES:
        raise ValueError(f"primitive must be one of {PRIMITIVES}; got {primitive!r}")
    shots = check_positive_int(shots, "shots")
    if precision is None:
        precision = 1.0 / np.sqrt(shots)
    elif not (np.isfinite(precision) and precision > 0):
        raise ValueError(f"precision must be a finite number > 0; got {precision!r}")
    factors = tuple(float(f) for f in fold_factors)
    if not factors or any(not np.isfinite(f) or f < 1 for f in factors):
        raise ValueError(f"fold_factors must be a non-empty sequence of numbers >= 1; "
                         f"got {fold_factors!r}")
    if fold is None and any(f != 1 for f in factors):
        raise ValueError("fold_factors other than 1 need a fold function (fold=...)")
    target = resolve_backend(backend)
    values = as_real_array(V, "V", ndim=2)
    scores = attention_scores(Q, K, values, scale=scale)
    n_q, n_k = scores.shape
    keep_real = np.ones((n_q, n_k), bool) if mask is None else as_bool_mask(mask, "mask",
                                                                            (n_q, n_k))
    if not keep_real.any(axis=1).all():
        raise ValueError("mask leaves a query with no attended key; every row needs one")
    circuits = attention_circuits(Q, K, values, method=method, mask=mask, scale=scale,
                                  temperature=temperature, **method_options)
    m = circuits[0].num_qubits
    keep = np.stack([pad_mask(row, n_k, m) for row in keep_real])
    padded = pad_rows(values, m)
    if template is None:
        template = method == "qaoa" and method_options.get("phase_separator", "walsh") == "walsh"
    if template and method != "qaoa":
        raise ValueError("template=True needs method='qaoa'")
    compile_opts = {} if optimization_method is None else {
        "optimization_method": optimization_method}

    if template:
        reps = method_options.get("reps", 2)
        tmpl, params = qaoa_template(m, reps)
        param_values = qaoa_parameter_values(
            scores, reps=reps, gammas=method_options.get("gammas"),
            betas=method_options.get("betas"), temperature=temperature, mask=mask)
        compiled = compile_circuits(tmpl, target, optimization_level=optimization_level,
                                    seed_transpiler=seed_transpiler, **compile_opts)
        isa = compiled[0]
        # Bind by name: transpilation keeps Parameter objects but may reorder isa.parameters.
        order = [params.index(p) for p in isa.parameters]
        if len(order) != len(params):
            raise ValueError("the compiled template lost parameters; cannot broadcast")
        bound_values = param_values[:, order]
    else:
        compiled = compile_circuits(circuits, target, optimization_level=optimization_level,
                                    seed_transpiler=seed_transpiler, **compile_opts)

    pubs = []
    for factor in factors:
        folded = [c if factor == 1 else fold(c, factor) for c in compiled]
        for q, isa in enumerate(folded):
            if primitive == "sampler":
                circuit = measure_layout(isa, m)
                pub = (circuit, bound_values) if template else (circuit,)
                pubs.append(SamplerPub.coerce(pub, shots=shots))
            else:
                rows = range(n_q) if template else [q]
                observables = [_query_observables(keep[i], padded, isa) for i in rows]
                if template:
                    pub = (isa, observables, bound_values[:, None, :])
                else:
                    pub = (isa, observables[0])
                pubs.append(EstimatorPub.coerce(pub, precision=float(precision)))
    task = PackedTask(
        primitive=primitive, pubs=tuple(pubs),
        shots=shots if primitive == "sampler" else None,
        precision=float(precision) if primitive == "estimator" else None,
        backend_name=target.name, label=label,
    )
    return HeadJob(task=task, num_queries=n_q, num_keys=n_k, num_key_qubits=m, keep=keep,
                   values=padded, fold_factors=factors, templated=bool(template),
                   compiled=compiled, circuits=circuits)


def _query_observables(keep: np.ndarray, values: np.ndarray, isa: QuantumCircuit) -> list:
    """``[P O_0, ..., P O_{d_v-1}, P]`` for one query, laid out on ``isa``'s physical qubits."""
    diagonals = [np.where(keep, values[:, c], 0.0) for c in range(values.shape[1])]
    diagonals.append(keep.astype(float))
    ops = [diagonal_to_sparse_pauli(d, atol=1e-12) for d in diagonals]
    return [op.apply_layout(isa.layout) if isa.layout is not None else op for op in ops]
