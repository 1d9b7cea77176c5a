"""Where units run: this process, a local process pool, a Dask cluster or a Ray cluster.

Every engine is wrapped in one small interface, :class:`Workers` (``submit`` / ``wait_any`` /
``outcome`` / ``map``), so the sweep runner and the ``workers=`` option of ``simulate()`` and
``estimate_attention`` do not care which one runs the work. (The word *executor* is taken: it
names the circuit executors of :mod:`qiskit_qattn.execution`.)

- :class:`InProcessWorkers` — the default: one worker, this process, nothing started.
- :class:`ProcessPoolWorkers` — ``n`` local processes (``concurrent.futures``, spawned); a pool
  broken by a dead worker is rebuilt and the lost units are reported for a retry.
- :class:`DaskWorkers` — a Dask ``distributed`` cluster: a ``LocalCluster`` of ``n`` worker
  processes (one thread each, a memory limit per worker) by default, or ``Client(address)`` for
  a running one (``dask-jobqueue``, Kubernetes, SSH). A worker that dies is restarted by its
  nanny and its tasks are rescheduled by Dask (up to ``allowed_failures``); after that the unit
  comes back as :class:`WorkerLostError` and the runner retries it.
- :class:`RayWorkers` — Ray (``pip install qiskit-qattn[ray]``): ``ray.init(address=...)``, a
  local Ray instance of ``n`` CPUs by default.

Workers run with one BLAS/Numba thread each (``OMP_NUM_THREADS=1``, ``NUMBA_NUM_THREADS=1``), so
``n`` workers use ``n`` cores.
"""

from __future__ import annotations

import logging
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["ENGINES", "DaskWorkers", "InProcessWorkers", "ProcessPoolWorkers", "RayWorkers",
           "WorkerLostError", "Workers", "resolve_workers"]

#: Engines :func:`resolve_workers` knows.
ENGINES = ("inprocess", "processes", "dask", "ray")

#: Environment of every worker process: one thread per worker (the cores are the workers).
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


class WorkerLostError(RuntimeError):
    """The worker running a unit died (killed, out of memory, its machine gone): run it again."""


def _apply(function: Callable[[Any], Any], argument: Any) -> Any:
    return function(argument)


def _set_worker_env() -> None:
    for name, value in WORKER_ENV.items():
        os.environ.setdefault(name, value)


