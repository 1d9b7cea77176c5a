import importlib.util

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator, Statevector

from qiskit_qattn.circuits import prepare_head, qaoa_attention
from qiskit_qattn.circuits.families.qaoa import qaoa_template
from qiskit_qattn.interop import (
    dump_qasm3,
    load_circuits,
    load_qasm3,
    portable_circuit,
    save_circuits,
    to_braket,
    to_pennylane,
)
from qiskit_qattn.passes import compile_circuits


@pytest.fixture
def built(rng):
    return prepare_head(rng.normal(size=(2, 4)), rng.normal(size=(6, 4)), np.ones((6, 1)),
                        family="qaoa").circuits


def test_qpy_round_trip_keeps_metadata_parameters_and_layout(tmp_path, built):
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    tmpl = qaoa_template(2, 1)
    compiled = compile_circuits(built[0], FakeManilaV2())[0]
    paths = save_circuits([*built, tmpl, compiled], tmp_path / "head.qpy")
    back = load_circuits(paths[0])
    assert [c.metadata.get("query_index") for c in back[:2]] == [0, 1]
    assert back[2].num_parameters == tmpl.num_parameters
    assert back[3].layout is not None
    assert Operator(back[0]).equiv(Operator(built[0]))
    assert Operator(back[3]).equiv(Operator(compiled))


def test_qasm3_round_trip_of_compiled_and_parametrised(tmp_path, built):
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    compiled = compile_circuits(built[1], FakeManilaV2(), measure=True)[0]
    (path,) = save_circuits(compiled, tmp_path / "q1.qasm")
    text = path.read_text()
    assert text.startswith("OPENQASM 3")
    back = load_circuits(path)[0]
    assert back.count_ops() == compiled.count_ops()
    a = Statevector(compiled.remove_final_measurements(inplace=False)).probabilities()
    b = Statevector(back.remove_final_measurements(inplace=False)).probabilities()
    np.testing.assert_allclose(a, b, atol=1e-9)
    tmpl = qaoa_template(2, 1)
    text = dump_qasm3(portable_circuit(tmpl))
    assert "input float" in text
    assert load_qasm3(text).num_parameters == tmpl.num_parameters


def test_several_circuits_become_numbered_qasm_files(tmp_path, built):
    paths = save_circuits([portable_circuit(c) for c in built], tmp_path / "head.qasm")
    assert [p.name for p in paths] == ["head_0.qasm", "head_1.qasm"]


def test_bad_paths_and_inputs(tmp_path):
    with pytest.raises(ValueError, match=r"\.qpy"):
        save_circuits(QuantumCircuit(1), tmp_path / "x.txt")
    with pytest.raises(ValueError, match="no circuit file"):
        load_circuits(tmp_path / "missing.qpy")
    with pytest.raises(TypeError, match="QuantumCircuit"):
        save_circuits([], tmp_path / "x.qpy")
    bad = tmp_path / "bad.qasm"
    bad.write_text("OPENQASM 3.0; qubit[1] q; nonsense q[0];")
    with pytest.raises(ValueError, match="OpenQASM 3"):
        load_circuits(bad)


def test_portable_circuit_preserves_the_state(rng):
    qc = qaoa_attention(rng.normal(size=8), reps=2)
    out = portable_circuit(qc)
    assert set(out.count_ops()) <= {"rz", "ry", "rx", "h", "x", "sx", "cx"}
    np.testing.assert_allclose(Statevector(out).probabilities(),
                               Statevector(qc).probabilities(), atol=1e-10)


@pytest.mark.skipif(importlib.util.find_spec("pennylane") is None
                    or importlib.util.find_spec("pennylane_qiskit") is None,
                    reason="pennylane-qiskit not installed: every release pins qiskit<=2.3.0 or "
                           "qiskit-ibm-runtime~=0.45 (the qasm3 route is tested instead)")
def test_pennylane_from_qiskit_hand_off_matches_statevector(rng):
    import pennylane as qml

    qc = qaoa_attention(rng.normal(size=4), reps=1)
    qfunc = to_pennylane(qc, via="qiskit")

    @qml.qnode(qml.device("default.qubit", wires=2))
    def probs():
        qfunc(wires=[0, 1])
        return qml.probs(wires=[1, 0])  # big-endian wires reversed = Qiskit's little-endian

    np.testing.assert_allclose(probs(), Statevector(qc).probabilities(), atol=1e-8)


@pytest.mark.skipif(importlib.util.find_spec("qiskit_braket_provider") is None,
                    reason="qiskit-braket-provider not installed (optional extra)")
def test_braket_hand_off_matches_statevector(rng):
    from braket.devices import LocalSimulator

    qc = qaoa_attention(rng.normal(size=4), reps=1)
    circuit = to_braket(qc)
    circuit.probability()
    probs = LocalSimulator().run(circuit, shots=0).result().values[0]
    # Braket orders probabilities with qubit 0 most significant.
    ref = Statevector(qc).probabilities()
    np.testing.assert_allclose(probs, ref.reshape(2, 2).T.ravel(), atol=1e-8)


def test_missing_extras_raise_import_error_naming_the_package():
    qc = QuantumCircuit(1)
    if importlib.util.find_spec("pennylane") is None:
        with pytest.raises(ImportError, match="pennylane-qiskit"):
            to_pennylane(qc)
    if importlib.util.find_spec("qiskit_braket_provider") is None:
        with pytest.raises(ImportError, match="qiskit-braket-provider"):
            to_braket(qc)
