"""``qattn demo``: the main job on a real MiniLM head (see :mod:`qiskit_qattn.demo`)."""

from __future__ import annotations

import argparse
import json

from ._common import command_line


def add_parser(sub) -> None:
    """Register ``qattn demo``."""
    p = sub.add_parser("demo", help="run the main job on a real MiniLM attention head")
    p.add_argument("--layer", type=int, default=2)
    p.add_argument("--head", type=int, default=4)
    p.add_argument("--keys", type=int, default=16, help="keys (8-16 keep it quick)")
    p.add_argument("--queries", type=int, default=8)
    p.add_argument("--shots", type=int, default=8192)
    p.add_argument("--device", default="fake_torino", help="fake_<name> device (default "
                   "fake_torino)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--png", default="qattn_demo.png", help="heat-map output path")
    p.add_argument("--no-runtime", action="store_true", help="skip Runtime local mode")
    p.add_argument("--json", action="store_true", help="print rows as JSON")
    p.add_argument("--results-md", default=None, help="also write the table to this file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo and print its table."""
    from ..demo import DemoConfig, run_demo
    from ..viz import markdown_table, text_table, update_results_section

    config = DemoConfig(
        layer=args.layer, head=args.head, num_keys=args.keys, num_queries=args.queries,
        shots=args.shots, device=args.device, runtime=not args.no_runtime, png=args.png,
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
        body = (
            "## Demo: real MiniLM head through the pipeline\n\n"
            f"Command: `{command_line('demo')}`\n\n"
            + markdown_table(result.HEADERS, result.table_rows())
        )
        update_results_section(args.results_md, "demo", body)
    return 0
