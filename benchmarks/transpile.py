"""Transpiler benchmark: Qiskit O1/O3, pytket and the ``qattn`` optimization stage.

Families: amplitude encoding (softmax_state) m=3..7; QAOA attention m=3..8, p=1,2, Walsh
(PauliEvolution) and diagonal phase separators; swap test d=4..64; QSANN-style variational block
4..16 qubits. Targets: FakeTorino (CZ, heavy-hex) and FakeSherbrooke (ECR, heavy-hex).
Columns: two-qubit count, depth, two-qubit depth and compile time for Qiskit O1 and O3 (seeds
0-4: seed 0 and best), pytket (FullPeepholeOptimise + placement/routing + rebase), ``qattn``
(optimization_method="qattn" on top of O3, seed 0 and best of seeds 0-4), and the all-to-all
two-qubit count (Qiskit O3, no coupling map) as the floor. An approximate column runs the ``qattn``
stage with approximation_degree=0.99 (Qiskit's own stages exact, so the whole error is the
certified bound) on the QAOA families and reports the measured state fidelity.

Usage:
    python benchmarks/transpile.py            # full run, writes RESULTS.md section "transpile"
    python benchmarks/transpile.py --quick    # ~1 min smoke run (not written to RESULTS.md)
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import StatePreparation

from qiskit_qattn.circuits import qaoa_attention, softmax_state, variational_block
from qiskit_qattn.passes.verify import state_fidelity_on_device
from qiskit_qattn.viz.markdown import markdown_table, update_results_section
from qiskit_qattn.viz.report import circuit_report

HERE = Path(__file__).resolve().parent
SEEDS = range(5)
A2A_BASIS = ["cx", "rz", "sx", "x"]
APPROX_DEGREE = 0.99


# ----------------------------------------------------------------------------- families
def swap_test(d: int, rng: np.random.Generator) -> QuantumCircuit:
    """Swap test between amplitude-encoded q and k (``log2 d`` qubits each) plus an ancilla."""
    m = int(math.ceil(math.log2(d)))
    qc = QuantumCircuit(2 * m + 1, name=f"swap_test_{d}")
    for reg in range(2):
        vec = np.zeros(2**m)
        vec[:d] = rng.normal(size=d)
        wires = range(1 + reg * m, 1 + (reg + 1) * m)
        qc.append(StatePreparation(vec / np.linalg.norm(vec)), wires)
    qc.h(0)
    for i in range(m):
        qc.cswap(0, 1 + i, 1 + m + i)
    qc.h(0)
    return qc


def families(quick: bool, rng: np.random.Generator) -> list[tuple[str, str, QuantumCircuit]]:
    """``(family, label, circuit)`` for every benchmark circuit."""
    out = []
    amp = [3, 4] if quick else range(3, 8)
    for m in amp:
        out.append(("amplitude", f"m={m}", softmax_state(rng.normal(size=2**m))))
    qaoa_m = [3, 4] if quick else range(3, 9)
    for form in ("walsh", "diagonal"):
        for m in qaoa_m:
            for p in (1,) if quick else (1, 2):
                qc = qaoa_attention(rng.normal(size=2**m), reps=p, phase_separator=form)
                out.append((f"qaoa-{form}", f"m={m} p={p}", qc))
    for d in [4] if quick else [4, 8, 16, 32, 64]:
        out.append(("swap-test", f"d={d}", swap_test(d, rng)))
    for n in [4] if quick else [4, 8, 12, 16]:
        block = variational_block(n, reps=2)
        bound = block.assign_parameters(rng.uniform(-np.pi, np.pi, size=block.num_parameters))
        out.append(("qsann", f"n={n}", bound))
    return out


# ------------------------------------------------------------------------------ runners
@dataclass
class Stat:
    """Metrics of one compiled circuit."""

    two_q: int
    depth: int
    two_q_depth: int
    seconds: float


@dataclass
class Row:
    """All columns for one circuit on one target."""

    target: str
    family: str
    label: str
    a2a: int
    o1: list[Stat] = field(default_factory=list)
    o3: list[Stat] = field(default_factory=list)
    qattn: list[Stat] = field(default_factory=list)
    qattn_init: list[Stat] = field(default_factory=list)
    min_fidelity: float = 1.0
    tket: Stat | None = None
    approx: Stat | None = None
    approx_fidelity: float | None = None
    approx_bound: float | None = None


def _stat(circuit: QuantumCircuit, seconds: float) -> Stat:
    rep = circuit_report(circuit)
    return Stat(rep["two_qubit_gates"], rep["depth"], rep["two_qubit_depth"], seconds)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_tket(qc: QuantumCircuit, backend) -> Stat | None:
    """pytket FullPeepholeOptimise + placement/routing + rebase to the device's gates."""
    try:
        from pytket import OpType
        from pytket.architecture import Architecture
        from pytket.extensions.qiskit import qiskit_to_tk, tk_to_qiskit
        from pytket.passes import AutoRebase, DefaultMappingPass, FullPeepholeOptimise, SequencePass
    except ImportError:
        return None
    two_q = "ecr" if "ecr" in backend.target.operation_names else "cz"
    flat = transpile(qc, basis_gates=["cx", "u"], optimization_level=0)

    def go():
        circ = qiskit_to_tk(flat)
        arch = Architecture([tuple(e) for e in backend.coupling_map.get_edges()])
        gates = {OpType.ECR if two_q == "ecr" else OpType.CZ, OpType.Rz, OpType.SX, OpType.X}
        SequencePass(
            [FullPeepholeOptimise(), DefaultMappingPass(arch), AutoRebase(gates)]
        ).apply(circ)
        return tk_to_qiskit(circ)

    out, seconds = _timed(go)
    return _stat(out, seconds)


