"""ISA-compiled QNNs on fake devices equal the logical ones; bad layouts fail clearly."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.quantum_info import SparsePauliOp

from qiskit_qattn.qml import (
    check_layout,
    compile_for_device,
    estimator_qnn,
    key_distribution_qnn,
    make_estimator,
    make_sampler,
    qsann_qnn,
    sampler_qnn,
    self_attention_circuit,
    self_attention_qnn,
)


@pytest.mark.parametrize("build", [
    lambda **o: qsann_qnn(2, input_gradients=True, **o),
    lambda **o: self_attention_qnn(4, 2, value_qubits=2, input_gradients=True, **o),
])
def test_isa_qnn_on_fake_torino_equals_logical_qnn(build, rng, aer_estimator):
    logical = build(estimator=aer_estimator)  # exact too; the dense check is test_factories'
    isa = build(device="fake_torino", estimator=aer_estimator)
    assert isa.circuit.num_qubits == 133
    ops = set(isa.circuit.count_ops())
    assert ops <= {"rz", "sx", "x", "cz"}, ops  # the device's ISA, parameters still unbound
    assert isa.circuit.num_parameters == logical.circuit.num_parameters
    x = rng.uniform(0, np.pi, (2, logical.num_inputs))
    w = rng.normal(scale=0.7, size=logical.num_weights)
    np.testing.assert_allclose(isa.forward(x, w), logical.forward(x, w), atol=1e-10)
    (gx_i, gw_i), (gx_l, gw_l) = isa.backward(x, w), logical.backward(x, w)
    np.testing.assert_allclose(gw_i, gw_l, atol=1e-9)
    np.testing.assert_allclose(gx_i, gx_l, atol=1e-9)


def test_isa_sampler_qnn_decodes_device_qubits_back_to_keys(rng):
    shots = 20_000
    logical = key_distribution_qnn(4, 2, shots=shots,
                                   sampler=make_sampler("reference", shots=shots, seed=3))
    isa = key_distribution_qnn(4, 2, device="fake_torino", shots=shots,
                               sampler=make_sampler("aer", shots=shots, seed=4),
                               initial_layout=[57, 58])
    measured = [inst.qubits[0]._index for inst in isa.circuit.data
                if inst.operation.name == "measure"]
    assert all(q >= 50 for q in measured)  # keys really live on high device qubits
    x = rng.uniform(0, np.pi, (2, 8))
    w = rng.normal(scale=0.7, size=5)
    np.testing.assert_allclose(isa.forward(x, w), logical.forward(x, w), atol=0.025)
    np.testing.assert_allclose(isa.backward(x, w)[1], logical.backward(x, w)[1], atol=0.06)


def test_default_sampler_gradient_on_isa_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="ISA SamplerQNN"):
        key_distribution_qnn(2, 1, device="fake_torino", gradient="default")


@pytest.mark.parametrize("layout, match", [
    ([0, 1], "place all 3"),
    ([0, 0, 1], "two circuit qubits on one device qubit"),
    ([0, 1, 500], "does not have"),
    (7, "sequence"),
])
def test_bad_initial_layouts_are_named(layout, match):
    with pytest.raises((ValueError, TypeError), match=match):
        self_attention_qnn(4, 2, device="fake_torino", initial_layout=layout)


def test_observables_not_laid_out_for_the_isa_circuit_are_caught():
    ac = self_attention_circuit(4, 2)
    compiled = compile_for_device(ac.circuit, ac.observables, "fake_torino",
                                  initial_layout=[10, 11, 12])
    logical_obs_padded = [ac.observables[0].apply_layout(None, 133)]  # still on qubit 2
    with pytest.raises(ValueError, match="hold no qubit of the circuit"):
        check_layout(compiled.circuit, logical_obs_padded)
    with pytest.raises(ValueError, match="acts on 3 qubits but the circuit has 133"):
        check_layout(compiled.circuit, ac.observables)
    check_layout(compiled.circuit, compiled.observables)  # the laid-out ones pass


def test_reference_primitive_is_refused_for_a_whole_device():
    with pytest.raises(ValueError, match="simulates all 133 qubits"):
        self_attention_qnn(4, 2, device="fake_torino", estimator=make_estimator("reference"))


def test_unbound_and_misassigned_parameters_give_clear_errors():
    x, w, extra = Parameter("x"), Parameter("w"), Parameter("extra")
    qc = QuantumCircuit(1)
    qc.ry(x, 0)
    qc.rz(w, 0)
    qc.rx(extra, 0)
    obs = [SparsePauliOp("Z")]
    with pytest.raises(ValueError, match=r"\['extra'\] are neither inputs nor weights"):
        estimator_qnn(qc, obs, [x], [w])
    with pytest.raises(ValueError, match="both inputs and weights"):
        estimator_qnn(qc, obs, [x, extra], [w, extra])
    with pytest.raises(ValueError, match="not in the circuit"):
        estimator_qnn(qc, obs, [x, extra, Parameter("ghost")], [w])
    with pytest.raises(ValueError, match="initial_layout needs device"):
        estimator_qnn(qc, obs, [x, extra], [w], initial_layout=[0])
    with pytest.raises(ValueError, match="must be unmeasured"):
        measured = qc.copy()
        measured.measure_all()
        sampler_qnn(measured, [x, extra], [w])
    with pytest.raises(ValueError, match="first k logical qubits"):
        sampler_qnn(QuantumCircuit(2), [], [], key_qubits=[1])


def test_amplitude_encoded_inputs_are_refused_with_the_reason():
    from qiskit_machine_learning.circuit.library import raw_feature_vector

    fv = raw_feature_vector(4)
    qc = QuantumCircuit(2)
    qc.compose(fv, inplace=True)
    with pytest.raises(ValueError, match="loads parameters as amplitudes"):
        estimator_qnn(qc, [SparsePauliOp("ZZ")], list(qc.parameters), [])


def test_compilation_that_drops_a_parameter_is_refused():
    from qiskit.transpiler import PassManager, TransformationPass, generate_preset_pass_manager

    from qiskit_qattn.runtime import resolve_device

    class DropFirstRz(TransformationPass):  # stands in for an over-eager custom stage
        def run(self, dag):
            node = next(iter(dag.named_nodes("rz")), None)
            if node is not None:
                dag.remove_op_node(node)
            return dag

    v = ParameterVector("v", 2)
    qc = QuantumCircuit(1)
    qc.rz(v[0], 0)
    qc.rx(v[1], 0)
    device = resolve_device("fake_nairobi")
    ok = compile_for_device(qc, [SparsePauliOp("Z")], device)
    assert set(ok.circuit.parameters) == set(v)
    pm = generate_preset_pass_manager(optimization_level=1, backend=device, seed_transpiler=0)
    pm.post_optimization = PassManager([DropFirstRz()])
    with pytest.raises(ValueError, match=r"removed parameters \['v\[0\]'\]"):
        compile_for_device(qc, [SparsePauliOp("Z")], device, pass_manager=pm)
