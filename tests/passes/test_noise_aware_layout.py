"""Noise-aware layout: valid connected placements, exact compilation, ESP against hand sums."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import rustworkx as rx
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.circuit.library import CZGate, Measure, RZGate, SXGate, XGate
from qiskit.converters import circuit_to_dag
from qiskit.transpiler import (
    CouplingMap,
    InstructionProperties,
    PassManager,
    PassManagerConfig,
    Target,
    generate_preset_pass_manager,
)

from qiskit_qattn.circuits import qaoa_attention, softmax_state
from qiskit_qattn.passes.noise_aware_layout import NoiseAwareLayout, estimated_success_probability
from qiskit_qattn.passes.preset.plugin import QAttnLayoutPlugin
from qiskit_qattn.passes.preset.stages import noise_aware_layout_pass_manager
from qiskit_qattn.passes.verify import equivalent_on_device

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "noise_aware_layout.py"


def _line_target(n: int, good: set[int]) -> Target:
    """A line of ``n`` qubits; qubits in ``good`` and couplers inside it are 50x better."""
    target = Target(num_qubits=n)
    cz = {}
    for a in range(n - 1):
        err = 0.001 if {a, a + 1} <= good else 0.05
        cz[(a, a + 1)] = InstructionProperties(error=err, duration=1e-7)
        cz[(a + 1, a)] = InstructionProperties(error=err, duration=1e-7)
    target.add_instruction(CZGate(), cz)
    one = {(q,): InstructionProperties(error=1e-4 if q in good else 5e-3) for q in range(n)}
    target.add_instruction(SXGate(), dict(one))
    target.add_instruction(XGate(), dict(one))
    target.add_instruction(
        RZGate(Parameter("t")), {(q,): InstructionProperties(error=0.0) for q in range(n)}
    )
    readout = {(q,): InstructionProperties(error=0.01 if q in good else 0.1) for q in range(n)}
    target.add_instruction(Measure(), readout)
    return target


def _stage_pm(backend, seed: int) -> PassManager:
    pm = generate_preset_pass_manager(3, backend=backend, seed_transpiler=seed)
    pm.layout = noise_aware_layout_pass_manager(
        PassManagerConfig.from_backend(backend, seed_transpiler=seed), 3, candidates=3
    )
    return pm


def test_layout_is_injective_onto_a_connected_region(torino, rng):
    qc = qaoa_attention(rng.normal(size=16), reps=1, phase_separator="diagonal")
    layout_pass = NoiseAwareLayout(torino.target, seed=0, candidates=3)
    graph = torino.target.build_coupling_map().graph.to_undirected()
    regions = [lay for label, lay in layout_pass.candidate_layouts(circuit_to_dag(qc)) if lay]
    assert len(regions) == 3
    for layout in regions:
        physical = [layout[q] for q in qc.qubits]
        assert len(set(physical)) == qc.num_qubits
        assert rx.is_connected(graph.subgraph(physical))
    pm = PassManager([layout_pass])
    pm.run(qc)
    layout = pm.property_set["layout"]
    physical = [layout[q] for q in qc.qubits]
    assert len(set(physical)) == qc.num_qubits
    assert all(0 <= p < torino.target.num_qubits for p in physical)
    choice = pm.property_set["noise_aware_layout_choice"]
    scores = {s["candidate"]: s for s in pm.property_set["noise_aware_layout_scores"]}
    assert scores[choice]["esp"] == max(s["esp"] for s in scores.values())
    assert scores[choice]["physical"] == sorted(physical)


@pytest.mark.parametrize("device", ["torino", "sherbrooke"])
def test_compiled_circuits_are_equivalent(request, rng, device):
    backend = request.getfixturevalue(device)
    for qc in (
        softmax_state(rng.normal(size=8)),
        qaoa_attention(rng.normal(size=8), reps=1, phase_separator="diagonal"),
    ):
        out = _stage_pm(backend, seed=1).run(qc)
        assert equivalent_on_device(qc, out)


def test_stage_result_is_the_best_scored_candidate(torino, rng):
    qc = softmax_state(rng.normal(size=16))
    qc.measure_all()
    pm = _stage_pm(torino, seed=0)
    out = pm.run(qc)
    best = max(s["esp"] for s in pm.property_set["noise_aware_layout_scores"])
    assert estimated_success_probability(out, torino.target) == pytest.approx(best, rel=1e-12)
    ref = generate_preset_pass_manager(3, backend=torino, seed_transpiler=0).run(qc)
    assert estimated_success_probability(out, torino.target) >= estimated_success_probability(
        ref, torino.target
    ) * (1 - 1e-12)


def test_layout_lands_on_the_well_calibrated_region():
    good = {7, 8, 9, 10}
    target = _line_target(12, good)
    qc = QuantumCircuit(4)
    qc.h(0)
    for a in range(3):
        qc.cx(a, a + 1)
    qc.measure_all()
    pm = PassManager([NoiseAwareLayout(target, seed=3, candidates=4)])
    pm.run(qc)
    layout = pm.property_set["layout"]
    assert {layout[q] for q in qc.qubits} == good


def test_esp_matches_a_hand_computation(torino):
    t = torino.target
    qc = QuantumCircuit(t.num_qubits, 2)
    a, b = next(iter(t["cz"].keys()))
    qc.sx(a)
    qc.rz(0.3, b)
    qc.barrier()
    qc.cz(a, b)
    qc.delay(100, a)
    qc.x(b)
    qc.measure(a, 0)
    qc.measure(b, 1)
    expected = (
        (1 - t["sx"][(a,)].error)
        * (1 - t["rz"][(b,)].error)
        * (1 - t["cz"][(a, b)].error)
        * (1 - t["x"][(b,)].error)
        * (1 - t["measure"][(a,)].error)
        * (1 - t["measure"][(b,)].error)
    )
    assert estimated_success_probability(qc, t) == pytest.approx(expected, rel=1e-12)
    unmeasured = qc.remove_final_measurements(inplace=False)
    with_readout = estimated_success_probability(unmeasured, t, readout_qubits=[a, b])
    assert with_readout == pytest.approx(expected, rel=1e-12)


def test_esp_missing_error_counts_as_mean():
    target = Target(num_qubits=3)
    target.add_instruction(
        SXGate(),
        {
            (0,): InstructionProperties(error=0.1),
            (1,): InstructionProperties(error=0.3),
            (2,): InstructionProperties(error=None),
        },
    )
    qc = QuantumCircuit(3)
    qc.sx(2)
    assert estimated_success_probability(qc, target) == pytest.approx(0.8)
    assert math.isclose(estimated_success_probability(QuantumCircuit(3), target), 1.0)


def test_bad_input_raises_value_error_naming_the_parameter(torino):
    with pytest.raises(ValueError, match="target"):
        NoiseAwareLayout("torino")
    with pytest.raises(ValueError, match="candidates"):
        NoiseAwareLayout(torino.target, candidates=-1)
    with pytest.raises(ValueError, match="seed"):
        NoiseAwareLayout(torino.target, seed="zero")
    with pytest.raises(ValueError, match="optimization_level"):
        NoiseAwareLayout(torino.target, optimization_level=7)
    with pytest.raises(ValueError, match="coherence_weight"):
        NoiseAwareLayout(torino.target, coherence_weight=-1.0)
    qc = QuantumCircuit(2)
    qc.cx(0, 1)
    with pytest.raises(ValueError, match="circuit"):
        estimated_success_probability(qc, torino.target)
    with pytest.raises(ValueError, match="target"):
        estimated_success_probability(QuantumCircuit(1), None)


def test_plugin_without_target_falls_back_to_qiskit(rng):
    qc = qaoa_attention(rng.normal(size=8), reps=1)
    config = PassManagerConfig(
        coupling_map=CouplingMap.from_line(3), basis_gates=["cx", "rz", "sx"], seed_transpiler=0
    )
    pm = generate_preset_pass_manager(
        3, coupling_map=CouplingMap.from_line(3), basis_gates=["cx", "rz", "sx"], seed_transpiler=0
    )
    ref = pm.run(qc)
    pm.layout = QAttnLayoutPlugin().pass_manager(config, 3)
    out = pm.run(qc)
    assert equivalent_on_device(qc, out)
    assert out == ref


def test_benchmark_core_runs_on_a_tiny_case(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_noise_aware_layout", BENCH)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(bench, "FAMILIES", {"softmax_state": softmax_state})
    rows = bench.run(seeds=1, candidates=1, sizes=(3,))
    assert {r["variant"] for r in rows} == {"O3", "O3+qattn", "layout=qattn"}
    base = {r["device"]: r["esp_median"] for r in rows if r["variant"] == "O3"}
    for r in rows:
        assert r["esp_median"] >= base[r["device"]] * (1 - 1e-9)
    assert "| device |" in bench.markdown(rows)
    assert "layout=qattn" in bench.summary(rows)
