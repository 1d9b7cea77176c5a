"""What every ``qattn`` command shares: errors, output, progress, heads and family options."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


def progress_bar(total: int, desc: str, quiet: bool):
    """A tqdm bar on stderr (a no-op object when quiet)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=quiet, file=sys.stderr, leave=False)


def say(args: argparse.Namespace, message: str) -> None:
    """Print for people (silent with ``--json``)."""
    if not getattr(args, "json", False):
        print(message, flush=True)


def emit_json(payload: Any) -> None:
    """Print ``payload`` as JSON (numpy arrays and scalars converted)."""
    print(json.dumps(payload, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return str(value)


def parse_family_options(items: list[str] | None) -> dict[str, Any]:
    """``["reps=2", "window=1", "key_order=sorted"]`` -> ``{"reps": 2, ...}`` (JSON values).

    Example:
        >>> parse_family_options(["reps=2", "key_order=sorted", "gammas=[0.1, 0.2]"])
        {'reps': 2, 'key_order': 'sorted', 'gammas': [0.1, 0.2]}
    """
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise CliError(f"--family-option must look like NAME=VALUE; got {item!r}")
        name, raw = item.split("=", 1)
        try:
            out[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[name.strip()] = raw
    return out


def add_family_options(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--family`` (every registered family) and repeatable ``--family-option NAME=VALUE``."""
    from ..circuits import DEFAULT_FAMILY, FAMILIES

    default = default or DEFAULT_FAMILY
    lines = "; ".join(f"{name}: {f.summary}" for name, f in FAMILIES.items())
    p.add_argument("--family", choices=tuple(FAMILIES), default=default,
                   help=f"circuit family (default {default}). {lines}")
    p.add_argument("--family-option", action="append", metavar="NAME=VALUE",
                   help="builder option of the family, e.g. reps=2 or window=1 (repeatable)")


def add_head_options(p: argparse.ArgumentParser, keys: int = 8, queries: int = 4) -> None:
    """Options choosing the attention head (real MiniLM by default)."""
    p.add_argument("--random", action="store_true",
                   help="seeded random head instead of real MiniLM attention")
    p.add_argument("--layer", type=int, default=2, help="MiniLM layer (default 2)")
    p.add_argument("--head", type=int, default=4, help="MiniLM head (default 4)")
    p.add_argument("--keys", type=int, default=keys, help=f"keys (default {keys})")
    p.add_argument("--queries", type=int, default=queries, help=f"queries (default {queries})")
    p.add_argument("--value-columns", type=int, default=2, help="value columns d_v (default 2)")
    p.add_argument("--seed", type=int, default=7)


def load_head(args: argparse.Namespace):
    """``(Q, K, V, scale, source)``: a real MiniLM head, or a seeded random one."""
    import numpy as np

    if getattr(args, "random", False):
        rng = np.random.default_rng(args.seed)
        d = 16
        q = rng.normal(size=(args.queries, d))
        k = rng.normal(size=(args.keys, d))
        v = rng.normal(size=(args.keys, args.value_columns))
        return q, k, v, None, f"random head (seed {args.seed})"
    from ..demo import DemoConfig, load_demo_head

    config = DemoConfig(layer=args.layer, head=args.head, num_keys=args.keys,
                        num_queries=args.queries, value_columns=args.value_columns)
    q, k, v, _tokens, scale = load_demo_head(config)
    return q, k, v, scale, f"MiniLM layer {args.layer} head {args.head}"


def command_line(name: str) -> str:
    """The command as typed, for RESULTS.md sections."""
    args = " ".join(sys.argv[2:]) if len(sys.argv) > 1 else ""
    return f"qattn {name} {args}".strip()
