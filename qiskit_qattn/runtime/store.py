"""The job store: tasks, claims and results in one SQLite file, safe for many processes at once.

The store is what makes work resumable and paid once. Each *task* — a Runtime job
(:class:`~.jobs.ResumableRunner`) or any other unit of work keyed by a fingerprint (a sweep
unit) — is one row: key, kind, state, metadata, every attempt with its job id, the append-only
list of all its job ids, the current claim and timestamps; its result is a blob written in the same
transaction that marks it done (:mod:`.store_db`, :mod:`.result_codec`).

**Concurrency.** Work on a task starts only under a :class:`~.claims.Claim`, taken in a
``BEGIN IMMEDIATE`` transaction: a second process finds the task claimed and waits for the result
instead of doing the work again. Claims carry a lease renewed by a heartbeat; a holder that died
is reclaimed after the lease (at once on the same machine, where ``/proc`` shows the holder is
gone). Writes under a claim are fenced, and no write ever drops a job id.

**Sweep units** (any work that is not a Runtime job)::

    store = JobStore("sweep-store")
    arrays, meta = store.run_once(key, compute, meta={"params": ...})  # exactly once, any process

or, to skip units other workers hold and come back to them::

    claim = store.claim(key, meta)            # None: done, or held by a live worker
    if claim is not None:
        with claim:                           # heartbeat while computing; released on exit
            claim.complete({"values": v}, {"seconds": t})   # result + done, one transaction
    store.load_arrays(key)                    # -> (arrays, metadata) or None
    store.statuses(keys)                      # what is missing after a crash: not "done"

Nothing here ever holds a credential: metadata is scrubbed, error texts redacted. Stores written
by the JSON-era code are imported on first open (:mod:`.store_migrate`).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import store_db
from .claims import (
    Claim,
    ClaimLostError,
    TaskCancelledError,
    claim_state,
    describe_holder,
    holder_state,
    process_identity,
)
from .result_codec import (
    FORMAT_ARRAYS,
    FORMAT_PRIMITIVE,
    decode_arrays,
    decode_primitive_result,
    encode_arrays,
    encode_primitive_result,
)
from .secrets import redact
from .store_records import (
    IN_FLIGHT,
    RECORD_VERSION,
    RESERVED,
    STATUSES,
    check_key,
    check_kind,
    check_status,
    clean_attempts,
    clean_meta,
    merge_attempts,
)

logger = logging.getLogger("qiskit_qattn.runtime")

__all__ = ["STATUSES", "ClaimLostError", "JobStore", "TaskCancelledError", "UnitFailedError",
           "default_store_dir"]

DEFAULT_LEASE = 60.0
JOURNAL_MODES = ("auto", "wal", "delete")
DURABILITY = ("auto", "full", "normal")
_INHERITED: list[sqlite3.Connection] = []  # connections a forked child must never touch or close
_NETWORK_WARNED: set[str] = set()


class UnitFailedError(RuntimeError):
    """The unit failed in the process that held it while this one waited for its result."""

    def __init__(self, key: str, error: str | None):
        super().__init__(f"store key {key}: the unit failed in another process: {error}")
        self.key = key


def default_store_dir() -> Path:
    """``$QATTN_JOB_STORE`` or ``~/.cache/qiskit-qattn/jobs``.

    Example:
        >>> default_store_dir().name in ("jobs", os.environ.get("QATTN_JOB_STORE", "jobs"))
        True
    """
    env = os.environ.get("QATTN_JOB_STORE")
    if env:
        return Path(env)
    base = os.environ.get("QATTN_CACHE") or Path.home() / ".cache" / "qiskit-qattn"
    return Path(base) / "jobs"


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


class JobStore:
    """Tasks, claims and results in ``directory/jobs.sqlite3`` (created on first write).

    Args:
        directory: the store directory (default :func:`default_store_dir`).
        lease: seconds a claim stays valid without a heartbeat (renewed every ``lease / 4``).
        journal_mode: ``"auto"`` (WAL, or the rollback journal on a network filesystem),
            ``"wal"`` or ``"delete"``.
        busy_timeout: seconds to wait for another process's write transaction.
        detect_dead_holders: reclaim at once a claim whose holder process is gone (same machine
            only); ``False`` waits for the lease in every case.
        durability: when a write is fsync'd. A killed process never loses what it committed;
            the question is a power cut or OS crash. ``"auto"`` (default): Runtime tasks
            (paid jobs) are fsync'd at every record change and survive it; sweep units are not
            (after a power cut a unit may be computed again). ``"full"``: everything fsync'd;
            ``"normal"``: nothing. Claims are never fsync'd: a power cut kills every holder.

    Example:
        >>> import tempfile
        >>> store = JobStore(tempfile.mkdtemp())
        >>> rec = store.create("k1", {"device": "fake_manila"})
        >>> store.get("k1")["status"], store.keys()
        ('new', ['k1'])
    """

    def __init__(self, directory: str | os.PathLike | None = None, *,
                 lease: float = DEFAULT_LEASE, journal_mode: str = "auto",
                 busy_timeout: float = 30.0, detect_dead_holders: bool = True,
                 durability: str = "auto"):
        if not (isinstance(lease, (int, float)) and lease > 0):
            raise ValueError(f"lease must be a positive number of seconds; got {lease!r}")
        if journal_mode not in JOURNAL_MODES:
            raise ValueError(f"journal_mode must be one of {JOURNAL_MODES}; got {journal_mode!r}")
        if durability not in DURABILITY:
            raise ValueError(f"durability must be one of {DURABILITY}; got {durability!r}")
        if not (isinstance(busy_timeout, (int, float)) and busy_timeout > 0):
            raise ValueError(f"busy_timeout must be > 0 seconds; got {busy_timeout!r}")
        self.directory = Path(directory) if directory is not None else default_store_dir()
        self.path = self.directory / store_db.DB_NAME
        self.lease = float(lease)
        self.busy_timeout = float(busy_timeout)
        self.detect_dead_holders = bool(detect_dead_holders)
        self.durability = durability
        self._journal_request = journal_mode
        self._fstype: str | None = None
        self._fs_checked = False
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"JobStore({str(self.directory)!r})"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_local"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    # -- where and how -----------------------------------------------------------------------------

    @property
    def filesystem(self) -> str | None:
        """Filesystem type holding the store (Linux; ``None`` where unknown)."""
        if not self._fs_checked:
            self._fstype = store_db.filesystem_type(_nearest_existing(self.directory))
            self._fs_checked = True
        return self._fstype

    @property
    def network(self) -> bool:
        """Whether the store lies on a network filesystem (see the README on what holds there)."""
        return store_db.is_network_filesystem(self.filesystem)

    def _fsync(self, kind: str | None) -> bool:
        """Whether writes to a task of ``kind`` are fsync'd (``None``: user actions, always)."""
        if self.durability == "auto":
            return kind != "unit"
        return self.durability == "full"

    @property
    def journal_mode(self) -> str:
        """The SQLite journal mode used: ``"wal"`` locally, ``"delete"`` on network filesystems."""
        if self._journal_request != "auto":
            return self._journal_request
        return "delete" if self.network else "wal"

    def describe(self) -> dict[str, Any]:
        """Where the store is, how it is set up and how many tasks it holds per status."""
        counts: dict[str, int] = {}
        conn = self._conn(create=False)
        if conn is not None:
            counts = dict(conn.execute("SELECT state, COUNT(*) FROM tasks GROUP BY state"))
        return {"directory": str(self.directory), "database": str(self.path),
                "exists": conn is not None, "filesystem": self.filesystem,
                "network_filesystem": self.network, "journal_mode": self.journal_mode,
                "lease_seconds": self.lease, "durability": self.durability,
                "schema_version": store_db.SCHEMA_VERSION,
                "tasks": counts}

    # -- connections -------------------------------------------------------------------------------

    def _connect_new(self) -> sqlite3.Connection:
        if self.network and str(self.directory) not in _NETWORK_WARNED:
            _NETWORK_WARNED.add(str(self.directory))
            logger.warning("job store %s is on a network filesystem (%s): safe for processes on "
                           "one machine; do not share it between machines (see the README)",
                           self.directory, self.filesystem)
        return store_db.connect(self.path, journal_mode=self.journal_mode,
                                busy_timeout=self.busy_timeout)

    def _conn(self, create: bool = True) -> sqlite3.Connection | None:
        """This thread's connection (``None`` if the store does not exist and ``create`` is off).

        Opening the store the first time imports JSON-era records found in the directory.
        """
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid():
            return conn
        if conn is not None:  # inherited through fork: never use or close the parent's handle
            _INHERITED.append(conn)
            local.conn = None
        from .store_migrate import legacy_files, migrate_json_store

        legacy = legacy_files(self.directory)
        if not create and not legacy and not self.path.exists():
            return None
        conn = self._connect_new()
        local.conn, local.pid = conn, os.getpid()
        if legacy:
            migrate_json_store(conn, self.directory, time.time())
        return conn

    def close(self) -> None:
        """Close this thread's connection (reopened on the next use)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    # -- reading -----------------------------------------------------------------------------------

    _SELECT = ("SELECT t.key, t.kind, t.state, t.meta, t.attempts, t.job_ids, t.owner, "
               "t.owner_info, t.fence, t.lease_until, t.heartbeat, t.created, t.updated, "
               "r.format, length(r.data) FROM tasks t LEFT JOIN results r ON r.key = t.key")

    @staticmethod
    def _record(row: tuple) -> dict:
        (key, kind, state, meta, attempts, job_ids, owner, owner_info, fence, lease_until,
         heartbeat, created, updated, fmt, size) = row
        claim = None
        if owner is not None:
            info = json.loads(owner_info or "{}")
            claim = {**info, "holder": describe_holder(info), "fence": fence,
                     "lease_until": lease_until, "heartbeat": heartbeat}
        return {**json.loads(meta), "version": RECORD_VERSION, "key": key, "kind": kind,
                "status": state, "created": created, "updated": updated,
                "attempts": json.loads(attempts), "job_ids": json.loads(job_ids),
                "claim": claim,
                "result": None if fmt is None else {"format": fmt, "bytes": int(size)}}

    def _get_on(self, conn: sqlite3.Connection, key: str) -> dict | None:
        row = conn.execute(self._SELECT + " WHERE t.key = ?", (key,)).fetchone()
        return None if row is None else self._record(row)

    def get(self, key: str) -> dict | None:
        """The record for ``key`` or ``None``."""
        check_key(key)
        conn = self._conn(create=False)
        return None if conn is None else self._get_on(conn, key)

    def keys(self) -> list[str]:
        """Keys of every task, sorted."""
        conn = self._conn(create=False)
        if conn is None:
            return []
        return [k for (k,) in conn.execute("SELECT key FROM tasks ORDER BY key")]

    def records(self, *, kind: str | None = None, status: str | None = None) -> list[dict]:
        """Every record (optionally of one ``kind`` / ``status``), oldest first."""
        conn = self._conn(create=False)
        if conn is None:
            return []
        where, args = [], []
        if kind is not None:
            where.append("t.kind = ?")
            args.append(check_kind(kind))
        if status is not None:
            where.append("t.state = ?")
            args.append(check_status(status))
        sql = self._SELECT + (" WHERE " + " AND ".join(where) if where else "")
        rows = conn.execute(sql + " ORDER BY t.created, t.key", args).fetchall()
        return [self._record(r) for r in rows]

    def statuses(self, keys: Iterable[str] | None = None) -> dict[str, str]:
        """``key -> status`` for ``keys`` (absent keys are ``"missing"``) or for every task.

        Example:
            >>> import tempfile
            >>> store = JobStore(tempfile.mkdtemp())
            >>> _ = store.create("a")
            >>> store.statuses(["a", "b"])
            {'a': 'new', 'b': 'missing'}
        """
        conn = self._conn(create=False)
        found = {} if conn is None else dict(conn.execute("SELECT key, state FROM tasks"))
        if keys is None:
            return dict(sorted(found.items()))
        return {check_key(k): found.get(k, "missing") for k in keys}

    def resolve(self, prefix: str) -> str:
        """The one key starting with ``prefix`` (``ValueError`` if none or several).

        Example:
            >>> import tempfile
            >>> store = JobStore(tempfile.mkdtemp())
            >>> _ = store.create("abc123")
            >>> store.resolve("abc")
            'abc123'
        """
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"key prefix must be a non-empty string; got {prefix!r}")
        matches = [k for k in self.keys() if k.startswith(prefix)]
        if len(matches) != 1:
            what = "no task" if not matches else f"{len(matches)} tasks ({', '.join(matches[:5])})"
            raise ValueError(f"key {prefix!r} matches {what} in {self.directory}")
        return matches[0]

    # -- unclaimed writes --------------------------------------------------------------------------

    def create(self, key: str, meta: Mapping[str, Any] | None = None, *,
               kind: str = "runtime") -> dict:
        """Create (or return the existing) record for ``key`` with scrubbed ``meta``."""
        check_key(key)
        check_kind(kind)
        meta = clean_meta(meta)
        now = time.time()
        conn = self._conn()
        store_db.set_durable(conn, False)  # an empty task is recreated if a power cut loses it
        conn.execute("INSERT OR IGNORE INTO tasks (key, kind, state, meta, created, updated) "
                     "VALUES (?, ?, 'new', ?, ?, ?)", (key, kind, json.dumps(meta), now, now))
        return self._get_on(conn, key)

    def save(self, record: dict) -> None:
        """Write ``record`` (status, attempts, metadata) without a claim, atomically.

        For tools and repairs; work in progress goes through :meth:`claim`. Even this write never
        drops a job id: attempts missing from ``record`` that carry one are kept.
        """
        check_status(record.get("status"))
        key = check_key(record.get("key"))
        kind = check_kind(record.get("kind", "runtime"))
        meta = clean_meta({k: v for k, v in record.items() if k not in RESERVED})
        attempts = clean_attempts(record.get("attempts", []))
        now = time.time()
        conn = self._conn()
        with store_db.transaction(conn, durable=self._fsync(kind)):
            row = conn.execute("SELECT attempts, job_ids FROM tasks WHERE key = ?",
                               (key,)).fetchone()
            if row is None:
                attempts, job_ids = merge_attempts([], [], attempts)
                conn.execute(
                    "INSERT INTO tasks (key, kind, state, meta, attempts, job_ids, created, "
                    "updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, kind, record["status"], json.dumps(meta), json.dumps(attempts),
                     json.dumps(job_ids), float(record.get("created", now)), now))
            else:
                attempts, job_ids = merge_attempts(json.loads(row[0]), json.loads(row[1]),
                                                   attempts)
                conn.execute("UPDATE tasks SET state = ?, meta = ?, attempts = ?, job_ids = ?, "
                             "updated = ? WHERE key = ?",
                             (record["status"], json.dumps(meta), json.dumps(attempts),
                              json.dumps(job_ids), now, key))
        record["updated"] = now

    def cancel(self, key: str) -> dict:
        """Mark ``key`` cancelled (its in-flight attempts too); a holder stops at its next check.

        Only the store is changed: cancelling the job on IBM's side is the caller's part
        (``qattn jobs cancel`` does both). A task already done stays done.
        """
        check_key(key)
        conn = self._conn()
        with store_db.transaction(conn, durable=self._fsync(None)):
            record = self._get_on(conn, key)
            if record is None:
                raise ValueError(f"no task with key {key!r} in {self.directory}")
            if record["status"] == "done":
                return record
            attempts = [dict(a, status="cancelled") if a.get("status") in IN_FLIGHT else a
                        for a in record["attempts"]]
            conn.execute("UPDATE tasks SET state = 'cancelled', attempts = ?, updated = ? "
                         "WHERE key = ?", (json.dumps(attempts), time.time(), key))
            return self._get_on(conn, key)

    def forget(self, key: str, *, force: bool = False) -> dict:
        """Delete the record and result of ``key``; returns what was deleted.

        Refused (``ValueError``) while a live process holds the task or a job may still be
        running for it (``submitting``/``submitted``), unless ``force``: forgetting such a task
        loses track of a job that may be billed.
        """
        check_key(key)
        conn = self._conn()
        with store_db.transaction(conn, durable=self._fsync(None)):
            record = self._get_on(conn, key)
            if record is None:
                raise ValueError(f"no task with key {key!r} in {self.directory}")
            if not force:
                if record["claim"] is not None and self._holder_live(record["claim"]):
                    raise ValueError(f"task {key} is held by {record['claim']['holder']}; "
                                     "wait for it, or pass force=True (--force)")
                if record["status"] in ("submitting", "submitted"):
                    raise ValueError(f"task {key} may have a job running (job ids "
                                     f"{record['job_ids']}): cancel it first, or pass "
                                     "force=True (--force)")
            conn.execute("DELETE FROM results WHERE key = ?", (key,))
            conn.execute("DELETE FROM tasks WHERE key = ?", (key,))
        return record

    def _holder_live(self, claim: dict) -> bool:
        """Whether the holder of a record's ``claim`` may still be working."""
        state = claim_state(claim)
        return state in ("alive", "unknown") or (state == "dead" and not self.detect_dead_holders)

    # -- results -----------------------------------------------------------------------------------

    def _put_result(self, conn: sqlite3.Connection, key: str, fmt: str, data: bytes) -> None:
        if not conn.in_transaction:  # else the enclosing transaction chose
            store_db.set_durable(conn, self._fsync("unit" if fmt == FORMAT_ARRAYS else None))
        conn.execute("INSERT OR REPLACE INTO results (key, format, data, created) "
                     "VALUES (?, ?, ?, ?)", (key, fmt, data, time.time()))

    def _payload(self, key: str) -> tuple[str, bytes] | None:
        check_key(key)
        conn = self._conn(create=False)
        if conn is None:
            return None
        row = conn.execute("SELECT format, data FROM results WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def save_result(self, key: str, result: Any) -> None:
        """Store a ``PrimitiveResult`` (Sampler or Estimator) losslessly, atomically."""
        check_key(key)
        data = encode_primitive_result(result)
        self._put_result(self._conn(), key, FORMAT_PRIMITIVE, data)

    def load_result(self, key: str) -> Any | None:
        """The stored ``PrimitiveResult`` for ``key``, or ``None`` if absent or unreadable."""
        payload = self._payload(key)
        if payload is None:
            return None
        if payload[0] != FORMAT_PRIMITIVE:
            raise ValueError(f"store key {key} holds {payload[0]}, not a PrimitiveResult; "
                             "use load_arrays")
        try:
            return decode_primitive_result(payload[1])
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("store key %s: stored result unreadable (%s)", key, redact(exc))
            return None

    def save_arrays(self, key: str, arrays: Mapping[str, Any],
                    metadata: Mapping[str, Any] | None = None) -> None:
        """Store named arrays with JSON metadata for ``key`` (no claim, no state change)."""
        check_key(key)
        data = encode_arrays(arrays, metadata)
        self._put_result(self._conn(), key, FORMAT_ARRAYS, data)

    def load_arrays(self, key: str) -> tuple[dict[str, np.ndarray], dict] | None:
        """``(arrays, metadata)`` stored for ``key``, or ``None`` if absent."""
        payload = self._payload(key)
        if payload is None:
            return None
        if payload[0] != FORMAT_ARRAYS:
            raise ValueError(f"store key {key} holds {payload[0]}, not arrays; use load_result")
        return decode_arrays(payload[1])

    # -- claims ------------------------------------------------------------------------------------

    def claim(self, key: str, meta: Mapping[str, Any] | None = None, *, kind: str = "unit",
              lease: float | None = None, redo: bool = False) -> Claim | None:
        """Claim ``key`` for this process (creating the task with ``meta`` if new).

        Returns ``None`` when the task is done (with a stored result) or another live process
        holds it. A claim whose holder died (same machine) or whose lease expired is taken over;
        :attr:`Claim.reclaimed` then says whose it was. Use the claim as a context manager.

        Args:
            key: the task key (a fingerprint of everything that determines the result).
            meta: metadata stored with a new task (scrubbed; ignored if the task exists).
            kind: ``"unit"`` (default) or ``"runtime"``; must match an existing task's kind.
            lease: seconds (default: the store's ``lease``).
            redo: claim a done task too (its stored result was found unreadable).
        """
        check_key(key)
        check_kind(kind)
        if meta is not None and not isinstance(meta, Mapping):
            raise TypeError(f"meta must be a mapping; got {type(meta).__name__}")
        lease = self.lease if lease is None else float(lease)
        if not lease > 0:
            raise ValueError(f"lease must be > 0 seconds; got {lease!r}")
        owner = uuid.uuid4().hex
        info = process_identity()
        conn = self._conn()
        with store_db.transaction(conn, durable=False):  # a claim need not survive a power cut
            now = time.time()
            row = conn.execute(
                "SELECT t.kind, t.state, t.owner, t.owner_info, t.fence, t.lease_until, "
                "r.key IS NOT NULL FROM tasks t LEFT JOIN results r ON r.key = t.key "
                "WHERE t.key = ?", (key,)).fetchone()
            reclaimed = None
            if row is None:
                meta = clean_meta(meta)  # only a new task stores it
                conn.execute("INSERT INTO tasks (key, kind, state, meta, owner, owner_info, "
                             "fence, lease_until, heartbeat, created, updated) "
                             "VALUES (?, ?, 'new', ?, ?, ?, 1, ?, ?, ?, ?)",
                             (key, kind, json.dumps(meta), owner, json.dumps(info), now + lease,
                              now, now, now))
                fence = 1
            else:
                row_kind, state, holder, holder_info, fence, lease_until, has_result = row
                if row_kind != kind:
                    raise ValueError(f"task {key} is a {row_kind!r} task, not {kind!r}")
                if state == "done" and has_result and not redo:
                    return None
                if holder is not None:
                    holder_info = json.loads(holder_info or "{}")
                    dead = self.detect_dead_holders and holder_state(holder_info) == "dead"
                    expired = lease_until is None or lease_until <= now
                    if not (dead or expired):
                        return None
                    reclaimed = {"holder": describe_holder(holder_info),
                                 "reason": "holder died" if dead else "lease expired",
                                 "fence": fence}
                    if holder_info.get("host") not in (None, info["host"]):
                        logger.warning("job store %s is used from several machines (%s and %s):"
                                       " claims then rely on synchronised clocks; see README",
                                       self.directory, holder_info.get("host"), info["host"])
                fence += 1
                conn.execute("UPDATE tasks SET owner = ?, owner_info = ?, fence = ?, "
                             "lease_until = ?, heartbeat = ? WHERE key = ?",
                             (owner, json.dumps(info), fence, now + lease, now, key))
            record = self._get_on(conn, key)
        if reclaimed is not None:
            logger.warning("store key %s: took over the claim of %s (%s)", key,
                           reclaimed["holder"], reclaimed["reason"])
        return Claim(self, key, owner, fence, record, reclaimed, lease)

    def _owns(self, row: tuple | None, claim: Claim) -> bool:
        return row is not None and row[0] == claim.owner and row[1] == claim.fence

    @staticmethod
    def _clean_for(claim: Claim, record: dict) -> tuple[dict, list[dict]]:
        """Scrubbed metadata and attempts of ``record``, reusing what the claim read as is."""
        meta = {k: v for k, v in record.items() if k not in RESERVED}
        known_meta = {k: v for k, v in claim.stored.items() if k not in RESERVED}
        if meta != known_meta:
            meta = clean_meta(meta)
        return meta, clean_attempts(record.get("attempts", []), claim.stored.get("attempts", []))

    def _fenced_write(self, claim: Claim, record: dict) -> dict:
        status = check_status(record.get("status"))
        meta, attempts = self._clean_for(claim, record)
        conn = self._conn()
        problem: Exception | None = None
        with store_db.transaction(conn, durable=self._fsync(claim.stored.get("kind"))):
            now = time.time()
            row = conn.execute("SELECT owner, fence, state, attempts, job_ids FROM tasks "
                               "WHERE key = ?", (claim.key,)).fetchone()
            if row is None:
                raise ClaimLostError(claim.key, "the task was forgotten")
            merged, job_ids = merge_attempts(json.loads(row[3]), json.loads(row[4]), attempts)
            if not self._owns(row, claim):
                problem = ClaimLostError(claim.key, "the lease expired and another process "
                                                    "claimed it")
            elif row[2] == "cancelled" and status != "cancelled" and not claim.restarting:
                problem = TaskCancelledError(claim.key)
            if problem is not None:
                # Not ours to change any more, but a job id we learnt is never dropped.
                extra = [a for a in attempts if a.get("job_id")
                         and a["job_id"] not in json.loads(row[4])]
                if extra:
                    stored = json.loads(row[3]) + [dict(a, restored=True) for a in extra]
                    conn.execute("UPDATE tasks SET attempts = ?, job_ids = ? WHERE key = ?",
                                 (json.dumps(stored), json.dumps(job_ids), claim.key))
            else:
                conn.execute("UPDATE tasks SET state = ?, meta = ?, attempts = ?, job_ids = ?, "
                             "updated = ?, lease_until = ?, heartbeat = ? WHERE key = ?",
                             (status, json.dumps(meta), json.dumps(merged), json.dumps(job_ids),
                              now, now + claim.lease, now, claim.key))
            stored_record = self._get_on(conn, claim.key)
        if problem is None and status != "cancelled":
            claim.restarting = False
        if isinstance(problem, ClaimLostError):
            claim._lost.set()
        if problem is not None:
            raise problem
        return stored_record

    def _fenced_read(self, claim: Claim) -> dict:
        conn = self._conn()
        row = conn.execute("SELECT owner, fence FROM tasks WHERE key = ?",
                           (claim.key,)).fetchone()
        if not self._owns(row, claim):
            claim._lost.set()
            raise ClaimLostError(claim.key, "the lease expired and another process claimed it")
        return self._get_on(conn, claim.key)

    def _probe(self, claim: Claim) -> tuple[bool, str | None]:
        row = self._conn().execute("SELECT owner, fence, state FROM tasks WHERE key = ?",
                                   (claim.key,)).fetchone()
        return self._owns(row, claim), None if row is None else row[2]

    def _renew_on(self, conn: sqlite3.Connection, claim: Claim) -> tuple[bool, str | None]:
        store_db.set_durable(conn, False)
        now = time.time()
        cur = conn.execute("UPDATE tasks SET lease_until = ?, heartbeat = ? WHERE key = ? AND "
                           "owner = ? AND fence = ?",
                           (now + claim.lease, now, claim.key, claim.owner, claim.fence))
        row = conn.execute("SELECT state FROM tasks WHERE key = ?", (claim.key,)).fetchone()
        return cur.rowcount == 1, None if row is None else row[0]

    def _renew(self, claim: Claim) -> bool:
        ok, state = self._renew_on(self._conn(), claim)
        if state == "cancelled" and not claim.restarting:
            claim._cancelled.set()
        return ok

    def _release(self, claim: Claim) -> None:
        try:
            conn = self._conn()
            store_db.set_durable(conn, False)
            conn.execute("UPDATE tasks SET owner = NULL, owner_info = NULL, "
                                 "lease_until = NULL, heartbeat = NULL WHERE key = ? AND "
                                 "owner = ? AND fence = ?", (claim.key, claim.owner, claim.fence))
        except sqlite3.Error as exc:  # the lease will expire on its own
            logger.warning("store key %s: could not release the claim (%s); it expires in "
                           "%.0f s", claim.key, redact(exc), claim.lease)

    def _complete(self, claim: Claim, *, arrays: Any, metadata: Any, result: Any,
                  record: dict | None) -> dict:
        if result is not None:
            fmt, data = FORMAT_PRIMITIVE, encode_primitive_result(result)
        else:
            fmt, data = FORMAT_ARRAYS, encode_arrays(arrays, metadata)
        record = dict(claim.record if record is None else record)
        attempts = [dict(a) for a in record.get("attempts", [])]
        if attempts and attempts[-1].get("status") == "running":
            attempts[-1].update(status="done", finished_at=time.time())
        record.update(status="done", attempts=attempts)
        meta, attempts = self._clean_for(claim, record)
        conn = self._conn()
        lost = False
        with store_db.transaction(conn, durable=self._fsync(claim.stored.get("kind"))):
            now = time.time()
            row = conn.execute("SELECT owner, fence, state, attempts, job_ids FROM tasks "
                               "WHERE key = ?", (claim.key,)).fetchone()
            if row is None:
                raise ClaimLostError(claim.key, "the task was forgotten")
            merged, job_ids = merge_attempts(json.loads(row[3]), json.loads(row[4]), attempts)
            if self._owns(row, claim):
                conn.execute("UPDATE tasks SET state = 'done', meta = ?, attempts = ?, "
                             "job_ids = ?, updated = ?, owner = NULL, owner_info = NULL, "
                             "lease_until = NULL, heartbeat = NULL WHERE key = ?",
                             (json.dumps(meta), json.dumps(merged), json.dumps(job_ids), now,
                              claim.key))
                self._put_result(conn, claim.key, fmt, data)
            else:
                lost = True
                conn.execute("UPDATE tasks SET job_ids = ? WHERE key = ?",
                             (json.dumps(job_ids), claim.key))
            stored = self._get_on(conn, claim.key)
        if lost:
            claim._lost.set()
            raise ClaimLostError(claim.key, "the lease expired and another process claimed it")
        return stored

    # -- waiting and exactly-once units -----------------------------------------------------------

    def wait(self, key: str, *, timeout: float | None = None,
             poll_interval: float = 0.05) -> dict:
        """Block until no live process holds ``key``; return its record.

        Raises:
            TimeoutError: still held after ``timeout`` seconds.
        """
        check_key(key)
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        while True:
            record = self.get(key)
            if record is None:
                raise ValueError(f"no task with key {key!r} in {self.directory}")
            if record["claim"] is None or not self._holder_live(record["claim"]):
                return record
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"store key {key}: still held by "
                                   f"{record['claim']['holder']} after {timeout:g} s")
            time.sleep(poll_interval)

    def run_once(self, key: str, compute: Callable[[], Any],
                 meta: Mapping[str, Any] | None = None, *, timeout: float | None = None,
                 poll_interval: float = 0.05) -> tuple[dict[str, np.ndarray], dict]:
        """The result of unit ``key``, computed by ``compute()`` at most once across processes.

        A stored result is returned as is. Otherwise this process claims the unit, calls
        ``compute()`` (returning ``arrays`` or ``(arrays, metadata)``) and stores the result with
        the unit marked done in one transaction. If another process holds the unit, this one
        waits for its result; if that process dies, this one takes over after the lease.

        Raises:
            UnitFailedError: the holder failed while this process waited (a later call retries).
            TimeoutError: waited longer than ``timeout`` seconds for another holder.

        Example:
            >>> import tempfile
            >>> store = JobStore(tempfile.mkdtemp())
            >>> calls = []
            >>> compute = lambda: calls.append(1) or ({"y": np.arange(3)}, {"n": 3})
            >>> first = store.run_once("u1", compute)
            >>> again = store.run_once("u1", compute)
            >>> again[0]["y"].tolist(), again[1], len(calls)
            ([0, 1, 2], {'n': 3}, 1)
        """
        check_key(key)
        if not callable(compute):
            raise TypeError(f"compute must be callable; got {type(compute).__name__}")
        started = time.time()
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        waited = False
        while True:
            record = self.get(key)
            if record is not None and record["status"] == "done" and record["result"]:
                return self.load_arrays(key)
            claim = self.claim(key, meta, kind="unit")
            if claim is None:
                waited = True
                if deadline is not None and time.monotonic() >= deadline:
                    holder = (self.get(key) or {}).get("claim") or {}
                    raise TimeoutError(f"store key {key}: held by {holder.get('holder')} for "
                                       f"more than {timeout:g} s")
                time.sleep(poll_interval)
                continue
            with claim:
                current = claim.record
                if (waited and current["status"] == "failed"
                        and current["updated"] >= started):
                    last = current["attempts"][-1] if current["attempts"] else {}
                    raise UnitFailedError(key, last.get("error"))
                attempts = [dict(a, status="abandoned") if a.get("status") == "running" else a
                            for a in current["attempts"]]  # its process died or gave up
                attempts.append({"n": len(attempts) + 1, "status": "running", "job_id": None,
                                 "by": describe_holder(process_identity()),
                                 "started_at": time.time(), "error": None})
                try:
                    claim.update(dict(current, attempts=attempts))
                    out = compute()
                    arrays, metadata = out if isinstance(out, tuple) else (out, None)
                    claim.complete(arrays, metadata)
                except ClaimLostError:
                    waited = True
                    continue
                except Exception as exc:
                    if not claim.lost:
                        claim.fail(exc)
                    raise
            return self.load_arrays(key)
