"""Qiskit O3 against O3 with the noise-aware ``qattn`` layout stage on IBM fake devices.

For ``softmax_state`` and diagonal-separator ``qaoa_attention`` circuits on m = 3..6 qubits
(measured at the end), compile with seeds 0..4 and report the estimated success probability
(ESP: product of ``1 - error`` over gates and readouts), two-qubit count and compile time.

Variants:
    * ``O3``: ``generate_preset_pass_manager(3, backend=..., seed_transpiler=s)``.
    * ``O3+qattn``: the same with ``pm.layout`` swapped for the noise-aware stage; Qiskit's
      ``VF2PostLayout`` still runs after routing (no ``layout_method`` is named).
    * ``layout=qattn``: as ``layout_method="qattn"`` would build it (no ``VF2PostLayout``, as
      with any named layout method); uses the registered plugin when it is installed.

Run: ``python benchmarks/noise_aware_layout.py [--seeds 5] [--candidates 8] [--simulate]``;
``--simulate`` adds the Hellinger fidelity of noisy Aer runs (the fake device's noise model,
including T1/T2 relaxation) against the ideal distribution, an independent check of the ESP.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from qiskit import QuantumCircuit
from qiskit.transpiler import PassManagerConfig, generate_preset_pass_manager
from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins

from qiskit_qattn.circuits import qaoa_attention, softmax_state
from qiskit_qattn.passes.noise_aware_layout import estimated_success_probability
from qiskit_qattn.passes.preset.stages import noise_aware_layout_pass_manager
from qiskit_qattn.viz.markdown import update_results_section

FAMILIES: dict[str, Callable[[np.ndarray], QuantumCircuit]] = {
    "softmax_state": softmax_state,
    "qaoa_attention": lambda x: qaoa_attention(x, reps=1, phase_separator="diagonal"),
}


def _pass_managers(backend, seed: int, candidates: int) -> dict[str, object]:
    o3 = generate_preset_pass_manager(3, backend=backend, seed_transpiler=seed)
    swapped = generate_preset_pass_manager(3, backend=backend, seed_transpiler=seed)
    swapped.layout = noise_aware_layout_pass_manager(
        PassManagerConfig.from_backend(backend, seed_transpiler=seed), 3, candidates=candidates
    )
    if "qattn" in list_stage_plugins("layout") and candidates == 8:
        named = generate_preset_pass_manager(
            3, backend=backend, seed_transpiler=seed, layout_method="qattn"
        )
    else:
        named = generate_preset_pass_manager(
            3, backend=backend, seed_transpiler=seed, layout_method="trivial"
        )
        named.layout = noise_aware_layout_pass_manager(
            PassManagerConfig.from_backend(backend, seed_transpiler=seed, layout_method="qattn"),
            3,
            candidates=candidates,
        )
    return {"O3": o3, "O3+qattn": swapped, "layout=qattn": named}


def _two_qubit(circuit: QuantumCircuit) -> int:
    return sum(
        1
        for inst in circuit.data
        if len(inst.qubits) == 2 and inst.operation.name not in ("barrier", "delay")
    )


def _hellinger_fidelity(simulator, source: QuantumCircuit, compiled: QuantumCircuit) -> float:
    """Hellinger fidelity of noisy counts of ``compiled`` with the ideal output of ``source``."""
    from qiskit.quantum_info import Statevector, hellinger_fidelity

    ideal = Statevector(source.remove_final_measurements(inplace=False)).probabilities_dict()
    counts = simulator.run(compiled, shots=SHOTS, seed_simulator=11).result().get_counts()
    return float(hellinger_fidelity(ideal, counts))


SHOTS = 8000


def run(
    seeds: int = 5,
    candidates: int = 8,
    sizes: tuple[int, ...] = (3, 4, 5, 6),
    simulate: bool = False,
) -> list[dict]:
    """One row per (device, family, m, variant) with ESP median/best, 2q median, time median.

    With ``simulate`` the rows also hold the median Hellinger fidelity of an Aer simulation
    with the device's noise model (``AerSimulator.from_backend``) against the ideal output.
    """
    from qiskit_ibm_runtime.fake_provider import FakeSherbrooke, FakeTorino

    rows = []
    for backend in (FakeTorino(), FakeSherbrooke()):
        target = backend.target
        simulator = None
        if simulate:
            from qiskit_aer import AerSimulator

            simulator = AerSimulator.from_backend(backend)
        for family, build in FAMILIES.items():
            for m in sizes:
                rng = np.random.default_rng(100 + m)
                qc = build(rng.normal(size=2**m))
                qc.measure_all()
                results: dict[str, list[tuple[float, int, float, float]]] = {}
                for seed in range(seeds):
                    for name, pm in _pass_managers(backend, seed, candidates).items():
                        start = time.perf_counter()
                        out = pm.run(qc)
                        elapsed = time.perf_counter() - start
                        esp = estimated_success_probability(out, target)
                        fid = math.nan
                        if simulator is not None:
                            fid = _hellinger_fidelity(simulator, qc, out)
                        results.setdefault(name, []).append((esp, _two_qubit(out), elapsed, fid))
                for name, values in results.items():
                    esps = [v[0] for v in values]
                    rows.append(
                        {
                            "device": backend.name,
                            "family": family,
                            "m": m,
                            "variant": name,
                            "esp_median": statistics.median(esps),
                            "esp_best": max(esps),
                            "two_qubit_median": statistics.median(v[1] for v in values),
                            "time_median": statistics.median(v[2] for v in values),
                            "hellinger_median": statistics.median(v[3] for v in values),
                        }
                    )
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows as a markdown table."""
    sim = any(not math.isnan(r["hellinger_median"]) for r in rows)
    head = "| device | family | m | variant | ESP median | ESP best | 2q median | time median (s) |"
    lines = [head + (" Hellinger median (Aer) |" if sim else ""), "|---" * (9 if sim else 8) + "|"]
    for r in rows:
        lines.append(
            f"| {r['device']} | {r['family']} | {r['m']} | {r['variant']} | "
            f"{r['esp_median']:.4f} | {r['esp_best']:.4f} | {r['two_qubit_median']:g} | "
            f"{r['time_median']:.3f} |" + (f" {r['hellinger_median']:.4f} |" if sim else "")
        )
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    """Geometric-mean ESP ratio and 2q ratio of each variant against O3."""
    base = {(r["device"], r["family"], r["m"]): r for r in rows if r["variant"] == "O3"}
    out = []
    for variant in sorted({r["variant"] for r in rows} - {"O3"}):
        mine = [r for r in rows if r["variant"] == variant]
        esp = [
            r["esp_median"] / base[(r["device"], r["family"], r["m"])]["esp_median"] for r in mine
        ]
        two = [
            r["two_qubit_median"] / base[(r["device"], r["family"], r["m"])]["two_qubit_median"]
            for r in mine
        ]
        hel = [
            r["hellinger_median"] - base[(r["device"], r["family"], r["m"])]["hellinger_median"]
            for r in mine
        ]
        wins = sum(e > 1 + 1e-9 for e in esp)
        losses = sum(e < 1 - 1e-9 for e in esp)
        out.append(
            f"{variant}: median-ESP ratio geomean {np.exp(np.mean(np.log(esp))):.4f} "
            f"(min {min(esp):.4f}, max {max(esp):.4f}; {wins} wins, {losses} losses of "
            f"{len(esp)}), 2q ratio geomean {np.exp(np.mean(np.log(two))):.4f}"
            + (
                ""
                if any(math.isnan(h) for h in hel)
                else f", Hellinger gain mean {np.mean(hel):+.4f} (min {min(hel):+.4f}, "
                f"max {max(hel):+.4f})"
            )
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--simulate", action="store_true", help="also run noisy Aer simulations")
    parser.add_argument("--results-md", default=str(Path(__file__).resolve().parent / "RESULTS.md"),
                        help="RESULTS.md to update (section 'noise_aware_layout')")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = run(seeds=args.seeds, candidates=args.candidates, simulate=args.simulate)
    minutes = (time.perf_counter() - t0) / 60
    table, text = markdown(rows), summary(rows)
    print(table)
    print()
    print(text)
    if args.no_write:
        return
    command = "python benchmarks/noise_aware_layout.py" + (" --simulate" if args.simulate else "")
    section = "\n".join([
        "## Noise-aware layout (`layout_method=\"qattn\"`) vs Qiskit O3",
        "",
        f"Command: `{command}` ({minutes:.1f} min on a shared 2-core machine). ESP = estimated "
        "success probability (product of 1 - error over gates and readouts, from the fake "
        "device's calibration), medians over seeds 0-4; circuits measured at the end.",
        "",
        *[f"- {line}" for line in text.splitlines()],
        "",
        table,
    ])
    update_results_section(args.results_md, "noise_aware_layout", section)
    print(f"wrote section 'noise_aware_layout' of {args.results_md}")


if __name__ == "__main__":
    main()
