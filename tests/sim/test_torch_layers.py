import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit.library import DiagonalGate
from qiskit.quantum_info import Statevector

from qiskit_qattn.circuits import qaoa_attention
from qiskit_qattn.sim import torch_layers as tl


def _random_circuit_pair(rng, m, dtype):
    """The same random layered circuit, as a Qiskit circuit and as torch_layers calls."""
    qc = QuantumCircuit(m)
    psi = tl.basis_state(1, m, dtype=dtype)
    qc.h(range(m))
    psi = tl.hadamard_layer(psi)
    diag = rng.normal(size=2**m)
    gamma = 0.7
    qc.append(DiagonalGate(list(np.exp(-1j * gamma * diag))), qc.qubits)
    psi = tl.diagonal_evolution(psi, torch.tensor(diag), gamma)
    th = rng.uniform(-np.pi, np.pi, size=(4, m))
    for q in range(m):
        qc.rx(th[0, q], q)
    psi = tl.single_qubit_layer(psi, tl.rx_matrices(torch.tensor(th[0]), dtype=dtype))
    pairs = [(q, q + 1) for q in range(m - 1)]
    for a, b in pairs:
        qc.cz(a, b)
    psi = tl.cz_layer(psi, pairs)
    for q in range(m):
        qc.ry(th[1, q], q)
    psi = tl.single_qubit_layer(psi, tl.ry_matrices(torch.tensor(th[1]), dtype=dtype))
    for q in range(m):
        qc.rz(th[2, q], q)
    psi = tl.single_qubit_layer(psi, tl.rz_matrices(torch.tensor(th[2]), dtype=dtype))
    for q in range(m):
        qc.u(th[3, q], th[2, q], th[1, q], q)
    u = tl.u_matrices(torch.tensor(th[3]), torch.tensor(th[2]), torch.tensor(th[1]), dtype=dtype)
    psi = tl.single_qubit_layer(psi, u)
    zq = [0, m - 1]
    qc.rzz(0.9, zq[0], zq[1]) if m > 1 else qc.rz(0.9, 0)
    psi = tl.diagonal_evolution(psi, tl.z_string_diagonal(m, sorted(set(zq))), 0.45)
    return qc, psi


@pytest.mark.parametrize("dtype", [torch.complex128, torch.complex64])
@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_layers_match_qiskit_statevector(rng, m, dtype):
    qc, psi = _random_circuit_pair(rng, m, dtype)
    atol = 1e-8 if dtype == torch.complex128 else 2e-6  # DiagonalGate synthesis ~1e-9
    assert psi.dtype == dtype
    np.testing.assert_allclose(psi[0].numpy(), Statevector(qc).data, atol=atol)


def test_batched_unitaries_match_per_row(rng):
    m, batch = 3, 4
    theta = torch.tensor(rng.normal(size=(batch, m)))
    psi0 = tl.uniform_state(batch, m)
    batched = tl.single_qubit_layer(psi0, tl.ry_matrices(theta))
    for b in range(batch):
        one = tl.single_qubit_layer(psi0[b : b + 1], tl.ry_matrices(theta[b]))
        torch.testing.assert_close(batched[b : b + 1], one)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_qaoa_statevectors_match_builder(rng, dtype):
    s = rng.normal(size=(3, 8)) * 2
    g, b = [0.4, -0.7], [0.3, 1.1]
    out = tl.qaoa_statevectors(
        torch.tensor(s, dtype=dtype), torch.tensor(g, dtype=dtype), torch.tensor(b, dtype=dtype)
    )
    atol = 1e-10 if dtype == torch.float64 else 2e-6
    for row, psi in zip(s, out, strict=True):
        qc = qaoa_attention(row, reps=2, gammas=g, betas=b, phase_separator="diagonal")
        np.testing.assert_allclose(psi.numpy(), Statevector(qc).data, atol=atol)


def test_gradients_match_finite_differences(rng):
    s = torch.tensor(rng.normal(size=(2, 8)))
    target = torch.tensor(np.abs(rng.normal(size=8)))
    target = target / target.norm()

    def loss(g, b):
        return tl.fidelity(tl.qaoa_statevectors(s, g, b), target).sum()

    g = torch.tensor([0.3, -0.2], requires_grad=True)
    b = torch.tensor([0.5, 0.1], requires_grad=True)
    assert torch.autograd.gradcheck(loss, (g.double(), b.double()))


def test_fidelity_and_probabilities(rng):
    psi = tl.uniform_state(2, 3, dtype=torch.complex64)
    torch.testing.assert_close(tl.probabilities(psi).sum(-1), torch.ones(2))
    assert tl.fidelity(psi, psi[0]).tolist() == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: tl.uniform_state(1, 0), ValueError, "num_qubits"),
        (lambda: tl.uniform_state(1, 2, dtype=torch.float64), TypeError, "complex128"),
        (lambda: tl.apply_single_qubit(tl.uniform_state(1, 2), torch.eye(3), 0), ValueError,
         "unitary"),
        (lambda: tl.apply_single_qubit(tl.uniform_state(1, 2), torch.eye(2), 2), ValueError,
         "qubit"),
        (lambda: tl.phase_layer(tl.uniform_state(1, 2), torch.zeros(3)), ValueError, "phases"),
        (lambda: tl.cz_layer(tl.uniform_state(1, 2), [(0, 0)]), ValueError, "pairs"),
        (lambda: tl.num_qubits_of(torch.zeros(1, 3, dtype=torch.complex128)), ValueError,
         "power of two"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
