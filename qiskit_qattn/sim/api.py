"""One entry point for every simulation method: :func:`simulate`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from ..encoding import check_positive_int
from .memory import (
    aer_bytes,
    check_memory,
    default_memory_limit,
    format_bytes,
    state_bytes,
)
from .observables import (
    Observable,
    all_finite,
    exact_expectations,
    prepare_observables,
    shot_estimates,
    value_products,
)
from .result import SimulationResult
from .structured import QaoaProblem, resolve_dtype

METHODS = ("auto", "structured", "statevector", "mps", "aer")

#: ``method="auto"`` never picks a dense statevector beyond this width, even if memory allows.
AUTO_DENSE_MAX_QUBITS = 28

#: Rows simulated together by the structured kernel (bounded further by ``max_memory``).
STRUCTURED_CHUNK_ROWS = 256


def simulate(
    circuits_or_problem: Any,
    observables: Any = None,
    shots: int | None = None,
    method: str = "auto",
    *,
    parameter_values: Any = None,
    dtype: str = "complex128",
    seed: int | None = None,
    max_memory: int | None = None,
    max_bond: int | None = None,
    cutoff: float = 1e-12,
    mps_engine: str = "native",
    noise_model: Any = None,
    aer_method: str | None = None,
    return_probabilities: bool | None = None,
    return_statevector: bool = False,
    torch_device: str | None = None,
) -> SimulationResult:
    """Simulate attention circuits (or a structured QAOA problem) with the right method.

    Choice rule for ``method="auto"``:

    1. a :class:`~qiskit_qattn.sim.QaoaProblem` -> ``"structured"`` (no circuit is built);
    2. a ``noise_model``, or a circuit with mid-circuit measurement/reset -> ``"aer"``
       (density matrix for exact noisy values, Aer's choice with shots);
    3. circuits whose dense statevector fits ``max_memory`` and that have at most
       :data:`AUTO_DENSE_MAX_QUBITS` qubits -> ``"statevector"`` (Numba kernels);
    4. anything wider -> ``"mps"`` (quimb ``CircuitMPS``; bounded error, see ``error_bounds``).

    Explicit methods: ``"structured"`` (problems only; ``torch_device="cuda"`` etc. runs the torch
    path), ``"statevector"``, ``"mps"``, ``"aer"`` (a problem is turned into its circuits for
    these). Widths beyond the chosen method's memory raise ``ValueError`` before any allocation.

    Args:
        circuits_or_problem: a ``QuantumCircuit``, a sequence of them (one width), or a
            ``QaoaProblem``.
        observables: an operator (``SparsePauliOp``, ``Pauli``, label), a real value array
            ``[num_keys, k]`` (diagonal ``sum_j v_j |j><j|`` per column), or a sequence of these.
            For a problem, a value array ``[..., n, k]`` may carry one ``V`` per head.
        shots: sample this many shots per row and estimate the (diagonal) observables from them.
        method: ``"auto"``, ``"structured"``, ``"statevector"``, ``"mps"`` or ``"aer"``.
        parameter_values: for parameterised circuits, ``[num_circuits, num_parameters]``, or
            ``[num_sets, num_parameters]`` with a single circuit (parameters in
            ``circuit.parameters`` order).
        dtype: ``"complex128"`` or ``"complex64"`` (half the memory; ~1e-6 accuracy).
        seed: seed for sampling.
        max_memory: byte budget for dense states (default: half the physical memory).
        max_bond: MPS bond-dimension cap (``None`` = no cap).
        cutoff: MPS relative cutoff: each split discards at most this fraction of the squared
            singular-value weight.
        mps_engine: ``"native"`` (numpy TEBD, default) or ``"quimb"`` (quimb ``CircuitMPS``).
        noise_model: Aer ``NoiseModel`` (forces ``method="aer"`` under ``"auto"``).
        aer_method: Aer simulation method (default: density matrix when noisy and exact).
        return_probabilities: keep ``[..., 2**n]`` probabilities (default: when there are
            neither observables nor shots).
        return_statevector: keep the ``[..., 2**n]`` statevectors (dense methods).
        torch_device: torch device for the structured torch path (``None`` = Numba on the CPU).

    Returns:
        A :class:`SimulationResult` (same container for every method).

    Example:
        >>> from qiskit_qattn.sim import qaoa_problem
        >>> V = np.arange(6.0).reshape(3, 2)
        >>> res = simulate(qaoa_problem(np.array([[0.1, 2.0, -1.0]]), reps=2), V)
        >>> res.method, res.values.shape
        ('structured', (1, 2))
    """
    start = time.perf_counter()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    dt = resolve_dtype(dtype)
    if shots is not None:
        shots = check_positive_int(shots, "shots")
    limit = default_memory_limit() if max_memory is None else check_positive_int(
        max_memory, "max_memory"
    )
    if max_bond is not None:
        max_bond = check_positive_int(max_bond, "max_bond")
    if not (isinstance(cutoff, (int, float)) and 0 <= cutoff < 1):
        raise ValueError(f"cutoff must be a number in [0, 1); got {cutoff!r}")
    rng = np.random.default_rng(seed)
    opts = {
        "shots": shots, "dtype": dt, "rng": rng, "limit": limit, "seed": seed,
        "return_statevector": bool(return_statevector),
    }

    if isinstance(circuits_or_problem, QaoaProblem):
        problem = circuits_or_problem
        keep_probs = (
            (observables is None and shots is None)
            if return_probabilities is None else bool(return_probabilities)
        )
        opts["return_probabilities"] = keep_probs
        if method in ("auto", "structured"):
            result = _run_structured(problem, observables, torch_device=torch_device, **opts)
            return _finish(result, start, "problem input: structured kernel (no circuit built)")
        if torch_device is not None:
            raise ValueError("torch_device applies to the structured method only; drop it or "
                             "use method='structured'")
        from .structured import problem_circuits

        circuits = problem_circuits(problem)
        batch_shape = problem.batch_shape
        if isinstance(observables, np.ndarray) and observables.ndim > 2:
            raise ValueError("per-head value arrays need method='structured'")
    else:
        if method == "structured":
            raise TypeError(
                "method='structured' needs a QaoaProblem (see qaoa_problem); got circuits"
            )
        if torch_device is not None:
            raise ValueError("torch_device applies to the structured method (a QaoaProblem) only")
        circuits = _as_circuits(circuits_or_problem)
        circuits = _bind(circuits, parameter_values)
        batch_shape = (len(circuits),)
        keep_probs = (
            (observables is None and shots is None)
            if return_probabilities is None else bool(return_probabilities)
        )
        opts["return_probabilities"] = keep_probs

    width = circuits[0].num_qubits
    obs = prepare_observables(observables, width)
    chosen, reason = method, f"method={method!r} requested"
    if method == "auto":
        chosen, reason = _choose(circuits, width, dt, limit, noise_model)
    if chosen == "statevector":
        check_memory("statevector", width, _dense_need(width, dt), limit, dt)
        result = _run_dense(circuits, obs, width, batch_shape, **opts)
    elif chosen == "mps":
        result = _run_mps(circuits, obs, width, batch_shape, max_bond=max_bond, cutoff=cutoff,
                          engine=mps_engine, **opts)
    else:
        meth = aer_method
        if meth is None:
            from .aer import default_aer_method

            meth = default_aer_method(noise_model, shots)
        check_memory(f"aer ({meth})", width, aer_bytes(width, meth, dt.itemsize), limit, dt)
        result = _run_aer(circuits, obs, width, batch_shape, noise_model=noise_model,
                          aer_method=meth, max_bond=max_bond, cutoff=cutoff, **opts)
    return _finish(result, start, reason)


# ------------------------------------------------------------------------------ helpers


def _finish(result: SimulationResult, start: float, reason: str) -> SimulationResult:
    result.metadata.setdefault("reason", reason)
    result.metadata["elapsed_s"] = time.perf_counter() - start
    return result


def _as_circuits(value: Any) -> list[QuantumCircuit]:
    if isinstance(value, QuantumCircuit):
        return [value]
    if isinstance(value, Sequence) and value and all(
        isinstance(qc, QuantumCircuit) for qc in value
    ):
        circuits = list(value)
    else:
        raise TypeError(
            "circuits_or_problem must be a QuantumCircuit, a non-empty sequence of them or a "
            f"QaoaProblem (build one with qaoa_problem(scores)); got {type(value)!r}"
        )
    widths = sorted({qc.num_qubits for qc in circuits})
    if len(widths) != 1:
        raise ValueError(f"circuits must share one width; got widths {widths}")
    return circuits


def _bind(circuits: list[QuantumCircuit], parameter_values: Any) -> list[QuantumCircuit]:
    if parameter_values is None:
        return circuits
    values = np.asarray(parameter_values, dtype=float)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2:
        raise ValueError(
            f"parameter_values must be [num_circuits or num_sets, num_parameters]; got "
            f"shape {values.shape}"
        )
    if len(circuits) == 1:
        circuits = circuits * values.shape[0]
    if values.shape[0] != len(circuits):
        raise ValueError(
            f"parameter_values has {values.shape[0]} rows for {len(circuits)} circuits"
        )
    bound = []
    for qc, row in zip(circuits, values, strict=True):
        if row.shape[0] != qc.num_parameters:
            raise ValueError(
                f"parameter_values rows need {qc.num_parameters} values for circuit "
                f"{qc.name!r}; got {row.shape[0]}"
            )
        bound.append(qc.assign_parameters(row))
    return bound


def _prob_dtype(dt: np.dtype) -> type:
    # probabilities in the state's precision: complex64 runs take half the memory throughout
    return np.float32 if np.dtype(dt) == np.complex64 else np.float64


def _dense_need(width: int, dt: np.dtype) -> float:
    # state + one full-width diagonal (phase separators) + probabilities + Walsh work
    prob = np.dtype(_prob_dtype(dt)).itemsize
    return state_bytes(width, dt.itemsize, 2.0) + state_bytes(width, prob, 2.0)


def _choose(circuits, width, dt, limit, noise_model) -> tuple[str, str]:
    if noise_model is not None:
        return "aer", "noise model given: Aer"
    for qc in circuits:
        names = [inst.operation.name for inst in qc.data]
        if "reset" in names or _mid_circuit_measure(qc):
            return "aer", "mid-circuit measurement or reset: Aer"
    need = _dense_need(width, dt)
    if width <= AUTO_DENSE_MAX_QUBITS and need <= limit:
        return "statevector", (
            f"{width} qubits: dense statevector ({format_bytes(need)} <= "
            f"max_memory {format_bytes(limit)})"
        )
    return "mps", (
        f"{width} qubits: dense would need {format_bytes(need)} "
        f"(limit {format_bytes(limit)} / {AUTO_DENSE_MAX_QUBITS} qubits): MPS"
    )


def _mid_circuit_measure(qc: QuantumCircuit) -> bool:
    measured: set[int] = set()
    for inst in qc.data:
        qubits = {qc.find_bit(q).index for q in inst.qubits}
        if inst.operation.name == "measure":
            measured |= qubits
        elif inst.operation.name not in ("barrier", "delay") and measured & qubits:
            return True
    return False


def _counts_dict(counts: np.ndarray, width: int) -> dict[str, int]:
    idx = np.flatnonzero(counts)
    return {format(int(i), f"0{width}b"): int(counts[i]) for i in idx}


def _sample_rows(probs: np.ndarray, shots: int, rng, obs: list[Observable], width: int):
    from .sampling import sample_counts

    counts_out, values, errors = [], [], []
    for counts in sample_counts(probs, shots, rng):
        idx = np.flatnonzero(counts)
        bits = ((idx[:, None] >> np.arange(width)) & 1).astype(bool)
        if obs:
            mean, err = shot_estimates(bits, counts[idx], obs)
        else:
            mean, err = np.zeros(0), np.zeros(0)
        counts_out.append(_counts_dict(counts, width))
        values.append(mean)
        errors.append(err)
    return counts_out, values, errors


def _dense_outputs(states, probs, obs, opts, width, acc) -> None:
    """Append the outputs of one chunk of dense rows to the accumulators in ``acc``."""
    if opts["shots"] is None:
        acc["values"].append(exact_expectations(states, probs, obs))
    else:
        counts, values, errors = _sample_rows(probs, opts["shots"], opts["rng"], obs, width)
        acc["counts"].extend(counts)
        acc["values"].append(np.array(values).reshape(len(values), len(obs)))
        acc["errors"].append(np.array(errors).reshape(len(errors), len(obs)))
    if opts["return_probabilities"]:
        acc["probs"].append(probs)
    if opts["return_statevector"]:
        acc["states"].append(states.copy())


def _collect(method, width, batch_shape, acc, opts, **extra) -> SimulationResult:
    def stack(name, tail):
        if not acc[name]:
            return None
        return np.concatenate(acc[name], axis=0).reshape(*batch_shape, *tail)

    num_obs = acc["values"][0].shape[-1] if acc["values"] else 0
    shots = opts["shots"]
    return SimulationResult(
        method=method,
        num_qubits=width,
        batch_shape=tuple(batch_shape),
        values=stack("values", (num_obs,)),
        std_errors=stack("errors", (num_obs,)) if shots is not None else None,
        probabilities=stack("probs", (-1,)),
        statevectors=stack("states", (-1,)),
        counts=acc["counts"] if shots is not None else None,
        dtype=np.dtype(opts["dtype"]).name,
        shots=shots,
        **extra,
    )


def _new_acc() -> dict[str, list]:
    return {"values": [], "errors": [], "counts": [], "probs": [], "states": []}


def _run_structured(problem: QaoaProblem, observables, *, torch_device, **opts
                    ) -> SimulationResult:
    from ._kernels import probabilities as probs_kernel
    from .structured import iter_structured_states, structured_bytes

    width = problem.num_qubits
    dt = opts["dtype"]
    per_row = structured_bytes(problem, dt)  # state + probabilities (+ Walsh work below)
    per_row += state_bytes(width, np.dtype(_prob_dtype(dt)).itemsize)
    check_memory("structured", width, per_row, opts["limit"], dt)
    chunk = int(max(1, min(STRUCTURED_CHUNK_ROWS, opts["limit"] // max(per_row, 1))))
    values_v, obs = _problem_values(problem, observables)
    if values_v is not None and opts["shots"] is not None:
        raise ValueError("per-head value arrays need shots=None; pass one 2-D value array per call")
    acc = _new_acc()
    if torch_device is not None:
        states_iter = _torch_states(problem, dt, torch_device, chunk)
    else:
        states_iter = iter_structured_states(problem, dt, chunk)
    for start, stop, states in states_iter:
        probs = np.empty(states.shape, dtype=_prob_dtype(dt))
        probs_kernel(states, probs)
        chunk_acc = _new_acc()
        _dense_outputs(states, probs, obs, opts, width, chunk_acc)
        if values_v is not None:
            extra = _per_row_values(values_v, probs, start, stop, problem)
            chunk_acc["values"] = [np.concatenate([chunk_acc["values"][0], extra], axis=1)]
        for key in acc:
            acc[key].extend(chunk_acc[key])
    meta = {"chunk_rows": chunk, "memory_estimate": per_row * chunk,
            "device": "numba-cpu" if torch_device is None else str(torch_device)}
    return _collect("structured", width, problem.batch_shape, acc, opts, metadata=meta)


def _problem_values(problem: QaoaProblem, observables):
    """Split problem observables into per-head value arrays and shared observables."""
    if isinstance(observables, np.ndarray) and observables.ndim > 2:
        v = np.asarray(observables, dtype=np.float64)
        lead = problem.batch_shape[:-1]
        try:
            v = np.broadcast_to(v, (*lead, *v.shape[-2:]))
        except ValueError:
            raise ValueError(
                f"value array of shape {observables.shape} does not match the problem's leading "
                f"shape {lead}"
            ) from None
        if v.shape[-2] > 2**problem.num_qubits or not all_finite(v):
            raise ValueError(
                f"value array must be finite with at most {2**problem.num_qubits} rows"
            )
        return v, []
    return None, prepare_observables(observables, problem.num_qubits)


def _per_row_values(v, probs, start, stop, problem):
    queries = problem.batch_shape[-1]
    flat_v = v.reshape(-1, *v.shape[-2:])
    out = np.empty((stop - start, v.shape[-1]))
    for r in range(start, stop):
        head = r // queries
        vh = flat_v[head]
        out[r - start] = value_products(probs[r - start : r - start + 1], vh)[0]
    return out


def _torch_states(problem: QaoaProblem, dt, device, chunk):
    import torch

    from .torch_layers import qaoa_statevectors

    real = torch.float64 if dt == np.complex128 else torch.float32
    diag = problem.phase_diagonals().reshape(problem.num_rows, -1)
    gam = problem.gammas.reshape(problem.num_rows, -1)
    bet = problem.betas.reshape(problem.num_rows, -1)
    for start in range(0, problem.num_rows, chunk):
        stop = min(problem.num_rows, start + chunk)
        with torch.no_grad():
            psi = qaoa_statevectors(
                torch.as_tensor(diag[start:stop], dtype=real, device=device),
                torch.as_tensor(gam[start:stop], dtype=real, device=device),
                torch.as_tensor(bet[start:stop], dtype=real, device=device),
            )
        yield start, stop, np.ascontiguousarray(psi.cpu().numpy())


def _run_dense(circuits, obs, width, batch_shape, **opts) -> SimulationResult:
    from ._kernels import probabilities as probs_kernel
    from .dense import run_program
    from .lowering import lower_circuit

    acc = _new_acc()
    for qc in circuits:
        program = lower_circuit(qc)
        state = run_program(program, opts["dtype"])
        probs = np.empty(state.shape, dtype=_prob_dtype(opts["dtype"]))
        probs_kernel(state, probs)
        _dense_outputs(state, probs, obs, opts, width, acc)
    meta = {"memory_estimate": _dense_need(width, opts["dtype"])}
    return _collect("statevector", width, batch_shape, acc, opts, metadata=meta)


def _run_mps(circuits, obs, width, batch_shape, *, max_bond, cutoff, engine,
             **opts) -> SimulationResult:
    from .mps import MPS_ENGINES, run_mps

    if engine not in MPS_ENGINES:
        raise ValueError(f"mps_engine must be one of {MPS_ENGINES}; got {engine!r}")
    if opts["return_probabilities"] or opts["return_statevector"]:
        raise ValueError("method='mps' returns no probabilities or statevectors; pass observables")
    acc = _new_acc()
    trunc, bounds, bonds = [], [], []
    for qc in circuits:
        out = run_mps(
            qc, obs, shots=opts["shots"], seed=int(opts["rng"].integers(2**31)),
            max_bond=max_bond, cutoff=cutoff, dtype=np.dtype(opts["dtype"]).name, engine=engine,
        )
        acc["values"].append(out["values"][None, :])
        if opts["shots"] is not None:
            acc["errors"].append(out["std_errors"][None, :])
            acc["counts"].append(out["counts"])
        trunc.append(out["truncation_error"])
        bounds.append(out["error_bounds"])
        bonds.append(out["max_bond"])
    meta = {"max_bond": bonds, "cutoff": cutoff, "bond_cap": max_bond, "engine": engine}
    return _collect(
        "mps", width, batch_shape, acc, opts,
        truncation_error=np.array(trunc).reshape(batch_shape),
        error_bounds=np.array(bounds).reshape(*batch_shape, len(obs)),
        metadata=meta,
    )


def _run_aer(circuits, obs, width, batch_shape, *, noise_model, aer_method, max_bond, cutoff,
             **opts) -> SimulationResult:
    from .aer import run_aer

    outs = run_aer(
        circuits, obs, shots=opts["shots"], seed=int(opts["rng"].integers(2**31)),
        noise_model=noise_model, aer_method=aer_method, dtype=opts["dtype"],
        probabilities=opts["return_probabilities"], statevector=opts["return_statevector"],
        max_bond=max_bond, cutoff=cutoff if aer_method == "matrix_product_state" else None,
    )
    acc = _new_acc()
    for out in outs:
        acc["values"].append(out["values"][None, :])
        if opts["shots"] is not None:
            acc["errors"].append(out["std_errors"][None, :])
            acc["counts"].append(out["counts"])
        if "probabilities" in out:
            acc["probs"].append(out["probabilities"][None, :])
        if "statevector" in out:
            acc["states"].append(out["statevector"][None, :])
    meta = {"aer_method": aer_method, "noisy": noise_model is not None}
    return _collect("aer", width, batch_shape, acc, opts, metadata=meta)
