import pytest
from qiskit import transpile
from qiskit.circuit import Parameter
from qiskit.circuit.library import CXGate, RZGate, SXGate, XGate
from qiskit.circuit.random import random_circuit
from qiskit.transpiler import Target, generate_preset_pass_manager
from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins

from qiskit_qattn.circuits import qaoa_attention, softmax_state
from qiskit_qattn.passes import compile_qattn
from qiskit_qattn.passes.verify import equivalent_on_device
from qiskit_qattn.viz.report import two_qubit_count


def _in_isa(circuit, target):
    return all(
        target.instruction_supported(
            inst.operation.name, tuple(circuit.find_bit(q).index for q in inst.qubits)
        )
        for inst in circuit.data
        if inst.operation.name != "barrier"
    )


def test_plugin_is_registered():
    assert "qattn" in list_stage_plugins("optimization")


def _attention_circuits(rng):
    return [
        qaoa_attention(rng.normal(size=8), reps=2),
        qaoa_attention(rng.normal(size=16), reps=1, phase_separator="diagonal"),
        softmax_state(rng.normal(size=16)),
        random_circuit(4, 5, seed=11, max_operands=2),
    ]


@pytest.mark.parametrize("device", ["torino", "sherbrooke"])
def test_preset_pass_manager_runs_exact_isa_and_not_worse(request, rng, device):
    backend = request.getfixturevalue(device)
    pm = generate_preset_pass_manager(
        optimization_level=3, backend=backend, seed_transpiler=0, optimization_method="qattn"
    )
    ref = generate_preset_pass_manager(optimization_level=3, backend=backend, seed_transpiler=0)
    for qc in _attention_circuits(rng):
        out = pm.run(qc)
        assert _in_isa(out, backend.target)
        assert equivalent_on_device(qc, out)
        assert two_qubit_count(out) <= two_qubit_count(ref.run(qc))


def test_target_without_coupling_map(rng):
    target = Target(num_qubits=4)
    for gate in (CXGate(), RZGate(Parameter("θ")), SXGate(), XGate()):
        target.add_instruction(gate)
    assert target.build_coupling_map() is None
    qc = qaoa_attention(rng.normal(size=16), reps=1)
    out = transpile(qc, target=target, optimization_level=3, optimization_method="qattn")
    assert _in_isa(out, target)
    assert equivalent_on_device(qc, out)


def test_measured_circuit_keeps_its_counts(torino, rng):
    from qiskit.quantum_info import Statevector

    qc = qaoa_attention(rng.normal(size=8), reps=1)
    expected = Statevector(qc).probabilities_dict()
    measured = qc.copy()
    measured.measure_all()
    out = transpile(measured, torino, optimization_level=3, optimization_method="qattn")
    from qiskit_qattn.passes.idle_qubits import compact_circuit

    small, _ = compact_circuit(out)
    probs = Statevector(small.remove_final_measurements(inplace=False))
    # map measured clbits back: marginalise on the measured qubits in clbit order
    order = [None] * qc.num_qubits
    for inst in small.data:
        if inst.operation.name == "measure":
            order[small.find_bit(inst.clbits[0]).index] = small.find_bit(inst.qubits[0]).index
    got = probs.probabilities_dict(qargs=order)
    for key, p in expected.items():
        assert got.get(key, 0.0) == pytest.approx(p, abs=1e-8)


def test_compile_qattn_helper(torino, rng):
    from qiskit_qattn.passes.verify import state_fidelity_on_device

    qc = softmax_state(rng.normal(size=8))
    (out,) = compile_qattn(qc, torino)
    assert _in_isa(out, torino.target)
    # The init stage's path-native amplitude encoding keeps the prepared state.
    assert state_fidelity_on_device(qc, out) > 1 - 1e-9
    (plain,) = compile_qattn(qc, torino, init_method=None)
    assert equivalent_on_device(qc, plain)


def test_approximate_resynthesis_respects_its_bound(torino, rng):
    from qiskit.transpiler import PassManager, PassManagerConfig

    from qiskit_qattn.passes import CnotPhaseResynthesis, fidelity_lower_bound
    from qiskit_qattn.passes.preset.stages import isa_pass_manager
    from qiskit_qattn.passes.verify import state_fidelity_on_device

    qc = qaoa_attention(rng.normal(size=16), reps=2, phase_separator="diagonal")
    exact = transpile(qc, torino, optimization_level=3, seed_transpiler=0)
    bounds = []
    for budget in (0.0, 0.05, 0.3, 1.0):
        approx_pm = PassManager(
            CnotPhaseResynthesis(
                target=torino.target,
                post_pass_manager=isa_pass_manager(PassManagerConfig.from_backend(torino)),
                error_budget=budget,
            )
        )
        approx_pm.property_set["final_layout"] = None
        out = approx_pm.run(exact)
        out._layout = _merge_layout(exact, approx_pm.property_set["final_layout"])
        bound = approx_pm.property_set["qattn_error_bound"] or 0.0
        assert bound <= budget + 1e-12
        bounds.append(bound)
        fidelity = state_fidelity_on_device(qc, out)
        assert fidelity >= fidelity_lower_bound(bound) - 1e-9
        assert _in_isa(out, torino.target)
    assert bounds[0] == 0.0 and bounds[-1] > 0.0  # the approximation really dropped terms


def _merge_layout(exact, extra_final):
    """Layout of `exact` with the pass's extra permutation composed into final_layout."""
    import copy

    layout = copy.copy(exact.layout)
    if extra_final is not None:
        prev = layout.final_layout
        qubits = list(extra_final.get_virtual_bits())
        layout.final_layout = extra_final if prev is None else prev.compose(extra_final, qubits)
    return layout


@pytest.mark.parametrize(
    "module",
    [
        # Qiskit imports the stage plugins on every preset pass-manager build ...
        "qiskit_qattn.passes.preset.plugin",
        # ... and every HighLevelSynthesis plugin whenever HighLevelSynthesis runs.
        "qiskit_qattn.passes.synthesis.state_preparation",
    ],
)
def test_plugin_modules_are_import_light(module):
    import subprocess
    import sys

    code = (
        f"import sys, {module}\n"
        "bad = [m for m in sorted(sys.modules) if m in ('torch', 'numba', 'qiskit_aer',\n"
        "       'scipy.optimize') or (m.startswith('qiskit_qattn.passes.')\n"
        f"       and m != {module!r} and not {module!r}.startswith(m + '.'))]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
