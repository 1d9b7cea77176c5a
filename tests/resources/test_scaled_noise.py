import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qiskit_qattn.noise import device_noise_model, noisy_distributions
from qiskit_qattn.noise.scaled import (
    ScaledDevice,
    check_factor,
    scale_target,
    scaled_device,
    scaled_noise_model,
)
from qiskit_qattn.passes import compile_circuits


def _ghz_like():
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(0.7, 2)
    qc.cx(1, 2)
    qc.rz(0.3, 2)
    qc.sx(0)
    return qc


def _ideal_probs(qc):
    # Statevector little-endian probabilities = measure_all's clbit order.
    return Statevector(qc).probabilities()


def test_scale_target_multiplies_errors_and_divides_coherence(torino):
    t = torino.target
    s = scale_target(t, 2.5)
    assert s.num_qubits == t.num_qubits and s.dt == t.dt
    for name, qargs in (("cz", (0, 1)), ("sx", (5,)), ("measure", (7,))):
        orig, new = t[name][qargs], s[name][qargs]
        cap = 0.5 if name == "measure" else 2 ** len(qargs) / (2 ** len(qargs) + 1)
        assert new.error == pytest.approx(min(2.5 * orig.error, cap))
        assert new.duration == orig.duration
    assert s.qubit_properties[3].t1 == pytest.approx(t.qubit_properties[3].t1 / 2.5)
    assert s.qubit_properties[3].t2 == pytest.approx(t.qubit_properties[3].t2 / 2.5)
    assert set(s.operation_names) == set(t.operation_names)
    assert s.build_coupling_map().get_edges() == t.build_coupling_map().get_edges()


def test_scaled_errors_are_capped_at_physical_maxima(torino):
    s = scale_target(torino.target, 100.0)
    assert max(p.error for p in s["cz"].values() if p is not None) <= 0.8 + 1e-12
    assert max(p.error for p in s["measure"].values() if p is not None) <= 0.5


def test_zero_noise_equals_the_ideal_output(torino):
    qc = _ghz_like()
    dev = ScaledDevice(torino, 0.0)
    compiled = compile_circuits(qc, dev, seed_transpiler=1, measure=True)
    noisy = noisy_distributions(compiled, device=dev, noise_model="device")[0]
    np.testing.assert_allclose(noisy, _ideal_probs(qc), atol=1e-12)


def test_unit_factor_is_the_device_itself(torino):
    assert scaled_device(torino, 1) is torino
    qc = _ghz_like()
    compiled = compile_circuits(qc, torino, seed_transpiler=1, measure=True)
    plain = noisy_distributions(compiled, device=torino, noise_model="device")
    one = noisy_distributions(compiled, device=ScaledDevice(torino, 1.0), noise_model="device")
    np.testing.assert_allclose(one, plain, atol=1e-12)
    assert np.abs(plain - _ideal_probs(qc)).sum() > 1e-3  # the device is noisy


def test_error_grows_with_the_factor_and_is_about_linear_when_small(torino):
    qc = _ghz_like()
    ideal = _ideal_probs(qc)
    compiled = compile_circuits(qc, torino, seed_transpiler=1, measure=True)
    tv = []
    for f in (0.25, 0.5, 1.0, 2.0):
        dev = ScaledDevice(torino, f)
        probs = noisy_distributions(compiled, device=dev, noise_model="device")[0]
        tv.append(0.5 * np.abs(probs - ideal).sum())
    assert tv == sorted(tv)
    assert tv[1] / tv[0] == pytest.approx(2.0, rel=0.1)


def test_scaled_noise_model_is_reduced_to_the_requested_qubits(torino):
    nm = scaled_noise_model(torino, 2.0, [3, 4])
    assert sorted(nm.noise_qubits) == [0, 1]
    ref = device_noise_model(ScaledDevice(torino, 2.0), [3, 4])
    assert nm.to_dict() == ref.to_dict()
    assert not scaled_noise_model(torino, 0.0, [3, 4]).to_dict()["errors"]


def test_nested_scaling_multiplies(torino):
    dev = scaled_device(scaled_device(torino, 2.0), 1.5)
    assert dev.base is torino and dev.factor == 3.0


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
def test_bad_factor_is_a_value_error(bad, torino):
    with pytest.raises(ValueError, match="factor"):
        check_factor(bad)
    with pytest.raises(ValueError, match="factor"):
        ScaledDevice(torino, bad)


def test_bad_types():
    with pytest.raises(TypeError, match="factor"):
        check_factor(True)
    with pytest.raises(TypeError, match="target"):
        scale_target("fake_torino", 1.0)
    with pytest.raises(TypeError, match="device"):
        ScaledDevice("fake_torino", 1.0)
