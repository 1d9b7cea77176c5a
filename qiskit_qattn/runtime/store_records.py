"""Job-store records as plain dicts: states, keys, and the merge that never drops a job id.

A record (what :meth:`JobStore.get` returns) is the task's metadata (label, backend, options...)
at the top level plus the reserved fields ``version``, ``key``, ``kind``, ``status``,
``created``, ``updated``, ``attempts`` (one dict per submission or computation, each with
``job_id`` and ``status``), ``job_ids`` (every job id ever recorded, in order), ``claim`` (the
current holder or ``None``) and ``result`` (format and size of the stored result, or ``None``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .secrets import redact, scrub

#: Task states. Runtime tasks: new → submitting (written *before* the submission) → submitted
#: (job id known) → done | failed; sweep units: new → done | failed. ``cancelled``: by the user.
STATUSES = ("new", "submitting", "submitted", "done", "failed", "cancelled")
#: ``runtime``: a Runtime job (ResumableRunner); ``unit``: any other unit of work (sweeps).
KINDS = ("runtime", "unit")
#: Attempt states that mean work may still be going on somewhere.
IN_FLIGHT = ("submitting", "submitted", "running")
RECORD_VERSION = 2
RESERVED = frozenset({"version", "key", "kind", "status", "created", "updated", "attempts",
                      "job_ids", "claim", "result"})
MAX_KEY_LENGTH = 256


def check_key(key: Any) -> str:
    """``key`` if it is a valid store key (``[A-Za-z0-9_-]``, 1-256 characters).

    Example:
        >>> check_key("a1-b_2")
        'a1-b_2'
    """
    if (not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH
            or not all(c.isascii() and (c.isalnum() or c in "-_") for c in key)):
        raise ValueError(f"job-store key must be a non-empty [A-Za-z0-9_-] string of at most "
                         f"{MAX_KEY_LENGTH} characters; got {key!r}")
    return key


def check_status(status: Any) -> str:
    """``status`` if it is one of :data:`STATUSES`."""
    if status not in STATUSES:
        raise ValueError(f"record status must be one of {STATUSES}; got {status!r}")
    return status


def check_kind(kind: Any) -> str:
    """``kind`` if it is one of :data:`KINDS`."""
    if kind not in KINDS:
        raise ValueError(f"task kind must be one of {KINDS}; got {kind!r}")
    return kind


def clean_meta(meta: Mapping[str, Any] | None) -> dict:
    """Scrubbed copy of a task's metadata (no reserved field names, no credentials).

    Example:
        >>> clean_meta({"label": "h", "options": {"token": "x", "shots": 3}})
        {'label': 'h', 'options': {'shots': 3}}
    """
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a mapping; got {type(meta).__name__}")
    clash = sorted(RESERVED.intersection(map(str, meta)))
    if clash:
        raise ValueError(f"meta must not use the record's reserved field names {clash}")
    return scrub(dict(meta))


def clean_attempts(attempts: Iterable[Mapping[str, Any]],
                   known: Iterable[Mapping[str, Any]] = ()) -> list[dict]:
    """JSON-safe copies of ``attempts`` with every error text redacted.

    Attempts equal to one in ``known`` (already cleaned, e.g. as read from the store) are
    taken as they are, which keeps an update of a long record cheap.
    """
    known = list(known)
    out = []
    for attempt in attempts:
        if not isinstance(attempt, Mapping):
            raise TypeError(f"each attempt must be a dict; got {type(attempt).__name__}")
        if attempt in known:
            out.append(dict(attempt))
            continue
        item = scrub(dict(attempt))
        if item.get("error") is not None:
            item["error"] = redact(item["error"])
        out.append(item)
    return out


def merge_attempts(stored: list[dict], stored_job_ids: list[str],
                   new: list[dict]) -> tuple[list[dict], list[str]]:
    """``new`` attempts plus every stored attempt whose job id ``new`` lacks; all job ids.

    This is what makes a record impossible to lose: whoever writes, an attempt that carries a job
    id is kept (marked ``restored``) and ``job_ids`` only ever grows.

    Example:
        >>> attempts, job_ids = merge_attempts([{"job_id": "a", "status": "failed"}], ["a"],
        ...                                    [{"job_id": "b", "status": "done"}])
        >>> [(a["job_id"], a.get("restored", False)) for a in attempts], job_ids
        ([('b', False), ('a', True)], ['a', 'b'])
    """
    present = {a.get("job_id") for a in new if a.get("job_id")}
    restored = [dict(a, restored=True) for a in stored
                if a.get("job_id") and a["job_id"] not in present]
    attempts = list(new) + restored
    job_ids = list(stored_job_ids)
    for attempt in attempts:
        job_id = attempt.get("job_id")
        if job_id and job_id not in job_ids:
            job_ids.append(job_id)
    return attempts, job_ids