def run_row(target_name: str, backend, family: str, label: str, qc: QuantumCircuit,
            tket: bool, approximate: bool) -> Row:
    """Compile one circuit with every method."""
    a2a = transpile(qc, basis_gates=A2A_BASIS, optimization_level=3, seed_transpiler=0)
    row = Row(target_name, family, label, circuit_report(a2a)["two_qubit_gates"])
    for seed in SEEDS:
        for level, store in ((1, row.o1), (3, row.o3)):
            out, s = _timed(lambda lv=level, sd=seed: transpile(
                qc, backend, optimization_level=lv, seed_transpiler=sd))
            store.append(_stat(out, s))
        out, s = _timed(lambda sd=seed: transpile(
            qc, backend, optimization_level=3, seed_transpiler=sd, optimization_method="qattn"))
        row.qattn.append(_stat(out, s))
        both, s = _timed(lambda sd=seed: transpile(
            qc, backend, optimization_level=3, seed_transpiler=sd, init_method="qattn",
            optimization_method="qattn"))
        row.qattn_init.append(_stat(both, s))
        if seed == 0 and qc.num_qubits <= 13:
            # Exactness check in the same run (state on |0>; the init plugin's amplitude
            # encoding is only defined on |0>, like StatePreparation itself).
            row.min_fidelity = min(state_fidelity_on_device(qc, out),
                                   state_fidelity_on_device(qc, both))
    if tket:
        row.tket = run_tket(qc, backend)
    if approximate:
        from qiskit.transpiler import PassManagerConfig, generate_preset_pass_manager

        from qiskit_qattn.passes import qattn_optimization_stage

        # Only the certified qattn approximation: Qiskit's init-stage approximations (which
        # approximation_degree would also switch on, uncertified) stay exact.
        pm = generate_preset_pass_manager(
            optimization_level=3, backend=backend, seed_transpiler=0, approximation_degree=1.0
        )
        config = PassManagerConfig.from_backend(
            backend, seed_transpiler=0, approximation_degree=APPROX_DEGREE
        )
        pm.optimization = qattn_optimization_stage(config, 3)
        out, s = _timed(lambda: pm.run(qc))
        row.approx = _stat(out, s)
        row.approx_bound = float(pm.property_set["qattn_error_bound"] or 0.0)
        row.approx_fidelity = state_fidelity_on_device(qc, out)
    return row


# ------------------------------------------------------------------------------ report
def _best(stats: list[Stat]) -> Stat:
    return min(stats, key=lambda s: (s.two_q, s.depth))


def _gmean(values: list[float]) -> float:
    values = [v for v in values if v > 0]
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


