"""``qattn sweep``: a whole model's attention through circuits, on many workers, resumable.

Runs MiniLM (offline, pretrained) on real text — the Python Language Reference shipped with
Python, or ``--text FILE`` — and sends every selected head (default: all 6 layers x 12 heads)
through a circuit family and an execution: ``statevector`` (exact), ``shots`` (ideal, or the
device's noise with ``--device``; ``--mitigation zne+rem``), or ``runtime`` (Runtime's local
testing mode on a fake device). One head is one unit of work; units run on ``--workers N``
local workers (Dask by default; ``--engine processes|ray``) or on a running Dask cluster
(``--cluster tcp://host:8786``), and every result is written to the job store (``--store``) as
it arrives: running the same command again reads the finished heads and runs only the rest.
Prints a per-head table and writes a layer x head error heat map (``--png``).
"""

from __future__ import annotations

import argparse
from typing import Any

from ._common import (
    CliError,
    add_family_options,
    emit_json,
    parse_family_options,
    progress_bar,
    say,
)

# Nothing heavy at import time: `qattn --help` must stay quick.


def parse_indices(text: str, limit: int, name: str) -> list[int]:
    """``"all"``, ``"0-5"``, ``"0,2,4"`` or a mix (``"0-2,7"``) -> sorted unique indices.

    Example:
        >>> parse_indices("0-2,7", 12, "--heads"), parse_indices("all", 3, "--layers")
        ([0, 1, 2, 7], [0, 1, 2])
    """
    if text.strip().lower() == "all":
        return list(range(limit))
    out: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                out.update(range(lo, hi + 1))
            else:
                out.add(int(part))
    except ValueError:
        raise CliError(f"{name} must look like 'all', '0-5' or '0,2,4'; got {text!r}") from None
    bad = sorted(i for i in out if not 0 <= i < limit)
    if bad or not out:
        raise CliError(f"{name} must select indices in [0, {limit}); got {text!r}")
    return sorted(out)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``qattn sweep``.

    Example:
        >>> parser = argparse.ArgumentParser(prog="qattn")
        >>> _ = add_parser(parser.add_subparsers(dest="command"))
        >>> args = parser.parse_args(["sweep", "--workers", "2", "--layers", "0-1"])
        >>> args.workers, args.layers, args.execution, args.device
        (2, '0-1', 'shots', 'fake_torino')
    """
    p = sub.add_parser("sweep", help="a whole model's attention through circuits, on many "
                       "workers, resumable (Dask / process pool / Ray)",
                       description=__doc__.replace("``", ""),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_argument_group("what to run")
    what.add_argument("--text", default=None, metavar="FILE",
                      help="text file to run the model on (default: the Python Language "
                           "Reference shipped with Python)")
    what.add_argument("--offset", type=int, default=0,
                      help="where in the built-in text to start (characters)")
    what.add_argument("--layers", default="all", help="layers: all, 0-5 or 0,2 (default all)")
    what.add_argument("--heads", default="all", help="heads: all, 0-11 or 0,3 (default all)")
    what.add_argument("--keys", type=int, default=16, help="tokens per head (keys, default 16)")
    what.add_argument("--queries", type=int, default=8,
                      help="queries per head, the first of the keys (default 8; 0 = all)")
    what.add_argument("--value-columns", type=int, default=None,
                      help="value columns (default: the whole head dimension, 32)")
    add_family_options(what)
    how = p.add_argument_group("how circuits run")
    how.add_argument("--execution", choices=("statevector", "shots", "runtime"),
                     default="shots", help="exact, local shots, or Runtime local testing mode "
                     "(default shots)")
    how.add_argument("--device", default="fake_torino",
                     help="fake device to compile for and take noise from (default fake_torino;"
                          " 'none' = ideal sampling)")
    how.add_argument("--noise", choices=("device", "none"), default="device",
                     help="with --execution shots: the device's noise or none (default device)")
    how.add_argument("--mitigation", default="none",
                     help="error mitigation, e.g. zne+rem, rem, zne (default none)")
    how.add_argument("--shots", type=int, default=8192, help="shots per query circuit")
    how.add_argument("--seed", type=int, default=7, help="sweep seed (each head derives its own)")
    where = p.add_argument_group("where it runs")
    where.add_argument("--workers", type=int, default=1,
                       help="local workers (default 1 = this process)")
    where.add_argument("--engine", choices=("dask", "processes", "ray"), default="dask",
                       help="engine for --workers > 1 or --cluster (default dask)")
    where.add_argument("--cluster", default=None, metavar="ADDRESS",
                       help="join a running cluster instead (Dask: tcp://host:8786; Ray: "
                            "ray://host:10001 with --engine ray)")
    where.add_argument("--store", default=None, help="job-store directory (default "
                       "$QATTN_JOB_STORE or ~/.cache/qiskit-qattn/jobs)")
    where.add_argument("--retries", type=int, default=2,
                       help="resubmissions of a head whose worker died (default 2)")
    out = p.add_argument_group("output")
    out.add_argument("--png", default="qattn_sweep.png",
                     help="layer x head error heat map (default qattn_sweep.png)")
    out.add_argument("--no-png", action="store_true", help="write no heat map")
    out.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)
    return p


def _check(args: argparse.Namespace) -> dict[str, Any]:
    """Validated settings for :func:`qiskit_qattn.sweeps.sweep_model`."""
    from pathlib import Path

    if args.workers < 1:
        raise CliError(f"--workers must be >= 1; got {args.workers}")
    if not 2 <= args.keys <= 510:
        raise CliError(f"--keys must be in [2, 510]; got {args.keys}")
    if args.queries < 0 or args.queries > args.keys:
        raise CliError(f"--queries must be in [0, --keys={args.keys}]; got {args.queries}")
    if args.shots < 1:
        raise CliError(f"--shots must be >= 1; got {args.shots}")
    device = None if args.device.lower() == "none" else args.device
    mitigation = None if args.mitigation.lower() == "none" else args.mitigation
    if args.execution == "statevector":
        if mitigation is not None:
            raise CliError("--execution statevector is exact: drop --mitigation")
        device = None
    if args.execution == "runtime":
        if device is None or not device.startswith("fake_"):
            raise CliError("qattn sweep runs Runtime in local testing mode only (--device "
                           "fake_<name>); use `qattn run` for IBM hardware, one head at a time "
                           "with a cost preview")
    if mitigation is not None and device is None:
        raise CliError("--mitigation needs a noisy device (--device fake_<name>)")
    text = None
    if args.text is not None:
        path = Path(args.text)
        if not path.is_file():
            raise CliError(f"--text: no such file {args.text!r}")
        text = path.read_text(encoding="utf-8", errors="replace")
    return {"text": text, "offset_chars": args.offset, "num_keys": args.keys,
            "num_queries": args.queries or None, "value_columns": args.value_columns,
            "layers": parse_indices(args.layers, 6, "--layers"),
            "head_indices": parse_indices(args.heads, 12, "--heads"),
            "family": args.family, "execution": args.execution, "device": device,
            "noise_model": None if args.noise == "none" else "device",
            "mitigation": mitigation, "shots": args.shots, "seed": args.seed,
            "family_options": parse_family_options(args.family_option)}


def run(args: argparse.Namespace) -> int:
    """Run the sweep and report."""
    import numpy as np

    from ..runtime import JobStore
    from ..sweeps import resolve_workers, sweep_model
    from ..viz import error_heatmap, text_table

    settings = _check(args)
    store = JobStore(args.store) if args.store else JobStore()
    count = len(settings["layers"]) * len(settings["head_indices"])
    workers = resolve_workers(args.workers, engine=args.engine, address=args.cluster)
    with workers:
        where = workers.describe()
        say(args, f"MiniLM: {count} heads x {settings['num_keys']} keys, family "
                  f"{settings['family']}, execution {settings['execution']}"
                  + (f" on {settings['device']}" if settings["device"] else "")
                  + (f" + {settings['mitigation']}" if settings["mitigation"] else "")
                  + f"; {where['workers']} {where['engine']} worker(s); store {store.directory}")
        with progress_bar(count, "heads", args.json) as bar:
            def progress(done: int, total: int, unit, source: str) -> None:
                bar.update(1)
                bar.set_postfix_str(f"{unit.label} ({source})")

            result = sweep_model(store=store, workers=workers, retries=args.retries,
                                 progress=progress, errors="collect", **settings)
    payload = result.as_dict()
    png = None
    if not args.no_png and np.isfinite(result.errors).any():
        title = (f"MiniLM relative error, {settings['family']}, {settings['execution']}"
                 + (f", {settings['device']}" if settings["device"] else "")
                 + (f", {settings['mitigation']}" if settings["mitigation"] else ""))
        png = str(error_heatmap(result.errors, args.png, title=title))
    payload["png"] = png
    labels = {u.key: u.label for u in result.sweep.units}
    failed = {labels[k]: v for k, v in result.sweep.errors.items()}
    if failed:
        payload["failed"] = failed
    if args.json:
        emit_json(payload)
        return 1 if failed else 0
    print(text_table(result.HEADERS, result.table_rows()))
    summary = result.sweep.summary()
    finite = result.errors[np.isfinite(result.errors)]
    if finite.size:
        print(f"relative error vs exact softmax attention: mean {100 * finite.mean():.2f}%, "
              f"median {100 * np.median(finite):.2f}%, max {100 * finite.max():.2f}%")
    print(f"{summary['computed']} heads computed, {summary['from_store']} read from the store, "
          f"{summary['failed']} failed, {summary['resubmitted']} resubmitted; "
          f"{summary['wall_time']:.1f} s on {where['workers']} {where['engine']} worker(s)")
    if png:
        print(f"heat map: {png}")
    for label, error in failed.items():
        print(f"failed {label}: {error}")
    if failed:
        print("run the same command again to retry the failed heads (finished ones are kept)")
    return 1 if failed else 0
