import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import Operator
from qiskit.transpiler import Target
from qiskit_ibm_runtime.fake_provider import FakeTorino

from qiskit_qattn.circuits import prepare_head
from qiskit_qattn.mitigation import check_scale_factors, fold_circuit, fold_circuits
from qiskit_qattn.passes import compact_circuit, compile_circuits
from qiskit_qattn.viz.report import two_qubit_count


@pytest.fixture(scope="module")
def torino():
    return FakeTorino()


@pytest.fixture(scope="module")
def isa(torino):
    rng = np.random.default_rng(5)
    q, k, v = rng.normal(size=(2, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
    return compile_circuits(prepare_head(q, k, v).circuits, torino, measure=True)


@pytest.fixture(scope="module")
def small_isa(isa):
    """The first compiled circuit on its active qubits, measurements removed (for Operators)."""
    body = isa[0].remove_final_measurements(inplace=False)
    return compact_circuit(body)[0]


@pytest.mark.parametrize("method", ["global", "local", "random", "identity"])
@pytest.mark.parametrize("scale", [1, 1.6, 2, 3, 5])
def test_folded_isa_circuit_is_operator_equal(small_isa, torino, method, scale):
    folded = fold_circuit(small_isa, scale, method=method, target=torino.target, seed=3)
    # Equal including the global phase: the ISA inverse of sx carries a phase correction.
    assert Operator(folded) == Operator(small_isa)
    # Still ISA: nothing outside the device's instruction set was introduced.
    assert set(folded.count_ops()) <= set(torino.target.operation_names)
    achieved = folded.metadata["scale_factor"]
    assert achieved == pytest.approx(scale, abs=0.1)


@pytest.mark.parametrize("method", ["global", "local", "random"])
def test_two_qubit_count_scales_with_factor_after_compilation(isa, torino, method):
    base = two_qubit_count(isa[0])
    assert base > 0
    counts = [two_qubit_count(fold_circuit(isa[0], s, method=method, target=torino.target,
                                           seed=1)) for s in (1, 3, 5)]
    assert counts == [base, 3 * base, 5 * base]


def test_retranspiling_cancels_the_folds(isa, torino):
    """Why folded circuits must run as they are: an optimising transpile undoes the folding."""
    base = two_qubit_count(isa[0])
    folded = fold_circuit(isa[0], 5, target=torino.target)
    again = compile_circuits(folded, torino, optimization_level=3)[0]
    assert two_qubit_count(folded) == 5 * base
    assert two_qubit_count(again) < 5 * base


def test_measurements_stay_final_and_input_untouched(isa, torino):
    original = isa[0].copy()
    folded = fold_circuit(isa[0], 3, target=torino.target)
    assert isa[0] == original
    tail = [inst.operation.name for inst in folded.data[-isa[0].num_clbits:]]
    assert tail == ["measure"] * isa[0].num_clbits
    assert folded.count_ops()["measure"] == isa[0].count_ops()["measure"]


def test_only_two_qubit_gates_folded_locally(small_isa):
    folded = fold_circuit(small_isa, 3, method="local", gates="two_qubit")
    ops, base = folded.count_ops(), small_isa.count_ops()
    assert ops["cz"] == 3 * base["cz"]
    assert ops["sx"] == base["sx"]
    assert Operator(folded).equiv(Operator(small_isa))


def test_fractional_global_fold_counts(small_isa):
    n = sum(v for k, v in small_isa.count_ops().items() if k != "rz")
    folded = fold_circuit(small_isa, 2.0)
    noisy = sum(v for k, v in folded.count_ops().items() if k != "rz")
    assert noisy == pytest.approx(2 * n, abs=2)
    assert folded.metadata["scale_factor"] == pytest.approx(noisy / n)


def test_random_folding_is_seeded(small_isa):
    a = fold_circuit(small_isa, 2, method="random", seed=7)
    b = fold_circuit(small_isa, 2, method="random", seed=7)
    c = fold_circuit(small_isa, 2, method="random", seed=8)
    assert a == b
    assert a != c


def test_identity_insertion_scales_depth(small_isa):
    folded = fold_circuit(small_isa, 3, method="identity")
    assert folded.count_ops()["id"] > 0
    assert folded.metadata["scale_factor"] == pytest.approx(3.0)
    assert two_qubit_count(folded) == two_qubit_count(small_isa)
    no_id = Target(num_qubits=small_isa.num_qubits)
    with pytest.raises(ValueError, match="needs an 'id'"):
        fold_circuit(small_isa, 3, method="identity", target=no_id)


def test_batch_is_scale_major(isa, torino):
    batch, achieved = fold_circuits(isa, [1, 3], target=torino.target)
    assert len(batch) == 2 * len(isa)
    assert achieved.shape == (2, len(isa))
    assert [two_qubit_count(c) for c in batch[len(isa):]] == [
        3 * two_qubit_count(c) for c in isa
    ]


def test_mid_circuit_measurement_rejected():
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    qc.cx(0, 1)
    qc.measure(1, 1)
    with pytest.raises(ValueError, match="mid-circuit measurement on qubit 0"):
        fold_circuit(qc, 3)
    twice = QuantumCircuit(1, 2)
    twice.measure(0, 0)
    twice.measure(0, 1)
    with pytest.raises(ValueError, match="mid-circuit"):
        fold_circuit(twice, 3)


def test_unbound_parameters_rejected():
    qc = QuantumCircuit(1)
    qc.rx(Parameter("theta"), 0)
    with pytest.raises(ValueError, match=r"unbound parameters \['theta'\]"):
        fold_circuit(qc, 3)


def test_reset_and_control_flow_rejected():
    qc = QuantumCircuit(1, 1)
    qc.reset(0)
    with pytest.raises(ValueError, match="reset"):
        fold_circuit(qc, 3)
    flow = QuantumCircuit(1, 1)
    flow.measure(0, 0)
    with flow.if_test((flow.clbits[0], 1)):
        flow.x(0)
    with pytest.raises(ValueError, match="control flow"):
        fold_circuit(flow, 3)


@pytest.mark.parametrize("bad", [0.5, 0, -3, float("nan"), float("inf")])
def test_scale_factors_below_one_rejected(bad):
    qc = QuantumCircuit(1)
    qc.x(0)
    with pytest.raises(ValueError, match="scale factors must be real numbers >= 1"):
        fold_circuit(qc, bad)
    with pytest.raises(ValueError, match="scale factors must be real numbers >= 1"):
        check_scale_factors([1, bad])


def test_bad_options():
    qc = QuantumCircuit(1)
    qc.x(0)
    with pytest.raises(ValueError, match="method must be one of"):
        fold_circuit(qc, 3, method="sideways")
    with pytest.raises(ValueError, match="gates must be one of"):
        fold_circuit(qc, 3, gates="some")
    with pytest.raises(TypeError, match="QuantumCircuit"):
        fold_circuit("qc", 3)
    with pytest.raises(TypeError, match="scale_factor"):
        fold_circuit(qc, "3")
    with pytest.raises(ValueError, match="at least two"):
        check_scale_factors([3])
    with pytest.raises(ValueError, match="distinct"):
        check_scale_factors([1, 1])


def test_measurement_followed_by_gates_on_other_qubits():
    """A final measurement need not be last in the list: it commutes past other qubits' gates."""
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    qc.x(1)
    qc.sx(1)
    qc.measure(1, 1)
    folded = fold_circuit(qc, 3)
    ops = folded.count_ops()
    assert ops["sx"] + ops["sxdg"] == 3 and ops["h"] == 3 and ops["x"] == 3
    assert Operator(folded.remove_final_measurements(inplace=False)) == Operator(
        qc.remove_final_measurements(inplace=False))
    assert [i.operation.name for i in folded.data[-2:]] == ["measure", "measure"]


def test_non_unitary_instruction_rejected():
    qc = QuantumCircuit(1)
    qc.initialize([0, 1], 0)
    with pytest.raises(ValueError, match="non-unitary instruction 'initialize'"):
        fold_circuit(qc, 3)
