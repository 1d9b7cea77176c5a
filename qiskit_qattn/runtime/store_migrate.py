"""Import a JSON-era job store into the SQLite store, losslessly, on first open.

Up to version 0.x the store was one ``<key>.json`` record and one ``<key>.npz`` result per job.
On first open the SQLite store imports every such record — all fields, every attempt with its job
id and error, the timestamps — and every result archive byte for byte, in one transaction; then it
moves the files into ``legacy-json/`` (kept, not deleted). The import is idempotent and safe with
several processes opening the store at once: a record already imported is *merged* (attempts whose
job ids the store does not know are added, ``job_ids`` only grows), never overwritten. A file that
is not a valid record is left where it is and reported.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .result_codec import FORMAT_PRIMITIVE, payload_format
from .store_db import transaction
from .store_records import (
    RESERVED,
    STATUSES,
    check_key,
    clean_attempts,
    clean_meta,
    merge_attempts,
)

logger = logging.getLogger("qiskit_qattn.runtime")

LEGACY_BACKUP_DIR = "legacy-json"


@dataclass
class MigrationReport:
    """What one migration pass did.

    Attributes:
        imported: keys of records new to the store.
        merged: keys of records the store had, to which attempts/job ids were added.
        results: keys whose result archive was imported.
        skipped: file name → why it was left in place.
    """

    imported: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def legacy_files(directory: Path) -> list[Path]:
    """The JSON-era record and result files in ``directory`` (hidden temporary files excluded).

    Example:
        >>> legacy_files(Path("/nonexistent"))
        []
    """
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.suffix in (".json", ".npz") and not p.name.startswith(".") and p.is_file())


def _parse_record(path: Path) -> dict:
    record = json.loads(path.read_text())
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    key = check_key(record.get("key"))
    if key != path.stem:
        raise ValueError(f"record key {key!r} does not match the file name")
    if not isinstance(record.get("attempts", []), list):
        raise ValueError("attempts is not a list")
    return record


def _row(conn: sqlite3.Connection, key: str) -> tuple | None:
    return conn.execute("SELECT attempts, job_ids FROM tasks WHERE key = ?", (key,)).fetchone()


def migrate_json_store(conn: sqlite3.Connection, directory: Path, now: float) -> MigrationReport:
    """Import the JSON-era files of ``directory`` through ``conn``; move them to the backup."""
    report = MigrationReport()
    files = legacy_files(directory)
    if not files:
        return report
    records: list[tuple[Path, dict]] = []
    payloads: dict[str, tuple[Path, bytes, float]] = {}
    for path in files:
        try:
            if path.suffix == ".json":
                records.append((path, _parse_record(path)))
            else:
                mtime = path.stat().st_mtime
                data = path.read_bytes()
                if payload_format(data) != FORMAT_PRIMITIVE:
                    raise ValueError("not a PrimitiveResult archive")
                payloads[check_key(path.stem)] = (path, data, mtime)
        except FileNotFoundError:  # moved by another process migrating at the same time
            continue
        except (OSError, ValueError, TypeError) as exc:
            report.skipped[path.name] = f"{type(exc).__name__}: {exc}"
    with transaction(conn):
        for path, record in records:
            key = record["key"]
            attempts = clean_attempts(record.get("attempts", []))
            row = _row(conn, key)
            if row is None:
                meta = clean_meta({k: v for k, v in record.items() if k not in RESERVED})
                meta["migrated"] = {"from": "json", "version": record.get("version"),
                                    "file": path.name, "at": now}
                status = record.get("status")
                if status not in STATUSES:
                    meta["legacy_status"] = status
                    status = "new"
                attempts, job_ids = merge_attempts([], [], attempts)
                conn.execute(
                    "INSERT INTO tasks (key, kind, state, meta, attempts, job_ids, created, "
                    "updated) VALUES (?, 'runtime', ?, ?, ?, ?, ?, ?)",
                    (key, status, json.dumps(meta), json.dumps(attempts), json.dumps(job_ids),
                     float(record.get("created", now)), float(record.get("updated", now))))
                report.imported.append(key)
            else:
                stored, stored_ids = json.loads(row[0]), json.loads(row[1])
                merged, job_ids = merge_attempts(attempts, stored_ids, stored)
                if job_ids != stored_ids or merged != stored:
                    conn.execute("UPDATE tasks SET attempts = ?, job_ids = ? WHERE key = ?",
                                 (json.dumps(merged), json.dumps(job_ids), key))
                    report.merged.append(key)
        for key, (_path, data, mtime) in payloads.items():
            cur = conn.execute("INSERT OR IGNORE INTO results (key, format, data, created) "
                               "VALUES (?, ?, ?, ?)", (key, FORMAT_PRIMITIVE, data, mtime))
            if cur.rowcount:
                report.results.append(key)
    backup = directory / LEGACY_BACKUP_DIR
    backup.mkdir(exist_ok=True)
    moved = [p for p, _ in records] + [p for p, _, _ in payloads.values()]
    for path in moved:
        target = backup / path.name
        n = 1
        while target.exists():
            target = backup / f"{path.name}.{n}"
            n += 1
        try:
            os.replace(path, target)
        except FileNotFoundError:  # another process migrating at the same time moved it
            pass
    for name, reason in report.skipped.items():
        logger.warning("job store %s: left %s in place, not a job record (%s)", directory, name,
                       reason)
    if report.imported or report.merged or report.results:
        logger.info("job store %s: imported %d JSON records (%d merged, %d results); originals "
                    "kept in %s", directory, len(report.imported), len(report.merged),
                    len(report.results), backup)
    return report
