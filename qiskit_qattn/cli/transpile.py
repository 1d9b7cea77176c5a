"""``qattn transpile``: compile a circuit file or a built-in head for a device; report, write."""

from __future__ import annotations

import argparse
import time

from ._common import (
    CliError,
    add_family_options,
    add_head_options,
    emit_json,
    load_head,
    parse_family_options,
    progress_bar,
)


def add_parser(sub) -> None:
    """Register ``qattn transpile``."""
    p = sub.add_parser("transpile", help="compile a QPY/QASM3 file or a built-in attention "
                       "head for a device; report and write the result")
    p.add_argument("input", nargs="?", default=None,
                   help=".qpy or .qasm/.qasm3 file (default: build an attention head)")
    add_family_options(p, default="qaoa")
    add_head_options(p)
    p.add_argument("--device", default="fake_torino")
    p.add_argument("-O", "--opt-level", type=int, choices=(0, 1, 2, 3), default=3)
    p.add_argument("--optimization-method", default=None,
                   help="preset optimization-stage plugin, e.g. qattn")
    p.add_argument("--init-method", default=None, help="preset init-stage plugin, e.g. qattn")
    p.add_argument("-o", "--output", default=None, help="write compiled circuits (.qpy/.qasm)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compile and report."""
    from ..interop import load_circuits, save_circuits
    from ..passes import compile_circuits
    from ..runtime import resolve_device
    from ..viz import circuit_report, text_table

    if args.input:
        circuits = load_circuits(args.input)
        source = args.input
    else:
        from ..circuits import prepare_head

        q, k, v, scale, source = load_head(args)
        head = prepare_head(q, k, v, family=args.family, scale=scale,
                            **parse_family_options(args.family_option))
        circuits = head.circuits
        source = f"{args.family} circuits of {source}"
    device = resolve_device(args.device)
    opts = {}
    if args.optimization_method:
        opts["optimization_method"] = args.optimization_method
    if args.init_method:
        opts["init_method"] = args.init_method
    compiled = []
    start = time.perf_counter()
    with progress_bar(len(circuits), "compiling", args.json) as bar:
        for qc in circuits:
            try:
                compiled += compile_circuits(qc, device, optimization_level=args.opt_level,
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
    report = {"source": source, "device": device.name, "optimization_level": args.opt_level,
              "optimization_method": args.optimization_method,
              "init_method": args.init_method, "circuits": rows,
              "compile_seconds": seconds, "outputs": []}
    if args.output:
        report["outputs"] = [str(p) for p in save_circuits(compiled, args.output)]
    if args.json:
        emit_json(report)
        return 0
    print(f"{source} -> {device.name} (optimization_level={args.opt_level}"
          + (f", optimization_method={args.optimization_method}" if args.optimization_method
             else "") + f") in {seconds:.2f} s")
    headers = ("#", "name", "logical qubits", "active qubits", "2q gates", "depth", "2q depth")
    print(text_table(headers, [[r["index"], r["name"], r["logical_qubits"], r["qubits"],
                                r["two_qubit_gates"], r["depth"], r["two_qubit_depth"]]
                               for r in rows]))
    for path in report["outputs"]:
        print(f"wrote {path}")
    return 0