def summarize(rows: list[Row]) -> dict[str, float]:
    """Geometric-mean ratios against Qiskit O3 best-of-5 (and the all-to-all floor)."""
    ratio = [_best(r.qattn).two_q / max(_best(r.o3).two_q, 1) for r in rows]
    ratio0 = [r.qattn[0].two_q / max(r.o3[0].two_q, 1) for r in rows]
    ratio_init = [_best(r.qattn_init).two_q / max(_best(r.o3).two_q, 1) for r in rows]
    floor_init = [_best(r.qattn_init).two_q / max(r.a2a, 1) for r in rows if r.a2a]
    families_seen = sorted({r.family for r in rows})
    per_family = {
        fam: _gmean([_best(r.qattn).two_q / max(_best(r.o3).two_q, 1)
                     for r in rows if r.family == fam])
        for fam in families_seen
    }
    per_family_init = {
        fam: _gmean([_best(r.qattn_init).two_q / max(_best(r.o3).two_q, 1)
                     for r in rows if r.family == fam])
        for fam in families_seen
    }
    floor = [_best(r.qattn).two_q / max(r.a2a, 1) for r in rows if r.a2a]
    o3floor = [_best(r.o3).two_q / max(r.a2a, 1) for r in rows if r.a2a]
    times = [
        statistics.median(s.seconds for s in r.qattn) / statistics.median(s.seconds for s in r.o3)
        for r in rows
    ]
    times_init = [
        statistics.median(s.seconds for s in r.qattn_init)
        / statistics.median(s.seconds for s in r.o3)
        for r in rows
    ]
    out = {
        "qattn_best_vs_o3_best": _gmean(ratio),
        "qattn_seed0_vs_o3_seed0": _gmean(ratio0),
        "qattn_best_vs_a2a": _gmean(floor),
        "o3_best_vs_a2a": _gmean(o3floor),
        "compile_time_ratio_median": float(np.median(times)),
        "qattn_init_best_vs_o3_best": _gmean(ratio_init),
        "qattn_init_best_vs_a2a": _gmean(floor_init),
        "compile_time_ratio_init_median": float(np.median(times_init)),
        "min_fidelity": min(r.min_fidelity for r in rows),
    }
    for fam in families_seen:
        out[f"family:{fam}"] = per_family[fam]
        out[f"family_init:{fam}"] = per_family_init[fam]
    tk = [r.tket.two_q / max(_best(r.o3).two_q, 1) for r in rows if r.tket is not None]
    if tk:
        out["tket_vs_o3_best"] = _gmean(tk)
    ap = [r.approx.two_q / max(_best(r.o3).two_q, 1) for r in rows if r.approx is not None]
    if ap:
        out["approx_vs_o3_best"] = _gmean(ap)
        out["approx_min_fidelity"] = min(r.approx_fidelity for r in rows if r.approx)
    return out


def table(rows: list[Row]) -> str:
    """Markdown table of every row."""
    headers = [
        "target", "family", "circuit", "a2a 2q",
        "O1 2q s0/best", "O3 2q s0/best", "O3 depth/2q-depth (best)", "O3 s",
        "tket 2q", "tket depth", "tket s",
        "qattn 2q s0/best", "qattn depth/2q-depth (best)", "qattn s",
        "init+opt 2q s0/best", "init+opt s",
        "approx 2q", "approx F (bound)",
    ]
    body = []
    for r in rows:
        o3b, qb = _best(r.o3), _best(r.qattn)
        body.append([
            r.target, r.family, r.label, r.a2a,
            f"{r.o1[0].two_q}/{_best(r.o1).two_q}",
            f"{r.o3[0].two_q}/{o3b.two_q}", f"{o3b.depth}/{o3b.two_q_depth}",
            f"{statistics.median(s.seconds for s in r.o3):.2f}",
            "-" if r.tket is None else r.tket.two_q,
            "-" if r.tket is None else r.tket.depth,
            "-" if r.tket is None else f"{r.tket.seconds:.2f}",
            f"{r.qattn[0].two_q}/{qb.two_q}", f"{qb.depth}/{qb.two_q_depth}",
            f"{statistics.median(s.seconds for s in r.qattn):.2f}",
            f"{r.qattn_init[0].two_q}/{_best(r.qattn_init).two_q}",
            f"{statistics.median(s.seconds for s in r.qattn_init):.2f}",
            "-" if r.approx is None else r.approx.two_q,
            "-" if r.approx is None else f"{r.approx_fidelity:.4f} (≥{_fid_bound(r):.4f})",
        ])
    return markdown_table(headers, body)


def _fid_bound(row: Row) -> float:
    from qiskit_qattn.passes import fidelity_lower_bound

    return fidelity_lower_bound(row.approx_bound or 0.0)


