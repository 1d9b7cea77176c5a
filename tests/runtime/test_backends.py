import pytest
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qattn.runtime import fake_backend_names, resolve_backend


def test_resolve_fake_and_passthrough():
    assert resolve_backend("fake_torino").num_qubits == 133
    assert resolve_backend("FAKE_MANILA").name == "fake_manila"
    b = FakeManilaV2()
    assert resolve_backend(b) is b
    assert "fake_fez" in fake_backend_names()


@pytest.mark.parametrize(("name", "match"), [("fake_nowhere", "unknown fake backend"),
                                             ("torino", "must start with"), ("", "backend")])
def test_bad_names(name, match):
    with pytest.raises(ValueError, match=match):
        resolve_backend(name)
