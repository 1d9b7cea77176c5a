import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qiskit_qattn.circuits import variational_block, z_observables


def _dense_block(x, theta, n, reps, pairs):
    """Independent dense reference built from 2x2 matrices and explicit CX permutations."""
    def ry(t):
        return np.array([[np.cos(t / 2), -np.sin(t / 2)], [np.sin(t / 2), np.cos(t / 2)]])

    def rz(t):
        return np.diag([np.exp(-1j * t / 2), np.exp(1j * t / 2)])

    def on(u, q):
        op = np.array([[1.0]])
        for k in reversed(range(n)):
            op = np.kron(op, u if k == q else np.eye(2))
        return op

    def cx(c, t):
        dim = 2**n
        m = np.zeros((dim, dim))
        for z in range(dim):
            m[z ^ (1 << t) if (z >> c) & 1 else z, z] = 1
        return m

    psi = np.zeros(2**n, complex)
    psi[0] = 1
    for i in range(n):
        psi = on(ry(x[i]), i) @ psi
    k = 0
    for _ in range(reps):
        for i in range(n):
            psi = on(ry(theta[k]), i) @ psi
            psi = on(rz(theta[k + 1]), i) @ psi
            k += 2
        for a, b in pairs:
            psi = cx(a, b) @ psi
    for i in range(n):
        psi = on(ry(theta[k]), i) @ psi
        k += 1
    return psi


@pytest.mark.parametrize(("n", "ent", "pairs"), [
    (3, "linear", [(0, 1), (1, 2)]),
    (4, "pairwise", [(0, 1), (2, 3), (1, 2)]),
    (3, "circular", [(0, 1), (1, 2), (2, 0)]),
])
def test_block_matches_dense_reference(rng, n, ent, pairs):
    qc = variational_block(n, reps=2, entanglement=ent)
    x = rng.normal(size=n)
    theta = rng.normal(size=5 * n)
    names = qc.metadata["input_parameters"] + qc.metadata["weight_parameters"]
    by_name = {p.name: p for p in qc.parameters}
    bound = qc.assign_parameters({by_name[nm]: v for nm, v in zip(names, [*x, *theta],
                                                                      strict=True)})
    np.testing.assert_allclose(Statevector(bound).data, _dense_block(x, theta, n, 2, pairs),
                               atol=1e-10)
    assert len(z_observables(n)) == n


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"num_qubits": 0}, "num_qubits"), ({"num_qubits": 2, "reps": -1}, "reps"),
    ({"num_qubits": 2, "entanglement": "full"}, "entanglement"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        variational_block(**kwargs)
