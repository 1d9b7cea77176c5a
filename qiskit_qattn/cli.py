"""The ``qattn`` command line: ``demo``, ``transpile``, ``run`` and ``bench``.

``qattn demo`` runs the main job; ``qattn transpile`` compiles a QPY/OpenQASM 3 file or a built-in
attention head for a device and writes a report and the compiled circuits; ``qattn run`` estimates
a head's attention on a fake device (local testing mode) or IBM hardware through Runtime, with a
cost preview and a resumable job store; ``qattn bench`` sweeps head sizes and reports circuit cost
and accuracy. Every command takes ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from .cli_jobs import add_parser as add_jobs_parser

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


# ---------------------------------------------------------------------------------------------
# helpers


def _progress_bar(total: int, desc: str, quiet: bool):
    """A tqdm bar on stderr (a no-op object when quiet)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=quiet, file=sys.stderr, leave=False)


def _say(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "json", False):
        print(message, flush=True)


def _emit_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return str(value)


def _head(args: argparse.Namespace):
    """``(Q, K, V, scale, source)``: a real MiniLM head, or a seeded random one."""
    import numpy as np

    if getattr(args, "random", False):
        rng = np.random.default_rng(args.seed)
        d = 16
        q = rng.normal(size=(args.queries, d))
        k = rng.normal(size=(args.keys, d))
        v = rng.normal(size=(args.keys, args.value_columns))
        return q, k, v, None, f"random head (seed {args.seed})"
    from .demo import DemoConfig, load_demo_head

    config = DemoConfig(layer=args.layer, head=args.head, num_keys=args.keys,
                        num_queries=args.queries, value_columns=args.value_columns)
    q, k, v, _tokens, scale = load_demo_head(config)
    return q, k, v, scale, f"MiniLM layer {args.layer} head {args.head}"


def _add_head_options(p: argparse.ArgumentParser, keys: int = 8, queries: int = 4) -> None:
    p.add_argument("--random", action="store_true",
                   help="seeded random head instead of real MiniLM attention")
    p.add_argument("--layer", type=int, default=2, help="MiniLM layer (default 2)")
    p.add_argument("--head", type=int, default=4, help="MiniLM head (default 4)")
    p.add_argument("--keys", type=int, default=keys, help=f"keys (default {keys})")
    p.add_argument("--queries", type=int, default=queries, help=f"queries (default {queries})")
    p.add_argument("--value-columns", type=int, default=2, help="value columns d_v (default 2)")
    p.add_argument("--seed", type=int, default=7)


# ---------------------------------------------------------------------------------------------
# demo


def _demo(args: argparse.Namespace) -> int:
    from .demo import DemoConfig, run_demo
    from .viz import markdown_table, text_table, update_results_section

    config = DemoConfig(
        layer=args.layer, head=args.head, num_keys=args.keys, num_queries=args.queries,
        shots=args.shots, backend=args.backend, runtime=not args.no_runtime, png=args.png,
        seed=args.seed,
    )
    progress = (lambda _msg: None) if args.json else (lambda msg: print(msg, flush=True))
    result = run_demo(config, progress=progress)
    if args.json:
        print(json.dumps([r.__dict__ for r in result.rows], indent=2))
    else:
        print()
        print(text_table(result.HEADERS, result.table_rows()))
        print(f"\nheat map: {result.png}")
    if args.results_md:
        command = "qattn demo " + " ".join(sys.argv[2:]) if len(sys.argv) > 1 else "qattn demo"
        body = (
            f"## Demo: real MiniLM head through the pipeline\n\nCommand: `{command.strip()}`\n\n"
            + markdown_table(result.HEADERS, result.table_rows())
        )
        update_results_section(args.results_md, "demo", body)
    return 0


# ---------------------------------------------------------------------------------------------
# transpile


