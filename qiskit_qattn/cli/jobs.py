"""``qattn jobs``: see what a job store holds — what ran, what is running, what was paid for.

    qattn jobs list   [--status S] [--kind K]   every task: status, job ids, holder, age
    qattn jobs show   KEY                       one task in full: attempts, errors, options
    qattn jobs cancel KEY [--store-only]        cancel its IBM jobs and mark it cancelled
    qattn jobs forget KEY... [--force]          delete records (refused while work may run)

Every action takes ``--store DIR`` (default ``$QATTN_JOB_STORE`` or
``~/.cache/qiskit-qattn/jobs``) and ``--json``. KEY may be any unique prefix of a store key.
Cancelling IBM jobs uses the account saved on this machine (``QiskitRuntimeService()``); qattn
never asks for, prints or stores a token.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

# Nothing heavy at import time: `qattn --help` must stay quick (the store pulls in Qiskit).

TAG_PREFIX = "qattn-"  # the tag ResumableRunner gives every job (runtime.jobs.TAG_PREFIX)
FINAL_JOB_STATES = ("DONE", "ERROR", "CANCELLED", "FAILED")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``qattn jobs`` on the ``qattn`` sub-command parsers.

    Example:
        >>> parser = argparse.ArgumentParser(prog="qattn")
        >>> _ = add_parser(parser.add_subparsers(dest="command"))
        >>> args = parser.parse_args(["jobs", "show", "ab12", "--json", "--store", "/tmp/s"])
        >>> args.key, args.json, args.store
        ('ab12', True, '/tmp/s')
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", default=None, help="job-store directory (default "
                        "$QATTN_JOB_STORE or ~/.cache/qiskit-qattn/jobs)")
    common.add_argument("--json", action="store_true", help="print JSON")
    jobs = subparsers.add_parser("jobs", help="list, show, cancel or forget tasks in a job store",
                                 description=__doc__.replace("``", ""),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = jobs.add_subparsers(dest="jobs_action", required=True)

    ls = actions.add_parser("list", parents=[common], help="every task in the store")
    ls.add_argument("--status", default=None,
                    help="only this status (new, submitting, submitted, done, failed, cancelled)")
    ls.add_argument("--kind", default=None, help="only this kind (runtime or unit)")
    ls.set_defaults(func=_list)

    show = actions.add_parser("show", parents=[common], help="one task in full")
    show.add_argument("key", help="store key or a unique prefix")
    show.set_defaults(func=_show)

    cancel = actions.add_parser("cancel", parents=[common],
                                help="cancel a task's unfinished IBM jobs; mark it cancelled")
    cancel.add_argument("key", help="store key or a unique prefix")
    cancel.add_argument("--store-only", action="store_true",
                        help="only mark the task cancelled; do not contact IBM Quantum")
    cancel.set_defaults(func=_cancel)

    forget = actions.add_parser("forget", parents=[common], help="delete tasks and results")
    forget.add_argument("keys", nargs="+", metavar="KEY", help="store keys or unique prefixes")
    forget.add_argument("--force", action="store_true",
                        help="also forget tasks that are held or may have a job running")
    forget.set_defaults(func=_forget)
    return jobs


# -- helpers --------------------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> Any:
    from ..runtime.store import JobStore

    return JobStore(args.store) if args.store else JobStore()


def _emit(payload: Any) -> None:
    print(json.dumps(payload, indent=1, sort_keys=True, default=str))


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _with_holder(record: dict) -> dict:
    """The record with its claim's ``state``: alive / dead / expired / unknown."""
    from ..runtime.claims import claim_state

    claim = record.get("claim")
    return dict(record, claim=None if claim is None else {**claim, "state": claim_state(claim)})


