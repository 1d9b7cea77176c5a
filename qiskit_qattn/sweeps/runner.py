"""Run units on workers, streaming every result into the job store: :func:`run_sweep`.

The driver (the process calling :func:`run_sweep`) owns the store; workers only compute. For
each unit it:

1. looks the unit's fingerprint up in the store — a finished unit is read, never recomputed;
2. claims it (:meth:`~qiskit_qattn.runtime.JobStore.claim`) — a unit another live process
   holds (a second driver on the same store) is waited for, not duplicated; the claims of a
   driver that was killed are taken over at once (its process is gone);
3. submits it to the workers, keeping at most ``workers x (1 + prefetch)`` units in flight, so
   a scheduler never holds 10^5 tiny tasks and a killed driver loses only those;
4. writes the result with the unit marked done in one transaction as soon as it arrives.

A worker that dies is the engine's business first (Dask reschedules its tasks); a unit that
still comes back lost (:class:`~.workers.WorkerLostError`), or runs past ``unit_timeout``, is
submitted again up to ``retries`` times. A unit that raises is marked failed in the store (a
rerun tries it again) and reported at the end; the other units go on.
"""

from __future__ import annotations

import os
import resource
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .units import Unit, UnitOutput
from .workers import WorkerLostError, Workers, resolve_workers

__all__ = ["SweepError", "SweepResult", "execute_unit", "run_sweep"]

#: ``progress(done, total, unit, source)``; ``source`` is ``"computed"``, ``"store"`` or
#: ``"failed"``.
ProgressCallback = Callable[[int, int, Unit, str], None]


def execute_unit(unit: Unit) -> UnitOutput:
    """Compute ``unit`` in this process; metadata gains wall and CPU seconds, worker, memory.

    This is the function every engine runs on its workers.

    Example:
        >>> out = execute_unit(Unit("numpy:linspace", {"start": 0.0, "stop": 1.0, "num": 3}))
        >>> out.arrays["result"].tolist(), sorted(out.metadata)
        ([0.0, 0.5, 1.0], ['cpu_seconds', 'peak_rss_mb', 'seconds', 'worker'])
    """
    start, cpu = time.perf_counter(), time.process_time()
    out = unit.run()
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    return UnitOutput(out.arrays, {**out.metadata, "seconds": seconds,
                                   "cpu_seconds": cpu_seconds,
                                   "worker": f"{socket.gethostname()}:{os.getpid()}",
                                   "peak_rss_mb": round(peak, 1)})


