import pytest
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qattn.runtime import fake_device_names, resolve_device


def test_resolve_fake_and_passthrough():
    assert resolve_device("fake_torino").num_qubits == 133
    assert resolve_device("FAKE_MANILA").name == "fake_manila"
    b = FakeManilaV2()
    assert resolve_device(b) is b
    assert "fake_fez" in fake_device_names()


@pytest.mark.parametrize(("name", "match"), [("fake_nowhere", "unknown fake device"),
                                             ("torino", "must start with"), ("", "device")])
def test_bad_names(name, match):
    with pytest.raises(ValueError, match=match):
        resolve_device(name)
