"""The job store's SQLite file: schema, connection settings, transactions, filesystem check.

One database file ``jobs.sqlite3`` per store directory, two tables:

``tasks``
    one row per unit of work (a Runtime job or a sweep unit): ``key``, ``kind``, ``state``,
    ``meta`` (JSON: label, backend, options...), ``attempts`` (JSON list, one entry per
    submission), ``job_ids`` (JSON list, append-only: every job id ever recorded for the task),
    the claim (``owner``, ``owner_info``, ``fence``, ``lease_until``, ``heartbeat``) and the
    ``created`` / ``updated`` timestamps.
``results``
    the result payload of a task as a blob (see :mod:`.result_codec`), written in the same
    transaction that marks the task done.

Settings: WAL journal (readers never block the writer) on local filesystems, the rollback journal
on network filesystems (WAL needs shared memory, which a network filesystem cannot provide); every
read-modify-write runs in ``BEGIN IMMEDIATE`` so two processes serialise on the write lock instead
of failing. Durability is chosen per write (``JobStore(durability=...)``): a durable write
commits with ``synchronous=FULL`` (fsync'd, survives a power cut); the others with
``synchronous=NORMAL`` (no fsync: a killed process still loses nothing committed, a power cut may
undo the last commits). Claims, heartbeats and releases are never durable — after a power cut
every holder is dead anyway — and a later durable commit syncs them too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger("qiskit_qattn.runtime")

DB_NAME = "jobs.sqlite3"
SCHEMA_VERSION = 1

#: Filesystem types (``/proc/self/mountinfo``) on which several hosts may share the store.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "virtiofs", "ceph", "glusterfs",
    "fuse.glusterfs", "lustre", "gpfs", "beegfs", "fuse.sshfs", "fuse.s3fs", "fuse.rclone",
    "fuse.gcsfuse", "fuse.juicefs", "davfs", "fuse.davfs2", "ocfs2", "gfs2",
})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    key         TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    meta        TEXT NOT NULL DEFAULT '{}',
    attempts    TEXT NOT NULL DEFAULT '[]',
    job_ids     TEXT NOT NULL DEFAULT '[]',
    owner       TEXT,
    owner_info  TEXT,
    fence       INTEGER NOT NULL DEFAULT 0,
    lease_until REAL,
    heartbeat   REAL,
    created     REAL NOT NULL,
    updated     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state);
CREATE TABLE IF NOT EXISTS results (
    key     TEXT PRIMARY KEY,
    format  TEXT NOT NULL,
    data    BLOB NOT NULL,
    created REAL NOT NULL
);
"""

TASK_COLUMNS = ("key", "kind", "state", "meta", "attempts", "job_ids", "owner", "owner_info",
                "fence", "lease_until", "heartbeat", "created", "updated")


def filesystem_type(path: str | os.PathLike, mountinfo: str | None = None) -> str | None:
    r"""Filesystem type of the mount holding ``path`` (Linux), else ``None``.

    Args:
        path: an existing file or directory (or one below an existing directory).
        mountinfo: the text of ``/proc/self/mountinfo`` (read when ``None``; for tests).

    Example:
        >>> info = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n40 22 0:5 / /mnt/share rw - nfs4 s:/x rw"
        >>> filesystem_type("/mnt/share/jobs", info), filesystem_type("/home", info)
        ('nfs4', 'ext4')
    """
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return None
    target = os.path.abspath(os.fspath(path))
    if Path(target).exists():
        target = os.path.realpath(target)
    best, best_len = None, -1
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or not tail:
            continue
        mount = fields[4].encode().decode("unicode_escape")  # octal escapes such as \040
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > best_len:
            best, best_len = tail[0], len(mount)
    return best


def is_network_filesystem(fstype: str | None) -> bool:
    """Whether ``fstype`` is a filesystem several hosts may mount (NFS, SMB, sshfs, ...).

    Example:
        >>> is_network_filesystem("nfs4"), is_network_filesystem("ext4")
        (True, False)
    """
    return fstype is not None and (fstype in NETWORK_FILESYSTEMS or fstype.startswith("nfs"))


class StoreConnection(sqlite3.Connection):
    """A connection that remembers its ``synchronous`` setting (to switch it only when needed)."""

    durable: bool | None = None


def set_durable(conn: sqlite3.Connection, durable: bool) -> None:
    """``synchronous=FULL`` (fsync at commit) if ``durable`` else ``NORMAL``, for what follows."""
    if getattr(conn, "durable", None) is not durable:
        conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        conn.durable = durable  # type: ignore[attr-defined]


def connect(path: Path, *, journal_mode: str, busy_timeout: float) -> sqlite3.Connection:
    """Open (creating if needed) the store database with the schema and connection settings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                           check_same_thread=True, factory=StoreConnection)
    try:
        set_durable(conn, True)
        mode = _set_journal_mode(conn, journal_mode, busy_timeout)
        if str(mode).lower() != journal_mode.lower():
            logger.warning("job store %s: journal_mode %s unavailable, using %s", path,
                           journal_mode, mode)
        with transaction(conn):
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO store_meta VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))
            found = int(conn.execute("SELECT value FROM store_meta WHERE name = "
                                     "'schema_version'").fetchone()[0])
        if found > SCHEMA_VERSION:
            raise RuntimeError(f"job store {path} has schema version {found}; this qiskit-qattn "
                               f"reads up to {SCHEMA_VERSION}: upgrade qiskit-qattn")
    except BaseException:
        conn.close()
        raise
    return conn


def _set_journal_mode(conn: sqlite3.Connection, journal_mode: str, timeout: float) -> str:
    """Switch to ``journal_mode`` (if not already in it), retrying while another opener holds it.

    Switching a fresh database to WAL needs an exclusive lock, and SQLite answers "database is
    locked" at once, without its busy handler, when several processes open the store together
    (a sweep's workers): retry with backoff up to ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
            if mode.lower() == journal_mode.lower():
                return mode
            return str(conn.execute(f"PRAGMA journal_mode={journal_mode}").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(2 * delay, 0.05)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, durable: bool = True) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any exception, process death included).

    The write lock is taken at ``BEGIN``, so a read-modify-write never fails half-way because
    another process wrote in between; waiting for the lock is bounded by the busy timeout.
    ``durable``: fsync at commit (see the module docstring).
    """
    set_durable(conn, durable)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
