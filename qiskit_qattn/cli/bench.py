"""``qattn bench``: circuit cost and accuracy of every family across head sizes on a device."""

from __future__ import annotations

import argparse
import time

from ._common import command_line, emit_json, progress_bar


def add_parser(sub) -> None:
    """Register ``qattn bench``."""
    from ..circuits import FAMILY_NAMES

    p = sub.add_parser("bench", help="circuit cost and accuracy across head sizes")
    p.add_argument("--device", default="fake_torino")
    p.add_argument("--queries", type=int, default=4)
    p.add_argument("--families", nargs="+", choices=FAMILY_NAMES, default=list(FAMILY_NAMES),
                   help="families to compare (default: all)")
    p.add_argument("-O", "--opt-level", type=int, choices=(0, 1, 2, 3), default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="4 and 8 keys only")
    p.add_argument("--json", action="store_true", help="print rows as JSON")
    p.add_argument("--results-md", default=None, help="also write the table to this file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compile and estimate every family at every size."""
    import numpy as np

    from ..attention import estimate_attention, exact_attention
    from ..circuits import prepare_head
    from ..passes import compile_circuits
    from ..runtime import resolve_device
    from ..viz import circuit_report, markdown_table, text_table, update_results_section

    device = resolve_device(args.device)
    sizes = [4, 8] if args.quick else [4, 8, 16, 32]
    rng = np.random.default_rng(args.seed)
    rows = []
    with progress_bar(len(sizes) * len(args.families), "bench", args.json) as bar:
        for n in sizes:
            q = rng.normal(size=(args.queries, 16))
            k = rng.normal(size=(n, 16))
            v = rng.normal(size=(n, 2))
            exact = exact_attention(q, k, v)
            for family in args.families:
                t0 = time.perf_counter()
                head = prepare_head(q, k, v, family=family)
                compiled = compile_circuits(head.circuits, device,
                                            optimization_level=args.opt_level, seed_transpiler=0)
                t1 = time.perf_counter()
                reports = [circuit_report(c) for c in compiled]
                est = estimate_attention(q, k, v, family=family)
                rows.append({
                    "keys": n, "family": family, "key_qubits": head.num_qubits,
                    "two_qubit_gates": float(np.mean([r["two_qubit_gates"] for r in reports])),
                    "depth": float(np.mean([r["depth"] for r in reports])),
                    "compile_seconds_per_circuit": (t1 - t0) / len(compiled),
                    "relative_error": est.relative_error(exact),
                })
                bar.update(1)
    headers = ("keys", "family", "key qubits", "2q gates", "depth", "compile s/circuit",
               "rel. error (statevector)")
    table = [[r["keys"], r["family"], r["key_qubits"], f"{r['two_qubit_gates']:.1f}",
              f"{r['depth']:.1f}", f"{r['compile_seconds_per_circuit']:.3f}",
              f"{100 * r['relative_error']:.2f}%"] for r in rows]
    if args.results_md:
        body = (f"## qattn bench: circuit cost and accuracy by head size ({device.name})\n\n"
                f"Command: `{command_line('bench')}`\n\n" + markdown_table(headers, table))
        update_results_section(args.results_md, "cli-bench", body)
    if args.json:
        emit_json({"device": device.name, "rows": rows})
    else:
        print(f"{args.queries} random queries per head, compiled for {device.name} "
              f"(optimization_level={args.opt_level}); error of exact-probability estimates")
        print(text_table(headers, table))
    return 0