def _transpile(args: argparse.Namespace) -> int:
    from .interop import load_circuits, save_circuits
    from .passes import compile_circuits
    from .runtime import resolve_backend
    from .viz import circuit_report, text_table

    if args.input:
        circuits = load_circuits(args.input)
        source = args.input
    else:
        from .circuits import attention_circuits

        q, k, v, scale, source = _head(args)
        opts = {"reps": args.reps} if args.method == "qaoa" else {}
        circuits = attention_circuits(q, k, v, method=args.method, scale=scale, **opts)
        source = f"{args.method} circuits of {source}"
    backend = resolve_backend(args.backend)
    opts = {}
    if args.optimization_method:
        opts["optimization_method"] = args.optimization_method
    if args.init_method:
        opts["init_method"] = args.init_method
    compiled = []
    start = time.perf_counter()
    with _progress_bar(len(circuits), "compiling", args.json) as bar:
        for qc in circuits:
            try:
                compiled += compile_circuits(qc, backend, optimization_level=args.opt_level,
                                             seed_transpiler=args.seed, **opts)
            except Exception as exc:
                if args.optimization_method and "plugin" in str(exc).lower():
                    raise CliError(f"--optimization-method {args.optimization_method!r} is not "
                                   f"an installed optimization plugin: {exc}") from exc
                if args.init_method and "plugin" in str(exc).lower():
                    raise CliError(f"--init-method {args.init_method!r} is not "
                                   f"an installed init plugin: {exc}") from exc
                raise
            bar.update(1)
    seconds = time.perf_counter() - start
    rows = []
    for i, (before, after) in enumerate(zip(circuits, compiled, strict=True)):
        b, a = circuit_report(before.decompose(reps=3)), circuit_report(after)
        rows.append({"index": i, "name": before.name, "logical_qubits": before.num_qubits,
                     "logical_two_qubit_gates": b["two_qubit_gates"], **a})
    report = {"source": source, "backend": backend.name, "optimization_level": args.opt_level,
              "optimization_method": args.optimization_method,
              "init_method": args.init_method, "circuits": rows,
              "compile_seconds": seconds, "outputs": []}
    if args.output:
        report["outputs"] = [str(p) for p in save_circuits(compiled, args.output)]
    if args.json:
        _emit_json(report)
        return 0
    print(f"{source} -> {backend.name} (optimization_level={args.opt_level}"
          + (f", optimization_method={args.optimization_method}" if args.optimization_method
             else "") + f") in {seconds:.2f} s")
    headers = ("#", "name", "logical qubits", "active qubits", "2q gates", "depth", "2q depth")
    print(text_table(headers, [[r["index"], r["name"], r["logical_qubits"], r["qubits"],
                                r["two_qubit_gates"], r["depth"], r["two_qubit_depth"]]
                               for r in rows]))
    for path in report["outputs"]:
        print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------------------------------
# run


def _confirm_factory(args: argparse.Namespace, local: bool, seen: list):
    def confirm(preview) -> bool:
        seen.append(preview)
        _say(args, f"cost preview: {preview.summary()}")
        if args.dry_run:
            return False
        if local or args.yes:
            return True
        if not sys.stdin.isatty():
            raise CliError("submitting to IBM hardware needs --yes (no terminal to confirm on)")
        return input("submit? [y/N] ").strip().lower() in ("y", "yes")

    return confirm


def _not_submitted(args: argparse.Namespace, previews: list) -> int:
    if args.json:
        _emit_json({"cost_preview": previews[-1].as_dict() if previews else None,
                    "submitted": False})
    else:
        print("not submitted")
    return 0


