"""Submit packed PUBs through Runtime and survive failures and concurrency without paying twice.

:class:`RuntimeSubmitter` is the thin layer over qiskit-ibm-runtime's executor-based ``Sampler``
and ``Estimator`` in the caller's mode (device, ``Session``, ``Batch``); it also retrieves jobs by
id and finds them by tag. :class:`ResumableRunner` drives one :class:`~.pubs.PackedTask` through a
:class:`~.store.JobStore`:

* the task is *claimed* in the store before anything is submitted; a second process (or a second
  runner) that finds it claimed waits for the holder's result instead of submitting again, and
  takes over after the holder's lease if the holder died (at once on the same machine);
* a finished job's result is read from the store (or re-fetched by id), never resubmitted;
* a submitted job is waited on (``timeout`` → :class:`JobTimeoutError` carrying the job id; the
  record stays ``submitted`` so the next run waits again instead of resubmitting);
* a failed submission or job is retried with exponential backoff up to ``RetryPolicy.max_attempts``;
* every job is tagged with its store key and the record says ``submitting`` *before* the
  submission, so after a crash between submit and save the orphan job is found by its tag
  and adopted instead of submitted again.

In Runtime *local testing mode* a job lives inside the process that submitted it: no other
process can retrieve it or find it by tag. A second process therefore waits for the holder's
result in the store; if the holder died, its local job died with it and is submitted once more.

Logs and the store never see a credential (see :mod:`.secrets`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .claims import Claim, ClaimLostError, TaskCancelledError, describe_holder, process_identity
from .modes import describe_mode, is_local_mode, mode_device, mode_service
from .pubs import PRIMITIVES, PackedTask
from .secrets import redact, scrub
from .store import JobStore

logger = logging.getLogger("qiskit_qattn.runtime")

FINAL_OK = "DONE"
FINAL_BAD = ("ERROR", "CANCELLED", "FAILED")
TAG_PREFIX = "qattn-"


class JobFailedError(RuntimeError):
    """A Runtime job ended in ERROR/CANCELLED, or its submission raised."""

    def __init__(self, message: str, job_id: str | None = None, status: str | None = None):
        super().__init__(redact(message))
        self.job_id = job_id
        self.status = status


class JobTimeoutError(TimeoutError):
    """A job did not finish within the timeout; resume later with the same store.

    ``holder`` is set when this process was waiting for another process that holds the task.
    """

    def __init__(self, job_id: str | None, timeout: float, key: str, holder: str | None = None):
        if holder is None:
            message = (f"job {job_id} (store key {key}) did not finish within {timeout:g} s; "
                       "it is still recorded as submitted: run again to keep waiting")
        else:
            message = (f"store key {key} (job {job_id or 'not yet submitted'}) is held by "
                       f"{holder}, which did not finish within {timeout:g} s: run again to "
                       "keep waiting")
        super().__init__(message)
        self.job_id = job_id
        self.key = key
        self.holder = holder


class ServiceUnavailableError(RuntimeError):
    """The job service could not be asked about a job (network, outage); nothing was assumed."""


class RetryLimitError(RuntimeError):
    """Every allowed attempt failed."""

    def __init__(self, key: str, attempts: list[dict]):
        last = attempts[-1].get("error") if attempts else None
        ids = [a.get("job_id") for a in attempts if a.get("job_id")]
        super().__init__(f"store key {key}: {len(attempts)} attempts failed (job ids {ids}); "
                         f"last error: {last}")
        self.key = key
        self.job_ids = ids


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry failed submissions/jobs.

    Attributes:
        max_attempts: total attempts per task (first try included).
        initial_delay: seconds before the first retry; multiplied by ``factor`` each time.
        factor: backoff multiplier.
        max_delay: cap on one delay.

    Example:
        >>> [RetryPolicy(initial_delay=1, factor=2, max_delay=3).delay(k) for k in range(4)]
        [1.0, 2.0, 3.0, 3.0]
    """

    max_attempts: int = 4
    initial_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 120.0

    def __post_init__(self):
        if int(self.max_attempts) < 1:
            raise ValueError(f"max_attempts must be >= 1; got {self.max_attempts!r}")
        if self.initial_delay < 0 or self.factor < 1 or self.max_delay < 0:
            raise ValueError("initial_delay and max_delay must be >= 0 and factor >= 1")

    def delay(self, retry_index: int) -> float:
        """Seconds to wait before retry number ``retry_index`` (0-based)."""
        return float(min(self.max_delay, self.initial_delay * self.factor**retry_index))