@dataclass
class SweepResult:
    """Every unit's output, where it came from, and how the sweep ran.

    Attributes:
        units: the units, in the order given (duplicates ran once).
        outputs: ``key -> UnitOutput`` for every finished unit.
        sources: ``key -> "computed" | "store"`` (read from the store, not run again).
        errors: ``key -> error text`` of units that failed.
        resubmitted: ``key -> times`` a unit was submitted again (worker lost or timed out).
        wall_time: seconds from start to the last result.
        workers: the engine's description (engine, workers, address).
        store: the store directory (``None`` without a store).
    """

    units: list[Unit]
    outputs: dict[str, UnitOutput] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    resubmitted: dict[str, int] = field(default_factory=dict)
    wall_time: float = 0.0
    workers: dict[str, Any] = field(default_factory=dict)
    store: str | None = None

    def __getitem__(self, unit: Unit | str) -> UnitOutput:
        key = unit.key if isinstance(unit, Unit) else unit
        if key in self.errors:
            raise KeyError(f"unit {key[:12]} failed: {self.errors[key]}")
        return self.outputs[key]

    def __len__(self) -> int:
        return len(self.units)

    @property
    def computed(self) -> int:
        """Units computed in this run."""
        return sum(1 for s in self.sources.values() if s == "computed")

    @property
    def from_store(self) -> int:
        """Units read from the store (finished before, or by another process meanwhile)."""
        return sum(1 for s in self.sources.values() if s == "store")

    def summary(self) -> dict[str, Any]:
        """JSON-safe counts and timings."""
        seconds = sorted(float(o.metadata.get("seconds", 0.0)) for k, o in self.outputs.items()
                         if self.sources.get(k) == "computed")
        median = seconds[len(seconds) // 2] if seconds else None
        return {"units": len({u.key for u in self.units}), "computed": self.computed,
                "from_store": self.from_store, "failed": len(self.errors),
                "resubmitted": sum(self.resubmitted.values()), "wall_time": self.wall_time,
                "median_unit_seconds": median, "workers": self.workers, "store": self.store}


class SweepError(RuntimeError):
    """Some units failed; every other unit finished and is in :attr:`result` (and the store)."""

    def __init__(self, result: SweepResult):
        first = next(iter(result.errors.items()))
        others = len(result.outputs)
        where = f" and are in the store {result.store}" if result.store else ""
        super().__init__(f"{len(result.errors)} of {len(result.sources)} units failed (first: "
                         f"{first[0][:12]}: {first[1]})"
                         + (f"; the other {others} finished{where}" if others else ""))
        self.result = result


@dataclass
class _Flight:
    key: str
    handle: Any
    claim: Any
    started: float


def _open_store(store: Any):
    if store is None:
        return None
    from ..runtime import JobStore

    if isinstance(store, JobStore):
        return store
    if isinstance(store, (str, os.PathLike)):
        return JobStore(Path(store))
    raise TypeError(f"store must be a JobStore, a directory or None; got {type(store).__name__}")


def _unit_meta(unit: Unit) -> dict[str, Any]:
    return {"label": unit.label, "function": unit.function, **dict(unit.meta)}


def _start_attempt(claim, note: str | None = None) -> None:
    """Record a running attempt under ``claim`` (earlier running ones were abandoned)."""
    record = claim.record
    attempts = [dict(a, status="abandoned", error=a.get("error") or note)
                if a.get("status") == "running" else a for a in record.get("attempts", [])]
    attempts.append({"n": len(attempts) + 1, "status": "running", "job_id": None,
                     "started_at": time.time(), "error": None})
    claim.update(dict(record, attempts=attempts))


def run_sweep(
    units: Iterable[Unit],
    *,
    store: Any = None,
    workers: Any = None,
    retries: int = 2,
    prefetch: int = 1,
    unit_timeout: float | None = None,
    progress: ProgressCallback | None = None,
    on_output: Callable[[Unit, UnitOutput, str], None] | None = None,
    errors: str = "raise",
    poll_interval: float = 0.2,
) -> SweepResult:
    """Run ``units`` on ``workers``; results stream into ``store``; finished units are reused.

    Args:
        units: :class:`~.units.Unit` objects (identical units run once).
        store: a :class:`~qiskit_qattn.runtime.JobStore` or its directory (``None``: nothing
            is kept, nothing resumes).
        workers: ``None`` (this process), an integer (a local Dask cluster of that many
            workers, started and stopped here) or a :class:`~.workers.Workers` (left running).
        retries: times a unit whose worker was lost (or that passed ``unit_timeout``) is
            submitted again before it counts as failed.
        prefetch: units queued per worker beyond the one it runs.
        unit_timeout: seconds after which a running unit is given up on and resubmitted
            (``None``: no limit).
        progress: ``progress(done, total, unit, source)`` after every unit.
        on_output: ``on_output(unit, output, source)`` for every finished unit, as it arrives
            (``source``: ``"computed"`` or ``"store"``).
        errors: ``"raise"`` (default: :class:`SweepError` after every other unit finished) or
            ``"collect"`` (failures only in :attr:`SweepResult.errors`).
        poll_interval: seconds between looks at units another process holds.

    Returns:
        A :class:`SweepResult`.

    Example:
        >>> import tempfile
        >>> units = [Unit("numpy:linspace", {"start": 0.0, "stop": 1.0, "num": n}) for n in (2, 3)]
        >>> store = tempfile.mkdtemp()
        >>> first = run_sweep(units, store=store)
        >>> again = run_sweep(units, store=store)
        >>> [again[u].arrays["result"].tolist() for u in units], first.computed, again.from_store
        ([[0.0, 1.0], [0.0, 0.5, 1.0]], 2, 2)
    """
    units = list(units)
    for unit in units:
        if not isinstance(unit, Unit):
            raise TypeError(f"units must be Unit objects; got {type(unit).__name__}")
    if errors not in ("raise", "collect"):
        raise ValueError(f"errors must be 'raise' or 'collect'; got {errors!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0; got {retries!r}")
    if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
        raise ValueError(f"prefetch must be an integer >= 0; got {prefetch!r}")
    if unit_timeout is not None and not unit_timeout > 0:
        raise ValueError(f"unit_timeout must be > 0 seconds or None; got {unit_timeout!r}")
    start = time.perf_counter()
    db = _open_store(store)
    by_key: dict[str, Unit] = {}
    for unit in units:
        by_key.setdefault(unit.key, unit)
    result = SweepResult(units, store=None if db is None else str(db.directory))
    owned = not isinstance(workers, Workers)
    pool = resolve_workers(workers) if owned else workers
    try:
        result.workers = pool.describe()
        _Driver(db, pool, by_key, result, retries=retries, prefetch=prefetch,
                unit_timeout=unit_timeout, progress=progress, on_output=on_output,
                poll_interval=poll_interval).run()
    finally:
        if owned:
            pool.close()
    result.wall_time = time.perf_counter() - start
    if result.errors and errors == "raise":
        raise SweepError(result)
    return result


class _Driver:
    """The loop of :func:`run_sweep` (one object per call)."""

    def __init__(self, db, pool: Workers, by_key: Mapping[str, Unit], result: SweepResult, *,
                 retries, prefetch, unit_timeout, progress, on_output, poll_interval):
        self.db, self.pool, self.by_key, self.result = db, pool, by_key, result
        self.retries, self.unit_timeout = retries, unit_timeout
        self.window = max(1, pool.size * (1 + prefetch))
        self.progress, self.on_output, self.poll = progress, on_output, poll_interval
        self.total = len(by_key)
        self.finished = 0
        self.pending: deque[str] = deque()
        self.deferred: dict[str, float] = {}  # held by another live process: next look
        self.flights: list[_Flight] = []

    # -- bookkeeping -------------------------------------------------------------------------

    def _done(self, key: str, output: UnitOutput | None, source: str,
              error: str | None = None) -> None:
        if output is not None:
            self.result.outputs[key] = output
            if self.on_output is not None:
                self.on_output(self.by_key[key], output, source)
        if error is not None:
            self.result.errors[key] = error
        self.result.sources[key] = source
        self.finished += 1
        if self.progress is not None:
            self.progress(self.finished, self.total, self.by_key[key], source)

    def _load(self, key: str) -> UnitOutput | None:
        loaded = self.db.load_arrays(key)
        return None if loaded is None else UnitOutput(*loaded)

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        keys = list(self.by_key)
        if self.db is not None:
            statuses = self.db.statuses(keys)
            for key in keys:
                output = self._load(key) if statuses[key] == "done" else None
                if output is not None:
                    self._done(key, output, "store")
                else:
                    self.pending.append(key)
        else:
            self.pending.extend(keys)
        try:
            while self.pending or self.flights or self.deferred:
                self._fill()
                if self.flights:
                    self._collect()
                elif self.deferred:
                    time.sleep(max(0.0, min(self.deferred.values()) - time.monotonic()))
                self._look_at_deferred()
        finally:
            for flight in self.flights:  # interrupted: hand the units back at once
                self.pool.cancel(flight.handle)
                if flight.claim is not None:
                    flight.claim.release()

    def _fill(self) -> None:
        while self.pending and len(self.flights) < self.window:
            key = self.pending.popleft()
            claim = None
            if self.db is not None:
                claim = self.db.claim(key, _unit_meta(self.by_key[key]))
                if claim is None:  # finished meanwhile, or another live process holds it
                    output = self._load(key)
                    if output is not None:
                        self._done(key, output, "store")
                    else:
                        self.deferred[key] = time.monotonic() + self.poll
                    continue
                claim.__enter__()  # heartbeat while the unit is out
                _start_attempt(claim, "the process running it died")
            self._submit(key, claim)

    def _submit(self, key: str, claim) -> None:
        handle = self.pool.submit(execute_unit, self.by_key[key])
        self.flights.append(_Flight(key, handle, claim, time.monotonic()))

    def _collect(self) -> None:
        timeout = None
        if self.deferred:
            timeout = self.poll
        if self.unit_timeout is not None:
            oldest = min(f.started for f in self.flights)
            left = max(0.0, oldest + self.unit_timeout - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        finished = {id(h) for h in self.pool.wait_any([f.handle for f in self.flights],
                                                      timeout=timeout)}
        now = time.monotonic()
        for flight in list(self.flights):
            if id(flight.handle) in finished:
                self.flights.remove(flight)
                self._finish(flight)
            elif self.unit_timeout is not None and now - flight.started > self.unit_timeout:
                self.flights.remove(flight)
                self.pool.cancel(flight.handle)
                self._lost(flight, f"no result after unit_timeout={self.unit_timeout:g} s")

    def _finish(self, flight: _Flight) -> None:
        from ..runtime import ClaimLostError

        try:
            output = self.pool.outcome(flight.handle)
        except WorkerLostError as exc:
            self._lost(flight, str(exc))
            return
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            if flight.claim is not None:
                try:
                    flight.claim.fail(exc)
                except ClaimLostError:
                    pass
            self._done(flight.key, None, "failed", text)
            return
        if flight.claim is not None:
            try:
                flight.claim.complete(output.arrays, output.metadata)
            except ClaimLostError:
                # Our lease ran out (this process was suspended) and another process took the
                # unit over: its result is the one kept.
                flight.claim.release()
                self.deferred[flight.key] = time.monotonic()
                return
        self._done(flight.key, output, "computed")

    def _lost(self, flight: _Flight, reason: str) -> None:
        count = self.result.resubmitted.get(flight.key, 0) + 1
        if count > self.retries:
            if flight.claim is not None:
                flight.claim.fail(f"gave up after {count} lost runs: {reason}")
            self._done(flight.key, None, "failed", f"lost {count} times: {reason}")
            return
        self.result.resubmitted[flight.key] = count
        if flight.claim is not None:
            _start_attempt(flight.claim, f"lost: {reason}")
        self._submit(flight.key, flight.claim)

    def _look_at_deferred(self) -> None:
        now = time.monotonic()
        for key, due in list(self.deferred.items()):
            if due > now:
                continue
            del self.deferred[key]
            record = self.db.get(key)
            if record is not None and record["status"] == "done" and record["result"]:
                output = self._load(key)
                if output is not None:
                    self._done(key, output, "store")
                    continue
            self.pending.appendleft(key)  # claim again: it may be free, or still held
