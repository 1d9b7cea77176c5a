import numpy as np
import pytest
from qiskit_aer.noise import NoiseModel
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qattn.noise import device_noise_model, reduced_target


def test_reduced_target_renumbers_and_keeps_properties():
    target = FakeManilaV2().target
    small = reduced_target(target, [3, 2])
    assert small.num_qubits == 2
    assert small["cx"][(1, 0)].error == target["cx"][(2, 3)].error
    assert small["sx"][(0,)].duration == target["sx"][(3,)].duration
    assert small.qubit_properties[0].t1 == target.qubit_properties[3].t1


def test_reduced_model_matches_full_model_errors():
    backend = FakeManilaV2()
    full = NoiseModel.from_backend(backend)
    small = device_noise_model(backend, [3, 2])
    assert small is device_noise_model(backend, [3, 2])  # cached
    full_err = full._local_quantum_errors["cx"][(2, 3)]
    small_err = small._local_quantum_errors["cx"][(1, 0)]
    np.testing.assert_allclose(full_err.to_quantumchannel().data,
                               small_err.to_quantumchannel().data, atol=1e-12)
    full_ro = full._local_readout_errors[(3,)]
    small_ro = small._local_readout_errors[(0,)]
    np.testing.assert_allclose(full_ro.probabilities, small_ro.probabilities)


def test_bad_qubits():
    with pytest.raises(ValueError, match="distinct"):
        reduced_target(FakeManilaV2().target, [1, 1])
    with pytest.raises(ValueError, match="physical_qubits must lie"):
        reduced_target(FakeManilaV2().target, [7])
