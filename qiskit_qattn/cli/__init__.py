"""The ``qattn`` command line: ``demo``, ``transpile``, ``run`` and ``bench``, one module each.

``qattn demo`` runs the main job; ``qattn transpile`` compiles a QPY/OpenQASM 3 file or a built-in
attention head for a device and writes a report and the compiled circuits; ``qattn run`` estimates
a head's attention on a fake device (local testing mode) or IBM hardware through Runtime, with a
cost preview and a resumable job store; ``qattn bench`` sweeps head sizes and families and reports
circuit cost and accuracy; ``qattn resources`` estimates what a head needs from hardware
(logical and fault-tolerant resources, shots, noise thresholds); ``qattn jobs`` lists, shows,
cancels and forgets the tasks of a job store. Every command takes ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import bench, demo, jobs, resources, run, transpile
from ._common import EXIT_USAGE, CliError

__all__ = ["CliError", "build_parser", "main"]

#: Command modules, each with ``add_parser(subparsers)``.
COMMANDS = (demo, transpile, run, bench, resources, jobs)


def build_parser() -> argparse.ArgumentParser:
    """The ``qattn`` argument parser."""
    parser = argparse.ArgumentParser(prog="qattn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
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
        # Device/job failures (no account, retries exhausted, timeout with its job id).
        print(f"qattn {args.command}: failed: {exc}", file=sys.stderr)
        return 1