def job_status(job: Any) -> str:
    """Upper-case status name of a Runtime/local job (``"DONE"``, ``"QUEUED"``, ...)."""
    status = job.status()
    return str(getattr(status, "name", status)).upper()


class RuntimeSubmitter:
    """Submit PUBs with the executor-based primitives in ``mode``; find jobs again later.

    Args:
        mode: ``BackendV2`` (job mode; fake backends run in local testing mode), ``Session`` or
            ``Batch`` — or a ``BaseSamplerV2``/``BaseEstimatorV2`` instance (e.g. Qiskit's
            reference primitives), used as is.
        options: ``SamplerOptions``/``EstimatorOptions`` fields as a (nested) dict.
        seed: ``simulator.seed_simulator`` for local testing mode.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> RuntimeSubmitter(FakeManilaV2()).describe()
        {'kind': 'job', 'device': 'fake_manila', 'local': True}
    """

    def __init__(self, mode: Any, options: dict | None = None, seed: int | None = None):
        self.mode = mode
        self.options = dict(options or {})
        self.seed = seed

    def __repr__(self) -> str:
        return f"RuntimeSubmitter({self.describe()})"

    def _is_primitive(self) -> bool:
        from qiskit.primitives.base import BaseEstimatorV2, BaseSamplerV2

        return isinstance(self.mode, (BaseSamplerV2, BaseEstimatorV2))

    @property
    def is_local(self) -> bool:
        """Local jobs die with the process: they cannot be retrieved or found by tag."""
        return self._is_primitive() or is_local_mode(self.mode)

    def describe(self) -> dict[str, Any]:
        """Safe summary of the mode (no account data)."""
        if self._is_primitive():
            return {"kind": "primitive", "device": type(self.mode).__name__, "local": True}
        return describe_mode(self.mode)

    @property
    def device_name(self) -> str:
        return self.describe()["device"]

    def submit(self, task: PackedTask, tags: Sequence[str] = ()) -> Any:
        """Submit ``task``'s PUBs as one job and return the job (not its result)."""
        if self._is_primitive():
            if task.primitive == "sampler":
                return self.mode.run(list(task.pubs), shots=task.shots)
            return self.mode.run(list(task.pubs), precision=task.precision)
        if task.primitive == "sampler":
            from qiskit_ibm_runtime.executor_sampler import Sampler as primitive_cls
        elif task.primitive == "estimator":
            from qiskit_ibm_runtime.executor_estimator import Estimator as primitive_cls
        else:
            raise ValueError(f"primitive must be one of {PRIMITIVES}; got {task.primitive!r}")
        primitive = primitive_cls(mode=self.mode, options=_deep_copy(self.options))
        if tags:
            primitive.options.environment.job_tags = [*primitive.options.environment.job_tags,
                                                      *tags]
        if self.seed is not None and self.is_local:
            primitive.options.simulator.seed_simulator = int(self.seed)
        if task.primitive == "sampler":
            return primitive.run(list(task.pubs), shots=task.shots)
        return primitive.run(list(task.pubs), precision=task.precision)

    def retrieve(self, job_id: str) -> Any | None:
        """The job with ``job_id`` from the service, or ``None`` (local mode, or not found).

        Any other failure (network, service down) raises: "could not ask" must not be taken
        for "no such job", or the job would be submitted again.
        """
        service = None if self.is_local else mode_service(self.mode)
        if service is None:
            return None
        try:
            return service.job(job_id)
        except Exception as exc:
            if type(exc).__name__ == "RuntimeJobNotFound":
                logger.warning("job %s not found: %s", job_id, redact(exc))
                return None
            raise

    def find(self, tag: str, exclude: Iterable[str] = ()) -> Any | None:
        """Newest job carrying ``tag`` whose id is not in ``exclude``, or ``None``.

        Raises if the service cannot be searched (see :meth:`retrieve`).
        """
        service = None if self.is_local else mode_service(self.mode)
        if service is None:
            return None
        excluded = set(exclude)
        jobs = service.jobs(job_tags=[tag], backend_name=mode_device(self.mode).name,
                            limit=10, descending=True)
        for job in jobs:
            if job.job_id() not in excluded and job_status(job) not in ("CANCELLED",):
                return job
        return None


