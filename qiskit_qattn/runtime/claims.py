"""Claims on job-store tasks: who holds a task, for how long, and how a dead holder is detected.

A :class:`Claim` is taken in a transaction before any work starts (a submission, a sweep unit).
It carries a *fence* — a counter bumped on every new claim — and every write made under the claim
checks owner and fence in the same transaction, so a holder whose claim was taken over (it was
suspended past its lease) can no longer overwrite the new holder's record; the job ids it reports
are still merged, never dropped (:class:`ClaimLostError`).

A claim expires at ``lease_until``; while it is held, a heartbeat thread renews it every quarter
lease. A process that dies stops renewing. On the same machine a dead holder is also recognised
at once: the claim records host, boot id, pid namespace, pid and the process start time, so
``/proc`` tells whether that very process still runs (a reused pid does not fool it). Across
machines only the lease counts, which assumes their clocks agree.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .secrets import redact

if TYPE_CHECKING:
    from .store import JobStore

logger = logging.getLogger("qiskit_qattn.runtime")


class ClaimLostError(RuntimeError):
    """Another process took the task over (this holder's lease had expired)."""

    def __init__(self, key: str, detail: str = ""):
        super().__init__(f"store key {key}: claim lost to another process"
                         + (f" ({detail})" if detail else ""))
        self.key = key


class TaskCancelledError(RuntimeError):
    """The task was cancelled in the store (``qattn jobs cancel``) while it was held."""

    def __init__(self, key: str):
        super().__init__(f"store key {key}: cancelled in the job store")
        self.key = key


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """``(state, start_ticks)`` of ``pid`` from ``/proc/<pid>/stat``, or ``None`` if gone."""
    text = _read(f"/proc/{pid}/stat")
    if not text or ")" not in text:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    try:
        return fields[0], int(fields[19])  # field 3 = state, field 22 = starttime
    except (IndexError, ValueError):
        return None


@functools.cache
def _static_identity() -> tuple[str, str | None]:
    return socket.gethostname(), _read("/proc/sys/kernel/random/boot_id")


def process_identity() -> dict[str, Any]:
    """This process as a claim records it: host, pid and what tells a reused pid apart.

    Example:
        >>> info = process_identity()
        >>> info["pid"] == os.getpid() and holder_state(info)
        'alive'
    """
    pid = os.getpid()
    if pid not in _IDENTITY:  # fixed for the life of the process (a forked child has its own)
        host, boot = _static_identity()
        try:
            pidns = os.readlink("/proc/self/ns/pid")
        except OSError:
            pidns = None
        stat = _proc_stat(pid)
        _IDENTITY[pid] = {"host": host, "pid": pid, "boot_id": boot, "pid_ns": pidns,
                          "start_ticks": stat[1] if stat else None}
    return dict(_IDENTITY[pid])


_IDENTITY: dict[int, dict[str, Any]] = {}


def holder_state(info: dict[str, Any] | None) -> str:
    """``"alive"``, ``"dead"`` or ``"unknown"`` (another machine, container or OS) for a holder.

    Example:
        >>> holder_state({"host": "elsewhere", "pid": 1})
        'unknown'
    """
    if not info:
        return "unknown"
    me = process_identity()
    comparable = (me["boot_id"] is not None and me["start_ticks"] is not None
                  and all(info.get(k) == me[k] for k in ("host", "boot_id", "pid_ns")))
    if not comparable:
        return "unknown"
    stat = _proc_stat(int(info.get("pid", -1)))
    if stat is None or stat[0] in ("Z", "X", "x"):
        return "dead"
    return "alive" if stat[1] == info.get("start_ticks") else "dead"  # else: the pid was reused


def claim_state(claim: dict[str, Any] | None, now: float | None = None) -> str:
    """State of a record's ``claim``: free, alive, dead, expired or unknown.

    ``"unknown"``: held from another machine or container, with its lease still running.

    Example:
        >>> claim_state(None), claim_state({"host": "elsewhere", "lease_until": 0.0})
        ('free', 'expired')
    """
    if claim is None:
        return "free"
    state = holder_state(claim)
    if state == "dead":
        return state
    lease_until = claim.get("lease_until")
    if lease_until is None or lease_until <= (time.time() if now is None else now):
        return "expired"
    return state


def describe_holder(info: dict[str, Any] | None) -> str:
    """``host:pid`` of a claim holder (for messages).

    Example:
        >>> describe_holder({"host": "lab1", "pid": 42})
        'lab1:42'
    """
    if not info:
        return "unknown holder"
    return f"{info.get('host', '?')}:{info.get('pid', '?')}"


class Claim:
    """The exclusive right to work on one task of a :class:`~.store.JobStore`.

    Obtain it with :meth:`JobStore.claim` (``None`` means another live process holds the task or
    it is done). Use it as a context manager: entering starts the heartbeat that renews the lease,
    leaving stops it and releases the claim (also on exceptions; a process that dies simply stops
    renewing, and the next claimant reclaims the task after the lease).

    Attributes:
        key: the task key.
        owner: this claim's unique id.
        fence: the claim counter at the time of claiming (bumped by every new claim).
        record: the task record as last written or read under this claim (a copy: change it
            and pass it to :meth:`update`).
        reclaimed: ``None``, or what was known of the previous holder whose claim was taken over
            (``{"holder": ..., "reason": "holder died" | "lease expired"}``).
        lease: seconds the claim stays valid without a heartbeat.

    Example:
        >>> import tempfile
        >>> from qiskit_qattn.runtime import JobStore
        >>> store = JobStore(tempfile.mkdtemp())
        >>> with store.claim("unit-1", {"x": 1}) as claim:
        ...     record = claim.complete({"y": [2.0]}, {"note": "ok"})
        >>> record["status"], store.claim("unit-1") is None
        ('done', True)
    """

    def __init__(self, store: JobStore, key: str, owner: str, fence: int, record: dict,
                 reclaimed: dict | None = None, lease: float | None = None):
        self.store = store
        self.lease = float(store.lease if lease is None else lease)
        self.key = key
        self.owner = owner
        self.fence = fence
        self._set(record)
        self.reclaimed = reclaimed
        self._lost = threading.Event()
        self._cancelled = threading.Event()
        self._stop = threading.Event()
        self._released = False
        self._thread: threading.Thread | None = None
        # Claimed while cancelled: this claim restarts the task, so "cancelled" is not news to
        # it until it has written another status.
        self.restarting = record.get("status") == "cancelled"

    def __repr__(self) -> str:
        return f"Claim(key={self.key!r}, fence={self.fence}, released={self._released})"

    def _set(self, stored: dict) -> dict:
        """Remember ``stored`` as written; hand out a copy the caller may change freely."""
        self.stored = stored  # what the store holds, as of this claim's last read or write
        self.record = copy.deepcopy(stored)
        return self.record

    # -- state -----------------------------------------------------------------------------------

    @property
    def lost(self) -> bool:
        """Whether the heartbeat or a write found the claim taken over."""
        return self._lost.is_set()

    @property
    def cancelled(self) -> bool:
        """Whether the heartbeat saw the task cancelled in the store."""
        return self._cancelled.is_set()

    def check(self) -> None:
        """Raise :class:`ClaimLostError` / :class:`TaskCancelledError` if either happened.

        Reads the task's row (one indexed query), so a cancellation is seen at once.
        """
        if not self._lost.is_set() and not self._released:
            owned, state = self.store._probe(self)
            if not owned:
                self._lost.set()
            if state == "cancelled" and not self.restarting:
                self._cancelled.set()
        if self.lost:
            raise ClaimLostError(self.key, "the lease expired and another process claimed it")
        if self.cancelled:
            raise TaskCancelledError(self.key)

    # -- writes (each one transaction, checked against owner and fence) ----------------------------

    def update(self, record: dict) -> dict:
        """Write ``record`` 's status, attempts and metadata; returns the stored record."""
        return self._set(self.store._fenced_write(self, record))

    def refresh(self) -> dict:
        """Re-read the record (raises :class:`ClaimLostError` if the claim was taken over)."""
        return self._set(self.store._fenced_read(self))

    def renew(self) -> None:
        """Extend the lease now (the heartbeat does this on its own)."""
        if not self.store._renew(self):
            self._lost.set()
        self.check()

    def complete(self, arrays: Any = None, metadata: dict | None = None, *, result: Any = None,
                 record: dict | None = None) -> dict:
        """Store the task's result and mark it done, in one transaction; release the claim.

        Args:
            arrays, metadata: a sweep unit's result (name → array, JSON metadata).
            result: a Runtime ``PrimitiveResult`` instead of ``arrays``.
            record: the record to write with it (default: the current one, whose last
                ``running`` attempt is marked done).
        """
        if (arrays is None) == (result is None):
            raise ValueError("pass exactly one of arrays= or result=")
        self._finish()
        self._set(self.store._complete(self, arrays=arrays, metadata=metadata, result=result,
                                       record=record))
        self._released = True  # the same transaction released the claim
        return self.record

    def fail(self, error: BaseException | str) -> dict:
        """Mark the task failed with ``error`` (redacted) on its last attempt; release the claim."""
        record = dict(self.record)
        attempts = [dict(a) for a in record.get("attempts", [])]
        text = (f"{type(error).__name__}: {error}" if isinstance(error, BaseException)
                else str(error))
        if attempts and attempts[-1].get("status") == "running":
            attempts[-1].update(status="failed", error=redact(text))
        else:
            attempts.append({"n": len(attempts) + 1, "status": "failed", "job_id": None,
                             "error": redact(text)})
        record.update(status="failed", attempts=attempts)
        self.update(record)
        self.release()
        return self.record

    def release(self) -> None:
        """Give the task up (idempotent). The record keeps whatever state was last written."""
        self._finish()
        if not self._released:
            self._released = True
            self.store._release(self)

    # -- heartbeat -------------------------------------------------------------------------------

    def __enter__(self) -> Claim:
        interval = max(0.05, self.lease / 4.0)
        self._thread = threading.Thread(target=self._beat, args=(interval,), daemon=True,
                                        name=f"qattn-lease-{self.key[:8]}")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _finish(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
            self._thread = None

    def _beat(self, interval: float) -> None:
        conn = None
        warned = False
        try:
            while not self._stop.wait(interval):
                try:
                    if conn is None:
                        conn = self.store._connect_new()
                    ok, state = self.store._renew_on(conn, self)
                except Exception as exc:  # e.g. the database stayed locked: try again next beat
                    if not warned:
                        logger.warning("store key %s: lease renewal failed (will retry): %s",
                                       self.key, redact(exc))
                        warned = True
                    continue
                if state == "cancelled" and not self.restarting:
                    self._cancelled.set()
                if not ok:
                    self._lost.set()
                    logger.warning("store key %s: lease lost to another process", self.key)
                    return
        finally:
            if conn is not None:
                conn.close()
