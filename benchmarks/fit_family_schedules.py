"""Fit the packaged family schedules on real MiniLM attention rows.

Usage: python benchmarks/fit_family_schedules.py --all          (the packaged fit, ~1-2 h)
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
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from qiskit_qattn.circuits.rows import FEATURES
from qiskit_qattn.circuits.schedules import FAMILY_SCHEDULE_FILE, schedule_key
from qiskit_qattn.fitting.fit import (
    HELDOUT_WINDOWS,
    TRAIN_WINDOWS,
    FamilyConfig,
    family_states,
    fidelities,
    fit_schedule,
    heldout_corpus,
    load_corpus,
)

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


def _pad_previous(config: FamilyConfig, m: int, previous: np.ndarray) -> np.ndarray:
    """The (p-1)-layer map extended by a layer that leaves its state unchanged.

    QAOA-type families: an appended zero layer is the identity. Born machine: a *prepended* zero
    layer is, since ``RY(0)`` keeps ``|0...0>`` and CZ acts trivially on it.
    """
    out = np.zeros(config.weight_shape(m))
    if config.family == "born_machine":
        out[1:] = previous
    else:
        out[: previous.shape[0]] = previous
    return out


def fit_size(m: int, reps: list[int], steps: int, train_rows: int, heldout_rows: int | None,
             table: dict, families: set[str] | None = None) -> None:
    n = 2**m
    train = load_corpus(n, TRAIN_WINDOWS, max_rows=train_rows, temperature_range=(0.5, 2.0),
                        seed=0)
    held = heldout_corpus(n)
    if heldout_rows is not None:
        held = held.subset(np.arange(min(heldout_rows, len(held.scores))))
    for family, options in CONFIGS:
        if families is not None and family not in families:
            continue
        previous = None
        for p in reps:
            start = time.perf_counter()
            config = FamilyConfig(family, p, dict(options))
            rows_tr = train.prepared(config.key_order)
            rows_ho = held.prepared(config.key_order)
            fits = [fit_schedule(config, rows_tr, steps=steps, seed=p)]
            if previous is not None:
                init = _pad_previous(config, m, previous)
                fits.append(fit_schedule(config, rows_tr, steps=steps, init=init))
            best = max(fits, key=lambda f: f.train_fidelity)
            weights = np.round(best.weights, 5)
            previous = weights
            f_tr = fidelities(family_states(config, rows_tr, weights), rows_tr)
            f_ho = fidelities(family_states(config, rows_ho, weights), rows_ho)
            key = schedule_key(family, m, p, **config.schedule_options(m))
            table["entries"][key] = {
                "weights": weights.tolist(),
                "train": {"rows": int(len(f_tr)), "mean_fidelity": round(float(f_tr.mean()), 6)},
                "heldout": {
                    "rows": int(len(f_ho)),
                    "mean_fidelity": round(float(f_ho.mean()), 6),
                    "p10_fidelity": round(float(np.percentile(f_ho, 10)), 6),
                },
            }
            print(f"{key:70s} train {f_tr.mean():.4f} held-out {f_ho.mean():.4f} "
                  f"(p10 {np.percentile(f_ho, 10):.4f})  {time.perf_counter() - start:5.1f} s",
                  flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="fit m=3..8, p=1..4 (the package data)")
    ap.add_argument("--qubits", default=None)
    ap.add_argument("--reps", default="1,2,3,4")
    ap.add_argument("--steps", type=int, default=None, help="L-BFGS iterations (default by m)")
    ap.add_argument("--families", default=None, help="comma-separated subset to (re)fit")
    ap.add_argument("--quick", action="store_true", help="m=3, p=1..2, 40 steps, 200 rows")
    ap.add_argument("--out", default=str(OUT))
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
    for m in qubits:
        steps = args.steps or (10 if args.quick else STEPS.get(m, 40))
        train_rows = 200 if args.quick else TRAIN_ROWS.get(m, 400)
        families = set(args.families.split(",")) if args.families else None
        fit_size(m, reps, steps, train_rows, 200 if args.quick else None, table, families)
        table["entries"] = dict(sorted(table["entries"].items()))
        out.write_text(json.dumps(table, separators=(",", ":")) + "\n")
        print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)", flush=True)


if __name__ == "__main__":
    main()
