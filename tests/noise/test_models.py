import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import RZZGate
from qiskit_aer import AerSimulator
from qiskit_aer.noise import depolarizing_error, thermal_relaxation_error
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qattn.noise import (
    amplitude_damping_noise,
    build_noise_model,
    correlated_noise,
    depolarizing_noise,
    phase_damping_noise,
    thermal_relaxation_noise,
)


def _probs(circuit, model):
    """Exact outcome probabilities under ``model`` (density matrix, no sampling)."""
    qc = circuit.copy()
    qc.save_probabilities()
    sim = AerSimulator(method="density_matrix", noise_model=model)
    return np.asarray(sim.run(qc).result().data()["probabilities"])


def test_depolarizing_after_cz_is_analytic():
    qc = QuantumCircuit(2)
    qc.cz(0, 1)
    p = _probs(qc, depolarizing_noise(p1=0.0, p2=0.2))
    np.testing.assert_allclose(p, [0.8 + 0.2 / 4, 0.05, 0.05, 0.05], atol=1e-12)


def test_amplitude_damping_after_x():
    qc = QuantumCircuit(1)
    qc.x(0)
    p = _probs(qc, amplitude_damping_noise(p1=0.1, p2=0.0))
    np.testing.assert_allclose(p, [0.1, 0.9], atol=1e-12)


def test_phase_damping_between_two_sx():
    """sx.sx = x; dephasing after each sx shrinks the coherence the second sx converts."""
    qc = QuantumCircuit(1)
    qc.sx(0)
    qc.sx(0)
    lam = 0.3
    p = _probs(qc, phase_damping_noise(p1=lam, p2=0.0))
    assert p[1] == pytest.approx((1 + np.sqrt(1 - lam)) / 2, abs=1e-12)


def test_readout_flip_probabilities():
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.measure(0, 0)
    model = depolarizing_noise(0.0, 0.0, readout=(0.02, 0.1))
    counts = AerSimulator(noise_model=model, seed_simulator=1).run(qc, shots=40000).result()
    p0 = counts.get_counts().get("0", 0) / 40000
    assert p0 == pytest.approx(0.1, abs=0.01)


def test_thermal_from_target_matches_direct_construction():
    target = FakeManilaV2().target
    model = thermal_relaxation_noise(target=target, qubits=[3, 2])
    props = target.qubit_properties
    duration = target["sx"][(3,)].duration
    expected = thermal_relaxation_error(props[3].t1, props[3].t2, duration)
    got = model._local_quantum_errors["sx"][(0,)]
    np.testing.assert_allclose(got.to_quantumchannel().data, expected.to_quantumchannel().data)
    assert (1, 0) in model._local_quantum_errors["cx"] or (0, 1) in model._local_quantum_errors[
        "cx"]


def test_thermal_given_times_uniform_and_per_qubit():
    gate_times = {"sx": 35e-9, "x": 35e-9, "cz": 70e-9}
    uniform = thermal_relaxation_noise(100e-6, 80e-6, gate_times)
    qc = QuantumCircuit(1)
    qc.x(0)
    p = _probs(qc, uniform)
    assert p[0] == pytest.approx(1 - np.exp(-35e-9 / 100e-6), rel=1e-3)
    per_qubit = thermal_relaxation_noise([100e-6, 50e-6], [80e-6, 60e-6], gate_times)
    assert sorted(per_qubit.noise_qubits) == [0, 1]


def test_correlated_noise_is_a_zz_rotation_plus_joint_depolarizing():
    qc = QuantumCircuit(2)
    qc.h([0, 1])
    qc.cz(0, 1)
    qc.h([0, 1])
    theta = 0.4
    reference = QuantumCircuit(2)
    reference.h([0, 1])
    reference.cz(0, 1)
    reference.append(RZZGate(theta), [0, 1])
    reference.h([0, 1])
    got = _probs(qc, correlated_noise([(0, 1)], p2=0.0, zz_angle=theta))
    np.testing.assert_allclose(got, _probs(reference, None), atol=1e-12)
    model = correlated_noise([(0, 1), (1, 2)], p2=0.05, zz_angle=0.0)
    channel = model._local_quantum_errors["cz"][(1, 2)].to_quantumchannel()
    np.testing.assert_allclose(channel.data, depolarizing_error(0.05, 2).to_quantumchannel().data,
                               atol=1e-12)
    assert (0, 2) not in model._local_quantum_errors["cz"]  # uncoupled pairs stay clean


def test_correlated_from_target():
    model = correlated_noise(FakeManilaV2().target, p2=0.01)
    assert sorted(model.noise_qubits) == [0, 1, 2, 3, 4]


def test_build_noise_model_by_name():
    assert build_noise_model("depolarizing", p1=0.0, p2=0.1).noise_instructions == [
        "cx", "cz", "ecr"]
    dev = build_noise_model("device", FakeManilaV2(), [0, 1])
    assert sorted(dev.noise_qubits) == [0, 1]
    with pytest.raises(ValueError, match="kind must be one of"):
        build_noise_model("cosmic")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: depolarizing_noise(p1=-0.1), ValueError, r"p1 must be a number in \[0, 1\]"),
        (lambda: depolarizing_noise(p2=1.5), ValueError, "p2 must be"),
        (lambda: depolarizing_noise(p1="0.1"), TypeError, "p1 must be a number"),
        (lambda: depolarizing_noise(p1=True), TypeError, "p1"),
        (lambda: depolarizing_noise(readout=0.7), ValueError, "readout"),
        (lambda: depolarizing_noise(readout=(0.1,)), ValueError, "pair"),
        (lambda: amplitude_damping_noise(p1=float("nan")), ValueError, "p1"),
        (lambda: phase_damping_noise(one_qubit_gates=[3]), TypeError, "one_qubit_gates"),
        (lambda: thermal_relaxation_noise(100e-6, 300e-6, {"x": 1e-8}), ValueError,
         r"t2 must be <= 2 \* t1"),
        (lambda: thermal_relaxation_noise(-1.0, 1e-6, {"x": 1e-8}), ValueError, "t1 must be"),
        (lambda: thermal_relaxation_noise(1e-4, 1e-4), ValueError, "gate_times is required"),
        (lambda: thermal_relaxation_noise(), ValueError, "t1 and t2 are required"),
        (lambda: thermal_relaxation_noise(qubits=[0]), ValueError, "qubits needs a target"),
        (lambda: thermal_relaxation_noise([1e-4, 1e-4], [1e-4], {"x": 1e-8}), ValueError,
         "same length"),
        (lambda: thermal_relaxation_noise(1e-4, 1e-4, {"x": -1.0}), ValueError, "gate_times"),
        (lambda: thermal_relaxation_noise(target="device"), TypeError, "Target"),
        (lambda: correlated_noise([(0, 0)]), ValueError, "distinct"),
        (lambda: correlated_noise(5), TypeError, "coupling must be"),
        (lambda: correlated_noise([(0, 1)], zz_angle=4.0), ValueError, "zz_angle"),
    ],
)
def test_parameters_are_validated(call, error, match):
    with pytest.raises(error, match=match):
        call()