def run(quick: bool = False, targets: tuple[str, ...] = ("fake_torino", "fake_sherbrooke"),
        tket: bool = True, progress=print) -> tuple[list[Row], dict[str, float]]:
    """Run the benchmark and return rows + summary (the core function the smoke test calls)."""
    from qiskit_qattn.runtime import resolve_device

    rng = np.random.default_rng(2024)
    circuits = families(quick, rng)
    rows = []
    for name in targets:
        backend = resolve_device(name)
        for family, label, qc in circuits:
            row = run_row(name, backend, family, label, qc, tket,
                          approximate=family.startswith("qaoa"))
            rows.append(row)
            progress(f"{name:16s} {family:14s} {label:10s} a2a {row.a2a:4d}  "
                     f"O3 best {_best(row.o3).two_q:4d}  qattn best {_best(row.qattn).two_q:4d}  "
                     f"init+opt best {_best(row.qattn_init).two_q:4d}  "
                     f"tket {'-' if row.tket is None else row.tket.two_q}")
    return rows, summarize(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run, no RESULTS.md")
    parser.add_argument("--no-tket", action="store_true", help="skip the pytket column")
    parser.add_argument("--results-md", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    t0 = time.perf_counter()
    rows, summary = run(quick=args.quick, tket=not args.no_tket)
    elapsed = time.perf_counter() - t0
    for key, value in summary.items():
        print(f"{key}: {value:.3f}")
    if summary["min_fidelity"] < 1 - 1e-6:
        print("WARNING: a qattn output is not equivalent to its source")
    if args.quick:
        return 0
    command = "python benchmarks/transpile.py" + (" --no-tket" if args.no_tket else "")
    lines = [
        "## Transpiler: Qiskit O1/O3 vs pytket vs `optimization_method=\"qattn\"`",
        "",
        f"Command: `{command}` (Qiskit 2.6, {elapsed / 60:.1f} min on a shared 2-core machine).",
        "Best = fewest two-qubit gates over seeds 0-4; times are medians over seeds, measured in "
        "the same run. `qattn` runs Qiskit's O3 stage first and keeps its own result only when "
        "better, so it can never lose to O3 for the same seed. Approximate = O3 with the qattn "
        "stage at approximation_degree=0.99 and every Qiskit stage exact (seed 0), F = measured "
        "state fidelity with the exact circuit, bound = certified lower bound from the error the "
        "stage reports. `init+opt` adds `init_method=\"qattn\"` (path-native amplitude "
        "encoding and phase-polynomial recovery before layout).",
        "",
        "Summary (geometric means over all rows):",
        "",
        markdown_table(["metric", "value", "goal"], [
            ["qattn best / O3 best (2q)", f"{summary['qattn_best_vs_o3_best']:.3f}", "≤ 0.75"],
            ["qattn seed 0 / O3 seed 0 (2q)", f"{summary['qattn_seed0_vs_o3_seed0']:.3f}", "-"],
            ["qattn best / all-to-all (2q)", f"{summary['qattn_best_vs_a2a']:.3f}", "≤ 1.15"],
            ["O3 best / all-to-all (2q)", f"{summary['o3_best_vs_a2a']:.3f}", "-"],
            ["tket / O3 best (2q)", f"{summary.get('tket_vs_o3_best', float('nan')):.3f}", "-"],
            ["approx / O3 best (2q, QAOA rows)",
             f"{summary.get('approx_vs_o3_best', float('nan')):.3f}", "≤ 0.5 at F ≥ 0.99"],
            ["approx min fidelity", f"{summary.get('approx_min_fidelity', float('nan')):.4f}",
             "≥ 0.99"],
            ["compile time qattn / O3 (median)", f"{summary['compile_time_ratio_median']:.2f}",
             "≤ 3"],
            ["init+opt best / O3 best (2q)", f"{summary['qattn_init_best_vs_o3_best']:.3f}",
             "-"],
            ["init+opt best / all-to-all (2q)", f"{summary['qattn_init_best_vs_a2a']:.3f}", "-"],
            ["compile time init+opt / O3 (median)",
             f"{summary['compile_time_ratio_init_median']:.2f}", "-"],
            ["min state fidelity of qattn outputs (exactness check)",
             f"{summary['min_fidelity']:.9f}", "1"],
        ]),
        "",
        "Per family, qattn best / O3 best (geometric mean over sizes and targets):",
        "",
        markdown_table(["family", "optimization_method=qattn", "init + optimization qattn"], [
            [k.split(":", 1)[1], f"{v:.3f}", f"{summary['family_init:' + k.split(':', 1)[1]]:.3f}"]
            for k, v in summary.items() if k.startswith("family:")
        ]),
        "",
        table(rows),
    ]
    update_results_section(args.results_md, "transpile", "\n".join(lines))
    print(f"wrote section 'transpile' of {args.results_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