def _run(args: argparse.Namespace) -> int:
    import inspect

    import numpy as np

    from .attention import estimate_attention, exact_attention
    from .runtime import (
        JobStore,
        RetryPolicy,
        SubmissionDeclined,
        cost_preview,
        is_local_mode,
        pack_head,
        resolve_backend,
        run_head,
    )

    q, k, v, scale, source = _head(args)
    backend = resolve_backend(args.backend)
    local = is_local_mode(backend)
    exact = exact_attention(q, k, v, scale=scale)
    opts = {"reps": args.reps} if args.method == "qaoa" else {}
    _say(args, f"{source}: {q.shape[0]} queries x {k.shape[0]} keys on {backend.name} "
               f"({'local testing mode' if local else 'IBM Quantum'})")
    previews: list = []
    confirm = _confirm_factory(args, local, previews)

    if args.mitigation != "none":
        if "mitigation" not in inspect.signature(estimate_attention).parameters:
            raise CliError(f"--mitigation {args.mitigation!r} needs qiskit_qattn.mitigation, which "
                           "this installation does not provide; use --mitigation none")
        # The preview counts the unmitigated head; folds and calibration circuits add to it
        # (the mitigation report below gives the executed totals).
        _say(args, "cost preview below is before mitigation overhead")
        job = pack_head(q, k, v, backend=backend, method=args.method, shots=args.shots,
                        scale=scale, **opts)
        if not confirm(cost_preview(job.task, backend)):
            return _not_submitted(args, previews)
        with _progress_bar(1, f"running with {args.mitigation}", args.json) as bar:
            est = estimate_attention(q, k, v, method=args.method, execution="runtime",
                                     backend=backend, shots=args.shots, scale=scale,
                                     seed=args.seed, mitigation=args.mitigation, **opts)
            bar.update(1)
        est.info.setdefault("cost_preview", previews[-1].as_dict())
    else:
        store = JobStore(args.store) if args.store else JobStore()
        try:
            with _progress_bar(1, "running", args.json) as bar:
                est = run_head(
                    q, k, v, mode=backend, method=args.method, primitive=args.primitive,
                    shots=args.shots, scale=scale, store=store, seed=args.seed,
                    timeout=args.timeout, retry=RetryPolicy(max_attempts=args.max_attempts),
                    confirm=confirm, **opts)
                bar.update(1)
        except SubmissionDeclined:
            return _not_submitted(args, previews)
    error = est.relative_error(exact)
    info = {key: val for key, val in est.info.items() if key != "folds"}
    payload = {"source": source, "backend": backend.name, "method": args.method,
               "mitigation": args.mitigation, "shots": args.shots, "relative_error": error,
               "values": est.values, "std_errors": est.std_errors, "exact": exact, "info": info}
    report = getattr(est, "mitigation", None)
    if report is not None:
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
        _emit_json(payload)
        return 0
    print(f"relative error vs exact softmax attention: {100 * error:.2f}%")
    if "mitigation_report" in payload:
        m = payload["mitigation_report"]
        print(f"without mitigation ({', '.join(m['techniques'])}): "
              f"{100 * m['unmitigated_relative_error']:.2f}%; {m['num_circuits']} circuits, "
              f"{m['total_shots']} shots in all")
    print(f"mean standard error: {float(np.mean(est.std_errors)):.4f}")
    for key in ("store_key", "job_ids", "attempts"):
        if key in info:
            print(f"{key}: {info[key]}")
    return 0


# ---------------------------------------------------------------------------------------------
# bench


def _bench(args: argparse.Namespace) -> int:
    import numpy as np

    from .attention import estimate_attention, exact_attention
    from .circuits import attention_circuits
    from .passes import compile_circuits
    from .runtime import resolve_backend
    from .viz import circuit_report, markdown_table, text_table, update_results_section

    backend = resolve_backend(args.backend)
    sizes = [4, 8] if args.quick else [4, 8, 16, 32]
    methods = ["softmax_state", "qaoa"]
    rng = np.random.default_rng(args.seed)
    rows = []
    with _progress_bar(len(sizes) * len(methods), "bench", args.json) as bar:
        for n in sizes:
            q = rng.normal(size=(args.queries, 16))
            k = rng.normal(size=(n, 16))
            v = rng.normal(size=(n, 2))
            exact = exact_attention(q, k, v)
            for method in methods:
                opts = {"reps": 2} if method == "qaoa" else {}
                t0 = time.perf_counter()
                circuits = attention_circuits(q, k, v, method=method, **opts)
                compiled = compile_circuits(circuits, backend, optimization_level=args.opt_level,
                                            seed_transpiler=0)
                t1 = time.perf_counter()
                reports = [circuit_report(c) for c in compiled]
                est = estimate_attention(q, k, v, method=method, **opts)
                rows.append({
                    "keys": n, "method": method, "key_qubits": circuits[0].num_qubits,
                    "two_qubit_gates": float(np.mean([r["two_qubit_gates"] for r in reports])),
                    "depth": float(np.mean([r["depth"] for r in reports])),
                    "compile_seconds_per_circuit": (t1 - t0) / len(circuits),
                    "relative_error": est.relative_error(exact),
                })
                bar.update(1)
    headers = ("keys", "method", "key qubits", "2q gates", "depth", "compile s/circuit",
               "rel. error (statevector)")
    table = [[r["keys"], r["method"], r["key_qubits"], f"{r['two_qubit_gates']:.1f}",
              f"{r['depth']:.1f}", f"{r['compile_seconds_per_circuit']:.3f}",
              f"{100 * r['relative_error']:.2f}%"] for r in rows]
    if args.results_md:
        command = "qattn bench " + " ".join(sys.argv[2:]) if len(sys.argv) > 1 else "qattn bench"
        body = (f"## qattn bench: circuit cost and accuracy by head size ({backend.name})\n\n"
                f"Command: `{command.strip()}`\n\n" + markdown_table(headers, table))
        update_results_section(args.results_md, "cli-bench", body)
    if args.json:
        _emit_json({"backend": backend.name, "rows": rows})
    else:
        print(f"{args.queries} random queries per head, compiled for {backend.name} "
              f"(optimization_level={args.opt_level}); error of exact-probability estimates")
        print(text_table(headers, table))
    return 0


