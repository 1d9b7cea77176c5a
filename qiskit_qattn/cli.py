"""The ``qattn`` command line: ``qattn demo`` runs the main job."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


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


def build_parser() -> argparse.ArgumentParser:
    """The ``qattn`` argument parser."""
    parser = argparse.ArgumentParser(prog="qattn", description=__doc__)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qattn`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
