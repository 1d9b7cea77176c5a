"""Path-restricted amplitude encoding vs Qiskit's default StatePreparation synthesis.

For m = 3..7 (softmax_state of rng.normal rows, rng = default_rng(0) drawn in order m = 3..7):
O3 on FakeTorino / FakeSherbrooke, best of seeds 0..4, default HLS vs the
``PathStatePreparationSynthesis`` plugin (exact, and with error_budget=0.05); plus the
all-to-all CX count of the default synthesis and the raw CX count of the path circuit.

Run: .venv/bin/python benchmarks/state_preparation.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from qiskit import transpile
from qiskit.transpiler import generate_preset_pass_manager
from qiskit.transpiler.passes.synthesis.high_level_synthesis import HLSConfig
from qiskit_ibm_runtime.fake_provider import FakeSherbrooke, FakeTorino

from qiskit_qattn.circuits import softmax_state
from qiskit_qattn.passes.synthesis.state_preparation import (
    PathStatePreparationSynthesis,
    path_state_preparation,
)
from qiskit_qattn.passes.verify import state_fidelity_on_device
from qiskit_qattn.viz.markdown import update_results_section

HERE = Path(__file__).resolve().parent

SEEDS = range(5)


def two_q(circuit) -> int:
    return sum(1 for inst in circuit.data if inst.operation.num_qubits == 2)


def best_of(source, backend, hls_config=None):
    best, total = None, 0.0
    for seed in SEEDS:
        pm = generate_preset_pass_manager(
            optimization_level=3, backend=backend, seed_transpiler=seed, hls_config=hls_config
        )
        start = time.perf_counter()
        out = pm.run(source)
        total += time.perf_counter() - start
        key = (two_q(out), out.depth())
        if best is None or key < best[0]:
            best = (key, out)
    return best[0], best[1], total / len(SEEDS)


def main() -> None:
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    rows = {m: rng.normal(size=2**m) for m in range(3, 8)}
    backends = {"FakeTorino": FakeTorino(), "FakeSherbrooke": FakeSherbrooke()}
    exact_cfg = HLSConfig(state_preparation=[PathStatePreparationSynthesis()])
    approx_cfg = HLSConfig(state_preparation=[PathStatePreparationSynthesis(0.05)])
    lines = [
        "| backend | m | all-to-all CX | path CX (raw) | default 2q / depth | path 2q / depth |"
        " path eps=0.05 2q (fid) | t default s | t path s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines))
    for name, backend in backends.items():
        for m, scores in rows.items():
            source = softmax_state(scores)
            a2a = transpile(
                source, basis_gates=["cx", "rz", "sx", "x"], optimization_level=3, seed_transpiler=0
            )
            amplitudes = np.asarray(source.data[0].operation.params, dtype=complex).real
            raw = path_state_preparation(amplitudes).count_ops().get("cx", 0)
            (d2q, ddepth), _, dt = best_of(source, backend)
            (p2q, pdepth), pout, pt = best_of(source, backend, exact_cfg)
            fid = state_fidelity_on_device(source, pout)
            assert fid > 1 - 1e-8, fid
            (a2q, _), aout, _ = best_of(source, backend, approx_cfg)
            afid = state_fidelity_on_device(source, aout)
            lines.append(
                f"| {name} | {m} | {two_q(a2a)} | {raw} | {d2q} / {ddepth} | {p2q} / {pdepth}"
                f" | {a2q} ({afid:.4f}) | {dt:.2f} | {pt:.2f} |"
            )
            print(lines[-1], flush=True)
    if "--no-write" in sys.argv:
        return
    minutes = (time.perf_counter() - t0) / 60
    section = "\n".join([
        "## Path-native amplitude encoding (`state_preparation.qattn` HLS plugin) vs Qiskit",
        "",
        f"Command: `python benchmarks/state_preparation.py` ({minutes:.1f} min). O3 best of seeds "
        "0-4 (two-qubit count / depth) for `softmax_state` rows with Qiskit's synthesis "
        "(default) and with `HLSConfig(state_preparation=[\"qattn\"])` (path); every path "
        "output is checked to prepare the exact state. The `qattn` init stage uses the path "
        "synthesis only up to 4 qubits, where it ties or wins; above that its CNOT walk costs "
        "more than Qiskit's routed Gray code.",
        "",
        *lines,
    ])
    update_results_section(HERE / "RESULTS.md", "state_preparation", section)
    print("wrote section 'state_preparation' of benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
