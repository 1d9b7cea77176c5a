"""Whole-model sweeps on Dask: 1 vs 2 workers on the 72-head MiniLM sweep, and a cost model.

Usage: python benchmarks/sweeps.py [--rounds 3] [--no-inprocess] [--no-cost-model]
       python benchmarks/sweeps.py --quick        (12 heads, 1 round: a smoke run)

The sweep: all 6 x 12 heads of MiniLM on real text (16 keys, 8 queries, all 32 value columns),
family warm_start, device-noise shots on FakeTorino with ZNE+REM, 8192 shots per circuit, seed 7:
one unit per head, through ``qiskit_qattn.sweeps.sweep_model`` — the entry point ``qattn sweep``
uses. Two Dask ``LocalCluster`` s (1 and 2 worker processes, one thread each) are started and
warmed up (imports, Numba, noise-model caches: a few units each, not counted); then the sweep
runs on each in alternating order for ``--rounds`` rounds, every run into a fresh job store (so
nothing is read back). The machine is shared, so every run also records the cores its workers
actually got (the units' CPU seconds / the run's wall time) and every round starts with a probe
of what the machine gives two processes of fixed work right then: the speed-up is reported next
to the ratio of cores the 2-worker and 1-worker runs received, and their quotient (the sweep's
parallel efficiency) is what carries over to dedicated cores. Every run must give
identical results (same seed). Then one in-process run (no Dask) as the baseline of the Dask
overhead, and the cost model: one unit of 4 queries x 510 keys (m = 9 key qubits) measured on a
1-worker cluster (seconds and the worker's peak memory), scaled to a BERT-base-sized run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qiskit_qattn.data import capture_heads
from qiskit_qattn.sweeps import DaskWorkers, InProcessWorkers, run_sweep, sweep_model
from qiskit_qattn.sweeps.attention import attention_units
from qiskit_qattn.viz.markdown import markdown_table, update_results_section

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
CONFIG = {"num_keys": 16, "num_queries": 8, "family": "warm_start", "execution": "shots",
          "device": "fake_torino", "mitigation": "zne+rem", "shots": 8192, "seed": 7}


def load() -> tuple[float, float, float]:
    return os.getloadavg()


def _spin(n: int) -> float:
    """A fixed amount of pure-Python CPU work (the capacity probe's unit)."""
    start = time.process_time()
    x = 0
    for i in range(n):
        x += i * i % 7
    return time.process_time() - start


def capacity_probe(n: int = 6_000_000) -> float:
    """How much faster 2 processes get fixed CPU work done than 1, on this machine, now.

    2.0 on an idle 2-core machine; lower when other processes take the cores. The sweep's
    2-worker speed-up cannot exceed what the machine gives any two processes at that moment.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_spin, [1000, 1000]))  # both processes up
        t0 = time.perf_counter()
        pool.submit(_spin, n).result()
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(pool.map(_spin, [n, n]))
        two = time.perf_counter() - t0
    return 2.0 * one / two


def run_once(workers, heads_sel) -> tuple[float, object, tuple, tuple]:
    store = tempfile.mkdtemp(prefix="qattn-sweep-bench-")
    before = load()
    start = time.perf_counter()
    result = sweep_model(store=store, workers=workers, **heads_sel, **CONFIG)
    wall = time.perf_counter() - start
    return wall, result, before, load()


def warm_up(workers, n: int) -> None:
    """A few units per worker (other seeds: never reused by the measured runs)."""
    heads = capture_heads(CONFIG["num_keys"] + 2)
    units = attention_units(heads, layers=[5], head_indices=list(range(2 * n)),
                            num_keys=CONFIG["num_keys"], num_queries=CONFIG["num_queries"],
                            family=CONFIG["family"], execution=CONFIG["execution"],
                            device=CONFIG["device"], mitigation=CONFIG["mitigation"],
                            shots=CONFIG["shots"], seed=12345)
    run_sweep(units, workers=workers)


def values_of(result) -> list[np.ndarray]:
    return [result.sweep[u].arrays["values"] for u in result.sweep.units]


def cost_model() -> dict:
    """One 510-key unit (4 queries; 512 tokens) on a 1-worker cluster: seconds, peak memory."""
    heads = capture_heads(512)
    units = attention_units(heads, layers=[2], head_indices=[4, 5], num_keys=510,
                            num_queries=4, family=CONFIG["family"], execution="shots",
                            device=CONFIG["device"], mitigation=CONFIG["mitigation"],
                            shots=CONFIG["shots"], seed=CONFIG["seed"])
    with DaskWorkers(1, memory_limit="8GiB") as workers:
        run_sweep(units[:1], workers=workers)  # warm: imports, Numba, m = 9 noise model
        before = load()
        out = run_sweep(units[1:], workers=workers)
        meta = out[units[1]].metadata
    return {"seconds": float(meta["seconds"]), "cpu_seconds": float(meta["cpu_seconds"]),
            "queries": 4, "peak_rss_mb": meta["peak_rss_mb"],
            "two_qubit_gates": meta.get("two_qubit_gates"), "load": before,
            "relative_error": meta["relative_error"], "bytes": sum(
                np.asarray(v).nbytes for k, v in units[1].params.items()
                if isinstance(v, np.ndarray))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="12 heads, 1 round, no cost model")
    ap.add_argument("--no-inprocess", action="store_true")
    ap.add_argument("--no-cost-model", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    heads_sel = {"layers": [0, 1] if args.quick else None,
                 "head_indices": list(range(6)) if args.quick else None}
    rounds = 1 if args.quick else args.rounds
    capture_heads(CONFIG["num_keys"] + 2)  # cached before anything is timed

    t0 = time.perf_counter()
    one, two = DaskWorkers(1), DaskWorkers(2)
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm_up(one, 1)
    warm_up(two, 2)
    warm = time.perf_counter() - t0
    print(f"clusters up in {startup:.1f} s, warmed in {warm:.1f} s; load {load()}", flush=True)
    runs: dict[int, list] = {1: [], 2: []}
    capacity: list[float] = []
    reference = None
    identical = True
    try:
        for r in range(rounds):
            order = (1, 2) if r % 2 == 0 else (2, 1)
            capacity.append(capacity_probe())
            print(f"round {r + 1}: machine capacity for 2 processes {capacity[-1]:.2f}x",
                  flush=True)
            for n in order:
                wall, result, before, after = run_once(one if n == 1 else two, heads_sel)
                vals = values_of(result)
                if reference is None:
                    reference = vals
                same = all(np.array_equal(a, b) for a, b in zip(vals, reference, strict=True))
                identical &= same
                metas = [result.sweep[u].metadata for u in result.sweep.units]
                unit_s = [float(m["seconds"]) for m in metas]
                unit_cpu = [float(m["cpu_seconds"]) for m in metas]
                runs[n].append({"wall": wall, "before": before, "after": after,
                                "unit_median": statistics.median(unit_s),
                                "cpu_median": statistics.median(unit_cpu),
                                "cpu_sum": sum(unit_cpu), "result": result})
                print(f"round {r + 1}: {n} worker(s) {wall:7.1f} s, median unit "
                      f"{statistics.median(unit_s):.2f} s wall / "
                      f"{statistics.median(unit_cpu):.2f} s CPU, cores used "
                      f"{sum(unit_cpu) / wall:.2f}, load {before[0]:.1f} -> {after[0]:.1f}, "
                      f"identical {same}", flush=True)
    finally:
        one.close()
        two.close()
    inprocess = None
    if not args.no_inprocess and not args.quick:
        wall, result, before, after = run_once(InProcessWorkers(), heads_sel)
        same = all(np.array_equal(a, b) for a, b in zip(values_of(result), reference,
                                                          strict=True))
        identical &= same
        cpu = sum(float(result.sweep[u].metadata["cpu_seconds"]) for u in result.sweep.units)
        inprocess = {"wall": wall, "before": before, "after": after, "identical": same,
                     "cores": cpu / wall}
        print(f"in-process: {wall:.1f} s, cores used {cpu / wall:.2f}, load "
              f"{before[0]:.1f} -> {after[0]:.1f}, identical {same}", flush=True)
    cost = None if (args.no_cost_model or args.quick) else cost_model()
    if cost:
        print(f"cost model unit: {cost}", flush=True)

    med1 = statistics.median(x["wall"] for x in runs[1])
    med2 = statistics.median(x["wall"] for x in runs[2])
    speedup = med1 / med2
    loads = [x["before"][0] for n in (1, 2) for x in runs[n]] + [
        x["after"][0] for n in (1, 2) for x in runs[n]]
    last = runs[2][-1]["result"]
    finite = last.errors[np.isfinite(last.errors)]
    units = len(last.sweep.units)
    per_unit = statistics.median(x["unit_median"] for x in runs[1])
    per_unit2 = statistics.median(x["unit_median"] for x in runs[2])
    cpu1 = statistics.median(x["cpu_median"] for x in runs[1])
    cpu2 = statistics.median(x["cpu_median"] for x in runs[2])
    cap = statistics.median(capacity)
    cores = {n: [x["cpu_sum"] / x["wall"] for x in runs[n]] for n in (1, 2)}
    core_ratio = [c2 / c1 for c1, c2 in zip(cores[1], cores[2], strict=True)]
    round_speedup = [a["wall"] / b["wall"] for a, b in zip(runs[1], runs[2], strict=True)]
    # Parallel efficiency: the speed-up per unit of extra cores the workers actually received.
    round_efficiency = [s / r for s, r in zip(round_speedup, core_ratio, strict=True)]
    efficiency = statistics.median(round_efficiency)
    most_cores = max(cores[2])
    lines = [
        f"Command: `python benchmarks/sweeps.py{' --quick' if args.quick else ''}` "
        f"({rounds} rounds, 1 and 2 workers alternating). Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores, shared machine.",
        "",
        f"Sweep: {units} MiniLM heads (layers x heads of all-MiniLM-L6-v2 on the Python Language "
        f"Reference), {CONFIG['num_keys']} keys x {CONFIG['num_queries']} queries x 32 value "
        f"columns per head, family `{CONFIG['family']}`, device-noise shots on FakeTorino + "
        f"ZNE+REM (scale factors 1, 3, 5), {CONFIG['shots']} shots per circuit, seed "
        f"{CONFIG['seed']}; one unit per head through `sweep_model` (what `qattn sweep` runs), "
        "each run into a fresh job store. Dask `LocalCluster`, processes, 1 thread per worker, "
        f"started in {startup:.1f} s and warmed up (imports, Numba, noise caches) in {warm:.1f} s "
        "before timing.",
        "",
        markdown_table(["run", "1 worker [s]", "2 workers [s]", "speed-up",
                        "cores the workers got (1 / 2 workers)", "ratio of cores got",
                        "efficiency (speed-up / ratio)",
                        "2-process probe", "load avg (1 min) around"], [
            [f"round {i + 1}", f"{runs[1][i]['wall']:.1f}", f"{runs[2][i]['wall']:.1f}",
             f"{runs[1][i]['wall'] / runs[2][i]['wall']:.2f}x",
             f"{cores[1][i]:.2f} / {cores[2][i]:.2f}", f"{core_ratio[i]:.2f}x",
             f"{round_efficiency[i]:.2f}", f"{capacity[i]:.2f}x",
             f"{runs[1][i]['before'][0]:.1f}/{runs[1][i]['after'][0]:.1f}; "
             f"{runs[2][i]['before'][0]:.1f}/{runs[2][i]['after'][0]:.1f}"]
            for i in range(rounds)] + [["**median**", f"**{med1:.1f}**", f"**{med2:.1f}**",
                                        f"**{speedup:.2f}x**", "",
                                        f"{statistics.median(core_ratio):.2f}x",
                                        f"**{efficiency:.2f}**",
                                        f"{statistics.median(capacity):.2f}x",
                                        f"{min(loads):.1f}-{max(loads):.1f}"]]),
        "",
        f"- **Speed-up of 2 workers over 1: {speedup:.2f}x** (median wall times; goal 1.7x on "
        f"this 2-core machine). The machine was shared (load {min(loads):.1f}-{max(loads):.1f} "
        f"on {os.cpu_count()} cores): the 1-worker runs got {min(cores[1]):.2f}-"
        f"{max(cores[1]):.2f} cores, the 2-worker runs {min(cores[2]):.2f}-{max(cores[2]):.2f} "
        f"(CPU seconds of the units / wall time), i.e. {statistics.median(core_ratio):.2f}x "
        "more (median). The speed-up follows the cores received, not the worker count: "
        f"**parallel efficiency {efficiency:.2f}** (per round: speed-up / ratio of cores "
        "received; median). The fixed-work probe at the start of each round (two processes vs "
        f"one, median {cap:.2f}x) is a snapshot of a few seconds and swings with the other "
        "jobs; the cores-received columns are measured over the runs themselves.",
        f"- Per unit (one head): median CPU time {cpu1:.2f} s with 1 worker, {cpu2:.2f} s with 2 "
        f"(the work itself); median wall time {per_unit:.2f} s and {per_unit2:.2f} s (the "
        "work plus the waiting for a core).",
        f"- Identical results in every run (same seed, 1 or 2 workers"
        f"{', in-process' if inprocess else ''}): **{identical}**.",
        f"- Mean relative error of the {units} heads vs exact softmax attention: "
        f"{100 * finite.mean():.2f}% (max {100 * finite.max():.2f}%).",
    ]
    if inprocess:
        dask_cpu = statistics.median(x["cpu_sum"] for x in runs[1])
        lines.append(f"- In-process (no Dask, 1 worker): {inprocess['wall']:.1f} s with "
                     f"{inprocess['cores']:.2f} cores received (load "
                     f"{inprocess['before'][0]:.1f}/{inprocess['after'][0]:.1f}); the units' "
                     f"CPU time is {inprocess['cores'] * inprocess['wall']:.0f} s in-process "
                     f"vs {dask_cpu:.0f} s on a 1-worker Dask cluster (median): the wall-time "
                     f"difference ({100 * (med1 / inprocess['wall'] - 1):+.0f}%) is mostly the "
                     "cores each run got.")
    if most_cores >= 1.7:
        verdict = ("The goal is met." if speedup >= 1.7 else
                   "The goal is not met although the 2-worker runs got the cores: the "
                   "shortfall is the sweep's own overhead.")
    else:
        verdict = (f"The goal cannot be tested as stated here: no 2-worker run got more than "
                   f"{most_cores:.2f} cores of the 2, so the measured wall-time ratio says more "
                   "about the other jobs than about the sweep. What carries over is the "
                   f"efficiency: on 2 free cores the same runs would give about "
                   f"{2 * min(1.0, efficiency):.2f}x (2 x efficiency, capped at 2; an estimate, "
                   "not a measurement).")
    lines.append(f"- {verdict}")
    if cost:
        # CPU seconds: the work itself, not what this shared machine's contention added.
        per_query = cost["cpu_seconds"] / cost["queries"]
        queries = 12 * 12 * 512
        worker_hours = queries * per_query / 3600.0
        unit_queries = max(1, int(round(5.0 / per_query)))
        bert_units = 144 * -(-512 // unit_queries)
        # Parallel efficiency measured above (speed-up per extra core received), capped at 1.
        efficiency = min(1.0, efficiency)
        lines += [
            "",
            "**Cost model: a BERT-base-sized run** (12 layers x 12 heads x 512 tokens, every "
            "token a query, through noisy circuits + ZNE+REM on FakeTorino, 8192 shots):",
            "",
            markdown_table(["quantity", "value", "how"], [
                ["CPU seconds per query (510 keys, m = 9)", f"{per_query:.2f} s",
                 f"measured: one unit of {cost['queries']} queries x 510 MiniLM keys in a warm "
                 f"Dask worker ({cost['cpu_seconds']:.1f} s CPU, {cost['seconds']:.1f} s wall "
                 f"at load {cost['load'][0]:.1f}; "
                 f"{cost['two_qubit_gates']:.0f} two-qubit gates per circuit, relative "
                 f"error {100 * cost['relative_error']:.1f}%)"],
                ["query circuits", f"{queries:,}", "144 heads x 512 queries (x 3 ZNE folds "
                 "+ readout calibration inside each unit)"],
                ["units", f"{bert_units:,}", f"{unit_queries} queries per unit (~5 s each: "
                 "seconds-sized, far below the 10^5 tiny tasks Dask's scheduler struggles "
                 "with)"],
                ["worker-hours", f"{worker_hours:.1f}", "queries x seconds per query"],
                ["workers for one hour", f"{int(np.ceil(worker_hours / efficiency))}",
                 f"worker-hours / parallel efficiency {efficiency:.2f} (measured above: "
                 "speed-up / ratio of cores received, capped at 1)"],
                ["memory per worker", f"{cost['peak_rss_mb']:.0f} MB peak RSS",
                 "measured in the worker (Qiskit, Aer, the m = 9 density matrices of the "
                 "folded circuits); a 2 GiB Dask memory limit leaves room"],
                ["data per unit", f"{cost['bytes'] / 1024:.0f} KiB",
                 "the unit's Q, K, V (float64; BERT-base's 64-dim heads double it)"],
            ]),
            "",
            "Plan beyond one machine (on paper): one driver owns the job store on its local "
            "disk and streams units to a Dask cluster (`qattn sweep --cluster "
            "tcp://scheduler:8786`, or `DaskWorkers(address=...)`): `dask-jobqueue` on an HPC "
            f"scheduler, {int(np.ceil(worker_hours / efficiency / 32))} node(s) of 32 cores for "
            "one hour, each worker with one thread and a 2 GiB memory limit. Workers only "
            "compute; results travel back to the driver, which writes them to the store as "
            "they arrive, so a killed driver resumes from the store and a lost node only "
            "costs its in-flight units (resubmitted by Dask, then by the runner). The driver "
            "keeps at most workers x 2 units in flight, so the scheduler never holds the whole "
            "sweep. The store is never shared between machines (README, *The job store*).",
        ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        update_results_section(RESULTS, "sweeps", "## Sweeps (Dask workers)\n\n" + body)
        print(f"wrote section 'sweeps' of {RESULTS}")


if __name__ == "__main__":
    main()
