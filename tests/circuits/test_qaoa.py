import numpy as np
import pytest
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Operator, Statevector

from qiskit_qattn.circuits import default_schedule, qaoa_attention


def _dense_qaoa(scores, gammas, betas, temperature=1.0):
    """Independent dense reference: uniform state, e^{i γ s/τ}, then RX(2β)^{⊗m}."""
    n = len(scores)
    m = int(np.log2(n))
    psi = np.full(n, 1 / np.sqrt(n), dtype=complex)
    rx = lambda b: np.array([[np.cos(b), -1j * np.sin(b)], [-1j * np.sin(b), np.cos(b)]])  # noqa: E731
    for g, b in zip(gammas, betas, strict=True):
        psi = np.exp(1j * g * np.asarray(scores) / temperature) * psi
        mixer = np.array([[1.0]])
        for _ in range(m):
            mixer = np.kron(rx(b), mixer)
        psi = mixer @ psi
    return psi


@pytest.mark.parametrize("sep", ["walsh", "diagonal"])
@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_statevector_matches_dense_reference(rng, sep, m):
    s = rng.normal(size=2**m) * 2
    g, b = [0.4, -0.7], [0.3, 1.1]
    qc = qaoa_attention(s, reps=2, gammas=g, betas=b, temperature=1.3, phase_separator=sep)
    np.testing.assert_allclose(Statevector(qc).data, _dense_qaoa(s, g, b, 1.3), atol=1e-10)


def test_walsh_and_diagonal_forms_are_the_same_operator(rng):
    s = rng.normal(size=8)
    a = qaoa_attention(s, reps=1, gammas=[0.9], betas=[0.2], phase_separator="walsh")
    b = qaoa_attention(s, reps=1, gammas=[0.9], betas=[0.2], phase_separator="diagonal")
    assert Operator(a).equiv(Operator(b))
    np.testing.assert_allclose(Operator(a).data, Operator(b).data, atol=1e-10)


@pytest.mark.parametrize("reps", [1, 2, 3, 5])
def test_parameter_count_and_binding(rng, reps):
    s = rng.normal(size=4)
    g, b = ParameterVector("g", reps), ParameterVector("b", reps)
    qc = qaoa_attention(s, reps=reps, gammas=list(g), betas=list(b))
    assert qc.num_parameters == 2 * reps
    vals = rng.normal(size=2 * reps)
    bound = qc.assign_parameters(dict(zip([*g, *b], vals, strict=True)))
    direct = qaoa_attention(s, reps=reps, gammas=vals[:reps], betas=vals[reps:])
    np.testing.assert_allclose(Statevector(bound).data, Statevector(direct).data, atol=1e-10)


def test_default_schedule_scales_with_spread(rng):
    s = rng.normal(size=8)
    g, b = default_schedule(2)
    qc = qaoa_attention(s, reps=2)
    expected = _dense_qaoa(s, g / np.std(s), b)
    np.testing.assert_allclose(Statevector(qc).data, expected, atol=1e-10)


def test_padding_uses_lowest_kept_score(rng):
    s = rng.normal(size=5)
    qc = qaoa_attention(s, reps=1, gammas=[0.5], betas=[0.3])
    padded = np.r_[s, [s.min()] * 3]
    np.testing.assert_allclose(Statevector(qc).data, _dense_qaoa(padded, [0.5], [0.3]),
                               atol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reps": 0}, "reps"),
        ({"reps": 2, "gammas": [0.1]}, "gammas must have length reps=2"),
        ({"phase_separator": "bogus"}, "phase_separator"),
        ({"temperature": -1}, "temperature"),
        ({"gammas": [np.nan, 0.0]}, "gammas must be finite"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        qaoa_attention([0.1, 0.2, 0.3, 0.4], **kwargs)
