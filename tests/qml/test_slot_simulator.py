"""Batched numpy statevectors of slot circuits, and cheap-to-bind angles: dense references."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from qiskit_qattn.qml import qsann_circuit, self_attention_circuit
from qiskit_qattn.qml.angles import expand_angles
from qiskit_qattn.qml.shift_plan import build_shift_plan
from qiskit_qattn.qml.slot_simulator import SlotSimulator


def _every_rotation():
    s = ParameterVector("slot", 9)
    qc = QuantumCircuit(4)
    qc.h(range(4))
    qc.rx(s[0], 3)
    qc.ry(s[1], 0)
    qc.rz(s[2], 2)
    qc.p(s[3], 1)
    qc.rxx(s[4], 3, 0)
    qc.ryy(s[5], 1, 3)
    qc.rzz(s[6], 2, 0)
    qc.rzx(s[7], 0, 2)
    qc.rzx(s[8], 3, 1)
    qc.ccx(0, 3, 1)
    qc.cswap(2, 0, 3)
    qc.barrier()
    qc.sdg(2)
    return qc


@pytest.mark.parametrize("build", [
    _every_rotation,
    lambda: build_shift_plan(qsann_circuit(2).circuit).slot_circuit,
    lambda: build_shift_plan(self_attention_circuit(4, 2, value_qubits=2).circuit).slot_circuit,
])
def test_states_and_expectations_equal_dense_statevector(build, rng):
    qc = build()
    sim = SlotSimulator(qc)
    values = rng.uniform(-3, 3, (5, qc.num_parameters))
    states = sim.states(values)
    obs = SparsePauliOp.from_list([("Z" * qc.num_qubits, 0.5), ("X" + "I" * (qc.num_qubits - 2)
                                                              + "Y", -1.5)])
    evs = sim.expectations(values, [{p: float(c.real) for p, c in obs.to_list()}])
    for r, row in enumerate(values):
        dense = Statevector(qc.assign_parameters(row))
        # p(λ) is simulated as rz(λ): the same state up to a global phase
        assert abs(np.vdot(dense.data, states[r])) == pytest.approx(1.0, abs=1e-12)
        assert evs[0, r] == pytest.approx(dense.expectation_value(obs).real, abs=1e-12)


def test_evaluate_broadcasts_like_an_estimator_pub(rng):
    qc = _every_rotation()
    sim = SlotSimulator(qc)
    values = rng.uniform(-3, 3, (2, 1, 3, qc.num_parameters))
    grid = [[{"ZIII": 1.0}, {"IIXI": 2.0}, {"ZIII": 1.0}]]  # [1, 3]
    evs = sim.evaluate(grid, values)
    assert evs.shape == (2, 1, 3)
    for a in range(2):
        for u in range(3):
            dense = Statevector(qc.assign_parameters(values[a, 0, u]))
            op = SparsePauliOp(list(grid[0][u])[0], list(grid[0][u].values())[0])
            assert evs[a, 0, u] == pytest.approx(dense.expectation_value(op).real, abs=1e-12)


def test_slot_simulator_refuses_what_it_cannot_simulate():
    a = Parameter("a")
    measured = QuantumCircuit(1, 1)
    measured.ry(a, 0)
    measured.measure(0, 0)
    with pytest.raises(ValueError, match="not unitary"):
        SlotSimulator(measured)
    nested = QuantumCircuit(1)
    nested.ry(2 * a, 0)
    with pytest.raises(ValueError, match="one plain slot parameter"):
        SlotSimulator(nested)
    with pytest.raises(ValueError, match="stops at"):
        wide = QuantumCircuit(17)
        wide.h(range(17))
        SlotSimulator(wide)


def test_expanded_angles_prepare_the_same_states(rng):
    x, w = ParameterVector("x", 3), ParameterVector("w", 2)
    qc = QuantumCircuit(2)
    qc.ry(((x[0] + x[1]) / 2 - (x[0] - x[1]) / 2) * w[0] + 0.3, 0)
    c = Parameter("c")
    qc.rz((x[1] + c) ** 2 - x[1] * x[1] - c * (2 * x[1] + c) + x[0], 1)  # c cancels: kept
    qc.rx(w[1].sin() + x[0], 0)  # not a polynomial: kept as written
    qc.cx(0, 1)
    qc.ry((x[2] - w[1]) ** 2, 1)
    built = self_attention_circuit(4, 2).circuit
    for circuit in (qc, built):
        out = expand_angles(circuit)
        assert list(out.parameters) == list(circuit.parameters)
        assert out.metadata == circuit.metadata
        for row in rng.uniform(-2, 2, (3, circuit.num_parameters)):
            a = Statevector(circuit.assign_parameters(row))
            b = Statevector(out.assign_parameters(row))
            assert a.equiv(b)
    texts = [str(inst.operation.params[0]) for inst in expand_angles(qc).data
             if inst.operation.params]
    assert texts[0] == "0.3 + w[0]*x[1]"
    assert "c" in texts[1] and texts[2] == "sin(w[1]) + x[0]"
    assert texts[3] == "w[1]*w[1] + x[2]*x[2] - 2*w[1]*x[2]"
