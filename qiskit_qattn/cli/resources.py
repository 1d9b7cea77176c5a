"""``qattn resources``: what one attention head needs from quantum hardware.

Prints, for one head (real MiniLM attention by default) and one circuit family: key/ancilla
qubits, compiled two-qubit gates, depth and duration on a device, rotation and T-counts after
Clifford+T synthesis, shots for a target output error (ideal and under the device's noise),
physical fault-tolerant estimates from the Microsoft QDK (surface and floquet codes, standard
qubit models) and surface-code memory experiments on the device's noise with the code distance
the head needs. Every table states its assumptions; ``--json`` prints everything as JSON.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``resources`` subcommand to ``qattn``'s subparsers.

    Example:
        >>> parser = argparse.ArgumentParser(prog="qattn")
        >>> p = add_parser(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["resources", "--keys", "8"]).keys
        8
    """
    p = subparsers.add_parser(
        "resources", help="hardware readiness of one head: logical, shots, QDK physical, "
        "surface code", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    # Checked when the command runs (resources._pipeline.check_family), so that building the
    # parser imports nothing heavy.
    p.add_argument("--family", default="softmax_state",
                   help="circuit family: softmax_state (default), qaoa, ma_qaoa, warm_start, "
                   "amplification or born_machine")
    p.add_argument("--keys", type=int, default=8, help="keys n >= 2 (default 8)")
    p.add_argument("--queries", type=int, default=4, help="query circuits (default 4)")
    p.add_argument("--value-columns", type=int, default=4, help="value columns d_v (default 4)")
    p.add_argument("--device", default="fake_torino",
                   help="device to compile for and take noise from, or 'none' (default "
                   "fake_torino)")
    p.add_argument("--precision", type=float, default=1e-3,
                   help="per-rotation Clifford+T synthesis error (default 1e-3)")
    p.add_argument("--target-error", type=float, default=0.1,
                   help="relative output error the shot counts aim at (default 0.1)")
    p.add_argument("--error-budget", type=float, default=1e-3,
                   help="QDK error budget of one circuit execution (default 1e-3)")
    p.add_argument("--seeds", type=int, default=3, help="transpiler seeds, best kept (default 3)")
    p.add_argument("--no-physical", action="store_true", help="skip the QDK estimates")
    p.add_argument("--no-surface-code", action="store_true",
                   help="skip the stim surface-code memory experiments")
    p.add_argument("--no-device-noise", action="store_true",
                   help="skip the shots estimate under the device's noise")
    p.add_argument("--surface-shots", type=int, default=20_000,
                   help="shots per code distance (default 20000)")
    p.add_argument("--random", action="store_true",
                   help="seeded random head instead of real MiniLM attention")
    p.add_argument("--layer", type=int, default=2, help="MiniLM layer (default 2)")
    p.add_argument("--head", type=int, default=4, help="MiniLM head (default 4)")
    p.add_argument("--seed", type=int, default=7, help="random head and sampling seed")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)
    return p


def _check_args(args: argparse.Namespace) -> None:
    from ..resources import _pipeline, check_num_keys, check_precision
    from ..resources.shots import check_target_error

    _pipeline.check_family(args.family)
    check_num_keys(args.keys, "--keys")
    check_precision(args.precision)
    check_target_error(args.target_error)
    for name in ("queries", "value_columns", "seeds", "surface_shots"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1; got "
                             f"{getattr(args, name)}")
    if not 0 < args.error_budget < 1:
        raise ValueError(f"--error-budget must be in (0, 1); got {args.error_budget}")


def _head(args: argparse.Namespace):
    import numpy as np

    from ..resources import _pipeline

    if args.random:
        rng = np.random.default_rng(args.seed)
        d = 16
        return (rng.normal(size=(args.queries, d)), rng.normal(size=(args.keys, d)),
                rng.normal(size=(args.keys, args.value_columns)), None,
                f"random head (seed {args.seed})")
    if args.keys > 510:
        raise ValueError(f"--keys must be <= 510 for a MiniLM head (512 tokens); got "
                         f"{args.keys}; use --random for larger heads")
    q, k, v, scale, source = _pipeline.minilm_head(
        args.keys, num_queries=args.queries, value_columns=args.value_columns,
        layer=args.layer, head=args.head)
    return q, k, v, scale, source


def run(args: argparse.Namespace) -> int:
    """Build and print the report (``--json``: as JSON)."""
    from ..resources import resource_report

    _check_args(args)
    device = None if str(args.device).lower() == "none" else args.device
    q, k, v, scale, source = _head(args)
    try:
        report = resource_report(
            q, k, v, args.family, device=device, source=source, precision=args.precision,
            target_error=args.target_error, error_budget=args.error_budget,
            seeds=tuple(range(args.seeds)), physical=not args.no_physical,
            surface_code=not args.no_surface_code, device_noise=not args.no_device_noise,
            surface_shots=args.surface_shots, scale=scale, seed=args.seed,
        )
    except ImportError as exc:  # the optional extra is missing: say how to get it
        raise RuntimeError(
            f"{exc}; install the extra with pip install 'qiskit-qattn[resources]' (QDK, stim, "
            "sinter, PyMatching) or skip those tables with --no-physical / --no-surface-code"
        ) from exc
    if args.json:
        print(json.dumps(jsonable(report.as_dict()), indent=2, allow_nan=False))
    else:
        print(report.text())
    return 0


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays as Python values and inf/nan as strings (strict JSON).

    Example:
        >>> jsonable({"a": float("inf"), 3: [1.5]})
        {'a': 'inf', '3': [1.5]}
    """
    import math

    import numpy as np

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
