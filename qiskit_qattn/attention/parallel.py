"""One large ``estimate_attention`` call split across workers (``workers=``).

The head's queries are cut into at most :data:`~qiskit_qattn.sim.parallel.DEFAULT_PIECES`
pieces; each piece is one ``estimate_attention`` call on a worker (prepare, compile, execute,
mitigate, estimate: every query's circuit is independent), and the pieces are joined into one
:class:`~.estimate.AttentionEstimate`. The pieces and their seeds depend on the queries and
``seed`` only, never on the number of workers. Exact executions equal the unsplit call; sampled
ones use one independent seed per piece; with mitigation every piece runs its own readout
calibration (so ``mitigation.total_shots`` counts them all).

``workers`` is anything with ``map(function, items)``: the :mod:`qiskit_qattn.sweeps` workers
or a ``concurrent.futures`` / ``multiprocessing`` pool. Executions are given by name
(``"statevector"``, ``"shots"``, ``"runtime"``): an executor object lives in one process.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..circuits import prepare_head
from ..encoding import as_real_array
from ..sim.parallel import check_workers, piece_seeds, row_pieces
from .estimate import AttentionEstimate, MitigationReport

__all__ = ["estimate_on_workers"]


def _estimate_piece(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Worker side: one piece of queries through ``estimate_attention`` (compact result)."""
    from .estimate import estimate_attention

    est = estimate_attention(**kwargs)
    metadata = {k: v for k, v in est.metadata.items() if k != "cost_preview"}
    return {"values": est.values, "std_errors": est.std_errors, "weights": est.weights,
            "family": est.family, "execution": est.execution, "shots": est.shots,
            "wall_time": est.wall_time, "metadata": metadata, "mitigation": est.mitigation}


def _join_reports(reports: list[MitigationReport]) -> MitigationReport:
    first = reports[0]
    fidelity: dict[tuple[int, ...], list[float]] = {}
    for report in reports:
        for qubits, value in report.readout_fidelity.items():
            fidelity.setdefault(qubits, []).append(float(value))
    warnings = [w for report in reports for w in report.warnings]

    def cat(name: str, axis: int) -> np.ndarray:
        arrays = [np.asarray(getattr(r, name)) for r in reports]
        if any(a.size == 0 for a in arrays):
            return arrays[0]
        return np.concatenate(arrays, axis=axis)

    return MitigationReport(
        techniques=first.techniques, client_side=first.client_side,
        server_side=first.server_side, scale_factors=cat("scale_factors", 1),
        raw_values=cat("raw_values", 1), raw_std_errors=cat("raw_std_errors", 1),
        unmitigated_values=cat("unmitigated_values", 0),
        unmitigated_std_errors=cat("unmitigated_std_errors", 0),
        total_shots=sum(int(r.total_shots) for r in reports),
        num_circuits=sum(int(r.num_circuits) for r in reports),
        readout_fidelity={q: float(np.mean(v)) for q, v in fidelity.items()},
        extrapolation=first.extrapolation, runtime_options=first.runtime_options,
        warnings=warnings)


def estimate_on_workers(workers: Any, Q: Any, K: Any, V: Any, *, pieces: int | None = None,
                        **kwargs: Any) -> AttentionEstimate:
    """``estimate_attention(Q, K, V, **kwargs)`` with the queries split across ``workers``.

    Args:
        workers: an object with ``map(function, items)`` (see the module docstring).
        pieces: at most this many pieces (default 16).
        Q, K, V, **kwargs: as for :func:`~.estimate.estimate_attention` (``execution`` by
            name).

    The result's ``batch`` is ``None`` (the compiled circuits stay on the workers); its
    ``head`` is the whole head, prepared here; ``metadata["split"]`` says how it ran.

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> from qiskit_qattn.attention import exact_attention
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(5, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
        >>> with ThreadPoolExecutor(2) as pool:
        ...     est = estimate_on_workers(pool, Q, K, V, pieces=2)
        >>> bool(np.allclose(est.values, exact_attention(Q, K, V)))
        True
    """
    start = time.perf_counter()
    check_workers(workers)
    execution = kwargs.get("execution", "statevector")
    if not isinstance(execution, str):
        raise TypeError("with workers=, execution must be a name ('statevector', 'shots' or "
                        "'runtime'): an executor object cannot be shared between processes; "
                        f"got {type(execution).__name__}")
    q = as_real_array(Q, "Q", ndim=2)
    k = as_real_array(K, "K", ndim=2)
    family_keys = ("family", "mask", "scale", "temperature")
    head_kwargs = {name: kwargs[name] for name in family_keys if name in kwargs}
    known = {"execution", "shots", "device", "noise_model", "mode", "optimization_level",
             "optimization_method", "seed", "mitigation", "mitigation_options",
             "runtime_options", *family_keys}
    family_options = {name: value for name, value in kwargs.items() if name not in known}
    # The whole head is validated and laid out here first: bad input fails before any work.
    head = prepare_head(q, k, V, **head_kwargs, **family_options)
    mask = kwargs.get("mask")
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask), (q.shape[0], k.shape[0]))
    blocks = row_pieces(q.shape[0], pieces)
    seeds = piece_seeds(kwargs.get("seed"), len(blocks))
    tasks = []
    for idx, seed in zip(blocks, seeds, strict=True):
        task = {**kwargs, "Q": q[idx], "K": k, "V": V, "seed": seed}
        if mask is not None:
            task["mask"] = np.ascontiguousarray(mask[idx])
        tasks.append(task)
    parts = list(workers.map(_estimate_piece, tasks))
    first = parts[0]
    metadata = dict(first["metadata"])
    timings: dict[str, float] = {}
    for part in parts:
        for name, value in part["metadata"].get("timings", {}).items():
            timings[name] = timings.get(name, 0.0) + float(value)
    metadata["timings"] = timings  # summed over pieces: worker seconds, not wall time
    if "total_shots" in metadata:
        metadata["total_shots"] = sum(int(p["metadata"]["total_shots"]) for p in parts)
    describe = getattr(workers, "describe", None)
    metadata["split"] = {"pieces": len(parts), "queries_per_piece": [len(b) for b in blocks],
                         "seeds": seeds, "workers": describe() if callable(describe)
                         else type(workers).__name__}
    reports = [p["mitigation"] for p in parts]
    result = AttentionEstimate(
        np.concatenate([p["values"] for p in parts]),
        np.concatenate([p["std_errors"] for p in parts]),
        np.concatenate([p["weights"] for p in parts]), first["family"], first["execution"],
        first["shots"], head, None, time.perf_counter() - start, metadata)
    if all(r is not None for r in reports):
        result.mitigation = _join_reports(reports)
    return result