# ---------------------------------------------------------------------------------------------
# parser


def build_parser() -> argparse.ArgumentParser:
    """The ``qattn`` argument parser."""
    parser = argparse.ArgumentParser(prog="qattn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the main job on a real MiniLM attention head")
    demo.add_argument("--layer", type=int, default=2)
    demo.add_argument("--head", type=int, default=4)
    demo.add_argument("--keys", type=int, default=16, help="keys (8-16 keep it quick)")
    demo.add_argument("--queries", type=int, default=8)
    demo.add_argument("--shots", type=int, default=8192)
    demo.add_argument("--backend", default="fake_torino")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--png", default="qattn_demo.png", help="heat-map output path")
    demo.add_argument("--no-runtime", action="store_true", help="skip Runtime local mode")
    demo.add_argument("--json", action="store_true", help="print rows as JSON")
    demo.add_argument("--results-md", default=None, help="also write the table to this file")
    demo.set_defaults(func=_demo)

    tr = sub.add_parser("transpile", help="compile a QPY/QASM3 file or a built-in attention "
                        "head for a device; report and write the result")
    tr.add_argument("input", nargs="?", default=None,
                    help=".qpy or .qasm/.qasm3 file (default: build an attention head)")
    tr.add_argument("--method", choices=("qaoa", "softmax_state"), default="qaoa",
                    help="built-in circuit family (without INPUT)")
    tr.add_argument("--reps", type=int, default=2, help="QAOA layers (default 2)")
    _add_head_options(tr)
    tr.add_argument("--backend", default="fake_torino")
    tr.add_argument("-O", "--opt-level", type=int, choices=(0, 1, 2, 3), default=3)
    tr.add_argument("--optimization-method", default=None,
                    help="preset optimization-stage plugin, e.g. qattn")
    tr.add_argument("--init-method", default=None,
                    help="preset init-stage plugin, e.g. qattn")
    tr.add_argument("-o", "--output", default=None, help="write compiled circuits (.qpy/.qasm)")
    tr.add_argument("--json", action="store_true", help="print the report as JSON")
    tr.set_defaults(func=_transpile)

    run = sub.add_parser("run", help="estimate a head's attention through Runtime "
                         "(fake_* = local testing mode, ibm_* = IBM hardware)")
    run.add_argument("--backend", default="fake_torino", help="fake_<name> or ibm_<name>")
    run.add_argument("--method", choices=("qaoa", "softmax_state"), default="qaoa")
    run.add_argument("--reps", type=int, default=2, help="QAOA layers (default 2)")
    run.add_argument("--primitive", choices=("sampler", "estimator"), default="sampler")
    run.add_argument("--shots", type=int, default=4096)
    run.add_argument("--mitigation", default="none",
                     help="error mitigation passed to estimate_attention (default none)")
    _add_head_options(run, keys=8, queries=4)
    run.add_argument("--store", default=None, help="job-store directory "
                     "(default $QATTN_JOB_STORE or ~/.cache/qiskit-qattn/jobs)")
    run.add_argument("--timeout", type=float, default=None, help="seconds to wait for the job")
    run.add_argument("--max-attempts", type=int, default=4, help="submissions before giving up")
    run.add_argument("--dry-run", action="store_true", help="print the cost preview only")
    run.add_argument("--yes", action="store_true", help="submit to IBM hardware without asking")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.set_defaults(func=_run)

    bench = sub.add_parser("bench", help="circuit cost and accuracy across head sizes")
    bench.add_argument("--backend", default="fake_torino")
    bench.add_argument("--queries", type=int, default=4)
    bench.add_argument("-O", "--opt-level", type=int, choices=(0, 1, 2, 3), default=3)
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--quick", action="store_true", help="4 and 8 keys only")
    bench.add_argument("--json", action="store_true", help="print rows as JSON")
    bench.add_argument("--results-md", default=None, help="also write the table to this file")
    bench.set_defaults(func=_bench)
    add_jobs_parser(sub)  # qattn jobs list|show|cancel|forget (cli_jobs.py)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qattn`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CliError, ValueError) as exc:
        # Bad input (ours or a library's validation): a message, not a traceback.
        print(f"qattn {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (RuntimeError, TimeoutError) as exc:
        # Backend/job failures (no account, retries exhausted, timeout with its job id).
        print(f"qattn {args.command}: failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
