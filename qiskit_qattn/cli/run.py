"""``qattn run``: one head through Qiskit Runtime (fake = local testing mode), resumable."""

from __future__ import annotations

import argparse
import sys

from ._common import (
    CliError,
    add_family_options,
    add_head_options,
    emit_json,
    load_head,
    parse_family_options,
    progress_bar,
    say,
)


def add_parser(sub) -> None:
    """Register ``qattn run``."""
    p = sub.add_parser("run", help="estimate a head's attention through Runtime "
                       "(fake_* = local testing mode, ibm_* = IBM hardware)")
    p.add_argument("--device", default="fake_torino", help="fake_<name> or ibm_<name>")
    add_family_options(p)
    p.add_argument("--primitive", choices=("sampler", "estimator"), default="sampler")
    p.add_argument("--shots", type=int, default=4096)
    p.add_argument("--mitigation", default="none",
                   help="error mitigation, e.g. zne+rem (default none); all folds and "
                        "calibration circuits go into the same resumable job")
    add_head_options(p, keys=8, queries=4)
    p.add_argument("--store", default=None, help="job-store directory "
                   "(default $QATTN_JOB_STORE or ~/.cache/qiskit-qattn/jobs)")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait for the job")
    p.add_argument("--max-attempts", type=int, default=4, help="submissions before giving up")
    p.add_argument("--dry-run", action="store_true", help="print the cost preview only")
    p.add_argument("--yes", action="store_true", help="submit to IBM hardware without asking")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def _confirm_factory(args: argparse.Namespace, local: bool, seen: list):
    def confirm(preview) -> bool:
        seen.append(preview)
        say(args, f"cost preview: {preview.summary()}")
        if args.dry_run:
            return False
        if local or args.yes:
            return True
        if not sys.stdin.isatty():
            raise CliError("submitting to IBM hardware needs --yes (no terminal to confirm on)")
        return input("submit? [y/N] ").strip().lower() in ("y", "yes")

    return confirm


def run(args: argparse.Namespace) -> int:
    """Run the head through ``run_head`` and report."""
    import numpy as np

    from ..attention import exact_attention, run_head
    from ..runtime import JobStore, RetryPolicy, SubmissionDeclined, is_local_mode, resolve_device

    q, k, v, scale, source = load_head(args)
    device = resolve_device(args.device)
    local = is_local_mode(device)
    exact = exact_attention(q, k, v, scale=scale)
    say(args, f"{source}: {q.shape[0]} queries x {k.shape[0]} keys on {device.name} "
              f"({'local testing mode' if local else 'IBM Quantum'}), family {args.family}")
    previews: list = []
    mitigation = None if args.mitigation == "none" else args.mitigation
    try:
        with progress_bar(1, "running", args.json) as bar:
            est = run_head(
                q, k, v, mode=device, family=args.family, primitive=args.primitive,
                shots=args.shots, scale=scale, mitigation=mitigation,
                store=JobStore(args.store) if args.store else JobStore(), seed=args.seed,
                timeout=args.timeout, retry=RetryPolicy(max_attempts=args.max_attempts),
                confirm=_confirm_factory(args, local, previews),
                **parse_family_options(args.family_option))
            bar.update(1)
    except SubmissionDeclined:
        if args.json:
            emit_json({"cost_preview": previews[-1].as_dict() if previews else None,
                       "submitted": False})
        else:
            print("not submitted")
        return 0
    error = est.relative_error(exact)
    payload = {"source": source, "device": device.name, "family": args.family,
               "mitigation": args.mitigation, "shots": args.shots, "relative_error": error,
               "values": est.values, "std_errors": est.std_errors, "exact": exact,
               "metadata": est.metadata}
    report = est.mitigation
    if report is not None and report.client_side:
        raw = np.asarray(report.unmitigated_values)
        payload["mitigation_report"] = {
            "techniques": list(report.techniques), "client_side": list(report.client_side),
            "server_side": list(report.server_side), "total_shots": int(report.total_shots),
            "num_circuits": int(report.num_circuits), "extrapolation": report.extrapolation,
            "unmitigated_relative_error": float(np.linalg.norm(raw - exact)
                                                / np.linalg.norm(exact)),
            "warnings": list(report.warnings),
        }
    if args.json:
        emit_json(payload)
        return 0
    print(f"relative error vs exact softmax attention: {100 * error:.2f}%")
    if "mitigation_report" in payload:
        m = payload["mitigation_report"]
        print(f"without mitigation ({', '.join(m['techniques'])}): "
              f"{100 * m['unmitigated_relative_error']:.2f}%; {m['num_circuits']} circuits, "
              f"{m['total_shots']} shots in all")
    print(f"mean standard error: {float(np.mean(est.std_errors)):.4f}")
    for key in ("store_key", "job_ids", "attempts"):
        if key in est.metadata:
            print(f"{key}: {est.metadata[key]}")
    return 0