def _check_count(n: Any, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1 (number of workers); got {n!r}")
    return n


class Workers(ABC):
    """A set of workers that run functions: the sweep runner's one view of an engine.

    Handles returned by :meth:`submit` are engine objects (futures); pass them back to
    :meth:`wait_any`, :meth:`outcome` and :meth:`cancel`. Use as a context manager (or call
    :meth:`close`) to stop what the object started; a cluster it merely joined is left running.
    """

    #: Engine name (:data:`ENGINES`).
    engine: str = ""

    @property
    @abstractmethod
    def size(self) -> int:
        """Number of workers (tasks that run at once)."""

    @abstractmethod
    def submit(self, function: Callable[[Any], Any], argument: Any) -> Any:
        """Start ``function(argument)`` on a worker; return its handle."""

    @abstractmethod
    def wait_any(self, handles: Sequence[Any], timeout: float | None = None) -> list[Any]:
        """The handles that finished, waiting until at least one has (or ``timeout`` passed)."""

    @abstractmethod
    def outcome(self, handle: Any) -> Any:
        """The result of a finished handle; raises its error, or :class:`WorkerLostError`."""

    def cancel(self, handle: Any) -> None:
        """Stop caring about ``handle`` (cancelled where the engine can)."""
        cancel = getattr(handle, "cancel", None)
        if callable(cancel):
            cancel()

    def map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """``[function(x) for x in items]`` on the workers, in order.

        A unit whose worker died is submitted again (up to 3 times).

        Example:
            >>> InProcessWorkers().map(abs, [-1, 2, -3])
            [1, 2, 3]
        """
        items = list(items)
        handles = [self.submit(function, x) for x in items]
        out: list[Any] = [None] * len(items)
        pending = dict(enumerate(handles))
        losses = [0] * len(items)
        while pending:
            finished = set(map(id, self.wait_any(list(pending.values()), timeout=None)))
            for i, handle in list(pending.items()):
                if id(handle) not in finished:
                    continue
                try:
                    out[i] = self.outcome(handle)
                    del pending[i]
                except WorkerLostError:
                    losses[i] += 1
                    if losses[i] > 3:
                        raise
                    pending[i] = self.submit(function, items[i])
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-safe summary: engine and number of workers."""
        return {"engine": self.engine, "workers": self.size}

    def close(self) -> None:
        """Stop what this object started (idempotent; nothing for engines that start nothing)."""
        return None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class _Done:
    """A finished in-process call."""

    __slots__ = ("error", "value")

    def __init__(self, value: Any = None, error: BaseException | None = None):
        self.value, self.error = value, error


class InProcessWorkers(Workers):
    """One worker: this process. :meth:`submit` computes at once (nothing is started).

    Example:
        >>> with InProcessWorkers() as workers:
        ...     workers.outcome(workers.submit(len, "abc"))
        3
    """

    engine = "inprocess"

    @property
    def size(self) -> int:
        return 1

    def submit(self, function, argument):
        try:
            return _Done(function(argument))
        except Exception as exc:  # reported by outcome(), as the other engines do
            return _Done(error=exc)

    def wait_any(self, handles, timeout=None):
        return list(handles)

    def outcome(self, handle):
        if handle.error is not None:
            raise handle.error
        return handle.value


class ProcessPoolWorkers(Workers):
    """``n`` local worker processes (``concurrent.futures.ProcessPoolExecutor``, spawned).

    A worker that dies breaks a ``ProcessPoolExecutor`` for every task in it: those come back
    as :class:`WorkerLostError` and the pool is rebuilt on the next :meth:`submit`.

    Args:
        n: number of worker processes.
        max_tasks_per_child: recycle a worker after this many units (bounds leaked memory).
    """

    engine = "processes"

    def __init__(self, n: int = 2, *, max_tasks_per_child: int | None = None):
        self._n = _check_count(n)
        self._max_tasks = max_tasks_per_child
        self._pool = None
        self._rebuilds = 0

    @property
    def size(self) -> int:
        return self._n

    def _executor(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                self._n, mp_context=multiprocessing.get_context("spawn"),
                initializer=_set_worker_env, max_tasks_per_child=self._max_tasks)
        return self._pool

    def submit(self, function, argument):
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._executor().submit(function, argument)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            self._rebuilds += 1
            return self._executor().submit(function, argument)

    def wait_any(self, handles, timeout=None):
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done)

    def outcome(self, handle):
        from concurrent.futures.process import BrokenProcessPool

        try:
            return handle.result()
        except BrokenProcessPool as exc:
            raise WorkerLostError(f"a worker process died ({exc})") from exc

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring and tests)."""
        pool = self._executor()
        return sorted(p.pid for p in getattr(pool, "_processes", {}).values() if p.is_alive())

    def describe(self):
        return {**super().describe(), "rebuilds": self._rebuilds}

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskWorkers(Workers):
    """A Dask ``distributed`` cluster: a local one by default, any running one by address.

    Args:
        n: workers of the ``LocalCluster`` started when no ``address``/``client`` is given
            (processes, one thread each).
        address: scheduler address of a running cluster (``"tcp://host:8786"``); its workers
            must have ``qiskit-qattn`` installed.
        client: an existing ``distributed.Client`` (left open by :meth:`close`).
        memory_limit: per local worker (``"4GiB"``, bytes, or ``None``): the nanny restarts a
            worker that passes 95% of it, and Dask reschedules its tasks.
        allowed_failures: worker deaths a task may cause before it is given up on (then the
            runner retries it itself); local clusters only (a running cluster keeps its own
            setting).
        death_timeout: seconds a local worker waits for a lost scheduler before it exits.

    Example:
        >>> with DaskWorkers(2) as workers:  # doctest: +SKIP
        ...     workers.map(abs, [-1, -2])
        [1, 2]
    """

    engine = "dask"

    def __init__(self, n: int = 2, *, address: str | None = None, client: Any | None = None,
                 memory_limit: str | int | None = "4GiB", allowed_failures: int = 3,
                 death_timeout: float = 60.0):
        import dask
        from distributed import Client, LocalCluster

        if address is not None and client is not None:
            raise ValueError("pass address= or client=, not both")
        if address is not None and not (isinstance(address, str) and address):
            raise ValueError(f"address must be a scheduler address like 'tcp://host:8786'; "
                             f"got {address!r}")
        self._cluster = None
        self._owns_client = client is None
        if client is not None:
            self.client = client
        elif address is not None:
            self.client = Client(address)
        else:
            _check_count(n)
            with dask.config.set({"distributed.scheduler.allowed-failures":
                                  int(allowed_failures),
                                  "distributed.worker.daemon": False}):
                self._cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True,
                    # The scheduler always serves HTTP (metrics); a random loopback port
                    # keeps a second cluster from warning about 8787 and nothing listens
                    # beyond this machine.
                    memory_limit=memory_limit, dashboard_address="127.0.0.1:0",
                    silence_logs=logging.ERROR,
                    env=dict(WORKER_ENV), death_timeout=death_timeout)
                self.client = Client(self._cluster)
        self.address = self.client.scheduler.address

    @property
    def size(self) -> int:
        info = self.client.scheduler_info(n_workers=-1)
        threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
        return max(1, threads)

    def submit(self, function, argument):
        return self.client.submit(function, argument, pure=False)

    def wait_any(self, handles, timeout=None):
        from distributed import wait

        try:
            done, _ = wait(list(handles), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return []
        return list(done)

    def outcome(self, handle):
        from concurrent.futures import CancelledError

        from distributed.scheduler import KilledWorker

        try:
            return handle.result()
        except KilledWorker as exc:
            raise WorkerLostError(f"Dask gave up on the task after its workers died: {exc}"
                                  ) from exc
        except CancelledError as exc:  # the scheduler lost it (restart, lost connection)
            raise WorkerLostError(f"the Dask scheduler lost the task: {exc}") from exc

    def worker_pids(self) -> dict[str, int]:
        """``worker address -> process id`` (for monitoring and tests)."""
        return self.client.run(os.getpid)

    def processing(self) -> dict[str, int]:
        """``worker address -> tasks it is running now`` (from the scheduler)."""
        return {addr: len(tasks) for addr, tasks in self.client.processing().items()}

    def describe(self):
        return {**super().describe(), "address": self.address,
                "local": self._cluster is not None}

    def close(self):
        if self._owns_client and self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        self.client = None


class RayWorkers(Workers):
    """Ray tasks (optional extra ``ray``): a local Ray instance of ``n`` CPUs, or a cluster.

    Args:
        n: CPUs of the local instance started when no ``address`` is given.
        address: ``"ray://host:10001"`` / ``"auto"`` for a running cluster.
        max_retries: times Ray reruns a task whose worker died before reporting it lost.
    """

    engine = "ray"

    def __init__(self, n: int = 2, *, address: str | None = None, max_retries: int = 3):
        try:
            import ray
        except ImportError as exc:
            raise ImportError("RayWorkers needs Ray: pip install 'qiskit-qattn[ray]'") from exc
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "runtime_env": {"env_vars": dict(WORKER_ENV)}}
            if address is None:
                kwargs["num_cpus"] = _check_count(n)
            ray.init(address=address, **kwargs)
            self._started = True
        self._max_retries = int(max_retries)
        self._remote = None

    @property
    def size(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def submit(self, function, argument):
        if self._remote is None:  # one remote trampoline: Ray cannot wrap builtins itself
            self._remote = self._ray.remote(num_cpus=1, max_retries=self._max_retries)(_apply)
        return self._remote.remote(function, argument)

    def wait_any(self, handles, timeout=None):
        done, _ = self._ray.wait(list(handles), num_returns=1, timeout=timeout)
        return list(done)

    def outcome(self, handle):
        from ray import exceptions as rx

        lost = tuple(getattr(rx, name) for name in ("WorkerCrashedError", "NodeDiedError",
                                                    "OutOfMemoryError", "ObjectLostError")
                     if hasattr(rx, name))
        try:
            return self._ray.get(handle)
        except lost as exc:
            raise WorkerLostError(f"Ray lost the task's worker: {exc}") from exc
        except rx.RayTaskError as exc:  # the unit's own error, re-raised as its type
            cause = getattr(exc, "cause", None)
            raise (cause if isinstance(cause, BaseException) else exc) from None

    def cancel(self, handle):
        self._ray.cancel(handle, force=True)

    def close(self):
        if self._started:
            self._ray.shutdown()
            self._started = False


def resolve_workers(workers: Any = None, *, engine: str = "dask",
                    address: str | None = None) -> Workers:
    """A :class:`Workers` for ``workers``: ``None``/1 (this process), ``n`` or an object.

    Args:
        workers: ``None`` or ``1`` -> :class:`InProcessWorkers` for every engine (for a
            1-worker cluster pass ``DaskWorkers(1)``); an integer ``n > 1`` -> ``n`` local
            workers of ``engine``; a :class:`Workers` -> itself; a ``distributed.Client`` ->
            :class:`DaskWorkers` on it.
        engine: ``"dask"`` (default), ``"processes"``, ``"ray"`` or ``"inprocess"``.
        address: join a running Dask/Ray cluster instead of starting local workers.

    Example:
        >>> resolve_workers(None).describe()
        {'engine': 'inprocess', 'workers': 1}
    """
    if isinstance(workers, Workers):
        if address is not None:
            raise ValueError("address is set on the Workers object itself")
        return workers
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}; got {engine!r}")
    if type(workers).__name__ == "Client" and type(workers).__module__.startswith("distributed"):
        return DaskWorkers(client=workers)
    if workers is not None:
        _check_count(workers, "workers")
    if address is not None:
        if engine == "dask":
            return DaskWorkers(address=address)
        if engine == "ray":
            return RayWorkers(address=address)
        raise ValueError(f"address needs engine='dask' or 'ray'; got engine={engine!r}")
    if workers is None or workers == 1 or engine == "inprocess":
        return InProcessWorkers()
    if engine == "processes":
        return ProcessPoolWorkers(workers)
    if engine == "ray":
        return RayWorkers(workers)
    return DaskWorkers(workers)


def wait_for_workers(workers: Workers, count: int, timeout: float = 60.0) -> None:
    """Block until a Dask cluster has ``count`` workers (after a start or a restart)."""
    if isinstance(workers, DaskWorkers):
        deadline = time.monotonic() + timeout
        while len(workers.client.scheduler_info(n_workers=-1).get("workers", {})) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Dask cluster has fewer than {count} workers after "
                                   f"{timeout:g} s")
            time.sleep(0.1)
