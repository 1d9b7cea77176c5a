import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator
from qiskit.synthesis import gridsynth_rz

from qiskit_qattn.resources import clifford_t_counts, logical_resources


def _t(qc):
    ops = qc.count_ops()
    return ops.get("t", 0) + ops.get("tdg", 0)


def _one_rotation(angle):
    qc = QuantumCircuit(1)
    qc.rz(angle, 0)
    return qc


def test_single_rotation_t_count_follows_gridsynth_scaling():
    # Ross-Selinger: ~3 log2(1/eps) + O(log log 1/eps) T gates for a generic angle.
    angles = np.random.default_rng(5).uniform(-math.pi, math.pi, 4)
    epsilons = [1e-2, 1e-4, 1e-6, 1e-8]
    mean_t = []
    for eps in epsilons:
        counts = [clifford_t_counts(_one_rotation(a), eps) for a in angles]
        for a, c in zip(angles, counts, strict=True):
            assert c.rotations == 1 and c.t_like == 0
            assert c.t_count == _t(gridsynth_rz(float(a), eps))  # same synthesis, same count
        mean_t.append(np.mean([c.t_count for c in counts]))
    x = np.log2(1 / np.array(epsilons))
    slope, intercept = np.polyfit(x, mean_t, 1)
    assert 2.8 < slope < 3.2
    offsets = np.array(mean_t) - 3 * x
    assert np.all(offsets > -3) and np.all(offsets < 8)


@pytest.mark.parametrize(
    ("build", "t_count", "rotations"),
    [
        (lambda qc: qc.ccx(0, 1, 2), 7, 0),                       # textbook Toffoli
        (lambda qc: (qc.t(0), qc.t(0)), 0, 0),                    # T T = S
        (lambda qc: (qc.h(0), qc.t(0), qc.cx(0, 1), qc.tdg(1), qc.h(1), qc.t(1)), 3, 0),
        (lambda qc: qc.rz(math.pi / 4, 2), 1, 0),                 # a pi/4 rotation is one T
        (lambda qc: (qc.rzz(math.pi / 2, 0, 1), qc.rx(math.pi, 2), qc.s(1)), 0, 0),  # Clifford
        (lambda qc: qc.rzz(0.37, 0, 1), None, 1),                 # one arbitrary ZZ rotation
        (lambda qc: (qc.rz(0.37, 0), qc.ry(1.1, 1), qc.rx(-0.4, 2)), None, 3),
    ],
)
def test_hand_counted_circuits(build, t_count, rotations):
    qc = QuantumCircuit(3)
    build(qc)
    c = clifford_t_counts(qc, 1e-3)
    assert c.rotations == rotations
    if t_count is not None:
        assert c.t_count == t_count
    else:  # each arbitrary rotation costs one gridsynth sequence at 1e-3: 20..45 T gates
        assert 20 * rotations <= c.t_count <= 45 * rotations
    assert c.synthesis_error_bound == pytest.approx(rotations * 1e-3)


def test_clifford_t_circuit_is_within_its_synthesis_bound():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.rz(0.41, 0)
    qc.cx(0, 1)
    qc.ry(-0.9, 1)
    qc.rzz(0.2, 0, 1)
    eps = 1e-4
    from qiskit.transpiler.preset_passmanagers import generate_preset_clifford_t_pass_manager

    c = clifford_t_counts(qc, eps)
    pm = generate_preset_clifford_t_pass_manager(
        optimization_level=2, rz_synthesis_config={"rz_synthesis_error": eps,
                                                   "rz_cache_error": 0.0})
    out = pm.run(qc)
    assert _t(out) == c.t_count
    u, w = Operator(qc).data, Operator(out).data
    phase = np.vdot(w.ravel(), u.ravel())
    phase /= abs(phase)
    distance = np.linalg.norm(u - phase * w, 2)
    assert distance <= 2 * c.synthesis_error_bound  # operator norm, up to global phase
    # The Clifford+RZ form before synthesis is exact.
    assert Operator(c.clifford_rz).equiv(Operator(qc))


def test_logical_resources_of_a_head(small_head, torino):
    Q, K, V = small_head
    res = logical_resources(Q, K, V, "softmax_state", device=torino, seeds=(0, 1))
    assert res.key_qubits == 3 and res.ancilla_qubits == 0 and res.num_queries == 2
    assert res.device == "fake_torino" and res.seeds == (0, 1)
    assert res.compiled["qubits"] >= 3 and res.compiled["two_qubit_gates"] > 0
    assert 1e-7 < res.compiled["duration"] < 1e-4
    assert res.clifford_t["t_count"] >= res.clifford_t["rotations"] * 10
    assert res.clifford_t_max["t_count"] >= res.clifford_t["t_count"]
    assert any("gridsynth" in a for a in res.assumptions)
    assert res.qpu_seconds_per_shot() == pytest.approx(res.compiled["duration"] + 250e-6)
    # best of seeds: never worse than seed 0 alone
    one = logical_resources(Q, K, V, "softmax_state", device=torino, seeds=(0,))
    assert res.compiled["two_qubit_gates"] <= one.compiled["two_qubit_gates"]


def test_ancillas_and_padding_are_counted():
    rng = np.random.default_rng(0)
    Q, K, V = rng.normal(size=(1, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 1))
    res = logical_resources(Q, K, V, "qaoa", device=None)
    assert res.num_keys == 5 and res.key_qubits == 3
    assert res.compiled == {} and res.device is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"family": "transformer"}, "family must be one of"),
        ({"precision": 0.0}, "precision"),
        ({"precision": -1e-3}, "precision"),
        ({"precision": 1.5}, "precision"),
        ({"seeds": ()}, "seeds"),
    ],
)
def test_bad_input(kwargs, match, small_head):
    Q, K, V = small_head
    args = {"family": "softmax_state", "device": None, **kwargs}
    with pytest.raises(ValueError, match=match):
        logical_resources(Q, K, V, **args)


def test_fewer_than_two_keys_is_an_error():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n >= 2|>= 2"):
        logical_resources(rng.normal(size=(1, 4)), rng.normal(size=(1, 4)),
                          rng.normal(size=(1, 1)), "softmax_state", device=None)


def test_bad_circuit_and_precision_types():
    with pytest.raises(TypeError, match="circuit"):
        clifford_t_counts("not a circuit")
    with pytest.raises(TypeError, match="precision"):
        clifford_t_counts(QuantumCircuit(1), "1e-3")


@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")
def test_small_heads_use_the_nearest_stored_schedule():
    rng = np.random.default_rng(0)
    Q, K, V = rng.normal(size=(1, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 1))
    res = logical_resources(Q, K, V, "ma_qaoa", device=None)   # fitted for m >= 3 only
    assert res.key_qubits == 2 and res.clifford_t["rotations"] > 0
    with pytest.raises(ValueError, match="depths"):
        logical_resources(Q, K, V, "ma_qaoa", device=None, reps=9)
