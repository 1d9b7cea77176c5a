"""De-routing, phase-block recovery and logical recompilation against dense references."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import PauliEvolutionGate
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Operator, SparsePauliOp, Statevector, process_fidelity
from qiskit.transpiler import CouplingMap, PassManager, generate_preset_pass_manager

from qiskit_qattn.circuits import qaoa_attention, softmax_state
from qiskit_qattn.passes.deroute import deroute
from qiskit_qattn.passes.logical_recompile import LogicalRecompile
from qiskit_qattn.passes.phase_block_recovery import PhaseBlockRecovery, recover_phase_blocks
from qiskit_qattn.passes.stash_routed_circuit import ROUTED_DAG_KEY, StashRoutedCircuit
from qiskit_qattn.passes.verify import layout_aware_operators, state_fidelity_on_device

A2A = ["cx", "rz", "sx", "x"]


def _assert_equivalent(expected: Operator, actual: Operator, tol: float = 1e-9) -> None:
    # Qiskit's own O3 is exact only to ~1e-10 in process fidelity on long circuits.
    assert process_fidelity(actual, expected) == pytest.approx(1.0, abs=tol)


def _random_walsh_evolution(rng, n: int, terms: int) -> QuantumCircuit:
    labels = set()
    while len(labels) < terms:
        bits = rng.integers(0, 2, size=n)
        if bits.sum():
            labels.add("".join("Z" if b else "I" for b in bits))
    op = SparsePauliOp(sorted(labels), rng.normal(size=len(labels)))
    qc = QuantumCircuit(n)
    qc.h(range(n))
    qc.append(PauliEvolutionGate(op, 0.7), range(n))
    qc.rx(0.4, range(n))
    return qc


# ----------------------------------------------------------------------------------- deroute
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deroute_of_sabre_routed_circuits_is_exact(seed):
    qc = random_circuit(6, 8, max_operands=2, seed=seed)
    routed = transpile(qc, basis_gates=A2A, coupling_map=CouplingMap.from_line(6),
                       optimization_level=1, seed_transpiler=seed, layout_method="trivial")
    out = deroute(routed)
    assert Operator(out.permutation_circuit()).equiv(Operator(routed))
    assert sorted(out.data_at_end) == list(range(6))


def test_deroute_removes_the_routers_swaps():
    qc = QuantumCircuit(4)
    for a, b in [(0, 3), (1, 3), (0, 2), (0, 3)]:
        qc.cx(a, b)
        qc.rz(0.3, b)
    routed = transpile(qc, basis_gates=A2A, coupling_map=CouplingMap.from_line(4),
                       optimization_level=0, seed_transpiler=1, layout_method="trivial")
    out = deroute(routed)
    assert out.swaps_absorbed >= 1
    assert out.circuit.num_nonlocal_gates() < routed.num_nonlocal_gates()
    assert Operator(out.permutation_circuit()).equiv(Operator(routed))


def test_deroute_keeps_measurements_on_the_moved_data():
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 1)
    qc.swap(0, 2)
    qc.x(2)
    qc.measure([0, 1, 2], [0, 1, 2])
    out = deroute(qc)
    assert out.data_at_end == [2, 1, 0]
    measured = {out.circuit.find_bit(i.qubits[0]).index: out.circuit.find_bit(i.clbits[0]).index
                for i in out.circuit.data if i.operation.name == "measure"}
    assert measured == {2: 0, 1: 1, 0: 2}


# ---------------------------------------------------------------------------------- recovery
@pytest.mark.parametrize("n,terms", [(3, 5), (4, 9), (5, 20), (6, 40)])
def test_recovery_of_pauli_evolutions_is_exact_and_cheaper(rng, n, terms):
    qc = _random_walsh_evolution(rng, n, terms)
    ladder = transpile(qc, basis_gates=A2A, optimization_level=1)
    out, report = recover_phase_blocks(ladder)
    assert Operator(out).equiv(Operator(qc))
    assert report.rewritten >= 1
    assert report.cx_after < report.cx_before
    assert transpile(out, basis_gates=A2A, optimization_level=1).num_nonlocal_gates() <= (
        ladder.num_nonlocal_gates()
    )


def test_recovery_of_a_block_with_linear_part(rng):
    qc = QuantumCircuit(4)
    for a, b in [(0, 1), (1, 2), (2, 3), (0, 3), (1, 3)]:
        qc.cx(a, b)
        qc.p(rng.normal(), b)
    qc.x(2)
    out, report = recover_phase_blocks(qc)
    assert report.blocks == 1
    assert Operator(out).equiv(Operator(qc))


def test_recovery_with_budget_respects_its_bound(rng):
    n = 5
    qc = _random_walsh_evolution(rng, n, 25)
    ladder = transpile(qc, basis_gates=A2A, optimization_level=1)
    out, report = recover_phase_blocks(ladder, error_budget=0.3)
    assert 0 < report.error_bound <= 0.3
    diff = Operator(out).data - Operator(ladder).data
    # The dropped terms bound the operator-norm error up to a global phase.
    phases = np.angle(np.trace(Operator(ladder).data.conj().T @ Operator(out).data))
    assert np.linalg.norm(Operator(out).data * np.exp(-1j * phases) - Operator(ladder).data, 2) <= (
        report.error_bound + 1e-9
    )
    assert np.linalg.norm(diff) > 0


def test_recovery_pass_rejects_bad_budget():
    with pytest.raises(ValueError, match="error_budget"):
        PhaseBlockRecovery(error_budget=-1.0)
    with pytest.raises(ValueError, match="error_budget"):
        recover_phase_blocks(QuantumCircuit(1), error_budget=float("nan"))


# ------------------------------------------------------------------------- logical recompile
def _pm_with(backend, seed=0):
    pm = generate_preset_pass_manager(3, backend=backend, seed_transpiler=seed)
    pm.pre_optimization = PassManager([StashRoutedCircuit()])
    pm.optimization.append(LogicalRecompile(backend.target, seeds=[seed]))
    return pm


@pytest.mark.parametrize("device", ["torino", "sherbrooke"])
@pytest.mark.parametrize("m", [3, 4, 5])
def test_recompiled_walsh_qaoa_is_exact_and_smaller(request, rng, device, m):
    backend = request.getfixturevalue(device)
    qc = qaoa_attention(rng.normal(size=2**m), reps=1, phase_separator="walsh")
    o3 = generate_preset_pass_manager(3, backend=backend, seed_transpiler=0).run(qc)
    out = _pm_with(backend).run(qc)
    _assert_equivalent(*layout_aware_operators(qc, out))
    assert out.num_nonlocal_gates() < o3.num_nonlocal_gates()


def test_recompile_rewrites_layouts_consistently_for_measured_circuits(torino, rng):
    qc = qaoa_attention(rng.normal(size=16), reps=2, phase_separator="walsh")
    measured = qc.copy()
    measured.measure_all()
    out = _pm_with(torino).run(measured)
    assert state_fidelity_on_device(qc, out) == pytest.approx(1.0, abs=1e-9)
    # Each classical bit still reads the virtual qubit it read before.
    from qiskit_qattn.noise.distributions import noisy_distributions

    probs = noisy_distributions([out], noise_model=None)[0]
    np.testing.assert_allclose(probs, Statevector(qc).probabilities(), atol=1e-9)


def test_recompile_leaves_parameterized_circuits_alone(torino):
    from qiskit.circuit import Parameter

    qc = QuantumCircuit(3)
    qc.h(range(3))
    qc.rzz(Parameter("g"), 0, 2)
    qc.rzz(Parameter("h"), 1, 2)
    out = _pm_with(torino).run(qc)
    assert out.num_parameters == 2


def test_recompile_never_exceeds_o3_on_amplitude_encoding(sherbrooke, rng):
    qc = softmax_state(rng.normal(size=16))
    o3 = generate_preset_pass_manager(3, backend=sherbrooke, seed_transpiler=0).run(qc)
    out = _pm_with(sherbrooke).run(qc)
    assert out.num_nonlocal_gates() <= o3.num_nonlocal_gates()
    _assert_equivalent(*layout_aware_operators(qc, out))


def test_stash_keeps_an_independent_copy():
    qc = QuantumCircuit(2)
    qc.cx(0, 1)
    pm = PassManager([StashRoutedCircuit()])
    pm.run(qc)
    stash = pm.property_set[ROUTED_DAG_KEY]
    assert stash.count_ops() == {"cx": 1}


def test_logical_recompile_validates_its_arguments():
    with pytest.raises(ValueError, match="seeds"):
        LogicalRecompile(None, seeds=[])
    with pytest.raises(ValueError, match="optimization_level"):
        LogicalRecompile(None, optimization_level=0)


@pytest.mark.parametrize("seed", [3, 4])
def test_plugin_on_random_measured_circuits_keeps_distributions(torino, seed):
    from qiskit_qattn.noise.distributions import noisy_distributions

    qc = random_circuit(5, 8, max_operands=2, seed=seed)
    measured = qc.copy()
    measured.measure_all()
    out = transpile(measured, torino, optimization_level=3, seed_transpiler=seed,
                    optimization_method="qattn")
    probs = noisy_distributions([out], noise_model=None)[0]
    np.testing.assert_allclose(probs, Statevector(qc).probabilities(), atol=1e-8)
    unmeasured = transpile(qc, torino, optimization_level=3, seed_transpiler=seed,
                           optimization_method="qattn")
    _assert_equivalent(*layout_aware_operators(qc, unmeasured))


def test_stage_budget_is_certified_by_measured_fidelity(torino, rng):
    from qiskit.transpiler import PassManagerConfig

    from qiskit_qattn.passes import fidelity_lower_bound, qattn_optimization_stage

    qc = qaoa_attention(rng.normal(size=32) * 0.2, reps=1, phase_separator="walsh")
    bounds = []
    for degree in (1.0, 0.999, 0.99, 0.9):
        pm = generate_preset_pass_manager(3, backend=torino, seed_transpiler=0,
                                          approximation_degree=1.0)
        config = PassManagerConfig.from_backend(torino, seed_transpiler=0,
                                                approximation_degree=degree)
        pm.optimization = qattn_optimization_stage(config, 3)
        out = pm.run(qc)
        bound = pm.property_set["qattn_error_bound"] or 0.0
        bounds.append(bound)
        assert state_fidelity_on_device(qc, out) >= fidelity_lower_bound(bound) - 1e-9
        assert fidelity_lower_bound(bound) >= degree - 1e-12
    assert bounds[0] == 0.0 and bounds[-1] > 0.0


def test_no_coupling_target_gets_the_recovered_phase_separator(rng):
    from qiskit.circuit import Parameter
    from qiskit.circuit.library import CXGate, RZGate, SXGate, XGate
    from qiskit.transpiler import Target

    target = Target(num_qubits=5)
    for gate in (CXGate(), RZGate(Parameter("t")), SXGate(), XGate()):
        target.add_instruction(gate)
    qc = qaoa_attention(rng.normal(size=32), reps=1, phase_separator="walsh")
    o3 = transpile(qc, target=target, optimization_level=3)
    out = transpile(qc, target=target, optimization_level=3, optimization_method="qattn")
    assert out.num_nonlocal_gates() < o3.num_nonlocal_gates()
    _assert_equivalent(Operator(qc), Operator(out))


def test_user_initial_layout_is_respected(torino, rng):
    qc = qaoa_attention(rng.normal(size=16), reps=1, phase_separator="walsh")
    layout = [10, 11, 12, 13]
    out = transpile(qc, torino, optimization_level=3, seed_transpiler=0, initial_layout=layout,
                    optimization_method="qattn")
    assert out.layout.initial_index_layout(filter_ancillas=True) == layout
    _assert_equivalent(*layout_aware_operators(qc, out))


@pytest.mark.parametrize("device", ["torino", "sherbrooke"])
def test_init_plugin_is_exact_on_attention_and_random_circuits(request, rng, device):
    from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins

    assert "qattn" in list_stage_plugins("init")
    backend = request.getfixturevalue(device)
    circuits = [
        qaoa_attention(rng.normal(size=16), reps=2, phase_separator="walsh"),
        qaoa_attention(rng.normal(size=8), reps=1, phase_separator="diagonal"),
        random_circuit(4, 6, max_operands=2, seed=5),
    ]
    for qc in circuits:
        out = transpile(qc, backend, optimization_level=3, seed_transpiler=1,
                        init_method="qattn", optimization_method="qattn")
        _assert_equivalent(*layout_aware_operators(qc, out))


def test_init_plugin_prepares_the_softmax_state(torino, rng):
    qc = softmax_state(rng.normal(size=32))
    out = transpile(qc, torino, optimization_level=3, seed_transpiler=0, init_method="qattn")
    assert state_fidelity_on_device(qc, out) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("level", [1, 3])
def test_permutations_elided_before_layout_stay_accounted_for(level):
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    qc = random_circuit(5, 9, max_operands=2, seed=8)
    qc.swap(0, 4)
    qc.swap(1, 2)
    out = transpile(qc, FakeManilaV2(), optimization_level=level, seed_transpiler=8,
                    optimization_method="qattn")
    _assert_equivalent(*layout_aware_operators(qc, out))


def test_frame_free_recovery_separates_phase_separators(rng):
    qc = qaoa_attention(rng.normal(size=32), reps=2, phase_separator="diagonal")
    out, report = recover_phase_blocks(qc, frames=False)
    assert report.blocks == 2 and report.rewritten == 2
    _assert_equivalent(Operator(qc), Operator(out), tol=1e-10)


def test_recovery_keeps_equal_cost_blocks_when_ties_are_not_wanted(rng):
    from qiskit.converters import circuit_to_dag, dag_to_circuit

    from qiskit_qattn.passes.phase_block_recovery import recover_phase_blocks_dag

    qc = qaoa_attention(rng.normal(size=16), reps=1, phase_separator="diagonal")
    dag = circuit_to_dag(qc)
    same = recover_phase_blocks_dag(dag, frames=False, replace_ties=False)
    assert same is dag  # a dense diagonal already costs 2^k - 2: nothing to gain all-to-all
    rewritten = dag_to_circuit(recover_phase_blocks_dag(dag, frames=False))
    _assert_equivalent(Operator(qc), Operator(rewritten), tol=1e-10)