def _deep_copy(options: dict) -> dict:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in options.items()}


class _Held:
    """Marker: the task is held by another live process (wait and try again)."""


_HELD = _Held()


@dataclass
class _Waiting:
    """How long this call has been waiting for another holder of a task."""

    since: float | None = None  # runner clock when the wait began
    wall: float = 0.0  # wall time when the call began (compared with record timestamps)
    holder: str | None = None


class ResumableRunner:
    """Run packed tasks through a submitter with a job store: claim, resume, retry, time out.

    Args:
        submitter: a :class:`RuntimeSubmitter` (or anything with ``submit``/``retrieve``/
            ``find``/``is_local``/``describe``).
        store: the :class:`~.store.JobStore`; default ``JobStore()`` (``$QATTN_JOB_STORE``).
        retry: the :class:`RetryPolicy`.
        timeout: seconds to wait for one job, or for another process holding the task, before
            :class:`JobTimeoutError` (``None`` = forever).
        poll_interval: seconds between job status polls and between looks at a task another
            process holds.
        sleep, clock: injectable for tests.

    Example:
        >>> import tempfile
        >>> from qiskit.primitives import StatevectorSampler
        >>> from qiskit import QuantumCircuit
        >>> from qiskit.primitives.containers.sampler_pub import SamplerPub
        >>> qc = QuantumCircuit(1); _ = qc.x(0); _ = qc.measure_all()
        >>> task = PackedTask("sampler", (SamplerPub.coerce(qc, shots=10),), 10, None, "sv")
        >>> runner = ResumableRunner(RuntimeSubmitter(StatevectorSampler()),
        ...                          JobStore(tempfile.mkdtemp()))
        >>> runner.run(task)[0].data.meas.get_counts()
        {'1': 10}
    """

    def __init__(
        self,
        submitter: Any,
        store: JobStore | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None; got {timeout!r}")
        if not poll_interval >= 0:
            raise ValueError(f"poll_interval must be >= 0; got {poll_interval!r}")
        self.submitter = submitter
        self.store = store if store is not None else JobStore()
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.poll_interval = float(poll_interval)
        self.sleep = sleep
        self.clock = clock

    def key(self, task: PackedTask) -> str:
        """Store key of ``task`` with this runner's options (and simulator seed, if any)."""
        options = dict(scrub(getattr(self.submitter, "options", {}) or {}))
        seed = getattr(self.submitter, "seed", None)
        if seed is not None:
            options["__simulator_seed__"] = int(seed)
        return task.fingerprint(options)

    def run_all(self, tasks: Sequence[PackedTask],
                progress: Callable[[int, int, str], None] | None = None) -> list[Any]:
        """Run every task (each resumes independently); return their results in task order.

        Tasks another process holds are skipped and visited again after the others, so several
        processes running the same list share the work instead of queueing behind one task.
        ``progress(finished, total, label)`` is called as tasks finish.
        """
        results: list[Any] = [None] * len(tasks)
        waiting = {i: _Waiting(wall=time.time()) for i in range(len(tasks))}
        pending = list(range(len(tasks)))
        finished = 0
        while pending:
            held = []
            for i in pending:
                out = self._attempt(tasks[i], waiting[i])
                if out is _HELD:
                    held.append(i)
                    continue
                results[i] = out
                finished += 1
                if progress is not None:
                    progress(finished, len(tasks), tasks[i].label)
            pending = held
            if pending:
                self.sleep(self._store_poll)
        return results

    def run(self, task: PackedTask) -> Any:
        """Result of ``task``: from the store, a job already submitted, or a new submission."""
        waiting = _Waiting(wall=time.time())
        while True:
            out = self._attempt(task, waiting)
            if out is not _HELD:
                return out
            self.sleep(self._store_poll)

    @property
    def _store_poll(self) -> float:
        return max(self.poll_interval, 0.01)

    # -- one look at a task ---------------------------------------------------------------------

    def _meta(self, task: PackedTask) -> dict:
        return {"label": task.label, "primitive": task.primitive, "shots": task.shots,
                "precision": task.precision, "device": task.device,
                "num_pubs": len(task.pubs), "num_executions": task.num_executions,
                "mode": self.submitter.describe(),
                "options": getattr(self.submitter, "options", {}) or {}}

    def _stored_result(self, key: str, record: dict | None) -> Any | None:
        if record is None or record["status"] != "done" or not record.get("result"):
            return None
        return self.store.load_result(key)

    def _attempt(self, task: PackedTask, waiting: _Waiting) -> Any:
        """The task's result, or ``_HELD`` if another live process holds it."""
        key = self.key(task)
        record = self.store.get(key)
        result = self._stored_result(key, record)
        if result is not None:
            logger.info("store key %s: result already stored", key)
            return result
        redo = record is not None and record["status"] == "done"  # result missing/unreadable
        claim = self.store.claim(key, self._meta(task), kind="runtime", redo=redo)
        if claim is None:
            record = self.store.get(key)
            result = self._stored_result(key, record)
            if result is not None:
                return result
            self._note_wait(key, record, waiting)
            return _HELD
        with claim:
            try:
                return self._run_claimed(claim, task, TAG_PREFIX + key, waiting)
            except ClaimLostError as exc:
                logger.warning("%s; waiting for the new holder", exc)
                return _HELD
            except TaskCancelledError as exc:
                raise JobFailedError(str(exc), status="CANCELLED") from None

    def _note_wait(self, key: str, record: dict | None, waiting: _Waiting) -> None:
        claim = (record or {}).get("claim") or {}
        holder = claim.get("holder", "another process")
        if waiting.since is None or waiting.holder != holder:
            logger.info("store key %s: held by %s; waiting for its result", key, holder)
            waiting.holder = holder
            if waiting.since is None:
                waiting.since = self.clock()
        if self.timeout is not None and self.clock() - waiting.since >= self.timeout:
            attempts = (record or {}).get("attempts") or [{}]
            raise JobTimeoutError(attempts[-1].get("job_id"), float(self.timeout), key,
                                  holder=holder)

    def _run_claimed(self, claim: Claim, task: PackedTask, tag: str, waiting: _Waiting) -> Any:
        record = claim.record
        key = claim.key
        if claim.reclaimed is not None:
            logger.warning("store key %s: resuming after %s (%s)", key,
                           claim.reclaimed["holder"], claim.reclaimed["reason"])
        if (waiting.since is not None and record["status"] in ("failed", "cancelled")
                and record["updated"] >= waiting.wall):
            # The process we waited for gave up while we waited: do not start over behind it.
            if record["status"] == "cancelled":
                raise JobFailedError(f"store key {key} was cancelled", status="CANCELLED")
            raise RetryLimitError(key, record["attempts"])
        if record["status"] == "cancelled":
            record["status"] = "new"  # cancelled before; running it again is a new decision
            claim.update(record)
        if record["status"] == "done":
            logger.warning("store key %s: marked done but result missing; re-fetching", key)
            record["status"] = "submitted"
            if record["attempts"]:
                record["attempts"][-1]["status"] = "submitted"
            claim.update(record)

        failures = 0  # counted per call: a later run may try again after a RetryLimitError
        while True:
            claim.check()
            try:
                job = self._recover(claim, record, tag)
            except ServiceUnavailableError as exc:  # ask again later; never resubmit blindly
                logger.warning("store key %s: %s", key, exc)
                failures += 1
                self._backoff(record, failures)
                continue
            if job is None:
                job = self._submit(claim, record, task, tag)
                if job is None:  # the submission failed and was recorded
                    failures += 1
                    self._backoff(record, failures)
                    continue
            attempt = record["attempts"][-1]
            try:
                result = self._wait(job, key, claim)
            except JobFailedError as exc:
                attempt["status"] = "failed"
                attempt["error"] = str(exc)
                record["status"] = "failed"
                claim.update(record)
                logger.warning("store key %s: job %s failed: %s", key, attempt["job_id"], exc)
                failures += 1
                self._backoff(record, failures)
                continue
            attempt["status"] = "done"
            attempt["finished_at"] = time.time()
            record["status"] = "done"
            claim.complete(result=result, record=record)
            logger.info("store key %s: job %s done", key, attempt["job_id"])
            return result

    # -- steps -------------------------------------------------------------------------------

    def _recover(self, claim: Claim, record: dict, tag: str) -> Any | None:
        """A job already in flight for this record (adopting an orphan), else ``None``."""
        if not record["attempts"]:
            return None
        attempt = record["attempts"][-1]
        status = attempt.get("status")
        job = None
        if status == "submitting":
            # Crash between submit and save: the job may exist without our knowing its id.
            job = self._ask(self.submitter.find, tag, exclude=self._failed_ids(record))
            if job is not None:
                attempt["job_id"] = job.job_id()
                logger.info("store key %s: adopted job %s found by tag", record["key"],
                            attempt["job_id"])
        elif status == "submitted" and attempt.get("job_id"):
            job = self._ask(self.submitter.retrieve, attempt["job_id"])
        else:
            return None
        if job is None:
            attempt["status"] = "lost"
            record["status"] = "new"
            claim.update(record)
            logger.info("store key %s: previous attempt not retrievable (%s); resubmitting",
                        record["key"], "local mode" if self.submitter.is_local else "not found")
            return None
        attempt["status"] = "submitted"
        record["status"] = "submitted"
        claim.update(record)
        return job

    def _submit(self, claim: Claim, record: dict, task: PackedTask, tag: str) -> Any | None:
        attempt = {"n": len(record["attempts"]) + 1, "status": "submitting", "job_id": None,
                   "submitted_at": time.time(), "by": describe_holder(process_identity()),
                   "error": None}
        record["attempts"].append(attempt)
        record["status"] = "submitting"
        claim.update(record)  # intent first: a crash after submit is then detectable
        try:
            job = self.submitter.submit(task, tags=[tag])
        except Exception as exc:
            # The submission may have reached the service before failing: adopt it if so.
            try:
                job = self._ask(self.submitter.find, tag, exclude=self._failed_ids(record))
            except ServiceUnavailableError as unknown:
                # Whether the service accepted it is unknown: stay "submitting", so the next
                # look searches by tag again before anything is resubmitted.
                attempt["error"] = f"submission outcome unknown: {type(exc).__name__}: {exc}"
                claim.update(record)
                logger.warning("store key %s: %s", record["key"], unknown)
                return None
            if job is None:
                attempt["status"] = "failed"
                attempt["error"] = f"submission failed: {type(exc).__name__}: {exc}"
                record["status"] = "failed"
                claim.update(record)
                logger.warning("store key %s: submission failed: %s", record["key"],
                               redact(exc))
                return None
        attempt["job_id"] = job.job_id()
        attempt["status"] = "submitted"
        record["status"] = "submitted"
        claim.update(record)  # even if the claim was lost meanwhile, the job id is kept
        logger.info("store key %s: submitted job %s", record["key"], attempt["job_id"])
        return job

    def _wait(self, job: Any, key: str, claim: Claim) -> Any:
        job_id = job.job_id()
        if self.timeout is None:
            # Blocks; the claim's heartbeat keeps the lease meanwhile.
            return self._result(job, job_id)  # raises JobFailedError on failure
        deadline = self.clock() + self.timeout
        while True:
            claim.check()
            try:
                status = job_status(job)
            except Exception as exc:
                raise JobFailedError(f"status of job {job_id} failed: {exc}", job_id) from exc
            if status == FINAL_OK:
                return self._result(job, job_id)
            if status in FINAL_BAD:
                message = ""
                if hasattr(job, "error_message"):
                    try:
                        message = job.error_message() or ""
                    except Exception:  # the message is only informative
                        message = ""
                raise JobFailedError(f"job {job_id} ended {status} {message}".strip(), job_id,
                                     status)
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise JobTimeoutError(job_id, float(self.timeout), key)
            self.sleep(min(self.poll_interval, remaining))

    @staticmethod
    def _ask(question: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``question(...)`` (a retrieve or find), any failure raised as ServiceUnavailableError."""
        try:
            return question(*args, **kwargs)
        except Exception as exc:
            raise ServiceUnavailableError(f"could not ask the job service "
                                          f"({type(exc).__name__}: {redact(exc)})") from None

    @staticmethod
    def _result(job: Any, job_id: str) -> Any:
        try:
            return job.result()
        except Exception as exc:
            raise JobFailedError(f"job {job_id} failed: {type(exc).__name__}: {exc}",
                                 job_id) from exc

    def _backoff(self, record: dict, failures: int) -> None:
        if failures >= self.retry.max_attempts:
            raise RetryLimitError(record["key"], record["attempts"])
        delay = self.retry.delay(failures - 1)
        logger.info("store key %s: retry %d in %.1f s", record["key"], failures, delay)
        self.sleep(delay)

    @staticmethod
    def _failed_ids(record: dict) -> list[str]:
        return [a["job_id"] for a in record["attempts"]
                if a.get("job_id") and a.get("status") in ("failed", "lost", "cancelled")]
