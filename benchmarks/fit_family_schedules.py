"""Fit the packaged family schedules on real MiniLM attention rows.

Usage: python benchmarks/fit_family_schedules.py --all          (the packaged fit, ~1-2 h)
       python benchmarks/fit_family_schedules.py --all --workers 8 --store fit-store
       python benchmarks/fit_family_schedules.py --qubits 3,4 [--reps 1,2] [--steps 300]
       python benchmarks/fit_family_schedules.py --quick --out /tmp/s.json   (smoke run)

Without arguments it prints this help and exits (it is a fitting tool, not a benchmark).

For every key-register size ``m`` and depth ``p`` it fits, for each family configuration below,
the linear map from row features to angles (``qiskit_qattn.circuits.fitting.fit_schedule``:
L-BFGS on the exact torch simulator, mean state fidelity with ``sqrt(softmax)``) on rows from the
TRAIN text windows (half of them at a random temperature in [0.5, 2]), evaluates it on rows from
the disjoint HELD-OUT windows (temperature 1), and writes weights (rounded) plus both records to
``qiskit_qattn/data/family_schedules.json`` (merged: entries not refitted are kept). Each depth
starts from the best of the default initialisation and the previous depth's map padded with an
identity layer, so deeper schedules never start worse than shallower ones.

Each (m, configuration) is one sweep unit (``qiskit_qattn.sweeps.fitting``): ``--workers N``
runs them in parallel (Dask by default, ``--engine processes|ray``, ``--cluster ADDRESS``), and
``--store DIR`` keeps every finished configuration, so a killed fit resumes where it stopped.
The fits are seeded: the weights do not depend on the number of workers.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from qiskit_qattn.circuits.rows import FEATURES
from qiskit_qattn.circuits.schedules import FAMILY_SCHEDULE_FILE
from qiskit_qattn.fitting.fit import HELDOUT_WINDOWS, TRAIN_WINDOWS
from qiskit_qattn.sweeps import resolve_workers, run_sweep
from qiskit_qattn.sweeps.fitting import fit_config_unit

OUT = Path(__file__).resolve().parents[1] / "qiskit_qattn" / "data" / FAMILY_SCHEDULE_FILE
COMMAND = "python benchmarks/fit_family_schedules.py --all"

#: L-BFGS iterations and training rows per key-register size (the cost grows like 2**m).
STEPS = {3: 80, 4: 80, 5: 80, 6: 60, 7: 50, 8: 40}
TRAIN_ROWS = {3: 1500, 4: 1500, 5: 1200, 6: 1000, 7: 600, 8: 400}

#: (family, options) fitted at every m and p.
CONFIGS = [
    ("ma_qaoa", {"key_order": "identity"}),
    ("ma_qaoa", {"key_order": "identity", "max_order": 2}),
    ("ma_qaoa", {"key_order": "sorted", "max_order": 1}),
    ("ma_qaoa", {"key_order": "sorted", "max_order": 2}),
    ("warm_start", {"key_order": "sorted", "window": 0, "max_order": 2}),
    ("amplification", {"initial": "uniform", "key_order": "identity"}),
    ("amplification", {"initial": "warm", "key_order": "sorted"}),
    ("born_machine", {"key_order": "sorted"}),
]


def fit_units(qubits: list[int], reps: list[int], steps_arg: int | None, quick: bool,
              families: set[str] | None) -> list:
    """One sweep unit per (m, configuration): all its depths, in order (see sweeps.fitting)."""
    units = []
    for m in qubits:
        steps = steps_arg or (10 if quick else STEPS.get(m, 40))
        train_rows = 200 if quick else TRAIN_ROWS.get(m, 400)
        for family, options in CONFIGS:
            if families is not None and family not in families:
                continue
            units.append(fit_config_unit(m, family, options, reps, steps, train_rows,
                                         200 if quick else None))
    return units


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="fit m=3..8, p=1..4 (the package data)")
    ap.add_argument("--qubits", default=None)
    ap.add_argument("--reps", default="1,2,3,4")
    ap.add_argument("--steps", type=int, default=None, help="L-BFGS iterations (default by m)")
    ap.add_argument("--families", default=None, help="comma-separated subset to (re)fit")
    ap.add_argument("--quick", action="store_true", help="m=3, p=1..2, 40 steps, 200 rows")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--workers", type=int, default=1,
                    help="fit configurations in parallel on this many local workers")
    ap.add_argument("--engine", choices=("dask", "processes", "ray"), default="dask")
    ap.add_argument("--cluster", default=None, help="a running Dask cluster's address")
    ap.add_argument("--store", default=None,
                    help="job store: a killed fit keeps the configurations it finished")
    args = ap.parse_args()
    if not (args.all or args.quick or args.qubits):
        ap.print_help()
        return
    torch.set_num_threads(1)
    qubits = [int(v) for v in (args.qubits or "3,4,5,6,7,8").split(",")]
    reps = [int(v) for v in args.reps.split(",")]
    if args.quick:
        qubits, reps = [3], [1, 2]
    out = Path(args.out)
    table = json.loads(out.read_text()) if out.exists() else {"entries": {}}
    table.update({
        "version": 1,
        "features": list(FEATURES),
        "command": COMMAND,
        "train_windows": list(TRAIN_WINDOWS),
        "heldout_windows": list(HELDOUT_WINDOWS),
        "notes": "weights map row features to angles; see qiskit_qattn.circuits.families",
    })
    families = set(args.families.split(",")) if args.families else None
    units = fit_units(qubits, reps, args.steps, args.quick, families)

    def report(unit, output, source):
        seconds = output.metadata.get("seconds_per_depth", {})
        for key, entry in output.metadata["entries"].items():
            print(f"{key:70s} train {entry['train']['mean_fidelity']:.4f} held-out "
                  f"{entry['heldout']['mean_fidelity']:.4f} "
                  f"(p10 {entry['heldout']['p10_fidelity']:.4f})  {seconds.get(key, 0):5.1f} s"
                  f"{'  (from the store)' if source == 'store' else ''}", flush=True)

    workers = resolve_workers(args.workers if args.workers > 1 else None, engine=args.engine,
                              address=args.cluster)
    start = time.perf_counter()
    with workers:
        print(f"{len(units)} configurations on {workers.describe()}", flush=True)
        result = run_sweep(units, store=args.store, workers=workers, errors="collect",
                           on_output=report)
    for unit in units:
        if unit.key in result.outputs:
            table["entries"].update(result[unit].metadata["entries"])
    table["entries"] = dict(sorted(table["entries"].items()))
    out.write_text(json.dumps(table, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB) after "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    if result.errors:
        raise SystemExit(f"{len(result.errors)} configurations failed: "
                         f"{list(result.errors.values())[:3]}")

if __name__ == "__main__":
    main()