def _short(text: Any, width: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- actions --------------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    store = _store(args)
    records = [_with_holder(r) for r in store.records(kind=args.kind, status=args.status)]
    if args.json:
        _emit({"store": store.describe(), "tasks": records})
        return 0
    info = store.describe()
    where = f"{info['directory']} ({info['filesystem'] or 'unknown filesystem'}"
    where += ", network filesystem)" if info["network_filesystem"] else ")"
    print(f"job store {where}: {len(records)} task(s)")
    if not records:
        return 0
    rows = []
    for r in records:
        holder = r["claim"]
        rows.append([
            r["key"][:12], r["kind"], r["status"], _short(r.get("label"), 28),
            r.get("device", r.get("backend", "-")), len(r["attempts"]),
            _short(", ".join(r["job_ids"]) or "-", 40),
            f"{holder['holder']} ({holder['state']})" if holder else "-",
            _when(r["updated"]),
        ])
    print(_table(["key", "kind", "status", "label", "device", "attempts", "job ids", "held by",
                  "updated"], rows))
    return 0


def _show(args: argparse.Namespace) -> int:
    store = _store(args)
    record = _with_holder(store.get(store.resolve(args.key)))
    if args.json:
        _emit(record)
        return 0
    reserved = ("key", "kind", "status", "created", "updated", "attempts", "job_ids", "claim",
                "result", "version")
    print(f"key:      {record['key']}")
    print(f"kind:     {record['kind']}")
    print(f"status:   {record['status']}")
    print(f"created:  {_when(record['created'])}    updated: {_when(record['updated'])}")
    holder = record["claim"]
    print("held by:  " + (f"{holder['holder']} ({holder['state']}, lease until "
                          f"{_when(holder['lease_until'])})" if holder else "-"))
    result = record["result"]
    print("result:   " + (f"{result['format']}, {result['bytes']} bytes" if result else "-"))
    print(f"job ids:  {', '.join(record['job_ids']) or '-'}")
    meta = {name: value for name, value in record.items() if name not in reserved}
    if meta:
        print("metadata:")
        for name, value in meta.items():
            print(f"  {name}: {json.dumps(value, default=str)}")
    if record["attempts"]:
        print()
        rows = [[a.get("n", i + 1), a.get("job_id") or "-", a.get("status"), a.get("by", "-"),
                 _when(a.get("submitted_at") or a.get("started_at")),
                 _short(a.get("error") or "", 60)] for i, a in enumerate(record["attempts"])]
        print(_table(["#", "job id", "status", "by", "started", "error"], rows))
    return 0


def runtime_service() -> Any:
    """``QiskitRuntimeService()`` from the account saved here (tests replace this function)."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    return QiskitRuntimeService()


def _job_state(job: Any) -> str:
    status = job.status()
    return str(getattr(status, "name", status)).upper()


def _cancel_remote(record: dict) -> tuple[list[dict], str | None]:
    """Cancel the record's unfinished jobs on IBM Quantum: ``(per-job outcomes, error)``."""
    from ..runtime.secrets import redact
    from ..runtime.store_records import IN_FLIGHT

    wanted = [a["job_id"] for a in record["attempts"]
              if a.get("job_id") and a.get("status") in IN_FLIGHT]
    unsure = any(a.get("status") == "submitting" and not a.get("job_id")
                 for a in record["attempts"])
    try:
        service = runtime_service()
        if unsure:  # accepted before its id was recorded: find it by the task's tag
            for job in service.jobs(job_tags=[TAG_PREFIX + record["key"]], limit=20):
                if job.job_id() not in wanted:
                    wanted.append(job.job_id())
    except Exception as exc:
        return [], f"could not reach IBM Quantum ({type(exc).__name__}: {redact(exc)})"
    outcomes = []
    for job_id in wanted:
        try:
            job = service.job(job_id)
            if _job_state(job) in FINAL_JOB_STATES:
                outcomes.append({"job_id": job_id, "outcome": f"already {_job_state(job)}"})
                continue
            job.cancel()
            outcomes.append({"job_id": job_id, "outcome": "cancelled"})
        except Exception as exc:
            outcomes.append({"job_id": job_id,
                             "outcome": f"failed: {type(exc).__name__}: {redact(exc)}"})
    return outcomes, None


def _cancel(args: argparse.Namespace) -> int:
    store = _store(args)
    key = store.resolve(args.key)
    record = store.get(key)
    payload: dict[str, Any] = {"key": key, "jobs": [], "error": None}
    if record["status"] == "done":
        payload.update(status="done", note="already done; nothing to cancel")
    else:
        local = (record.get("mode") or {}).get("local", record["kind"] != "runtime")
        if local:
            payload["note"] = ("local work runs inside the process that holds it: that process "
                               "stops waiting; a local simulation in progress still finishes")
        elif args.store_only:
            payload["note"] = "IBM Quantum not contacted (--store-only)"
        else:
            payload["jobs"], payload["error"] = _cancel_remote(record)
        payload["status"] = store.cancel(key)["status"]
    failed = bool(payload["error"]) or any(j["outcome"].startswith("failed")
                                           for j in payload["jobs"])
    if args.json:
        _emit(payload)
    else:
        print(f"{key}: {payload['status']}")
        for job in payload["jobs"]:
            print(f"  job {job['job_id']}: {job['outcome']}")
        for note in (payload.get("note"), payload["error"]):
            if note:
                print(f"  {note}")
        if failed:
            print("  the job may still run on IBM Quantum: check it in the IBM Quantum "
                  "dashboard", file=sys.stderr)
    return 1 if failed else 0


def _forget(args: argparse.Namespace) -> int:
    store = _store(args)
    done, refused = [], []
    for prefix in args.keys:
        try:
            record = store.forget(store.resolve(prefix), force=args.force)
            done.append({"key": record["key"], "status": record["status"],
                         "job_ids": record["job_ids"]})
        except ValueError as exc:
            refused.append({"key": prefix, "reason": str(exc)})
    if args.json:
        _emit({"forgotten": done, "refused": refused})
    else:
        for item in done:
            ids = ", ".join(item["job_ids"]) or "no jobs"
            print(f"forgot {item['key']} ({item['status']}; {ids})")
        for item in refused:
            print(f"kept {item['key']}: {item['reason']}", file=sys.stderr)
    return 2 if refused else 0
