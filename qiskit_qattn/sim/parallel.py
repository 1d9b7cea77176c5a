"""One large :func:`~qiskit_qattn.sim.simulate` call split across workers (``workers=``).

The rows of the batch (a problem's queries or heads, or a list of circuits) are cut into at
most :data:`DEFAULT_PIECES` pieces, each piece is simulated by ``simulate`` on a worker and the
pieces are joined into one :class:`~qiskit_qattn.sim.SimulationResult`. The pieces and their
sampling seeds depend on the batch and ``seed`` only, never on the number of workers: the same
seed gives the same result on one worker or on fifty. Exact results equal the unsplit call's;
sampled ones use one independent seed per piece (``SeedSequence(seed).spawn``).

``workers`` is anything with ``map(function, items) -> results in order``: the
:mod:`qiskit_qattn.sweeps` workers (``DaskWorkers``, ``ProcessPoolWorkers``, ``RayWorkers``),
or a ``concurrent.futures`` / ``multiprocessing`` pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from .result import SimulationResult
from .structured import QaoaProblem

#: Pieces a batch is cut into at most (fixed, so results do not depend on the worker count).
DEFAULT_PIECES = 16


def check_workers(workers: Any) -> Any:
    """``workers`` if it has a callable ``map``, else a ``TypeError`` naming what is expected."""
    if not callable(getattr(workers, "map", None)):
        raise TypeError("workers must have a map(function, items) method (e.g. "
                        "qiskit_qattn.sweeps.DaskWorkers(2) or a concurrent.futures pool); got "
                        f"{type(workers).__name__}")
    return workers


def piece_seeds(seed: int | None, pieces: int) -> list[int | None]:
    """One independent seed per piece from ``seed`` (``None`` stays unseeded).

    Example:
        >>> piece_seeds(3, 2) == piece_seeds(3, 2), piece_seeds(None, 2)
        (True, [None, None])
    """
    if seed is None:
        return [None] * pieces
    return [int(s.generate_state(1)[0] & 0x7FFFFFFF)
            for s in np.random.SeedSequence(int(seed)).spawn(pieces)]


def row_pieces(rows: int, pieces: int | None = None) -> list[np.ndarray]:
    """Index blocks of ``rows`` rows, at most ``pieces`` (default :data:`DEFAULT_PIECES`).

    Example:
        >>> [p.tolist() for p in row_pieces(5, 2)]
        [[0, 1, 2], [3, 4]]
    """
    pieces = DEFAULT_PIECES if pieces is None else int(pieces)
    if pieces < 1:
        raise ValueError(f"pieces must be >= 1; got {pieces}")
    return [p for p in np.array_split(np.arange(rows), min(rows, pieces)) if p.size]


def _simulate_piece(task: tuple) -> SimulationResult:
    """Worker side: one piece through ``simulate`` (serially)."""
    from .api import simulate

    data, observables, shots, method, kwargs = task
    return simulate(data, observables, shots, method, **kwargs)


def _split_axis(shape: tuple[int, ...]) -> int:
    """The first batch axis longer than 1 (so ``[1, 4096]`` splits its queries)."""
    for axis, size in enumerate(shape):
        if size > 1:
            return axis
    return 0


def _problem_pieces(problem: QaoaProblem, observables: Any, pieces: int | None):
    shape = problem.batch_shape
    axis = _split_axis(shape)
    per_head = isinstance(observables, np.ndarray) and observables.ndim > 2
    if per_head:
        lead = shape[:-1]
        observables = np.broadcast_to(observables, (*lead, *observables.shape[-2:]))
    out = []
    for idx in row_pieces(shape[axis], pieces):
        sub = QaoaProblem(np.take(problem.scores, idx, axis=axis),
                          np.take(problem.keep, idx, axis=axis),
                          np.take(problem.gammas, idx, axis=axis),
                          np.take(problem.betas, idx, axis=axis), problem.temperature)
        obs = observables
        if per_head and axis < len(shape) - 1:
            obs = np.ascontiguousarray(np.take(observables, idx, axis=axis))
        out.append((sub, obs))
    return axis, out


def _circuit_pieces(circuits: Any, observables: Any, parameter_values: Any,
                    pieces: int | None):
    from .api import _as_circuits

    circuits = _as_circuits(circuits)
    values = None if parameter_values is None else np.asarray(parameter_values, dtype=float)
    if values is not None and values.ndim == 1:
        values = values[None, :]
    if values is not None and len(circuits) == 1 and values.shape[0] > 1:
        return [((circuits, values[idx]), observables)
                for idx in row_pieces(values.shape[0], pieces)]
    return [(([circuits[i] for i in idx], None if values is None else values[idx]),
             observables) for idx in row_pieces(len(circuits), pieces)]


def _join(results: Sequence[SimulationResult], axis: int) -> SimulationResult:
    first = results[0]

    def cat(name: str):
        arrays = [getattr(r, name) for r in results]
        if any(a is None for a in arrays):
            return None
        return np.concatenate(arrays, axis=axis)

    counts = None
    if first.counts is not None:
        grids = []
        for r in results:
            grid = np.empty(len(r.counts), dtype=object)
            grid[:] = r.counts
            grids.append(grid.reshape(r.batch_shape))
        counts = list(np.concatenate(grids, axis=axis).reshape(-1))
    shape = list(first.batch_shape)
    shape[axis] = sum(r.batch_shape[axis] for r in results)
    methods = sorted({r.method for r in results})
    return SimulationResult(
        method=methods[0] if len(methods) == 1 else "+".join(methods),
        num_qubits=first.num_qubits, batch_shape=tuple(shape), values=cat("values"),
        std_errors=cat("std_errors"), probabilities=cat("probabilities"),
        statevectors=cat("statevectors"), counts=counts,
        truncation_error=cat("truncation_error"), error_bounds=cat("error_bounds"),
        dtype=first.dtype, shots=first.shots, metadata=dict(first.metadata))


def simulate_on_workers(workers: Any, circuits_or_problem: Any, observables: Any = None,
                        shots: int | None = None, method: str = "auto", *,
                        seed: int | None = None, parameter_values: Any = None,
                        pieces: int | None = None, **kwargs: Any) -> SimulationResult:
    """``simulate(...)`` with the batch's rows split into pieces run on ``workers``.

    Args:
        workers: an object with ``map(function, items)`` (see the module docstring).
        pieces: at most this many pieces (default :data:`DEFAULT_PIECES`).
        circuits_or_problem, observables, shots, method, seed, parameter_values, **kwargs:
            as for :func:`~qiskit_qattn.sim.simulate`.

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> from qiskit_qattn.sim import qaoa_problem, simulate
        >>> prob = qaoa_problem(np.random.default_rng(0).normal(size=(6, 8)), reps=2)
        >>> V = np.arange(16.0).reshape(8, 2)
        >>> with ThreadPoolExecutor(2) as pool:
        ...     split = simulate_on_workers(pool, prob, V, pieces=3)
        >>> bool(np.allclose(split.values, simulate(prob, V).values))
        True
    """
    check_workers(workers)
    if isinstance(circuits_or_problem, QaoaProblem):
        if parameter_values is not None:
            raise ValueError("parameter_values apply to circuits, not to a QaoaProblem")
        axis, parts = _problem_pieces(circuits_or_problem, observables, pieces)
        tasks = [(sub, obs, {}) for sub, obs in parts]
    elif isinstance(circuits_or_problem, (QuantumCircuit, Sequence)):
        axis = 0
        tasks = [(circs, obs, {"parameter_values": vals})
                 for (circs, vals), obs in _circuit_pieces(circuits_or_problem, observables,
                                                           parameter_values, pieces)]
    else:
        raise TypeError("circuits_or_problem must be a QuantumCircuit, a sequence of them or a "
                        f"QaoaProblem; got {type(circuits_or_problem)!r}")
    seeds = piece_seeds(seed, len(tasks))
    jobs = [(data, obs, shots, method, {**kwargs, **extra, "seed": s})
            for (data, obs, extra), s in zip(tasks, seeds, strict=True)]
    results = list(workers.map(_simulate_piece, jobs))
    joined = _join(results, axis)
    describe = getattr(workers, "describe", None)
    joined.metadata["split"] = {"pieces": len(jobs), "axis": axis,
                                "workers": describe() if callable(describe) else
                                type(workers).__name__}
    joined.metadata["elapsed_s_pieces"] = [r.metadata.get("elapsed_s") for r in results]
    return joined
